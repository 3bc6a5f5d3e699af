"""The ``UNSPIN_*`` settings a test runs under: none of the calling shell's, the second look off
(as ``conftest.py`` sets for the whole run), and what the test asks for."""

from __future__ import annotations

import os

import pytest


def _wanted(values: dict[str, str]) -> dict[str, str]:
    return {"UNSPIN_SECOND_LOOK": "off", **{f"UNSPIN_{key.upper()}": value for key, value in values.items()}}


def isolate(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Clear every ``UNSPIN_*`` variable for this test, then set the second look off and ``values``
    (``lm="ngram"`` sets ``UNSPIN_LM``; ``second_look="auto"`` overrides the default off)."""
    for key in [k for k in os.environ if k.startswith("UNSPIN_")]:
        monkeypatch.delenv(key)
    for key, value in _wanted(values).items():
        monkeypatch.setenv(key, value)


def child_environ(**values: str) -> dict[str, str]:
    """This process's environment for a child process, with ``UNSPIN_*`` as :func:`isolate` sets it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNSPIN_")}
    env.update(_wanted(values))
    return env
