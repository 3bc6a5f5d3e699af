"""Features -> calibrated scores: the learned fusion, thresholds, sentence and document scores.

For every (written words, candidate original) pair the engine computes a small feature vector
(how much better the candidate fits the context, how common each is, whether the model has seen
each bigram at the seams, how the two are related). A logistic regression learned on synthetic
spun Reuters text (``unspin train``) turns it into P(candidate is the original). A span's score
is the best candidate's probability; its suggestions are the candidates ranked by it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from service.candidates import RELATIONS

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
    *(f"rel_{r}" for r in _REL_FEATURES),
    *(f"gain_x_{r}" for r in ("synonym", "similar", "2-step", "embedding")),
)


@dataclass(frozen=True)
class PairInfo:
    """Raw facts about one candidate in one slot, before they become features."""

    gain: float
    best_gain: float
    rank: int
    uni_w: float
    uni_c: float
    lp_w: float
    window_len: int
    seen_left_w: bool
    seen_w_right: bool
    seen_left_c: bool
    seen_c_right: bool
    len_w: int
    len_c: int
    relation: str
    sim: float = 0.0


def featurize(p: PairInfo) -> np.ndarray:
    """The feature vector of one candidate, in :data:`FEATURE_NAMES` order."""
    uni_w = max(p.uni_w, -25.0)
    uni_c = max(p.uni_c, -25.0) if p.len_c else 0.0
    rel = [1.0 if p.relation == r else 0.0 for r in _REL_FEATURES]
    gx = [p.gain if p.relation == r else 0.0 for r in ("synonym", "similar", "2-step", "embedding")]
    return np.array(
        [
            p.gain,
            p.gain - (uni_c - uni_w),
            p.gain - p.best_gain,
            math.log1p(p.rank),
            uni_w,
            uni_c,
            p.lp_w / max(1, p.window_len),
            float(p.seen_left_w),
            float(p.seen_w_right),
            float(p.seen_left_c),
            float(p.seen_c_right),
            float(p.len_w),
            float(p.len_c),
            max(p.gain, 0.0),
            p.sim,
            p.gain * p.sim,
            *rel,
            *gx,
        ],
        dtype=np.float64,
    )


@dataclass
class FusionModel:
    """A standardised logistic regression over :data:`FEATURE_NAMES`, stored as JSON."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float = 0.5
    meta: dict | None = None

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
        data = {
            "features": list(FEATURE_NAMES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "meta": self.meta or {},
        }
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "FusionModel":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data["features"] != list(FEATURE_NAMES):
            raise ValueError(f"{path}: fusion model features do not match this version of unspin; retrain it")
        return cls(
            np.asarray(data["mean"]),
            np.asarray(data["scale"]),
            np.asarray(data["coef"]),
            float(data["intercept"]),
            float(data.get("threshold", 0.5)),
            data.get("meta"),
        )


def default_fusion_path(lm_name: str) -> Path:
    """The shipped fusion model for a backend ('ngram:...' or 'transformer:...')."""
    kind = lm_name.split(":", 1)[0]
    return Path(__file__).parent / "data" / f"fusion-{kind}.json"


def train_fusion(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> FusionModel:
    """Fit the fusion on labelled candidate rows (y=1: the candidate is the gold original)."""
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=2000)
    lr.fit((X - mean) / scale, y)
    return FusionModel(mean, scale, lr.coef_[0], float(lr.intercept_[0]))


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
