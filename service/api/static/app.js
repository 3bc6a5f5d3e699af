// unspin's page: a thin client of POST /v1/score. Offsets in the report are Unicode code points,
// so the text is handled as an array of code points (Array.from), never as UTF-16 string indexes.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { chars: [], report: null };

function setStatus(msg, isError = false) {
  $("status").textContent = msg;
  $("status").className = isError ? "error" : "";
}

function authHeaders() {
  const key = localStorage.getItem("unspin-key") || "";
  return key ? { Authorization: "Bearer " + key } : {};
}

async function check() {
  const text = $("input").value;
  if (!text.trim()) { setStatus("Paste or drop a text first.", true); return; }
  $("check").disabled = true;
  setStatus("Checking…");
  try {
    const res = await fetch("/v1/score", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      // a quick check leaves the second look out (the report's lm then names only the first model)
      body: JSON.stringify($("quick").checked ? { text, options: { second_look: false } } : { text }),
    });
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) {
      $("key-box").hidden = false;
      setStatus("This service needs an API key: enter it and check again.", true);
      return;
    }
    if (!res.ok) {
      const why = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail || body);
      const wait = res.headers.get("Retry-After");
      setStatus(`Error ${res.status}: ${why}` + (wait ? ` (retry in ${wait} s)` : ""), true);
      return;
    }
    state.chars = Array.from(text);
    state.report = body;
    setStatus(`Checked in ${body.stats.seconds.toFixed(2)} s.`);
    show();
  } catch (e) {
    setStatus("Could not reach the service: " + e.message, true);
  } finally {
    $("check").disabled = false;
  }
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
  note.hidden = r.grammar.checked;
  note.textContent = r.grammar.checked ? "" : "Grammar not checked: " + r.grammar.reason;
  const lang = $("language-note");
  const english = !r.language || r.language.english;
  lang.hidden = english;
  lang.textContent = english ? "" : "Not English: " + r.language.reason + ".";
  render();
}

// The text as sentences (for the heat strip) containing marks (the spans), all from code-point offsets.
function render() {
  const { chars, report } = state;
  const out = $("output");
  const heat = $("heat");
  out.replaceChildren();
  heat.replaceChildren();
  const spans = report.spans.slice().sort((a, b) => a.start - b.start);
  const sentences = report.sentences.slice().sort((a, b) => a.start - b.start);
  const slice = (a, b) => chars.slice(a, b).join("");
  let pos = 0;
  let si = 0;
  const appendRange = (parent, a, b) => {
    // plain text and marks between code points a and b
    let p = a;
    for (const [i, s] of spans.entries()) {
      if (s.start < a || s.start >= b || s.start < p) continue;
      if (s.start > p) parent.append(slice(p, s.start));
      const byDoc = byVerdict(s);
      const m = el("mark", { class: s.kind + (byDoc ? " by-doc" : "") + (s.applied ? " applied" : ""), tabindex: "0",
        "data-i": String(i), style: `--s:${s.score}` }, slice(s.start, Math.min(s.end, b)));
      const best = s.suggestions.length ? s.suggestions[0].text : "";
      m.title = s.applied ? "applied" : (best ? `→ ${best} (${s.score.toFixed(2)})` : `${s.kind} (${s.score.toFixed(2)})`)
        + (byDoc && !s.applied ? "; shown because the document reads as spun" : "");
      if (!s.applied) {
        m.addEventListener("click", (ev) => openPopover(ev.currentTarget, s));
        m.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openPopover(ev.currentTarget, s); });
      }
      parent.append(m);
      p = Math.min(Math.max(s.end, p), b);
    }
    if (p < b) parent.append(slice(p, b));
    return Math.max(p, b);
  };
  for (const sent of sentences) {
    if (sent.start > pos) appendRange(out, pos, sent.start);
    const node = el("span", { class: "sent" + (sent.score >= 0.5 ? " hot" : ""), id: "sent-" + si, style: `--s:${sent.score}` });
    if (sent.end > pos) appendRange(node, Math.max(sent.start, pos), sent.end);
    out.append(node);
    const seg = el("span", { style: `flex:${Math.max(1, sent.end - sent.start)} 1 0;--s:${(0.08 + 0.9 * sent.score).toFixed(3)}`,
      title: `sentence ${si + 1}: ${sent.score.toFixed(2)}` });
    const target = node;
    seg.addEventListener("click", () => target.scrollIntoView({ behavior: "smooth", block: "center" }));
    heat.append(seg);
    pos = Math.max(pos, sent.end);
    si += 1;
  }
  if (pos < chars.length) appendRange(out, pos, chars.length);
}

// A span listed only because its document was judged spun (the second, lower threshold).
function byVerdict(span) { return span.evidence != null && "spun_doc_threshold" in span.evidence; }

function openPopover(anchor, span) {
  const pop = $("popover");
  pop.replaceChildren();
  pop.append(el("h2", {}, `${span.kind} · score ${span.score.toFixed(2)}` + (span.sources.length ? ` · ${span.sources.join(", ")}` : "")));
  const list = el("ul");
  if (!span.suggestions.length) list.append(el("li", {}, "no suggestion"));
  for (const sug of span.suggestions) {
    const li = el("li");
    li.append(el("span", {}, sug.text), el("span", { class: "score" }, sug.score.toFixed(2)));
    const btn = el("button", { type: "button", class: "apply" }, "Apply");
    btn.addEventListener("click", () => { apply(span, sug.text); closePopover(); });
    li.append(btn);
    list.append(li);
  }
  pop.append(list);
  if (byVerdict(span)) {
    pop.append(el("p", { class: "by-doc-note" },
      `Shown because the document as a whole reads as spun; alone it scores under the usual threshold.`));
  }
  const ev = Object.entries(span.evidence || {}).map(([k, v]) => `${k}: ${v}`).join(" · ");
  if (ev) pop.append(el("div", { class: "evidence" }, ev));
  const r = anchor.getBoundingClientRect();
  pop.style.left = `${window.scrollX + r.left}px`;
  pop.style.top = `${window.scrollY + r.bottom + 6}px`;
  pop.hidden = false;
  const first = pop.querySelector("button");
  if (first) first.focus();
}

function closePopover() { $("popover").hidden = true; }

// Replace the span's code points by `replacement` and shift every later offset by the difference.
function apply(span, replacement) {
  const rep = Array.from(replacement);
  const delta = rep.length - (span.end - span.start);
  const { chars, report } = state;
  state.chars = chars.slice(0, span.start).concat(rep, chars.slice(span.end));
  const oldEnd = span.end;
  for (const s of report.spans) {
    if (s === span) continue;
    if (s.start >= oldEnd) { s.start += delta; s.end += delta; }
    else if (s.end > span.start) s.covered = true; // its words were replaced with this span's
  }
  for (const s of report.sentences) {
    if (s.start >= oldEnd) s.start += delta;
    if (s.end >= oldEnd) s.end += delta;
  }
  span.end = span.start + rep.length;
  span.text = replacement;
  span.applied = true;
  $("input").value = state.chars.join("");
  render();
}

// service/restore.py's MIN_SCORE: spun spans scoring less are left as written (a test checks they agree)
const RESTORE_MIN_SCORE = 0.6;

function cleanText() {
  // the likely original, by the rule of `unspin restore` (service/restore.py): the first suggestion of
  // every spun span scoring at least RESTORE_MIN_SCORE, and the Latin word for every word disguised with
  // look-alike letters that no such span covers; applied last span first so earlier offsets stay valid
  const chars = state.chars.slice();
  const all = state.report.spans;
  const spun = all.filter((s) => s.kind === "spun" && s.suggestions.length && s.score >= RESTORE_MIN_SCORE);
  const disguised = all.filter((s) => s.kind === "formatting" && s.sources.includes("look-alike") &&
    s.suggestions.length && !spun.some((p) => p.start < s.end && s.start < p.end));
  const spans = spun.concat(disguised).filter((s) => !s.applied && !s.covered).sort((a, b) => b.start - a.start);
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
  $("status").hidden = false;
}

function edit() {
  $("result-pane").hidden = true;
  $("input-pane").hidden = false;
  closePopover();
}

function loadFile(file) {
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => { $("input").value = String(reader.result); setStatus(`Loaded ${file.name}.`); };
  reader.onerror = () => setStatus(`Could not read ${file.name}.`, true);
  reader.readAsText(file);
}

$("check").addEventListener("click", check);
$("edit").addEventListener("click", edit);
$("copy-clean").addEventListener("click", copyClean);
$("file").addEventListener("change", (e) => loadFile(e.target.files[0]));
$("key").value = localStorage.getItem("unspin-key") || "";
$("key").addEventListener("change", (e) => localStorage.setItem("unspin-key", e.target.value.trim()));
const input = $("input");
input.addEventListener("dragover", (e) => { e.preventDefault(); input.classList.add("drop"); });
input.addEventListener("dragleave", () => input.classList.remove("drop"));
input.addEventListener("drop", (e) => {
  e.preventDefault();
  input.classList.remove("drop");
  loadFile(e.dataTransfer.files[0]);
});
input.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) check(); });
document.addEventListener("keydown", (e) => { if (e.key === "Escape") closePopover(); });
document.addEventListener("click", (e) => {
  const pop = $("popover");
  if (!pop.hidden && !pop.contains(e.target) && e.target.tagName !== "MARK") closePopover();
});
