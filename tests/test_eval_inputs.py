"""What ``unspin eval`` reads: gold and ``--clean`` inputs are checked before the engine loads, each
problem a usage error (exit 2) naming the file and line; ``--clean`` files are JSON lines by their
content; gold texts are decoded as ``unspin score`` decodes files.

Fast: no language model is loaded. A stand-in engine (flagging "loss characteristic") scores the
texts where a run must complete; where the inputs are bad, loading the engine fails the test.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from service.cli import main
from service.report import Span, Suggestion

TEXT = "The company said profits rose sharply in the third quarter."
OK_LINE = {"id": "s", "text": TEXT, "spans": [{"start": 17, "end": 24, "text": "profits", "original": "earnings"}]}
PHRASE, ORIGINAL = "loss characteristic", "loss function"


class StandInEngine:
    """Scores like the engine as far as ``unspin eval`` looks: one spun span on each "loss characteristic",
    suggesting "loss function"; the whitespace word count."""

    grammar = None
    lm = SimpleNamespace(name="stand-in")
    lm_name = "stand-in"

    def score(self, text: str, progress=None):  # progress: the second look's slots; it has none
        spans, at = [], text.find(PHRASE)
        while at >= 0:
            spans.append(Span(start=at, end=at + len(PHRASE), text=PHRASE, score=0.9,
                              suggestions=[Suggestion(text=ORIGINAL, score=0.9)]))
            at = text.find(PHRASE, at + 1)
        return SimpleNamespace(spans=spans, score=0.9 if spans else 0.1, grammar=SimpleNamespace(checked=False),
                               stats=SimpleNamespace(words=len(text.split())))

    def score_many(self, texts):
        return [self.score(t) for t in texts]

    def score_near(self, text: str, phrases, progress=None):
        """The report, and over each phrase asked about a span scoring 0.2 that suggests "method"."""
        near = [Span(start=a, end=b, text=text[a:b], score=0.2, suggestions=[Suggestion(text="method", score=0.2)])
                for a, b in phrases]
        return SimpleNamespace(report=self.score(text), near=near, listed_from=0.5)


@pytest.fixture
def env(monkeypatch):
    """Default settings (no UNSPIN_* variable of the calling shell leaks in), without the second look."""
    from unspin_env import isolate

    isolate(monkeypatch)


@pytest.fixture
def stand_in(env, monkeypatch):
    monkeypatch.setattr("service.engine.get_engine", lambda settings=None: StandInEngine())


@pytest.fixture
def no_engine(env, monkeypatch):
    """Loading the engine fails the test: bad inputs must be refused before it."""

    def fail(settings=None):
        raise AssertionError("the engine was loaded before the inputs were checked")

    monkeypatch.setattr("service.engine.get_engine", fail)


def write_jsonl(path: Path, *lines) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def eval_json(runner, *args) -> dict:
    res = runner.invoke(main, ["eval", *map(str, args), "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    return json.loads(res.stdout)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder of bad (and good) inputs, named by what is wrong with them."""
    d = tmp_path
    write_jsonl(d / "ok.jsonl", OK_LINE)
    (d / "a.txt").write_text(TEXT, encoding="utf-8")
    (d / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (d / "notjson.jsonl").write_text('{"text": "abc", "spans": []\n', encoding="utf-8")
    write_jsonl(d / "typo.jsonl", OK_LINE, {"id": "t", "text": TEXT, "span": []})
    (d / "empty.jsonl").write_text("", encoding="utf-8")
    write_jsonl(d / "missing_start.jsonl", {"text": TEXT, "spans": [{"end": 5, "original": "x"}]})
    write_jsonl(d / "missing_path.jsonl", {"path": "nope.txt", "spans": []})
    write_jsonl(d / "path_dir.jsonl", {"path": ".", "spans": []})
    write_jsonl(d / "path_latin1.jsonl", {"path": "latin1.txt", "spans": []})
    write_jsonl(d / "spans_str.jsonl", {"text": TEXT, "spans": "abc"})
    write_jsonl(d / "empty_text.jsonl", OK_LINE, {"text": "", "spans": []})
    write_jsonl(d / "reversed.jsonl", {"text": TEXT, "spans": [{"start": 20, "end": 10, "original": "x"}]})
    write_jsonl(d / "dup_ids.jsonl", OK_LINE, OK_LINE)
    write_jsonl(d / "body.jsonl", {"id": 1, "body": TEXT})
    write_jsonl(d / "clean_bad.jsonl", {"text": TEXT}, "{oops")
    (d / "emptydir").mkdir()
    (d / "jsonldir").mkdir()
    write_jsonl(d / "jsonldir" / "clean_test.jsonl", {"text": TEXT})
    (d / "baddir").mkdir()
    (d / "baddir" / "a.txt").write_text(TEXT, encoding="utf-8")
    (d / "baddir" / "b.txt").write_text("", encoding="utf-8")
    (d / "bindir").mkdir()
    (d / "bindir" / "b.txt").write_bytes(b"abc\x00\x00def ghi")
    write_jsonl(d / "nul_path.jsonl", {"path": "a\x00b.txt", "spans": []})
    write_jsonl(d / "surrogate_path.jsonl", {"path": "a\ud800b.txt", "spans": []})
    (d / "deep.jsonl").write_text("[" * 200_000 + "]" * 200_000 + "\n", encoding="utf-8")
    os.mkfifo(d / "pipe.txt")  # no writer: opening it would wait forever
    write_jsonl(d / "pipe_path.jsonl", {"path": "pipe.txt", "spans": []})
    os.mkfifo(d / "pipe.jsonl")
    (d / "textdir").mkdir()
    (d / "textdir" / "a.txt").write_text(TEXT, encoding="utf-8")
    write_jsonl(d / "textdir_gold.jsonl", {"path": "textdir/a.txt", "spans": []})
    write_jsonl(d / "clean_null_id.jsonl", {"id": None, "text": TEXT})
    write_jsonl(d / "clean_dup_ids.jsonl", {"id": "x", "text": TEXT}, {"id": "x", "text": TEXT})
    return d


@pytest.mark.parametrize("args, why", [
    (["--gold", "notjson.jsonl"], "notjson.jsonl:1: not valid JSON (Expecting ',' delimiter at column 28)"),
    (["--gold", "typo.jsonl"], "typo.jsonl:2: no 'spans' (keys: id, text, span); a clean document has \"spans\": []"),
    (["--gold", "empty.jsonl"], "empty.jsonl: no documents"),
    (["--gold", "missing_start.jsonl"], "missing_start.jsonl:1: span 1 has no 'start'"),
    (["--gold", "missing_path.jsonl"], "missing_path.jsonl:1: 'nope.txt': no such file"),
    (["--gold", "path_dir.jsonl"], "path_dir.jsonl:1: '.': is a folder, not a text file"),
    (["--gold", "path_latin1.jsonl"], "path_latin1.jsonl:1: 'latin1.txt': not valid UTF-8"),
    (["--gold", "spans_str.jsonl"], "spans_str.jsonl:1: 'spans' must be a list, got a string"),
    (["--gold", "empty_text.jsonl"], "empty_text.jsonl:2: the text is empty"),
    (["--gold", "reversed.jsonl"], "reversed.jsonl:1: span 1: start 20, end 10 is not a stretch of the text"),
    (["--gold", "dup_ids.jsonl"], "dup_ids.jsonl:2: id 's' is already used on line 1"),
    (["--gold", "ok.jsonl", "--clean", "body.jsonl"], "body.jsonl:1: no 'text' (keys: id, body)"),
    (["--gold", "ok.jsonl", "--clean", "clean_bad.jsonl"], "clean_bad.jsonl:2: not valid JSON"),
    (["--gold", "ok.jsonl", "--clean", "empty.jsonl"], "empty.jsonl: no documents"),
    (["--gold", "ok.jsonl", "--clean", "dup_ids.jsonl"], "dup_ids.jsonl:1: has spans, but clean documents have none"),
    (["--gold", "ok.jsonl", "--clean", "emptydir"], "emptydir: no text files (*.txt, *.text, *.md or no suffix)"),
    (["--gold", "ok.jsonl", "--clean", "jsonldir"], "name the file itself (--clean jsonldir/clean_test.jsonl)"),
    (["--gold", "ok.jsonl", "--clean", "baddir"], "baddir/b.txt: the text is empty"),
    (["--gold", "ok.jsonl", "--clean", "bindir"], "bindir/b.txt: looks like binary data"),
    (["--gold", "nul_path.jsonl"], "nul_path.jsonl:1: 'a\\x00b.txt': cannot be a file name (embedded null byte)"),
    (["--gold", "surrogate_path.jsonl"], "surrogate_path.jsonl:1: 'a\\ud800b.txt': cannot be a file name"),
    (["--gold", "deep.jsonl"], "deep.jsonl:1: JSON nested too deeply to read"),
    (["--gold", "ok.jsonl", "--clean", "deep.jsonl"], "deep.jsonl:1: JSON nested too deeply to read"),
    (["--gold", "ok.jsonl", "--clean", "pipe.txt"], "pipe.txt: is a named pipe (FIFO), not a regular file"),
    (["--gold", "pipe_path.jsonl"], "pipe_path.jsonl:1: 'pipe.txt': is a named pipe (FIFO), not a regular file"),
    # the gold file itself a named pipe: opening it had waited forever
    (["--gold", "pipe.jsonl"], "pipe.jsonl: is a named pipe (FIFO), not a regular file"),
    # a document counted as gold and clean, or twice as clean, had been counted without a word
    (["--gold", "textdir_gold.jsonl", "--clean", "textdir"],
     "textdir/a.txt is a document of --gold too ('textdir/a.txt'); each document is counted once"),
    (["--gold", "ok.jsonl", "--clean", "a.txt", "--clean", "a.txt"], "a.txt is given twice (first as --clean a.txt)"),
    (["--gold", "ok.jsonl", "--clean", "a.txt", "--clean", "textdir/../a.txt"], "is given twice (first as --clean a.txt)"),
    (["--gold", "ok.jsonl", "--clean", "ok.jsonl"], "ok.jsonl is given twice (first as --gold ok.jsonl)"),
    (["--gold", "ok.jsonl", "--clean", "clean_null_id.jsonl"], "clean_null_id.jsonl:1: 'id' must be a string or an integer, got null"),
    (["--gold", "ok.jsonl", "--clean", "clean_dup_ids.jsonl"], "clean_dup_ids.jsonl:2: id 'x' is already used on line 1"),
    # a path ending in '/' (no such folder) had been written as a file named 'nd'
    (["--gold", "ok.jsonl", "--details", "nd/"], "'nd/' ends with '/', so it names a folder"),
])  # fmt: skip
def test_bad_inputs_are_usage_errors_before_the_engine_loads(runner, no_engine, inputs, monkeypatch, args, why):
    monkeypatch.chdir(inputs)
    res = runner.invoke(main, ["eval", *args])
    assert res.exit_code == 2, (res.output, res.stderr, res.exception)
    assert "Error: Invalid value for '--" in res.stderr and why in res.stderr, res.stderr
    assert "Traceback" not in res.output + res.stderr and res.stdout == ""


def test_clean_folder_that_cannot_be_listed_is_a_usage_error(runner, no_engine, inputs, monkeypatch):
    """A subfolder of a --clean folder that cannot be listed would lose its texts: exit 2, naming it."""
    locked, real_scandir = inputs / "baddir" / "locked", os.scandir
    locked.mkdir()

    def scandir(path="."):
        if Path(path) == locked:  # root ignores chmod: simulate the permission error
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    (inputs / "baddir" / "b.txt").unlink()
    res = runner.invoke(main, ["eval", "--gold", str(inputs / "ok.jsonl"), "--clean", str(inputs / "baddir")])
    assert res.exit_code == 2, (res.output, res.stderr, res.exception)
    assert f"Invalid value for '--clean': {locked}: cannot list this folder: permission denied" in res.stderr


def test_limit_must_not_be_negative(runner, no_engine, inputs):
    for value in ("-1", "0"):
        res = runner.invoke(main, ["eval", "--gold", str(inputs / "ok.jsonl"), "--limit", value])
        assert res.exit_code == 2 and "--limit" in res.stderr and "x>=1" in res.stderr, res.stderr


def test_clean_json_lines_by_content_not_name(runner, stand_in, tmp_path):
    """A JSONL file named *.json, *.ndjson or without a suffix is read line by line, as *.jsonl is."""
    gold = write_jsonl(tmp_path / "gold.jsonl", OK_LINE)
    clean = [{"id": i, "text": f"Clean text number {i} has six words."} for i in range(4)]
    for name in ("clean.jsonl", "clean.json", "clean.ndjson", "clean"):
        m = eval_json(runner, "--gold", gold, "--clean", write_jsonl(tmp_path / name, *clean))
        assert (m["n_clean_docs"], m["clean_words"]) == (4, 28), name
        assert m["lm"] == "stand-in"  # the JSON says which model was measured, as the table does
    m = eval_json(runner, "--gold", gold, "--clean", tmp_path / "clean.json", "--limit", "3")
    assert m["n_clean_docs"] == 3


def test_clean_folder_reads_its_texts_and_says_what_it_skipped(runner, stand_in, tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", OK_LINE)
    folder = tmp_path / "clean"
    folder.mkdir()
    (folder / "a.txt").write_text("One clean text here.", encoding="utf-8")
    (folder / "b.md").write_text("And the loss characteristic again.", encoding="utf-8")
    write_jsonl(folder / "more.jsonl", {"text": "Not read."})
    res = runner.invoke(main, ["eval", "--gold", str(gold), "--clean", str(folder), "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert (m["n_clean_docs"], m["clean_words"], m["clean_flags"]) == (2, 9, 1)
    assert "warning:" in res.stderr and "more.jsonl" in res.stderr and "not read" in res.stderr


def test_gold_offsets_from_score_reports_hold(runner, stand_in, tmp_path):
    """Gold files named by "path" are decoded as `unspin score` decodes them: CRLF kept, a BOM dropped.
    Spans at the offsets its reports give are found and their original suggested."""
    from service.batch_inputs import Source, read_source

    (tmp_path / "crlf.txt").write_bytes(b"A first line.\r\nThe loss characteristic fell.\r\n")
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfThe loss characteristic rose.\n")
    lines = []
    for name in ("crlf.txt", "bom.txt"):
        text = read_source(Source(name, tmp_path / name), max_chars=10_000)
        at = text.index(PHRASE)
        lines.append({"path": name, "spans": [{"start": at, "end": at + len(PHRASE), "original": ORIGINAL}]})
    with_text = [{**x, "spans": [{**x["spans"][0], "text": PHRASE}]} for x in lines]
    for gold in (write_jsonl(tmp_path / "gold.jsonl", *lines), write_jsonl(tmp_path / "gold_text.jsonl", *with_text)):
        m = eval_json(runner, "--gold", gold)
        assert (m["n_gold"], m["n_matched"], m["recall"], m["acc_at_1"]) == (2, 2, 1.0, 1.0), gold.name


def test_encoding_must_be_a_text_codec(runner, no_engine, tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", OK_LINE)
    res = runner.invoke(main, ["eval", "--gold", str(gold), "--encoding", "rot13"])
    assert res.exit_code == 2 and "'rot13' is not a text encoding" in res.stderr


def test_encoding_fallback_reads_the_gold_text(runner, stand_in, tmp_path):
    (tmp_path / "latin1.txt").write_bytes("The caf\xe9 loss characteristic.".encode("latin-1"))
    gold = write_jsonl(tmp_path / "gold.jsonl", {"path": "latin1.txt", "spans": [
        {"start": 9, "end": 28, "text": PHRASE, "original": ORIGINAL}]})
    m = eval_json(runner, "--gold", gold, "--encoding", "cp1252")
    assert (m["n_gold"], m["n_matched"], m["acc_at_1"]) == (1, 1, 1.0)


def test_details_list_every_phrase_counted(runner, stand_in, tmp_path):
    spun = f"The model minimises a {PHRASE} over the data, and a {PHRASE} again."
    first = spun.find(PHRASE)
    gold = write_jsonl(tmp_path / "gold.jsonl",
                       {"id": "a", "text": spun, "spans": [{"start": first, "end": first + len(PHRASE), "text": PHRASE,
                                                            "original": ORIGINAL},
                                                           {"start": 4, "end": 9, "text": "model", "original": "method"}]},
                       {"id": "b", "text": f"A clean text, bar one {PHRASE}.", "spans": []})
    details = tmp_path / "details.jsonl"
    metrics = eval_json(runner, "--gold", gold, "--details", details)
    records = [json.loads(x) for x in details.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["outcome"], r["text"]) for r in records] == [
        ("a", "missed", "model"), ("a", "found", PHRASE), ("a", "false_flag", PHRASE), ("b", "false_flag", PHRASE)]
    assert records[1]["original_rank"] == 1 and records[1]["predicted"]["suggestions"] == [ORIGINAL]
    # a missed phrase: how near the engine came, and what it needed
    assert (records[0]["nearest"]["score"], records[0]["listed_from"], records[0]["original_rank"]) == (0.2, 0.5, 1)
    assert records[0]["nearest"]["text"] == "model"
    assert [r["clean"] for r in records] == [False, False, False, True]
    assert (metrics["n_matched"], metrics["n_gold"], metrics["n_predicted"], metrics["clean_flags"]) == (1, 2, 2, 1)


def test_details_file_is_checked_before_the_engine_loads(runner, no_engine, tmp_path):
    gold = write_jsonl(tmp_path / "gold.jsonl", OK_LINE)
    res = runner.invoke(main, ["eval", "--gold", str(gold), "--details", str(tmp_path / "no" / "d.jsonl")])
    assert res.exit_code == 2 and "does not exist" in res.stderr


def test_details_never_overwrite_a_document_read(runner, no_engine, tmp_path):
    """--details naming a labelled document's text file, or a file of a --clean folder, is refused
    before any work: writing it would destroy the team's data."""
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    gold = write_jsonl(tmp_path / "gold.jsonl", {"path": "a.txt", "spans": []})
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "c.txt").write_text(TEXT, encoding="utf-8")
    for target in (tmp_path / "a.txt", tmp_path / "clean" / "c.txt"):
        res = runner.invoke(main, ["eval", "--gold", str(gold), "--clean", str(tmp_path / "clean"),
                                   "--details", str(target)])
        assert res.exit_code == 2 and "would destroy that input" in res.stderr, res.stderr
        assert target.read_text(encoding="utf-8") == TEXT


def test_a_lone_surrogate_in_a_label_is_refused_before_the_engine_loads(runner, no_engine, tmp_path):
    gold = write_jsonl(tmp_path / "g.jsonl", '{"text": "%s", "spans": [{"start": 17, "end": 24, "original": "\\ud800"}]}' % TEXT)
    res = runner.invoke(main, ["eval", "--gold", str(gold)])
    assert res.exit_code == 2 and "g.jsonl:1: span 1: 'original' holds a lone surrogate" in res.stderr, res.stderr


def test_sentence_docs_take_the_golds_clean_documents_too(runner, stand_in, tmp_path):
    clean = f"It was fine. The {PHRASE} was used. Nothing else."
    gold = write_jsonl(tmp_path / "g.jsonl", OK_LINE, {"id": "c", "text": clean, "spans": []})
    m = eval_json(runner, "--gold", gold, "--sentence-docs", "5")
    assert m["sentence_texts"] == 3 and m["sentence_flags"] == 1
