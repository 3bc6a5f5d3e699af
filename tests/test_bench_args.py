"""The benchmark scripts refuse arguments that leave nothing to measure, before the engine loads.

Fast: each script runs in a child process in which ``service`` cannot be imported, so a script
that went on to load the engine would fail with an import error (exit 1) instead of the usage
error (exit 2) these tests expect. ``bench/scaling.py``'s document builder is called directly.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"

#: Runs a script as ``__main__`` with the engine's package made unimportable.
RUNNER = (
    "import runpy, sys; sys.modules['service'] = None; "
    "script = sys.argv[1]; sys.argv = sys.argv[1:]; runpy.run_path(script, run_name='__main__')"
)


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, str(BENCH / script), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture()
def corpus(tmp_path) -> Path:
    """Two Reuters-like articles: paragraphs of 4, 4 and 2 words, then one of 3."""
    path = tmp_path / "corpus.jsonl"
    bodies = ["one two three four\n    five six seven eight\n    nine ten", "eleven twelve thirteen"]
    path.write_text("".join(json.dumps({"body": b}) + "\n" for b in bodies), encoding="utf-8")
    return path


@pytest.mark.parametrize("args, option", [
    (["--sizes", "100", "--repeat", "0"], "--repeat"),
    (["--sizes", "100", "--repeat", "-2"], "--repeat"),
    (["--sizes", "0"], "--sizes"),
    (["--sizes", "100", "-5"], "--sizes"),
])
def test_scaling_refuses_counts_below_one(corpus, args, option):
    done = run("scaling.py", "--corpus", str(corpus), *args)
    assert done.returncode == 2, done.stderr
    assert f"argument {option}" in done.stderr and "at least 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_scaling_with_valid_arguments_goes_on_to_the_engine(corpus):
    """The check on the runner itself: valid arguments reach the (unimportable) engine."""
    done = run("scaling.py", "--corpus", str(corpus), "--sizes", "5", "--repeat", "1")
    assert done.returncode == 1 and "ModuleNotFoundError" in done.stderr, done.stderr


def test_throughput_refuses_nothing_to_measure():
    done = run("throughput.py", "--backend", "ngram", "--docs", "0", "--skip-seeds")
    assert done.returncode == 2, done.stderr
    assert "nothing to measure" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args, option", [
    (["--docs", "-1"], "--docs"),
    (["--batch-size", "0"], "--batch-size"),
])
def test_throughput_refuses_negative_counts(args, option):
    done = run("throughput.py", "--backend", "ngram", *args)
    assert done.returncode == 2, done.stderr
    assert f"argument {option}" in done.stderr
    assert "Traceback" not in done.stderr


def load_scaling():
    spec = importlib.util.spec_from_file_location("bench_scaling", BENCH / "scaling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size, expected", [
    (1, "one two three four"),
    (5, "one two three four"),  # 4 words is nearer 5 than 8
    (7, "one two three four\n    five six seven eight"),
    (10, "one two three four\n    five six seven eight\n    nine ten"),
    (12, "one two three four\n    five six seven eight\n    nine ten\n\neleven twelve thirteen"),
    (1000, "one two three four\n    five six seven eight\n    nine ten\n\neleven twelve thirteen"),
])
def test_scaling_cuts_documents_at_the_paragraph_break_nearest_the_size(corpus, size, expected):
    assert load_scaling().document(corpus, size) == expected
