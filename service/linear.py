"""Standardised logistic regression as plain JSON: the shape shared by the span fusion and its
slot model (:mod:`service.scoring`) and the garble score (:mod:`service.garble`)."""

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


def scaled_logistic(X: np.ndarray, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: float) -> np.ndarray:
    """The model's probability for each row of ``X`` (standardised with ``mean`` and ``scale``)."""
    if len(X) == 0:
        return np.zeros(0)
    z = ((X - mean) / scale) @ coef + intercept
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def linear_dict(features: Sequence[str], mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: float,
                **extra: Any) -> dict[str, Any]:
    """A model as plain data: its feature names, standardisation, weights and ``extra`` fields."""
    return {"features": list(features), "mean": mean.tolist(), "scale": scale.tolist(), "coef": coef.tolist(),
            "intercept": intercept, **extra}


def linear_from_dict(data: dict[str, Any], features: Sequence[str], what: str) -> dict[str, Any]:
    """The fields of a model written by :func:`linear_dict`; arrays come back as numpy arrays.

    Raises:
        ValueError: the model's features are not ``features`` (a model of another version: retrain it).
    """
    if data.get("features") != list(features):
        raise ValueError(f"{what} features do not match this version of unspin; retrain it")
    data = dict(data)
    for key in ("mean", "scale", "coef"):
        data[key] = np.asarray(data[key])
    data["intercept"] = float(data["intercept"])
    return data


def save_linear(path: Path, features: Sequence[str], mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
                intercept: float, **extra: Any) -> None:
    """Write a model as JSON (:func:`linear_dict`)."""
    data = linear_dict(features, mean, scale, coef, intercept, **extra)
    Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def load_linear(path: Path, features: Sequence[str], what: str) -> dict[str, Any]:
    """Read a model written by :func:`save_linear` (:func:`linear_from_dict`).

    Raises:
        ValueError: the file's features are not ``features`` (a model of another version: retrain it).
    """
    return linear_from_dict(json.loads(Path(path).read_text(encoding="utf-8")), features, f"{path}: {what}")
