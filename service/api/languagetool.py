"""LanguageTool's ``/v2/check`` protocol: turn an unspin report into LanguageTool's JSON.

Editors already run LanguageTool clients (browser add-ons, LibreOffice, Obsidian, Vim, VS Code);
pointed at unspin they get spun spans as matches of the rule ``UNSPIN_SPUN_PHRASE`` whose
replacements are the suggestions, next to the real LanguageTool server's own matches (which the
engine has already turned into grammar/typo/formatting spans with their original rule data).

Everything here is pure translation. LanguageTool counts offsets in UTF-16 code units (Java
``char``), unspin in code points: :mod:`service.utf16` converts at this border.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from service.grammar import OWN_CATEGORY_ID, OWN_RULE_PREFIX
from service.report import Report, Span
from service.utf16 import Utf16Index, utf16_len

SPUN_RULE_ID = "UNSPIN_SPUN_PHRASE"  # starts with OWN_RULE_PREFIX, as every rule id of unspin's own
SPUN_CATEGORY = {"id": OWN_CATEGORY_ID, "name": "Spun or paraphrased wording"}
CONTEXT_CHARS = 40  # LanguageTool's default context size on each side
#: longest sentence given whole in a match's ``sentence`` (longer: the match's context instead)
SENTENCE_MAX_CHARS = 1000

#: (name, code, longCode) of every language this service checks, as /v2/languages lists them.
LANGUAGES: list[tuple[str, str, str]] = [
    ("English", "en", "en"),
    ("English (US)", "en", "en-US"),
    ("English (GB)", "en", "en-GB"),
    ("English (Australian)", "en", "en-AU"),
    ("English (Canadian)", "en", "en-CA"),
    ("English (New Zealand)", "en", "en-NZ"),
    ("English (South African)", "en", "en-ZA"),
]


class ProtocolError(ValueError):
    """A request LanguageTool itself would refuse with 400; the message mirrors LanguageTool's."""


@dataclass(frozen=True)
class Language:
    name: str
    code: str  # the long code, as LanguageTool answers it in ``language.code``


def supported_codes() -> list[str]:
    """Every accepted ``language`` value, in /v2/languages order, plus ``auto``."""
    return [long for _, _, long in LANGUAGES] + ["auto"]


def _known(code: str) -> Language | None:
    return next((Language(name, long) for name, _, long in LANGUAGES if code.lower() == long.lower()), None)


def _unknown(code: str) -> ProtocolError:
    return ProtocolError(
        f"'{code}' is not a language code known to unspin. Supported language codes are: "
        + ", ".join(supported_codes())
    )


def english_variant(preferred_variants: str | None) -> Language | None:
    """The English variant among ``preferredVariants`` (LanguageTool's comma-separated list of the
    variants ``auto`` should check in, one per language), or None when it names none.

    Raises:
        ProtocolError: an English variant unspin does not know ("en-XX").
    """
    for variant in (preferred_variants or "").split(","):
        variant = variant.strip()
        if variant.lower().startswith("en-"):
            found = _known(variant)
            if found is None:
                raise _unknown(variant)
            return found
    return None


def resolve_language(code: str | None, preferred_variants: str | None = None,
                     configured: str = "en-US") -> tuple[Language, bool]:
    """The language for a ``language`` parameter, and whether it was detected (``auto``). unspin
    reads English only, so ``auto`` is the English variant among ``preferred_variants``, else the
    ``configured`` one (``UNSPIN_LANGUAGETOOL_LANGUAGE``) when it is English, else en-US: the answer
    names the variant the text was checked in.

    Raises:
        ProtocolError: missing or unsupported language code or preferred English variant (the
        message lists the supported ones).
    """
    if not code:
        raise ProtocolError("Missing 'language' parameter")
    if code.lower() == "auto":
        return english_variant(preferred_variants) or _known(configured) or Language("English (US)", "en-US"), True
    found = _known(code)
    if found is None:
        raise _unknown(code)
    return found, False


def languages_payload() -> list[dict[str, str]]:
    """The body of ``GET /v2/languages``."""
    return [{"name": n, "code": c, "longCode": lc} for n, c, lc in LANGUAGES]


# --------------------------------------------------------------------------- the request text


@dataclass
class CheckText:
    """The text to score and how its code points map back to what the client sent.

    For ``text=`` both are the same. For ``data=`` (LanguageTool's annotated text: a list of
    ``{"text"}`` and ``{"markup", "interpretAs"}`` parts) unspin scores the plain text and reports
    offsets into the whole annotated string, markup included, as LanguageTool does.
    """

    plain: str
    original: str
    to_original: list[int] | None = None  # plain code point -> original code point (len(plain)+1)
    #: plain code point -> where it ends in the original: after its own character for text, after the
    #: whole markup for a character of an ``interpretAs`` (len(plain))
    end_in_original: list[int] | None = None

    def original_range(self, start: int, end: int) -> tuple[int, int]:
        """The plain range ``[start, end)`` in the original: from its first character to the end of its
        last, as LanguageTool maps a match (markup after the range is not in it; markup read as the
        range's last characters, through ``interpretAs``, is). An empty range stays empty."""
        if self.to_original is None or self.end_in_original is None:
            return start, end
        o_start = self.to_original[start]
        return o_start, self.end_in_original[end - 1] if end > start else o_start


def _string(part: dict, key: str) -> str:
    """``part[key]``, which must be a string (LanguageTool refuses anything else as well)."""
    value = part[key]
    if not isinstance(value, str):
        kind = "null" if value is None else {bool: "a boolean", int: "a number", float: "a number", list: "a list",
                                              dict: "an object"}.get(type(value), type(value).__name__)
        raise ProtocolError(f"'{key}' in an 'annotation' entry must be a string, not {kind}")
    return value


def parse_data(data: str) -> CheckText:
    """Parse the ``data`` parameter: annotated text (``{"annotation": [...]}``), or ``{"text": ...}``.

    Raises:
        ProtocolError: not JSON, or neither ``{"annotation": [...]}`` of text/markup parts nor ``{"text": "..."}``.
    """
    try:
        parsed = json.loads(data)
        if isinstance(parsed, dict) and "annotation" not in parsed and isinstance(parsed.get("text"), str):
            return CheckText(parsed["text"], parsed["text"])  # {"text": ...}: LanguageTool takes that too
        parts = parsed["annotation"]
        if not isinstance(parts, list):
            raise TypeError
    except (ValueError, KeyError, TypeError, RecursionError):
        raise ProtocolError(
            "'data' must be JSON like {\"annotation\": [{\"text\": \"...\"}, {\"markup\": \"<b>\"}]} "
            "or {\"text\": \"...\"}"
        ) from None
    plain: list[str] = []
    original: list[str] = []
    mapping: list[int] = []
    ends: list[int] = []
    pos = 0  # code points of the original so far
    for part in parts:
        if not isinstance(part, dict):
            raise ProtocolError("each 'annotation' entry must be an object with 'text' or 'markup'")
        if "text" in part:
            t = _string(part, "text")
            plain.append(t)
            mapping.extend(range(pos, pos + len(t)))
            ends.extend(range(pos + 1, pos + len(t) + 1))
            original.append(t)
            pos += len(t)
        elif "markup" in part:
            m = _string(part, "markup")
            shown = _string(part, "interpretAs") if "interpretAs" in part else ""
            plain.append(shown)
            mapping.extend([pos] * len(shown))
            ends.extend([pos + len(m)] * len(shown))
            original.append(m)
            pos += len(m)
        else:
            raise ProtocolError("each 'annotation' entry must have 'text' or 'markup'")
    mapping.append(pos)
    return CheckText("".join(plain), "".join(original), mapping, ends)


# --------------------------------------------------------------------------- the answer


#: LanguageTool's ``mode`` values: every rule, only the text-level rules (which look across
#: sentences), or all but those. unspin's own matches are not text-level ones.
MODES = ("all", "textLevelOnly", "allButTextLevelOnly")


@dataclass
class RuleFilter:
    """``enabledRules``, ``disabledRules``, ``enabledCategories``, ``disabledCategories``, ``enabledOnly``, ``mode``."""

    enabled_rules: set[str] = field(default_factory=set)
    disabled_rules: set[str] = field(default_factory=set)
    enabled_categories: set[str] = field(default_factory=set)
    disabled_categories: set[str] = field(default_factory=set)
    enabled_only: bool = False
    mode: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, str]) -> "RuleFilter":
        """The filter a request's parameters set.

        Raises:
            ProtocolError: ``enabledOnly`` without rules or categories to enable, or an unknown ``mode``.
        """
        def ids(name: str) -> set[str]:
            return {x.strip() for x in params.get(name, "").split(",") if x.strip()}

        mode = params.get("mode")
        if mode is not None and mode not in MODES:
            raise ProtocolError(f"Mode must be one of {', '.join(repr(m) for m in MODES)} but was: {mode!r}")
        f = cls(
            ids("enabledRules"), ids("disabledRules"), ids("enabledCategories"), ids("disabledCategories"),
            params.get("enabledOnly", "false").lower() in ("true", "yes"),  # LanguageTool takes either
            mode,
        )
        if f.enabled_only and not (f.enabled_rules or f.enabled_categories):
            raise ProtocolError("You cannot use 'enabledOnly' without enabling rules or categories")
        return f

    def allows(self, rule_id: str, category_id: str) -> bool:
        """Whether a match of this rule and category is answered."""
        if rule_id in self.disabled_rules or category_id in self.disabled_categories:
            return False
        if self.mode == "textLevelOnly" and rule_id.startswith(OWN_RULE_PREFIX):
            return False  # unspin's own matches are sentence-level: the client asks for them with the other mode
        if self.enabled_only:
            return rule_id in self.enabled_rules or category_id in self.enabled_categories
        return True


def software() -> dict:
    """The ``software`` block: who answered (unspin, speaking LanguageTool's API version 1)."""
    try:
        v = version("unspin")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        v = "0"
    return {"name": "unspin", "version": v, "buildDate": "", "apiVersion": 1, "premium": False, "status": ""}


def _context(text: str, start: int, end: int) -> tuple[str, int, int]:
    """LanguageTool's context (its ``ContextTools.getContext``): :data:`CONTEXT_CHARS` UTF-16 units
    of ``text`` each side of ``text[start:end]`` where there are that many, '...' on a side unless
    the text ends within them (as LanguageTool: "..." also when exactly that many are there), each
    newline as a space (one for one: a carriage return or a tab stays, so offsets hold). An astral
    character that the window would cut in two is left out.

    Returns (context text, offset, length), offset and length in UTF-16 units.
    """
    lo, room = start, CONTEXT_CHARS
    while lo > 0 and (w := utf16_len(text[lo - 1])) <= room:
        lo, room = lo - 1, room - w
    cut_before = room == 0 or lo > 0  # LanguageTool: fromPos - contextSize >= 0
    hi, room = end, CONTEXT_CHARS
    while hi < len(text) and (w := utf16_len(text[hi])) <= room:
        hi, room = hi + 1, room - w
    cut_after = room == 0 or hi < len(text)  # LanguageTool: toPos + contextSize <= the text's length
    before = ("..." if cut_before else "") + text[lo:start]
    after = text[end:hi] + ("..." if cut_after else "")
    return (before + text[start:end] + after).replace("\n", " "), utf16_len(before), utf16_len(text[start:end])


def _rule(span: Span) -> tuple[dict, str, str, str]:
    """(rule, message, shortMessage, typeName) for a span."""
    ev = span.evidence
    if span.kind == "spun":
        best = span.suggestions[0].text if span.suggestions else None
        msg = f"This wording looks synonym-spun or machine-paraphrased (score {span.score:.2f})."
        if best:
            msg += f" The original was probably “{best}”."
        if span.by_document_verdict:
            msg += " Shown because the document as a whole reads as spun; alone it would not be."
        rule = {
            "id": SPUN_RULE_ID,
            "description": "Synonym-spun or paraphrased wording",
            "issueType": "style",
            "category": dict(SPUN_CATEGORY),
        }
        return rule, msg, "Spun wording", "Other"
    rule: dict = {"id": str(ev.get("rule_id", OWN_RULE_PREFIX + span.kind.upper()))}
    for key, name in (("rule_sub_id", "subId"), ("rule_source_file", "sourceFile")):  # LanguageTool's key order
        if ev.get(key):
            rule[name] = str(ev[key])
    rule["description"] = str(ev.get("rule_description", span.kind))
    rule["issueType"] = str(ev.get("issue_type", "grammar" if span.kind == "grammar" else "typographical"))
    if ev.get("rule_urls"):
        rule["urls"] = [{"value": u} for u in str(ev["rule_urls"]).split()]
    rule["category"] = {"id": str(ev.get("category_id", span.kind.upper())), "name": str(ev.get("category_name", span.kind))}
    if ev.get("rule_tags"):
        rule["tags"] = str(ev["rule_tags"]).split(",")
    return rule, str(ev.get("message", span.kind)), str(ev.get("short_message", "")), str(ev.get("type_name", "Other"))


def warnings(report: Report) -> dict:
    """LanguageTool's ``warnings`` block: results are incomplete when grammar was not checked (no
    LanguageTool server configured, or it was down, slow or broken) or was checked only in part
    (LanguageTool said its own results are incomplete), with the reason, as LanguageTool itself
    says ``incompleteResults: true`` with an ``incompleteResultsReason``; and when the text is not
    English (unspin's models read English only)."""
    reasons = []
    if not report.language.english:
        reasons.append(f"The text is not English, so results are incomplete: {report.language.reason}.")
    if not report.grammar.checked:
        why = (report.grammar.reason or "no reason given").rstrip(".")
        reasons.append(
            f"Grammar and spelling were not checked, so results are incomplete: {why}. "
            f"Matches for spun or paraphrased wording (rule {SPUN_RULE_ID}) are still included."
        )
    elif report.grammar.incomplete:
        why = (report.grammar.reason or "no reason given").rstrip(".")
        reasons.append(f"Grammar and spelling were checked only in part: {why}.")
    if not reasons:
        return {"incompleteResults": False}
    return {"incompleteResults": True, "incompleteResultsReason": " ".join(reasons)}


def detected_language(report: Report, language: Language, detected: bool) -> dict:
    """LanguageTool's ``language.detectedLanguage``: the language the text reads as
    (:mod:`service.language`), named as LanguageTool names it when that is the language checked;
    a text that is not English but reads as no one language (languages mixed) is LanguageTool's
    own unknown language (``zz``, "Unknown"); without an identification (a short text), the
    language checked."""
    found = report.language
    if not found.english:
        if found.detected is not None:
            return {"name": found.name or found.detected, "code": found.detected, "confidence": found.confidence,
                    "source": "unspin"}
        return {"name": "Unknown", "code": "zz", "confidence": found.confidence or 0.0, "source": "unspin"}
    confidence = found.confidence if found.confidence is not None else (0.9 if detected else 1.0)
    return {"name": language.name, "code": language.code, "confidence": confidence, "source": "unspin"}


def check_payload(report: Report, text: CheckText, language: Language, detected: bool, rules: RuleFilter) -> dict:
    """The ``/v2/check`` answer for a report of ``text.plain``."""
    plain = text.plain
    u16 = Utf16Index(text.original)
    starts = [s.start for s in report.sentences]
    said: dict[int, str] = {}  # each sentence's text, made once however many matches it holds

    def sentence_of(cp: int, context: str) -> str:
        # LanguageTool reports the sentence with typographic apostrophes made plain (’ -> '), quotes kept;
        # a sentence over SENTENCE_MAX_CHARS (an unpunctuated wall of text) is given as the match's
        # context instead, so that the answer does not grow with matches × sentence length
        i = bisect_right(starts, cp) - 1
        if i < 0 or cp >= report.sentences[i].end:
            return ""
        if i not in said:
            s = report.sentences[i]
            said[i] = plain[s.start : s.end].strip().replace("’", "'") if s.end - s.start <= SENTENCE_MAX_CHARS else ""
        return said[i] or context

    matches = []
    for span in sorted(report.spans, key=lambda s: (s.start, s.end)):
        rule, message, short, type_name = _rule(span)
        if not rules.allows(rule["id"], rule["category"]["id"]):
            continue
        o_start, o_end = text.original_range(span.start, span.end)
        ctx_text, ctx_off, ctx_len = _context(text.original, o_start, o_end)
        offset = u16.to_utf16(o_start)
        matches.append(
            {
                "message": message,
                "shortMessage": short,
                "replacements": [{"value": s.text} for s in span.suggestions],
                "offset": offset,
                "length": u16.to_utf16(o_end) - offset,
                "context": {"text": ctx_text, "offset": ctx_off, "length": ctx_len},
                "sentence": sentence_of(span.start, ctx_text),
                "type": {"typeName": type_name},
                "rule": rule,
                "ignoreForIncompleteSentence": False,
                "contextForSureMatch": int(span.evidence.get("context_for_sure_match", 0) or 0),
            }
        )
    lang = {"name": language.name, "code": language.code}
    return {
        "software": software(),
        "warnings": warnings(report),
        "language": {
            **lang,
            "detectedLanguage": detected_language(report, language, detected),
        },
        "matches": matches,
        "sentenceRanges": [[u16.to_utf16(o) for o in text.original_range(s.start, s.end)] for s in report.sentences],
    }
