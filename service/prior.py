"""Document-level prior: how much of this text was spun, and what that says about each slot.

The fusion's probabilities assume the share of spun slots it saw in training (the synthetic spin
rate). A real document is either clean (no slot spun) or spun through and through (seed 002: one
content word in six or seven). Given the fusion's probabilities for a document's slots, the EM
procedure of Saerens, Latinne and Decaestecker ("Adjusting the outputs of a classifier to new a
priori probabilities", Neural Computation 14, 2002) estimates that document's own share of spun
slots and re-weights every probability by the ratio of the two priors. A clean document's
scattered weak evidence is then discounted and a spun document's many moderate slots are raised,
which is why one threshold serves both better than the unadjusted scores do (docs/evaluation-notes.md).

The estimate is shrunk by ``strength`` pseudo-slots towards a ``target`` share below the training
prior: a short text, a sentence or a paragraph, has too few slots to show that it is spun, so it is
presumed mostly clean until its slots say otherwise (without that, single clean sentences got twice
the false flags of whole clean documents at the same threshold).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_STRENGTH", "DEFAULT_TARGET_SHARE", "document_prior", "shift"]

_EPS = 1e-6

#: Pseudo-slots a text's own estimate is shrunk with (chosen on validation documents; docs/evaluation-notes.md).
DEFAULT_STRENGTH = 100.0
#: The share of spun slots a text is presumed to have, as a fraction of the training share.
DEFAULT_TARGET_SHARE = 0.1


def shift(probs: np.ndarray, train_prior: float, doc_prior: float) -> np.ndarray:
    """Probabilities computed under ``train_prior`` re-weighted to a document prior ``doc_prior``
    (Bayes' rule with the class-conditional likelihoods unchanged; monotone, so ranks are kept)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0 - _EPS)
    up = doc_prior / train_prior
    down = (1.0 - doc_prior) / (1.0 - train_prior)
    return up * p / (up * p + down * (1.0 - p))


def document_prior(
    scores: np.ndarray,
    train_prior: float,
    strength: float,
    target: float | None = None,
    iterations: int = 200,
    tol: float = 1e-7,
) -> float:
    """The share of spun slots in a document whose slots the fusion scored ``scores`` (each slot's
    probability of being spun, under ``train_prior``): EM, with ``strength`` pseudo-slots at
    ``target`` (default: the training prior). No slots: ``target``."""
    s = np.asarray(scores, dtype=np.float64)
    if not 0.0 < train_prior < 1.0:
        raise ValueError("train_prior must be within (0, 1)")
    target = train_prior if target is None else float(target)
    if not 0.0 < target < 1.0:
        raise ValueError("target must be within (0, 1)")
    prior = target
    if len(s) + strength <= 0:
        return prior
    for _ in range(iterations):
        new = (float(shift(s, train_prior, prior).sum()) + strength * target) / (len(s) + strength)
        new = min(max(new, _EPS), 1.0 - _EPS)
        if abs(new - prior) < tol:
            return new
        prior = new
    return prior
