"""What ``unspin score`` reads (service/batch_inputs.py, the decoding in service/decoding.py): standard input
over ``UNSPIN_MAX_CHARS``, folders that yield no document, UTF-16 without a byte-order mark,
binary detection at every size, and line numbers in the text listing.

Small texts and an engine limited to 1,500 characters a call (around the session engine's models)
keep it fast; only mechanics are asserted, never which spans are found.
"""

from __future__ import annotations

import io
import json
import re
from itertools import accumulate
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.batch import BatchOptions, run
from service.batch_inputs import Source
from service.batch_listing import line_starts
from service.batch_outcomes import score_source
from service.cli import main

#: every command runs with the n-gram backend and default settings (the session engine)
pytestmark = pytest.mark.usefixtures("ngram_env")

SMALL = 1500  # characters one call of the small engine scores

LINES = [
    "The central bank raised interest rates on Tuesday to curb rising inflation.",
    "Competition in between terrific powers is heating up, the minister told reporters.",
    "Shares rose more than three percent in early trading after the announcement.",
    "Prices of crude oil fell sharply as investors worried about slowing global growth.",
    "The proposition by the council comes at an essential moment for the city.",
]


def invoke(runner: CliRunner, *args: object, input: bytes | None = None):
    return runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def comparable(record: dict) -> dict:
    """A report without what differs between runs and inputs: its path and timing."""
    record = json.loads(json.dumps(record))
    record.pop("path", None)
    record.get("stats", {}).pop("seconds", None)
    return record


@pytest.fixture(scope="module")
def small_engine(engine):
    """An engine around the session engine's models that scores at most 1,500 characters a call."""
    from service.config import Settings
    from service.engine import Engine

    return Engine(Settings(lm="ngram", max_chars=SMALL), lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion,
                  lexicon=engine.lexicon)


@pytest.fixture
def small_cli(monkeypatch, small_engine):
    """``unspin score`` runs with ``UNSPIN_MAX_CHARS=1500`` and hands every document to the small engine."""
    monkeypatch.setenv("UNSPIN_MAX_CHARS", str(SMALL))
    monkeypatch.setattr("service.engine.get_engine", lambda settings=None: small_engine)


@pytest.fixture(scope="module")
def long_text(seeds) -> str:
    """About 4,800 characters of a seed, cut after a line: over 1,500 characters, and its UTF-8 bytes
    within what standard input takes for that limit (4 × 1,500 + 4)."""
    text = seeds["002_2ef1442c87ee1781.txt"]
    text = text[: text.rfind("\n", 0, 4800) + 1]
    assert SMALL < len(text) and len(text.encode("utf-8")) <= 4 * SMALL + 4
    return text


# --------------------------------------------------------------------------- 3: stdin over UNSPIN_MAX_CHARS


def test_long_stdin_is_scored_in_parts_like_the_same_file(runner, small_cli, long_text, tmp_path):
    """Standard input longer than UNSPIN_MAX_CHARS is scored in parts, one report, the very report
    of the same bytes named as a file (UTF-8 and UTF-16 with a BOM); the listing is the same too."""
    short16 = long_text[:2900]  # UTF-16: 2 bytes a character, so fewer characters fit the byte limit
    for name, data in (("long.txt", long_text.encode("utf-8")), ("long16.txt", short16.encode("utf-16"))):
        path = tmp_path / name
        path.write_bytes(data)
        from_file = invoke(runner, "score", "--format", "jsonl", path)
        from_stdin = invoke(runner, "score", "--format", "jsonl", "-", input=data)
        assert from_file.exit_code == 0, from_file.output
        assert from_stdin.exit_code == 0, from_stdin.stdout + from_stdin.stderr
        (f,), (s,) = jsonl(from_file.stdout), jsonl(from_stdin.stdout)
        assert s["path"] == "-" and comparable(s) == comparable(f), name
        text = data.decode("utf-8") if name == "long.txt" else short16
        assert s["spans"] and all(text[x["start"] : x["end"]] == x["text"] for x in s["spans"])
        assert s["sentences"][-1]["end"] > SMALL  # offsets into the whole input, past the first part
        listed_file = invoke(runner, "score", path).stdout.split("\n", 1)[1]
        listed_stdin = invoke(runner, "score", "-", input=data).stdout.split("\n", 1)[1]
        assert listed_stdin == listed_file


def test_stdin_over_the_byte_limit_is_still_refused(runner, small_cli, long_text):
    """Standard input is held in memory whole: above 4 × UNSPIN_MAX_CHARS bytes (+4) it is refused,
    as the README says."""
    data = (long_text * 2).encode("utf-8")
    res = invoke(runner, "score", "--format", "jsonl", "-", input=data)
    assert res.exit_code == 1
    assert jsonl(res.stdout) == [{"path": "-", "error": "the input is more than 6,004 bytes, too long for the limit "
                                  "of 1,500 characters (UNSPIN_MAX_CHARS)"}]


# --------------------------------------------------------------------------- 4: folders that yield nothing


@pytest.fixture
def docs(tmp_path) -> Path:
    """A folder with one text file, one log file and one binary file."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(LINES[0] + "\n", encoding="utf-8")
    (folder / "notes.log").write_text(LINES[1] + "\n", encoding="utf-8")
    (folder / "c.bin").write_bytes(bytes(range(256)))
    return folder


def test_empty_folder_is_reported_and_fails(runner, tmp_path):
    """An empty folder, or one whose files no default glob takes, is named on stderr with the globs
    in effect; exit code 1 (a failed input, as the README's rule for failures says), no record."""
    empty = tmp_path / "empty"
    empty.mkdir()
    binaries = tmp_path / "bindir"
    binaries.mkdir()
    (binaries / "c.bin").write_bytes(bytes(range(256)))
    for folder in (empty, binaries):
        res = invoke(runner, "score", "--format", "jsonl", folder)
        assert res.exit_code == 1, res.stderr
        assert res.stdout == ""
        assert f"{folder}: error: no documents to score in this folder" in res.stderr
        assert "*.txt, *.text, *.md" in res.stderr
        assert "1 folder without documents to score" in res.stderr


def test_include_that_matches_nothing_is_reported_while_other_inputs_are_scored(runner, docs, tmp_path):
    """A folder with files, none matching --include: reported on stderr naming the --include and
    --exclude globs; the other inputs of the call are still scored, and the exit code is 1."""
    other = tmp_path / "other.txt"
    other.write_text(LINES[3] + "\n", encoding="utf-8")
    res = invoke(runner, "score", "--format", "jsonl", "--include", "*.nothing", "--include", "*.none",
                 "--exclude", "drafts/*", docs, other)
    assert res.exit_code == 1
    assert [r["path"] for r in jsonl(res.stdout)] == [str(other)]
    assert "error" not in jsonl(res.stdout)[0]
    line = next(x for x in res.stderr.splitlines() if x.startswith(f"{docs}: error:"))
    assert "no documents to score" in line and "'*.nothing'" in line and "'*.none'" in line and "'drafts/*'" in line
    assert "1 of 1 documents scored" in res.stderr and "1 folder without documents to score" in res.stderr
    # the same folder with a glob that matches: scored, exit 0, nothing said
    res = invoke(runner, "score", "--format", "jsonl", "--include", "*.log", docs)
    assert res.exit_code == 0 and [r["path"] for r in jsonl(res.stdout)] == [str(docs / "notes.log")]
    assert "no documents" not in res.stderr


def test_run_summary_names_empty_folders(docs, tmp_path):
    from service.config import get_settings

    empty = tmp_path / "empty"
    empty.mkdir()
    out, err = io.StringIO(), io.StringIO()
    summary = run(BatchOptions(paths=[str(empty), str(docs)], format="csv"), get_settings(), stdout=out, stderr=err)
    assert summary.empty_folders == [str(empty)] and (summary.scored, summary.failed) == (1, 0)
    assert err.getvalue().startswith(f"{empty}: error: no documents to score in this folder")


# --------------------------------------------------------------------------- 5: UTF-16 without a byte-order mark


def test_utf16_without_bom_is_read_with_its_encoding_named(runner, small_engine, tmp_path):
    """--encoding utf-16-le (-be, utf-32-le) reads UTF-16/32 without a byte-order mark, small or
    streamed in parts, with the report of the UTF-8 text; without it the error says what to name."""
    text = " ".join(LINES) + "\n"
    plain = tmp_path / "plain.txt"
    plain.write_text(text, encoding="utf-8")
    base = invoke(runner, "score", "--format", "jsonl", plain)
    assert base.exit_code == 0
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le"):
        path = tmp_path / f"{codec}.txt"
        path.write_bytes(text.encode(codec))
        res = invoke(runner, "score", "--format", "jsonl", "--encoding", codec, path)
        assert res.exit_code == 0, res.stdout + res.stderr
        assert comparable(jsonl(res.stdout)[0]) == comparable(jsonl(base.stdout)[0]), codec
    path = tmp_path / "utf-16-le.txt"
    res = invoke(runner, "score", "--format", "jsonl", path)  # no --encoding: binary, with the hint
    assert res.exit_code == 1
    error = jsonl(res.stdout)[0]["error"]
    assert "NUL" in error and "--encoding utf-16-le" in error and "utf-16-be" in error
    res = invoke(runner, "score", "--format", "jsonl", "--encoding", "utf-16", path)  # no byte order
    assert res.exit_code == 1 and "--encoding utf-16-le or utf-16-be" in jsonl(res.stdout)[0]["error"]

    # streamed in parts (a file over UNSPIN_MAX_CHARS bytes): the same text, the same errors
    long = text * 12
    big = tmp_path / "big16.txt"
    big.write_bytes(long.encode("utf-16-le"))
    out = score_source(small_engine, Source("big16.txt", big), encoding="utf-16-le", keep_text=True)
    assert out.ok and out.text == long, out.error
    out = score_source(small_engine, Source("big16.txt", big))
    assert not out.ok and "--encoding utf-16-le" in out.error
    out = score_source(small_engine, Source("big16.txt", big), encoding="utf-16")
    assert not out.ok and "--encoding utf-16-le or utf-16-be" in out.error


# --------------------------------------------------------------------------- 6: binary at every size


def test_control_characters_are_binary_whatever_the_size(small_engine, tmp_path):
    """Text more than 10 % control characters is refused as binary whether it is read whole or
    streamed in parts (a file, or standard input, over UNSPIN_MAX_CHARS bytes); a few control
    characters in a long text are not."""
    junk = "".join(chr(i % 31 + 1) if i % 31 + 1 not in (9, 10, 11, 12, 13) else "a" for i in range(5000))
    for name, data in (("ctrl_small.txt", junk[:1000]), ("ctrl_big.txt", junk)):
        path = tmp_path / name
        path.write_text(data, encoding="utf-8")
        for src in (Source(name, path), Source("-", None, data.encode("utf-8"))):
            out = score_source(small_engine, src)
            assert not out.ok and out.error == "looks like binary data, not text", (name, src.name, out.error)
    few = (" ".join(LINES) + "\x01\n") * 12  # one control character a line: text
    path = tmp_path / "few.txt"
    path.write_text(few, encoding="utf-8")
    out = score_source(small_engine, Source("few.txt", path))
    assert out.ok, out.error


# --------------------------------------------------------------------------- 7: line numbers in the listing


def test_line_starts_count_breaks_as_splitlines_does():
    text = "a\r\nb\rc\nd\x0be\x0cf\x1cg\x1dh\x1ei\x85j\u2028k\u2029l\r\n\r\nm"
    ends = list(accumulate(len(line) for line in text.splitlines(keepends=True)))
    assert line_starts(text) == ends[:-1]  # where each line after the first starts (the text ends with "m")


@pytest.mark.parametrize("sep", ["\r", "\r\n", "\n", "\u2028", "\x85"])
def test_listing_line_numbers_follow_every_line_break(runner, tmp_path, sep):
    """A CR-only (classic Mac) file, CRLF, LF, U+2028 or NEL: each span is listed on the line
    ``str.splitlines`` puts it on, the same line number whatever the line breaks."""
    text = sep.join(LINES) + sep
    path = tmp_path / "lines.txt"
    path.write_bytes(text.encode("utf-8"))
    res = invoke(runner, "score", "--threshold", "0", path)
    assert res.exit_code == 0, res.stderr
    found = re.findall(r"\[line (\d+), (\d+)-(\d+),", res.stdout)
    assert found
    seen_lines = set()
    for line_no, start, _end in found:
        want = len((text[: int(start)] + "x").splitlines())
        assert int(line_no) == want, (sep, start)
        seen_lines.add(want)
    assert len(seen_lines) > 1  # spans on several lines, not all on line 1


def test_output_that_is_an_input_is_refused_and_left_alone(runner, docs, tmp_path):
    """--output naming one of the inputs (directly, through its folder, or by another path) is a
    usage error before anything is scored, and the input keeps its text."""
    target = docs / "a.txt"
    before = target.read_bytes()
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    for out, inputs in ((target, [target]), (target, [docs]), (link, [docs]), (docs / "." / "a.txt", [target])):
        res = invoke(runner, "score", "--format", "jsonl", "-o", out, *inputs)
        assert res.exit_code == 2, res.output
        assert "is also an input" in res.stderr and "a.txt" in res.stderr
        assert target.read_bytes() == before
    fresh = tmp_path / "reports.jsonl"  # a new file beside the inputs is fine
    res = invoke(runner, "score", "--format", "jsonl", "-o", fresh, target)
    assert res.exit_code == 0, res.stderr
    assert fresh.exists() and target.read_bytes() == before
