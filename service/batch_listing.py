"""The human-readable listing of a report (``unspin score``'s ``text`` format) and the short forms
of its spans other outputs use."""

from __future__ import annotations

import re
from bisect import bisect_right

from service.batch_inputs import one_line
from service.report import SPUN_DOC_REASON, GrammarStatus, Report, Span

#: Spans listed in the CSV's ``top_spans`` column (highest score first).
CSV_TOP_SPANS = 5


#: A line break as :meth:`str.splitlines` counts them (``\r\n`` is one).
_LINE_BREAK_RE = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def line_starts(text: str) -> list[int]:
    """The offsets in ``text`` where its second, third, … line starts, line breaks counted as
    :meth:`str.splitlines` counts them (``\\r\\n``, ``\\r``, ``\\n``, U+2028, …)."""
    return [m.end() for m in _LINE_BREAK_RE.finditer(text)]


def grammar_summary(status: GrammarStatus) -> str:
    """How a listing says whether grammar was checked: ``checked``, ``checked only in part: why``
    or ``not checked: why``."""
    if not status.checked:
        return f"not checked: {status.reason}"
    return f"checked only in part: {status.reason}" if status.incomplete else "checked"


def format_listing(report: Report, text: str, counted: str = "spans") -> str:
    """Human-readable listing: one line per span, ``written → suggestion`` with its score.

    A one-word span is shown with the next word for context ("terrific powers → great powers").
    Line numbers count line breaks as :meth:`str.splitlines` does (a classic Mac file's ``\\r`` too).
    The first line counts the spans as ``counted`` ("78 spans"; ``unspin restore``: "78 replaced").
    """
    starts = line_starts(text)
    lines = [
        f"{one_line(report.path or report.id or '-')}: {report.label} (score {report.score:.2f}, "
        f"{len(report.spans)} {counted}, {report.stats.words} words, lm {report.lm}, "
        f"grammar {grammar_summary(report.grammar)})"
        + ("" if report.language.english else f" NOT ENGLISH: {report.language.reason}")
    ]
    for s in report.spans:
        before, tail = _folded(s.text), ""  # a span across a line break, on one line
        if not any(c.isspace() for c in s.text.strip()):
            rest = text[s.end : s.end + 40]
            nxt = rest.split()[0] if rest[:1] == " " and rest.split() else ""
            nxt = nxt.rstrip(".,;:!?\"”’)")
            if nxt.isalpha():
                tail = " " + nxt
        others = ", ".join(_folded(x.text) for x in s.suggestions[1:3])
        line_no = bisect_right(starts, s.start) + 1
        change = f"{before}{tail} → {_folded(s.suggestions[0].text)}{tail}" if s.suggestions else f"{before}{tail} (no suggestion)"
        lines.append(
            f"  {s.score:.2f}  {change}"  # a suggestion's "a\nrelief" on one line
            + (f"   (also: {others})" if others else "")
            + f"   [line {line_no}, {s.start}-{s.end}, {_what(s)}"
            + (f", {SPUN_DOC_REASON}" if s.by_document_verdict else "") + "]"
        )
    return "\n".join(lines)


def _what(span: Span) -> str:
    """What found a listed span: a spun span's relation ("synonym"), or the kind and rule of another
    ("typo MORFOLOGIK_RULE_EN_US", "formatting UNSPIN_LOOK_ALIKE_LETTERS")."""
    if span.kind == "spun":
        return str(span.evidence.get("relation", ""))
    return " ".join([span.kind, *([str(span.evidence["rule_id"])] if span.evidence.get("rule_id") else [])])


def top_spans(report: Report, k: int = CSV_TOP_SPANS) -> str:
    """The ``k`` highest-scoring spans as ``written → suggestion``, joined by ``"; "`` (whitespace
    folded): spun spans first, then the others (a grammar match, a word disguised with look-alike
    letters, which scores 1 but is no evidence of spinning)."""
    best = sorted(report.spans, key=lambda s: (s.kind != "spun", -s.score, s.start))[:k]
    return "; ".join(f"{_folded(s.text)} → {_folded(s.suggestions[0].text) if s.suggestions else '?'}" for s in best)


def _folded(text: str) -> str:
    """``text`` with each run of white space (a line break inside a span or a suggestion) as one space."""
    return " ".join(text.split())
