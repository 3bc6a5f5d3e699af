"""The ``unspin`` command line (service/cli.py): formats, folders, stdin, errors, eval, make-data, train.

Only mechanics are asserted (what is written where, exit codes, valid JSON), never which spans
are found: the fusion model is retrained independently.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi.testclient import TestClient

from service.api import create_app
from service.cli import main
from service.report import Report
from service.scoring import FEATURE_NAMES, FusionModel

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED = SEEDS / "002_2ef1442c87ee1781.txt"


#: every command runs with the n-gram backend and default settings (the session engine)
pytestmark = pytest.mark.usefixtures("ngram_env")


def invoke(runner: CliRunner, *args: str, input: bytes | None = None):
    return runner.invoke(main, list(args), input=input, catch_exceptions=False)


def jsonl(output: str) -> list[dict]:
    lines = [line for line in output.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def assert_report(record: dict, path: str) -> Report:
    r = Report.model_validate(record)
    assert r.path == path
    assert r.lm.startswith("ngram:cmu-en-us")
    assert r.stats.words > 800
    return r


# --------------------------------------------------------------------------- score


def test_bad_setting_is_a_usage_error(runner, monkeypatch):
    """An UNSPIN_* variable its setting does not take: exit 2 naming each one, no traceback; an empty
    one means unset."""
    monkeypatch.setenv("UNSPIN_THRESHOLD", "abc")
    monkeypatch.setenv("UNSPIN_MAX_SUGGESTIONS", "0")
    res = runner.invoke(main, ["score", str(SEED)])
    assert res.exit_code == 2
    assert "UNSPIN_THRESHOLD='abc'" in res.stderr and "UNSPIN_MAX_SUGGESTIONS='0'" in res.stderr
    assert "Traceback" not in res.output + res.stderr
    monkeypatch.setenv("UNSPIN_THRESHOLD", "")
    monkeypatch.delenv("UNSPIN_MAX_SUGGESTIONS")
    assert invoke(runner, "score", str(SEED)).exit_code == 0


def test_score_text_format(runner):
    res = invoke(runner, "score", str(SEED))
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith(f"{SEED}: ")
    assert "lm ngram:cmu-en-us" in lines[0] and "grammar not checked" in lines[0]
    # one line per span, each pointing at its line and offsets
    as_json = jsonl(invoke(runner, "score", "--format", "jsonl", str(SEED)).stdout)[0]
    assert len(lines) == 1 + len(as_json["spans"])
    for line, span in zip(lines[1:], as_json["spans"]):
        assert f"{span['start']}-{span['end']}" in line and "→" in line


def test_score_json_format(runner):
    res = invoke(runner, "score", "--format", "json", str(SEED))
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("{\n")  # indented, one document
    r = assert_report(json.loads(res.stdout), str(SEED))
    text = SEED.read_bytes().decode("utf-8")
    for s in r.spans:
        assert text[s.start : s.end] == s.text


def test_score_jsonl_format_and_threshold(runner):
    res = invoke(runner, "score", "--format", "jsonl", "--threshold", "0", str(SEED))
    assert res.exit_code == 0, res.output
    records = jsonl(res.stdout)
    assert len(records) == 1 and len(res.stdout.strip().splitlines()) == 1
    r = assert_report(records[0], str(SEED))
    assert len(r.spans) > 50  # threshold 0: every slot


def test_max_suggestions_as_a_v1_request_asks_for_them(runner, engine):
    """The command line had no way to ask for fewer or more suggestions than UNSPIN_MAX_SUGGESTIONS,
    which a /v1 request's "max_suggestions" sets; --max-suggestions does, with the same answer."""
    text = "Reporting by Josh Smith; Modifying by Lincoln Banquet\nThe two terrific powers met on Tuesday.\n"
    full = jsonl(invoke(runner, "score", "--format", "jsonl", "-", input=text.encode()).stdout)[0]
    assert any(len(sp["suggestions"]) > 1 for sp in full["spans"])
    for n in ("1", "7"):
        res = invoke(runner, "score", "--format", "jsonl", "--max-suggestions", n, "-", input=text.encode())
        got = jsonl(res.stdout)[0]
        with TestClient(create_app(engine.settings, engine=engine)) as client:
            api = client.post("/v1/score", json={"text": text, "options": {"max_suggestions": int(n)}}).json()
        assert [s["suggestions"] for s in got["spans"]] == [s["suggestions"] for s in api["spans"]], n
        assert all(len(s["suggestions"]) <= int(n) for s in got["spans"])
        assert [s["suggestions"][:1] for s in got["spans"]] == [s["suggestions"][:1] for s in full["spans"]]
    for bad in ("0", "51", "two"):
        res = runner.invoke(main, ["score", "--max-suggestions", bad, "-"], input=text.encode())
        assert res.exit_code == 2 and "--max-suggestions" in res.stderr, bad


def test_score_folder(runner, tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    for src, dst in zip(sorted(SEEDS.glob("*.txt"))[:2], ["a.txt", "sub/b.txt"]):
        shutil.copy(src, folder / dst)
    (folder / "notes.jsonl").write_text('{"ignored": true}\n')  # not a text suffix: skipped
    (folder / ".hidden.txt").write_text("skipped too")
    res = invoke(runner, "score", "--format", "jsonl", str(folder))
    assert res.exit_code == 0, res.output
    records = jsonl(res.stdout)
    assert [rec["path"] for rec in records] == [str(folder / "a.txt"), str(folder / "sub" / "b.txt")]
    for rec in records:
        assert_report(rec, rec["path"])


def test_score_stdin(runner):
    data = SEED.read_bytes()
    res = invoke(runner, "score", "--format", "jsonl", "-", input=data)
    assert res.exit_code == 0, res.output
    (rec,) = jsonl(res.stdout)
    r = assert_report(rec, "-")
    text = data.decode("utf-8")
    assert all(text[s.start : s.end] == s.text for s in r.spans)


def test_score_output_file(runner, tmp_path):
    out = tmp_path / "out" / "reports.jsonl"
    out.parent.mkdir()
    res = invoke(runner, "score", "--format", "jsonl", "--output", str(out), str(SEED))
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    assert sorted(p.name for p in out.parent.iterdir()) == ["reports.jsonl"]  # no .part left
    (rec,) = jsonl(out.read_text(encoding="utf-8"))
    assert_report(rec, str(SEED))


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(SEED, folder / "b_good.txt")
    (folder / "a_binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "c_latin1.txt").write_bytes("Caf\u00e9 au lait was served in the caf\u00e9.".encode("latin-1"))
    (folder / "d_empty.txt").write_bytes(b"")
    return folder


def test_score_bad_files_jsonl(runner, mixed_folder):
    res = invoke(runner, "score", "--format", "jsonl", str(mixed_folder))
    assert res.exit_code == 1
    records = {Path(rec["path"]).name: rec for rec in jsonl(res.stdout)}
    assert list(records) == ["a_binary.txt", "b_good.txt", "c_latin1.txt", "d_empty.txt"]
    assert set(records["a_binary.txt"]) == {"path", "error"} and "binary" in records["a_binary.txt"]["error"]
    assert "not valid UTF-8" in records["c_latin1.txt"]["error"]
    assert "empty" in records["d_empty.txt"]["error"]
    assert_report(records["b_good.txt"], str(mixed_folder / "b_good.txt"))
    assert "3 of 4 documents failed" in res.stderr


def test_score_bad_files_text_and_output(runner, mixed_folder, tmp_path):
    res = invoke(runner, "score", str(mixed_folder))
    assert res.exit_code == 1
    assert "a_binary.txt: error: looks like binary data" in res.stderr
    assert "c_latin1.txt: error: not valid UTF-8" in res.stderr
    assert "3 of 4 documents failed" in res.stderr
    assert res.stdout.startswith(f"{mixed_folder / 'b_good.txt'}: ") and ": error:" not in res.stdout
    # with --output the file is still completed (errors included) and no .part is left
    out = tmp_path / "reports.jsonl"
    res = invoke(runner, "score", "--format", "jsonl", "-o", str(out), str(mixed_folder))
    assert res.exit_code == 1
    assert not out.with_name(out.name + ".part").exists()
    assert len(jsonl(out.read_text(encoding="utf-8"))) == 4


def test_numbers_that_are_not_finite_are_usage_errors(runner, tmp_path):
    """NaN and infinities pass a range check (every comparison with NaN is false): refused up front,
    naming the option, for every command's number options."""
    commands = {
        "--threshold": ["score", str(SEED)],
        "--rate": ["make-data", "--corpus", str(SEED), "--out", str(tmp_path / "data")],
        "--target": ["train", "--data", str(SEED), "--out", str(tmp_path / "f.json")],
        "--prior-strength": ["train", "--data", str(SEED), "--out", str(tmp_path / "f.json")],
        "--prior-target": ["train", "--data", str(SEED), "--out", str(tmp_path / "f.json")],
    }
    for option, args in commands.items():
        for value in ("nan", "inf"):
            res = runner.invoke(main, [*args, option, value])
            assert res.exit_code == 2 and f"Invalid value for '{option}'" in res.stderr, (option, value, res.output)
    res = runner.invoke(main, ["make-data", "--corpus", str(SEED), "--out", str(tmp_path / "data"), "--rate", "2"])
    assert res.exit_code == 2 and "0<=x<=1" in res.stderr  # the spinner takes a fraction
    assert not (tmp_path / "data").exists()


def test_encoding_must_be_a_text_codec(runner):
    for name, why in (("rot13", "'rot13' is not a text encoding"), ("base64", "is not a text encoding"),
                      ("no-such-codec", "unknown encoding 'no-such-codec'")):
        res = runner.invoke(main, ["score", "--encoding", name, str(SEED)])
        assert res.exit_code == 2 and "--encoding" in res.stderr and why in res.stderr, res.output


def test_empty_path_is_a_usage_error(runner):
    """Path("") is the current folder: an empty argument (an unset shell variable) must not score it."""
    res = runner.invoke(main, ["score", "--format", "jsonl", "", str(SEED)])
    assert res.exit_code == 2 and "an empty path names no file" in res.stderr
    assert res.stdout == ""


# --------------------------------------------------------------------------- eval


def test_eval_json(runner):
    res = invoke(runner, "eval", "--gold", str(SEEDS / "labels.jsonl"), "--texts", str(SEEDS), "--json")
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    keys = {"precision", "recall", "f1", "acc_at_1", "acc_at_3", "false_flags_per_1k", "auc"}
    assert keys <= set(m)
    for k in ("precision", "recall", "f1", "acc_at_1", "acc_at_3"):
        assert m[k] is None or 0.0 <= m[k] <= 1.0, (k, m[k])
    assert m["false_flags_per_1k"] is None or m["false_flags_per_1k"] >= 0.0


def test_eval_sentence_docs(runner, engine, tmp_path):
    """--sentence-docs scores the clean documents' sentences one at a time: the flags are those of
    the engine for each sentence, as an editor's client sending sentences would get them."""
    from service.text import segment

    clean = tmp_path / "clean"  # mechanics only: the spun seed passed as "clean", so that there are flags to count
    clean.mkdir()
    shutil.copy(SEED, clean / "002.txt")
    res = invoke(runner, "eval", "--gold", str(SEEDS / "labels.jsonl"), "--texts", str(SEEDS), "--clean", str(clean),
                 "--sentence-docs", "1", "--json")
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    texts = [s.text for s in segment(SEED.read_text(encoding="utf-8")) if s.tokens]
    reports = [engine.score(t) for t in texts]
    assert m["sentence_texts"] == len(texts) > 10 and m["sentence_flags"] > 0
    assert m["sentence_words"] == sum(r.stats.words for r in reports)
    assert m["sentence_flags"] == sum(1 for r in reports for sp in r.spans if sp.kind == "spun")
    assert m["sentence_false_flags_per_1k"] == pytest.approx(1000 * m["sentence_flags"] / m["sentence_words"])
    res = invoke(runner, "eval", "--gold", str(SEEDS / "labels.jsonl"), "--texts", str(SEEDS), "--sentence-docs", "-1")
    assert res.exit_code != 0 and "sentence-docs" in res.output


def test_eval_table(runner):
    res = invoke(runner, "eval", "--gold", str(SEEDS / "labels.jsonl"), "--texts", str(SEEDS), "--limit", "1")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("lm: ngram:cmu-en-us\n") and "span F1" in res.stdout


# --------------------------------------------------------------------------- make-data and train

CORPUS_SENTENCES = [
    "The central bank raised interest rates on Tuesday to curb rising inflation.",
    "Officials said the decision would help stabilize the economy over the coming months.",
    "Analysts expect the government to announce new measures to support small businesses.",
    "The company reported a sharp increase in quarterly profits despite weak demand.",
    "Shares rose more than three percent in early trading after the announcement.",
    "The minister told reporters that the talks had been difficult but productive.",
    "Several countries have called for an immediate end to the fighting in the region.",
    "The new policy is likely to face strong opposition from lawmakers in parliament.",
    "Prices of crude oil fell sharply as investors worried about slowing global growth.",
    "The agreement will allow both sides to resume trade after a long dispute.",
    "Experts warned that the storm could cause serious damage to coastal towns.",
    "The president said he would meet foreign leaders next week to discuss security.",
]


def _corpus_ids() -> list[str]:
    """Ten ids: eight in the 'train' split, two held out (the split hashes the id)."""
    from service.spinner import split_of

    train = [f"doc-{i}" for i in range(100) if split_of(f"doc-{i}") == "train"][:8]
    test = [f"doc-{i}" for i in range(100) if split_of(f"doc-{i}") == "test"][:2]
    return train + test


def test_make_data_and_train(runner, tmp_path, engine, monkeypatch):
    # training starts from a neutral fusion and never loads the shipped one, which no longer
    # loads once a change of features makes it stale ("retrain it")
    import service.engine

    def stale(lm_name):
        raise ValueError("fusion model features do not match this version of unspin; retrain it")

    monkeypatch.setattr(service.engine, "_load_fusion", stale)
    corpus = tmp_path / "corpus.jsonl"
    with open(corpus, "w", encoding="utf-8") as fh:
        for n, doc_id in enumerate(_corpus_ids()):
            k = len(CORPUS_SENTENCES)
            body = " ".join(CORPUS_SENTENCES[(n + 3 * j) % k] for j in range(5))  # ~65 words
            fh.write(json.dumps({"id": doc_id, "body": body}) + "\n")

    data = tmp_path / "data"
    res = invoke(runner, "make-data", "--corpus", str(corpus), "--out", str(data), "--test", "1", "--rate", "0.15")
    assert res.exit_code == 0, res.output
    stats = json.loads(res.stdout)
    assert stats["train"]["docs"] == 8 and stats["test"]["docs"] == 1
    assert sorted(p.name for p in data.iterdir()) == ["clean_test.jsonl", "test.jsonl", "train.jsonl"]
    train_docs = jsonl((data / "train.jsonl").read_text(encoding="utf-8"))
    assert len(train_docs) == 8 and len(jsonl((data / "test.jsonl").read_text(encoding="utf-8"))) == 1
    assert len(jsonl((data / "clean_test.jsonl").read_text(encoding="utf-8"))) == 1
    for d in train_docs:
        assert {"id", "text", "clean", "spans"} <= set(d)
        for s in d["spans"]:  # gold offsets point into the spun text
            assert d["text"][s["start"] : s["end"]] == s["text"]
    assert sum(len(d["spans"]) for d in train_docs[:5]) > 0
    # --mix broad: the same documents, spun from a wider range of thesaurus relations
    res = invoke(runner, "make-data", "--corpus", str(corpus), "--out", str(tmp_path / "broad"), "--test", "1",
                 "--rate", "0.15", "--mix", "broad")
    assert res.exit_code == 0, res.output
    broad_docs = jsonl((tmp_path / "broad" / "train.jsonl").read_text(encoding="utf-8"))
    assert [d["clean"] for d in broad_docs] == [d["clean"] for d in train_docs]
    assert [d["text"] for d in broad_docs] != [d["text"] for d in train_docs]
    res = invoke(runner, "make-data", "--corpus", str(corpus), "--out", str(tmp_path / "x"), "--mix", "wide")
    assert res.exit_code == 2 and "wide" in res.stderr
    from service.cli import make_data
    from service.spinner import MIXES

    assert set(next(p for p in make_data.params if p.name == "mix_name").type.choices) == set(MIXES)

    # the replaced-word detector's probe, kept apart from the fusion's documents with --exclude
    from service.detector import ReplacedWordDetector

    probe = tmp_path / "detector.npz"
    res = invoke(runner, "train-detector", "--data", str(data / "train.jsonl"), "--docs", "6", "--epochs", "1",
                 "--rank", "2", "--out", str(probe))
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("6 documents, ") and str(probe) in res.stdout
    assert ReplacedWordDetector.load(engine.relatedness.model_dir, probe).probe is not None
    res = invoke(runner, "train-detector", "--data", str(data / "train.jsonl"), "--exclude", str(data / "train.jsonl"),
                 "--out", str(tmp_path / "none.npz"))
    assert res.exit_code == 2 and "both spun and clean" in res.output  # every document excluded: a clear error

    # the corrector, on the shipped detector's states
    from service.corrector import Corrector
    from service.detector import DEFAULT_PATH as DETECTOR_PATH

    corrector = tmp_path / "corrector.npz"
    res = invoke(runner, "train-corrector", "--data", str(data / "train.jsonl"), "--docs", "6", "--epochs", "1",
                 "--out", str(corrector))
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("6 documents, ") and str(corrector) in res.stdout
    assert Corrector.load(corrector, engine.relatedness, DETECTOR_PATH) is not None
    res = invoke(runner, "train-corrector", "--data", str(data / "train.jsonl"), "--exclude", str(data / "train.jsonl"),
                 "--out", str(tmp_path / "none.npz"))
    assert res.exit_code == 2 and "both replaced" in res.output

    out = tmp_path / "tmp" / "fusion.json"
    out.parent.mkdir()
    res = invoke(runner, "train", "--data", str(data / "train.jsonl"), "--docs", "5", "--clean-docs", "3",
                 "--out", str(out), "--progress")
    assert res.exit_code == 0, res.output
    assert str(out) in res.stdout and "threshold" in res.stdout
    # each pass shown: calibration had been minutes without a word after "train: 5/5"
    assert "train: 5/5 doc" in res.stderr and "calibrate: 3/3 text" in res.stderr
    assert "calibrate sentences: " in res.stderr
    fusion = FusionModel.load(out)
    assert len(fusion.coef) == len(fusion.mean) == len(fusion.scale) == len(FEATURE_NAMES)
    assert 0.0 < fusion.threshold <= 0.99
    assert fusion.meta["lm"] == "ngram:cmu-en-us" and fusion.meta["data"] == "train.jsonl"
    assert fusion.meta["positives"] > 0
    assert fusion.slot is not None and 0 < fusion.meta["spun_slots"] < fusion.meta["slots"]
    assert 0.0 < fusion.prior_target < fusion.train_prior < 1.0 and fusion.prior_strength == 100.0  # prior on by default
    res = invoke(runner, "train", "--data", str(data / "train.jsonl"), "--docs", "5", "--clean-docs", "3",
                 "--no-prior", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert FusionModel.load(out).train_prior is None

    # the trained fusion drives an engine end to end
    from service.engine import Engine

    e = Engine(engine.settings, ngram=engine.ngram, fusion=fusion, lexicon=engine.lexicon)
    text = train_docs[0]["text"]
    r = e.score(text, threshold=0.0)
    assert r.spans and all(text[s.start : s.end] == s.text for s in r.spans)


@pytest.mark.parametrize("command", [
    ["restore", str(SEED)],
    ["restore", str(SEED), "-o", "{tmp}/out.txt"],
    ["eval", "--gold", str(SEEDS / "labels.jsonl"), "--texts", str(SEEDS), "--details", "{tmp}/details.jsonl"],
    ["prepare", "--words", "0"],
])
def test_ctrl_c_ends_every_command_as_it_ends_score(runner, monkeypatch, tmp_path, command):
    """Ctrl-C (here while the engine loads) ends ``restore``, ``eval`` and the others with
    "interrupted" and exit code 130, as it ends ``score``: click's own "Aborted!" and exit code 1
    had been the code ``restore`` gives a document that cannot be scored. Nothing is written."""
    import service.engine

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(service.engine, "load_engine", ctrl_c)
    res = runner.invoke(main, [a.replace("{tmp}", str(tmp_path)) for a in command])
    assert res.exit_code == 130, (res.output, res.exception)
    assert res.stderr.strip().splitlines()[-1] == "interrupted" and "Aborted" not in res.output + res.stderr
    assert res.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["prepare", "--words", "0"]])
def test_a_model_that_cannot_load_is_a_usage_error_for_every_command(runner, monkeypatch, tmp_path, command):
    """``prepare`` (like the training commands) says why the engine cannot start, as ``score``
    does, instead of a traceback."""
    monkeypatch.setenv("UNSPIN_LM", "transformer")
    monkeypatch.setenv("UNSPIN_MODEL", str(tmp_path / "no-such-model"))
    res = runner.invoke(main, command)
    assert res.exit_code == 2, res.output
    assert "the engine cannot start" in res.stderr and "no-such-model" in res.stderr
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_prepare_stores_the_most_frequent_words(runner, engine):
    res = invoke(runner, "prepare", "--words", "30")
    assert res.exit_code == 0, res.output
    assert "candidates of 30 words stored" in res.stdout and "neighbour store neighbours-" in res.stdout
    store = engine.candidates.store  # the same file the command wrote (same settings)
    assert all(store.get("near", w) is not None for w in engine.common_words(30))
    res = invoke(runner, "prepare", "--words", "-1")
    assert res.exit_code == 2 and "--words" in res.output
