"""Slots found in a sentence before the language model compares their candidates
(:class:`PendingSlot`): which words may be one at all, when capitals say nothing of acronyms, and
the slot of a filler a spinner puts in, whose one candidate is the text without it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from service.articles import ARTICLES, article_for, with_article_case
from service.candidates import CLOSED_CLASS, Candidate
from service.homoglyphs import latin_words
from service.lm.base import Slot
from service.text import Sentence, in_capitals


def open_class(word: str) -> bool:
    """Whether a language-model word may be a slot at all: not a number, not closed-class, two
    letters or more (case and vocabulary are checked where the word is)."""
    return word != "<num>" and word not in CLOSED_CLASS and len(word) >= 2


def capitals_mark_nothing(sent: Sentence) -> bool:
    """Whether capitals in ``sent`` say nothing of acronyms: a heading, or a sentence written all in
    capitals (three words or more, none with a lower-case letter: a text typed with caps lock, a
    telex, a spun text upper-cased to hide it)."""
    if sent.kind == "heading":
        return True
    words = sent.words()
    return len(words) >= 3 and in_capitals(words)


#: Markdown's emphasis marks
_EMPHASIS = frozenset("*_~")
#: marks that close the word they are glued to (emphasis, quotation marks, brackets): a filler after
#: them goes with the word, its marks kept ("**have** actually" -> "**have**")
_CLOSING_MARKS = _EMPHASIS | frozenset("”’\"')]}»›")


def filler_slot(s_idx: int, sent: Sentence, a: int, pos: Sequence[int], lm_tokens: tuple[str, ...]) -> PendingSlot | None:
    """The slot of a filler a spinner puts in (LM token ``a``, "actually"), with the text as it
    reads without it as its one candidate: the word before it, as written, with the marks glued to
    its end ("fleet’s actually" -> "fleet’s", "1986 actually" -> "1986", "**have** actually" ->
    "**have**"; look-alike letters Latin; emphasis around the filler goes with it: "has
    **actually**" -> "has"), and an "a"/"an" before it agreeing with the word after
    ("an actually helpful" -> "a"); opening the sentence, the word after it ("Actually, the airline"
    -> "The"). None where other punctuation parts them ("were, actually,", "was “actually”"), which a
    span over both would delete with the filler."""
    toks = sent.tokens
    if a > 0:
        k, f = pos[a - 1], pos[a]
        i = k + 1  # the marks glued to the end of the word before, kept with it: "**have** actually"
        while i < f and set(toks[i].text) <= _CLOSING_MARKS and toks[i].start == toks[i - 1].end:
            i += 1
        # emphasis glued to the filler goes with it: "has **actually** also" -> "has also"
        if any(not set(t.text) <= _EMPHASIS or t.end != toks[j + 1].start for j, t in enumerate(toks[i:f], i)):
            return None
        end = f + 1
        while i < f and end < len(toks) and set(toks[end].text) <= _EMPHASIS and toks[end].start == toks[end - 1].end:
            end += 1
        kept, written = lm_tokens[a - 1], latin_words("".join(t.text for t in toks[k:i]))
        if kept in ARTICLES and i == f == k + 1 and a + 1 < len(pos) and pos[a + 1] == f + 1:
            kept = article_for(lm_tokens[a + 1])
            written = with_article_case(toks[k].text, kept, toks[pos[a + 1]].text)
        return PendingSlot(s_idx, k, end, Slot(lm_tokens, a - 1, a + 1), [Candidate((kept,), "deletion", written=written)])
    if len(pos) < 2 or pos[1] - pos[0] > 2 or (pos[1] - pos[0] == 2 and toks[pos[0] + 1].text != ","):
        return None
    written = latin_words(toks[pos[1]].text)
    return PendingSlot(s_idx, pos[0], pos[1] + 1, Slot(lm_tokens, 0, 2), [Candidate((lm_tokens[1],), "deletion", written=written)])


@dataclass
class PendingSlot:
    """A slot found in a sentence, with its candidates, before the language model compares them."""

    sentence: int
    first: int  # token indices in the sentence
    last: int
    slot: Slot  # the slot in the sentence's LM tokens (no alternatives yet)
    candidates: list[Candidate]
    lexicon: str | None = None  # the lexicon's source name when a user lexicon entry matched
    sims: np.ndarray | None = None  # each candidate's similarity in meaning, when already known
    article: int | None = None  # sentence token index of the "a"/"an" right before the slot
    builtin: bool = False  # the list is the engine's own (service.credits), see SlotResult.builtin

    def lm_slot(self) -> Slot:
        """The slot with the candidates as its alternatives, as the language model takes it."""
        sl = self.slot
        return Slot(sl.tokens, sl.start, sl.end, tuple(c.tokens for c in self.candidates))

    def keep(self, alternatives: Sequence[int]) -> "PendingSlot":
        """The same slot with only the candidates at these indices."""
        idx = list(alternatives)
        sims = None if self.sims is None else self.sims[idx]
        return PendingSlot(self.sentence, self.first, self.last, self.slot,
                        [self.candidates[j] for j in idx], self.lexicon, sims, self.article, self.builtin)

    def written_article(self) -> str | None:
        """The article right before the slot as the language model reads it ("a"/"an"), or None."""
        return None if self.article is None else self.slot.tokens[self.slot.start - 1]

    def articles(self) -> list[str] | None:
        """Per candidate, the article it agrees with (a deletion keeps the written one); None
        without an article before the slot."""
        written = self.written_article()
        if written is None:
            return None
        return [article_for(c.text) if c.tokens else written for c in self.candidates]
