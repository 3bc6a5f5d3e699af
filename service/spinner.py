"""A synthetic synonym spinner that produces exactly labelled spun/original pairs.

It imitates commercial article spinners (WordAI, Spinbot, QuillBot-like rewriters): content
words and WordNet phrases are swapped for a thesaurus neighbour chosen blind to sense ("said" ->
"stated", "great" -> "terrific", "binoculars" -> "field glasses", "launches" -> "introduces"),
inflected to fit (lemminflect), number words become digits ("two" -> "2") and a filler
"actually" is sometimes inserted after an auxiliary ("have actually increased"). How far the
replacements stray from the original is set by a mix of classes (:data:`MIXES`): synonyms only
by default, or also two-step neighbours, hyponyms, hypernyms and words only close in meaning,
in the shares measured on real tortured phrases.

Every change is recorded as a :class:`GoldSpan` whose offsets point into the *spun* text and
whose ``original`` is the exact replaced text, so that putting every ``original`` back yields the
input text exactly (see :func:`unspin`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import lemminflect
import numpy as np

from service.articles import after_its_article, article_for
from service.candidates import CLOSED_CLASS
from service.jsonl import DataError, json_kind, jsonl_objects
from service.thesaurus import BASE_TAGS, Thesaurus, WordForm, get_thesaurus, inflect

if TYPE_CHECKING:
    from service.relatedness import Relatedness

__all__ = ["GoldSpan", "SpunDoc", "spin", "unspin", "make_dataset", "read_corpus", "read_spun_docs", "select_documents",
           "Corpus", "DataError", "split_of", "STOPWORDS", "RELATION_MIX", "TORTURED_MIX", "NEAR_ONLY",
           "MIXES", "CLASSES"]


@dataclass(frozen=True)
class GoldSpan:
    """One spun stretch: ``text`` sits at ``[start, end)`` of the spun text and replaced ``original``."""

    start: int
    end: int
    text: str
    original: str

    def to_dict(self) -> dict:
        """The span as a JSON-ready dict."""
        return asdict(self)


@dataclass
class SpunDoc:
    """A spun text, the text it came from and the exact changes."""

    text: str
    original: str
    spans: list[GoldSpan] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The spun document as a JSON-ready record: its text, the clean original and the spans."""
        return {"text": self.text, "clean": self.original, "spans": [s.to_dict() for s in self.spans]}


STOPWORDS = frozenset(
    """a about above after again against all almost also although always am among an and another any
    anyone anything are aren around as at be became because become been before being below between
    both but by can cannot could did do does doing done down during each either else enough even ever
    every few for from further get gets got had has have having he her here hers herself him himself his
    how however i if in into is it its itself just least less let like many may me might mine more most
    much must my myself neither never no nor not now of off often on once one only or other others
    otherwise our ours ourselves out over own per perhaps quite rather same several shall she should
    since so some such than that the their theirs them themselves then there these they this those
    though through thus to too under until up upon us very via was we were what whatever when where
    whether which while who whom whose why will with within without would yet you your yours yourself
    yourselves mr mrs ms mln billion million pct dlrs cts vs inc corp ltd co""".split()
)

NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "twelve": "12", "twenty": "20",
}  # fmt: skip

AUXILIARIES = frozenset("have has had is are was were will would can could".split())

#: Favourite substitutions of commercial spinners (lemma, POS) -> replacements, on top of WordNet.
SPINNER_TABLE: dict[tuple[str, str], tuple[str, ...]] = {
    # Generic habits of article spinners. Kept free of the seed documents' own pairs, so that
    # the seed evaluation measures what the engine learned, not what was written in here.
    ("say", "v"): ("state", "mention", "claim"),
    ("begin", "v"): ("start",),
    ("help", "v"): ("assist",),
    ("buy", "v"): ("purchase",),
}

#: How far from the original a spinner's replacement is, as WordNet sees it: the shares, among
#: the single-word substitutions of the Problematic Paper Screener's tortured-phrase list that
#: WordNet links in one of these ways (978 of 1,875), of replacements that are the original's
#: synonym or similar word (48 %), a neighbour of such a word (two steps, 23 %), a hyponym (16 %)
#: or a hypernym (12 %).
#: Real spinners draw on thesauri far broader than WordNet's synonym sets; a spinner that only
#: swaps synonyms teaches the engine that "terrific" (two steps from "great") is never spun.
#: A class a word lacks gives its share to the others. Not the default, and not what the shipped
#: models learned from: it did no better on seed 002 than :data:`NEAR_ONLY` (docs/evaluation-notes.md).
RELATION_MIX: dict[str, float] = {"near": 0.48, "2-step": 0.23, "hyponym": 0.16, "hypernym": 0.12}
#: The same list's 1,329 distinct one-word substitutions seen from the spun word, as the engine
#: meets them, counting only those its candidates can reach: 281 synonyms or similar words, 199
#: two-step neighbours, 186 hyponyms of the original, and 120 of the 663 pairs WordNet does not
#: link at all that are at least :data:`EMBEDDING_MIN_SIMILARITY` close in meaning (``embedding``).
#: The shipped detector and fusion learned from spins in this mix (docs/evaluation-notes.md). Not the
#: default, which the default-spin evaluation split and the tests are made with.
TORTURED_MIX: dict[str, float] = {"near": 0.36, "2-step": 0.25, "hyponym": 0.24, "embedding": 0.15}
#: The default: synonyms and similar words only.
NEAR_ONLY: dict[str, float] = {"near": 1.0}
#: The mixes by name (``unspin make-data --mix``).
MIXES: dict[str, dict[str, float]] = {"near": NEAR_ONLY, "broad": RELATION_MIX, "tortured": TORTURED_MIX}
#: Every replacement class a mix may weigh. ``embedding``: a word WordNet does not link to the
#: original at all but that is close to it in meaning (sentence-encoder cosine), the kind of pair
#: a broad commercial thesaurus lists ("economic" -> "financial"); needs a relatedness model.
CLASSES = ("near", "2-step", "hyponym", "hypernym", "embedding")
#: ``embedding`` replacements: at least this close in meaning (the candidate generator's own
#: floor, so that the original can be found again), the closest this many
EMBEDDING_MIN_SIMILARITY = 0.45
EMBEDDING_NEIGHBOURS = 10

_TOKEN_RE = re.compile(r"[A-Za-z]+(?:['\u2019\-][A-Za-z]+)*|\d+(?:[.,]\d+)*")
_ALPHA_RE = re.compile(r"^[a-z]+(?: [a-z]+)?$")
_SENT_START_RE = re.compile(r"(?:^|[.!?][\"')\u201d\u2019]?\s+|\n\s*\n\s*)$")


@dataclass
class _Unit:
    start: int  # offsets into the original text
    end: int
    tok_lo: int  # token index range
    tok_hi: int
    surface: str
    kind: str  # "word", "phrase", "number"
    candidates: list[tuple[str, float]]  # surface replacements (already inflected, case fixed), weight


_UPOS = {"n": "NOUN", "v": "VERB", "a": "ADJ", "r": "ADV"}


def _inflectable(lemma: str, pos: str, tag: str) -> bool:
    """Whether lemminflect knows how to inflect the phrase head (no guessed "mightinesses")."""
    if tag in BASE_TAGS:
        return True
    words = lemma.split(" ")
    head = words[0] if pos == "v" else words[-1]
    if len(words) > 1 and pos not in ("v", "n"):
        return False
    infl = lemminflect.getAllInflections(head, upos=_UPOS.get(pos, "NOUN"))
    return tag in infl


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(text)]


def _same_family(lemma: str, cand: str) -> bool:
    """Whether ``cand`` shares the first four letters of ``lemma``'s first word ("launch",
    "launching"): the word's own family, which a spinner does not swap in."""
    stem = lemma.split(" ")[0][:4]
    return len(stem) == 4 and cand.startswith(stem)


def _match_case(repl: str, orig: str) -> str:
    if orig[:1].isupper():
        return repl[:1].upper() + repl[1:]
    return repl


class _Spinner:
    def __init__(self, thesaurus: Thesaurus, mix: dict[str, float] | None = None,
                 relatedness: "Relatedness | None" = None, adverbs: bool = False):
        self.th = thesaurus
        self.adverbs = adverbs
        self.rel = relatedness
        self._plain: tuple[np.ndarray, np.ndarray] | None = None  # the relatedness model's lower-case words
        self.mix = dict(NEAR_ONLY if mix is None else mix)
        self._cand_cache: dict[tuple[str, str, str], tuple[tuple[str, float], ...]] = {}
        self._weight_cache: dict[tuple[str, str], float] = {}
        self._proper_cache: dict[str, bool] = {}

    # -- lexical knowledge -------------------------------------------------------------

    def pos_weight(self, lemma: str, pos: str) -> float:
        """How common ``lemma`` is as ``pos`` (SemCor counts), used to pick the likely POS."""
        key = (lemma, pos)
        w = self._weight_cache.get(key)
        if w is None:
            total = 0
            key_name = lemma.replace(" ", "_")
            for syn in self.th.synsets(lemma, pos):
                for lem in syn.lemmas():
                    if lem.name().lower() == key_name:
                        try:
                            total += lem.count()
                        except Exception:  # pragma: no cover
                            pass
            w = self._weight_cache[key] = total + 0.5 * len(self.th.synsets(lemma, pos))
        return w

    def is_proper(self, word: str) -> bool:
        """Whether a capitalised word is (also) a WordNet proper name, e.g. "Smith", "China"."""
        hit = self._proper_cache.get(word)
        if hit is None:
            hit = False
            for wf in self.th.analyse(word.lower()):
                for syn in self.th.synsets(wf.lemma, wf.pos):
                    name = wf.lemma.replace(" ", "_")
                    if any(l.name()[:1].isupper() for l in syn.lemmas() if l.name().lower() == name):
                        hit = True
                        break
                if hit:
                    break
            self._proper_cache[word] = hit
        return hit

    def lemma_candidates(self, lemma: str, pos: str) -> list[tuple[str, float]]:
        """Sense-blind synonyms + similar words of a lemma (lemma forms) with choice weights."""
        out: dict[str, float] = {}
        key_name = lemma.replace(" ", "_")
        for syn in self.th.synsets(lemma, pos):
            related = [syn] + syn.similar_tos() + syn.also_sees() + syn.verb_groups()
            antonyms = {a.name().lower() for l in syn.lemmas() for a in l.antonyms()}
            for k, s2 in enumerate(related):
                for lem in s2.lemmas():
                    name = lem.name()
                    if name.lower() == key_name or name.lower() in antonyms or name[:1].isupper():
                        continue
                    phrase = name.replace("_", " ")
                    if not _ALPHA_RE.match(phrase):
                        continue
                    try:
                        cnt = lem.count()
                    except Exception:  # pragma: no cover
                        cnt = 0
                    # common words are what spinners' dictionaries list; rare senses rarely win
                    w = (cnt + 0.2) * (1.0 if k == 0 else 0.5)
                    out[phrase] = max(out.get(phrase, 0.0), w)
        for extra in SPINNER_TABLE.get((lemma, pos), ()):
            out[extra] = max(out.get(extra, 0.0), 10.0)
        # drop the word's own family ("launch" -> "launching")
        extras = SPINNER_TABLE.get((lemma, pos), ())
        for cand in list(out):
            if _same_family(lemma, cand) and cand not in extras:
                del out[cand]
        return sorted(out.items())

    def _usable(self, lemma: str, cand: str, pos: str) -> bool:
        """A replacement a spinner's dictionary would list: plain words, not the word's own family,
        not a name."""
        if cand == lemma or cand in STOPWORDS or not _ALPHA_RE.match(cand) or _same_family(lemma, cand):
            return False
        # WordNet spells names and taxa capitalised ("subgenus Pastor"): keep lower-case lemmas only
        name = cand.replace(" ", "_")
        return any(l.name() == name for syn in self.th.synsets(cand, pos) for l in syn.lemmas())

    def lemma_classes(self, lemma: str, pos: str) -> dict[str, list[tuple[str, float]]]:
        """Replacements of a lemma (lemma forms) with choice weights, by how far they are from it:
        ``near`` (:meth:`lemma_candidates`), ``2-step`` (a synonym's or similar word's own synonyms
        and similar words), ``hyponym``, ``hypernym``, ``embedding`` (close in meaning, not linked by
        WordNet; with a relatedness model). Only the classes in the mix are looked up;
        the far classes are weighted by how common each word is (SemCor)."""
        near = self.lemma_candidates(lemma, pos)
        out: dict[str, list[tuple[str, float]]] = {"near": near}
        wanted = {k for k, v in self.mix.items() if v > 0}
        if not wanted - {"near"}:
            return out
        seen = {lemma} | {c for c, _ in near}
        ants = self.th.antonyms(lemma, pos)
        own = self.th.lemma_neighbours(lemma, pos)
        for cls in ("hyponym", "hypernym"):
            if cls in wanted:
                words = [c for c, rel in own.items() if rel == cls and c not in seen and self._usable(lemma, c, pos)]
                out[cls] = [(c, self.pos_weight(c, pos) + 0.2) for c in sorted(words)]
        if "2-step" in wanted:
            far: set[str] = set()
            for c, _ in near:
                if " " in c:
                    continue
                for c2, rel in self.th.lemma_neighbours(c, pos).items():
                    if rel in ("synonym", "similar") and c2 not in seen and c2 not in ants:
                        far.add(c2)
            out["2-step"] = [(c, self.pos_weight(c, pos) + 0.2) for c in sorted(far) if self._usable(lemma, c, pos)]
        if "embedding" in wanted and self.rel is not None and " " not in lemma:
            # not linked at all: not even two steps from the replacement, where candidates look
            words: list[str] = []
            for c in self.embedding_neighbours(lemma):
                if len(words) >= EMBEDDING_NEIGHBOURS:
                    break
                if c not in seen and c not in ants and self._usable(lemma, c, pos) and self.th.related(c, lemma, 2) is None:
                    words.append(c)
            out["embedding"] = [(c, self.pos_weight(c, pos) + 0.2) for c in sorted(words)]
        return out

    def embedding_neighbours(self, lemma: str) -> list[str]:
        """Lower-case vocabulary words at least :data:`EMBEDDING_MIN_SIMILARITY` close to ``lemma``
        in meaning, closest first (at most 5x :data:`EMBEDDING_NEIGHBOURS`, before any filtering)."""
        if self._plain is None:
            ids = np.array([i for i, w in enumerate(self.rel.vocab) if w.isalpha() and w.islower()], dtype=np.int64)
            self._plain = (ids, np.ascontiguousarray(self.rel.vectors[ids]))
        ids, vecs = self._plain
        got = self.rel.nearest(lemma, ids, EMBEDDING_MIN_SIMILARITY, 5 * EMBEDDING_NEIGHBOURS + 1, vectors=vecs)
        return [w for w, _ in got if w != lemma]

    def surface_candidates(self, surface: str, form: WordForm) -> tuple[tuple[str, float], ...]:
        key = (surface, form.lemma, form.pos + form.tag)
        hit = self._cand_cache.get(key)
        if hit is not None:
            return hit
        classes: dict[str, dict[str, float]] = {}
        for cls, cands in self.lemma_classes(form.lemma, form.pos).items():
            res = classes.setdefault(cls, {})
            for cand, w in cands:
                if not _inflectable(cand, form.pos, form.tag):
                    continue
                rep = inflect(cand, form.pos, form.tag)
                if rep == surface or not _ALPHA_RE.match(rep):
                    continue
                res[rep] = max(res.get(rep, 0.0), w)
        # each class gets its share of the mix (shared out among the classes the word has)
        shares = {cls: self.mix.get(cls, 0.0) for cls, res in classes.items() if res}
        total = sum(shares.values())
        mixed: dict[str, float] = {}
        for cls, share in shares.items():
            if share <= 0:
                continue
            res = classes[cls]
            norm = sum(res.values())
            for rep, w in res.items():
                mixed[rep] = mixed.get(rep, 0.0) + share / total * w / norm
        out = tuple(sorted(mixed.items()))
        self._cand_cache[key] = out
        return out

    def best_form(self, surface: str, forms: Iterable[WordForm]) -> WordForm | None:
        forms = list(forms)
        if not forms:
            return None
        return max(forms, key=lambda f: (self.pos_weight(f.lemma, f.pos), -forms.index(f)))

    # -- units -----------------------------------------------------------------------------

    def table_phrase(self, words: list[str]) -> WordForm | None:
        """A SPINNER_TABLE verb phrase like "deal with" in any inflection of its first word."""
        if len(words) < 2:
            return None
        rest = " ".join(words[1:])
        for wf in self.th.analyse(words[0]):
            if wf.pos == "v" and (f"{wf.lemma} {rest}", "v") in SPINNER_TABLE:
                return WordForm(f"{wf.lemma} {rest}", "v", wf.tag)
        return None

    def units(self, text: str) -> list[_Unit]:
        toks = _tokens(text)
        units: list[_Unit] = []
        i = 0
        n = len(toks)
        while i < n:
            unit = None
            # phrases first (3 then 2 tokens, single spaces, lower case)
            for size in (3, 2):
                if i + size > n:
                    continue
                group = toks[i : i + size]
                if any(not g[2].isalpha() or not g[2].islower() for g in group):
                    continue
                if any(group[k + 1][0] != group[k][1] + 1 or text[group[k][1]] != " " for k in range(size - 1)):
                    continue
                words = [g[2] for g in group]
                if all(x in STOPWORDS for x in words):
                    continue
                phrase = " ".join(words)
                form = self.table_phrase(words)
                if form is None:
                    form = self.best_form(phrase, self.th.analyse(phrase))
                if form is None:
                    continue
                cands = self.surface_candidates(phrase, form)
                if cands:
                    unit = _Unit(group[0][0], group[-1][1], i, i + size, phrase, "phrase", list(cands))
                    break
            if unit is None:
                unit = self.word_unit(text, i, toks)
            if unit is not None:
                units.append(unit)
                i = unit.tok_hi
            else:
                i += 1
        return units

    def spun_adverb(self, word: str) -> bool:
        """Whether the ``adverbs`` option lets the spinner change this stop word: the engine makes a
        slot of it (not closed-class) and its likeliest WordNet reading is an adverb ("however",
        "only", "also", "almost")."""
        if word in CLOSED_CLASS:
            return False
        form = self.best_form(word, self.th.analyse(word))
        return form is not None and form.pos == "r"

    def word_unit(self, text: str, i: int, toks: list[tuple[int, int, str]]) -> _Unit | None:
        s, e, w = toks[i]
        if not w.isalpha():
            return None
        # never touch parts of hyphenated/apostrophe compounds or words glued to digits
        if (s > 0 and text[s - 1] in "-'\u2019/&") or (e < len(text) and text[e : e + 1] in "-/&"):
            return None
        low = w.lower()
        if w in NUMBER_WORDS and i + 1 < len(toks) and toks[i + 1][2].islower() and toks[i + 1][0] == e + 1:
            return _Unit(s, e, i, i + 1, w, "number", [(NUMBER_WORDS[w], 1.0)])
        if len(w) < 3 or low in NUMBER_WORDS:
            return None
        if low in STOPWORDS and not (self.adverbs and self.spun_adverb(low)):
            return None
        if not w.islower():
            # capitalised: only a sentence-initial common word, never names or acronyms
            if not (w[0].isupper() and w[1:].islower()):
                return None
            if not _SENT_START_RE.search(text[max(0, s - 4) : s]) and s != 0:
                return None
            if self.is_proper(w):
                return None
        form = self.best_form(low, self.th.analyse(low))
        if form is None:
            return None
        cands = self.surface_candidates(low, form)
        if not cands:
            return None
        return _Unit(s, e, i, i + 1, w, "word", [(_match_case(c, w), wt) for c, wt in cands])


def _choose(rng: random.Random, cands: list[tuple[str, float]]) -> str:
    total = sum(w for _, w in cands)
    x = rng.random() * total
    for c, w in cands:
        x -= w
        if x <= 0:
            return c
    return cands[-1][0]


_SPINNERS: dict[tuple, _Spinner] = {}


def _spinner_for(thesaurus: Thesaurus, mix: dict[str, float] | None = None,
                 relatedness: "Relatedness | None" = None, adverbs: bool = False) -> _Spinner:
    mix = NEAR_ONLY if mix is None else mix
    key = (id(thesaurus), tuple(sorted(mix.items())), id(relatedness), adverbs)
    sp = _SPINNERS.get(key)
    if sp is None or sp.th is not thesaurus or sp.rel is not relatedness:
        sp = _SPINNERS[key] = _Spinner(thesaurus, mix, relatedness, adverbs)
    return sp


def spin(
    text: str,
    rate: float = 0.1,
    seed: int = 0,
    thesaurus: Thesaurus | None = None,
    *,
    insert_rate: float | None = None,
    mix: dict[str, float] | None = None,
    relatedness: "Relatedness | None" = None,
    adverbs: bool = False,
    articles: bool = True,
) -> SpunDoc:
    """Spin ``rate`` of the eligible content words/phrases of ``text`` (deterministic per seed).

    ``insert_rate`` (default ``rate / 4``) is the chance of inserting "actually" after an
    auxiliary (have/has/is/...) that is followed by a lower-case word; not counted in ``rate``.
    ``mix`` weighs the replacement classes: default :data:`NEAR_ONLY` (synonyms and similar
    words); :data:`RELATION_MIX` also swaps in two-step neighbours, hyponyms and hypernyms;
    :data:`TORTURED_MIX` also words WordNet does not link but close in meaning (``embedding``),
    which need ``relatedness`` (the shipped detector and fusion learned from this mix).
    ``adverbs`` also spins the stop words whose likeliest reading is an adverb and that the engine
    makes slots of ("however", "only", "also"; see :meth:`_Spinner.spun_adverb`).
    ``articles``: put the "a"/"an" before a replaced word into the form the replacement takes, as
    real spinners do ("a critical moment" -> "an essential moment"); the gold span then covers the
    article too, its original being "a critical". False keeps the article as written (the spins
    the shipped detector and corrector learned from).

    Raises:
        ValueError: ``rate`` outside [0, 1], or an invalid ``mix`` (unknown class, negative or
            all-zero weights, ``embedding`` without ``relatedness``).
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError("rate must be within [0, 1]")
    if mix is not None and (set(mix) - set(CLASSES) or any(v < 0 for v in mix.values()) or not any(mix.values())):
        raise ValueError(f"mix: non-negative weights of {sorted(CLASSES)}, not all zero")
    if mix is not None and mix.get("embedding", 0) > 0 and relatedness is None:
        raise ValueError("mix: 'embedding' replacements need a relatedness model")
    th = thesaurus or get_thesaurus()
    sp = _spinner_for(th, mix, relatedness, adverbs)
    rng = random.Random(seed)
    units = sp.units(text)
    x = rate * len(units)
    k = int(x) + (1 if rng.random() < x - int(x) else 0)
    order = list(range(len(units)))
    rng.shuffle(order)
    chosen: list[int] = []
    taken_tokens: set[int] = set()
    for idx in order:
        if len(chosen) >= k:
            break
        u = units[idx]
        # keep spans apart: no two changed units on adjacent tokens
        if any(t in taken_tokens for t in range(u.tok_lo - 1, u.tok_hi + 1)):
            continue
        chosen.append(idx)
        taken_tokens.update(range(u.tok_lo, u.tok_hi))
    edits: list[tuple[int, int, str]] = []  # (orig start, orig end, replacement)
    for idx in sorted(chosen):
        u = units[idx]
        rep = _choose(rng, u.candidates)
        if rep.lower() != u.surface.lower():
            edits.append(_with_article(text, u.start, u.end, rep) if articles else (u.start, u.end, rep))
    # "actually" insertions
    ins_p = rate / 4 if insert_rate is None else insert_rate
    if ins_p > 0:
        toks = _tokens(text)
        for j in range(len(toks) - 1):
            s, e, w = toks[j]
            nxt = toks[j + 1]
            if not (w.lower() in AUXILIARIES and nxt[0] == e + 1 and text[e] == " "):
                continue
            if not (nxt[2].isalpha() and nxt[2].islower() and nxt[2] not in STOPWORDS):
                continue
            # not next to another change
            if any(a <= nxt[1] and b >= s for a, b, _ in edits):
                continue
            if rng.random() < ins_p:
                edits.append((e, e, " actually"))
        edits.sort(key=lambda t: (t[0], t[1]))
    out: list[str] = []
    spans: list[GoldSpan] = []
    pos = 0
    length = 0
    for a, b, rep in edits:
        chunk = text[pos:a]
        out.append(chunk)
        length += len(chunk)
        out.append(rep)
        spans.append(GoldSpan(length, length + len(rep), rep, text[a:b]))
        length += len(rep)
        pos = b
    out.append(text[pos:])
    return SpunDoc("".join(out), text, spans)


#: An "a"/"an" (any case) standing right before a position, with the space after it.
_ARTICLE_BEFORE = re.compile(r"(?:^|(?<=[^\w’'-]))(a|an|A|An|AN)([ \t]*\n?[ \t]*)$")


def _with_article(text: str, start: int, end: int, rep: str) -> tuple[int, int, str]:
    """The edit replacing ``text[start:end]`` by ``rep``, widened to the "a"/"an" before it when
    ``rep`` takes the other article (the article rewritten to agree, in its written case)."""
    m = _ARTICLE_BEFORE.search(text, max(0, start - 8), start)
    if m is None or not m.group(2) or article_for(rep) == m.group(1).lower():
        return start, end, rep
    return m.start(1), end, after_its_article(m.group(1), rep, m.group(2))


def unspin(text: str, spans: Iterable) -> str:
    """Put each span's ``original`` back (spans with start/end/original, non-overlapping)."""
    res = text
    for sp in sorted(spans, key=lambda s: _get(s, "start"), reverse=True):
        res = res[: _get(sp, "start")] + _get(sp, "original") + res[_get(sp, "end") :]
    return res


def _get(obj, name):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


# ------------------------------------------------------------------------------ dataset


def split_of(doc_id: object) -> str:
    """Deterministic 80/20 split by document id: "train" or "test" (held out, never for tuning)."""
    h = int(hashlib.sha1(str(doc_id).encode()).hexdigest()[:8], 16)
    return "train" if h % 100 < 80 else "test"


def _order_key(doc_id, seed: int) -> str:
    return hashlib.sha1(f"{seed}:{doc_id}".encode()).hexdigest()


@dataclass
class Corpus:
    """The usable documents of a Reuters-style JSONL corpus (:func:`read_corpus`)."""

    path: Path
    #: ``{"id", "body"}`` of every document with text, in file order
    docs: list[dict]
    #: documents without text (no non-blank ``"body"`` or ``"text"``), left out
    skipped: int = 0


def read_corpus(path: str | Path) -> Corpus:
    """Read and check a Reuters-style JSONL corpus: one ``{"id", "body" (or "text"), ...}`` per line.

    ``id`` must be a string or an integer; ``body``/``text``, when present, a string. Documents whose
    body and text are both missing or blank are counted in ``skipped``.

    Raises:
        DataError: naming the file and line of the first line that breaks these rules.
    """
    docs: list[dict] = []
    skipped = 0
    for n, d in jsonl_objects(path):
        doc_id = d.get("id")
        if doc_id is None:
            raise DataError(f"{path}:{n}: the document has no \"id\"")
        if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            raise DataError(f"{path}:{n}: \"id\" must be a string or an integer, not {json_kind(doc_id)}")
        body = ""
        for key in ("body", "text"):
            value = d.get(key)
            if value is not None and not isinstance(value, str):
                raise DataError(f"{path}:{n}: \"{key}\" must be a string, not {json_kind(value)}")
            if not body.strip() and value:
                body = value
        if body.strip():
            docs.append({"id": doc_id, "body": body})
        else:
            skipped += 1
    return Corpus(Path(path), docs, skipped)


def read_spun_docs(path: str | Path, spans: bool = True) -> list[dict]:
    """The documents of a data file written by :func:`make_dataset` (``{"id", "text", "clean",
    "spans": [{start, end, text, original}]}`` per line), checked: ``text`` a string; with
    ``spans``, a ``spans`` list of objects with integer offsets ``0 <= start < end <= len(text)``
    and a string ``original``; ``clean``, when present, a string.

    Raises:
        DataError: naming the file and line of the first line that breaks these rules.
    """
    docs = []
    for n, d in jsonl_objects(path):
        text = d.get("text")
        if not isinstance(text, str):
            raise DataError(f"{path}:{n}: " + ("no \"text\"" if text is None
                                                else f"\"text\" must be a string, not {json_kind(text)}"))
        if d.get("clean") is not None and not isinstance(d["clean"], str):
            raise DataError(f"{path}:{n}: \"clean\" must be a string, not {json_kind(d['clean'])}")
        if spans:
            gold = d.get("spans")
            if not isinstance(gold, list):
                raise DataError(f"{path}:{n}: " + ("no \"spans\" (a list, [] for a clean document)" if gold is None
                                                    else f"\"spans\" must be a list, not {json_kind(gold)}"))
            for k, g in enumerate(gold, 1):
                where = f"{path}:{n}: span {k}"
                if not isinstance(g, dict):
                    raise DataError(f"{where} must be an object, not {json_kind(g)}")
                s, e = g.get("start"), g.get("end")
                if not all(isinstance(x, int) and not isinstance(x, bool) for x in (s, e)) or not 0 <= s < e <= len(text):
                    raise DataError(f"{where}: offsets {s!r}-{e!r} are not integers with 0 <= start < end <= "
                                    f"{len(text)} (the text's length)")
                if not isinstance(g.get("original"), str):
                    raise DataError(f"{where}: no \"original\" string")
        docs.append(d)
    return docs


def _doc_seed(seed: int, doc_id) -> int:
    return int(hashlib.sha1(f"{seed}/{doc_id}".encode()).hexdigest()[:12], 16)


def select_documents(
    corpus: Corpus, n_train: int, n_test: int, seed: int = 0
) -> tuple[list[dict], list[dict], list[dict], list[str]]:
    """The documents :func:`make_dataset` spins and keeps clean: (train, test, the other held-out
    documents in order, warnings). Documents are split by :func:`split_of` (hash of id: 80 % train,
    20 % held out) and taken in a seeded order. A warning says when a split holds fewer documents
    than asked for, when documents without text were left out, and when no held-out document is
    left for ``clean_test``.

    Raises:
        DataError: no usable document, or none at all for a set that was asked for (``n > 0``).
    """
    if n_train < 0 or n_test < 0:
        raise ValueError(f"document counts must be at least 0, not {n_train} and {n_test}")
    docs = corpus.docs
    if not docs:
        raise DataError(f"{corpus.path}: no usable document (each line needs a non-empty \"body\" or \"text\""
                        + (f"; {corpus.skipped} documents have none)" if corpus.skipped else "; the file is empty)"))
    train = sorted((d for d in docs if split_of(d["id"]) == "train"), key=lambda d: _order_key(d["id"], seed))
    held = sorted((d for d in docs if split_of(d["id"]) != "train"), key=lambda d: _order_key(d["id"], seed))
    warnings = []
    if corpus.skipped:
        warnings.append(f"{corpus.path}: {corpus.skipped} of {corpus.skipped + len(docs)} documents have no "
                        "\"body\" or \"text\" and were left out")
    for name, asked, have, split in (("train", n_train, len(train), "train"), ("test", n_test, len(held), "held-out")):
        if asked and not have:
            raise DataError(f"{corpus.path}: none of its {len(docs)} usable documents is in the {split} split "
                            f"(a hash of the id puts 80 % in train, 20 % held out), so {name}.jsonl would be "
                            f"empty; use --{name} 0 or a larger corpus")
        if have < asked:
            warnings.append(f"{name}.jsonl: {have} documents, not the {asked} asked for: the corpus's {split} "
                            f"split holds only {have}")
    if n_train == 0 and n_test == 0 and not held:
        raise DataError(f"{corpus.path}: nothing to write: --train and --test are 0 and no held-out document "
                        "is left for clean_test.jsonl")
    if len(held) <= n_test:
        warnings.append("clean_test.jsonl: empty: " + (f"all {len(held)} held-out documents went to test.jsonl; lower "
                        "--test or use a larger corpus" if held else "the corpus has no held-out document"))
    return train[:n_train], held[:n_test], held[n_test:], warnings


#: the sets :func:`make_dataset` writes, each as ``NAME.jsonl`` in its folder
DATA_SETS = ("train", "test", "clean_test")
DATA_FILES = tuple(f"{name}.jsonl" for name in DATA_SETS)


def make_dataset(
    corpus_path: str | Path | Corpus,
    out_dir: str | Path,
    n_train: int = 2000,
    n_test: int = 300,
    rate: float = 0.08,
    seed: int = 0,
    *,
    clean_words: int = 50_000,
    thesaurus: Thesaurus | None = None,
    progress: Callable[[str, list[dict]], Iterable[dict]] | None = None,
    mix: dict[str, float] | None = None,
    relatedness: "Relatedness | None" = None,
    adverbs: bool = False,
    articles: bool = True,
    warn: Callable[[str], None] | None = None,
) -> dict:
    """Write ``out_dir/{train,test,clean_test}.jsonl`` from a Reuters-style JSONL corpus (a path,
    or the :class:`Corpus` :func:`read_corpus` read from it).

    Documents are split by :func:`split_of` (hash of id: 80 % train, 20 % held out).
    ``train``/``test`` lines: ``{"id", "text" (spun), "clean", "spans"}``; ``clean_test`` holds
    untouched held-out documents (disjoint from the spun test ones) ``{"id", "text", "spans": []}``
    totalling at least ``clean_words`` words (when the corpus has them). ``mix``,
    ``relatedness``, ``adverbs`` and ``articles``: as in :func:`spin`. ``warn`` is called with each
    of :func:`select_documents`' warnings (fewer documents than asked for, ...). ``progress``, given
    a set's name and its documents, wraps the iteration over them (e.g. a bar). Returns counts.

    Raises:
        DataError: an unreadable corpus, or one that gives no document to write
            (:func:`read_corpus`, :func:`select_documents`); nothing is written then.

    The three files are written whole: each as ``NAME.jsonl.part``, all renamed over the old set
    once all are written, so a failure or an interruption leaves the folder's old set as it was.
    """
    corpus = corpus_path if isinstance(corpus_path, Corpus) else read_corpus(corpus_path)
    train_docs, test_docs, rest, warnings = select_documents(corpus, n_train, n_test, seed)
    for w in warnings if warn else ():
        warn(w)
    th = thesaurus or get_thesaurus()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats: dict = {}
    parts = {name: out / f"{name}.jsonl.part" for name in DATA_SETS}

    def write_spun(name: str, docs: list[dict]) -> None:
        it = progress(name, docs) if progress else docs
        n_spans = n_words = 0
        with open(parts[name], "w", encoding="utf-8") as fh:
            for d in it:
                body = d["body"]
                sd = spin(body, rate=rate, seed=_doc_seed(seed, d["id"]), thesaurus=th, mix=mix,
                          relatedness=relatedness, adverbs=adverbs, articles=articles)
                n_spans += len(sd.spans)
                n_words += len(body.split())
                fh.write(json.dumps({"id": d["id"], **sd.to_dict()}, ensure_ascii=False) + "\n")
        stats[name] = {"docs": len(docs), "words": n_words, "spans": n_spans}

    def write_clean() -> None:
        words = n_clean = 0
        with open(parts["clean_test"], "w", encoding="utf-8") as fh:
            for d in rest:
                if words >= clean_words:
                    break
                body = d["body"]
                fh.write(json.dumps({"id": d["id"], "text": body, "spans": []}, ensure_ascii=False) + "\n")
                words += len(body.split())
                n_clean += 1
        stats["clean_test"] = {"docs": n_clean, "words": words, "spans": 0}

    # each set is written as NAME.jsonl.part, and the three are renamed over the old set only when
    # all are written: a run that fails or is interrupted leaves the old set as it was
    try:
        write_spun("train", train_docs)
        write_spun("test", test_docs)
        write_clean()
        for name, part in parts.items():
            os.replace(part, out / f"{name}.jsonl")
    finally:
        for part in parts.values():
            if part.is_file():
                part.unlink(missing_ok=True)
    return stats
