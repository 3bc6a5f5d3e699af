"""Learning the second look (:mod:`service.second_look`) and calibrating its threshold.

``unspin train-second-look`` reads synthetic spun documents with the shipped engine, has the
causal language model read every slot at or over the gate, and fits two standardised logistic
regressions: P(slot spun) over :data:`~service.second_look.SLOT_FEATURES` (label: the slot
overlaps a spun phrase) and P(candidate is the original) over
:data:`~service.second_look.RANK_FEATURES`. The threshold is then chosen, as for the fusion
(:func:`service.training.choose_threshold`), on clean texts whole and one sentence at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from service.causal_lm import CausalLM
from service.analysis import Analysis
from service.engine import Engine
from service.linear import fit_scaled_logistic
from service.second_look import DEFAULT_CONTEXT, Context, SecondLook, gains_many, gated, rank_rows, slot_row
from service.evaluation import reproduces
from service.text import sentence_texts
from service.training import TrainingDataError, _overlapping, choose_threshold


@dataclass
class Rows:
    """What the second look learns from: one row per gated slot and one per candidate it read."""

    S: np.ndarray  # slot rows
    spun: np.ndarray  # 0/1 per slot row
    R: np.ndarray  # candidate rows
    original: np.ndarray  # 0/1 per candidate row
    context: Context = DEFAULT_CONTEXT  # the text around each slot the model read


def labelled(engine: Engine, lm: CausalLM, docs: Iterable[dict], gate: float, k: int,
             progress: Callable | None = None, context: Context = DEFAULT_CONTEXT) -> Rows:
    """The rows of every gated slot of the spun documents (``{"text", "spans"}``), each slot read
    with ``context``."""
    S, spun, R, orig = [], [], [], []
    for doc in progress(docs) if progress else docs:
        a = engine.analyze(doc["text"])
        slots = gated(a, gate)
        for r, (cands, g) in zip(slots, gains_many(lm, a, slots, k, context)):
            start, end = a.offsets(r)
            near = _overlapping(start, end, doc["spans"])
            S.append(slot_row(r, g))
            spun.append(int(bool(near)))
            R.append(rank_rows(r, cands, g))
            orig += [int(any(reproduces(a.text, *a.replacement(r, int(j)), x) for x in near)) for j in cands]
    if not S:
        raise TrainingDataError("no slot of the spun documents reaches the gate")
    return Rows(np.vstack(S), np.asarray(spun), np.vstack(R), np.asarray(orig), context)


def fit(rows: Rows, gate: float, k: int, C: float = 1.0) -> SecondLook:
    """The two regressions fitted on ``rows`` (threshold not yet calibrated), reading with the
    context the rows were read with.

    Raises:
        TrainingDataError: a label of one value only.
    """
    for what, y in (("slots", rows.spun), ("candidates", rows.original)):
        if not 0 < int(y.sum()) < len(y):
            raise TrainingDataError(f"the gated {what} are all of one label ({int(y.sum())} of {len(y)} positive)")
    slot = dict(zip(("mean", "scale", "coef", "intercept"), fit_scaled_logistic(rows.S, rows.spun, C)))
    rank = dict(zip(("mean", "scale", "coef", "intercept"), fit_scaled_logistic(rows.R, rows.original, C)))
    return SecondLook(gate, k, slot, rank, meta={"slots": int(len(rows.spun)), "spun_slots": int(rows.spun.sum()),
                                                 "candidates": int(len(rows.original)),
                                                 "originals": int(rows.original.sum())}, context=rows.context)


def span_scores(analysis: Analysis) -> list[float]:
    """The best score per would-be span (overlapping slots collapse into one flag), as
    :func:`service.training.clean_span_scores` counts them."""
    best: dict[tuple[int, int], float] = {}
    for r in analysis.slots:
        key = (r.sentence, r.first)
        best[key] = max(best.get(key, 0.0), r.score)
    return list(best.values())


def calibrate(engine: Engine, look: SecondLook, lm: CausalLM, clean_texts: Sequence[str], target_per_1k: float,
              progress: Callable | None = None) -> tuple[float, float, float]:
    """Set ``look.threshold``: the lowest one that keeps the clean texts under ``target_per_1k``
    false flags per 1,000 words both whole and one sentence at a time. Returns the threshold and
    the two rates at it."""
    rates = []
    scores_by = []
    for texts in (list(clean_texts), sentence_texts(clean_texts)):
        scores, words = [], 0
        for t in progress(texts) if progress else texts:
            a = engine.analyze(t)
            look.apply(a, lm)
            words += a.words
            scores += span_scores(a)
        if not words:
            raise TrainingDataError("the clean documents hold no words to calibrate the threshold on")
        scores_by.append((scores, words))
    look.threshold = max(choose_threshold(s, w, target_per_1k) for s, w in scores_by)
    for s, w in scores_by:
        rates.append(1000.0 * sum(1 for x in s if x >= look.threshold) / w)
    return look.threshold, rates[0], rates[1]

