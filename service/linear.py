"""Standardised logistic regression as plain JSON: the shape shared by the span fusion
(:mod:`service.scoring`) and the garble score (:mod:`service.garble`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def column_scaling(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and standard deviation of each column of ``X`` (as float64), a constant column's
    scale 1: ``(X - mean) / scale`` standardises it."""
    mean, scale = X.mean(axis=0).astype(np.float64), X.std(axis=0).astype(np.float64)
    scale[scale == 0] = 1.0
    return mean, scale


def fit_scaled_logistic(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Standardise the columns of ``X`` and fit scikit-learn's logistic regression on ``y``.

    Returns ``(mean, scale, coef, intercept)``; a constant column gets scale 1.
    """
    from sklearn.linear_model import LogisticRegression

    mean, scale = column_scaling(X)
    lr = LogisticRegression(C=C, max_iter=2000).fit((X - mean) / scale, y)
    return mean, scale, lr.coef_[0], float(lr.intercept_[0])


def save_linear(path: Path, features: Sequence[str], mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
                intercept: float, **extra: Any) -> None:
    """Write a model as JSON: its feature names, standardisation, weights and ``extra`` fields."""
    data = {"features": list(features), "mean": mean.tolist(), "scale": scale.tolist(), "coef": coef.tolist(),
            "intercept": intercept, **extra}
    Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def load_linear(path: Path, features: Sequence[str], what: str) -> dict[str, Any]:
    """Read a model written by :func:`save_linear`; arrays come back as numpy arrays.

    Raises:
        ValueError: the file's features are not ``features`` (a model of another version: retrain it).
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data["features"] != list(features):
        raise ValueError(f"{path}: {what} features do not match this version of unspin; retrain it")
    for key in ("mean", "scale", "coef"):
        data[key] = np.asarray(data[key])
    data["intercept"] = float(data["intercept"])
    return data
