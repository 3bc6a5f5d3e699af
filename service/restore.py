"""The likely original text: a report's suggestions applied to the text it was made from.

What an investigator searches with (the original wording finds the source a spun copy was made
from) or compares with a suspected source. One rule, shared by ``unspin restore`` and the web
page's *Copy clean text*: every spun span is replaced by its first suggestion, and every word
disguised with look-alike letters that no spun span covers by the Latin word it imitates.
Grammar and typo matches are LanguageTool's corrections, not the original's wording: left as written.
"""

from __future__ import annotations

from typing import Sequence

from service.homoglyphs import SOURCE as LOOK_ALIKE
from service.report import Report, Span


def _look_alike(span: Span) -> bool:
    return span.kind == "formatting" and LOOK_ALIKE in span.sources


def replacements(report: Report | Sequence[Span]) -> list[Span]:
    """The spans :func:`restore` replaces (of a report, or of its spans), in text order: each spun
    span with a suggestion (those a document judged spun lists by its second threshold too), and
    each look-alike span that overlaps no such spun span (the spun span's suggestion replaces those
    letters already)."""
    spans = report.spans if isinstance(report, Report) else list(report)
    spun = [s for s in spans if s.kind == "spun" and s.suggestions]
    covered = [(s.start, s.end) for s in spun]
    disguised = [s for s in spans if _look_alike(s) and s.suggestions
                 and not any(a < s.end and s.start < b for a, b in covered)]
    return sorted(spun + disguised, key=lambda s: s.start)


def restore(text: str, report: Report | Sequence[Span]) -> str:
    """``text`` with each of :func:`replacements` (of ``report``, or of these spans) replaced by its
    first suggestion.

    Raises:
        ValueError: the report was not made from ``text`` (a span's words are not there).
    """
    out: list[str] = []
    at = 0
    for s in replacements(report):
        if s.start < at:  # overlaps one replaced already (spans not from one report)
            continue
        if text[s.start : s.end] != s.text:
            raise ValueError(f"the report does not belong to this text: its span {s.start}-{s.end} "
                             f"({s.text!r}) is not there")
        out += [text[at : s.start], s.suggestions[0].text]
        at = s.end
    out.append(text[at:])
    return "".join(out)
