"""Inputs of the data-making and training commands (``make-data``, ``train``, ``train-detector``,
``train-corrector``, ``train-garble``, ``eval-garble``): checked before any work, refused with a
usage error (exit 2) naming the file and line, never a traceback, never a silent empty or
uncalibrated result.

Every model-building step is replaced by a stub that fails the test when reached, so that the
tests stay fast and prove that a bad input stops the command before any work.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from service.cli import main
from service.spinner import DataError, read_corpus, read_spun_docs, select_documents, split_of

BODY = ("The central bank raised interest rates on Tuesday to curb rising inflation. Officials said the "
        "decision would help stabilize the economy over the coming months.")


def _ids(split: str, n: int) -> list[str]:
    """``n`` document ids that :func:`split_of` puts in ``split`` ("train" or "test")."""
    return [i for i in (f"doc-{k}" for k in range(200)) if split_of(i) == split][:n]


def _write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _spun_doc(doc_id: str) -> dict:
    """A make-data line: "bank" spun as "depository"."""
    text = BODY.replace("central bank", "central depository")
    start = text.index("depository")
    return {"id": doc_id, "text": text, "clean": BODY,
            "spans": [{"start": start, "end": start + len("depository"), "text": "depository", "original": "bank"}]}


class WorkStarted(AssertionError):
    pass


def _refuse(*_args, **_kwargs):
    raise WorkStarted("a model was loaded or trained before the inputs were checked")


@pytest.fixture
def clean_env(monkeypatch):
    """Default settings with the n-gram backend and without the second look: no UNSPIN_* variable of
    the calling shell leaks in."""
    from unspin_env import isolate

    isolate(monkeypatch, lm="ngram")


@pytest.fixture
def env(clean_env, monkeypatch):
    """Default settings, and every model load or training step a failure: the commands under test
    must stop before any of them."""
    import service.corrector_training
    import service.detector_training
    import service.engine
    import service.garble_eval
    import service.lm.ngram
    import service.relatedness
    import service.training

    for module, name in ((service.engine, "build_engine"), (service.engine, "get_engine"),
                         (service.engine, "get_relatedness"), (service.training, "train"),
                         (service.detector_training, "train_detector"), (service.relatedness, "Encoder"),
                         (service.corrector_training, "train_corrector"), (service.garble_eval, "train_garble_model"),
                         (service.garble_eval, "evaluate_garble"), (service.lm.ngram, "NGramLM")):
        monkeypatch.setattr(module, name, _refuse)


@pytest.fixture
def runner():
    from click.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def run(runner, *args: str):
    """The command's result; a traceback (any exception, including a :class:`WorkStarted`) fails the test."""
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_usage_error(res, *needles: str) -> None:
    assert res.exit_code == 2, (res.exit_code, res.output, res.stderr)
    assert "Traceback" not in res.output + res.stderr
    for needle in needles:
        assert needle in res.stderr, (needle, res.stderr)


@pytest.fixture
def data(tmp_path) -> Path:
    """A valid train.jsonl of four spun documents."""
    return _write_jsonl(tmp_path / "train.jsonl", [_spun_doc(i) for i in _ids("train", 4)])


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A valid corpus: three train-split documents, two held out."""
    return _write_jsonl(tmp_path / "corpus.jsonl",
                        [{"id": i, "body": BODY} for i in _ids("train", 3) + _ids("test", 2)])


# ------------------------------------------------------------------- 5: --out checked first

TRAINERS = {
    "train": lambda d, c: ["train", "--data", d, "--docs", "2", "--clean-docs", "2"],
    "train-detector": lambda d, c: ["train-detector", "--data", d, "--docs", "2", "--epochs", "1"],
    "train-corrector": lambda d, c: ["train-corrector", "--data", d, "--docs", "2", "--epochs", "1"],
    "train-garble": lambda d, c: ["train-garble", "--corpus", c, "--n", "10"],
}


@pytest.mark.parametrize("command", list(TRAINERS))
def test_output_folder_is_checked_before_training(runner, env, tmp_path, data, corpus, command):
    args = TRAINERS[command](data, corpus)
    res = run(runner, *args, "--out", tmp_path / "no-such-folder" / "model.out")
    assert_usage_error(res, "'--out'", "no-such-folder", "does not exist")
    res = run(runner, *args, "--out", tmp_path)  # a folder, not a file
    assert_usage_error(res, "'--out'", "is a directory")
    assert not (tmp_path / "no-such-folder").exists()


# ------------------------------------------------------------------- 6: train needs clean documents


def test_train_refuses_to_calibrate_on_no_clean_documents(runner, env, tmp_path, data):
    out = tmp_path / "fusion.json"
    # every document is taken by --docs (the default 500 here): none left for the threshold
    res = run(runner, "train", "--data", data, "--out", out)
    assert_usage_error(res, "4 documents", "calibrate the threshold")
    res = run(runner, "train", "--data", data, "--docs", "4", "--clean-docs", "3", "--out", out)
    assert_usage_error(res, "calibrate the threshold")
    res = run(runner, "train", "--data", data, "--docs", "2", "--clean-docs", "0", "--out", out)
    assert_usage_error(res, "'--clean-docs'")
    assert not out.exists()


def test_train_warns_about_fewer_clean_documents_and_calibrates_on_originals(runner, env, tmp_path, data, monkeypatch,
                                                                              engine):
    """Fewer clean documents than asked: a warning with the count; the threshold is calibrated on
    the clean originals (also of a line without "clean", put back from its spans)."""
    import service.engine
    import service.training
    from service.scoring import FusionModel
    from service.training import TrainResult

    rows = [_spun_doc(i) for i in _ids("train", 4)]
    del rows[3]["clean"]
    data = _write_jsonl(tmp_path / "train2.jsonl", rows)
    seen = {}

    def fake_train(engine_, spun, clean, **kwargs):
        seen["spun"], seen["clean"] = list(spun), list(clean)
        return TrainResult(FusionModel.neutral(), 10, 2, 40, 0.0)

    monkeypatch.setattr(service.engine, "build_engine", lambda settings, fusion=None: engine)
    monkeypatch.setattr(service.training, "train", fake_train)
    out = tmp_path / "fusion.json"
    res = run(runner, "train", "--data", data, "--docs", "2", "--clean-docs", "5", "--out", out)
    assert res.exit_code == 0, res.output + res.stderr
    assert "warning:" in res.stderr and "2 documents after the --docs 2" in res.stderr and "--clean-docs 5" in res.stderr
    assert len(seen["spun"]) == 2 and seen["clean"] == [BODY, BODY]
    assert out.exists()


def test_training_refuses_data_without_candidates_or_clean_words(engine):
    """The library refuses rather than writing an uncalibrated threshold (0.5 on 0 words)."""
    from service.training import TrainingDataError, train

    fusion = engine.fusion
    with pytest.raises(TrainingDataError, match="no candidate"):
        train(engine, [{"text": "12 34.", "spans": []}], [BODY])
    with pytest.raises(TrainingDataError, match="both candidates that do"):
        train(engine, [{"text": "Hello.", "spans": []}], [BODY])
    with pytest.raises(TrainingDataError, match="no clean words"):
        train(engine, [_spun_doc("a")], [" ", ""])
    assert engine.fusion is fusion  # the session engine is untouched


# ------------------------------------------------------------------- 7: clear messages, not tracebacks

BAD_CORPORA = {
    "not JSON": ('{"id": 1, "body": "Fine."}\n{"id": 2, "body": \n', ":2: not valid JSON"),
    "no id": ('{"body": "Some text."}\n', ':1: the document has no "id"'),
    "not an object": ('[1, 2]\n', ":1: expected a JSON object, got an array"),
    "body not a string": ('{"id": 1, "body": 123}\n', ':1: "body" must be a string, not a number'),
}


@pytest.mark.parametrize("case", list(BAD_CORPORA))
def test_make_data_bad_corpus_names_file_and_line(runner, env, tmp_path, case):
    content, message = BAD_CORPORA[case]
    path = tmp_path / "corpus.jsonl"
    path.write_text(content, encoding="utf-8")
    res = run(runner, "make-data", "--corpus", path, "--out", tmp_path / "out", "--mix", "tortured")
    assert_usage_error(res, "'--corpus'", f"{path}{message}")
    assert not (tmp_path / "out").exists()


def test_make_data_corpus_not_utf8(runner, env, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"id": 1, "body": "Caf\u00e9 au lait."}\n'.encode("latin-1"))
    res = run(runner, "make-data", "--corpus", path, "--out", tmp_path / "out")
    assert_usage_error(res, f"{path}:1: not valid UTF-8")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["train", "train-detector", "train-corrector"])
def test_training_data_errors_name_file_and_line(runner, env, tmp_path, data, command):
    out = tmp_path / "model.out"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(data.read_text(encoding="utf-8") + '{"id": "x", "text": \n', encoding="utf-8")
    assert_usage_error(run(runner, command, "--data", bad, "--out", out), "'--data'", f"{bad}:5: not valid JSON")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert_usage_error(run(runner, command, "--data", empty, "--out", out), f"{empty}: no documents")
    nospans = _write_jsonl(tmp_path / "nospans.jsonl", [{"id": "a", "text": BODY}])
    assert_usage_error(run(runner, command, "--data", nospans, "--out", out), f"{nospans}:1: no \"spans\"")
    bad_span = _spun_doc("b")
    bad_span["spans"][0]["end"] = 10_000
    bad_span = _write_jsonl(tmp_path / "badspan.jsonl", [bad_span])
    assert_usage_error(run(runner, command, "--data", bad_span, "--out", out), f"{bad_span}:1: span 1: offsets")
    assert_usage_error(run(runner, command, "--data", data, "--docs", "0", "--out", out), "'--docs'")
    assert_usage_error(run(runner, command, "--data", data, "--exclude", bad, "--out", out) if command != "train"
                       else run(runner, command, "--data", data, "--docs", "-3", "--out", out),
                       "'--exclude'" if command != "train" else "'--docs'")
    assert not out.exists()


def test_train_needs_spun_documents(runner, env, tmp_path):
    clean_only = _write_jsonl(tmp_path / "clean.jsonl", [{"id": i, "text": BODY, "spans": []} for i in "abc"])
    res = run(runner, "train", "--data", clean_only, "--docs", "2", "--out", tmp_path / "f.json")
    assert_usage_error(res, "has a spun span")


@pytest.mark.parametrize("command", ["train-garble", "eval-garble"])
def test_garble_commands_check_counts_and_corpus(runner, env, tmp_path, corpus, command):
    out = ["--out", tmp_path / "g.json"] if command == "train-garble" else []
    for n in ("0", "-5"):
        assert_usage_error(run(runner, command, "--corpus", corpus, "--n", n, *out), "'--n'")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert_usage_error(run(runner, command, "--corpus", empty, *out), f"{empty}: no usable document")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "body": "x"}\nnot json\n', encoding="utf-8")
    assert_usage_error(run(runner, command, "--corpus", bad, *out), f"{bad}:2: not valid JSON")
    split = "test" if command == "train-garble" else "train"  # only documents of the other split
    other = _write_jsonl(tmp_path / "other.jsonl", [{"id": i, "body": BODY} for i in _ids(split, 3)])
    assert_usage_error(run(runner, command, "--corpus", other, *out), "split")


# ------------------------------------------------------------------- 8: negative counts


def test_negative_counts_are_refused(runner, env, tmp_path, corpus, data):
    for option in ("--train", "--test"):
        res = run(runner, "make-data", "--corpus", corpus, "--out", tmp_path / "out", option, "-1")
        assert_usage_error(res, f"'{option}'", "x>=0")
    for option in ("--docs", "--clean-docs"):
        res = run(runner, "train", "--data", data, option, "-1", "--out", tmp_path / "f.json")
        assert_usage_error(res, f"'{option}'", "x>=1")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------- 10: make-data, empty or short results


def test_make_data_refuses_a_corpus_without_usable_documents(runner, env, tmp_path):
    notext = _write_jsonl(tmp_path / "notext.jsonl", [{"id": i, "title": "T"} for i in range(4)])
    res = run(runner, "make-data", "--corpus", notext, "--out", tmp_path / "o1", "--train", "5", "--test", "2")
    assert_usage_error(res, "no usable document", "4 documents have none")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    res = run(runner, "make-data", "--corpus", empty, "--out", tmp_path / "o2", "--train", "5", "--test", "2")
    assert_usage_error(res, "no usable document", "the file is empty")
    held_only = _write_jsonl(tmp_path / "held.jsonl", [{"id": i, "body": BODY} for i in _ids("test", 2)])
    res = run(runner, "make-data", "--corpus", held_only, "--out", tmp_path / "o3", "--train", "5", "--test", "1")
    assert_usage_error(res, "train split", "train.jsonl would be empty")
    train_only = _write_jsonl(tmp_path / "train_only.jsonl", [{"id": i, "body": BODY} for i in _ids("train", 2)])
    res = run(runner, "make-data", "--corpus", train_only, "--out", tmp_path / "o4", "--train", "0", "--test", "0")
    assert_usage_error(res, "nothing to write")
    assert not any((tmp_path / f"o{k}").exists() for k in range(1, 5))


def test_select_documents_warns_when_the_corpus_is_short(tmp_path):
    rows = [{"id": i, "body": BODY} for i in _ids("train", 3) + _ids("test", 2)] + [{"id": "empty", "body": " "}]
    corpus = read_corpus(_write_jsonl(tmp_path / "c.jsonl", rows))
    assert len(corpus.docs) == 5 and corpus.skipped == 1
    train, test, rest, warnings = select_documents(corpus, 10, 2)
    assert (len(train), len(test), len(rest)) == (3, 2, 0)
    text = "\n".join(warnings)
    assert "1 of 6 documents have no" in text
    assert "train.jsonl: 3 documents, not the 10 asked for" in text
    assert "clean_test.jsonl: empty" in text
    assert not select_documents(corpus, 2, 1)[3][1:]  # enough documents: only the skipped one is mentioned
    with pytest.raises(ValueError):
        select_documents(corpus, -1, 0)


def test_make_data_writes_what_exists_and_says_so(runner, clean_env, tmp_path, corpus):
    out = tmp_path / "out"
    res = run(runner, "make-data", "--corpus", corpus, "--out", out, "--train", "100", "--test", "100")
    assert res.exit_code == 0, res.output + res.stderr
    stats = json.loads(res.stdout)
    assert stats["train"]["docs"] == 3 and stats["test"]["docs"] == 2 and stats["clean_test"]["docs"] == 0
    assert "warning: train.jsonl: 3 documents, not the 100 asked for" in res.stderr
    assert "warning: test.jsonl: 2 documents, not the 100 asked for" in res.stderr
    assert "warning: clean_test.jsonl: empty" in res.stderr
    assert len(read_spun_docs(out / "train.jsonl")) == 3
    assert "replacing" not in res.stderr
    again = run(runner, "make-data", "--corpus", corpus, "--out", out, "--train", "100", "--test", "100")
    assert again.exit_code == 0, again.output + again.stderr
    assert f"warning: replacing train.jsonl, test.jsonl, clean_test.jsonl in {out}" in again.stderr


def test_read_spun_docs_checks_the_format(tmp_path):
    ok = _write_jsonl(tmp_path / "ok.jsonl", [_spun_doc("a"), {"id": "b", "text": BODY, "spans": []}])
    assert len(read_spun_docs(ok)) == 2
    cases = [
        ({"id": "a", "spans": []}, ':1: no "text"'),
        ({"id": "a", "text": 5, "spans": []}, '"text" must be a string'),
        ({"id": "a", "text": BODY, "spans": "abc"}, '"spans" must be a list'),
        ({"id": "a", "text": BODY, "spans": [{"start": 4.5, "end": 9, "original": "x"}]}, "span 1: offsets"),
        ({"id": "a", "text": BODY, "spans": [{"start": 9, "end": 4, "original": "x"}]}, "span 1: offsets"),
        ({"id": "a", "text": BODY, "spans": [{"start": 4, "end": 9}]}, 'no "original"'),
    ]
    for row, message in cases:
        path = _write_jsonl(tmp_path / "bad.jsonl", [row])
        with pytest.raises(DataError, match=message.replace("(", r"\(")):
            read_spun_docs(path)


# ------------------------------------------------------------------- 11: eval-garble with one class


def test_eval_garble_refuses_an_auc_of_one_class(runner, clean_env, tmp_path, monkeypatch, engine):
    """One held-out sentence is garbled or clean, never both: no AUC, and never NaN in the JSON."""
    import service.lm.ngram

    monkeypatch.setattr(service.lm.ngram, "NGramLM", lambda *a, **k: engine.ngram)
    sentence = "The company said it expects to report a loss in the first quarter of next year."
    corpus = _write_jsonl(tmp_path / "c.jsonl", [{"id": i, "body": sentence} for i in _ids("test", 3)])
    for args in ([], ["--json"]):
        res = run(runner, "eval-garble", "--corpus", corpus, "--n", "1", *args)
        assert_usage_error(res, "both garbled and clean", "--n 1")
        assert "nan" not in res.stdout.lower()


def test_garble_functions_refuse_one_class(engine, tmp_path):
    from service.garble import load_garble_model
    from service.garble_eval import TooFewSentences, evaluate_garble, train_garble_model

    sentence = "The company said it expects to report a loss in the first quarter of next year."
    corpus = _write_jsonl(tmp_path / "c.jsonl", [{"id": i, "body": sentence} for i in _ids("train", 2) + _ids("test", 2)])
    with pytest.raises(TooFewSentences):
        train_garble_model(engine.ngram, engine.thesaurus, corpus, 1, 0)
    with pytest.raises(TooFewSentences):
        evaluate_garble(engine.ngram, load_garble_model(), engine.thesaurus, corpus, 1, 0)


# ------------------------------------------------------------------- train-second-look

def test_train_second_look_refuses_ranges_that_hold_no_document_before_any_model_loads(env, runner, data, tmp_path):
    import service.causal_lm

    out = tmp_path / "look.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(service.causal_lm, "CausalLM", _refuse)
        res = run(runner, "train-second-look", "--data", data, "--docs-from", "10", "--out", out)
        assert_usage_error(res, "no document from 10 on has a spun span")
        res = run(runner, "train-second-look", "--data", data, "--docs-from", "0", "--clean-from", "9", "--out", out)
        assert_usage_error(res, "no document from 9 on to calibrate")
        res = run(runner, "train-second-look", "--data", data, "--gate", "1.5", "--out", out)
        assert res.exit_code == 2 and "Traceback" not in res.output
    assert not out.exists()


def test_train_second_look_refuses_a_negative_context_before_any_model_loads(env, runner, data, tmp_path):
    import service.causal_lm

    out = tmp_path / "look.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(service.causal_lm, "CausalLM", _refuse)
        for option in ("--left-words", "--right-words"):
            res = run(runner, "train-second-look", "--data", data, option, "-1", "--out", out)
            assert res.exit_code == 2 and "Traceback" not in res.output + res.stderr
    assert not out.exists()


@pytest.mark.parametrize(("args", "expected"), [((), (12, 4, False)),
                                                (("--left-words", "40", "--across-sentences"), (40, 4, True)),
                                                (("--right-words", "6", "--within-sentence"), (12, 6, False))])
def test_train_second_look_reads_and_stores_the_context_it_is_given(clean_env, runner, data, tmp_path, args, expected):
    """The slots are read with the context given, and the file says which (the engine reads with it)."""
    import service.causal_lm
    import service.engine
    import service.second_look_training as training
    from service.second_look import Context, SecondLook

    seen = {}

    def labelled(engine, lm, docs, gate, k, progress=None, context=None):
        seen["labelled"] = context
        return training.Rows(np.zeros((1, 4)), np.ones(1), np.zeros((1, 2)), np.ones(1), context)

    def fit(rows, gate, k, C=1.0):
        seen["fit"] = rows.context
        lin = {"mean": np.zeros(4), "scale": np.ones(4), "coef": np.zeros(4), "intercept": 0.0}
        rank = {"mean": np.zeros(2), "scale": np.ones(2), "coef": np.zeros(2), "intercept": 0.0}
        return SecondLook(gate, k, lin, rank, meta={"slots": 1, "spun_slots": 1}, context=rows.context)

    out = tmp_path / "look.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(service.causal_lm, "CausalLM", lambda **_kw: object())
        mp.setattr(service.engine, "build_engine", lambda *_a, **_kw: object())
        mp.setattr(training, "labelled", labelled)
        mp.setattr(training, "fit", fit)
        mp.setattr(training, "calibrate", lambda *_a, **_kw: (0.5, 1.0, 1.0))
        res = run(runner, "train-second-look", "--data", data, "--docs-from", "0", "--clean-from", "0", *args, "--out", out)
    assert res.exit_code == 0, (res.output, res.stderr)
    assert seen["labelled"] == seen["fit"] == Context(*expected)
    assert SecondLook.load(out).context == Context(*expected)


# ------------------------------------------------------------------- make-data's folder, written whole

@pytest.mark.parametrize("case", ["empty", "under a file", "a set's file is a folder"])
def test_make_data_checks_its_folder_before_any_work(runner, env, tmp_path, corpus, case):
    """Checked when the command line is parsed: an empty --out had written the sets into the current
    folder; one under a file ended in a traceback after the corpus was read; a folder in place of
    test.jsonl in a traceback after train.jsonl had been replaced."""
    out = tmp_path / "data"
    if case == "empty":
        res = run(runner, "make-data", "--corpus", corpus, "--out", "")
        assert_usage_error(res, "'--out'", "an empty path names no folder")
        return
    if case == "under a file":
        res = run(runner, "make-data", "--corpus", corpus, "--out", corpus / "data")
        assert_usage_error(res, "'--out'", "is not a folder")
        return
    (out / "test.jsonl").mkdir(parents=True)
    (out / "train.jsonl").write_text("old\n", encoding="utf-8")
    res = run(runner, "make-data", "--corpus", corpus, "--out", out)
    assert_usage_error(res, "'--out'", "test.jsonl", "it is a folder")
    assert (out / "train.jsonl").read_text(encoding="utf-8") == "old\n"


def test_make_data_that_fails_midway_leaves_the_old_set_as_it_was(runner, clean_env, tmp_path, corpus, monkeypatch):
    """Each set is written as NAME.jsonl.part and the three renamed only once all are written: an
    interrupted run had left a new, short train.jsonl beside the old set's test.jsonl."""
    import service.spinner

    out = tmp_path / "data"
    res = run(runner, "make-data", "--corpus", corpus, "--out", out)
    assert res.exit_code == 0, res.output + res.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(before) == ["clean_test.jsonl", "test.jsonl", "train.jsonl"]
    real, calls = service.spinner.spin, []

    def spin_then_stop(*args, **kwargs):
        calls.append(1)
        if len(calls) > 3:  # the train set written, the test set begun
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(service.spinner, "spin", spin_then_stop)
    res = runner.invoke(main, ["make-data", "--corpus", str(corpus), "--out", str(out), "--seed", "1"])
    assert res.exit_code != 0 and len(calls) == 4
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old set, and no .part left


def test_garble_sentences_read_the_corpus_as_make_data_does(tmp_path, corpus):
    """A byte-order mark, and a document with its words under "text": the garble commands had read
    the corpus again with their own reader, which ended in a traceback on the mark."""
    from service.garbler import corpus_sentences

    plain = list(corpus_sentences(corpus, "train"))
    assert plain
    marked = tmp_path / "marked.jsonl"
    marked.write_bytes(b"\xef\xbb\xbf" + corpus.read_bytes())
    assert list(corpus_sentences(marked, "train")) == plain
    lines = [json.loads(x) for x in corpus.read_text(encoding="utf-8").splitlines()]
    texts = _write_jsonl(tmp_path / "texts.jsonl", [{"id": d["id"], "text": d["body"]} for d in lines])
    assert list(corpus_sentences(texts, "train")) == plain
    with pytest.raises(DataError, match="no \"id\""):
        list(corpus_sentences(_write_jsonl(tmp_path / "bad.jsonl", [{"body": BODY}]), "train"))


def test_train_corrector_refuses_the_same_data_twice(runner, env, tmp_path, data):
    """Its documents had been learned from twice, without a word (two files of the same documents
    spun differently, as the README's command gives, are two inputs)."""
    link = tmp_path / "again.jsonl"
    link.symlink_to(data)
    for twice in ([data, data], [data, link]):
        res = run(runner, "train-corrector", *[a for d in twice for a in ("--data", d)], "--out", tmp_path / "c.npz")
        assert_usage_error(res, "'--data'", "is given twice", "learned from once")
