"""Synthetic garbling of clean sentences, for learning and measuring the garble score.

Three kinds of damage that bad machine translation and careless rewriting leave:

* ``swap``: one or two adjacent word pairs change places ("the company said" -> "company the said");
* ``drop``: one or two articles or prepositions disappear ("as part of a deal" -> "as part a deal");
* ``literal``: one or two content words are replaced by a WordNet synonym of *another* sense of the
  word (what word-by-word translation with a dictionary does: "the bank raised rates" -> "the
  depository raised rates"), inflected to the original's form.

Sentences come from a Reuters-style JSONL corpus, split into train/held-out documents with the same
hash split as the spinner's (:func:`service.spinner.split_of`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from service.spinner import _order_key, read_corpus, split_of
from service.text import segment
from service.thesaurus import Thesaurus, inflect

OPS = ("swap", "drop", "literal")
FUNCTION_WORDS = frozenset("the a an of to in on at for with by from into".split())
_STOP = FUNCTION_WORDS | frozenset(
    "and or but is are was were be been has have had it its he she they we said says say that this "
    "which who not will would".split()
)
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")


@dataclass
class GarbledSentence:
    """A sentence, its garbled version (None: clean example) and the operation applied."""

    doc_id: object
    text: str
    garbled: str | None = None
    op: str | None = None


def _words(text: str) -> list[re.Match]:
    return list(_WORD.finditer(text))


def _swap(text: str, rng: random.Random) -> str | None:
    ws = _words(text)
    pairs = [i for i in range(len(ws) - 1) if text[ws[i].end() : ws[i + 1].start()] == " "]
    if not pairs:
        return None
    for i in sorted(rng.sample(pairs, min(len(pairs), rng.choice((1, 2)))), reverse=True):
        a, b = ws[i], ws[i + 1]
        text = text[: a.start()] + b.group() + " " + a.group() + text[b.end() :]
        ws = _words(text)
    return text


def _drop(text: str, rng: random.Random) -> str | None:
    ws = [m for m in _words(text) if m.group().lower() in FUNCTION_WORDS]
    if not ws:
        return None
    for m in sorted(rng.sample(ws, min(len(ws), rng.choice((1, 2)))), key=lambda m: -m.start()):
        s, e = m.start(), m.end()
        if e < len(text) and text[e] == " ":
            e += 1
        elif s > 0 and text[s - 1] == " ":
            s -= 1
        text = text[:s] + text[e:]
    return text


def _wrong_sense(word: str, th: Thesaurus, rng: random.Random) -> str | None:
    """A single-word synonym from a sense other than the word's first one, inflected like it."""
    for form in th.analyse(word.lower()):
        syns = th.synsets(form.lemma, form.pos)
        others = sorted(
            {
                lem.name().replace("_", " ")
                for syn in syns[1:]
                for lem in syn.lemmas()
                if "_" not in lem.name() and lem.name().lower() != form.lemma and lem.name().isalpha()
            }
            - {l.name() for l in syns[0].lemmas()} if syns else set()
        )
        if others:
            new = inflect(rng.choice(others), form.pos, form.tag)
            return new if new.lower() != word.lower() else None
    return None


def _literal(text: str, rng: random.Random, th: Thesaurus) -> str | None:
    ws = [m for m in _words(text) if m.group().islower() and len(m.group()) > 2 and m.group() not in _STOP]
    rng.shuffle(ws)
    done = []
    for m in ws:
        new = _wrong_sense(m.group(), th, rng)
        if new:
            done.append((m, new))
        if len(done) >= rng.choice((1, 2)):
            break
    if not done:
        return None
    for m, new in sorted(done, key=lambda x: -x[0].start()):
        text = text[: m.start()] + new + text[m.end() :]
    return text


def garble(text: str, op: str, rng: random.Random, thesaurus: Thesaurus) -> str | None:
    """``text`` damaged by ``op`` (``swap``, ``drop`` or ``literal``), or None when it cannot be."""
    if op == "swap":
        return _swap(text, rng)
    if op == "drop":
        return _drop(text, rng)
    if op == "literal":
        return _literal(text, rng, thesaurus)
    raise ValueError(f"unknown garbling operation {op!r}; one of {OPS}")


def corpus_sentences(corpus: str | Path, split: str, seed: int = 0, min_words: int = 8,
                     max_words: int = 45) -> Iterator[tuple[object, str]]:
    """(doc id, sentence text on one line) of prose sentences from documents of one split, in a seeded order.

    Raises:
        DataError: the corpus cannot be read, or a line is no document (:func:`service.spinner.read_corpus`).
    """
    docs = [(d["id"], d["body"]) for d in read_corpus(corpus).docs if split_of(d["id"]) == split]
    docs.sort(key=lambda d: _order_key(d[0], seed))
    for doc_id, body in docs:
        for s in segment(body):
            n = sum(t.is_word for t in s.tokens)
            text = " ".join(s.text.split())
            if s.kind == "prose" and min_words <= n <= max_words and "&" not in text and text[-1:] in ".!?\"'":
                yield doc_id, text


def make_garble_set(corpus: str | Path, n: int, seed: int, split: str, thesaurus: Thesaurus,
                    per_doc: int = 2, words: tuple[int, int] = (8, 45)) -> list[GarbledSentence]:
    """``n`` sentences of ``split`` documents: about half garbled (ops in turn), half clean; others' sentences.

    At most ``per_doc`` sentences per document, of ``words`` (least, most) words; the clean and
    garbled halves never share a sentence.
    """
    rng = random.Random(seed)
    out: list[GarbledSentence] = []
    counts: dict[object, int] = {}
    k = 0
    for doc_id, text in corpus_sentences(corpus, split, seed, *words):
        if len(out) >= n:
            break
        if counts.get(doc_id, 0) >= per_doc:
            continue
        counts[doc_id] = counts.get(doc_id, 0) + 1
        if rng.random() < 0.5:
            out.append(GarbledSentence(doc_id, text))
            continue
        op = OPS[k % len(OPS)]
        g = garble(text, op, rng, thesaurus)
        if g is None or g == text:
            continue
        k += 1
        out.append(GarbledSentence(doc_id, text, g, op))
    return out
