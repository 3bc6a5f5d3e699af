"""Which language models exist and how to check a model file (see ``models/README.md``).

The registry ships as package data (``service/data/registry.json``, a copy of
``models/registry.json``; a test keeps the two identical).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from os import PathLike
from pathlib import Path

__all__ = ["load_registry", "model_entry", "sha256_file", "verify"]


def load_registry() -> dict:
    """The model registry: ``{"schema", "defaults", "models": [{"name", "backend", ...}, ...]}``.

    Returns a fresh copy each call (callers may modify it).
    """
    return json.loads(_registry_text())


@lru_cache(maxsize=1)
def _registry_text() -> str:
    return resources.files("service").joinpath("data/registry.json").read_text(encoding="utf-8")


def model_entry(name: str) -> dict | None:
    """The registry entry named ``name`` (e.g. ``"ngram:cmu-en-us"``; a bare HF id also matches), or None."""
    for entry in load_registry()["models"]:
        if name in (entry["name"], entry.get("hf_id"), entry.get("hf_canonical_id")):
            return entry
    return None


def sha256_file(path: str | PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: str | PathLike[str], expected: str | None) -> bool:
    """Whether the file exists and its SHA-256 equals ``expected`` (case-insensitive hex).

    False when the file is missing or ``expected`` is empty/None (nothing to verify against).
    """
    if not expected or not Path(path).is_file():
        return False
    return sha256_file(path) == expected.strip().lower()
