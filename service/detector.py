"""Replaced-word detection: how likely each word of a sentence is not the one first written.

A spun word sits in its sentence like a patch: the 3-gram model sees only two words either side,
but a contextual encoder reads the whole sentence. The first three of the six layers of the
shipped sentence encoder (all-MiniLM-L6-v2, the one :mod:`service.relatedness` uses) read each
sentence once, unmasked, and a probe on their state of each word gives the log-odds that the word
was replaced, in the manner of ELECTRA's replaced-token detection. The probe is a small
multi-layer perceptron (one hidden layer of 128 ReLU units); ``unspin train-detector``
(:mod:`service.detector_training`) learns it on synthetic spun Reuters text together with
low-rank adapters of the three layers. ``service/data/detector.npz`` (plain numpy arrays) holds
the probe and what the adapters learned, about 0.4 M numbers; loading it merges them into the
shipped encoder's weights. The engine gives the fusion the largest log-odds over a slot's words
as one more feature (``replaced``).

Measured on validation documents (docs/evaluation-notes.md): the third layer's states serve better than
the last layer's (the sentence-embedding training has tuned the last ones to meaning, not to the
words), at half the cost; adapting the layers finds far more replaced words than a probe on the
frozen encoder.

Without the probe file every word gets log-odds 0 and the feature says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from service.relatedness import Encoder
from service.text import Sentence, as_read, encoder_text

#: where the shipped probe lives
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "detector.npz"
#: the probe's arrays: hidden layer, output unit (it reads the encoder's states as they are)
PROBE_KEYS = ("w1", "b1", "w2", "b2")
#: how many of the encoder's layers the shipped probe reads
DEFAULT_LAYERS = 3
#: the linear maps of each encoder layer that training adapts (module names end so)
ADAPTED = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")


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
            tuned = {k: f[k] for k in f.files if k.startswith(("lora_a:", "lora_b:", "param:"))}
        encoder = Encoder(model_dir, layers=layers)
        dim = int(encoder.model.config.hidden_size)
        if probe["w1"].shape[0] != dim:
            raise ValueError(f"{path}: the replaced-word probe was made for another encoder; retrain it")
        _apply_tuning(encoder.model, tuned, path)
        return cls(encoder, probe)

    def word_states(self, sentences: Sequence[Sentence]) -> list[list[tuple[int, np.ndarray]]]:
        """For each sentence, ``(token index, state)`` of its word tokens that the encoder reads as
        the start of a word (one pass per sentence, several sentences per batch)."""
        if self.encoder is None:
            raise ValueError("this detector has no encoder")
        # ligatures spelled out, disguised words in Latin letters, quotation marks straight, symbols and
        # markup as spaces (service.text.encoder_text); offsets mapped back to the sentence's
        read = [as_read(s.text) for s in sentences]
        states = self.encoder.word_states([encoder_text(r) for r, _ in read])
        out = []
        for sent, rows, (_, back) in zip(sentences, states, read):
            at = {t.start - sent.start: i for i, t in enumerate(sent.tokens) if t.is_word}
            if back is not None:
                rows = [(back[start], v) for start, v in rows]
            out.append([(at[start], v) for start, v in rows if start in at])
        return out

    def logits(self, sentences: Sequence[Sentence]) -> list[np.ndarray]:
        """For each sentence, one log-odds per token (0 where the encoder gave none, or no probe)."""
        return self.read(sentences)[0]

    def read(self, sentences: Sequence[Sentence]) -> tuple[list[np.ndarray], list[dict[int, np.ndarray]]]:
        """:meth:`logits`, and for each sentence the states they came from, by token index (empty
        without a probe): one encoder pass serves the detector and the corrector
        (:mod:`service.corrector`)."""
        out = [np.zeros(len(s.tokens)) for s in sentences]
        if self.probe is None or not sentences:
            return out, [{} for _ in sentences]
        states = self.word_states(sentences)
        for arr, rows in zip(out, states):
            if rows:
                arr[[i for i, _ in rows]] = probe_logits(self.probe, np.stack([v for _, v in rows]))
        return out, [dict(rows) for rows in states]


def _apply_tuning(model, arrays: dict[str, np.ndarray], path: Path) -> None:
    """Put what training learned into the encoder's weights, once: each adapter's ``B @ A`` added
    to its layer's weight matrix, and the trained biases and layer norms in place of the shipped ones
    (:mod:`service.detector_training`).

    Raises:
        ValueError: a name or shape in the file does not fit this encoder (retrain it).
    """
    import torch

    params = dict(model.named_parameters())
    updates = []  # (parameter, new value)
    for key, value in arrays.items():
        kind, name = key.split(":", 1)
        if kind == "lora_b":
            continue
        target = params.get(f"{name}.weight" if kind == "lora_a" else name)
        new = _merged(target, value, arrays.get(f"lora_b:{name}")) if kind == "lora_a" else value
        if target is None or new is None or tuple(target.shape) != new.shape:
            raise ValueError(f"{path}: {name} does not fit this encoder; retrain the detector")
        updates.append((target, new))
    with torch.no_grad():
        for target, new in updates:
            target.copy_(torch.from_numpy(np.asarray(new, dtype=np.float32)))


def _merged(weight, a: np.ndarray, b: np.ndarray | None) -> np.ndarray | None:
    """``weight + b @ a`` in float32 (the file stores ``a`` and ``b`` in half precision), or None
    when the shapes do not fit."""
    if weight is None or b is None or a.ndim != 2 or b.ndim != 2 or (b.shape[0], a.shape[1]) != tuple(weight.shape) \
            or b.shape[1] != a.shape[0]:
        return None
    return weight.detach().numpy() + b.astype(np.float32) @ a.astype(np.float32)


def probe_logits(probe: dict, X: np.ndarray) -> np.ndarray:
    """The probe's log-odds for each row of encoder states ``X``."""
    z = np.asarray(X, dtype=np.float64)
    return np.maximum(z @ probe["w1"] + probe["b1"], 0.0) @ probe["w2"] + float(probe["b2"])
