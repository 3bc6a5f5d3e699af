"""The likely original text: a report's suggestions applied to the text it was made from.

What an investigator searches with (the original wording finds the source a spun copy was made
from) or compares with a suspected source. One rule, shared by ``unspin restore``, ``POST
/v1/restore`` and the web page's *Copy clean text*: every spun span scoring at least
:data:`MIN_SCORE` is replaced by its first suggestion, and every word disguised with look-alike
letters that no such span covers by the Latin word it imitates. Grammar and typo matches are
LanguageTool's corrections, not the original's wording: left as written.

Why a score of its own: a report lists a span where it is likely enough to be worth a reader's
look, but replacing it is worth it only when the replacement more likely puts the original back
than a wrong word in. A span with probability ``p`` of being spun, whose first suggestion is the
original with probability ``a`` when it is, takes ``p·a`` word errors out in expectation and puts
``1 - p`` in (a false flag replaced); replacing pays when ``p > 1 / (1 + a)``. On 80 validation
documents (tortured-mix spins at 8 %, documents no model learned from), the shipped default's
accuracy@1 is 0.643, which gives 0.61. Replacing every span listed left those texts as far from
their originals as they were (2.96 % word errors, as written and restored); replacing those
scoring 0.6 or more brought them nearer (2.44 %, the best of the values tried from 0.3 to 0.9:
0.5 gives 2.52 %, 0.7 2.47 %, 0.9 2.61 %).
"""

from __future__ import annotations

from typing import Sequence

from service.homoglyphs import SOURCE as LOOK_ALIKE
from service.report import Report, Span

#: spun spans scoring less are left as written (see the module's docstring for the value)
MIN_SCORE = 0.6


def look_alike(span: Span) -> bool:
    """Whether ``span`` is a word disguised with look-alike letters (its suggestion: the Latin word)."""
    return span.kind == "formatting" and LOOK_ALIKE in span.sources


def replacements(report: Report | Sequence[Span], min_score: float = MIN_SCORE) -> list[Span]:
    """The spans :func:`restore` replaces (of a report, or of its spans), in text order: each spun
    span with a suggestion that scores at least ``min_score`` (0: every one listed), and each
    look-alike span that overlaps no such spun span (the spun span's suggestion replaces those
    letters already)."""
    spans = report.spans if isinstance(report, Report) else list(report)
    spun = [s for s in spans if s.kind == "spun" and s.suggestions and s.score >= min_score]
    covered = [(s.start, s.end) for s in spun]
    disguised = [s for s in spans if look_alike(s) and s.suggestions
                 and not any(a < s.end and s.start < b for a, b in covered)]
    return sorted(spun + disguised, key=lambda s: s.start)


def restore(text: str, report: Report | Sequence[Span], min_score: float = MIN_SCORE) -> str:
    """``text`` with each of :func:`replacements` (of ``report``, or of these spans, at
    ``min_score``) replaced by its first suggestion.

    Raises:
        ValueError: the report was not made from ``text`` (a span's words are not there).
    """
    out: list[str] = []
    at = 0
    for s in replacements(report, min_score):
        if s.start < at:  # overlaps one replaced already (spans not from one report)
            continue
        if text[s.start : s.end] != s.text:
            raise ValueError(f"the report does not belong to this text: its span {s.start}-{s.end} "
                             f"({s.text!r}) is not there")
        out += [text[at : s.start], s.suggestions[0].text]
        at = s.end
    out.append(text[at:])
    return "".join(out)
