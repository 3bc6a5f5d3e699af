"""Quiet model loading: transformers' progress bars and info messages are of no use in a report
or a server log, so they are turned off while a model is read (shared by
:mod:`service.causal_lm`, :mod:`service.relatedness` and :mod:`service.lm.transformer`)."""

from __future__ import annotations

import contextlib
import io
from typing import Iterator


@contextlib.contextmanager
def quiet_loading(stderr: bool = False) -> Iterator[None]:
    """transformers' progress bars off and its messages below errors while a model is read; both are
    as before after (a caller that shows transformers' bars keeps them). ``stderr``: swallow what is
    written to stderr meanwhile too (the GGUF reader draws a bar of its own)."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with contextlib.redirect_stderr(io.StringIO()) if stderr else contextlib.nullcontext():
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
