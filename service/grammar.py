"""The grammar checker: LanguageTool through ``language_tool_python``, chunked, never raising.

:class:`GrammarChecker` sends text to a LanguageTool server (``UNSPIN_LANGUAGETOOL_URL``) or to a
local one that ``language_tool_python`` starts from an unpacked distribution (``LTP_PATH``, with
Java on PATH), and turns its ``/v2/check`` matches into :class:`GrammarMatch` objects whose
``start``/``end`` are code-point offsets into the text as received, each with a ``kind``:

* ``typo``: spelling (``TYPOS`` category, ``MORFOLOGIK_RULE_*``, names, diacritics);
* ``formatting``: punctuation, typography, casing, whitespace and style hints ("24,2017",
  unpaired quotes, "in2001", a missing comma after a year, overlong sentences);
* ``grammar``: grammar, agreement, collocations, confused words, articles ("a example") and
  wrong word order - the damage spinning and machine translation leave.

Only ``grammar`` matches count as evidence of spinning or garbling (see ``service/grammar_signal.py``).

Server problems (down, slower than ``UNSPIN_LANGUAGETOOL_TIMEOUT``, HTTP errors, answers that are not
LanguageTool JSON) never raise: the result says ``checked=False`` with the reason, and the next call
tries again (the client is rebuilt when it could not be built). The timeout bounds each whole
request, from connecting to the answer's last byte (``requests`` alone applies it to each socket
read, so a server trickling its answer could take many times as long). An answer in which
LanguageTool itself says its results are incomplete (``warnings.incompleteResults``: it hit its own
time limit) is checked, its matches kept, and says so: ``complete=False`` with LanguageTool's reason.

Why raw JSON: ``language_tool_python``'s ``Match`` keeps only a few fields (it drops
``shortMessage``, the rule's ``description``, the category's ``name`` and ``type.typeName``, which the
LanguageTool-compatible endpoint must give back) and caches per-text state in class attributes
(not thread-safe). So the request goes through ``language_tool_python``'s own client
(``LanguageTool._query_server`` with its parameters from ``_create_params``) and the JSON it returns
is read here.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import shutil
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from service.config import Settings
from service.report import GrammarStatus
from service.utf16 import Utf16Index, utf16_len

log = logging.getLogger(__name__)

GrammarKind = Literal["grammar", "typo", "formatting"]

#: Rules whose kind their category does not tell (rule id -> kind).
_RULE_KINDS: dict[str, GrammarKind] = {
    "EN_A_VS_AN": "grammar",  # issueType "misspelling", category MISC: really a wrong article
    "MISSING_COMMA_AFTER_YEAR": "formatting",
    "COMMA_PARENTHESIS_WHITESPACE": "formatting",
    "WHITESPACE_RULE": "formatting",
    "EN_UNPAIRED_BRACKETS": "formatting",
    "EN_UNPAIRED_QUOTES": "formatting",
    "UPPERCASE_SENTENCE_START": "formatting",
    "PUNCTUATION_PARAGRAPH_END": "formatting",
    "TOO_LONG_SENTENCE": "formatting",
    "ENGLISH_WORD_REPEAT_RULE": "grammar",  # "the the"
}
#: LanguageTool English category ids -> kind.
_CATEGORY_KINDS: dict[str, GrammarKind] = {
    "TYPOS": "typo",
    "PUNCTUATION": "formatting",
    "TYPOGRAPHY": "formatting",
    "CASING": "formatting",
    "STYLE": "formatting",
    "REDUNDANCY": "formatting",
    "PLAIN_ENGLISH": "formatting",
    "WIKIPEDIA": "formatting",
    "REPETITIONS_STYLE": "formatting",
    "AMERICAN_ENGLISH_STYLE": "formatting",
    "BRITISH_ENGLISH": "formatting",
    "GENDER_NEUTRALITY": "formatting",
    "TEXT_ANALYSIS": "formatting",
    "GRAMMAR": "grammar",
    "COLLOCATIONS": "grammar",
    "CONFUSED_WORDS": "grammar",
    "SEMANTICS": "grammar",
    "NONSTANDARD_PHRASES": "grammar",
    "REPETITIONS": "grammar",
    "COMPOUNDING": "grammar",
    "MISC": "grammar",
    "FALSE_FRIENDS": "grammar",
}
#: LanguageTool issue types (Localization Quality Issue Types) -> kind, when the category is unknown.
_ISSUE_KINDS: dict[str, GrammarKind] = {
    "misspelling": "typo",
    "typographical": "formatting",
    "whitespace": "formatting",
    "style": "formatting",
    "register": "formatting",
    "locale-violation": "formatting",
    "characters": "formatting",
    "grammar": "grammar",
    "duplication": "grammar",
    "inconsistency": "grammar",
    "mistranslation": "grammar",
    "omission": "grammar",
    "addition": "grammar",
    "untranslated": "grammar",
}


def match_kind(rule_id: str, category_id: str, issue_type: str) -> GrammarKind:
    """The kind of a LanguageTool match: ``grammar``, ``typo`` or ``formatting``.

    Spelling rules (``MORFOLOGIK_RULE_*``, ``HUNSPELL_*``, the ``TYPOS`` category) are ``typo``;
    punctuation, typography, casing and style are ``formatting``; grammar, collocations, confused
    words and articles are ``grammar``. Unknown rules fall back on the issue type, then on
    ``formatting`` (which never raises a spun score).
    """
    if rule_id in _RULE_KINDS:
        return _RULE_KINDS[rule_id]
    if rule_id.startswith(("MORFOLOGIK_RULE", "HUNSPELL", "SPELLING_RULE")):
        return "typo"
    if category_id in _CATEGORY_KINDS:
        return _CATEGORY_KINDS[category_id]
    return _ISSUE_KINDS.get(issue_type, "formatting")


class GrammarMatch(BaseModel):
    """One LanguageTool match, located by code-point offsets into the text as received."""

    start: int = Field(..., ge=0, description="Code-point offset of the first flagged character.")
    end: int = Field(..., ge=0, description="Code-point offset one past the last flagged character.")
    kind: GrammarKind
    message: str = ""
    short_message: str = ""
    replacements: list[str] = Field(default_factory=list, description="LanguageTool's replacements, in its order.")
    rule_id: str
    rule_description: str = ""
    issue_type: str = ""
    category_id: str = ""
    category_name: str = ""
    type_name: str = ""
    rule_sub_id: str = ""
    rule_source_file: str = ""
    rule_urls: list[str] = Field(default_factory=list, description="The rule's 'more information' links.")
    rule_tags: list[str] = Field(default_factory=list)
    context_for_sure_match: int = 0


class GrammarResult(BaseModel):
    """What one check found: the status (checked or why not) and the matches, sorted by position."""

    status: GrammarStatus
    matches: list[GrammarMatch] = Field(default_factory=list)


@dataclass(frozen=True)
class GrammarOptions:
    """A client's own LanguageTool parameters for one check (what ``/v2/check`` was sent), where the
    configured language and level (``UNSPIN_LANGUAGETOOL_LANGUAGE``, ``UNSPIN_LANGUAGETOOL_LEVEL``)
    would otherwise be used. Rule and category ids are LanguageTool's; unspin's own (``UNSPIN_*``,
    which the endpoint filters itself) are not sent to the server."""

    language: str | None = None
    level: str | None = None  # "default" or "picky"
    enabled_rules: tuple[str, ...] = ()
    disabled_rules: tuple[str, ...] = ()
    enabled_categories: tuple[str, ...] = ()
    disabled_categories: tuple[str, ...] = ()
    enabled_only: bool = False
    mother_tongue: str | None = None
    mode: str | None = None  # "all", "textLevelOnly" or "allButTextLevelOnly"

    @property
    def asks_nothing(self) -> bool:
        """Only rules or categories of unspin's own are enabled: no LanguageTool rule is left to run."""
        return self.enabled_only and not (_theirs(self.enabled_rules) or _theirs(self.enabled_categories))

    def params(self) -> dict[str, str]:
        """The ``/v2/check`` form fields these options set (the text and the rest are the client's)."""
        out: dict[str, str] = {}
        if self.language:
            out["language"] = self.language
        if self.level:
            out["level"] = self.level
        for key, ids in (("enabledRules", self.enabled_rules), ("disabledRules", self.disabled_rules),
                         ("enabledCategories", self.enabled_categories),
                         ("disabledCategories", self.disabled_categories)):
            if _theirs(ids):
                out[key] = ",".join(_theirs(ids))
        if self.enabled_only:
            out["enabledOnly"] = "true"
        if self.mother_tongue:
            out["motherTongue"] = self.mother_tongue
        if self.mode:
            out["mode"] = self.mode
        return out


#: unspin's own LanguageTool-protocol ids: its category, and the start of every rule id of its own
#: (``UNSPIN_SPUN_PHRASE``, ``UNSPIN_<KIND>``)
OWN_CATEGORY_ID = "UNSPIN"
OWN_RULE_PREFIX = "UNSPIN_"


def _theirs(ids: tuple[str, ...]) -> list[str]:
    """The ids of ``ids`` that are LanguageTool's, not unspin's own (``UNSPIN``, ``UNSPIN_*``)."""
    return [i for i in ids if i != OWN_CATEGORY_ID and not i.startswith(OWN_RULE_PREFIX)]


class LanguageToolUnavailable(Exception):
    """The server could not be reached or gave no usable answer (the message says which)."""


class UnsupportedLanguage(LanguageToolUnavailable):
    """The server answers, but does not offer the configured language: a configuration problem."""

    def __init__(self, language: str, setting: str = "UNSPIN_LANGUAGETOOL_LANGUAGE") -> None:
        super().__init__(f"LanguageTool does not support the language {language!r} ({setting})")


# ----------------------------------------------------------------------------- chunking

_BREAKS = (
    re.compile(r"\n[ \t\r\f\v]*\n\s*"),  # paragraph
    re.compile(r"\n\s*"),  # line
    re.compile(r"[.!?][\"'”’)\]]*\s+"),  # sentence end
    re.compile(r"\s+"),  # word
)


def chunk_ranges(text: str, max_units: int) -> list[tuple[int, int]]:
    """Split ``text`` into contiguous code-point ranges of at most ``max_units`` UTF-16 units each.

    Cuts fall after a paragraph break if one lies in the second half of the window, else after a
    line break, a sentence end or a space, else (one unbroken run) at the window's end, never inside
    a surrogate pair. The ranges cover the text exactly, in order.
    """
    if max_units < 2:
        raise ValueError("max_units must be at least 2")
    idx = Utf16Index(text)
    total = utf16_len(text)
    out: list[tuple[int, int]] = []
    pos = 0
    while idx.to_utf16(pos) + max_units < total:
        lim = idx.to_codepoint(idx.to_utf16(pos) + max_units)  # rounds down inside a pair
        if lim <= pos:
            lim = pos + 1
        cut = None
        for pattern in _BREAKS:
            ends = [m.end() for m in pattern.finditer(text, pos, lim) if m.end() > pos + (lim - pos) // 2]
            if ends:
                cut = ends[-1]
                break
        cut = cut or lim
        out.append((pos, cut))
        pos = cut
    if pos < len(text) or not out:
        out.append((pos, len(text)))
    return out


# ----------------------------------------------------------------------------- the response


def _s(obj: Any, *path: str) -> str:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, str) else ""


def _list(match: dict, key: str) -> list:
    """``match["rule"][key]`` when it is a list, else empty."""
    rule = match.get("rule")
    value = rule.get(key) if isinstance(rule, dict) else None
    return value if isinstance(value, list) else []


def parse_matches(response: Any, text: str, base: int = 0) -> list[GrammarMatch]:
    """LanguageTool ``/v2/check`` JSON for ``text`` -> matches at code-point offsets ``+ base``.

    A match of length 0 (it flags no character) is left out, as LanguageTool's own clients ignore
    such matches. Raises :class:`LanguageToolUnavailable` when the JSON is not a LanguageTool answer
    (no ``matches`` list, a match without integer ``offset``/``length`` or ``rule.id``, or offsets
    outside the text).
    """
    if not isinstance(response, dict) or not isinstance(response.get("matches"), list):
        raise LanguageToolUnavailable("LanguageTool answered JSON without a 'matches' list")
    idx = Utf16Index(text)
    n16 = utf16_len(text)
    out = []
    for m in response["matches"]:
        off, length = (m.get("offset"), m.get("length")) if isinstance(m, dict) else (None, None)
        rule_id = _s(m, "rule", "id")
        if not (isinstance(off, int) and isinstance(length, int) and rule_id) or off < 0 or length < 0:
            raise LanguageToolUnavailable("LanguageTool answered a match without offset, length or rule id")
        if off + length > n16:
            raise LanguageToolUnavailable(f"LanguageTool answered a match ({off}+{length}) outside the text")
        if length == 0:  # flags nothing: a span would be empty
            continue
        reps = m.get("replacements") or []
        category_id = _s(m, "rule", "category", "id")
        issue_type = _s(m, "rule", "issueType")
        out.append(
            GrammarMatch(
                start=base + idx.to_codepoint(off),
                end=base + idx.to_codepoint(off + length),
                kind=match_kind(rule_id, category_id, issue_type),
                message=_s(m, "message"),
                short_message=_s(m, "shortMessage"),
                replacements=[r["value"] for r in reps if isinstance(r, dict) and isinstance(r.get("value"), str)],
                rule_id=rule_id,
                rule_description=_s(m, "rule", "description"),
                issue_type=issue_type,
                category_id=category_id,
                category_name=_s(m, "rule", "category", "name"),
                type_name=_s(m, "type", "typeName"),
                rule_sub_id=_s(m, "rule", "subId"),
                rule_source_file=_s(m, "rule", "sourceFile"),
                rule_urls=[u["value"] for u in _list(m, "urls") if isinstance(u, dict) and isinstance(u.get("value"), str)],
                rule_tags=[t for t in _list(m, "tags") if isinstance(t, str)],
                context_for_sure_match=c if isinstance(c := m.get("contextForSureMatch"), int) else 0,
            )
        )
    return out


#: How LanguageTool starts its own ``incompleteResultsReason`` ("Results are incomplete: " + why).
_LT_INCOMPLETE_PREFIX = "results are incomplete:"


def incomplete_reason(response: Any) -> str | None:
    """Why LanguageTool says its ``/v2/check`` answer is incomplete (``warnings.incompleteResults``,
    e.g. it hit its own check-time limit), without its "Results are incomplete:" lead; None when
    it does not say so."""
    warnings = response.get("warnings") if isinstance(response, dict) else None
    if not isinstance(warnings, dict) or warnings.get("incompleteResults") is not True:
        return None
    why = " ".join(_s(warnings, "incompleteResultsReason").split())
    if why.lower().startswith(_LT_INCOMPLETE_PREFIX):
        why = why[len(_LT_INCOMPLETE_PREFIX):].strip()
    return why or "no reason given"


def incomplete_status_reason(reasons: Sequence[str]) -> str:
    """A grammar status reason for a check LanguageTool answered as incomplete, for these reasons."""
    return "LanguageTool's results are incomplete: " + "; ".join(reasons)


def _part_numbers(numbers: Sequence[int], total: int) -> str:
    """``part 3 of 5``, ``parts 1, 3-5 of 9``: parts of a document, by their 1-based numbers."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    said = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)
    return f"{'part' if len(numbers) == 1 else 'parts'} {said} of {total}"


def merge_part_statuses(statuses: Sequence[GrammarStatus]) -> GrammarStatus:
    """One grammar status for a document checked in parts (``Engine.score_parts``), from each
    part's status in order.

    No part checked: the first part's status (why not). Some checked: ``checked``, with the
    matches of the checked parts summed; ``complete`` only when every part was checked completely,
    else ``reason`` names the parts not checked (and why) and those LanguageTool checked only in
    part, e.g. "part 3 of 3 not checked: LanguageTool server unreachable (connection failed)".
    """
    if not statuses:
        raise ValueError("no part statuses to merge")
    checked = [s for s in statuses if s.checked]
    if len(statuses) == 1 or not checked:
        return statuses[0]
    total = len(statuses)
    unchecked: dict[str, list[int]] = {}  # reason -> the parts it kept from being checked
    for n, s in enumerate(statuses, 1):
        if not s.checked:
            unchecked.setdefault(s.reason, []).append(n)
    notes = [(nums[0], f"{_part_numbers(nums, total)} not checked: {why}") for why, nums in unchecked.items()]
    notes += [(n, f"{_part_numbers([n], total)}: {s.reason}") for n, s in enumerate(statuses, 1) if s.incomplete]
    notes.sort(key=lambda note: note[0])
    return GrammarStatus(
        checked=True,
        reason="; ".join(text for _, text in notes),
        server=checked[0].server,
        matches=sum(s.matches or 0 for s in checked),
        complete=not notes,
    )


# ----------------------------------------------------------------------------- the client


def _describe(exc: BaseException, timeout: float, setting: str = "UNSPIN_LANGUAGETOOL_TIMEOUT") -> str:
    """A plain reason for a failed request, from language_tool_python's exception chain."""
    import requests

    chain, e = [], exc
    while e is not None and len(chain) < 5:
        chain.append(e)
        e = e.__cause__ or e.__context__
    for e in chain:
        if isinstance(e, requests.Timeout):
            return f"LanguageTool server did not answer within {timeout:g} s ({setting})"
        if isinstance(e, requests.ConnectionError):
            return "LanguageTool server unreachable (connection failed)"
        if isinstance(e, LanguageToolUnavailable):
            return str(e)
    from json import JSONDecodeError

    if any(isinstance(e, JSONDecodeError) for e in chain):
        body = " ".join(str(exc).split())[:160]
        return f"LanguageTool server answered an error or non-JSON body: {body!r}"
    if isinstance(exc, (AttributeError, KeyError, TypeError)):  # language_tool_python read JSON of another shape
        return "LanguageTool answered JSON of an unexpected shape"
    msg = " ".join(str(exc).split())[:200]
    return f"LanguageTool request failed: {type(exc).__name__}: {msg}"


#: Most bytes one read of an answer takes (one ``recv``: it returns what has arrived).
_READ_BYTES = 65536


def _read_within(response: Any, deadline: float, timeout: float) -> bytes:
    """The whole body of a streamed ``requests`` response, read by the ``time.monotonic()`` deadline.

    Each read is one ``recv`` (urllib3's ``read1``) with the socket's timeout set to the time left,
    so a server trickling its answer cannot stretch the request past the deadline. Raises
    ``requests.ReadTimeout`` at the deadline, ``requests.ConnectionError`` when the connection breaks.
    """
    import requests
    from urllib3.exceptions import HTTPError, ReadTimeoutError

    raw = response.raw
    read = getattr(raw, "read1", raw.read)  # read1: urllib3 2.x; read: at worst one more timeout per read
    body = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise requests.ReadTimeout(f"the whole answer did not come within {timeout:g} s")
        sock = getattr(getattr(raw, "connection", None), "sock", None)  # None once the body is all read
        if sock is not None:
            sock.settimeout(left)
        try:
            chunk = read(_READ_BYTES, decode_content=True)
        except ReadTimeoutError as e:
            raise requests.ReadTimeout(f"the whole answer did not come within {timeout:g} s") from e
        except HTTPError as e:  # the connection broke, or a body that does not decode
            raise requests.ConnectionError(e) from e
        if not chunk:
            return bytes(body)
        body += chunk


def _request_json(method: str, url: str, params: dict[str, str] | None, timeout: float,
                  proxies: dict[str, str] | None) -> Any:
    """One LanguageTool request whose whole exchange (connecting, sending, the answer to its last
    byte) takes at most ``timeout`` seconds, and its JSON; no thread is started.

    Raises what language_tool_python's ``_query_server`` raises for an answer that is not JSON
    (``RateLimitError`` for HTTP 426, else ``LanguageToolError`` with the body, from the
    ``JSONDecodeError``), and ``requests`` exceptions (``Timeout``, ``ConnectionError``) for the rest.
    """
    import requests
    from language_tool_python.exceptions import LanguageToolError, RateLimitError

    deadline = time.monotonic() + timeout
    fields = {"data": params} if method == "post" else {"params": params}
    with requests.request(method, url, timeout=(timeout, timeout), proxies=proxies, stream=True,
                          **fields) as response:
        body = _read_within(response, deadline, timeout)
    text = body.decode("utf-8", "replace")  # LanguageTool answers UTF-8
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if response.status_code == 426:
            raise RateLimitError("You have exceeded the rate limit for the free LanguageTool API. "
                                 "Please try again later.") from e
        raise LanguageToolError(text) from e


def _client_class():
    """A ``language_tool_python.LanguageTool`` whose requests take at most a given number of
    seconds each, and which says when the server does not offer the language asked."""
    import language_tool_python
    from language_tool_python.exceptions import LanguageToolError

    class _TimedLanguageTool(language_tool_python.LanguageTool):
        def __init__(self, language: str, *args: Any, timeout: float, **kwargs: Any) -> None:
            # language_tool_python reads self._TIMEOUT for every request (its class default is 300 s);
            # set before __init__, which already queries /v2/languages.
            self._TIMEOUT = timeout  # type: ignore[misc]
            self._offered: set[str] | None = None
            try:
                super().__init__(language, *args, **kwargs)
            except ValueError as e:
                # after the server listed its languages, __init__'s one ValueError is LanguageTag's
                # "unsupported language": the configuration's problem, not the server's
                if self._offered is None:
                    raise
                raise UnsupportedLanguage(language) from e

        def _get_languages(self) -> set[str]:
            """The server's languages (remembered: a ValueError after them is an unsupported language)."""
            self._offered = super()._get_languages()
            return self._offered

        def _query_server(self, url: str, params: dict[str, str] | None = None, num_tries: int = 2,
                          method: Literal["get", "post"] = "get") -> Any:
            """language_tool_python's request (same arguments, retries, errors, local server restart),
            with the timeout bounding each whole request rather than each socket read."""
            for n in range(num_tries):
                try:
                    return _request_json(method, url, params, self._TIMEOUT, self._proxies)
                except (OSError, http.client.HTTPException) as e:  # requests' exceptions are OSErrors
                    if not self._remote:
                        self._terminate_server()
                        self._start_local_server()
                    if n + 1 >= num_tries:
                        raise LanguageToolError(f"{self._url}: {e}") from e
            return None

        def check_raw(self, text: str, options: dict[str, str] | None = None) -> Any:
            """POST /v2/check once (no retry: a slow server must not cost twice the timeout), with
            ``options`` (:meth:`GrammarOptions.params`) in place of the client's own parameters."""
            url = urllib.parse.urljoin(self._url, "check")
            params = self._create_params(text)
            if options:
                params.update(options)
                if params.get("level") == "default":  # LanguageTool's default is no level at all
                    del params["level"]
            return self._query_server(url, params, num_tries=1, method="post")

        def __del__(self) -> None:  # the base class warns about "unclosed" remote servers
            try:
                if not self._remote:
                    super().__del__()
            except Exception:  # pragma: no cover - interpreter shutdown
                pass

    return _TimedLanguageTool


def server_root(url: str) -> str:
    """The URL language_tool_python is given for a server at ``url``: its path with one final
    ``/``, so that the library's ``urljoin(url, "v2/")`` keeps a path prefix
    (``http://host/languagetool`` -> ``http://host/languagetool/v2/``, not ``http://host/v2/``).
    A URL naming the API itself (its path ending in ``/v2``) names its server's root."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/v2"):
        path = path[: -len("/v2")]
    return urllib.parse.urlunsplit(parts._replace(path=path + "/"))


def _local_versions(ltp_path: Path) -> list[str]:
    """Versions of the unpacked LanguageTool-X.Y distributions (with their jar) in ``ltp_path``."""
    versions = []
    for d in Path(ltp_path).glob("LanguageTool-*"):
        m = re.fullmatch(r"LanguageTool-(\d+\.\d+|\d{8}|latest)", d.name)
        if m and d.is_dir() and any((d / j).exists() for j in ("languagetool-server.jar", "languagetool.jar")):
            versions.append(m.group(1))
    return versions


def local_languagetool(ltp_path: Path | None) -> str | None:
    """The version of an unpacked LanguageTool under ``ltp_path`` usable with Java on PATH, else None."""
    if ltp_path is None or not Path(ltp_path).is_dir() or shutil.which("java") is None:
        return None
    return max(_local_versions(ltp_path), default=None)


def local_languagetool_problem(ltp_path: Path | None) -> str | None:
    """Why ``LTP_PATH`` cannot start a local LanguageTool (a grammar status reason), or None when it
    can or is not set."""
    if ltp_path is None:
        return None
    where = f"LTP_PATH={str(ltp_path)!r}"
    if not Path(ltp_path).is_dir():
        why = "is not a folder"
    elif not _local_versions(ltp_path):
        why = "holds no unpacked LanguageTool-X.Y with languagetool-server.jar"
    elif shutil.which("java") is None:
        why = "holds a LanguageTool, but no 'java' is on PATH to run it"
    else:
        return None
    return f"no local LanguageTool: {where} {why} (and UNSPIN_LANGUAGETOOL_URL is not set)"


class GrammarChecker:
    """LanguageTool as a signal: ``check`` (chunked, never raising), ``warm_up`` and ``ping``.

    Thread-safe: the client is built once under a lock (and rebuilt after a failed build);
    language_tool_python sends each request with ``requests`` without shared session state.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        local_version: str | None = None,
        ltp_path: Path | None = None,
        language: str = "en-US",
        level: str = "default",
        timeout: float = 10.0,
        ping_timeout: float = 2.0,
        max_chars: int = 20_000,
        unusable: str | None = None,
    ) -> None:
        if not url and not local_version and not unusable:
            raise ValueError("GrammarChecker needs a server URL, a local LanguageTool version or why there is none")
        #: why no server can be asked although one was configured (LTP_PATH set but unusable): every
        #: check then reports this reason instead of the generic "no LanguageTool server configured"
        self.unusable = None if url or local_version else unusable
        #: the server's URL as configured, without a final "/" (path prefix kept): what reports name
        self.url = url.rstrip("/") if url else None
        self.local_version = local_version
        self.ltp_path = ltp_path
        self.language = language
        self.level = level
        self.timeout = timeout
        self.ping_timeout = ping_timeout
        self.max_chars = max_chars
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "GrammarChecker | None":
        """The checker the settings ask for, or None (no URL and no ``LTP_PATH``).

        With ``LTP_PATH`` set to a folder that cannot start a LanguageTool (missing, no
        ``LanguageTool-X.Y`` inside, no Java) and no URL, a checker that never checks and says why.
        """
        local = None if settings.languagetool_url else local_languagetool(settings.ltp_path)
        problem = None if settings.languagetool_url or local else local_languagetool_problem(settings.ltp_path)
        if not settings.languagetool_url and not local and not problem:
            return None
        return cls(
            settings.languagetool_url,
            local_version=local,
            unusable=problem,
            ltp_path=settings.ltp_path if local or problem else None,
            language=settings.languagetool_language,
            level=settings.languagetool_level,
            timeout=settings.languagetool_timeout,
            ping_timeout=settings.languagetool_ping_timeout,
            max_chars=settings.languagetool_max_chars,
        )

    @property
    def server(self) -> str:
        """Where the checks go: the URL, or ``local LanguageTool X.Y`` (``unusable LTP_PATH …``: nowhere)."""
        if self.unusable:
            return f"unusable LTP_PATH {self.ltp_path}"
        return self.url or f"local LanguageTool {self.local_version}"

    def _build(self, timeout: float) -> Any:
        cls = _client_class()
        if self.url:
            client = cls(self.language, remote_server=server_root(self.url), timeout=timeout)
        else:  # local: language_tool_python starts the JVM from LTP_PATH (never downloads: it is installed)
            if self.ltp_path is not None:  # the library reads the folder from LTP_PATH itself, whichever name set it
                os.environ["LTP_PATH"] = str(self.ltp_path)
            client = cls(self.language, language_tool_download_version=self.local_version, timeout=timeout)
        client.picky = self.level == "picky"
        return client

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._build(self.timeout)
            return self._client

    def _fail(self, reason: str) -> GrammarResult:
        log.warning("grammar not checked: %s", reason)
        return GrammarResult(status=GrammarStatus(checked=False, reason=reason, server=self.server))

    def check(self, text: str, options: GrammarOptions | None = None) -> GrammarResult:
        """Check ``text``, with a client's own ``options`` if given (else the configured language and
        level); matches carry code-point offsets into ``text``. Never raises for server trouble."""
        if self.unusable:  # a configuration problem, said once per report (not logged for every check)
            return GrammarResult(status=GrammarStatus(checked=False, reason=self.unusable))
        if options is not None and options.asks_nothing:  # nothing for LanguageTool to run
            return GrammarResult(status=GrammarStatus(checked=True, reason="", server=self.server, matches=0,
                                                      complete=True))
        params = options.params() if options is not None else None
        try:
            client = self._get_client()
        except Exception as e:  # noqa: BLE001 - any failure to build the client is a reason, not a crash
            return self._fail(_describe(e, self.timeout))
        matches: list[GrammarMatch] = []
        incomplete: list[str] = []  # LanguageTool's reasons, once each, for chunks it checked only in part
        for a, b in chunk_ranges(text, self.max_chars):
            chunk = text[a:b]
            if not chunk.strip():
                continue
            try:
                response = client.check_raw(chunk, params)
                matches.extend(parse_matches(response, chunk, base=a))
            except Exception as e:  # noqa: BLE001 - stop at the first failed chunk: the server is in trouble
                return self._fail(_describe(e, self.timeout))
            why = incomplete_reason(response)
            if why is not None and why not in incomplete:
                incomplete.append(why)
        matches.sort(key=lambda m: (m.start, m.end, m.rule_id))
        if incomplete:
            log.warning("grammar checked only in part: %s", incomplete_status_reason(incomplete))
        status = GrammarStatus(checked=True, reason=incomplete_status_reason(incomplete) if incomplete else "",
                               server=self.server, matches=len(matches), complete=not incomplete)
        return GrammarResult(status=status, matches=matches)

    def warm_up(self) -> GrammarStatus:
        """One small check so the JVM loads its rules now, not in a user's request (5-6 s). Never raises."""
        if self.unusable:  # said once at start-up; each report says it again
            log.warning("grammar not checked: %s", self.unusable)
        try:
            return self.check("This is a short warm-up sentence for the grammar checker.").status
        except Exception as e:  # noqa: BLE001 - belt and braces: check itself does not raise
            return GrammarStatus(checked=False, reason=_describe(e, self.timeout), server=self.server)

    def ping(self) -> GrammarStatus:
        """Whether the server answers ``/v2/languages`` within the ping timeout. Never raises.

        For a remote server a fresh language_tool_python client is built with the short timeout
        (building one queries ``/v2/languages`` and checks the language is offered); for a local one,
        whether its process is alive and answers.
        """
        if self.unusable:
            return GrammarStatus(checked=False, reason=self.unusable)
        try:
            if self.url:
                self._build(self.ping_timeout)
            else:
                client = self._client
                if client is None or not client._server_is_alive():
                    return GrammarStatus(checked=False, reason="local LanguageTool not started yet", server=self.server)
                client._get_languages()
            return GrammarStatus(checked=True, reason="", server=self.server, complete=True)
        except Exception as e:  # noqa: BLE001
            return GrammarStatus(
                checked=False, reason=_describe(e, self.ping_timeout, "UNSPIN_LANGUAGETOOL_PING_TIMEOUT"), server=self.server
            )

    def close(self) -> None:
        """Stop a local server started by this checker (a remote one is left alone)."""
        with self._lock:
            if self._client is not None and not self.url:
                self._client.close()
            self._client = None
