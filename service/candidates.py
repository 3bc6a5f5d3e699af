"""Where candidate originals come from.

A spinner replaced an original word or phrase with a thesaurus neighbour, blind to sense. So the
original is (a) a thesaurus neighbour of the spun word (WordNet synonyms, similar words,
hypernyms/hyponyms, multi-word lemmas, MyThes; inflected to match), or a neighbour of a
neighbour that the language model also finds likely in the slot; (b) an entry of a user lexicon;
(c) nothing at all, for words spinners insert ("have actually").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from service.lm.base import Slot

#: Words commercial spinners insert without replacing anything ("has actually increased").
INSERTED_FILLERS = frozenset({"actually"})

#: Relation kinds, strongest first; the fusion model has one feature per kind.
RELATIONS = (
    "lexicon", "synonym", "similar", "derived", "hypernym", "hyponym", "mythes", "2-step", "embedding", "deletion",
)  # fmt: skip


class ThesaurusLike(Protocol):
    def neighbours(self, word: str, depth: int = 1) -> dict[str, str]: ...

    def is_phrase_known(self, phrase: str) -> bool: ...


@dataclass(frozen=True)
class Candidate:
    """A possible original for ``tokens[start:end]`` of a sentence."""

    tokens: tuple[str, ...]
    relation: str

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def _ok_surface(phrase: str) -> bool:
    words = phrase.split()
    return 0 < len(words) <= 3 and all(w.replace("'", "").replace("-", "").isalpha() for w in words)


class CandidateGenerator:
    """Proposes candidate originals for a word or phrase in its sentence.

    ``lm`` must offer ``in_vocab(word)``; when it also offers ``filler_set(slot)`` (the n-gram
    backend) or ``fillers`` (any backend), two-step thesaurus neighbours are kept only when the
    language model finds them plausible in the slot.
    """

    def __init__(
        self,
        thesaurus: ThesaurusLike,
        lm,
        relatedness=None,
        max_candidates: int = 40,
        max_embedding: int = 10,
        min_similarity: float = 0.45,
    ) -> None:
        self.thesaurus = thesaurus
        self.lm = lm
        self.relatedness = relatedness
        self.max_candidates = max_candidates
        self.max_embedding = max_embedding
        self.min_similarity = min_similarity

    def _known(self, phrase: str) -> bool:
        return all(self.lm.in_vocab(w) for w in phrase.split())

    def for_slot(self, slot: Slot) -> list[Candidate]:
        """Candidates for ``slot.tokens[slot.start:slot.end]`` (the slot's own alternatives are ignored)."""
        surface = " ".join(slot.tokens[slot.start : slot.end])
        out: dict[str, Candidate] = {}
        if surface in INSERTED_FILLERS:
            out[""] = Candidate((), "deletion")
        near = self.thesaurus.neighbours(surface, 1)
        for phrase, rel in near.items():
            if phrase != surface and _ok_surface(phrase) and self._known(phrase):
                out.setdefault(phrase, Candidate(tuple(phrase.split()), rel))
        if slot.end - slot.start == 1:
            far = self.thesaurus.neighbours(surface, 2)
            fillers = self._filler_set(slot)
            for phrase in far.keys() & fillers:
                if phrase != surface and phrase not in out and _ok_surface(phrase):
                    out[phrase] = Candidate((phrase,), "2-step")
            if self.relatedness is not None:
                # the language model's fillers for the slot, ranked by closeness in meaning
                # (the relatedness vectors are indexed like the n-gram vocabulary)
                near_fillers = self.relatedness.nearest(
                    surface, self.lm.filler_ids(slot), self.min_similarity, self.max_embedding + len(out) + 1
                )
                added = 0
                for word, _sim in near_fillers:
                    if added >= self.max_embedding:
                        break
                    if word != surface and word not in out and word.isalpha():
                        out[word] = Candidate((word,), "embedding")
                        added += 1
        cands = list(out.values())
        if len(cands) > self.max_candidates:
            if self.relatedness is not None:
                sims = self.relatedness.similarities(surface, [c.text for c in cands])
                cands = [cands[i] for i in np.argsort(-sims, kind="stable")]
            else:
                order = {r: i for i, r in enumerate(RELATIONS)}
                cands.sort(key=lambda c: order.get(c.relation, len(order)))
            cands = cands[: self.max_candidates]
        return cands

    def _filler_set(self, slot: Slot) -> set[str]:
        filler_set = getattr(self.lm, "filler_set", None)
        if filler_set is not None:
            return filler_set(slot)
        return {w for w, _ in self.lm.fillers([slot], k=200)[0]}

    def is_phrase(self, words: tuple[str, ...]) -> bool:
        """Whether a run of words is a multi-word thesaurus entry ("field glasses", "due date")."""
        return self.thesaurus.is_phrase_known(" ".join(words))
