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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


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

    def in_vocab(self, word: str) -> bool:
        """Whether the model knows ``word`` (a backend with open vocabulary returns True)."""
        return True
