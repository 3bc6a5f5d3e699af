"""Masked-LM backend: a Hugging Face BERT / RoBERTa / DistilRoBERTa model behind :class:`LanguageModel`.

Load by Hugging Face id or local directory (``UNSPIN_MODEL``), on a torch device
(``UNSPIN_DEVICE``), never downloading unless asked (``local_files_only=False``)::

    lm = TransformerLM.load("distilroberta-base")          # id already in the HF cache, or
    lm = TransformerLM.load("models/distilroberta-base")   # a directory made by save_pretrained

How words become model input
----------------------------
The engine hands over lower-cased word tokens. The model input is the words joined with single
spaces: each word is encoded on its own (sentence-initial word as ``"word"``, every other word as
``" word"``, so RoBERTa's byte-level BPE sees the ``Ġ`` it saw in pre-training) and the pieces are
concatenated, which is exactly what the tokenizer yields for the joined string (tested), while
giving every word's sub-token span for free. Special tokens are whatever the tokenizer adds
(``<s> … </s>``, ``[CLS] … [SEP]``). A single word is cut to at most ``max_word_pieces`` sub-tokens
(garbage such as a 300-letter run would otherwise eat the whole window).

Scores
------
``token_logprobs``
    ONE unmasked forward pass per sentence (batched across sentences); for each word, ln P of its
    *first* sub-token at its own position. The model sees the word it is asked about, so this is
    not a masked (true) probability of the word, only a cheap screening signal: words the model
    finds odd get a clearly lower value than words that fit.

``compare``
    Per slot, every filler (index 0 = the text as written) is put in place and scored by a
    left-to-right chain over its sub-tokens: sub-token ``j`` is predicted with sub-tokens ``< j`` of
    the filler visible and sub-tokens ``>= j`` masked, and the ln-probs are summed; that is
    ln P(filler | context, filler length in sub-tokens), a chain-rule factorisation, not the
    PLL-one-at-a-time score that over-rates multi-piece words. Costs one forward row per sub-token;
    rows with identical input are computed once, so all single-sub-token fillers of a slot share
    ONE masked pass (the masked position's distribution scores them all), and the first row of all
    fillers with the same number of sub-tokens is shared too. The remaining approximation is the
    one inherent to masked LMs: the number of ``<mask>`` tokens tells the model the filler length.

    Deletion (an empty filler, or an empty slot as written) cannot be scored by its own sub-tokens
    (it has none). In a slot that has an empty filler, every filler of that slot additionally gets
    the score of the slot's neighbouring words (one word left and one right, each scored
    left-to-right over its sub-tokens with everything else visible, the filler in place). The slot's
    scores are then a pseudo-log-likelihood of the window ``[left word, filler, right word]``, and
    the deletion scores the shortened window ``[left word, right word]``. A window with fewer words
    generally scores higher (fewer negative terms), so the engine should not read a deletion score
    as the same scale as a substitution without calibration. Slots without an empty filler skip the
    neighbour terms (they would cost two extra rows per filler).

``screen``
    Cheap triage before ``compare`` (the engine keeps the most doubtful ``UNSPIN_SCREEN_KEEP``
    fraction of slots and their ``UNSPIN_SCREEN_CANDIDATES`` best alternatives): the same ONE
    unmasked pass per sentence as ``token_logprobs``, shared by every slot of the sentence. Per
    alternative, the logit of its first sub-token minus the written word's at the first word
    where they differ (a ln-probability ratio; only those logits are computed, not the whole
    vocabulary). The model sees the written word, so this ratio is biased towards the text as
    written; it is used only to rank slots and alternatives against each other, never as a score.

``fillers``
    For a one-word slot, the slot is replaced by ONE mask and the vocabulary pieces that are whole
    alphabetic words in that position (the tokenizer encodes the word back to exactly that piece,
    which rules out ``##ing`` and non-``Ġ`` BPE continuations) are ranked; case variants
    (``The``/``the``) are merged by adding their probabilities; words are lower-cased. Words that
    need several sub-tokens are never proposed (a single mask cannot produce them).

Speed: ``compare`` costs one model row (a whole sentence window) per sub-token of every filler,
minus shared rows, so scoring every candidate of every slot is far slower than the n-gram model;
screening is what makes the backend usable (see bench/README.md for measured numbers).
``quantize="int8"`` (``UNSPIN_QUANTIZE``) runs the Linear layers dynamically quantized on CPU.

Long sentences are windowed: the scored stretch stays whole and as much context as fits the
model's maximum length is kept on both sides (whole words only), so nothing fails on long input.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from service.hf_quiet import quiet_loading
from service.lm.base import LanguageModel, Slot

try:  # optional dependency (install torch==2.13.0 (CPU) and transformers, as the README's set-up does); the module must import without it
    import torch
except ImportError:  # pragma: no cover - exercised only where torch is absent
    torch = None  # type: ignore[assignment]

__all__ = ["DeviceUnavailable", "ModelUnavailable", "TransformerLM"]

#: Cap on sub-tokens kept per word (also limited to a quarter of the model's window).
MAX_WORD_PIECES = 24
#: Rows of hidden states pushed through the LM head at once (bounds the ``rows x vocab`` logits).
_HEAD_CHUNK = 1024


class ModelUnavailable(RuntimeError):
    """The masked LM's weights or tokenizer cannot be loaded (not on this machine, not a masked LM, no torch)."""


class DeviceUnavailable(ModelUnavailable):
    """The weights loaded but the torch device asked for (``UNSPIN_DEVICE``) cannot run them: a
    setting to mend, not a reason for ``UNSPIN_LM=auto`` to fall back to the n-gram model."""


#: common words every English masked LM's tokenizer knows (a check that its files are there)
_COMMON_WORDS = ("the", "of", "and", "said", "house", "water", "market", "government")
#: model types whose position ids start after the padding index (RoBERTa's scheme)
_PADDING_OFFSET_TYPES = frozenset({"camembert", "longformer", "data2vec-text", "mpnet", "ibert", "xmod", "luke"})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def _looks_like_path(model: str) -> bool:
    """A filesystem path rather than a hub id (``name`` or ``owner/name``)."""
    return (model.startswith((".", "/", "~")) or model.endswith("/") or model.count("/") > 1
            or (os.sep != "/" and os.sep in model))


def _how_to_obtain(model: str) -> str:
    """How to get a model onto a machine without internet: for a hub id, that model; for a folder,
    the model one wants in it (the default named as the example)."""
    folder = _looks_like_path(model)
    hub_id = "distilroberta-base" if folder else model
    try:  # the registry knows the canonical hub id of the usual models
        from service.models import model_entry

        entry = model_entry(hub_id)
        if entry and entry.get("hf_canonical_id"):
            hub_id = entry["hf_canonical_id"]
    except Exception:  # noqa: BLE001 - advice only
        pass
    return (
        ("To fill a folder with a model (unspin's default shown; name the one you want), on a machine with "
         "internet run " if folder else "To use it, on a machine with internet run ")
        + f"`hf download {hub_id} --local-dir <dir>` (older huggingface_hub: `huggingface-cli download ...`) or "
        f"`python -c \"from transformers import AutoModelForMaskedLM as M, AutoTokenizer as T; "
        f"M.from_pretrained('{hub_id}').save_pretrained('<dir>'); T.from_pretrained('{hub_id}').save_pretrained('<dir>')\"`, "
        "copy <dir> to this machine and set UNSPIN_MODEL=<dir> (see models/README.md); "
        "or set UNSPIN_LM=ngram to use the embedded n-gram model."
    )


def _has_weights(folder: Path) -> bool:
    """The folder holds a weights file (``*.safetensors`` or ``*.bin``)."""
    return any(f.suffix in (".safetensors", ".bin") for f in folder.iterdir())


def _randomly_initialised(model, missing_keys) -> list[str]:
    """The parameters transformers reported missing from the weights file and filled at random.

    Not counted: buffers (computed, not learned, e.g. ``position_ids``) and parameters shared with
    one that was loaded (tied weights such as the output projection tied to the input embeddings).
    """
    params = dict(model.named_parameters(remove_duplicate=False))
    owners: dict[int, set[str]] = defaultdict(set)  # a tied parameter has several names
    for key, param in params.items():
        owners[id(param)].add(key)
    missing = set(missing_keys)
    return sorted(k for k in missing if k in params and owners[id(params[k])] <= missing)


class _Rows:
    """Collects (input, position, token) requests; each distinct input is run once for all of them."""

    def __init__(self) -> None:
        self.inputs: dict[tuple[int, ...], int] = {}  # distinct model input -> its index
        self.token_requests: list[tuple[int, int, int]] = []  # (input idx, position, token id)
        self.dist_requests: list[tuple[int, int]] = []  # (input idx, position): full ln-prob row wanted

    def _input(self, ids: Sequence[int]) -> int:
        return self.inputs.setdefault(tuple(ids), len(self.inputs))

    def token(self, ids: Sequence[int], pos: int, token: int) -> int:
        self.token_requests.append((self._input(ids), pos, token))
        return len(self.token_requests) - 1

    def dist(self, ids: Sequence[int], pos: int) -> int:
        self.dist_requests.append((self._input(ids), pos))
        return len(self.dist_requests) - 1


class TransformerLM(LanguageModel):
    """A Hugging Face masked LM as a :class:`LanguageModel` (see the module docstring for the scores)."""

    batches_across_texts = True  # one forward batch for many texts' slots beats one text at a time
    screens = True  # one unmasked pass per sentence ranks the slots (see screen)

    def __init__(
        self,
        model,
        tokenizer,
        *,
        name: str,
        device: str = "cpu",
        batch_size: int = 32,
        max_length: int | None = None,
        quantize: str | None = None,
    ) -> None:
        if torch is None:
            raise ModelUnavailable("torch is not installed: install torch==2.13.0 (CPU) and transformers, as the README's set-up does.")
        if tokenizer.mask_token_id is None:
            raise ModelUnavailable(f"{name}: the tokenizer has no mask token, so this is not a masked LM.")
        if getattr(model.config, "is_decoder", False):
            raise ModelUnavailable(
                f"{name}: its config says it is a decoder (is_decoder=true: a causal, left-to-right LM), not a masked LM."
            )
        self.name = name
        self.batch_size = max(1, int(batch_size))
        try:
            self.device = torch.device(device)
            if self.device.type == "meta":
                raise ValueError("the meta device holds no weights to compute with")
            self.model = model.to(self.device).eval()
        except (RuntimeError, AssertionError, ValueError) as exc:
            raise DeviceUnavailable(
                f"{name}: the torch device {device!r} (UNSPIN_DEVICE) is not usable here ({_first_line(exc)})."
            ) from exc
        self.tokenizer = tokenizer
        self.mask_id = int(tokenizer.mask_token_id)
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else 0
        self.unk_id = tokenizer.unk_token_id
        self.vocab_size = int(self.model.get_output_embeddings().weight.shape[0])
        self._check_tokenizer()
        self._prefix, self._suffix = self._special_tokens()
        self.max_length = self._model_max_length() if max_length is None else int(max_length)
        #: sub-tokens available for words in one model input
        self.body_length = self.max_length - len(self._prefix) - len(self._suffix)
        if self.body_length < 4:
            raise ModelUnavailable(f"{name}: a window of {self.max_length} tokens leaves no room for words.")
        self.max_word_pieces = max(1, min(MAX_WORD_PIECES, self.body_length // 4))
        self._pieces_cache: dict[tuple[str, bool], tuple[int, ...]] = {}
        self._filler_table: dict[bool, tuple[torch.Tensor, torch.Tensor, list[str]]] = {}
        #: counters for benchmarks and tests: distinct model input rows run, forward batches
        self.stats = {"rows": 0, "batches": 0}
        #: "int8" when the Linear layers were dynamically quantized (``quantize="int8"``), else None
        self.quantized = None
        if quantize not in (None, "", "none"):
            self._quantize(str(quantize))
        self._probe_out: tuple[torch.Tensor, torch.Tensor] | None = None
        try:
            self._head = self._find_head()
            self._logit_rows = self._find_logit_rows()
        except (IndexError, RuntimeError, ValueError) as exc:
            if self.device.type != "cpu":  # the weights moved there, but the device cannot run them
                raise DeviceUnavailable(
                    f"{name}: the torch device {device!r} (UNSPIN_DEVICE) cannot run the model ({_first_line(exc)})."
                ) from exc
            raise ModelUnavailable(
                f"{name}: the model fails on a one-word input ({_first_line(exc)}); are its tokenizer and weights "
                "from the same model?"
            ) from exc
        self._probe_out = None  # only needed to find the head

    def _check_tokenizer(self) -> None:
        """Refuse a tokenizer that cannot serve the model: one that reads common English words as
        unknown or as nothing (its files missing from the model's folder: transformers then makes
        an empty one), or another model's (see below)."""
        unknown = 0
        for word in _COMMON_WORDS:
            ids = self.tokenizer(" " + word, add_special_tokens=False)["input_ids"]
            if not ids or all(i == self.unk_id for i in ids):
                unknown += 1
        if unknown > len(_COMMON_WORDS) // 2:
            raise ModelUnavailable(
                f"{self.name}: its tokenizer reads common English words ({', '.join(_COMMON_WORDS[:4])}, ...) as unknown "
                "or as nothing: are the tokenizer's files (tokenizer.json, or vocab.txt, or vocab.json and merges.txt) "
                "in the model's folder?"
            )
        # Another model's tokenizer. A model often has more embedding rows than its tokenizer has
        # tokens (rows padded to a multiple of 8, 64 or 128 for speed, or spare rows reserved, as
        # DeBERTa-v3 keeps about a hundred), so fewer tokens is refused only beyond such a margin:
        # 128 rows or 2% of them, whichever is more. Within the margin, a tokenizer of another family still
        # shows itself by its special tokens: the config names the ids the model was trained with
        # (pad, and bos/eos/cls/sep/mask where it has them), which the model's own tokenizer shares.
        rows = int(self.model.get_input_embeddings().num_embeddings)  # the output layer may not be the vocabulary's (DeBERTa)
        n_tokens = len(self.tokenizer)
        if n_tokens > rows or n_tokens < rows - max(128, rows // 50):
            raise ModelUnavailable(
                f"{self.name}: its tokenizer has {n_tokens} tokens and the model {rows}: the tokenizer belongs to "
                "another model."
            )
        cfg = self.model.config
        for kind in ("pad", "bos", "eos", "cls", "sep", "mask"):
            want, got = getattr(cfg, f"{kind}_token_id", None), getattr(self.tokenizer, f"{kind}_token_id", None)
            if want is None or got is None:
                continue
            wanted = set(want) if isinstance(want, (list, tuple)) else {want}
            if int(got) not in {int(w) for w in wanted}:
                raise ModelUnavailable(
                    f"{self.name}: its tokenizer's {kind} token is id {got} and the model's config says {want}: the "
                    "tokenizer belongs to another model."
                )

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(
        cls,
        model: str,
        device: str = "cpu",
        local_files_only: bool = True,
        batch_size: int = 32,
        *,
        max_length: int | None = None,
        num_threads: int | None = None,
        quantize: str | None = None,
    ) -> "TransformerLM":
        """Load a masked LM by Hugging Face id or local directory.

        ``local_files_only=True`` (default) never downloads: an id must already be in the Hugging Face
        cache (huggingface_hub may still send a request of its own for an id, not for a folder,
        unless ``HF_HUB_OFFLINE=1``, which the Docker image sets). Raises :class:`ModelUnavailable`
        with instructions when it cannot load.
        ``num_threads`` sets torch's (process-wide) intra-op thread count; left alone when None.
        ``quantize="int8"`` quantizes the Linear layers dynamically (CPU only; see :meth:`_quantize`).
        """
        if torch is None:
            raise ModelUnavailable(
                f"Cannot load {model!r}: torch/transformers are not installed (install torch==2.13.0 (CPU) and transformers, as the README's set-up does)."
            )
        try:
            from transformers import AutoModelForMaskedLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover
            raise ModelUnavailable(f"Cannot load {model!r}: transformers is not installed ({exc}).") from exc

        path = Path(model).expanduser()
        is_dir = path.is_dir()
        if path.is_file():
            raise ModelUnavailable(
                f"UNSPIN_MODEL={model!r} is a file: give the folder holding the model's config.json, weights and "
                "tokenizer files (as save_pretrained writes them)."
            )
        if not is_dir and _looks_like_path(model):
            raise ModelUnavailable(f"Model directory {model!r} does not exist. " + _how_to_obtain(model))
        if is_dir and not (path / "config.json").is_file():
            lacking = "config.json" + ("" if _has_weights(path) else " and no weights (*.safetensors or *.bin)")
            raise ModelUnavailable(
                f"The folder {model!r} has no {lacking}: give the folder holding the model's config.json, weights and "
                "tokenizer files (as save_pretrained writes them)."
            )
        source = str(path) if is_dir else model
        name = "transformer:" + (path.resolve().name if is_dir else model)
        try:
            with quiet_loading():  # no progress bar in a report's stderr or a server's log
                tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
                lm, info = AutoModelForMaskedLM.from_pretrained(
                    source, local_files_only=local_files_only, output_loading_info=True
                )
        except Exception as exc:  # noqa: BLE001 - any file that does not load (missing, truncated, not a masked LM) says why
            reason = _first_line(exc)
            if "Unrecognized configuration class" in reason:
                reason = f"it is not a masked language model ({reason})"
            if is_dir:  # the folder is there: what is wrong is in it, not where to download
                raise ModelUnavailable(f"Cannot load the masked LM in the folder {model!r}: {reason}.") from exc
            where = "from local files (local_files_only=True)" if local_files_only else "locally or from the hub"
            here = f" (and there is no folder {model!r} here)" if "/" in model else ""
            raise ModelUnavailable(
                f"Cannot load masked LM {model!r} {where}{here}: {reason}. " + _how_to_obtain(model)
            ) from exc
        unloaded = _randomly_initialised(lm, info.get("missing_keys", ()))
        if unloaded:
            where = f"the folder {model!r}" if is_dir else repr(model)
            shown = ", ".join(unloaded[:4]) + (", ..." if len(unloaded) > 4 else "")
            prefix = getattr(lm, "base_model_prefix", "")
            if prefix and not any(k.startswith(prefix + ".") for k in unloaded):  # only the head on the encoder is absent
                what = "has no weights for its masked-LM head"
                why = "it is not a masked LM (an encoder saved without its head?)"
            else:
                what, why = "lacks some of the model's weights", "are its weights and config.json from the same model?"
            raise ModelUnavailable(
                f"Cannot load the masked LM in {where}: it {what} ({shown}; transformers would fill them with random "
                f"values, giving different scores at each load): {why}."
            )
        if num_threads:
            torch.set_num_threads(int(num_threads))
        return cls(
            lm, tokenizer, name=name, device=device, batch_size=batch_size, max_length=max_length, quantize=quantize
        )

    def _special_tokens(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The ids the tokenizer puts before and after a single sequence."""
        bare = self.tokenizer("hello", add_special_tokens=False)["input_ids"]
        full = self.tokenizer("hello", add_special_tokens=True)["input_ids"]
        for i in range(len(full) - len(bare) + 1):
            if full[i : i + len(bare)] == bare:
                return tuple(full[:i]), tuple(full[i + len(bare) :])
        cls_id = self.tokenizer.cls_token_id if self.tokenizer.cls_token_id is not None else self.tokenizer.bos_token_id
        sep_id = self.tokenizer.sep_token_id if self.tokenizer.sep_token_id is not None else self.tokenizer.eos_token_id
        return ((cls_id,) if cls_id is not None else ()), ((sep_id,) if sep_id is not None else ())

    def _model_max_length(self) -> int:
        cfg = self.model.config
        limit = int(getattr(cfg, "max_position_embeddings", 512) or 512)
        # RoBERTa-style position ids start after the padding index
        if "roberta" in cfg.model_type or cfg.model_type in _PADDING_OFFSET_TYPES:
            pad = getattr(cfg, "pad_token_id", None)
            limit -= (1 if pad is None else int(pad)) + 1
        tok_limit = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(tok_limit, int) and 0 < tok_limit < 100_000:
            limit = min(limit, tok_limit)
        return limit

    def _find_head(self):
        """A function mapping hidden states (N, H) to logits (N, V) without running the head on every position.

        Checked against the full model on a tiny input; falls back to full logits when unsure.
        """
        m = self.model
        candidates = []
        if hasattr(m, "lm_head"):
            candidates.append(m.lm_head)
        if hasattr(m, "cls"):
            candidates.append(m.cls)
        if all(hasattr(m, a) for a in ("vocab_transform", "activation", "vocab_layer_norm", "vocab_projector")):
            candidates.append(lambda h: m.vocab_projector(m.vocab_layer_norm(m.activation(m.vocab_transform(h)))))
        return self._first_exact(candidates, lambda head, hidden: head(hidden))

    def _probe(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Full logits and last hidden states of the model on a tiny input (computed once, cached)."""
        if self._probe_out is None:
            m = self.model
            ids = torch.tensor([list(self._prefix) + list(self._pieces("the", True)) + list(self._suffix)], device=self.device)
            mask = torch.ones_like(ids)
            with torch.inference_mode():
                full = m(input_ids=ids, attention_mask=mask).logits[0]
                hidden = m.base_model(input_ids=ids, attention_mask=mask)[0][0]
            self._probe_out = (full, hidden)
        return self._probe_out

    def _first_exact(self, candidates, logits_of):
        """The first candidate ``c`` whose ``logits_of(c, hidden)`` reproduces the model's own logits on
        the probe input (:meth:`_probe`), or None."""
        full, hidden = self._probe()
        with torch.inference_mode():
            for c in candidates:
                try:
                    got = logits_of(c, hidden)
                except Exception:  # noqa: BLE001 - not the head we guessed
                    continue
                if got.shape == full.shape and torch.allclose(got, full, atol=1e-4, rtol=1e-4):
                    return c
        return None

    def _quantize(self, kind: str) -> None:
        """Dynamic quantization of the ``nn.Linear`` layers (weights int8, activations quantized per batch).

        The vocabulary projection stays float: it is tied to the input embeddings, and keeping it
        lets :meth:`screen` compute only the logits it needs. CPU only. Scores move slightly (about
        0.1 in ln-prob on a random distilroberta-size model); see bench/README.md for what it buys.
        """
        if kind != "int8":
            raise ValueError(f"unknown quantization {kind!r} (expected 'int8' or 'none')")
        if self.device.type != "cpu":
            raise DeviceUnavailable(f"{self.name}: int8 dynamic quantization runs on the CPU only, not {self.device} "
                                    "(UNSPIN_QUANTIZE=none, or UNSPIN_DEVICE=cpu).")
        import warnings

        with warnings.catch_warnings():  # torch 2.13 marks the eager quantization API deprecated; it still works
            warnings.filterwarnings("ignore", message=".*quantiz.*deprecated", category=UserWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            out = self.model.get_output_embeddings()
            names = {n for n, m in self.model.named_modules() if isinstance(m, torch.nn.Linear) and m is not out}
            self.model = torch.ao.quantization.quantize_dynamic(self.model, names, dtype=torch.qint8)
        self.quantized = kind

    def _find_logit_rows(self):
        """``(transform, weight, bias)`` with ``logits[:, v] == transform(h) @ weight[v] + bias[v]``, or None.

        Lets :meth:`screen` compute the logits of the few tokens it compares instead of all ``V`` of
        them (the full vocabulary projection costs about as much per position as the encoder).
        Checked against the full head on a tiny input; None when the head is not one we know.
        """
        m = self.model
        out = m.get_output_embeddings()
        weight = getattr(out, "weight", None)
        if not isinstance(weight, torch.Tensor):
            return None  # e.g. a quantized projection
        bias = getattr(out, "bias", None)
        if not isinstance(bias, torch.Tensor):
            bias = torch.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device)
        transforms = []
        head = getattr(m, "lm_head", None)
        if head is not None and all(hasattr(head, a) for a in ("dense", "layer_norm")):
            from transformers.activations import gelu

            transforms.append(lambda h: head.layer_norm(gelu(head.dense(h))))
        preds = getattr(getattr(m, "cls", None), "predictions", None)
        if preds is not None and hasattr(preds, "transform"):
            transforms.append(preds.transform)
        if all(hasattr(m, a) for a in ("vocab_transform", "activation", "vocab_layer_norm")):
            transforms.append(lambda h: m.vocab_layer_norm(m.activation(m.vocab_transform(h))))
        transform = self._first_exact(transforms, lambda t, hidden: t(hidden) @ weight.T + bias)
        return None if transform is None else (transform, weight, bias)

    # ------------------------------------------------------------------ tokens

    def _pieces(self, word: str, initial: bool) -> tuple[int, ...]:
        return self._pieces_many([(word, initial)])[0]

    def _pieces_many(self, items: Sequence[tuple[str, bool]]) -> list[tuple[int, ...]]:
        """Sub-token ids of each (word, is sentence-initial), cached; unknown-only words get ``unk``."""
        cache = self._pieces_cache
        missing = list({it for it in items if it not in cache})
        if missing:
            if len(cache) > 500_000:
                cache.clear()
            texts = [w if initial else " " + w for w, initial in missing]
            encoded = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
            for key, ids in zip(missing, encoded):
                if not ids:
                    ids = [self.unk_id] if self.unk_id is not None else [self.mask_id]
                cache[key] = tuple(ids[: self.max_word_pieces])
        return [cache[it] for it in items]

    def _sentence_pieces(self, words: Sequence[str]) -> list[tuple[int, ...]]:
        return self._pieces_many([(w, i == 0) for i, w in enumerate(words)])

    @staticmethod
    def _context(
        left: Sequence[Sequence[int]], right: Sequence[Sequence[int]], budget: int
    ) -> tuple[list[int], list[int]]:
        """Whole words of context nearest the core: up to ``budget`` sub-tokens, shared half and half."""
        left_len = sum(map(len, left))
        right_len = sum(map(len, right))
        budget = max(0, budget)
        if left_len + right_len <= budget:
            return [t for w in left for t in w], [t for w in right for t in w]
        left_budget = min(left_len, max(budget // 2, budget - right_len))
        right_budget = min(right_len, budget - left_budget)
        kept_left: list[Sequence[int]] = []
        used = 0
        for w in reversed(left):
            if used + len(w) > left_budget:
                break
            kept_left.append(w)
            used += len(w)
        right_budget += left_budget - used  # room a long word left unused goes to the right
        kept_right: list[Sequence[int]] = []
        used = 0
        for w in right:
            if used + len(w) > right_budget:
                break
            kept_right.append(w)
            used += len(w)
        return [t for w in reversed(kept_left) for t in w], [t for w in kept_right for t in w]

    # ------------------------------------------------------------------ running the model

    def _run(self, rows: _Rows, raw: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """Run each distinct input once (batched, shortest first); answer every request from it.

        Returns ln-probs for the token requests and full ln-prob rows (numpy) for the dist requests.
        With ``raw`` the token answers are unnormalised logits instead (only their differences at one
        position mean anything), computed for the requested tokens only when the head allows it.
        """
        n_inputs = len(rows.inputs)
        keys = list(rows.inputs)  # insertion order == index order
        # per input and needed position: which token ids, and whether the full row is wanted
        want_tokens: list[dict[int, list[tuple[int, int]]]] = [defaultdict(list) for _ in range(n_inputs)]
        for r, (idx, pos, tok) in enumerate(rows.token_requests):
            want_tokens[idx][pos].append((r, tok))
        want_dist: list[dict[int, list[int]]] = [defaultdict(list) for _ in range(n_inputs)]
        for r, (idx, pos) in enumerate(rows.dist_requests):
            want_dist[idx][pos].append(r)

        token_out = np.full(len(rows.token_requests), np.nan, dtype=np.float64)
        dist_out: list[np.ndarray | None] = [None] * len(rows.dist_requests)
        order = sorted(range(n_inputs), key=lambda i: len(keys[i]))
        with torch.inference_mode():
            for b0 in range(0, n_inputs, self.batch_size):
                batch = order[b0 : b0 + self.batch_size]
                width = max(len(keys[i]) for i in batch)
                ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
                att = torch.zeros((len(batch), width), dtype=torch.long)
                for j, i in enumerate(batch):
                    ids[j, : len(keys[i])] = torch.tensor(keys[i], dtype=torch.long)
                    att[j, : len(keys[i])] = 1
                ids, att = ids.to(self.device), att.to(self.device)
                self.stats["rows"] += len(batch)
                self.stats["batches"] += 1
                sel_b: list[int] = []
                sel_t: list[int] = []
                for j, i in enumerate(batch):
                    for pos in sorted(set(want_tokens[i]) | set(want_dist[i])):
                        sel_b.append(j)
                        sel_t.append(pos)
                if not sel_b:
                    continue
                if raw and self._logit_rows is not None:
                    self._gather_logits(ids, att, batch, sel_b, sel_t, want_tokens, token_out)
                    continue
                if self._head is not None:
                    hidden = self.model.base_model(input_ids=ids, attention_mask=att)[0]
                    picked = hidden[torch.tensor(sel_b, device=self.device), torch.tensor(sel_t, device=self.device)]
                    logits_of = lambda a, b: self._head(picked[a:b])  # noqa: E731
                else:
                    full = self.model(input_ids=ids, attention_mask=att).logits
                    picked = full[torch.tensor(sel_b, device=self.device), torch.tensor(sel_t, device=self.device)]
                    logits_of = lambda a, b: picked[a:b]  # noqa: E731
                for c0 in range(0, len(sel_b), _HEAD_CHUNK):
                    lp = logits_of(c0, c0 + _HEAD_CHUNK).float()
                    lp = (lp if raw else torch.log_softmax(lp, dim=-1)).cpu().numpy()
                    for k in range(lp.shape[0]):
                        j, pos = sel_b[c0 + k], sel_t[c0 + k]
                        i = batch[j]
                        for r, tok in want_tokens[i].get(pos, ()):
                            token_out[r] = float(lp[k, tok])
                        for r in want_dist[i].get(pos, ()):
                            dist_out[r] = lp[k].copy()
        return token_out, dist_out  # type: ignore[return-value]

    def _gather_logits(self, ids, att, batch, sel_b, sel_t, want_tokens, token_out: np.ndarray) -> None:
        """Logits of just the requested tokens at the selected positions of one batch (into ``token_out``)."""
        transform, weight, bias = self._logit_rows
        hidden = self.model.base_model(input_ids=ids, attention_mask=att)[0]
        dev = self.device
        feats = transform(hidden[torch.tensor(sel_b, device=dev), torch.tensor(sel_t, device=dev)])
        req_k: list[int] = []
        req_tok: list[int] = []
        req_r: list[int] = []
        for k, (j, pos) in enumerate(zip(sel_b, sel_t)):
            for r, tok in want_tokens[batch[j]].get(pos, ()):
                req_k.append(k)
                req_tok.append(tok)
                req_r.append(r)
        if not req_r:
            return
        tok_t = torch.tensor(req_tok, device=dev)
        got = (feats[torch.tensor(req_k, device=dev)] * weight[tok_t]).sum(-1) + bias[tok_t]
        token_out[np.asarray(req_r, dtype=np.int64)] = got.float().cpu().numpy()

    # ------------------------------------------------------------------ interface

    def _unmasked_inputs(self, pieces: Sequence[Sequence[int]]) -> list[tuple[list[int], int]]:
        """Where each word is read in the unmasked pass: ``(model input, position of its first sub-token)``.

        One entry per word plus a last one for the sentence end (the position right after the last
        word: the suffix token, if the tokenizer adds one). Short sentences are one input; long ones
        are cut into groups of words, each with as much context as fits around it.
        """
        total = sum(map(len, pieces))
        if total <= self.body_length:
            groups = [(0, len(pieces))]
        else:
            groups, g0, used = [], 0, 0
            for i, p in enumerate(pieces):
                if used and used + len(p) > self.body_length // 2:
                    groups.append((g0, i))
                    g0, used = i, 0
                used += len(p)
            groups.append((g0, len(pieces)))
        out: list[tuple[list[int], int]] = []
        ids: list[int] = list(self._prefix) + list(self._suffix)
        pos = len(self._prefix)
        for g0, g1 in groups:
            core = [t for p in pieces[g0:g1] for t in p]
            left, right = self._context(pieces[:g0], pieces[g1:], self.body_length - len(core))
            ids = list(self._prefix) + left + core + right + list(self._suffix)
            pos = len(self._prefix) + len(left)
            for p in pieces[g0:g1]:
                out.append((ids, pos))
                pos += len(p)
        out.append((ids, pos))  # the last group has no right context: pos is just past the last word
        return out

    def token_logprobs(self, sentences: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Per word, ln P(first sub-token) from ONE unmasked pass (a screening signal, see module doc)."""
        rows = _Rows()
        plan: list[list[int]] = []
        for words in sentences:
            pieces = self._sentence_pieces(words)
            where = self._unmasked_inputs(pieces)
            plan.append([rows.token(ids, pos, p[0]) for p, (ids, pos) in zip(pieces, where)])
        values, _ = self._run(rows)
        return [values[np.asarray(r, dtype=np.int64)] if r else np.zeros(0) for r in plan]

    def screen(self, slots: Sequence[Slot]) -> list[np.ndarray]:
        """Per slot and alternative, how much the model would rather see it, from ONE unmasked pass per sentence.

        At the first word where the alternative differs from the text as written: the logit of the
        alternative's first sub-token minus the logit of the written word's first sub-token, at the
        written word's position (ln P(alt piece) - ln P(written piece) there: the softmax cancels, so
        only these two logits are computed). An alternative that only deletes words is read as the
        word that follows the deleted stretch (or the sentence end) moving up; one that only adds
        words as its first added word in front of the word after the slot. High means the model,
        seeing the sentence as written, would rather have this alternative there. The text as written
        offered again gets ``-inf``; an alternative whose first sub-token is the written one's (the
        screen cannot tell them apart) gets 0. Sentences shared by several slots are run once; no
        masked pass is made.
        """
        rows = _Rows()
        where_of: dict[tuple[str, ...], tuple[list[tuple[int, ...]], list[tuple[list[int], int]]]] = {}
        plan: list[list[tuple[int, int] | float]] = []  # per slot and alternative: (its request, written's) or a value
        for slot in slots:
            self._check(slot)
            toks = tuple(str(t) for t in slot.tokens)
            if toks not in where_of:
                pieces = self._sentence_pieces(toks)
                where_of[toks] = (pieces, self._unmasked_inputs(pieces))
            pieces, where = where_of[toks]
            s, e = slot.start, slot.end
            written = toks[s:e]
            pairs: list[tuple[int, int] | float] = []
            for alt in slot.alternatives:
                pairs.append(-np.inf)
                alt = tuple(str(t) for t in alt)
                d = 0
                while d < len(alt) and d < len(written) and alt[d] == written[d]:
                    d += 1
                if d == len(alt) == len(written):
                    continue  # the text as written again: nothing to gain
                at = s + d  # the sentence word (or the end, at len(toks)) the alternative is read against
                w_tok = pieces[at][0] if at < len(toks) else (self._suffix[0] if self._suffix else None)
                if d < len(alt):
                    c_tok = self._pieces(alt[d], at == 0)[0]
                elif e < len(toks):  # deletes written[d:]: would the following word fit here instead?
                    c_tok = self._pieces(toks[e], at == 0)[0]
                else:
                    c_tok = self._suffix[0] if self._suffix else None
                if w_tok is None or c_tok is None or w_tok == c_tok:
                    pairs[-1] = 0.0  # indistinguishable here: as likely as the text as written
                    continue
                ids, pos = where[at]
                pairs[-1] = (rows.token(ids, pos, c_tok), rows.token(ids, pos, w_tok))
            plan.append(pairs)
        values, _ = self._run(rows, raw=True)
        return [
            np.array([pr if isinstance(pr, float) else float(values[pr[0]] - values[pr[1]]) for pr in pairs], dtype=np.float64)
            for pairs in plan
        ]

    def _check(self, slot: Slot) -> None:
        if not (0 <= slot.start <= slot.end <= len(slot.tokens)):
            raise ValueError(f"slot [{slot.start}:{slot.end}] outside a sentence of {len(slot.tokens)} tokens")

    def compare(self, slots: Sequence[Slot]) -> list[np.ndarray]:
        """Per slot, ln-scores of ``[as written, *alternatives]`` (left-to-right masked chain, see module doc)."""
        rows = _Rows()
        plans: list[list[list[int]]] = []  # per slot, per filler: request indices to sum
        for slot in slots:
            self._check(slot)
            toks = [str(t) for t in slot.tokens]
            s, e = slot.start, slot.end
            fills = [tuple(toks[s:e])] + [tuple(str(t) for t in a) for a in slot.alternatives]
            neighbours = any(len(f) == 0 for f in fills)
            left_word = [toks[s - 1]] if neighbours and s > 0 else []
            right_word = [toks[e]] if neighbours and e < len(toks) else []
            left_words = toks[: s - len(left_word)]
            right_words = toks[e + len(right_word) :]
            # core (neighbours + filler) sub-tokens per filler; a word is sentence-initial iff first overall
            cores: list[list[tuple[int, ...]]] = []
            for f in fills:
                core_words = left_word + list(f) + right_word
                first = len(left_words)
                cores.append(self._pieces_many([(w, first + i == 0) for i, w in enumerate(core_words)]))
            left = self._sentence_pieces(left_words)
            right = self._pieces_many([(w, False) for w in right_words])
            core_max = max(sum(map(len, c)) for c in cores)
            lctx, rctx = self._context(left, right, self.body_length - core_max)
            room = self.body_length - len(lctx) - len(rctx)
            slot_plan: list[list[int]] = []
            for f, core in zip(fills, cores):
                flat = [t for w in core for t in w][:room]  # cut only in degenerate cases (huge fillers)
                base = list(self._prefix) + lctx + flat + rctx + list(self._suffix)
                at = len(self._prefix) + len(lctx)
                reqs: list[int] = []
                # the filler: left-to-right chain over all its sub-tokens
                n_left = len(core[0]) if left_word else 0
                n_fill = sum(len(w) for w in core[len(left_word) : len(core) - len(right_word)])
                f0, f1 = at + n_left, min(at + n_left + n_fill, at + len(flat))
                for p in range(f0, f1):
                    ids = base.copy()
                    ids[p:f1] = [self.mask_id] * (f1 - p)
                    reqs.append(rows.token(ids, p, base[p]))
                # neighbours (only when the slot has a deletion): each word left-to-right, rest visible
                spans = []
                if left_word:
                    spans.append((at, at + len(core[0])))
                if right_word:
                    r0 = f0 + n_fill
                    spans.append((r0, r0 + len(core[-1])))
                for w0, w1 in spans:
                    w1 = min(w1, at + len(flat))
                    for p in range(w0, w1):
                        ids = base.copy()
                        ids[p:w1] = [self.mask_id] * (w1 - p)
                        reqs.append(rows.token(ids, p, base[p]))
                slot_plan.append(reqs)
            plans.append(slot_plan)
        values, _ = self._run(rows)
        return [
            np.array([float(values[np.asarray(r, dtype=np.int64)].sum()) for r in sp], dtype=np.float64)
            for sp in plans
        ]

    def fillers(
        self, slots: Sequence[Slot], k: int = 50, restrict: Sequence[set[str] | None] | None = None
    ) -> list[list[tuple[str, float]]]:
        """Per one-word slot, the ``k`` likeliest whole lower-case alphabetic words for ONE mask there;
        ``restrict[i]``, when given and not None, limits slot i's to those words.

        Slots that are not exactly one word get an empty list.
        """
        rows = _Rows()
        plan: list[tuple[int, bool] | None] = []
        for slot in slots:
            self._check(slot)
            if slot.end - slot.start != 1 or k <= 0:
                plan.append(None)
                continue
            toks = [str(t) for t in slot.tokens]
            s = slot.start
            left = self._sentence_pieces(toks[:s])
            right = self._pieces_many([(w, False) for w in toks[s + 1 :]])
            lctx, rctx = self._context(left, right, self.body_length - 1)
            ids = list(self._prefix) + lctx + [self.mask_id] + rctx + list(self._suffix)
            plan.append((rows.dist(ids, len(self._prefix) + len(lctx)), s == 0))
        _, dists = self._run(rows)
        out: list[list[tuple[str, float]]] = []
        for slot_no, item in enumerate(plan):
            if item is None:
                out.append([])
                continue
            r, initial = item
            cand_ids, word_index, words = self._fillers_table(initial)
            probs = torch.from_numpy(np.exp(dists[r].astype(np.float64)))[cand_ids]
            merged = torch.zeros(len(words), dtype=torch.float64).index_add_(0, word_index, probs)
            if restrict is not None and restrict[slot_no] is not None:
                allowed = restrict[slot_no]
                merged *= torch.tensor([w in allowed for w in words], dtype=torch.float64)
            top = torch.topk(merged, min(k, len(words)))
            out.append(
                [(words[int(i)], math.log(float(v))) for v, i in zip(top.values, top.indices) if float(v) > 0.0]
            )
        return out

    def _fillers_table(self, initial: bool):
        """Vocabulary pieces that are whole alphabetic words at a (sentence-initial or inner) position."""
        if initial in self._filler_table:
            return self._filler_table[initial]
        tok = self.tokenizer
        special = set(getattr(tok, "all_special_ids", []) or [])
        vocab = tok.get_vocab()
        surfaces: list[tuple[int, str]] = []
        for piece, idx in vocab.items():
            if idx in special or idx >= self.vocab_size:
                continue
            surface = tok.convert_tokens_to_string([piece]).strip()
            if surface.isalpha():
                surfaces.append((idx, surface))
        encoded = self._pieces_many([(sf, initial) for _, sf in surfaces]) if surfaces else []
        word_of: dict[str, int] = {}
        cand, index = [], []
        for (idx, surface), enc in zip(surfaces, encoded):
            if enc != (idx,):
                continue  # a continuation piece, or not how the tokenizer writes this word here
            w = surface.lower()
            cand.append(idx)
            index.append(word_of.setdefault(w, len(word_of)))
        table = (
            torch.tensor(cand, dtype=torch.long),
            torch.tensor(index, dtype=torch.long),
            list(word_of),
        )
        self._filler_table[initial] = table
        return table
