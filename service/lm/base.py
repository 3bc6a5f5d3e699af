"""One interface for every language-model backend.

The engine never knows which backend runs. It asks three questions, always about lower-cased
word tokens (punctuation already removed, one list per sentence):

* ``token_logprobs(sentences)``: how well each word fits where it stands (one cheap pass);
  used for sentence fluency and to screen which words deserve a closer look.
* ``compare(slots)``: for a slot ``tokens[start:end]`` and alternative fillers, the log-score of
  the sentence window with each filler (index 0 is the text as written). Differences between
  these scores are what the engine uses, so each backend may use its own scale, as long as it
  is a natural-log probability-like score comparable within one slot.
* ``fillers(slots, k)``: the backend's own likely words for a one-word slot.
* ``screen(slots)``: optional and cheap: per slot and alternative, how much more the model likes
  the alternative than the words as written, so the engine can send only the most doubtful slots
  and their likeliest alternatives to ``compare`` (``UNSPIN_SCREEN_KEEP``,
  ``UNSPIN_SCREEN_CANDIDATES``). The default keeps everything (the n-gram backend's ``compare``
  is cheap enough).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from service.text import Token


def lm_word(tok: Token) -> str | None:
    """How a language model reads one token (a :class:`service.text.Token`): a word as its
    normalised form, a number as ``<num>`` (unknown to the model: it breaks the context like any
    unknown word), punctuation and HTML character references left in the text not at all (None)."""
    if tok.is_word:
        return tok.norm
    if tok.is_entity:  # "&amp;", "&#8217;" left in pasted text: markup
        return None
    if any(ch.isdigit() for ch in tok.text):
        return "<num>"
    return None


def lm_words(tokens: Iterable[Token]) -> list[str]:
    """The words of a sentence's tokens as a language model reads them (see :func:`lm_word`)."""
    return [w for w in map(lm_word, tokens) if w is not None]


@dataclass(frozen=True)
class Slot:
    """A stretch ``tokens[start:end]`` of one sentence and alternatives to put there.

    ``alternatives`` are token lists (a multi-word alternative is several tokens; an empty
    list means deleting the stretch). The text as written is implied as alternative 0.
    """

    tokens: tuple[str, ...]
    start: int
    end: int
    alternatives: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


class LanguageModel(ABC):
    """A language model as the engine sees it."""

    #: e.g. ``"ngram:cmu-en-us"`` or ``"transformer:distilroberta-base"``; goes into the report.
    name: str

    @abstractmethod
    def token_logprobs(self, sentences: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """For each sentence, a float array (one entry per token) of ln P(token | context)."""

    @abstractmethod
    def compare(self, slots: Sequence[Slot]) -> list[np.ndarray]:
        """For each slot, ln-scores of ``[as written, *alternatives]`` in their sentence context."""

    @abstractmethod
    def fillers(
        self, slots: Sequence[Slot], k: int = 50, restrict: Sequence[set[str] | None] | None = None
    ) -> list[list[tuple[str, float]]]:
        """For each one-word slot, up to ``k`` (word, ln-score) the model finds likely there, best first.

        ``restrict[i]``, when given and not None, limits slot i's fillers to those words.
        """

    #: whether scoring several texts' slots in one call is faster than one text at a time (a
    #: batched neural model); the HTTP service then batches concurrent requests
    batches_across_texts: bool = False

    #: whether :meth:`screen` can tell slots apart; when not, the engine skips screening altogether
    screens: bool = False

    def screen(self, slots: Sequence[Slot]) -> list[np.ndarray]:
        """Per slot, per alternative: how much the model prefers it to the text as written, cheaply.

        Higher = more worth a ``compare``; ``+inf`` = always compare. The default (for backends
        whose ``compare`` is cheap) is ``+inf`` everywhere, so nothing is ever screened out.
        """
        return [np.full(len(s.alternatives), np.inf) for s in slots]

    def in_vocab(self, word: str) -> bool:
        """Whether the model knows ``word`` (a backend with open vocabulary returns True)."""
        return True



def screen_select(
    screens: Sequence[np.ndarray], keep: float, max_alternatives: int, always: Sequence[bool] | None = None
) -> list[tuple[int, list[int]]]:
    """Which slots, and which of their alternatives, to ``compare`` after :meth:`LanguageModel.screen`.

    A slot's doubt is its best alternative's screen score. Kept: the ``ceil(keep * n)`` most
    doubtful slots, every slot with a ``+inf`` score and every ``always`` slot (``keep >= 1``
    keeps all). In a kept slot, the ``max_alternatives`` best-screened alternatives and every
    ``+inf`` one are kept (``always`` slots keep all of theirs; ``max_alternatives <= 0`` keeps
    all). Returns ``(slot index, kept alternative indices)`` in slot order, alternatives in their
    order. Ties go to the earlier slot or alternative, so the choice is deterministic.
    """
    n = len(screens)
    always_arr = np.zeros(n, dtype=bool) if always is None else np.asarray(always, dtype=bool)
    doubt = np.array([float(np.max(a)) if len(a) else np.inf for a in screens], dtype=np.float64)
    mask = np.isposinf(doubt) | always_arr
    if keep >= 1.0:
        mask[:] = True
    else:
        quota = int(np.ceil(keep * n - 1e-9))
        if quota > 0:
            mask[np.argsort(-doubt, kind="stable")[:quota]] = True
    out = []
    for i in np.flatnonzero(mask):
        a = np.asarray(screens[i], dtype=np.float64)
        if always_arr[i] or max_alternatives <= 0 or len(a) <= max_alternatives:
            out.append((int(i), list(range(len(a)))))
            continue
        chosen = np.zeros(len(a), dtype=bool)
        chosen[np.argsort(-a, kind="stable")[:max_alternatives]] = True
        chosen |= np.isposinf(a)
        out.append((int(i), [int(j) for j in np.flatnonzero(chosen)]))
    return out
