"""Which candidate the encoder's reading of a written word points to: the corrector.

The replaced-word detector (:mod:`service.detector`) says *whether* a word was replaced; the
corrector says *by what*. From the same contextual state of the written word (the detector's
adapted encoder, read in the same pass: no extra encoder cost) and the written word's own
meaning vector, a small network (one hidden layer of GELU units) predicts a query vector; each
candidate is scored by the dot product of the query with its word vector (the n-gram vocabulary's
vectors of :mod:`service.relatedness`, through a learned linear map) plus a learned bias per word.
``unspin train-corrector`` (:mod:`service.corrector_training`) learns it on synthetic spun
documents: at a replaced word the target is the original word, at any other word the word itself,
with a softmax over the whole vocabulary. It is the denoising half of ELECTRA-style training done
on the unmasked sentence, so it needs no masked pass per slot.

The engine gives the fusion two features per candidate (:mod:`service.scoring`): ``corr``, the
candidate's score less the written words' score, and ``corr_gap``, that less the slot's best.
Without the file (or without a detector) both are 0 and say nothing.

``service/data/corrector.npz`` holds the network, the map and the biases (plain numpy arrays),
with fingerprints of the vocabulary and of the detector file whose states it learned from: a
corrector is only loaded with the detector and vocabulary it was made for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from service.relatedness import Relatedness

#: where the shipped corrector lives
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "corrector.npz"
#: the network's arrays (``w1``: [state; written vector] -> hidden, ``w2``: hidden -> query,
#: ``m``: the map of word vectors, ``bias``: one per vocabulary word, ``scale``: a number)
KEYS = ("w1", "b1", "w2", "b2", "m", "bias", "scale")


def vocab_key(vocab: Sequence[str]) -> str:
    """A fingerprint of a vocabulary (the bias is one number per word, in this order)."""
    return hashlib.sha256("\n".join(vocab).encode()).hexdigest()[:16]


def file_key(path: Path) -> str:
    """A fingerprint of a file's bytes (the detector whose states a corrector learned from)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU in its tanh form, as the training uses it."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


@dataclass
class Corrector:
    """The learned arrays (:data:`KEYS`, float32) and the word vectors they score with."""

    arrays: dict[str, np.ndarray]
    relatedness: Relatedness

    @classmethod
    def load(cls, path: Path, relatedness: Relatedness, detector_path: Path) -> "Corrector | None":
        """The corrector at ``path``, or None when there is no such file.

        Raises:
            ValueError: the file was made for another vocabulary, another detector or another
                encoder width (retrain it).
        """
        if not Path(path).exists():
            return None
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k].astype(np.float32) for k in KEYS}
            made_for = (str(f["vocab_key"]), str(f["detector_key"]))
        if made_for[0] != vocab_key(relatedness.vocab) or len(arrays["bias"]) != len(relatedness.vocab):
            raise ValueError(f"{path}: the corrector was made for another vocabulary; retrain it")
        if not Path(detector_path).exists() or made_for[1] != file_key(detector_path):
            raise ValueError(f"{path}: the corrector was made for another replaced-word detector; retrain it")
        if arrays["m"].shape != (relatedness.vectors.shape[1],) * 2:
            raise ValueError(f"{path}: the corrector was made for other word vectors; retrain it")
        return cls(arrays, relatedness)

    def queries(self, states: np.ndarray, written_vectors: np.ndarray) -> np.ndarray:
        """One query row per slot, already mapped into word-vector space and scaled: a word's
        score is ``query @ vector + bias``."""
        a = self.arrays
        x = np.hstack([np.asarray(states, dtype=np.float32), np.asarray(written_vectors, dtype=np.float32)])
        u = gelu(x @ a["w1"] + a["b1"]) @ a["w2"] + a["b2"]
        return a["scale"] * (u @ a["m"].T)

    def gains(self, states: np.ndarray, written: Sequence[str], candidates: Sequence[Sequence[str]]) -> np.ndarray:
        """For slots with encoder ``states`` (one row each), the written word and the candidates,
        each candidate's score less the written word's, all slots' rows in order. It learned one
        word for one word: NaN for a candidate that is not a word of the vocabulary (a phrase, an
        unknown word) and for every candidate of a slot whose written word is not one."""
        counts = [len(c) for c in candidates]
        slot = np.repeat(np.arange(len(written)), counts)
        out = np.full(len(slot), np.nan)
        w_rows = self._rows(written)
        c_rows = self._rows([c for cs in candidates for c in cs])
        ok = (c_rows >= 0) & (w_rows[slot] >= 0)
        if not ok.any():
            return out
        vectors, bias = self.relatedness.vectors, self.arrays["bias"]
        known = np.flatnonzero(w_rows >= 0)  # the slots that get a query
        at = np.full(len(written), -1)
        at[known] = np.arange(len(known))
        w_vectors = vectors[w_rows[known]]
        q = self.queries(np.asarray(states)[known], w_vectors)
        own = np.einsum("ij,ij->i", q, w_vectors) + bias[w_rows[known]]
        s = at[slot[ok]]
        out[ok] = np.einsum("ij,ij->i", q[s], vectors[c_rows[ok]]) + bias[c_rows[ok]] - own[s]
        return out

    def _rows(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's vocabulary row (lower-cased), -1 for a phrase or an unknown word."""
        ids = self.relatedness.ids
        return np.array([ids.get(t.lower(), -1) for t in texts], dtype=np.int64)
