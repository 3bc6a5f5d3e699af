"""A protocol-faithful fake LanguageTool HTTP server for tests (loopback, real sockets, a background thread).

Endpoints, as LanguageTool 6.x serves them:

* ``POST /v2/check`` (also ``GET`` with a query string), form-encoded ``text`` *or* ``data``
  (LanguageTool's JSON annotation format: ``{"annotation": [{"text": ...}, {"markup": ...,
  "interpretAs": ...}]}``), ``language``, ``level``, ``enabledRules``, ``disabledRules``
  (other LanguageTool fields are accepted and ignored);
* ``GET /v2/languages`` and ``GET /v2/healthcheck``.

Answers: for a text equal to a seed document (``seeds/*.txt``) with a recording in
``../shared/languagetool/`` (``raw_<seed>_<default|picky>.json``, read at run time, never copied),
the recorded JSON, with ``disabledRules`` applied. For any other text, matches from a few built-in
rules, shaped exactly like LanguageTool's: ``EN_A_VS_AN`` ("a example"; its wording is taken from
``wire_a_vs_an.json`` when present), ``MORFOLOGIK_RULE_EN_US`` for a small list of misspellings,
and any rules a test adds with :meth:`FakeLanguageTool.add_rule`. Offsets are UTF-16 code units,
as Java counts them (an emoji counts two).

Fault modes, switchable at run time with :meth:`FakeLanguageTool.set_mode`: ``ok``, ``down`` (the
port stops listening: connection refused), ``slow`` (answers after ``slow_seconds``), ``500``
(HTTP 500 with LanguageTool's plain-text error body), ``garbage`` (HTTP 200, truncated JSON),
``bad_json`` (HTTP 200, JSON without ``matches``), ``trickle`` (``/v2/check`` sends its headers at
once, then its body in :data:`TRICKLE_PIECES` pieces ``slow_seconds`` apart, each well within a
per-read timeout), ``incomplete`` (``/v2/check`` answers its matches with LanguageTool's
``warnings`` for a check that hit its time limit: ``incompleteResults: true`` and
:data:`INCOMPLETE_REASON`).

Served under a path prefix (``FakeLanguageTool(prefix="/languagetool")``, as behind a reverse
proxy), it answers only below it (``/languagetool/v2/check``); ``requests`` records the full paths.

Run it as a command (``Ctrl-C`` stops it)::

    python -m tests.fake_languagetool --port 8081
"""

from __future__ import annotations

import copy
import json
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT.parent / "shared" / "languagetool"
SEEDS = ROOT / "seeds"

MODES = ("ok", "down", "slow", "500", "garbage", "bad_json", "trickle", "incomplete")
#: How many pieces a ``trickle`` answer comes in.
TRICKLE_PIECES = 8
#: LanguageTool's ``incompleteResultsReason`` when a check hits its time limit (``incomplete`` mode).
INCOMPLETE_REASON = "Results are incomplete: text checking took longer than allowed maximum of 10.000 seconds"

SOFTWARE = {
    "name": "LanguageTool",
    "version": "6.3",
    "buildDate": "2023-10-06 20:34:38 +0000",
    "apiVersion": 1,
    "premium": False,
    "premiumHint": "You might be missing errors only the Premium version can find. "
    "Contact us at support<at>languagetoolplus.com.",
    "status": "",
}
LANGUAGES = [
    {"name": "English", "code": "en", "longCode": "en"},
    {"name": "English (US)", "code": "en", "longCode": "en-US"},
    {"name": "English (GB)", "code": "en", "longCode": "en-GB"},
    {"name": "English (Australian)", "code": "en", "longCode": "en-AU"},
    {"name": "German (Germany)", "code": "de", "longCode": "de-DE"},
    {"name": "French", "code": "fr", "longCode": "fr"},
]
_LANG_NAMES = {x["longCode"]: x["name"] for x in LANGUAGES}

#: Built-in misspellings (the fake's whole dictionary of unknown words) -> LanguageTool-like suggestions.
MISSPELLINGS = {
    "mispeled": ["misled", "misspelled", "dispelled", "misdeed", "misfiled", "misruled"],
    "teh": ["the", "tea", "ten"],
    "recieve": ["receive"],
    "goverment": ["government"],
    "definately": ["definitely", "defiantly"],
    "wrods": ["words", "rods"],
}
_A_VS_AN_EXCEPTIONS = re.compile(r"(?i)(?:one|once|uni|use|usu|eu|ewe|u\b|ur)")

_A_VS_AN_DEFAULT = {
    "message": "Use “an” instead of ‘a’ if the following word starts with a vowel sound, e.g.\u00a0‘an article’, "
    "‘an hour’.",
    "shortMessage": "Wrong article",
    "type": {"typeName": "Other"},
    "rule": {
        "id": "EN_A_VS_AN",
        "description": "Use of 'a' vs. 'an'",
        "issueType": "misspelling",
        "urls": [{"value": "https://languagetool.org/insights/post/indefinite-articles/"}],
        "category": {"id": "MISC", "name": "Miscellaneous"},
    },
    "ignoreForIncompleteSentence": False,
    "contextForSureMatch": 1,
}
_SPELLING_DEFAULT = {
    "message": "Possible spelling mistake found.",
    "shortMessage": "Spelling mistake",
    "type": {"typeName": "UnknownWord"},
    "rule": {
        "id": "MORFOLOGIK_RULE_EN_US",
        "description": "Possible spelling mistake",
        "issueType": "misspelling",
        "category": {"id": "TYPOS", "name": "Possible Typo"},
    },
    "ignoreForIncompleteSentence": False,
    "contextForSureMatch": 0,
}


def _u16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


@dataclass
class FakeRule:
    """A rule a test adds: every match of ``pattern`` (group ``flag`` when named, else the whole
    match) becomes a LanguageTool match with these fields."""

    pattern: str
    rule_id: str
    replacements: list[str]
    message: str = "Fake grammar rule."
    short_message: str = ""
    description: str = "A rule of the fake server"
    issue_type: str = "grammar"
    category_id: str = "GRAMMAR"
    category_name: str = "Grammar"
    type_name: str = "Other"

    def template(self) -> dict:
        return {
            "message": self.message,
            "shortMessage": self.short_message,
            "type": {"typeName": self.type_name},
            "rule": {
                "id": self.rule_id,
                "description": self.description,
                "issueType": self.issue_type,
                "category": {"id": self.category_id, "name": self.category_name},
            },
            "ignoreForIncompleteSentence": False,
            "contextForSureMatch": 0,
        }


@dataclass
class _State:
    mode: str = "ok"
    slow_seconds: float = 30.0
    rules: list[FakeRule] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    wake: threading.Event = field(default_factory=threading.Event)


def _load_recordings(directory: Path) -> dict[tuple[str, str], dict]:
    """(seed text, level) -> recorded response, for every recording whose seed is in ``seeds/``."""
    out: dict[tuple[str, str], dict] = {}
    if not directory.is_dir():
        return out
    for f in sorted(directory.glob("raw_*_*.json")):
        m = re.fullmatch(r"raw_(.+)_(default|picky)\.json", f.name)
        seed = SEEDS / f"{m.group(1)}.txt" if m else None
        if seed is None or not seed.exists():
            continue
        text = seed.read_bytes().decode("utf-8")
        out[(text, m.group(2))] = json.loads(f.read_text(encoding="utf-8"))
    return out


def _wire_template(directory: Path, rule_id: str, default: dict) -> dict:
    """The non-positional fields of ``rule_id``'s match in ``wire_*.json``, else ``default``."""
    for f in sorted(directory.glob("wire_*.json")) if directory.is_dir() else []:
        try:
            for m in json.loads(f.read_text(encoding="utf-8")).get("matches", []):
                if m.get("rule", {}).get("id") == rule_id:
                    return {k: v for k, v in m.items() if k not in ("offset", "length", "context", "sentence", "replacements")}
        except (OSError, ValueError):
            continue
    return default


def _sentence_ranges(text: str) -> list[tuple[int, int]]:
    """Rough sentence ranges (code points): up to ., ! or ? followed by space, or a line end."""
    out, start = [], 0
    for m in re.finditer(r"[.!?]+[\"'”’)]*(?=\s|$)|\n", text):
        end = m.end()
        seg = text[start:end]
        if seg.strip():
            lead = len(seg) - len(seg.lstrip())
            trail = len(seg.rstrip())
            out.append((start + lead, start + trail))
        start = end
    if text[start:].strip():
        seg = text[start:]
        out.append((start + len(seg) - len(seg.lstrip()), start + len(seg.rstrip())))
    return out


def _context(text: str, start: int, end: int, width: int = 40) -> dict:
    """LanguageTool's context (its ``ContextTools.getContext``, which counts Java chars: UTF-16 units):
    ``width`` units each side of the match, '...' on a side unless the text ends within them (also
    when exactly ``width`` are there: ``fromPos - contextSize >= 0``), each newline as a space (a
    carriage return stays). ``start`` and ``end`` are code points; an astral character the window
    would cut in two is left out (what LanguageTool sends for half of one was not recorded)."""
    units = text.encode("utf-16-le")
    n, f, t = len(units) // 2, _u16(text[:start]), _u16(text[:end])
    lo, prefix = (f - width, "...") if f - width >= 0 else (0, "")
    hi, postfix = (t + width, "...") if t + width <= n else (n, "")

    def piece(a: int, b: int) -> str:
        return units[2 * a : 2 * b].decode("utf-16-le", errors="ignore")  # a half pair at a cut is dropped

    pre = prefix + piece(lo, f)
    body = (pre + piece(f, t) + piece(t, hi) + postfix).replace("\n", " ")
    return {"text": body, "offset": _u16(pre), "length": t - f}


class FakeLanguageTool:
    """The fake server. ``url`` is its base URL (``http://127.0.0.1:PORT``); ``set_mode`` switches faults."""

    def __init__(self, port: int = 0, recordings: Path = RECORDINGS, host: str = "127.0.0.1", prefix: str = "") -> None:
        self.host = host
        self._port = port
        #: the path the API is served under ("" or e.g. "/languagetool"): ``url`` includes it
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.recordings_dir = Path(recordings)
        self.recordings = _load_recordings(self.recordings_dir)
        self._a_vs_an = _wire_template(self.recordings_dir, "EN_A_VS_AN", _A_VS_AN_DEFAULT)
        self._spelling = _wire_template(self.recordings_dir, "MORFOLOGIK_RULE_EN_US", _SPELLING_DEFAULT)
        self.state = _State()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- life cycle ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}{self.prefix}"

    @property
    def mode(self) -> str:
        return self.state.mode

    @property
    def requests(self) -> list[dict]:
        """Every request received (``{"method", "path", "params"}``), oldest first."""
        return self.state.requests

    def start(self) -> "FakeLanguageTool":
        with self._lock:
            if self._httpd is None:
                self._httpd = _Server((self.host, self._port), _handler_for(self))
                self._port = self._httpd.server_address[1]
                self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-languagetool", daemon=True)
                self._thread.start()
        return self

    def _stop_listening(self) -> None:
        with self._lock:
            if self._httpd is not None:
                self._httpd.shutdown()
                self._httpd.server_close()
                self._httpd = None
                if self._thread is not None:
                    self._thread.join(timeout=5)
                self._thread = None

    def stop(self) -> None:
        """Stop listening for good (wakes any slow request first)."""
        self.state.wake.set()
        self._stop_listening()

    def set_mode(self, mode: str, slow_seconds: float | None = None) -> None:
        """Switch the fault mode: ``ok``, ``down``, ``slow``, ``500``, ``garbage`` or ``bad_json``."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        if slow_seconds is not None:
            self.state.slow_seconds = slow_seconds
        previous, self.state.mode = self.state.mode, mode
        if previous in ("slow", "trickle"):
            self.state.wake.set()  # release requests still waiting
        if mode in ("slow", "trickle"):
            self.state.wake = threading.Event()
        if mode == "down":
            self._stop_listening()
        elif previous == "down":
            self.start()  # the same port again

    def add_rule(self, rule: FakeRule) -> None:
        """Add a built-in rule for texts that have no recording."""
        self.state.rules.append(rule)

    def reset(self) -> None:
        """Back to ``ok``, no extra rules, no recorded requests."""
        self.set_mode("ok")
        self.state.rules.clear()
        self.state.requests.clear()

    def __enter__(self) -> "FakeLanguageTool":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- the protocol ------------------------------------------------------------------------
    def check(self, params: dict[str, str]) -> tuple[int, str, str]:
        """(status, content type, body) for a /v2/check request with these form fields."""
        language = params.get("language")
        if not language:
            return 400, "text/plain", "Error: Missing 'language' parameter."
        if language != "auto" and language not in _LANG_NAMES and language not in {x["code"] for x in LANGUAGES}:
            return 400, "text/plain", f"Error: '{language}' is not a language code known to LanguageTool."
        if "text" in params:
            text, pieces = params["text"], None
        elif "data" in params:
            try:
                pieces = _annotation(params["data"])
            except ValueError as e:
                return 400, "text/plain", f"Error: Invalid 'data' parameter: {e}"
            text = "".join(p[0] for p in pieces)
        else:
            return 400, "text/plain", "Error: Missing 'text' or 'data' parameter."
        level = "picky" if params.get("level") == "picky" else "default"
        disabled = {r for r in params.get("disabledRules", "").split(",") if r}
        enabled_only = params.get("enabledOnly") == "true"
        enabled = {r for r in params.get("enabledRules", "").split(",") if r}
        recorded = self.recordings.get((text, level)) if pieces is None else None
        if recorded is not None:
            resp = copy.deepcopy(recorded)
        else:
            resp = self._builtin(text if pieces is None else "".join(p[1] for p in pieces), language, pieces)
        resp["matches"] = [
            m for m in resp["matches"]
            if m["rule"]["id"] not in disabled and (not enabled_only or m["rule"]["id"] in enabled)
        ]  # fmt: skip
        return 200, "application/json", json.dumps(resp)

    def _builtin(self, plain: str, language: str, pieces: list[tuple[str, str]] | None) -> dict:
        """Matches from the built-in rules on the plain text; offsets mapped to the original (with markup)."""
        found: list[tuple[int, int, list[str], dict]] = []  # code points in plain
        for m in re.finditer(r"\b([Aa])\s+(?=([A-Za-z][\w-]+))", plain):
            word = m.group(2)
            if word[0] in "aeiouAEIOU" and not _A_VS_AN_EXCEPTIONS.match(word):
                found.append((m.start(1), m.end(1), ["An" if m.group(1) == "A" else "an"], self._a_vs_an))
        for m in re.finditer(r"[^\W\d_]+", plain):
            reps = MISSPELLINGS.get(m.group().lower())
            if reps:
                found.append((m.start(), m.end(), reps, self._spelling))
        for rule in self.state.rules:
            for m in re.finditer(rule.pattern, plain):
                g = "flag" if "flag" in m.re.groupindex else 0
                found.append((m.start(g), m.end(g), list(rule.replacements), rule.template()))
        found.sort(key=lambda x: (x[0], x[1]))
        # offsets: plain code points -> original code points (markup pieces take their own length) -> UTF-16
        original = plain if pieces is None else "".join(p[0] for p in pieces)
        to_orig = _plain_to_original(pieces, len(plain))
        ranges = _sentence_ranges(original)
        matches = []
        for s, e, reps, tpl in found:
            os_, oe = to_orig(s), (to_orig(e - 1, end=True) if e > s else to_orig(s))
            sent = next((original[a:b] for a, b in ranges if a <= os_ < b), original[os_:oe])
            m = copy.deepcopy(tpl)
            m.update(
                replacements=[{"value": r} for r in reps],
                offset=_u16(original[:os_]),
                length=_u16(original[os_:oe]),
                context=_context(original, os_, oe),
                sentence=sent.replace("\n", " "),
            )
            ordered = {k: m[k] for k in ("message", "shortMessage", "replacements", "offset", "length", "context",
                                          "sentence", "type", "rule", "ignoreForIncompleteSentence",
                                          "contextForSureMatch") if k in m}  # fmt: skip
            matches.append(ordered)
        name = _LANG_NAMES.get(language, "English (US)")
        return {
            "software": dict(SOFTWARE),
            "warnings": {"incompleteResults": False},
            "language": {
                "name": name,
                "code": language,
                "detectedLanguage": {"name": name, "code": language, "confidence": 0.99, "source": "+fallback"},
            },
            "matches": matches,
            "sentenceRanges": [[_u16(original[:a]), _u16(original[:b])] for a, b in ranges],
        }


def _annotation(data: str) -> list[tuple[str, str]]:
    """LanguageTool's ``data`` JSON -> [(original piece, what the checker reads)] per annotation item."""
    try:
        obj = json.loads(data)
    except json.JSONDecodeError as e:
        raise ValueError(str(e)) from None
    items = obj.get("annotation") if isinstance(obj, dict) else None
    if not isinstance(items, list):
        raise ValueError("expected {\"annotation\": [...]}")
    out = []
    for it in items:
        if isinstance(it, dict) and isinstance(it.get("text"), str):
            out.append((it["text"], it["text"]))
        elif isinstance(it, dict) and isinstance(it.get("markup"), str):
            out.append((it["markup"], str(it.get("interpretAs", ""))))
        else:
            raise ValueError("each annotation item needs 'text' or 'markup'")
    return out


def _plain_to_original(pieces: list[tuple[str, str]] | None, n_plain: int):
    """A function mapping a code-point offset in the plain text to one in the original text.

    Inside a text piece the offset moves with it; inside markup it goes to the markup's start. With
    ``end=True`` it maps a match's last character to where that character ends (LanguageTool's
    ``getOriginalTextPositionFor(toPos - 1, true) + 1``): after it in a text piece, after the whole
    markup in one read through ``interpretAs``, so that markup after a match is not in it.
    """
    if pieces is None:
        return lambda i, end=False: i + 1 if end else i
    table = []  # (plain start, plain end, original start, original end, is text)
    p = o = 0
    for orig, plain in pieces:
        table.append((p, p + len(plain), o, o + len(orig), orig == plain))
        p += len(plain)
        o += len(orig)
    total = o

    def f(i: int, end: bool = False) -> int:
        for ps, pe, os_, oe, is_text in table:
            if ps <= i < pe:
                return os_ + (i - ps) + end if is_text else (oe if end else os_)
        return total

    return f


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        super().server_bind()


def _handler_for(fake: FakeLanguageTool):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeLanguageTool/6.3"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, ctype: str, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", f"{ctype}; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        def _params(self) -> dict[str, str]:
            parsed = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
            if self.command == "POST":
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8") if n else ""
                params.update(urllib.parse.parse_qsl(body, keep_blank_values=True))
            return params

        def _trickle(self, status: int, ctype: str, body: str) -> None:
            """Headers now, the body in TRICKLE_PIECES pieces ``slow_seconds`` apart (all at once
            when the mode changes)."""
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", f"{ctype}; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            step = -(-len(data) // TRICKLE_PIECES)
            wake = fake.state.wake
            try:
                for i in range(0, len(data), step):
                    if i:
                        wake.wait(fake.state.slow_seconds)
                    self.wfile.write(data[i : i + step])
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        def _handle(self) -> None:
            full = urllib.parse.urlsplit(self.path).path.rstrip("/")
            params = self._params()
            st = fake.state
            st.requests.append({"method": self.command, "path": full, "params": params})
            if fake.prefix and not (full + "/").startswith(fake.prefix + "/"):
                return self._send(404, "text/plain", f"Error: This is not a valid API endpoint: {full}")
            path = full[len(fake.prefix):]
            if st.mode == "slow":
                st.wake.wait(st.slow_seconds)
            mode = st.mode
            if mode == "500":
                return self._send(500, "text/plain", "Error: Internal Error: fake LanguageTool fault mode '500'")
            if mode == "garbage":
                return self._send(200, "application/json", '{"software": {"name": "LanguageTool"}, "matches": [{"mess')
            if mode == "bad_json":
                return self._send(200, "application/json", json.dumps({"status": "busy", "results": []}))
            if path == "/v2/languages" and self.command == "GET":
                return self._send(200, "application/json", json.dumps(LANGUAGES))
            if path == "/v2/healthcheck":
                return self._send(200, "text/plain", "OK")
            if path == "/v2/check" and mode == "trickle":
                return self._trickle(*fake.check(params))
            if path == "/v2/check" and mode == "incomplete":
                status, ctype, body = fake.check(params)
                if status == 200:
                    body = json.dumps({**json.loads(body), "warnings": {
                        "incompleteResults": True, "incompleteResultsReason": INCOMPLETE_REASON}})
                return self._send(status, ctype, body)
            if path == "/v2/check":
                return self._send(*fake.check(params))
            return self._send(404, "text/plain", f"Error: This is not a valid API endpoint: {path}")

        do_GET = _handle
        do_POST = _handle

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Run the fake on a port until interrupted."""
    import argparse
    import time

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--prefix", default="", help="serve the API under this path, e.g. /languagetool")
    ap.add_argument("--recordings", type=Path, default=RECORDINGS, help="folder of LanguageTool recordings")
    args = ap.parse_args(argv)
    fake = FakeLanguageTool(args.port, args.recordings, host=args.host, prefix=args.prefix).start()
    print(f"fake LanguageTool on {fake.url} ({len(fake.recordings)} recorded responses from {args.recordings})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
