"""Replaced-word detection: how likely each word of a sentence is not the one first written.

A spun word sits in its sentence like a patch: the 3-gram model sees only two words either side,
but a contextual encoder reads the whole sentence. The first three of the six layers of the
shipped sentence encoder (all-MiniLM-L6-v2, the one :mod:`service.relatedness` uses) read each
sentence once, unmasked, and a probe on their state of each word gives the log-odds that the word
was replaced, in the manner of ELECTRA's replaced-token detection but with the encoder frozen. The
probe is a small multi-layer perceptron (one hidden layer of 128 ReLU units, 49 k weights in
``service/data/detector.npz``, plain numpy arrays) learned on synthetic spun Reuters text by
``unspin train-detector``; the engine gives the fusion the largest log-odds over a slot's words as
one more feature (``replaced``).

Measured on validation documents (README, Evaluation): the third layer's states serve the probe
better than the last layer's (the sentence-embedding training has tuned the last ones to meaning,
not to the words), at half the cost; a linear probe found half as many replaced words as the
perceptron at the same share of clean words flagged.

Without the probe file every word gets log-odds 0 and the feature says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from service.linear import column_scaling
from service.relatedness import Encoder
from service.text import Sentence, segment

#: where the shipped probe lives
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "detector.npz"
#: the probe's arrays: standardisation, hidden layer, output unit
PROBE_KEYS = ("mean", "scale", "w1", "b1", "w2", "b2")
#: how many of the encoder's layers the shipped probe reads
DEFAULT_LAYERS = 3


@dataclass
class ReplacedWordDetector:
    """The encoder (its first ``layers`` layers) and the probe; without a probe (``None``) every
    word gets log-odds 0 and no encoder is needed."""

    encoder: Encoder | None
    probe: dict | None = None

    @classmethod
    def load(cls, model_dir: Path, path: Path = DEFAULT_PATH) -> "ReplacedWordDetector":
        """The detector with the probe at ``path`` (none when the file is missing), reading with as
        many layers of the encoder at ``model_dir`` as the probe was learned on.

        Raises:
            ValueError: the file was written for an encoder of another width (retrain it).
        """
        if not Path(path).exists():
            return cls(None, None)
        with np.load(path, allow_pickle=False) as f:
            probe = {k: f[k].astype(np.float64) for k in PROBE_KEYS}
            layers = int(f["layers"])
        encoder = Encoder(model_dir, layers=layers)
        dim = int(encoder.model.config.hidden_size)
        if probe["mean"].shape != (dim,) or probe["w1"].shape[0] != dim:
            raise ValueError(f"{path}: the replaced-word probe was made for another encoder; retrain it")
        return cls(encoder, probe)

    def word_states(self, sentences: Sequence[Sentence]) -> list[list[tuple[int, np.ndarray]]]:
        """For each sentence, ``(token index, state)`` of its word tokens that the encoder reads as
        the start of a word (one pass per sentence, several sentences per batch)."""
        if self.encoder is None:
            raise ValueError("this detector has no encoder")
        states = self.encoder.word_states([s.text for s in sentences])
        out = []
        for sent, rows in zip(sentences, states):
            at = {t.start - sent.start: i for i, t in enumerate(sent.tokens) if t.is_word}
            out.append([(at[start], v) for start, v in rows if start in at])
        return out

    def logits(self, sentences: Sequence[Sentence]) -> list[np.ndarray]:
        """For each sentence, one log-odds per token (0 where the encoder gave none, or no probe)."""
        out = [np.zeros(len(s.tokens)) for s in sentences]
        if self.probe is None or not sentences:
            return out
        for arr, rows in zip(out, self.word_states(sentences)):
            if rows:
                arr[[i for i, _ in rows]] = probe_logits(self.probe, np.stack([v for _, v in rows]))
        return out


def probe_logits(probe: dict, X: np.ndarray) -> np.ndarray:
    """The probe's log-odds for each row of encoder states ``X``."""
    z = (np.asarray(X, dtype=np.float64) - probe["mean"]) / probe["scale"]
    return np.maximum(z @ probe["w1"] + probe["b1"], 0.0) @ probe["w2"] + float(probe["b2"])


def labelled_states(detector: ReplacedWordDetector, docs: Iterable[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Training rows from spun documents (``{"text", "spans": [{start, end}, ...]}``): every word's
    state, labelled 1 when it lies inside a gold spun span."""
    X, y = [], []
    for d in docs:
        text = d["text"]
        gold = [(g["start"], g["end"]) for g in d.get("spans", [])]
        sentences = segment(text)
        for sent, rows in zip(sentences, detector.word_states(sentences)):
            for i, v in rows:
                start = sent.tokens[i].start
                X.append(v)
                y.append(any(a <= start < b for a, b in gold))
    dim = int(detector.encoder.model.config.hidden_size) if detector.encoder is not None else 0
    return (np.stack(X) if X else np.zeros((0, dim), dtype=np.float32)), np.array(y, dtype=bool)


def train_detector(detector: ReplacedWordDetector, docs: Iterable[dict], out: Path, hidden: int = 128,
                   seed: int = 0) -> dict:
    """Learn the probe on spun documents (scikit-learn's MLPClassifier: ReLU, Adam, early stopping
    on a tenth of the rows) and write its arrays to ``out`` (``.npz``); returns counts for a message."""
    from sklearn.neural_network import MLPClassifier

    X, y = labelled_states(detector, docs)
    if len(y) == 0 or y.all() or not y.any():
        raise ValueError("the training documents need both spun and clean words")
    mean, scale = column_scaling(X)
    mlp = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1e-3, early_stopping=True, max_iter=50, random_state=seed)
    mlp.fit((X - mean) / scale, y)
    (w1, w2), (b1, b2) = mlp.coefs_, mlp.intercepts_
    with open(out, "wb") as f:
        np.savez(f, mean=mean.astype(np.float32), scale=scale.astype(np.float32), w1=w1.astype(np.float32),
                 b1=b1.astype(np.float32), w2=w2[:, 0].astype(np.float32), b2=np.float32(b2[0]),
                 layers=np.int64(detector.encoder.model.config.num_hidden_layers))
    return {"words": int(len(y)), "replaced": int(y.sum())}
