"""The sentence-level garble score: does a sentence read like word salad or a literal translation?

Fluency under the n-gram language model, normalised for length and word rarity: each word's
ln P(word | two before) minus its unigram ln P(word) (the SLOR idea: a rare name is not
"disfluent" just because it is rare; averaging per word removes the length effect). From these
per-word values five features are taken (mean, the two worst words, the share of adjacent word
pairs the model never saw, the mean raw ln P per word, ln of the length), and four that measure
damage by undoing it (the best gains from swapping adjacent words back and from putting back an
article or preposition); a logistic regression
learned on synthetic garbling of clean Reuters sentences (``unspin train-garble``; stored as
``service/data/garble-ngram.json``) turns them into a probability. When LanguageTool checked the
text, grammar errors in the sentence (kind ``grammar`` only: not spelling, not formatting) add
``grammar_weight`` to the logit per error per 10 words; that weight is set by hand, not learned
(no LanguageTool output on the training sentences: see the README).

The score always uses the n-gram model (also when the transformer backend scores spans): the
features and their weights are the n-gram model's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from service.linear import fit_scaled_logistic, load_linear, save_linear
from service.lm.base import Slot, lm_words
from service.lm.ngram import NGramLM

FEATURE_NAMES: tuple[str, ...] = (
    "slor_mean",  # mean over words of ln P(word | context) - ln P(word)
    "slor_worst2",  # the mean of the two lowest such values
    "unseen_pairs",  # share of adjacent in-vocabulary word pairs the model never saw
    "lp_mean",  # mean ln P(word | context)
    "log_len",  # ln(number of in-vocabulary words)
    "swap_gain_max",  # best ln-score gain from swapping two adjacent words back
    "swap_gain_2nd",  # the second best
    "insert_gain_max",  # best gain from putting back an article or preposition
    "insert_gain_share",  # share of positions where putting one back helps
)
#: Function words whose absence the repair features test.
REINSERT = ("the", "a", "of", "to", "in", "for", "on")
#: Fewer in-vocabulary words than this: too short to judge (score 0).
MIN_WORDS = 4


def sentence_features(ngram: NGramLM, words: Sequence[str]) -> np.ndarray | None:
    """The :data:`FEATURE_NAMES` vector of one sentence's LM tokens, or None when too short to judge."""
    if not words:
        return None
    lp = ngram.token_logprobs([list(words)])[0]
    uni = np.array([ngram.unigram(w) for w in words])
    ok = np.isfinite(lp) & np.isfinite(uni)
    if ok.sum() < MIN_WORDS:
        return None
    slor = (lp - uni)[ok]
    worst = np.sort(slor)[:2]
    known = [w for w, k in zip(words, ok) if k]
    pairs = list(zip(words[:-1], words[1:], ok[:-1], ok[1:]))
    valid = [(a, b) for a, b, ka, kb in pairs if ka and kb]
    unseen = float((~ngram.bigrams_seen(valid)).sum()) / len(valid) if valid else 0.0
    return np.array([slor.mean(), worst.mean(), unseen, lp[ok].mean(), math.log(len(known)), *_repairs(ngram, words)])


def _repairs(ngram: NGramLM, words: Sequence[str]) -> list[float]:
    """How much the model likes the sentence better with two adjacent words swapped back, or with a
    dropped article/preposition put back (the damage of literal translation, measured by undoing it)."""
    toks = tuple(words)
    swaps = [Slot(toks, i, i + 2, ((toks[i + 1], toks[i]),)) for i in range(len(toks) - 1)]
    inserts = [Slot(toks, i, i + 1, tuple((f, toks[i]) for f in REINSERT)) for i in range(1, len(toks))]
    sg = np.sort([float(x[1] - x[0]) for x in ngram.compare(swaps)]) if swaps else np.zeros(1)
    ig = np.array([float(np.max(x[1:] - x[0])) for x in ngram.compare(inserts)]) if inserts else np.zeros(1)
    return [float(sg[-1]), float(sg[-2] if len(sg) > 1 else sg[-1]), float(ig.max()), float((ig > 0).mean())]


@dataclass
class GarbleModel:
    """Standardised logistic regression over :data:`FEATURE_NAMES` (+ a hand-set grammar weight), as JSON."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    grammar_weight: float = 1.5
    meta: dict = field(default_factory=dict)

    def logit(self, x: np.ndarray) -> np.ndarray:
        """The model's log-odds of garbling for each row of features ``x``."""
        return ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef + self.intercept

    def score(self, x: np.ndarray | None, grammar_errors: int = 0, words: int = 0) -> float:
        """P(garbled) of one sentence; ``grammar_errors`` LanguageTool grammar matches among ``words`` words."""
        if x is None:
            return 0.0
        z = float(self.logit(x)[0])
        if grammar_errors and words:
            z += self.grammar_weight * 10.0 * grammar_errors / words
        return float(1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z)))))

    def save(self, path: Path) -> None:
        """Write the model as JSON to ``path``."""
        save_linear(path, FEATURE_NAMES, self.mean, self.scale, self.coef, self.intercept,
                    grammar_weight=self.grammar_weight, meta=self.meta)

    @classmethod
    def load(cls, path: Path) -> "GarbleModel":
        """Read a model :meth:`save` wrote; ValueError when the file is not one."""
        d = load_linear(path, FEATURE_NAMES, "garble model")
        return cls(d["mean"], d["scale"], d["coef"], d["intercept"], float(d.get("grammar_weight", 1.5)),
                   d.get("meta") or {})

    @classmethod
    def untrained(cls) -> "GarbleModel":
        """A fallback without training: lower mean SLOR -> higher score (one feature, unit weight)."""
        n = len(FEATURE_NAMES)
        coef = np.zeros(n)
        coef[0] = -1.0
        return cls(np.zeros(n), np.ones(n), coef, 0.0, meta={"untrained": True})

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, C: float = 1.0) -> "GarbleModel":
        """Learn the weights from feature rows ``X`` and labels ``y`` (1 = garbled)."""
        return cls(*fit_scaled_logistic(X, y, C))


def default_garble_path() -> Path:
    """The shipped garble model."""
    return Path(__file__).parent / "data" / "garble-ngram.json"


def load_garble_model(path: Path | None = None) -> GarbleModel:
    """The shipped (or given) garble model; the untrained fallback when the file is missing."""
    p = Path(path) if path else default_garble_path()
    return GarbleModel.load(p) if p.exists() else GarbleModel.untrained()


def text_features(ngram: NGramLM, text: str) -> np.ndarray | None:
    """Features of a one-sentence text (segmented and tokenised as the engine does)."""
    from service.text import segment

    words = [w for s in segment(text) for w in lm_words(s.tokens)]
    return sentence_features(ngram, words)
