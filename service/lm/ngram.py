"""The embedded n-gram backend: the CMU Sphinx US-English 3-gram model inside ``pocketsphinx``.

Probabilities come from pocketsphinx's own trigram model (``NGramModel.prob``, log base 1.0001).
For proposing fillers the engine also needs to *enumerate* bigrams (which words follow ``x``,
which precede ``y``); pocketsphinx cannot do that, so on first use the model's unigrams and
bigrams are exported once to ARPA text (in a subprocess: the exporter is not robust) and kept as
a compact sorted index (numpy ``.npz``) in the cache directory, keyed by the model file's hash.
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from service.lm.base import LanguageModel, Slot
from service.models import sha256_file

#: pocketsphinx log base is 1.0001; multiply its integers by this to get natural logs.
LOG_SCALE = math.log(1.0001)
#: pocketsphinx returns this for words it does not know.
_OOV = -536870912
NAME = "ngram:cmu-en-us"

log = logging.getLogger(__name__)
#: Exports of the model tried before :func:`load_bigram_index` gives up.
_EXPORTS = 3

#: Words whose unigram and likeliest successors :func:`agrees_with` compares with the model (those it knows).
_CHECKED: tuple[str, ...] = ("the", "of", "and", "said", "great", "market", "would", "zulu")

#: Natural-log difference up to which the index and the model agree (the ARPA text has 4 decimals of log10).
_TOLERANCE = 0.01

#: At most this many words' unigram log-probabilities are remembered (the vocabulary has 72 k).
_UNIGRAM_CACHE = 200_000


def default_model_path() -> Path:
    """The 3-gram model file that ships inside the pocketsphinx wheel."""
    import pocketsphinx

    return Path(pocketsphinx.__file__).parent / "model" / "en-us" / "en-us.lm.bin"


@dataclass
class BigramIndex:
    """Unigrams and bigrams of the model, sorted for fast enumeration.

    ``succ_*`` are bigrams sorted by (first word, descending log-prob); ``pred_*`` the same
    bigrams sorted by (second word, descending log-prob). ``*_ptr`` are CSR row pointers.
    """

    vocab: list[str]
    unigram: np.ndarray  # log10 P(w)
    succ_ptr: np.ndarray
    succ_word: np.ndarray
    pred_ptr: np.ndarray
    pred_word: np.ndarray
    keys: np.ndarray | None = None  # sorted first*V+second, for membership tests

    def _bigram_keys(self) -> np.ndarray:
        if self.keys is None:
            v = len(self.vocab)
            first = np.repeat(np.arange(v, dtype=np.int64), np.diff(self.succ_ptr))
            self.keys = np.sort(first * v + self.succ_word.astype(np.int64))
        return self.keys

    def has_bigrams(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """For arrays of first and second word ids: whether the model stores each bigram (a, b)
        explicitly (seen in its training text), in one lookup."""
        keys = self._bigram_keys()
        q = np.asarray(a, dtype=np.int64) * len(self.vocab) + np.asarray(b, dtype=np.int64)
        i = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        return keys[i] == q

    def successors(self, wid: int, k: int) -> np.ndarray:
        """Ids of the ``k`` likeliest words after word ``wid``."""
        a = self.succ_ptr[wid]
        return self.succ_word[a : min(self.succ_ptr[wid + 1], a + k)]

    def predecessors(self, wid: int, k: int) -> np.ndarray:
        """Ids of the ``k`` words before word ``wid`` with the highest P(wid | word)."""
        a = self.pred_ptr[wid]
        return self.pred_word[a : min(self.pred_ptr[wid + 1], a + k)]


def _export_arpa(model_path: Path, arpa_path: Path) -> None:
    """Write the model as ARPA text in a child process: pocketsphinx's writer crashes once the
    bigrams are written (the unigrams and bigrams are on the disk by then, all but the last few
    bigrams, which the crash loses with the stdio buffer; :func:`_parse_arpa` checks how many). The
    model is opened with a ``LogMath`` the child keeps: ``NGramModel.readfile`` lets its own go, and
    the writer then turned log-probabilities into whatever that memory held (-inf, -0.0000,
    -1.5e15), differently from one run to the next."""
    code = (
        "import sys\nfrom pocketsphinx import Config, LogMath, NGramModel\n"
        "logmath = LogMath()\n"
        "m = NGramModel(Config(), logmath, sys.argv[1])\n"
        "m.write(sys.argv[2], NGramModel.str_to_type('arpa'))\n"
    )
    subprocess.run([sys.executable, "-c", code, str(model_path), str(arpa_path)], capture_output=True, check=False)


def _parse_arpa(arpa_path: Path) -> BigramIndex:
    vocab: list[str] = []
    uni: list[float] = []
    ids: dict[str, int] = {}
    b1: list[int] = []
    b2: list[int] = []
    bp: list[float] = []
    section = 0
    declared: dict[int, int] = {}  # the header's "ngram N=count"
    with open(arpa_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if section == 0 and line.startswith("ngram ") and "=" in line:
                order, _, count = line[6:].partition("=")
                if order.strip().isdigit() and count.strip().isdigit():
                    declared[int(order)] = int(count)
                continue
            if line.startswith("\\"):
                if line.startswith(("\\3-grams", "\\end")):
                    break
                section = 1 if line.startswith("\\1-grams") else 2 if line.startswith("\\2-grams") else 0
                continue
            parts = line.split()
            if section == 1 and len(parts) >= 2:
                ids[parts[1]] = len(vocab)
                vocab.append(parts[1])
                uni.append(float(parts[0]))
            elif section == 2 and len(parts) >= 3:
                i, j = ids.get(parts[1]), ids.get(parts[2])
                if i is not None and j is not None:
                    b1.append(i)
                    b2.append(j)
                    bp.append(float(parts[0]))
    if (why := _not_whole(declared, uni, bp)) is not None:
        raise ValueError(f"the n-gram model's export to ARPA is not whole: {why}")
    n = len(vocab)
    w1 = np.asarray(b1, dtype=np.int32)
    w2 = np.asarray(b2, dtype=np.int32)
    p = np.asarray(bp, dtype=np.float32)
    order = np.lexsort((-p, w1))
    succ_word = w2[order]
    succ_ptr = np.searchsorted(w1[order], np.arange(n + 1)).astype(np.int64)
    order = np.lexsort((-p, w2))
    pred_word = w1[order]
    pred_ptr = np.searchsorted(w2[order], np.arange(n + 1)).astype(np.int64)
    return BigramIndex(vocab, np.asarray(uni, dtype=np.float32), succ_ptr, succ_word, pred_ptr, pred_word)


#: Bigrams of the header an export may lack: those in the stdio buffer the writer's crash loses (36
#: of the CMU model's 2,051,547).
_BIGRAMS_LOST_AT_MOST = 1_000


def _not_whole(declared: dict[int, int], uni: list[float], bp: list[float]) -> str | None:
    """Why an ARPA export's unigrams and bigrams cannot be the model's (None when they can be): fewer
    than its header declares, or log-probabilities that are not (all finite, at most 0, not all one)."""
    if len(uni) < 1000 or len(bp) < 1000:
        return f"{len(uni)} words, {len(bp)} bigrams"
    if declared.get(1, len(uni)) != len(uni):
        return f"{len(uni)} of the {declared[1]} words its header declares"
    if len(bp) < declared.get(2, len(bp)) - _BIGRAMS_LOST_AT_MOST:
        return f"{len(bp)} of the {declared[2]} bigrams its header declares"
    for what, logp in (("unigram", np.asarray(uni)), ("bigram", np.asarray(bp))):
        if not np.isfinite(logp).all() or (logp > 0).any() or np.ptp(logp) < 1.0:
            return f"its {what} log-probabilities are not those of a model (from {logp.min():g} to {logp.max():g})"
    return None


def agrees_with(index: BigramIndex, prob: Callable[[list[str]], int], words: Sequence[str] = _CHECKED) -> bool:
    """Whether ``index`` holds the model ``prob`` queries (``NGramModel.prob``): for each of ``words``
    it knows, the same unigram log-probability, and its likeliest successors in the model's order. A
    damaged or mis-exported index (see :func:`_export_arpa`) proposes other fillers, silently."""
    wanted = set(words)
    ids = {w: i for i, w in enumerate(index.vocab) if w in wanted}
    for w in words:
        i = ids.get(w)
        if i is None:
            continue
        if abs(float(index.unigram[i]) * math.log(10) - prob([w]) * LOG_SCALE) > _TOLERANCE:
            return False
        after = [index.vocab[j] for j in index.successors(i, 5)]
        logp = [prob([a, w]) * LOG_SCALE for a in after]
        if any(later > earlier + _TOLERANCE for earlier, later in zip(logp, logp[1:])):
            return False
    return True  # a model that knows none of the words (another language): nothing to compare


def load_bigram_index(model_path: Path, cache_dir: Path,
                      prob: Callable[[list[str]], int] | None = None) -> BigramIndex:
    """The model's bigram index, built once and cached under ``cache_dir``.

    With ``prob`` (the model's ``NGramModel.prob``), an index that does not agree with the model
    (:func:`agrees_with`), cached or just built, is not used: a cached one that cannot be read or
    does not agree is built again (a warning names it), and an export that does not agree is
    tried again, up to :data:`_EXPORTS` times.

    Raises:
        ValueError: no export of the model gave a whole index that agrees with it.
        OSError: the cache folder cannot be written.
    """
    cache = cache_dir / f"bigrams-{sha256_file(model_path)[:16]}.npz"
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                index = BigramIndex([str(w) for w in z["vocab"]], z["unigram"], z["succ_ptr"], z["succ_word"],
                                    z["pred_ptr"], z["pred_word"])
            why = None if prob is None or agrees_with(index, prob) else "it does not agree with the model"
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
            why = f"it cannot be read ({type(e).__name__}: {e})"
        if why is None:
            return index
        log.warning("the cached bigram index %s is built again: %s", cache, why)
    cache_dir.mkdir(parents=True, exist_ok=True)
    problem = ""
    binary = str(model_path).endswith(".bin")  # exported to ARPA text first; an ARPA file is read as it is
    for _ in range(_EXPORTS if binary else 1):
        with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
            arpa = Path(tmp) / "model.arpa" if binary else model_path
            if binary:
                _export_arpa(model_path, arpa)
            try:
                index = _parse_arpa(arpa)
            except (OSError, ValueError) as e:
                problem = str(e)
                continue
            if prob is not None and not agrees_with(index, prob):
                problem = "its export does not agree with the model"
                continue
            part = Path(tmp) / "index.npz"
            np.savez(
                part,
                vocab=np.asarray(index.vocab),
                unigram=index.unigram,
                succ_ptr=index.succ_ptr,
                succ_word=index.succ_word,
                pred_ptr=index.pred_ptr,
                pred_word=index.pred_word,
            )
            os.replace(part, cache)
            return index
    raise ValueError(f"could not build the bigram index of the n-gram model {model_path}: {problem}")


class NGramLM(LanguageModel):
    """The CMU Sphinx 3-gram model, with a bigram index for proposing fillers."""

    def __init__(self, model_path: Path | None = None, cache_dir: Path | None = None) -> None:
        from pocketsphinx import NGramModel

        self.path = Path(model_path) if model_path else default_model_path()
        named = "" if model_path is None else " (UNSPIN_NGRAM_PATH)"
        if not self.path.is_file():
            what = "is not a file" if self.path.exists() else "not found"
            raise FileNotFoundError(f"n-gram model {what}: {self.path}{named}")
        self.name = NAME if model_path is None else f"ngram:{self.path.stem}"
        try:
            self._model = NGramModel.readfile(str(self.path))
        except Exception as e:  # noqa: BLE001 - pocketsphinx raises a bare error for any file it cannot read
            raise ValueError(f"not an ARPA or Sphinx binary n-gram model: {self.path}{named} ({e})") from None
        self._prob = self._model.prob
        self._cache_dir = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "unspin"
        self._index: BigramIndex | None = None
        self._ids: dict[str, int] | None = None
        self._unigrams: dict[str, float] = {}

    # -- basic queries -------------------------------------------------------------------
    @property
    def index(self) -> BigramIndex:
        """The bigram index (built or loaded on first use)."""
        if self._index is None:
            self._index = load_bigram_index(self.path, self._cache_dir, self._prob)
            self._ids = {w: i for i, w in enumerate(self._index.vocab)}
        return self._index

    @property
    def ids(self) -> dict[str, int]:
        """Word -> id in the bigram index."""
        if self._ids is None:
            _ = self.index
        assert self._ids is not None
        return self._ids

    def bigrams_seen(self, pairs: Sequence[tuple[str | None, str | None]]) -> np.ndarray:
        """Whether the model has seen each bigram ``a b`` (sentence marks count as words), for many
        pairs in one lookup; a pair with ``None`` or an unknown word: False."""
        ids = self.ids
        a = np.array([ids.get(x, -1) if x is not None else -1 for x, _ in pairs], dtype=np.int64)
        b = np.array([ids.get(y, -1) if y is not None else -1 for _, y in pairs], dtype=np.int64)
        known = (a >= 0) & (b >= 0)
        out = np.zeros(len(pairs), dtype=bool)
        if known.any():
            out[known] = self.index.has_bigrams(a[known], b[known])
        return out

    def in_vocab(self, word: str) -> bool:
        """Whether the model knows ``word``."""
        return self.unigram(word) != -math.inf

    def unigram(self, word: str) -> float:
        """ln P(word), or -inf when unknown (remembered per word: the engine asks again and again)."""
        hit = self._unigrams.get(word)
        if hit is None:
            v = self._prob([word])
            hit = -math.inf if v == _OOV else v * LOG_SCALE
            if len(self._unigrams) >= _UNIGRAM_CACHE:
                self._unigrams.clear()  # unknown words could otherwise grow it without end
            self._unigrams[word] = hit
        return hit

    def _window(self, toks: Sequence[str], lo: int, hi: int) -> float:
        """ln P(toks[lo:hi] | two preceding tokens), summed; unknown words contribute a flat penalty."""
        prob = self._prob
        total = 0
        for j in range(lo, hi):
            w = toks[j]
            if j >= 2:
                v = prob([w, toks[j - 1], toks[j - 2]])
            elif j == 1:
                v = prob([w, toks[0]])
            else:
                v = prob([w])
            total += -200000 if v == _OOV else v
        return total * LOG_SCALE

    # -- the interface ---------------------------------------------------------------------
    def token_logprobs(self, sentences: Sequence[Sequence[str]]) -> list[np.ndarray]:
        out = []
        for sent in sentences:
            toks = ["<s>", *sent]
            vals = np.empty(len(sent), dtype=np.float64)
            for j in range(1, len(toks)):
                v = self._prob([toks[j], toks[j - 1], toks[j - 2]] if j >= 2 else [toks[j], toks[0]])
                vals[j - 1] = np.nan if v == _OOV else v * LOG_SCALE
            out.append(vals)
        return out

    def compare(self, slots: Sequence[Slot]) -> list[np.ndarray]:
        prob = self._prob
        out = []
        for slot in slots:
            toks = tuple(slot.tokens)
            s, e = slot.start, slot.end
            # two words of history before the slot ("<s>" opens the sentence) and two after it
            left = toks[s - 2 : s] if s >= 2 else ("<s>", *toks[:s])
            right = (*toks[e : e + 2], "</s>")[:2] if e + 2 > len(toks) else toks[e : e + 2]
            nl = len(left)
            scores = []
            full = nl == 2 and len(right) == 2
            for alt in (toks[s:e], *slot.alternatives):
                if full and len(alt) == 1:  # the common case, unrolled: three trigrams
                    a = alt[0]
                    v1 = prob([a, left[1], left[0]])
                    v2 = prob([right[0], a, left[1]])
                    v3 = prob([right[1], right[0], a])
                    scores.append(((-200000 if v1 == _OOV else v1) + (-200000 if v2 == _OOV else v2)
                                   + (-200000 if v3 == _OOV else v3)) * LOG_SCALE)
                    continue
                w = (*left, *alt, *right)
                scores.append(self._window(w, nl, len(w)))
            out.append(np.array(scores, dtype=np.float64))
        return out

    def filler_ids(self, slot: Slot, per_side: int = 400) -> np.ndarray:
        """Ids of words seen right after the slot's left neighbour or right before its right one."""
        index, ids = self.index, self.ids
        toks = ["<s>", *slot.tokens, "</s>"]
        s, e = slot.start + 1, slot.end + 1
        parts = []
        lid, rid = ids.get(toks[s - 1]), ids.get(toks[e])
        if lid is not None:
            parts.append(index.successors(lid, per_side))
        if rid is not None:
            parts.append(index.predecessors(rid, per_side))
        if not parts:
            return np.zeros(0, dtype=np.int32)
        ids_ = np.sort(np.concatenate(parts))
        if len(ids_) == 0:
            return ids_  # sorted and unique, like np.unique but cheaper here
        return ids_[np.concatenate(([True], ids_[1:] != ids_[:-1]))]

    def filler_set(self, slot: Slot, per_side: int = 400) -> set[str]:
        """Words seen in the model right after the slot's left neighbour or right before its right one."""
        vocab = self.index.vocab
        return {vocab[c] for c in self.filler_ids(slot, per_side).tolist()}

    def fillers(
        self, slots: Sequence[Slot], k: int = 50, restrict: Sequence[set[str] | None] | None = None
    ) -> list[list[tuple[str, float]]]:
        out = []
        for n, slot in enumerate(slots):
            toks = ["<s>", *slot.tokens, "</s>"]
            s, e = slot.start + 1, slot.end + 1
            cands = self.filler_set(slot)
            if restrict is not None and restrict[n] is not None:
                cands &= restrict[n]
            left, right = toks[max(0, s - 2) : s], toks[e : e + 2]
            scored = []
            for w in cands:
                if not w.isalpha():
                    continue
                window = [*left, w, *right]
                scored.append((w, self._window(window, len(left), len(window))))
            scored.sort(key=lambda x: -x[1])
            out.append(scored[:k])
        return out
