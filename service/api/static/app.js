// unspin's page: a thin client of POST /v1/score. Offsets in the report are Unicode code points,
// so the text is handled as an array of code points (Array.from), never as UTF-16 string indexes.
"use strict";

const $ = (id) => document.getElementById(id);
// the checked text (code points), its report, the request under way and the mark a popover belongs to
const state = { chars: [], report: null, request: null, anchor: null, fullIsQuick: false };
// The key, kept in the browser's storage when it allows (a browser blocking site data throws on any
// use of localStorage; the page then keeps the key for as long as it is open).
let keptKey = "";

function storedKey() {
  try { return localStorage.getItem("unspin-key") || ""; } catch { return keptKey; }
}

function storeKey(key) {
  keptKey = key;
  try { localStorage.setItem("unspin-key", key); } catch { /* blocked: kept in keptKey */ }
}

function setStatus(msg, isError = false) {
  $("status").textContent = msg;
  $("status").className = isError ? "error" : "";
}

function authHeaders() {
  const key = storedKey();
  return key ? { Authorization: "Bearer " + key } : {};
}

// One check at a time: Check is disabled, Ctrl+Enter does nothing, and the text cannot be edited
// while one runs (the results belong to the text that was sent); Cancel stops it.
function busy(on) {
  $("check").disabled = on;
  $("cancel").hidden = !on;
  $("input").readOnly = on;
}

function isReport(body) {
  return body !== null && typeof body === "object" && Array.isArray(body.spans) && Array.isArray(body.sentences) &&
    body.stats !== null && typeof body.stats === "object" && typeof body.label === "string";
}

async function check() {
  if (state.request) return;
  const text = $("input").value;
  if (!text.trim()) { setStatus("Paste or drop a text first.", true); return; }
  // a header carries printable ASCII alone: fetch would throw, and the page blame the network
  const key = storedKey();
  if (!/^[\x21-\x7e]*$/.test(key)) {
    $("key-box").hidden = false;
    setStatus("The API key can hold only printable ASCII characters, without spaces: check it and try again.", true);
    return;
  }
  const request = new AbortController();
  state.request = request;
  busy(true);
  const quick = $("quick").checked;
  // the wait is said until a full check's report shows the service has no second model to read with
  setStatus(quick || state.fullIsQuick ? "Checking…" : "Checking… A full check reads doubtful words again with a second " +
    "model: a page of text can take a minute or more (a quick check answers in seconds).");
  // the seconds so far, beside Cancel (not in the status line, which a screen reader reads out)
  const started = Date.now();
  const elapsed = $("elapsed");
  const tick = () => { elapsed.textContent = `${Math.floor((Date.now() - started) / 1000)} s`; };
  tick();
  elapsed.hidden = false;
  const timer = setInterval(tick, 1000);
  let res, raw;
  try {
    // relative: the page works wherever it is served, also under a proxy's path prefix
    res = await fetch("v1/score", {
      method: "POST",
      signal: request.signal,
      headers: { "Content-Type": "application/json", ...authHeaders() },
      // a quick check leaves the second look out (the report's lm then names only the first model)
      body: JSON.stringify(quick ? { text, options: { second_look: false } } : { text }),
    });
    raw = await res.text();
  } catch (e) {
    if (e.name === "AbortError") setStatus("Check cancelled.");
    else setStatus("Could not reach the service: " + e.message, true);
    return;
  } finally {
    clearInterval(timer);
    elapsed.hidden = true;
    state.request = null;
    busy(false);
  }
  let body = null;
  try { body = JSON.parse(raw); } catch { /* not JSON: said below */ }
  if (res.status === 401) {
    $("key-box").hidden = false;
    setStatus(key ? "The API key was not accepted: check it and try again."
      : "This service needs an API key: enter it and check again.", true);
    $("key").focus();
    return;
  }
  if (!res.ok) {
    const detail = body !== null && typeof body === "object" ? body.detail : undefined;
    const why = typeof detail === "string" ? detail
      : detail !== undefined ? JSON.stringify(detail)
      : (raw.trim().replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 200) || res.statusText || "no reason given");
    const wait = res.headers.get("Retry-After");
    setStatus(`Error ${res.status}: ${why}` + (wait ? ` (retry in ${wait} s)` : ""), true);
    return;
  }
  if (!isReport(body)) {
    setStatus("The service answered, but not with a report (is a proxy or a login page in between?).", true);
    return;
  }
  state.chars = Array.from(text);
  state.report = body;
  if (!quick) state.fullIsQuick = !String(body.lm).includes("+");
  show();
  setStatus(`Checked in ${Number(body.stats.seconds).toFixed(2)} s.`);
  // keyboard users start at the first highlight (the Check button they pressed is hidden now)
  (document.querySelector("#output mark[tabindex='0']") || $("edit")).focus();
}

function cancel() {
  if (state.request) state.request.abort();
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") node.style.cssText = v; else node.setAttribute(k, v);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function show() {
  const r = state.report;
  $("input-pane").hidden = true;
  $("result-pane").hidden = false;
  const spun = r.spans.filter((s) => s.kind === "spun").length;
  $("doc-label").textContent = r.label;
  $("doc-label").className = "badge " + r.label;
  $("doc-meta").textContent = `score ${r.score.toFixed(2)} · ${spun} spun span${spun === 1 ? "" : "s"}` +
    ` · ${r.stats.words} words · ${r.lm}`;
  const note = $("grammar-note");
  note.textContent = grammarNote(r.grammar);
  note.hidden = !note.textContent;
  const lang = $("language-note");
  const english = !r.language || r.language.english;
  lang.hidden = english;
  lang.textContent = english ? "" : "Not English: " + r.language.reason + ".";
  render();
}

// What the page says about the grammar check: nothing when LanguageTool checked the whole text; why
// not when it did not; what is missing when it checked only part of it (complete: false).
function grammarNote(grammar) {
  if (!grammar.checked) return "Grammar not checked: " + grammar.reason;
  if (grammar.complete === false) return "Grammar checked only in part: " + grammar.reason;
  return "";
}

// Spans that overlap (a word disguised with look-alike letters inside a spun phrase, a grammar
// match across a spun word) are drawn nested: the longer span outside, a spun one outside any other
// of the same extent; a span that crosses another's end is drawn in two pieces. So every span has
// a mark, and a click on a mark offers its own span and every span around it.
const KIND_ORDER = { spun: 0, grammar: 1 };
const kindRank = (s) => KIND_ORDER[s.kind] ?? 2;
const pieceOrder = (x, y) => x.start - y.start || y.end - x.end || kindRank(x.s) - kindRank(y.s) || x.i - y.i;

function markFor(piece) {
  const s = piece.s;
  const byDoc = byVerdict(s);
  const m = el("mark", { class: s.kind + (byDoc ? " by-doc" : "") + (s.applied ? " applied" : ""), "data-i": String(piece.i),
    style: `--s:${s.score}` });
  if (!s.applied) m.tabIndex = 0;
  const best = s.suggestions.length ? s.suggestions[0].text : "";
  m.title = s.applied ? "applied" : (best ? `→ ${best} (${s.score.toFixed(2)})` : `${s.kind} (${s.score.toFixed(2)})`)
    + (byDoc && !s.applied ? "; shown because the document reads as spun" : "");
  return m;
}

// Code points a..b of the text into `parent`, with `pieces` (inside a..b, sorted by pieceOrder) as marks.
function place(parent, a, b, pieces) {
  const slice = (x, y) => state.chars.slice(x, y).join("");
  let p = a;
  let rest = pieces;
  while (rest.length) {
    const [it, ...others] = rest;
    if (it.start > p) parent.append(slice(p, it.start));
    const inner = [];
    rest = [];
    for (const o of others) {
      if (o.start < it.end) {
        inner.push({ ...o, end: Math.min(o.end, it.end) });
        if (o.end > it.end) rest.push({ ...o, start: it.end });
      } else rest.push(o);
    }
    rest.sort(pieceOrder);
    const m = markFor(it);
    place(m, it.start, it.end, inner.sort(pieceOrder));
    parent.append(m);
    p = it.end;
  }
  if (p < b) parent.append(slice(p, b));
}

// The text as sentences (for the heat strip) containing marks (the spans), all from code-point offsets.
function render() {
  const { chars, report } = state;
  const out = $("output");
  const heat = $("heat");
  out.replaceChildren();
  heat.replaceChildren();
  const all = [];
  report.spans.forEach((s, i) => { if (!s.covered && s.end > s.start) all.push({ s, i, start: s.start, end: s.end }); });
  const within = (a, b) => all.filter((x) => x.start < b && x.end > a)
    .map((x) => ({ ...x, start: Math.max(x.start, a), end: Math.min(x.end, b) })).sort(pieceOrder);
  const sentences = report.sentences.slice().sort((a, b) => a.start - b.start);
  let pos = 0;
  let si = 0;
  for (const sent of sentences) {
    if (sent.start > pos) place(out, pos, sent.start, within(pos, sent.start));
    const node = el("span", { class: "sent" + (sent.score >= 0.5 ? " hot" : ""), id: "sent-" + si, style: `--s:${sent.score}` });
    const a = Math.max(sent.start, pos);
    if (sent.end > a) place(node, a, sent.end, within(a, sent.end));
    out.append(node);
    // one tab stop for the whole strip (the first sentence); the arrow keys move along it
    const seg = el("span", { style: `flex:${Math.max(1, sent.end - sent.start)} 1 0;--s:${(0.08 + 0.9 * sent.score).toFixed(3)}`,
      title: `sentence ${si + 1}: ${sent.score.toFixed(2)}`, "aria-label": `sentence ${si + 1}, score ${sent.score.toFixed(2)}`,
      tabindex: si === 0 ? "0" : "-1", role: "button" });
    const target = node;
    const jump = () => target.scrollIntoView({ behavior: "smooth", block: "center" });
    seg.addEventListener("click", jump);
    seg.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        jump();
        // and the focus goes with it: to the sentence's first highlight, or the sentence itself
        const mark = target.querySelector("mark[tabindex='0']");
        if (mark) mark.focus({ preventScroll: true });
        else { target.tabIndex = -1; target.focus({ preventScroll: true }); }
      } else if (["ArrowRight", "ArrowLeft", "Home", "End"].includes(ev.key)) {
        ev.preventDefault();
        const segs = Array.from(heat.children);
        const at = segs.indexOf(seg);
        const to = ev.key === "Home" ? 0 : ev.key === "End" ? segs.length - 1
          : Math.max(0, Math.min(segs.length - 1, at + (ev.key === "ArrowRight" ? 1 : -1)));
        seg.tabIndex = -1;
        segs[to].tabIndex = 0;
        segs[to].focus();
      }
    });
    heat.append(seg);
    pos = Math.max(pos, sent.end);
    si += 1;
  }
  if (pos < chars.length) place(out, pos, chars.length, within(pos, chars.length));
}

// A span listed only because its document was judged spun (the second, lower threshold).
function byVerdict(span) { return span.evidence != null && "spun_doc_threshold" in span.evidence; }

// The spans a mark stands for: its own first, then those of the marks around it, innermost first.
function spansAt(mark) {
  const found = [];
  for (let m = mark; m && m.tagName === "MARK"; m = m.parentElement.closest("#output mark")) {
    const s = state.report.spans[Number(m.dataset.i)];
    if (s && !s.applied && !s.covered && !found.includes(s)) found.push(s);
  }
  return found;
}

// At most `n` code points of `text`, an ellipsis for the rest (a sentence-long grammar match in a heading).
function shortened(text, n = 60) {
  const chars = Array.from(text);
  return chars.length <= n ? text : chars.slice(0, n - 1).join("").trimEnd() + "…";
}

function openPopover(anchor) {
  const spans = spansAt(anchor);
  if (!spans.length) return;
  state.anchor = anchor;
  const pop = $("popover");
  pop.replaceChildren();
  for (const span of spans) {
    const part = el("section");
    part.append(el("h2", {}, `${span.kind} · score ${span.score.toFixed(2)}` + (span.sources.length ? ` · ${span.sources.join(", ")}` : "")
      + (spans.length > 1 ? ` · “${shortened(span.text)}”` : "")));
    // what the finding says in words (LanguageTool's message, the look-alike letters'), first
    const message = span.evidence && typeof span.evidence.message === "string" ? span.evidence.message : "";
    if (message) part.append(el("p", { class: "message" }, message));
    const list = el("ul");
    if (!span.suggestions.length) list.append(el("li", {}, "no suggestion"));
    for (const sug of span.suggestions) {
      const li = el("li");
      // an empty suggestion deletes the span's letters: said so, not shown as a blank row
      li.append(sug.text ? el("span", {}, sug.text) : el("span", { class: "deletion" }, "(delete)"),
        el("span", { class: "score" }, sug.score.toFixed(2)));
      const btn = el("button", { type: "button", class: "apply" }, "Apply");
      btn.addEventListener("click", () => { closePopover(false); apply(span, sug.text); });
      li.append(btn);
      list.append(li);
    }
    part.append(list);
    if (byVerdict(span)) {
      part.append(el("p", { class: "by-doc-note" },
        `Shown because the document as a whole reads as spun; alone it scores under the usual threshold.`));
    }
    const ev = Object.entries(span.evidence || {}).filter(([k]) => !(k === "message" && message))
      .map(([k, v]) => `${k}: ${v}`).join(" · ");
    if (ev) part.append(el("div", { class: "evidence" }, ev));
    pop.append(part);
  }
  pop.hidden = false;
  // below the mark, kept inside the window's width
  const r = anchor.getBoundingClientRect();
  const width = pop.offsetWidth;
  const left = Math.max(8, Math.min(r.left, document.documentElement.clientWidth - width - 8));
  pop.style.left = `${window.scrollX + left}px`;
  pop.style.top = `${window.scrollY + r.bottom + 6}px`;
  const first = pop.querySelector("button");
  if (first) first.focus();
}

// Hide the popover; with `refocus`, focus goes back to the mark it was opened from.
function closePopover(refocus = true) {
  const pop = $("popover");
  if (pop.hidden) return;
  pop.hidden = true;
  if (refocus && state.anchor && state.anchor.isConnected) state.anchor.focus();
  state.anchor = null;
}

// Replace the span's code points by `replacement` and shift every later offset by the difference.
// A spun span around a smaller fix (a disguised word's Latin letters) stays, as it was; every other
// span overlapping the replaced letters is dropped (its words are gone).
function apply(span, replacement) {
  const rep = Array.from(replacement);
  const delta = rep.length - (span.end - span.start);
  const { chars, report } = state;
  state.chars = chars.slice(0, span.start).concat(rep, chars.slice(span.end));
  const oldStart = span.start;
  const oldEnd = span.end;
  const grown = [];
  for (const s of report.spans) {
    if (s === span || s.covered) continue;
    if (s.start >= oldEnd) { s.start += delta; s.end += delta; }
    else if (s.end <= oldStart) continue;
    else if (s.kind === "spun" && span.kind !== "spun" && s.start <= oldStart && s.end >= oldEnd) { s.end += delta; grown.push(s); }
    else s.covered = true;
  }
  for (const s of report.sentences) {
    if (s.start >= oldEnd) s.start += delta;
    if (s.end >= oldEnd) s.end += delta;
  }
  span.end = span.start + rep.length;
  span.text = replacement;
  span.applied = true;
  for (const s of grown) s.text = state.chars.slice(s.start, s.end).join("");
  $("input").value = state.chars.join("");
  render();
  // keyboard users go on from here: the next span not yet applied, else the first one (from the top),
  // else Copy clean text (nothing is left to apply)
  const open = report.spans.map((s, i) => ({ s, i })).filter(({ s }) => !s.applied && !s.covered)
    .sort((x, y) => x.s.start - y.s.start);
  const next = open.find(({ s }) => s.start >= span.start) || open[0];
  const target = next ? document.querySelector(`#output mark[data-i="${next.i}"]`) : $("copy-clean");
  if (target) target.focus();
}

// service/restore.py's MIN_SCORE: spun spans scoring less are left as written (a test checks they agree)
const RESTORE_MIN_SCORE = 0.6;

function cleanText() {
  // the likely original, by the rule of `unspin restore` (service/restore.py): the first suggestion of
  // every spun span scoring at least RESTORE_MIN_SCORE, and the Latin word for every word disguised with
  // look-alike letters that no such span covers; applied last span first so earlier offsets stay valid
  const chars = state.chars.slice();
  const all = state.report.spans.filter((s) => !s.applied && !s.covered);
  const spun = all.filter((s) => s.kind === "spun" && s.suggestions.length && s.score >= RESTORE_MIN_SCORE);
  const disguised = all.filter((s) => s.kind === "formatting" && s.sources.includes("look-alike") &&
    s.suggestions.length && !spun.some((p) => p.start < s.end && s.start < p.end));
  const spans = spun.concat(disguised).sort((a, b) => b.start - a.start);
  for (const s of spans) chars.splice(s.start, s.end - s.start, ...Array.from(s.suggestions[0].text));
  return chars.join("");
}

async function copyClean() {
  const text = cleanText();
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = el("textarea");
    ta.value = text;
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
  document.body.dataset.clean = text; // what was copied, for anyone (or any test) who wants to see it
  setStatus("Clean text copied.");
}

function edit() {
  $("result-pane").hidden = true;
  $("input-pane").hidden = false;
  closePopover(false);
  setStatus("");
  $("input").focus();
}

// Binary data by the command line's rule (service/decoding.py): a NUL, or more than 10 % control
// characters other than tab and line breaks (a test checks the two agree).
const BINARY_CONTROL_SHARE = 0.1;

function looksBinary(text) {
  if (text.includes("\0")) return true;
  const controls = (text.match(/[\x00-\x08\x0e-\x1f\x7f]/g) || []).length;
  return controls > BINARY_CONTROL_SHARE * Array.from(text).length; // code points, as Python counts
}

// A file's text: UTF-8 (a byte-order mark dropped), UTF-16 or UTF-32 with a byte-order mark, and
// otherwise the browser's Windows-1252, said in the status line (the command line would need
// --encoding cp1252). (A NUL byte read as UTF-8 or Windows-1252 is a NUL character, which
// looksBinary refuses.) Throws an Error saying why for UTF-32 that is not valid.
function decode(buf) {
  const b = new Uint8Array(buf);
  // UTF-32's marks first: UTF-32LE's begins with UTF-16LE's (browsers have no UTF-32 decoder)
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return [utf32(b, true), " (UTF-32)"];
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return [utf32(b, false), " (UTF-32)"];
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return [new TextDecoder("utf-16le").decode(buf), " (UTF-16)"];
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return [new TextDecoder("utf-16be").decode(buf), " (UTF-16)"];
  try {
    return [new TextDecoder("utf-8", { fatal: true }).decode(buf), ""];
  } catch {
    return [new TextDecoder("windows-1252").decode(buf),
      ": it is not UTF-8, so it was read as Windows-1252 (cp1252); check its accented letters"];
  }
}

// UTF-32 after its byte-order mark, strictly as the command line reads it (Python's codec).
function utf32(b, little) {
  if (b.length % 4) {
    throw new Error("it starts with a UTF-32 byte-order mark but is not valid UTF-32 (its length is not a multiple of 4)");
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const parts = [];
  for (let i = 4; i < b.length; i += 4096) {
    const points = [];
    for (let j = i; j < Math.min(b.length, i + 4096); j += 4) {
      const cp = view.getUint32(j, little);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new Error(`it starts with a UTF-32 byte-order mark but is not valid UTF-32 (byte offset ${j})`);
      }
      points.push(cp);
    }
    parts.push(String.fromCodePoint(...points));
  }
  return parts.join("");
}

function loadFile(file) {
  if (!file) return;
  if (state.request) { setStatus("Wait for the check under way, or cancel it, before opening a file.", true); return; }
  file.arrayBuffer().then((buf) => {
    // a check started while the file was read: its results belong to the text it sent
    if (state.request) { setStatus(`${file.name} was not opened: a check started while it was read.`, true); return; }
    let text, how;
    try {
      [text, how] = decode(buf);
    } catch (e) {
      setStatus(`${file.name} was not opened: ${e.message}.`, true);
      return;
    }
    if (looksBinary(text)) {
      setStatus(`${file.name} was not opened: it looks like binary data, not text (a PDF or a word processor's ` +
        "file must be saved as plain text first).", true);
      return;
    }
    $("input").value = text;
    setStatus(`Loaded ${file.name}${how}.`);
  }, () => setStatus(`Could not read ${file.name}.`, true));
}

$("check").addEventListener("click", check);
$("cancel").addEventListener("click", cancel);
$("edit").addEventListener("click", edit);
$("copy-clean").addEventListener("click", copyClean);
$("file").addEventListener("change", (e) => { loadFile(e.target.files[0]); e.target.value = ""; });
$("key").value = storedKey();
$("key").addEventListener("input", (e) => storeKey(e.target.value.trim()));
const output = $("output");
output.addEventListener("click", (ev) => {
  const m = ev.target.closest("mark");
  if (m && output.contains(m)) openPopover(m);
});
output.addEventListener("keydown", (ev) => {
  // keydown opens; without preventDefault the same Enter would press the popover's first button
  if ((ev.key === "Enter" || ev.key === " ") && ev.target.tagName === "MARK") { ev.preventDefault(); openPopover(ev.target); }
});
const input = $("input");
const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
input.addEventListener("dragover", (e) => { if (hasFiles(e)) { e.preventDefault(); input.classList.add("drop"); } });
input.addEventListener("dragleave", () => input.classList.remove("drop"));
input.addEventListener("drop", (e) => {
  input.classList.remove("drop");
  if (!e.dataTransfer.files.length) return; // dragged text: the browser puts it in the text box
  e.preventDefault();
  loadFile(e.dataTransfer.files[0]);
});
input.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); check(); } });
document.addEventListener("keydown", (e) => { if (e.key === "Escape") closePopover(); });
document.addEventListener("click", (e) => {
  const pop = $("popover");
  if (!pop.hidden && !pop.contains(e.target) && !e.target.closest("#output mark")) closePopover(false);
});
