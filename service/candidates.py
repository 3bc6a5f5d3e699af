"""Where candidate originals come from.

A spinner replaced an original word or phrase with a thesaurus neighbour, blind to sense. So the
original is (a) a thesaurus neighbour of the spun word (WordNet synonyms, similar words,
hypernyms/hyponyms, multi-word lemmas, MyThes; inflected to match), or a neighbour of a
neighbour that the language model also finds likely in the slot; (b) an entry of a user lexicon;
(c) nothing at all, for words spinners insert ("have actually").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import numpy as np

from service.lm.base import Slot
from service.spelling import americanized

#: Words commercial spinners insert without replacing anything ("has actually increased").
INSERTED_FILLERS = frozenset({"actually"})

#: Closed-class words: never a slot. Spinners rarely touch them and thesauri give only noise for
#: them. The synthetic spinner's ``adverbs`` option spins the other words it otherwise leaves alone.
CLOSED_CLASS = frozenset(
    "a an the of to in on at by for with from into onto and or nor but if as than that this these those "
    "it its it's he she they them his her their we our you your i me my is are was were be been being "
    "am do does did has have had will would shall should can could may might must not no so there "
    "here who whom whose which what when where why how all any each both either neither".split()
)

#: Relation kinds, strongest first; the fusion model has one feature per kind.
RELATIONS = (
    "lexicon", "synonym", "similar", "derived", "hypernym", "hyponym", "mythes", "2-step", "embedding", "deletion",
)  # fmt: skip


#: Words whose context-free candidates one generator keeps in memory (the least recently used go
#: first: about 6 KB each, so at most about 120 MiB; a long-running service had kept every word it met)
CACHED_WORDS = 20_000
#: Candidates per slot, the closest in meaning first (every candidate costs language-model work).
MAX_CANDIDATES = 80
#: Thesaurus relations not proposed as originals. Hyponyms ("oil" -> "crude oil", "vegetable oil")
#: were a third of all candidates, mostly multi-word, and almost never the original: spinners swap
#: in synonyms, and the fusion had learnt to score hyponyms near zero. Dropping them cut the
#: language model's work by a third with no loss on the held-out synthetic evaluation (docs/evaluation-notes.md).
SKIP_RELATIONS: frozenset[str] = frozenset({"hyponym"})


class ThesaurusLike(Protocol):
    def neighbours(self, word: str, depth: int = 1) -> dict[str, str]:
        """Surface forms linked to ``word`` within ``depth`` links, each with its relation."""

    def is_phrase_known(self, phrase: str) -> bool:
        """Whether the thesaurus holds ``phrase`` as an entry of its own."""


@dataclass(frozen=True)
class Candidate:
    """A possible original for ``tokens[start:end]`` of a sentence."""

    tokens: tuple[str, ...]
    relation: str
    #: the candidate as a user's list writes it, capitals kept ("DNA damage"; the tokens are lower
    #: case, as the models read them); None for the engine's own candidates
    written: str | None = field(default=None, compare=False, repr=False)
    #: the tokens joined by spaces (computed once: the engine asks for it many times per slot)
    text: str = field(init=False, compare=False, repr=False)
    #: :attr:`text` in American spelling (computed once, as candidates are made once and reused)
    american: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", " ".join(self.tokens))
        object.__setattr__(self, "american", americanized(self.text))

    @property
    def shown(self) -> str:
        """The candidate as a suggestion writes it before the written words' case is given to it."""
        return self.written if self.written is not None else self.text


def _ok_surface(phrase: str) -> bool:
    words = phrase.split()
    return 0 < len(words) <= 3 and all(w.replace("'", "").replace("-", "").isalpha() for w in words)


def _stored_pairs(stored: bytes) -> list[tuple[str, str]] | None:
    """The (phrase, relation) pairs a store's "near" value holds; None when it is damaged (not JSON
    of such pairs): the answer is computed again rather than the document failing."""
    try:
        pairs = json.loads(stored)
    except ValueError:  # UnicodeDecodeError included
        return None
    if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs):
        return None
    return [(phrase, rel) for phrase, rel in pairs]


def _stored_ids(stored: bytes, vocabulary: int) -> np.ndarray | None:
    """The vocabulary ids a store's "far" value holds; None when it is damaged (not whole 4-byte
    ids in order, each under ``vocabulary``)."""
    if len(stored) % 4:
        return None
    ids = np.frombuffer(stored, dtype="<i4").astype(np.int32)
    if len(ids) and (ids.min() < 0 or ids.max() >= vocabulary or (np.diff(ids) < 0).any()):
        return None
    return ids


class CandidateGenerator:
    """Proposes candidate originals for a word or phrase in its sentence.

    ``lm`` is the n-gram model (:class:`service.lm.ngram.NGramLM`): its vocabulary, and its bigram
    index for the words seen next to a slot. Two-step thesaurus neighbours are kept only when they
    are such words; ``relatedness`` (vectors indexed like that vocabulary) adds the slot fillers
    closest in meaning to the written word. Context-free lookups are cached per generator.
    """

    def __init__(
        self,
        thesaurus: ThesaurusLike,
        lm,
        relatedness=None,
        max_candidates: int = MAX_CANDIDATES,
        max_embedding: int = 10,
        min_similarity: float = 0.45,
        skip_relations: frozenset[str] = SKIP_RELATIONS,
        store=None,
    ) -> None:
        self.thesaurus = thesaurus
        self.lm = lm
        self.relatedness = relatedness
        self.max_candidates = max_candidates
        self.skip_relations = skip_relations
        #: a :class:`service.neighbour_store.NeighbourStore` keeping the thesaurus answers across
        #: processes (None: this process only)
        self.store = store
        self.max_embedding = max_embedding
        self.min_similarity = min_similarity
        # per instance and bounded: a long-running service meets ever more words (the store, when
        # there is one, keeps every answer; these spare it the reading)
        self._near = lru_cache(maxsize=CACHED_WORDS)(self._near_uncached)
        self._far_ids = lru_cache(maxsize=CACHED_WORDS)(self._far_ids_uncached)
        self._word = lru_cache(maxsize=5 * CACHED_WORDS)(self._word_uncached)

    def _known(self, phrase: str) -> bool:
        return all(self.lm.in_vocab(w) for w in phrase.split())

    def _near_uncached(self, surface: str) -> tuple[Candidate, ...]:
        """Thesaurus neighbours of ``surface`` that the model knows (context-free: ``_near`` caches them)."""
        stored = self.store.get("near", surface) if self.store is not None else None
        pairs = _stored_pairs(stored) if stored is not None else None
        if pairs is None:  # not stored, or a value damaged on the disk: computed (and stored) again
            pairs = [
                (phrase, rel)
                for phrase, rel in self.thesaurus.neighbours(surface, 1).items()
                if rel not in self.skip_relations and phrase != surface and _ok_surface(phrase) and self._known(phrase)
            ]
            if self.store is not None:
                self.store.put("near", surface, json.dumps(pairs).encode())
        return tuple(Candidate(tuple(phrase.split()), rel) for phrase, rel in pairs)

    def _word_uncached(self, word: str, relation: str) -> Candidate:
        """The one-word candidate (``_word`` makes it once per word and relation: slots ask for the same ones)."""
        return Candidate((word,), relation)

    def _far_ids_uncached(self, surface: str) -> np.ndarray:
        """Vocabulary ids of one-word two-step neighbours of ``surface`` (``_far_ids`` caches them)."""
        stored = self.store.get("far", surface) if self.store is not None else None
        ids = self.lm.ids
        if stored is not None and (kept := _stored_ids(stored, len(ids))) is not None:
            return kept
        hit = np.array(
            sorted(
                i
                for w in self.thesaurus.neighbours(surface, 2)
                if w != surface and w.isalpha() and (i := ids.get(w)) is not None
            ),
            dtype=np.int32,
        )
        if self.store is not None:
            self.store.put("far", surface, hit.astype("<i4").tobytes())
        return hit

    def prefetch(self, word: str) -> None:
        """Look up a word's context-free neighbours now (and keep them in the store, when there is
        one), so that scoring text with it later does not walk the thesaurus."""
        self._near(word)
        self._far_ids(word)

    def scored_for_slot(self, slot: Slot) -> tuple[list[Candidate], np.ndarray | None]:
        """Candidates for ``slot.tokens[slot.start:slot.end]`` (the slot's own alternatives are
        ignored) and each candidate's similarity in meaning to the written words (None without a
        relatedness model), computed once for both the trimming and the engine's features."""
        surface = " ".join(slot.tokens[slot.start : slot.end])
        out: dict[str, Candidate] = {}
        for c in self._near(surface):
            out.setdefault(c.text, c)
        if slot.end - slot.start == 1:
            vocab = self.lm.index.vocab
            fillers = self.lm.filler_ids(slot)
            far = self._far_ids(surface)
            at = np.minimum(np.searchsorted(fillers, far), max(0, len(fillers) - 1))
            for i in (far[fillers[at] == far] if len(fillers) else far[:0]).tolist():
                word = vocab[i]
                if word not in out:
                    out[word] = self._word(word, "2-step")
            if self.relatedness is not None:
                # the language model's fillers for the slot, ranked by closeness in meaning
                # (the relatedness vectors are indexed like the n-gram vocabulary)
                near_fillers = self.relatedness.nearest(
                    surface, fillers, self.min_similarity, self.max_embedding + len(out) + 1
                )
                added = 0
                for word, _sim in near_fillers:
                    if added >= self.max_embedding:
                        break
                    if word != surface and word not in out and word.isalpha():
                        out[word] = self._word(word, "embedding")
                        added += 1
        # the written words in their other spelling ("neighbourhood", "neighborhood") are no alternative
        same = americanized(surface)
        cands = [c for c in out.values() if c.american != same]
        sims = self.relatedness.similarities(surface, [c.text for c in cands]) if self.relatedness is not None else None
        if len(cands) > self.max_candidates:
            if sims is not None:
                keep = np.argsort(-sims, kind="stable")[: self.max_candidates]
                cands, sims = [cands[i] for i in keep], sims[keep]
            else:
                order = {r: i for i, r in enumerate(RELATIONS)}
                cands.sort(key=lambda c: order.get(c.relation, len(order)))
                cands = cands[: self.max_candidates]
        return cands, sims

    def is_phrase(self, words: tuple[str, ...]) -> bool:
        """Whether a run of words is a multi-word thesaurus entry ("field glasses", "due date")."""
        return self.thesaurus.is_phrase_known(" ".join(words))
