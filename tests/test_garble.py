"""The garble score and the synthetic garbler."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from service.garble import FEATURE_NAMES, GarbleModel, default_garble_path, load_garble_model, text_features
from service.garbler import OPS, garble

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "reuters21578.jsonl"
CLEAN = "The company said it expects to report a loss in the first quarter of next year."


def test_shipped_model_loads_and_scores(engine) -> None:
    assert default_garble_path().exists()
    model = load_garble_model()
    assert not model.meta.get("untrained") and len(model.coef) == len(FEATURE_NAMES)
    x = text_features(engine.ngram, CLEAN)
    assert x is not None and x.shape == (len(FEATURE_NAMES),)
    s = model.score(x)
    assert 0.0 < s < 1.0
    assert model.score(x, grammar_errors=1, words=15) > s  # grammar errors add to it
    assert model.score(None) == 0.0 and text_features(engine.ngram, "Hello there.") is None  # too short


def test_garbled_versions_score_higher(engine) -> None:
    model = load_garble_model()
    clean = model.score(text_features(engine.ngram, CLEAN))
    for bad in (
        "The said company it expects to report loss in the quarter first of next year.",
        "Company said it expects report a loss first quarter next year.",
    ):
        assert model.score(text_features(engine.ngram, bad)) > clean


def test_model_round_trip(tmp_path) -> None:
    import numpy as np

    m = GarbleModel(np.zeros(len(FEATURE_NAMES)), np.ones(len(FEATURE_NAMES)), np.arange(len(FEATURE_NAMES)) / 10, 0.3)
    m.save(tmp_path / "g.json")
    m2 = GarbleModel.load(tmp_path / "g.json")
    assert np.allclose(m.coef, m2.coef) and m2.intercept == 0.3


def test_garbler_operations(engine) -> None:
    th = engine.thesaurus
    rng = random.Random(3)
    swapped = garble(CLEAN, "swap", rng, th)
    assert swapped != CLEAN and sorted(swapped.split()) == sorted(CLEAN.split())
    dropped = garble(CLEAN, "drop", random.Random(1), th)
    removed = set(CLEAN.split()) - set(dropped.split())
    assert removed and removed <= {"a", "in", "the", "of", "to"} and len(dropped.split()) < len(CLEAN.split())
    literal = garble(CLEAN, "literal", random.Random(2), th)
    assert literal != CLEAN and len(literal.split()) >= len(CLEAN.split())
    assert garble("Stocks rose.", "drop", rng, th) is None
    assert garble(CLEAN, "swap", random.Random(5), th) == garble(CLEAN, "swap", random.Random(5), th)
    with pytest.raises(ValueError):
        garble(CLEAN, "shuffle", rng, th)
    assert OPS == ("swap", "drop", "literal")


def test_eval_garble_command() -> None:
    if not CORPUS.exists():
        pytest.skip("Reuters corpus absent (../shared/corpora/reuters21578.jsonl relative to the repo)")
    import json

    from click.testing import CliRunner

    from service.cli import main

    res = CliRunner().invoke(main, ["eval-garble", "--corpus", str(CORPUS), "--n", "120", "--seed", "0", "--json",
                                    "--progress"])
    assert res.exit_code == 0, res.output
    assert re.search(r"^sentences: \d+/\d+ sentence \[", res.stderr, re.M) and "\r" not in res.stderr
    out = json.loads(res.stdout)
    assert out["sentences"] > 100 and 0 < out["garbled"] < out["sentences"]
    assert out["auc"] > 0.55 and set(out["by_op"]) == set(OPS)
    assert 0 < out["mean_clean"] < out["mean_garbled"] < 1 and 0 <= out["clean_over_half"] <= 1
    short = CliRunner().invoke(main, ["eval-garble", "--corpus", str(CORPUS), "--n", "60", "--min-words", "4",
                                      "--max-words", "7"])
    assert short.exit_code == 0, short.output
    assert "sentences of 4-7 words" in short.stdout and "of the clean ones over 0.5" in short.stdout
    backwards = CliRunner().invoke(main, ["eval-garble", "--corpus", str(CORPUS), "--min-words", "9", "--max-words", "4"])
    assert backwards.exit_code == 2 and "--min-words 9 is over --max-words 4" in backwards.stderr
