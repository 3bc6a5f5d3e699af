"""Learning the fusion from labelled data and calibrating its threshold on clean text.

``unspin train`` runs the engine's analysis (no thresholding) on synthetic spun documents,
labels each candidate row 1 when applying it reproduces the gold original, fits the logistic
fusion, then labels each slot 1 when it overlaps a gold span and fits the slot model on the
fusion's view of it (:class:`service.scoring.SlotModel`), then picks the threshold on *clean*
documents so that false flags stay under a target rate per 1,000 words. Nothing here is used at
scoring time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from service.analysis import Analysis
from service.engine import Engine
from service.evaluation import reproduces
from service.prior import DEFAULT_STRENGTH, DEFAULT_TARGET_SHARE
from service.linear import fit_scaled_logistic
from service.scoring import FusionModel, SlotModel, slot_features, train_fusion
from service.text import sentence_texts


def _learnable(analysis: Analysis) -> list:
    """The slots the fusion learns from: with candidates, not decided by a user lexicon."""
    return [r for r in analysis.slots if len(r.candidates) and not r.lexicon]


def _overlapping(start: int, end: int, gold: Sequence[dict]) -> list[dict]:
    """The gold spans that overlap ``[start, end)``."""
    return [g for g in gold if start < int(g["end"]) and int(g["start"]) < end]


def labelled_rows(analysis: Analysis, gold: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of every candidate in the analysis and their 0/1 labels."""
    X, y = [], []
    for r in _learnable(analysis):
        s, e = analysis.offsets(r)
        near = _overlapping(s, e, gold)
        for j in range(len(r.candidates)):
            X.append(r.features[j])
            y.append(int(any(reproduces(analysis.text, *analysis.replacement(r, j), g) for g in near)))
    if not X:
        return np.zeros((0, 0)), np.zeros(0, dtype=int)
    return np.vstack(X), np.asarray(y)


def slot_labels(analysis: Analysis, gold: Sequence[dict]) -> list[int]:
    """1 for each slot (in :func:`labelled_rows`' order) that overlaps a gold span, else 0: spun,
    whether or not its original is among the candidates."""
    return [int(bool(_overlapping(*analysis.offsets(r), gold))) for r in _learnable(analysis)]


def slot_sizes(analysis: Analysis) -> list[int]:
    """Rows per slot in :func:`labelled_rows`' order (the same slots: with candidates, no lexicon)."""
    return [len(r.candidates) for r in _learnable(analysis)]


class TrainingDataError(ValueError):
    """The documents given to :func:`train` cannot train or calibrate the fusion."""


@dataclass
class TrainResult:
    fusion: FusionModel
    rows: int
    positives: int
    clean_words: int
    false_flags_per_1k: float
    #: the same clean texts scored one sentence at a time (None without the document-level prior)
    sentence_false_flags_per_1k: float | None = None


def clean_span_scores(engine: Engine, texts: Iterable[str]) -> tuple[list[float], int]:
    """Best score of every slot found in clean texts (one number per would-be span) and word count."""
    scores: list[float] = []
    words = 0
    for t in texts:
        a = engine.analyze(t)
        words += a.words
        # overlapping slots collapse into one flag at reporting time: keep the best per token
        best: dict[tuple[int, int], float] = {}
        for r in a.slots:
            key = (r.sentence, r.first)
            best[key] = max(best.get(key, 0.0), r.score)
        scores.extend(best.values())
    return scores, words


def _per_1k(scores: Sequence[float], words: int, threshold: float) -> float:
    """False flags per 1,000 clean words at ``threshold``."""
    return 1000.0 * sum(1 for s in scores if s >= threshold) / max(1, words)


def choose_threshold(clean_scores: Sequence[float], clean_words: int, target_per_1k: float) -> float:
    """The lowest threshold whose false flags per 1,000 clean words are at most the target."""
    allowed = int(target_per_1k * clean_words / 1000.0)
    s = np.sort(np.asarray(clean_scores))[::-1]
    if allowed >= len(s):
        return 0.5
    return float(min(0.99, s[allowed] + 1e-6)) if len(s) else 0.5


def train(
    engine: Engine,
    spun_docs: Iterable[dict],
    clean_texts: Iterable[str],
    target_per_1k: float = 2.0,
    C: float = 1.0,
    progress: Callable[[Iterable[dict]], Iterable[dict]] | None = None,
    prior_strength: float | None = DEFAULT_STRENGTH,
    prior_target_share: float = DEFAULT_TARGET_SHARE,
    calibration_progress: Callable[[str, list[str]], Iterable[str]] | None = None,
) -> TrainResult:
    """Fit the fusion on spun docs (``{"text", "spans"}``) and calibrate it on clean texts.

    The fusion's slot model (P(slot spun)) is fitted on the same documents, on the fitted fusion's
    probabilities. With ``prior_strength`` (None: off) the fusion also records the training
    documents' mean slot probability, so that scoring adapts it to each document
    (:mod:`service.prior`), shrinking each estimate by that many pseudo-slots towards
    ``prior_target_share`` times it. The threshold is then calibrated with that adaptation on, so
    that the clean texts stay under the target both whole and one sentence at a time (the
    adaptation depends on the length of a text).

    ``progress`` wraps the iteration over the spun documents (e.g. a bar);
    ``calibration_progress``, given a pass's name ("calibrate", "calibrate sentences") and its
    texts, the iteration over the clean texts of each calibration pass.

    Raises:
        TrainingDataError: no candidate rows, rows of one label only, or no clean words (an
            uncalibrated threshold is never returned).
    """
    Xs, ys, sizes, spun = [], [], [], []
    for doc in progress(spun_docs) if progress else spun_docs:
        analysis = engine.analyze(doc["text"])
        X, y = labelled_rows(analysis, doc["spans"])
        if len(X):
            Xs.append(X)
            ys.append(y)
            sizes += slot_sizes(analysis)
            spun += slot_labels(analysis, doc["spans"])
    if not Xs:
        raise TrainingDataError("the spun documents give no candidate to learn from")
    X, y = np.vstack(Xs), np.concatenate(ys)
    if not 0 < y.sum() < len(y):
        raise TrainingDataError(f"of the spun documents' {len(y)} candidates {int(y.sum())} put a gold original back: "
                                "the fusion needs both candidates that do and candidates that do not")
    if not 0 < sum(spun) < len(spun):
        raise TrainingDataError(f"of the spun documents' {len(spun)} slots {sum(spun)} overlap a gold span: the slot "
                                "model needs both spun slots and others")
    clean_texts = list(clean_texts)
    if not any(t.split() for t in clean_texts):
        raise TrainingDataError("no clean words to calibrate the threshold on")
    fusion = train_fusion(X, y, C=C)
    S = slot_features(X, fusion.predict(X), np.asarray(sizes))
    fusion.slot = SlotModel(*fit_scaled_logistic(S, np.asarray(spun), C))
    if prior_strength is not None:
        fusion.train_prior = float(fusion.slot.predict(S).mean())
        fusion.prior_strength = float(prior_strength)
        fusion.prior_target = fusion.train_prior * float(prior_target_share)
    engine.fusion = fusion
    calibrating = calibration_progress or (lambda _name, texts: texts)
    scores, words = clean_span_scores(engine, calibrating("calibrate", clean_texts))
    if not words:
        raise TrainingDataError("the clean documents hold no words to calibrate the threshold on")
    fusion.threshold = choose_threshold(scores, words, target_per_1k)
    sentence_ff = None
    if fusion.train_prior is not None:
        s_scores, s_words = clean_span_scores(engine, calibrating("calibrate sentences", sentence_texts(clean_texts)))
        fusion.threshold = max(fusion.threshold, choose_threshold(s_scores, s_words, target_per_1k))
        sentence_ff = _per_1k(s_scores, s_words, fusion.threshold)
    ff = _per_1k(scores, words, fusion.threshold)
    fusion.meta = {"rows": int(len(y)), "positives": int(y.sum()), "slots": len(spun), "spun_slots": int(sum(spun)),
                   "clean_words": words, "target_per_1k": target_per_1k}
    return TrainResult(fusion, int(len(y)), int(y.sum()), words, ff, sentence_ff)
