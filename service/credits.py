"""Credit lines' role words: "Reporting by Josh Smith; Modifying by Lincoln Feast" -> "Editing by".

News credit lines ("Reporting by X; Editing by Y", "Additional reporting by Z") use a small, fixed
set of role words, and a spinner rewrites them like any other word: "Editing" becomes "Modifying",
"Reporting" becomes "Coverage", "Writing" becomes "Composing". The language model cannot see this:
the role word is capitalised in mid-line, so the engine takes it for a name, and the line has too
little context for a 3-gram to judge. This signal needs none: in a line the segmenter calls a
byline, a role word before "by <Name>" that is not one of the usual roles, but is a thesaurus
neighbour or a close embedding neighbour of one of the formula roles, is suspect, and those roles
are its candidates. Unusual roles that are no neighbour of a formula role ("Animation by",
"Interviews by") are left alone.

The hits take the lexicon's path through the engine (:class:`service.lexicon.LexiconHit`, source
:data:`SOURCE`): the language model and the fusion still score their candidates, and the span is
reported with at least :data:`CREDIT_SCORE`.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from service.lexicon import LexiconHit
from service.text import Sentence

#: the source name of these hits, in a span's ``evidence["lexicon"]``
SOURCE = "credit-line"
#: the least score of a suspect role word (above the shipped threshold, below a user lexicon's 0.95)
CREDIT_SCORE = 0.6
#: the formula roles a spinner rewrites, and so the candidates
FORMULA_ROLES: tuple[str, ...] = ("reporting", "editing", "writing", "additional reporting")
#: role words (lower case, as written before "by") that credit lines use as they are
KNOWN_ROLES = frozenset(
    """reporting editing writing compiled compiling produced production
    photo photos photography photographs pictures graphics graphic illustration illustrations design
    translated translation translations research researched video videos text words story data
    interviews interview animation maps map cartoon cartoons fact-checking sub-editing editor writer
    reported written edited directed filmed presented hosted posted updated created developed
    additional writing additional research additional editing contributions contributing""".split()
) | {"additional reporting", "additional writing", "additional editing", "additional research"}
#: embedding similarity from which a role word counts as a neighbour of a formula role
MIN_SIMILARITY = 0.6


class _Thesaurus(Protocol):
    def related(self, a: str, b: str, depth: int = 1) -> str | None: ...


class _Relatedness(Protocol):
    def similarities(self, word: str, others: Sequence[str]) -> np.ndarray: ...


def credit_hits(sentence: Sentence, thesaurus: _Thesaurus, relatedness: _Relatedness) -> list[LexiconHit]:
    """The suspect role words of one byline sentence, as lexicon hits with the formula roles that
    are their neighbours as originals (closest in meaning first). Other sentences: none."""
    if sentence.kind != "byline":
        return []
    toks = sentence.tokens
    hits = []
    for i, tok in enumerate(toks):
        if tok.norm != "by" or i == 0 or i + 1 >= len(toks) or not toks[i + 1].is_capitalized:
            continue
        first = _role_start(toks, i)
        if first is None:
            continue
        role = " ".join(t.norm for t in toks[first:i])
        if role in KNOWN_ROLES:
            continue
        sims = relatedness.similarities(role, list(FORMULA_ROLES))
        near = [
            (float(s), r) for r, s in zip(FORMULA_ROLES, sims)
            if s >= MIN_SIMILARITY or thesaurus.related(role, r) is not None
        ]
        if near:
            originals = tuple(r for _, r in sorted(near, reverse=True))
            hits.append(LexiconHit(first, i, " ".join(t.text for t in toks[first:i]), originals, SOURCE))
    return hits


def _role_start(toks: Sequence, by: int) -> int | None:
    """Where the role before ``toks[by]`` ("by") starts: a capitalised word that opens the line or
    follows ";", "," or "(", then at most two lower-case words; None when there is no such role."""
    for first in range(by - 1, max(-1, by - 4), -1):
        t = toks[first]
        if not t.is_word:
            return None
        if t.is_capitalized and not t.is_upper:
            opens = first == 0 or toks[first - 1].text in (";", ",", "(")
            lower = all(x.is_word and not x.is_capitalized for x in toks[first + 1 : by])
            return first if opens and lower else None
    return None
