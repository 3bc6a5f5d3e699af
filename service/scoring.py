"""Features -> calibrated scores: the learned fusion, thresholds, sentence and document scores.

For every (written words, candidate original) pair the engine computes a small feature vector
(how much better the candidate fits the context, how common each is, whether the model has seen
each bigram at the seams, how the two are related). A logistic regression learned on synthetic
spun Reuters text (``unspin train``) turns it into P(candidate is the original); its suggestions
are the candidates ranked by it. A second one, the slot model, turns the slot's facts and the
fusion's view of its candidates into P(the written words were spun), the span's score: a spun slot
whose original no candidate holds is still spun. (A fusion without a slot model scores a span as its
best candidate's probability.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from service.candidates import RELATIONS
from service.linear import fit_scaled_logistic, linear_dict, linear_from_dict, load_linear, save_linear, scaled_logistic
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


#: The slot model's features, one row per slot, from its candidates' rows and the fusion's
#: probabilities (:func:`slot_features`).
SLOT_FEATURE_NAMES: tuple[str, ...] = (
    "best_logit",  # log-odds of the fusion's best candidate
    "replaced",  # the detector's largest log-odds over the written words
    "max_gain",  # the best language-model gain of any candidate
    "max_fit_gain",
    "max_corr",  # the corrector's best gain over the slot's scored candidates (0: none scored)
    "any_read",  # 1 when the corrector scored any candidate
    "uni_w",
    "lp_w_tok",
    "seen_left_w",
    "seen_w_right",
    "len_w",
    "log_candidates",  # ln(1 + number of candidates)
    "best_sim",  # of the fusion's best candidate: closeness in meaning,
    "best_gain",  # language-model gain,
    "best_corr",  # corrector gain,
    "best_corr_read",  # whether the corrector scored it,
    "best_len_c",  # and length in words
)

_COL = {n: i for i, n in enumerate(FEATURE_NAMES)}


def slot_features(X: np.ndarray, probs: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The slot model's feature matrix (columns in :data:`SLOT_FEATURE_NAMES` order): one row per
    slot of candidate rows ``X`` (slots in order, ``counts`` rows each, every count at least 1)
    with the fusion's probabilities ``probs``."""
    counts = np.asarray(counts, dtype=np.int64)
    if len(counts) == 0:
        return np.zeros((0, len(SLOT_FEATURE_NAMES)))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    seg = np.repeat(np.arange(len(counts)), counts)
    # the fusion's best candidate of each slot (the first of equals, as np.argmax takes it)
    order = np.lexsort((np.arange(len(probs)), -probs, seg))
    best = order[starts]
    p = np.clip(probs[best], 1e-9, 1.0 - 1e-9)
    read = X[:, _COL["corr_read"]] > 0
    max_corr = np.maximum.reduceat(np.where(read, X[:, _COL["corr"]], -np.inf), starts)
    first = X[starts]
    at_best = X[best]
    return np.column_stack([
        np.log(p / (1.0 - p)),
        first[:, _COL["replaced"]],
        np.maximum.reduceat(X[:, _COL["gain"]], starts),
        np.maximum.reduceat(X[:, _COL["fit_gain"]], starts),
        np.where(np.isfinite(max_corr), max_corr, 0.0),
        np.isfinite(max_corr).astype(np.float64),
        first[:, _COL["uni_w"]],
        first[:, _COL["lp_w_tok"]],
        first[:, _COL["seen_left_w"]],
        first[:, _COL["seen_w_right"]],
        first[:, _COL["len_w"]],
        np.log1p(counts.astype(np.float64)),
        at_best[:, _COL["sim"]],
        at_best[:, _COL["gain"]],
        at_best[:, _COL["corr"]],
        at_best[:, _COL["corr_read"]],
        at_best[:, _COL["len_c"]],
    ])


@dataclass
class SlotModel:
    """P(the slot's words were spun): a standardised logistic regression over
    :data:`SLOT_FEATURE_NAMES`. It learns from every spun slot, also those whose original is not
    among the candidates (which the fusion, learning which candidate is the original, can only
    count as a slot of wrong candidates)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def predict(self, S: np.ndarray) -> np.ndarray:
        """P(spun) for each row of ``S``."""
        return scaled_logistic(S, self.mean, self.scale, self.coef, self.intercept)

    def to_dict(self) -> dict:
        """The slot model's weights as a JSON-ready dict."""
        return linear_dict(SLOT_FEATURE_NAMES, self.mean, self.scale, self.coef, self.intercept)

    @classmethod
    def from_dict(cls, d: dict) -> "SlotModel":
        """Raises ValueError for a slot model of other features (retrain it)."""
        d = linear_from_dict(d, SLOT_FEATURE_NAMES, "slot model")
        return cls(d["mean"], d["scale"], d["coef"], d["intercept"])


@dataclass
class FusionModel:
    """A standardised logistic regression over :data:`FEATURE_NAMES`, stored as JSON."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float = 0.5
    meta: dict | None = None
    #: the mean slot probability of the training documents' slots (their share of spun slots as the
    #: model sees it; without a slot model, the mean best-candidate probability); None: no
    #: document-level prior adaptation (:mod:`service.prior`)
    train_prior: float | None = None
    #: pseudo-slots that a document's own estimate is shrunk with, towards ``prior_target``
    prior_strength: float = DEFAULT_STRENGTH
    #: the share of spun slots a document is presumed to have before its slots are seen
    #: (None: ``train_prior``)
    prior_target: float | None = None
    #: P(slot spun), which scores spans when present (None: a span scores as its best candidate)
    slot: SlotModel | None = None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """P(candidate is the original) for each row of ``X``."""
        return scaled_logistic(X, self.mean, self.scale, self.coef, self.intercept)

    @classmethod
    def neutral(cls) -> "FusionModel":
        """A fusion that knows nothing (every candidate 0.5); a starting point for training."""
        n = len(FEATURE_NAMES)
        return cls(np.zeros(n), np.ones(n), np.zeros(n), 0.0, 0.5, {"neutral": True})

    def save(self, path: Path) -> None:
        """Write the fusion model (and its slot model and prior, when set) as JSON to ``path``."""
        extra = {} if self.train_prior is None else {
            "train_prior": self.train_prior, "prior_strength": self.prior_strength, "prior_target": self.prior_target,
        }
        if self.slot is not None:
            extra["slot"] = self.slot.to_dict()
        save_linear(path, FEATURE_NAMES, self.mean, self.scale, self.coef, self.intercept,
                    threshold=self.threshold, meta=self.meta or {}, **extra)

    @classmethod
    def load(cls, path: Path) -> "FusionModel":
        """Read a model :meth:`save` wrote; ValueError when the file is not one."""
        d = load_linear(path, FEATURE_NAMES, "fusion model")
        prior, target = d.get("train_prior"), d.get("prior_target")
        return cls(d["mean"], d["scale"], d["coef"], d["intercept"], float(d.get("threshold", 0.5)), d.get("meta"),
                   None if prior is None else float(prior), float(d.get("prior_strength", DEFAULT_STRENGTH)),
                   None if target is None else float(target), None if "slot" not in d else SlotModel.from_dict(d["slot"]))


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
