"""Shared fixtures: one n-gram engine for the whole session, the seed texts, a tiny masked LM.

The engine is built once (the first build creates the bigram/WordNet caches, ~10 s) and is
never mutated by tests: a test that needs other settings, another lexicon or another fusion
builds its own ``Engine`` around the session engine's language model (cheap).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"

#: Words for the tiny masked LM's tokenizer (the model is random: only mechanics are tested).


def seed_paths() -> list[Path]:
    """The seed documents (``seeds/*.txt``), sorted."""
    return sorted(SEEDS.glob("*.txt"))


def read_seed(path: Path) -> str:
    """A seed decoded exactly as the CLI decodes files (no newline translation)."""
    from service.decoding import decode

    return decode(path.read_bytes())


# The second look (SmolLM2-135M at doubtful slots) costs two to three minutes on seed 002. Tests of
# the engine's mechanics, the API, the CLI and batches run without it (commands started by a test
# inherit this); the tests of the shipped default (test_quality, test_second_look) ask for it by
# name with the ``shipped_engine`` fixture.
os.environ["UNSPIN_SECOND_LOOK"] = "off"


@pytest.fixture(scope="session")
def engine():
    """The process-wide n-gram engine without the second look (``get_engine`` caches it, so CLI
    tests that run with ``UNSPIN_LM=ngram`` and otherwise default settings reuse this very engine)."""
    from service.config import Settings
    from service.engine import get_engine

    return get_engine(Settings(lm="ngram", second_look="off"))


@pytest.fixture(scope="session")
def shipped_engine(engine):
    """The engine as shipped: the n-gram model with the second look when its model is installed
    (the set-up script installs it), sharing the session engine's n-gram model."""
    from service.config import Settings
    from service.engine import Engine

    return Engine(Settings(lm="ngram", second_look="auto"), lm=engine.lm, ngram=engine.ngram)


@pytest.fixture(scope="session")
def seeds() -> dict[str, str]:
    """Seed file name -> text."""
    paths = seed_paths()
    if len(paths) < 2:
        pytest.skip("the seed documents are missing from seeds/")
    return {p.name: read_seed(p) for p in paths}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny BERT masked LM with its WordPiece tokenizer, saved with ``save_pretrained``.

    Built by the transformer backend's own test helper (briefly trained on a few sentences),
    enough to exercise the transformer path through the engine.
    """
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from test_lm_transformer import _build

    return _build("bert", tmp_path_factory.mktemp("tiny-bert"), train_steps=10)


@pytest.fixture(scope="session")
def _fake_languagetool_server():
    """One fake LanguageTool server (``tests/fake_languagetool.py``) for the whole session."""
    from fake_languagetool import FakeLanguageTool

    server = FakeLanguageTool().start()
    yield server
    server.stop()


@pytest.fixture
def fake_languagetool(_fake_languagetool_server):
    """The fake LanguageTool server: ``.url`` is its base URL, ``.set_mode("down" | "slow" | "500" |
    "garbage" | "bad_json" | "trickle" | "incomplete" | "ok")`` switches faults, ``.add_rule(FakeRule(...))`` adds a rule,
    ``.requests`` lists what it received. Reset to ``ok`` (no extra rules, no requests) around each test."""
    _fake_languagetool_server.reset()
    yield _fake_languagetool_server
    _fake_languagetool_server.reset()


@pytest.fixture
def ngram_env(monkeypatch, engine):
    """Commands run with the n-gram backend and default settings, so ``get_engine`` hands them the
    session engine (no ``UNSPIN_*`` variable of the calling shell leaks in)."""
    from unspin_env import isolate

    isolate(monkeypatch, lm="ngram")


@pytest.fixture
def runner():
    """A click test runner that keeps stdout and stderr apart (on every click version)."""
    from click.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()  # click >= 8.2: always apart
