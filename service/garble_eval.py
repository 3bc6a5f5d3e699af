"""Learning and measuring the garble score on synthetic garbling of clean Reuters sentences.

Training sentences come from the corpus's train documents, evaluation sentences from its held-out
documents (:func:`service.spinner.split_of`), so the measured AUC is on sentences the weights never saw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from service.garble import FEATURE_NAMES, GarbleModel, text_features
from service.garbler import OPS, GarbledSentence, make_garble_set
from service.lm.ngram import NGramLM
from service.thesaurus import Thesaurus


def feature_rows(
    ngram: NGramLM, sentences: Iterable[GarbledSentence], progress: Callable = lambda it: it
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features, label 1 = garbled, op or "clean") of every sentence long enough to judge."""
    X, y, ops = [], [], []
    for s in progress(list(sentences)):
        text = s.garbled if s.garbled is not None else s.text
        x = text_features(ngram, text)
        if x is None:
            continue
        X.append(x)
        y.append(int(s.garbled is not None))
        ops.append(s.op or "clean")
    return np.array(X).reshape(-1, len(FEATURE_NAMES)), np.array(y), ops


class TooFewSentences(ValueError):
    """The sentences drawn are not both garbled and clean: nothing to learn from, no AUC."""


def _both_classes(y: np.ndarray, corpus: str | Path, split: str, n: int, consequence: str) -> None:
    """Raise :class:`TooFewSentences` unless the sentences drawn are both garbled and clean."""
    garbled = int(np.sum(y))
    if garbled == 0 or garbled == len(y):
        raise TooFewSentences(f"{corpus}: {len(y)} {split} sentences long enough to judge ({garbled} garbled, "
                         f"{len(y) - garbled} clean; --n {n}): {consequence} without both garbled and clean "
                         "sentences; raise --n or use a larger corpus")


def train_garble_model(
    ngram: NGramLM, thesaurus: Thesaurus, corpus: str | Path, n: int, seed: int, progress: Callable = lambda it: it
) -> tuple[GarbleModel, int]:
    """Fit the garble weights on ``n`` train-split sentences; returns the model and the rows used.

    Raises:
        TooFewSentences: the sentences drawn are not both garbled and clean.
    """
    X, y, _ = feature_rows(ngram, make_garble_set(corpus, n, seed, "train", thesaurus), progress)
    _both_classes(y, corpus, "train", n, "nothing to learn the weights from")
    model = GarbleModel.fit(X, y)
    model.meta = {"lm": ngram.name, "sentences": int(len(y)), "garbled": int(y.sum()), "seed": seed}
    return model, len(y)


def evaluate_garble(
    ngram: NGramLM,
    model: GarbleModel,
    thesaurus: Thesaurus,
    corpus: str | Path,
    n: int,
    seed: int,
    progress: Callable = lambda it: it,
    words: tuple[int, int] = (8, 45),
) -> dict:
    """ROC AUC of the garble score on ``n`` held-out sentences (about half garbled) of ``words``
    (least, most) words, overall and per operation (each op's garbled sentences against all clean
    ones), and of mean SLOR alone (baseline); the mean score of the clean and of the garbled ones,
    and the share of clean ones scoring over 0.5.

    Raises:
        TooFewSentences: the sentences drawn are not both garbled and clean (the AUC is undefined).
    """
    from sklearn.metrics import roc_auc_score

    X, y, ops = feature_rows(ngram, make_garble_set(corpus, n, seed, "test", thesaurus, words=words), progress)
    _both_classes(y, corpus, "held-out", n, "no ROC AUC")
    scores = 1.0 / (1.0 + np.exp(-model.logit(X)))
    slor = -X[:, FEATURE_NAMES.index("slor_mean")]
    out: dict = {
        "sentences": int(len(y)),
        "garbled": int(y.sum()),
        "clean": int(len(y) - y.sum()),
        "auc": float(roc_auc_score(y, scores)),
        "auc_slor_only": float(roc_auc_score(y, slor)),
        "mean_clean": float(scores[y == 0].mean()),
        "mean_garbled": float(scores[y == 1].mean()),
        "clean_over_half": float((scores[y == 0] > 0.5).mean()),
        "words": list(words),
        "by_op": {},
    }
    clean = np.array([o == "clean" for o in ops])
    for op in OPS:
        sel = clean | np.array([o == op for o in ops])
        if (~clean & sel).any() and clean.any():
            out["by_op"][op] = {
                "n": int((~clean & sel).sum()),
                "auc": float(roc_auc_score(y[sel], scores[sel])),
                "auc_slor_only": float(roc_auc_score(y[sel], slor[sel])),
            }
    return out
