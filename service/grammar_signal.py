"""How LanguageTool matches become evidence: spans of their own, and boosts of nearby spun slots.

Every match becomes a report span of kind ``grammar``, ``typo`` or ``formatting`` carrying
LanguageTool's replacements and rule (see :func:`match_span`). Only ``grammar`` matches say
anything about spinning: a spinner that swaps a word for a thesaurus neighbour blind to its
grammar leaves "a enormous", "belong of", "participates in more provocations". A grammar match
raises the score of a candidate slot (a word or phrase the engine considers possibly spun):

* ``near-synonym fix`` (weight :data:`W_SYNONYM_FIX`): the match lies inside the slot and one of
  its replacements, another word (not a form of the same one), put in place, is one of the slot's
  candidate originals or close in meaning to the flagged words (cosine similarity >= :data:`SYNONYM_SIMILARITY`): strong evidence that the
  flagged word stands for a synonym; the replacement joins the span's suggestions;
* ``inside`` (:data:`W_INSIDE`): the match overlaps the slot;
* ``next`` (:data:`W_NEXT`): the match ends or starts right next to the slot (only spaces or
  punctuation between), as "a" in "a enormous".

The raised score is the noisy-OR ``1 - (1 - s)(1 - w)`` with the strongest weight ``w`` that
applies. The weights are set by hand relative to the shipped threshold (0.366): a near-synonym
fix alone flags the slot; an overlapping error needs the language-model evidence to be about
two thirds of the way there, an adjacent one about five sixths. They could not be learned here:
no LanguageTool is available to check the synthetic training data (see the README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

from service.grammar import GrammarMatch
from service.report import Span, Suggestion

W_SYNONYM_FIX = 0.5
W_INSIDE = 0.15
W_NEXT = 0.08
SYNONYM_SIMILARITY = 0.5

#: The evidence keys of a LanguageTool span (the LanguageTool-compatible endpoint reads them back).
EVIDENCE_KEYS = (
    "rule_id",
    "rule_description",
    "issue_type",
    "category_id",
    "category_name",
    "message",
    "short_message",
    "type_name",
)
#: Evidence a LanguageTool span has only when its match gave it (the rule's sub-id, rule file,
#: links and tags, and ``contextForSureMatch``), read back by the LanguageTool-compatible endpoint:
#: the links space-separated, the tags comma-separated.
OPTIONAL_EVIDENCE_KEYS = ("rule_sub_id", "rule_source_file", "rule_urls", "rule_tags", "context_for_sure_match")

Relation = Literal["near-synonym fix", "inside", "next"]
_GAP = re.compile(r"[\s,;:'\"“”‘’()\-–—]{0,3}")


@dataclass(frozen=True)
class SlotView:
    """What the grammar signal needs to know of a slot: its offsets, its words and its candidates."""

    start: int
    end: int
    candidates: Sequence[str]


@dataclass(frozen=True)
class GrammarEvidence:
    """The strongest grammar evidence on one slot."""

    weight: float
    relation: Relation
    match: GrammarMatch
    replacement: str | None = None  # the slot's text with the match's replacement put in (near-synonym fix)


def boosted(score: float, evidence: GrammarEvidence | None) -> float:
    """The slot's score raised by grammar evidence (noisy-OR); unchanged without evidence."""
    return score if evidence is None else 1.0 - (1.0 - score) * (1.0 - evidence.weight)


def _relation(text: str, slot: SlotView, m: GrammarMatch) -> Relation | None:
    if m.start < slot.end and slot.start < m.end:
        return "inside"
    if m.end <= slot.start and _GAP.fullmatch(text[m.end : slot.start]):
        return "next"
    if slot.end <= m.start and _GAP.fullmatch(text[slot.end : m.start]):
        return "next"
    return None


def slot_evidence(
    text: str,
    slots: Sequence[SlotView],
    matches: Sequence[GrammarMatch],
    similarity: Callable[[str, Sequence[str]], Sequence[float]],
    same_word: Callable[[str, str], bool] = lambda a, b: a.lower() == b.lower(),
) -> list[GrammarEvidence | None]:
    """For each slot, the strongest evidence from ``grammar`` matches (None where there is none).

    ``similarity(text, others)`` gives the closeness in meaning of ``text`` to each of ``others``;
    ``same_word(a, b)`` tells forms of one word apart from synonyms ("participates" -> "participate"
    is an agreement fix, not a near-synonym).
    """
    grammar = sorted((m for m in matches if m.kind == "grammar"), key=lambda m: m.start)
    out: list[GrammarEvidence | None] = []
    for slot in slots:
        best: GrammarEvidence | None = None
        for m in grammar:
            if m.start > slot.end + 3:
                break
            rel = _relation(text, slot, m)
            if rel is None:
                continue
            ev = GrammarEvidence(W_INSIDE if rel == "inside" else W_NEXT, rel, m)
            if rel == "inside" and slot.start <= m.start and m.end <= slot.end and m.replacements:
                flagged = text[m.start : m.end]
                cands = {c.lower() for c in slot.candidates}
                reps = [r for r in m.replacements[:5] if r.strip() and not same_word(flagged, r)]
                sims = list(similarity(flagged.lower(), [r.lower() for r in reps])) if reps else []
                for r, sim in zip(reps, sims):
                    whole = text[slot.start : m.start] + r + text[m.end : slot.end]
                    if whole.lower() in cands or sim >= SYNONYM_SIMILARITY:
                        ev = GrammarEvidence(W_SYNONYM_FIX, "near-synonym fix", m, whole)
                        break
            if best is None or ev.weight > best.weight:
                best = ev
        out.append(best)
    return out


def match_span(text: str, m: GrammarMatch, score: float = 0.0) -> Span:
    """A report span for one LanguageTool match: its kind, its replacements in LanguageTool's order
    (scores 1, 1/2, 1/3, ...) and its rule as evidence (:data:`EVIDENCE_KEYS`)."""
    return Span(
        start=m.start,
        end=m.end,
        text=text[m.start : m.end],
        kind=m.kind,
        score=round(min(1.0, max(0.0, score)), 4),
        suggestions=[Suggestion(text=r, score=round(1.0 / (i + 1), 4)) for i, r in enumerate(m.replacements)],
        sources=["grammar"],
        evidence={k: getattr(m, k) for k in EVIDENCE_KEYS} | _optional_evidence(m),
    )


def _optional_evidence(m: GrammarMatch) -> dict[str, float | str]:
    """The :data:`OPTIONAL_EVIDENCE_KEYS` the match has."""
    values: dict[str, float | str] = {"rule_sub_id": m.rule_sub_id, "rule_source_file": m.rule_source_file,
                                      "rule_urls": " ".join(m.rule_urls), "rule_tags": ",".join(m.rule_tags),
                                      "context_for_sure_match": m.context_for_sure_match}
    return {k: v for k, v in values.items() if v}
