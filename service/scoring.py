"""Features -> calibrated scores: the learned fusion, thresholds, sentence and document scores.

For every (written words, candidate original) pair the engine computes a small feature vector
(how much better the candidate fits the context, how common each is, whether the model has seen
each bigram at the seams, how the two are related). A logistic regression learned on synthetic
spun Reuters text (``unspin train``) turns it into P(candidate is the original). A span's score
is the best candidate's probability; its suggestions are the candidates ranked by it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from service.candidates import RELATIONS
from service.linear import fit_scaled_logistic, load_linear, save_linear
from service.prior import DEFAULT_STRENGTH

_REL_FEATURES = [r for r in RELATIONS if r != "lexicon"]

FEATURE_NAMES: tuple[str, ...] = (
    "gain",  # ln-score(candidate in context) - ln-score(as written)
    "fit_gain",  # gain minus the difference in unigram ln-probability: context fit, not frequency
    "gain_gap",  # gain minus the best gain in this slot (0 for the best candidate)
    "log_rank",  # ln(1 + rank by gain)
    "uni_w",  # unigram ln P(as written)
    "uni_c",  # unigram ln P(candidate)
    "lp_w_tok",  # per-token ln-score of the as-written window
    "seen_left_w",  # the model has seen (left word, written word)
    "seen_w_right",
    "seen_left_c",
    "seen_c_right",
    "len_w",
    "len_c",
    "gain_pos",  # max(gain, 0)
    "sim",  # cosine similarity of written words and candidate (meaning)
    "gain_x_sim",
    "replaced",  # the replaced-word detector's largest log-odds over the written words (service.detector)
    *(f"rel_{r}" for r in _REL_FEATURES),
    *(f"gain_x_{r}" for r in ("synonym", "similar", "2-step", "embedding")),
    "corr",  # the corrector's score of the candidate less the written word's (service.corrector); 0 unscored
    "corr_gap",  # corr minus the best corr in this slot (0 for the corrector's favourite, and unscored)
    "corr_read",  # 1 when the corrector scored this candidate (one word for one word), else 0
)


@dataclass(frozen=True)
class SlotRows:
    """The facts of many slots' candidates at once: one entry per candidate row, rows of one slot
    together and ``slot`` numbering them (non-decreasing). Per-slot facts repeat on its rows."""

    slot: np.ndarray
    gains: np.ndarray
    uni_w: np.ndarray
    uni_c: np.ndarray
    lp_w_tok: np.ndarray  # the written window's ln-score per token
    seen_left_w: np.ndarray
    seen_w_right: np.ndarray
    seen_left_c: np.ndarray
    seen_c_right: np.ndarray
    len_w: np.ndarray
    len_c: np.ndarray
    relations: np.ndarray
    sims: np.ndarray
    replaced: np.ndarray  # per slot (repeated on its rows): the detector's largest log-odds
    corr: np.ndarray  # per candidate: the corrector's gain (NaN where it has none)


def featurize_rows(f: SlotRows) -> np.ndarray:
    """The feature matrix (one row per candidate, columns in :data:`FEATURE_NAMES` order) of many
    slots at once: per-slot numpy calls cost more than the arithmetic, so the engine featurizes a
    text, or a chunk of one, in one call. Rank and gap features are taken within each slot."""
    n = len(f.gains)
    if n == 0:
        return np.zeros((0, len(FEATURE_NAMES)))
    gains = f.gains
    slot = np.asarray(f.slot)
    starts = np.flatnonzero(np.concatenate(([True], slot[1:] != slot[:-1])))
    counts = np.diff(np.append(starts, n))
    seg = np.repeat(np.arange(len(starts)), counts)
    uni_w = np.maximum(f.uni_w, -25.0)
    len_c = f.len_c
    uni_c = np.where(len_c > 0, np.maximum(f.uni_c, -25.0), 0.0)
    # rank by gain within each slot, ties to the earlier candidate
    order = np.lexsort((np.arange(n), -gains, seg))
    rank = np.empty(n)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    best = np.repeat(np.maximum.reduceat(gains, starts), counts)
    rel = f.relations
    sims = f.sims
    read = ~np.isnan(f.corr)
    corr = np.where(read, f.corr, 0.0)
    cols = [
        gains,
        gains - (uni_c - uni_w),
        gains - best,
        np.log1p(rank),
        uni_w,
        uni_c,
        f.lp_w_tok,
        f.seen_left_w,
        f.seen_w_right,
        f.seen_left_c,
        f.seen_c_right,
        f.len_w,
        len_c,
        np.maximum(gains, 0.0),
        sims,
        gains * sims,
        f.replaced,
        *((rel == r).astype(np.float64) for r in _REL_FEATURES),
        *(np.where(rel == r, gains, 0.0) for r in ("synonym", "similar", "2-step", "embedding")),
        corr,
        np.where(read, corr - np.repeat(np.maximum.reduceat(np.where(read, corr, -np.inf), starts), counts), 0.0),
        read.astype(np.float64),
    ]
    return np.column_stack(cols)


@dataclass
class FusionModel:
    """A standardised logistic regression over :data:`FEATURE_NAMES`, stored as JSON."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float = 0.5
    meta: dict | None = None
    #: the mean best-candidate probability of the training documents' slots (their share of spun
    #: slots as the fusion sees it); None: no document-level prior adaptation (:mod:`service.prior`)
    train_prior: float | None = None
    #: pseudo-slots that a document's own estimate is shrunk with, towards ``prior_target``
    prior_strength: float = DEFAULT_STRENGTH
    #: the share of spun slots a document is presumed to have before its slots are seen
    #: (None: ``train_prior``)
    prior_target: float | None = None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """P(candidate is the original) for each row of ``X``."""
        if len(X) == 0:
            return np.zeros(0)
        z = ((X - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    @classmethod
    def neutral(cls) -> "FusionModel":
        """A fusion that knows nothing (every candidate 0.5); a starting point for training."""
        n = len(FEATURE_NAMES)
        return cls(np.zeros(n), np.ones(n), np.zeros(n), 0.0, 0.5, {"neutral": True})

    def save(self, path: Path) -> None:
        extra = {} if self.train_prior is None else {
            "train_prior": self.train_prior, "prior_strength": self.prior_strength, "prior_target": self.prior_target,
        }
        save_linear(path, FEATURE_NAMES, self.mean, self.scale, self.coef, self.intercept,
                    threshold=self.threshold, meta=self.meta or {}, **extra)

    @classmethod
    def load(cls, path: Path) -> "FusionModel":
        d = load_linear(path, FEATURE_NAMES, "fusion model")
        prior, target = d.get("train_prior"), d.get("prior_target")
        return cls(d["mean"], d["scale"], d["coef"], d["intercept"], float(d.get("threshold", 0.5)), d.get("meta"),
                   None if prior is None else float(prior), float(d.get("prior_strength", DEFAULT_STRENGTH)),
                   None if target is None else float(target))


def default_fusion_path(lm_name: str) -> Path:
    """The shipped fusion model for a backend ('ngram:...' or 'transformer:...')."""
    kind = lm_name.split(":", 1)[0]
    return Path(__file__).parent / "data" / f"fusion-{kind}.json"


def train_fusion(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> FusionModel:
    """Fit the fusion on labelled candidate rows (y=1: the candidate is the gold original)."""
    return FusionModel(*fit_scaled_logistic(X, y, C))


def document_score(span_scores: Sequence[float], words: int, per_100: float = 0.6) -> float:
    """How likely a document was spun: flagged evidence per 100 words, squashed to 0-1.

    ``per_100`` is the evidence density (sum of span scores per 100 words) that maps to 0.5.
    """
    if words <= 0:
        return 0.0
    density = 100.0 * float(sum(span_scores)) / words
    return float(1.0 - math.exp(-density * math.log(2) / per_100))


def document_label(score: float) -> str:
    """``clean`` below 0.3, ``spun`` from 0.6, ``suspicious`` between."""
    return "clean" if score < 0.3 else "spun" if score >= 0.6 else "suspicious"
