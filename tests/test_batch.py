"""Batch scoring (service/batch.py and the batch_* modules, service/ray_batch.py) through ``unspin score``.

Small texts keep it fast; only mechanics are asserted (what is written where, exit codes, every
document exactly once, equal outputs across ways of running), never which spans are found.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

import pytest
from click.testing import CliRunner

from service.batch_inputs import Source, collect_sources, read_source
from service.batch_outcomes import BatchError
from service.batch_resume import prepare_resume
from service.batch_writers import CSV_COLUMNS
from service.cli import main
from service.decoding import InputError
from service.report import Report

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]

TEXTS = {
    "a.txt": "The central bank raised interest rates on Tuesday to curb rising inflation. "
    "Officials said the decision would help stabilize the economy over the coming months.\n",
    "sub/b.txt": "Competition in between terrific powers is heating up, the minister told reporters. "
    'He called it <script>alert("x")</script> & <b>serious</b>.\n',
    "sub/deeper/c.md": "Shares rose more than three percent in early trading after the announcement.\n",
    "d.txt": "Prices of crude oil fell sharply as investors worried about slowing global growth.\n",
}


#: every command runs with the n-gram backend and default settings (the session engine)
pytestmark = pytest.mark.usefixtures("ngram_env")


def invoke(runner: CliRunner, *args: str, input: bytes | None = None):
    return runner.invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.fixture
def docs(tmp_path) -> Path:
    """A folder of small documents, plus files a walk must skip."""
    folder = tmp_path / "docs"
    for rel, text in TEXTS.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    (folder / "notes.log").write_text("Not a text suffix: skipped unless included.\n")
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "x.txt").write_text("Hidden folders are skipped.\n")
    return folder


def names(folder: Path) -> list[str]:
    return sorted(str(folder / rel) for rel in TEXTS)


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def json_objects(text: str) -> list[dict]:
    """The objects of ``--format json`` output: indented JSON objects one after the other."""
    dec, pos, objs = json.JSONDecoder(), 0, []
    while pos < len(text.rstrip()):
        obj, end = dec.raw_decode(text, pos)
        objs.append(obj)
        pos = end + 1
    return objs


def without_timing(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        r = json.loads(json.dumps(r))
        r.get("stats", {}).pop("seconds", None)
        out.append(r)
    return out


def by_path(records: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in records:
        assert r["path"] not in out, f"{r['path']} appears twice"
        out[r["path"]] = r
    return out


# --------------------------------------------------------------------------- inputs


def test_collect_sources_walks_filters_and_dedupes(docs):
    got = [s.name for s in collect_sources([str(docs)])]
    assert got == names(docs)  # sorted walk; .log and hidden skipped
    got = [s.name for s in collect_sources([str(docs)], include=["*.md", "*.log"])]
    assert got == [str(docs / "notes.log"), str(docs / "sub/deeper/c.md")]
    got = [s.name for s in collect_sources([str(docs)], exclude=["sub/*"])]
    assert got == [str(docs / "a.txt"), str(docs / "d.txt")]
    got = [s.name for s in collect_sources([str(docs)], include=["sub/**/*.md"])]
    assert got == [str(docs / "sub/deeper/c.md")]
    # a file named explicitly is always taken, and a document is listed once however often it is named
    got = [s.name for s in collect_sources([str(docs / "notes.log"), str(docs), str(docs / "a.txt")], exclude=["*.log"])]
    assert got[0] == str(docs / "notes.log") and len(got) == len(set(got)) == 1 + len(TEXTS)
    stdin = io.BytesIO(b"stdin text")
    (src,) = collect_sources(["-", "-"], stdin=stdin)
    assert src == Source("-", None, b"stdin text")


def test_the_same_file_by_any_path_is_scored_once(docs, tmp_path, monkeypatch):
    """A file reached by several paths (relative, with '..', absolute, a link to it, a link to its
    folder) is one document, kept where it comes first; a link to a folder inside a walk is not followed."""
    try:
        (tmp_path / "link.txt").symlink_to(docs / "a.txt")
        (tmp_path / "docs_link").symlink_to(docs, target_is_directory=True)
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "x.txt").write_text("Not under docs.\n")
        (docs / "outside").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    except OSError:
        pytest.skip("this file system has no symbolic links")
    monkeypatch.chdir(tmp_path)
    got = [s.name for s in collect_sources(["docs/sub/b.txt", "docs", "docs/../docs/a.txt", str(docs / "a.txt"),
                                            "link.txt", "docs_link", "docs_link/d.txt", "-"], stdin=io.BytesIO(b"x"))]
    assert got == ["docs/sub/b.txt", "docs/a.txt", "docs/d.txt", "docs/sub/deeper/c.md", "-"]


def _deny(monkeypatch, *, unlistable: Path | None = None, unsearchable: Path | None = None) -> None:
    """Simulate permissions (root ignores chmod): listing ``unlistable`` fails, and looking up
    anything inside ``unsearchable`` fails (a folder with read but no execute permission)."""
    real_scandir, real_stat = os.scandir, os.stat

    def denied(path) -> PermissionError:
        return PermissionError(errno.EACCES, "Permission denied", str(path))

    def scandir(path="."):
        if unlistable is not None and Path(path) == unlistable:
            raise denied(path)
        return real_scandir(path)

    def stat(path, *args, **kwargs):
        if unsearchable is not None and isinstance(path, (str, os.PathLike)) and unsearchable in Path(path).parents:
            raise denied(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "stat", stat)


def test_a_folder_that_cannot_be_listed_is_an_error_record(runner, docs, monkeypatch):
    """Its documents are not lost silently: the folder is an error record in walk order, the rest
    are scored, exit 1; named directly it is that error, not "no documents"."""
    deeper = docs / "sub" / "deeper"
    _deny(monkeypatch, unlistable=deeper)
    res = invoke(runner, "score", "--format", "jsonl", docs)
    assert res.exit_code == 1, res.output
    records = jsonl(res.stdout)
    assert [r["path"] for r in records] == [str(docs / "a.txt"), str(docs / "d.txt"), str(docs / "sub/b.txt"), str(deeper)]
    assert records[3] == {"path": str(deeper), "error": "cannot list this folder: permission denied"}
    assert f"{deeper}: error: cannot list this folder: permission denied" in res.stderr
    res = invoke(runner, "score", "--format", "jsonl", deeper)
    assert res.exit_code == 1 and jsonl(res.stdout) == [records[3]] and "no documents" not in res.stderr


def test_paths_that_cannot_be_looked_up_are_error_records(runner, docs, monkeypatch):
    """In a folder with read but no execute permission nothing can be looked up: each document
    picked there, walked or named, is an error record (no traceback) and the rest are scored."""
    _deny(monkeypatch, unsearchable=docs / "sub", unlistable=docs / "sub" / "deeper")
    res = invoke(runner, "score", "--format", "jsonl", docs, docs / "sub/deeper/c.md")
    assert res.exit_code == 1, res.output
    errors = {r["path"]: r["error"] for r in jsonl(res.stdout) if "error" in r}
    assert errors == {str(docs / "sub/b.txt"): "cannot read: Permission denied",
                      str(docs / "sub/deeper"): "cannot list this folder: permission denied",
                      str(docs / "sub/deeper/c.md"): "cannot read: Permission denied"}
    assert "2 of 5 documents scored" in res.stderr


def test_inputs_are_read_a_block_at_a_time_whatever_the_limit(tmp_path, monkeypatch):
    """One read of 4 × UNSPIN_MAX_CHARS bytes reserved them all first: a large limit had made every
    document fail with MemoryError (and standard input end in a traceback)."""
    import io

    from service import batch_inputs as batch

    asked: list[int] = []

    class Recording(io.BytesIO):
        def read(self, n=-1):
            asked.append(n)
            return super().read(n)

    text = b"word " * 300_000  # 1.5 MB: more than one block
    assert batch._read_stdin(Recording(text), max_chars=1_000_000_000) == text
    assert asked and max(asked) <= batch.READ_BLOCK
    real_open, asked[:] = open, []
    monkeypatch.setattr(batch, "open", lambda *a, **k: Recording(real_open(*a, **k).read()), raising=False)
    path = tmp_path / "a.txt"
    path.write_bytes(text)
    assert read_source(Source(str(path), path), max_chars=1_000_000_000) == text.decode()
    assert asked and max(asked) <= batch.READ_BLOCK


def test_read_source_refuses_oversized_files_unread(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 100)  # 500 bytes > 4 * 50 + 4: cannot be within 50 characters
    with pytest.raises(InputError, match="too long for the limit of 50 characters"):
        read_source(Source(str(big), big), max_chars=50)
    with pytest.raises(InputError, match="too long"):
        read_source(Source("-", None, b"word " * 100), max_chars=50)
    small = tmp_path / "small.txt"
    small.write_bytes(b"word " * 30)  # 150 characters: read; the engine's own check refuses it
    assert read_source(Source(str(small), small), max_chars=50) == "word " * 30


def _small_engine(engine):
    """An engine around the session engine's models that scores at most 1,500 characters a call."""
    from service.config import Settings
    from service.engine import Engine

    return Engine(Settings(lm="ngram", max_chars=1500), lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion,
                  lexicon=engine.lexicon)


def test_large_files_are_scored_in_parts(engine, seeds, tmp_path):
    """A file over UNSPIN_MAX_CHARS is streamed and scored in parts cut at line or paragraph breaks:
    one report whose offsets index into the whole file, in UTF-8 and in UTF-16."""
    from service.batch_inputs import iter_parts
    from service.batch_outcomes import score_source

    text = seeds["002_2ef1442c87ee1781.txt"] + "\n\n" + seeds["000_37063bd84aa4b837.txt"]
    small = _small_engine(engine)
    for name, data in (("big.txt", text.encode()), ("big16.txt", text.encode("utf-16"))):
        path = tmp_path / name
        path.write_bytes(data)
        parts = list(iter_parts(Source(name, path), max_chars=1500))
        assert len(parts) >= 8 and max(map(len, parts)) <= 1500 and "".join(parts) == text
        assert all(p.endswith("\n") for p in parts[:-1])  # cut after a line break, never inside a word
        out = score_source(small, Source(name, path), keep_text=True)
        assert out.ok and out.text == text, out.error
        r = out.report
        assert r.stats.words == engine.score(text).stats.words
        assert r.spans and all(text[s.start : s.end] == s.text for s in r.spans)
        assert [s.start for s in r.sentences] == sorted(s.start for s in r.sentences)
        assert r.sentences[-1].end <= len(text)
    binary = tmp_path / "big.bin"
    binary.write_bytes(b"text\x00" * 1000)
    out = score_source(small, Source("big.bin", binary))
    assert not out.ok and "binary" in out.error


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\u2028", "\x85"])
def test_large_files_are_cut_at_any_line_break(seeds, tmp_path, newline):
    """Parts of a CR-only, CRLF, U+2028 or NEL file are cut where the LF version of the same text
    is cut (never inside a sentence at a space, never between the CR and the LF of a CRLF)."""
    from service.batch_inputs import iter_parts

    text = seeds["002_2ef1442c87ee1781.txt"] + "\n\n" + seeds["000_37063bd84aa4b837.txt"]
    lf = tmp_path / "lf.txt"
    lf.write_text(text, newline="")
    other = tmp_path / "other.txt"
    other.write_text(text.replace("\n", newline), newline="")
    lf_parts = list(iter_parts(Source("lf.txt", lf), max_chars=1500))
    parts = list(iter_parts(Source("other.txt", other), max_chars=1500))
    assert "".join(parts) == text.replace("\n", newline)
    assert all(p.endswith(newline) for p in parts[:-1])
    if len(newline) == 1:
        assert [len(p) for p in parts] == [len(p) for p in lf_parts]


def test_undecodable_large_files_name_the_byte_and_the_codec(tmp_path, monkeypatch):
    """A large file is decoded in blocks; a byte its codec refuses is named by its offset in the
    file (not in the block being decoded: before, "byte offset about 0" for the last byte of a
    UTF-16 file) and the codec by the name it goes by ("CP1252", not Python's "CHARMAP")."""
    import service.batch_inputs as batch
    from service.batch_inputs import iter_parts

    monkeypatch.setattr(batch, "READ_BLOCK", 1000)
    text = "Plain words in a plain sentence. " * 300  # 9,900 characters
    odd = tmp_path / "odd16.txt"
    odd.write_bytes(text.encode("utf-16") + b"A")  # a BOM, 19,800 bytes, one odd byte
    with pytest.raises(InputError, match=r"is not valid UTF-16 \(byte offset 19802\)"):
        list(iter_parts(Source("odd16.txt", odd), max_chars=2000))
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(text.encode() + b"\x81 end")  # not UTF-8, and a byte cp1252 leaves undefined
    with pytest.raises(InputError, match=r"is not valid CP1252 \(byte offset 9900\)"):
        list(iter_parts(Source("mixed.txt", mixed), max_chars=2000, encoding="cp1252"))
    with pytest.raises(InputError, match=r"is not valid UTF-8 \(byte offset 9900\)"):
        list(iter_parts(Source("mixed.txt", mixed), max_chars=2000))
    # after a UTF-8 byte-order mark, which the decoder takes off (the offset had been 3 too small)
    for body, offset in [(b"ab\xff" + text.encode(), 5), (text.encode() + b"\xff end", 9903)]:
        marked = tmp_path / "marked.txt"
        marked.write_bytes(b"\xef\xbb\xbf" + body)
        with pytest.raises(InputError, match=rf"is not valid UTF-8 \(byte offset {offset}\)"):
            list(iter_parts(Source("marked.txt", marked), max_chars=2000))


def test_large_files_without_line_breaks_are_cut_after_a_sentence(seeds, tmp_path):
    """A file with no line break at all is cut after a sentence's end (and its closing quote), not
    at the last space before the limit, which would split a sentence in two."""
    from service.batch_inputs import iter_parts

    text = " ".join(seeds["002_2ef1442c87ee1781.txt"].split())
    path = tmp_path / "one-line.txt"
    path.write_text(text, encoding="utf-8")
    parts = list(iter_parts(Source("one-line.txt", path), max_chars=1500))
    assert len(parts) >= 4 and "".join(parts) == text
    assert all(p.rstrip(" ").rstrip("\"'”’»)]")[-1] in ".!?…" for p in parts[:-1]), [p[-30:] for p in parts]


def test_cli_globs(runner, docs):
    res = invoke(runner, "score", "--format", "jsonl", "--include", "*.txt", "--exclude", "b.*", docs)
    assert res.exit_code == 0, res.output
    assert [r["path"] for r in jsonl(res.stdout)] == [str(docs / "a.txt"), str(docs / "d.txt")]


def test_a_double_star_folder_matches_no_folder_too(tmp_path):
    """``**/`` stands for any folders, none included, as in gitignore and the shells (it had needed
    at least one: ``**/*.txt`` left out the files at the top, ``sub/**/*.txt`` those in ``sub``)."""
    from service.batch_inputs import collect_inputs

    g = tmp_path / "g"
    for rel in ("a.txt", "sub/b.txt", "sub/deep/c.txt", "other/d.txt"):
        (g / rel).parent.mkdir(parents=True, exist_ok=True)
        (g / rel).write_text("Talks resumed.\n", encoding="utf-8")

    def picked(include=(), exclude=()):
        return [s.name.removeprefix(str(g) + "/") for s in collect_inputs([str(g)], include, exclude)[0]]

    everything = ["a.txt", "other/d.txt", "sub/b.txt", "sub/deep/c.txt"]
    assert picked(["**/*.txt"]) == everything
    assert picked(["sub/**/*.txt"]) == ["sub/b.txt", "sub/deep/c.txt"]
    assert picked(["sub/**/deep/**/*.txt"]) == ["sub/deep/c.txt"]
    assert picked(exclude=["sub/**/*.txt"]) == ["a.txt", "other/d.txt"]
    assert picked(exclude=["**/b.txt"]) == ["a.txt", "other/d.txt", "sub/deep/c.txt"]


def _folder_with_a_non_utf8_name(tmp_path: Path) -> Path:
    """A folder holding ``bad\\xffname.txt`` (a name that is not UTF-8) and ``ok.txt``; skips the
    test on a file system that takes only UTF-8 names."""
    folder = tmp_path / "names"
    folder.mkdir()
    try:
        (folder / os.fsdecode(b"bad\xffname.txt")).write_text(TEXTS["a.txt"], encoding="utf-8")
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 file names")
    (folder / "ok.txt").write_text(TEXTS["d.txt"], encoding="utf-8")
    return folder


def test_undecodable_file_names_are_shown_escaped(runner, tmp_path):
    """A file name that is not UTF-8 is reported as its bytes escaped (\\xff) in every format, with
    and without -o, and --resume knows it again; the other documents are all there."""
    folder = _folder_with_a_non_utf8_name(tmp_path)
    shown = [str(folder / "bad\\xffname.txt"), str(folder / "ok.txt")]
    for fmt in ("json", "jsonl"):
        res = invoke(runner, "score", "--format", fmt, folder)
        assert res.exit_code == 0, res.output
        assert [r["path"] for r in json_objects(res.stdout)] == shown
    for fmt in ("text", "csv", "html", "jsonl"):
        out = tmp_path / f"out.{fmt}"
        res = invoke(runner, "score", "--format", fmt, "-o", out, folder)
        assert res.exit_code == 0, res.output
        written = out.read_text(encoding="utf-8")
        if fmt == "jsonl":
            assert [r["path"] for r in jsonl(written)] == shown
        elif fmt == "csv":
            assert [r["path"] for r in csv.DictReader(io.StringIO(written, newline=""))] == shown
        else:
            assert all(name in written for name in shown), fmt
    res = invoke(runner, "score", "--format", "jsonl", "--resume", "-o", tmp_path / "out.jsonl", folder)
    assert res.exit_code == 0 and "2 already in the output" in res.stderr


def test_resume_refuses_two_inputs_shown_by_one_name(runner, tmp_path):
    """A name with the byte 0xFF and one written with the characters \\xff are shown alike: resume
    matches records by that name, so it would take one document for the other (one left unscored).
    It refuses to start instead; without --resume both are scored, each under its name."""
    folder = _folder_with_a_non_utf8_name(tmp_path)
    (folder / "bad\\xffname.txt").write_text(TEXTS["d.txt"], encoding="utf-8")
    res = invoke(runner, "score", "--format", "jsonl", folder)
    assert res.exit_code == 0, res.output
    assert len(jsonl(res.stdout)) == 3
    out = tmp_path / "out.jsonl"
    res = invoke(runner, "score", "--format", "jsonl", "--resume", "-o", out, folder)
    assert res.exit_code == 2
    assert "both named" in res.stderr and "bad\\xffname.txt' (a file name" in res.stderr
    assert not out.exists() and not (tmp_path / "out.jsonl.part").exists()


def test_a_file_named_dash_is_not_stdin(runner, tmp_path, monkeypatch):
    """``./-`` names a file called "-": it is shown as ./-, so that its record and standard input's
    ("-") stay apart, also for --resume."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_text(TEXTS["a.txt"], encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = invoke(runner, "score", "--format", "jsonl", "-o", out, "./-", "-", input=TEXTS["d.txt"].encode())
    assert res.exit_code == 0, res.output
    assert [(r["path"], r["stats"]["words"]) for r in jsonl(out.read_text())] == [("./-", 25), ("-", 13)]
    res = invoke(runner, "score", "--format", "jsonl", "--resume", "-o", out, "./-", "-", input=TEXTS["d.txt"].encode())
    assert res.exit_code == 0 and "2 already in the output" in res.stderr


def test_control_characters_in_names_stay_on_one_line(runner, tmp_path):
    """A newline (or another control character) in a file name is shown escaped in the text
    listing's header and in the error lines on stderr, so each stays one line; JSON keeps the name."""
    folder = tmp_path / "odd"
    folder.mkdir()
    try:
        (folder / "two\nlines.txt").write_text(TEXTS["a.txt"], encoding="utf-8")
        (folder / "bell\x07.txt").write_bytes(b"")
    except OSError:
        pytest.skip("this file system takes no control characters in names")
    res = invoke(runner, "score", folder)
    assert res.exit_code == 1  # the empty file
    header = res.stdout.splitlines()[0]
    assert header.startswith(f"{folder}/two\\nlines.txt: clean (score "), res.stdout
    assert f"{folder}/bell\\x07.txt: error: " in res.stderr.splitlines()[0]
    res = invoke(runner, "score", "--format", "jsonl", folder)
    assert [r["path"] for r in jsonl(res.stdout)] == [f"{folder}/bell\x07.txt", f"{folder}/two\nlines.txt"]


def test_pipes_are_refused_unread(runner, docs, tmp_path):
    """A named pipe is an error record at once (opening it would wait for a writer forever); the
    other documents are scored."""
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)

    def hung(signum, frame):
        raise TimeoutError("the run opened the named pipe and waits for a writer")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        res = invoke(runner, "score", "--format", "jsonl", pipe, docs / "a.txt")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert res.exit_code == 1
    bad, good = jsonl(res.stdout)
    assert bad == {"path": str(pipe), "error": bad["error"]} and "named pipe (FIFO)" in bad["error"]
    assert good["path"] == str(docs / "a.txt") and "error" not in good
    # in a folder too: a pipe the globs pick is a record naming it, unopened (it had been left out
    # without a word); a link to a folder is still not followed, and a hidden pipe stays hidden
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("The cat sat on the mat.", encoding="utf-8")
    os.mkfifo(folder / "b.txt")
    os.mkfifo(folder / ".hidden.txt")
    (folder / "sub.txt").symlink_to(docs, target_is_directory=True)
    signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        res = invoke(runner, "score", "--format", "jsonl", folder)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert res.exit_code == 1
    good, bad = jsonl(res.stdout)
    assert good["path"] == str(folder / "a.txt") and "error" not in good
    assert bad == {"path": str(folder / "b.txt"), "error": bad["error"]} and "named pipe (FIFO)" in bad["error"]


def test_closed_stdin_is_an_error_record(docs, monkeypatch):
    """'-' with standard input closed (``unspin score - <&-``: sys.stdin is None) is an error record."""
    from service.batch import BatchOptions, run
    from service.config import get_settings

    monkeypatch.setattr(sys, "stdin", None)
    out, err = io.StringIO(), io.StringIO()
    summary = run(BatchOptions(paths=["-", str(docs / "a.txt")], format="jsonl"), get_settings(), stdout=out, stderr=err)
    assert (summary.scored, summary.failed) == (1, 1)
    bad, good = jsonl(out.getvalue())
    assert bad == {"path": "-", "error": "cannot read standard input: it is closed or unreadable"}
    assert good["path"] == str(docs / "a.txt")


# --------------------------------------------------------------------------- formats


def test_jsonl_json_and_csv_agree(runner, docs):
    res = invoke(runner, "score", "--format", "jsonl", "--threshold", "0.02", docs)
    assert res.exit_code == 0, res.output
    records = jsonl(res.stdout)
    assert [r["path"] for r in records] == names(docs)
    reports = [Report.model_validate(r) for r in records]
    assert all(r.lm.startswith("ngram:cmu-en-us") and r.stats.words > 5 for r in reports)
    assert any(r.spans for r in reports), "threshold 0.02 should report some span in these texts (short texts are presumed mostly clean)"

    res = invoke(runner, "score", "--format", "json", "--threshold", "0.02", docs)
    assert res.exit_code == 0, res.output
    assert without_timing(json_objects(res.stdout)) == without_timing(records)

    res = invoke(runner, "score", "--format", "csv", "--threshold", "0.02", docs)
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(res.stdout, newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + len(records)
    for row, r in zip(rows[1:], reports):
        d = dict(zip(CSV_COLUMNS, row))
        assert d["path"] == r.path and d["label"] == r.label and d["lm"] == r.lm and d["error"] == ""
        assert float(d["score"]) == pytest.approx(r.score, abs=1e-4)
        assert int(d["words"]) == r.stats.words and int(d["spans"]) == len(r.spans)
        top = sorted(r.spans, key=lambda s: (s.kind != "spun", -s.score, s.start))[:5]
        assert d["top_spans"] == "; ".join(f"{' '.join(s.text.split())} → {' '.join(s.suggestions[0].text.split())}" for s in top)


def test_html_is_self_contained_escaped_and_highlights_every_span(runner, docs, tmp_path):
    weird = docs / "<odd & name>.txt"
    weird.write_text("A file name with markup in it is shown as text.\n", encoding="utf-8")
    (docs / "empty.txt").write_bytes(b"")
    out = tmp_path / "report.html"
    res = invoke(runner, "score", "--format", "html", "--threshold", "0", "-o", out, docs)
    assert res.exit_code == 1  # the empty file failed
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    low = html.lower()
    for external in ("<script", "<link", "src=", "http://", "https://", "@import", "url("):
        assert external not in low, f"{external} in the page"
    # the markup is shown as text; "serious" is a word between tags (it may be highlighted at threshold 0)
    assert re.search(r"&lt;script&gt;alert\(&#34;x&#34;\)&lt;/script&gt; &amp; &lt;b&gt;(<mark[^>]*>)?serious(</mark>)?"
                     r"(<span[^>]*>[^<]*</span>)?&lt;/b&gt;", html)
    assert "&lt;odd &amp; name&gt;.txt" in html

    root = ET.fromstring(html.split("\n", 1)[1])  # well-formed: every document character was escaped
    sections = root.findall(".//section")
    assert len(sections) == len(TEXTS) + 2
    records = by_path(jsonl(invoke(runner, "score", "--format", "jsonl", "--threshold", "0", docs).stdout))
    for sec in sections:
        path = sec.find("h2").text
        rec = records[path]
        if "error" in rec:
            assert "error" in "".join(sec.itertext()) and rec["error"] in "".join(sec.itertext())
            continue
        marks = sec.findall(".//div[@class='text']/mark")
        assert [m.text for m in marks] == [s["text"] for s in rec["spans"]]
        # the document's text is all there, in order, with each suggestion after its mark
        text_div = sec.find(".//div[@class='text']")
        suggestions = text_div.findall("span")
        assert [x.text for x in suggestions] == [f"→ {s['suggestions'][0]['text']}" for s in rec["spans"]]
        pieces = [text_div.text or ""]
        for child in text_div:
            pieces.append((child.text or "") if child.tag == "mark" else "")
            pieces.append(child.tail or "")
        assert "".join(pieces) == Path(path).read_text(encoding="utf-8")
    footer = "".join(root.find(".//footer").itertext())
    assert f"{len(TEXTS) + 2} documents" in footer and "1 failed" in footer


# --------------------------------------------------------------------------- errors


def test_error_records_csv_and_run_goes_on(runner, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a_binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "b_good.txt").write_text(TEXTS["a.txt"], encoding="utf-8")
    (folder / "c_latin1.txt").write_bytes("Caf\u00e9 au lait was served in the caf\u00e9.".encode("latin-1"))
    (folder / "d_empty.txt").write_bytes(b"")
    (folder / "e_blank.txt").write_bytes(b"  \n\n")
    missing = tmp_path / "missing.txt"
    out = tmp_path / "out.csv"
    res = invoke(runner, "score", "--format", "csv", "-o", out, folder, missing)
    assert res.exit_code == 1
    rows = {Path(r["path"]).name: r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline=""))}
    assert list(rows) == ["a_binary.txt", "b_good.txt", "c_latin1.txt", "d_empty.txt", "e_blank.txt", "missing.txt"]
    assert "binary" in rows["a_binary.txt"]["error"] and rows["a_binary.txt"]["score"] == ""
    assert "not valid UTF-8" in rows["c_latin1.txt"]["error"]
    assert "empty" in rows["d_empty.txt"]["error"] and "whitespace" in rows["e_blank.txt"]["error"]
    assert "cannot read" in rows["missing.txt"]["error"]
    assert rows["b_good.txt"]["error"] == "" and rows["b_good.txt"]["label"] in ("clean", "suspicious", "spun")
    assert "5 of 6 documents failed" in res.stderr
    for name in ("a_binary.txt", "c_latin1.txt", "d_empty.txt", "missing.txt"):
        assert f"{name}: error:" in res.stderr
    # with the fallback encoding the latin-1 file scores
    res = invoke(runner, "score", "--format", "jsonl", "--encoding", "latin-1", folder / "c_latin1.txt")
    assert res.exit_code == 0, res.output
    assert jsonl(res.stdout)[0]["stats"]["words"] == 8


def test_bad_options_are_usage_errors(runner, docs, tmp_path):
    res = runner.invoke(main, ["score", "--resume", "--format", "jsonl", str(docs)])
    assert res.exit_code == 2 and "--resume needs --output" in res.stderr
    res = runner.invoke(main, ["score", "--resume", "--format", "html", "-o", str(tmp_path / "x.html"), str(docs)])
    assert res.exit_code == 2 and "--resume works with" in res.stderr
    res = runner.invoke(main, ["score", "--encoding", "no-such-codec", str(docs)])
    assert res.exit_code == 2 and "unknown encoding" in res.stderr


def test_unwritable_output_is_a_usage_error(runner, docs, tmp_path):
    missing = tmp_path / "no" / "such" / "folder"
    res = runner.invoke(main, ["score", "--format", "jsonl", "-o", str(missing / "out.jsonl"), str(docs)])
    assert res.exit_code == 2, res.output  # not 1 with a FileNotFoundError
    assert f"cannot write '{missing / 'out.jsonl'}': the folder {missing} does not exist" in res.stderr
    assert not missing.exists()


def test_output_that_stdin_reads_is_refused(docs, tmp_path):
    """``unspin score -o victim.txt - < victim.txt`` is a usage error before anything is scored, the
    document left as it was; standard input redirected from another file is scored."""
    from service.batch import BatchOptions, run
    from service.config import get_settings

    victim = tmp_path / "victim.txt"
    victim.write_text(TEXTS["a.txt"], encoding="utf-8")
    env = dict(os.environ, UNSPIN_LM="ngram", PYTHONPATH=str(ROOT))
    with open(victim, "rb") as fh:
        res = subprocess.run([sys.executable, "-m", "service.cli", "score", "-o", str(victim), "-"], cwd=ROOT,
                             env=env, stdin=fh, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert f"--output {victim} is also an input (-, standard input)" in res.stderr
    assert victim.read_text(encoding="utf-8") == TEXTS["a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "victim.txt"]  # no victim.txt.part
    out = tmp_path / "out.jsonl"
    with open(victim, "rb") as fh:
        with pytest.raises(BatchError, match="is also an input"):
            run(BatchOptions(paths=[str(docs / "a.txt"), "-"], format="jsonl", output=victim), get_settings(), stdin=fh)
        fh.seek(0)
        summary = run(BatchOptions(paths=["-"], format="jsonl", output=out), get_settings(), stdin=fh,
                      stderr=io.StringIO())
    assert summary.scored == 1 and [r["path"] for r in jsonl(out.read_text(encoding="utf-8"))] == ["-"]
    assert victim.read_text(encoding="utf-8") == TEXTS["a.txt"]


# --------------------------------------------------------------------------- encodings and stdin


def test_encodings_give_the_same_report(runner, tmp_path):
    text = "Le caf\u00e9 raised prices on Tuesday \u2014 officials said the decision would help.\n"
    variants = {
        "plain.txt": text.encode("utf-8"),
        "bom8.txt": b"\xef\xbb\xbf" + text.encode("utf-8"),
        "le16.txt": b"\xff\xfe" + text.encode("utf-16-le"),
        "be16.txt": b"\xfe\xff" + text.encode("utf-16-be"),
        "cp1252.txt": text.replace("\u2014", "-").encode("cp1252"),
    }
    folder = tmp_path / "enc"
    folder.mkdir()
    for name, data in variants.items():
        (folder / name).write_bytes(data)
    res = invoke(runner, "score", "--format", "jsonl", "--threshold", "0", "--encoding", "cp1252", folder)
    assert res.exit_code == 0, res.output
    recs = {Path(r["path"]).name: r for r in without_timing(jsonl(res.stdout))}
    base = dict(recs["plain.txt"], path=None)
    for name in ("bom8.txt", "le16.txt", "be16.txt"):
        assert dict(recs[name], path=None) == base, name  # offsets into the decoded text, BOM not counted
    for s in recs["le16.txt"]["spans"]:
        assert text[s["start"] : s["end"]] == s["text"]
    assert recs["cp1252.txt"]["stats"]["words"] == recs["plain.txt"]["stats"]["words"]
    # without the fallback the cp1252 file is an error record
    res = invoke(runner, "score", "--format", "jsonl", folder / "cp1252.txt")
    assert res.exit_code == 1 and "not valid UTF-8" in jsonl(res.stdout)[0]["error"]


def test_large_file_refused_by_its_codec_is_an_error_record(engine, tmp_path):
    """Scored in parts, a file its fallback codec refuses with a bare UnicodeError (UTF-16 without a
    byte-order mark) is a clear error record, not an internal error."""
    from service.batch_outcomes import score_source

    path = tmp_path / "big.txt"
    path.write_bytes("Caf\u00e9 prices rose again on Tuesday.\n".encode("latin-1") * 100)
    out = score_source(_small_engine(engine), Source("big.txt", path), encoding="utf-16")
    assert out.error == ("cannot be decoded as UTF-16: UTF-16 stream does not start with BOM; without a byte-order "
                         "mark name the byte order: --encoding utf-16-le or utf-16-be")


def test_lone_surrogates_are_error_records(runner, engine, docs, tmp_path):
    """unicode_escape turns the six characters \\ud800 into a lone surrogate: an error record saying
    where, whole or (a large file) scored in parts, and the other documents are scored."""
    from service.batch_outcomes import score_source

    path = tmp_path / "escaped.txt"
    path.write_bytes(b"Caf\xe9 prices rose again on Tuesday, said \\ud800 officials.\n")
    res = invoke(runner, "score", "--format", "jsonl", "--encoding", "unicode_escape", path, docs / "a.txt")
    assert res.exit_code == 1
    bad, good = jsonl(res.stdout)
    assert bad == {"path": str(path), "error": "the text holds a lone surrogate (U+D800) at character offset 40: "
                   "not a Unicode character"}
    assert "error" not in good

    path.write_bytes(b"Caf\xe9 prices rose again on Tuesday.\n" * 100 + b"The \\ud800 sign.\n")
    text = path.read_bytes().decode("unicode_escape")
    out = score_source(_small_engine(engine), Source("big.txt", path), encoding="unicode_escape")
    m = re.fullmatch(r"the text holds a lone surrogate \(U\+D800\) at character offset (\d+): not a Unicode "
                     r"character \(in the part starting at character offset ([\d,]+) of the file\)", out.error or "")
    assert m, out.error
    assert text[int(m[1]) + int(m[2].replace(",", ""))] == "\ud800"


def test_stdin_with_files_csv(runner, docs):
    data = b"\xff\xfe" + TEXTS["d.txt"].encode("utf-16-le")
    res = invoke(runner, "score", "--format", "csv", docs / "a.txt", "-", input=data)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout, newline="")))
    assert [r["path"] for r in rows] == [str(docs / "a.txt"), "-"]
    assert int(rows[1]["words"]) == 13


# --------------------------------------------------------------------------- parallel


def test_jobs_2_equals_jobs_1(runner, docs, tmp_path):
    (docs / "empty.txt").write_bytes(b"")
    one = invoke(runner, "score", "--format", "jsonl", "--threshold", "0.02", docs)
    two = invoke(runner, "score", "--format", "jsonl", "--threshold", "0.02", "--jobs", "2", docs)
    assert one.exit_code == two.exit_code == 1  # the empty file
    a, b = without_timing(jsonl(one.stdout)), without_timing(jsonl(two.stdout))
    assert [r["path"] for r in a] == sorted(names(docs) + [str(docs / "empty.txt")])
    assert a == b


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_inputs_that_all_fail_are_answered_without_an_engine(runner, tmp_path, monkeypatch, jobs):
    """A run whose documents all fail before scoring (missing, empty, binary) says so without
    loading the engine or starting workers: it had taken the engine's ten seconds (and with
    --jobs N, N workers of a gigabyte each) to say "no such file"."""
    import service.batch_pool
    import service.engine

    def no_engine(*args, **kwargs):
        raise AssertionError("the engine was loaded")

    monkeypatch.setattr(service.engine, "load_engine", no_engine)
    monkeypatch.setattr(service.batch_pool, "_pooled", no_engine)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"  \n\t\n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 50)
    res = invoke(runner, "score", "--format", "jsonl", "--jobs", jobs, tmp_path / "missing.txt", tmp_path / "empty.txt",
                 tmp_path / "blank.txt", tmp_path / "binary.txt", "-", input=b"")
    assert res.exit_code == 1, (res.output, res.exception)
    records = jsonl(res.stdout)
    assert [r["path"] for r in records] == [str(tmp_path / n) for n in ("missing.txt", "empty.txt", "blank.txt",
                                                                          "binary.txt")] + ["-"]
    assert all(r.keys() == {"path", "error"} for r in records)
    assert "No such file" in records[0]["error"] and records[1]["error"] == "the text is empty"
    assert records[2]["error"] == "the text contains only whitespace" and records[4]["error"] == "the text is empty"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_documents_failing_before_the_first_readable_one_keep_their_place(runner, docs, tmp_path, jobs):
    """The records of documents answered before the engine loads come where their documents are,
    with the same errors as those answered after it, and the rest are scored as before."""
    (tmp_path / "empty.txt").write_bytes(b"")
    first = names(docs)[0]
    args = [tmp_path / "missing.txt", tmp_path / "empty.txt", first, tmp_path / "empty2.txt", names(docs)[1]]
    (tmp_path / "empty2.txt").write_bytes(b"")
    res = invoke(runner, "score", "--format", "jsonl", "--jobs", jobs, *args)
    assert res.exit_code == 1
    records = jsonl(res.stdout)
    assert [r["path"] for r in records] == [str(a) for a in args]
    assert records[1]["error"] == records[3]["error"] == "the text is empty"
    assert "report" not in records[2] and records[2]["lm"] and records[4]["lm"]
    alone = without_timing(jsonl(invoke(runner, "score", "--format", "jsonl", first).stdout))
    assert without_timing([records[2]]) == alone


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_engine_that_cannot_start_is_a_usage_error_not_a_traceback(runner, docs, tmp_path, monkeypatch, jobs):
    first = invoke(runner, "score", "--format", "jsonl", names(docs)[0])  # a record for a FILE.part, below
    monkeypatch.setenv("UNSPIN_SECOND_LOOK", "auto")
    monkeypatch.setenv("UNSPIN_SECOND_LOOK_PATH", str(tmp_path / "missing.json"))
    res = invoke(runner, "score", "--format", "jsonl", "--jobs", jobs, docs)
    assert res.exit_code == 2 and res.stdout == ""
    assert "the engine cannot start" in res.stderr and "missing.json" in res.stderr
    # with --output: no file, and no FILE.part left behind (an empty one, or a CSV header alone, had been)
    out, part = tmp_path / "out.csv", tmp_path / "out.csv.part"
    res = invoke(runner, "score", "--format", "csv", "--jobs", jobs, "-o", out, docs)
    assert res.exit_code == 2 and "the engine cannot start" in res.stderr
    assert not out.exists() and not part.exists()
    # a FILE.part from an earlier run is what --resume continues: it stays as it was
    earlier = tmp_path / "earlier.jsonl.part"
    record = first.stdout
    assert first.exit_code == 0 and record.count("\n") == 1
    earlier.write_text(record, encoding="utf-8")
    res = invoke(runner, "score", "--format", "jsonl", "--jobs", jobs, "-o", tmp_path / "earlier.jsonl", "--resume", docs)
    assert res.exit_code == 2 and earlier.read_text(encoding="utf-8") == record


@pytest.mark.parametrize("command", ["score", "eval"])
def test_a_wordnet_folder_without_wordnet_is_a_usage_error(runner, docs, tmp_path, monkeypatch, command):
    """UNSPIN_WORDNET_DIR naming a folder without WordNet's files stops the run as every other bad
    model setting does, with exit 2 and the reason (it had ended in a traceback, exit 1)."""
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "a", "text": "The cat sat on the mat.", "spans": []}) + "\n")
    monkeypatch.setenv("UNSPIN_WORDNET_DIR", str(tmp_path))
    res = invoke(runner, *(["score", docs] if command == "score" else ["eval", "--gold", gold]))
    assert res.exit_code == 2 and res.stdout == ""
    assert "the engine cannot start: WordNet 3.0 database files not found" in res.stderr and str(tmp_path) in res.stderr


@pytest.mark.parametrize("what", ["missing", "folder", "text"])
def test_an_ngram_model_that_cannot_load_is_named_with_its_variable(runner, docs, tmp_path, monkeypatch, what):
    """UNSPIN_NGRAM_PATH naming no file, a folder or a file that is no n-gram model stops the run
    with exit 2 and a reason naming the variable and the path (a text file had given pocketsphinx's
    bare "Unable to read language model", a folder "n-gram model not found" for a path that exists)."""
    path = {"missing": tmp_path / "nope.lm.bin", "folder": tmp_path, "text": tmp_path / "model.lm"}[what]
    if what == "text":
        path.write_text("not a model\n")
    monkeypatch.setenv("UNSPIN_NGRAM_PATH", str(path))
    res = invoke(runner, "score", docs)
    assert res.exit_code == 2 and res.stdout == ""
    assert "the engine cannot start" in res.stderr and "UNSPIN_NGRAM_PATH" in res.stderr and str(path) in res.stderr


def test_eval_with_an_engine_that_cannot_start_is_a_usage_error(runner, tmp_path, monkeypatch):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "a", "text": "The cat sat on the mat.", "spans": []}) + "\n")
    monkeypatch.setenv("UNSPIN_SECOND_LOOK", "auto")
    monkeypatch.setenv("UNSPIN_SECOND_LOOK_PATH", str(tmp_path / "missing.json"))
    res = invoke(runner, "eval", "--gold", gold)
    assert res.exit_code == 2 and "the engine cannot start" in res.stderr


# --------------------------------------------------------------------------- resume


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_run_without_resume_does_not_write_over_an_interrupted_runs_reports(runner, docs, tmp_path, fmt):
    """A FILE.part holding reports of a run that stopped early is refused (exit 2, saying how to go
    on or start again) by a run without --resume, and stays as it was: the run had truncated it,
    losing every report in it. One holding no report (error records, a CSV header alone) is written
    over as before."""
    out, part = tmp_path / f"out.{fmt}", tmp_path / f"out.{fmt}.part"
    first = invoke(runner, "score", "--format", fmt, "-o", out, names(docs)[0])
    assert first.exit_code == 0 and out.exists() and not part.exists()
    out.rename(part)  # as a run stopped after its first document leaves it
    earlier = part.read_bytes()
    res = invoke(runner, "score", "--format", fmt, "-o", out, docs)
    assert res.exit_code == 2 and res.stdout == ""
    assert "holds the reports of a run that stopped early" in res.stderr and "--resume" in res.stderr
    assert f"delete {part}" in res.stderr
    assert part.read_bytes() == earlier and not out.exists()
    # resumed, it goes on from them
    res = invoke(runner, "score", "--format", fmt, "-o", out, "--resume", docs)
    assert res.exit_code == 0 and not part.exists() and out.exists()
    # no report to lose: written over
    if fmt == "jsonl":
        part.write_text(json.dumps({"path": "gone.txt", "error": "cannot read: No such file or directory"}) + "\n",
                        encoding="utf-8")
    else:
        part.write_text(",".join(CSV_COLUMNS) + "\r\n", encoding="utf-8")
    res = invoke(runner, "score", "--format", fmt, "-o", out, names(docs)[0])
    assert res.exit_code == 0 and not part.exists() and out.exists()


def test_prepare_resume_keeps_whole_reports_only(tmp_path):
    out = tmp_path / "out.jsonl"
    part = tmp_path / "out.jsonl.part"
    good = Report(path="a.txt", score=0.1, label="clean", lm="ngram:cmu-en-us").model_dump(mode="json")
    part.write_text(
        json.dumps(good) + "\n" + json.dumps({"path": "b.txt", "error": "the text is empty"}) + "\n"
        + json.dumps(good) + "\n" + '{"path": "c.txt", "sco', encoding="utf-8"
    )
    done, appending = prepare_resume(out, "jsonl")
    assert done == {"a.txt"} and appending
    assert part.read_text(encoding="utf-8") == json.dumps(good) + "\n"  # error retried, duplicate and torn line dropped

    out = tmp_path / "out.csv"
    rows = io.StringIO()
    w = csv.writer(rows)
    w.writerow(CSV_COLUMNS)
    w.writerow(["x.txt", "0.1", "clean", "9", "0", "", "ngram:cmu-en-us", "en", ""])
    w.writerow(["y.txt", "", "", "", "", "", "", "", "looks like binary data"])
    out.write_text(rows.getvalue() + 'z.txt,0.2,clean,9,1,"a → b', encoding="utf-8")  # a finished run... torn
    done, appending = prepare_resume(out, "csv")
    assert done == {"x.txt"}
    kept = list(csv.reader(io.StringIO((tmp_path / "out.csv.part").read_text(encoding="utf-8"), newline="")))
    assert [r[0] for r in kept] == ["path", "x.txt"]
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not an unspin CSV"):
        prepare_resume(bad, "csv")
    jsonl = tmp_path / "reports.csv"  # a JSONL output resumed as CSV: its long first line is not echoed whole
    jsonl.write_text(json.dumps({"path": "a.txt", "spans": ["x" * 50] * 600}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not an unspin CSV") as err:
        prepare_resume(jsonl, "csv")
    assert len(str(err.value)) < 400


def test_resume_refuses_outputs_not_ours(runner, docs, tmp_path):
    """--resume of a file that is not an unspin output of its format stops (exit 2) and leaves it as
    it was: CSV that is not UTF-8, JSONL with a line that is not JSON or a record that is neither a
    report nor an error record (a torn last line of a genuine output is still dropped, above)."""
    report = json.dumps(Report(path="a.txt", score=0.1, label="clean", lm="ngram:cmu-en-us").model_dump(mode="json"))
    cases = {
        "latin1.csv": ",".join(CSV_COLUMNS).encode() + b"\nx.txt,0.1,clean,9,0,,ngram,en,caf\xe9\n",
        "binary.jsonl": bytes(range(256)) * 4,
        "garbage.jsonl": b"\x89PNG\r\n\x1a\x00\x00",  # no newline: not even a torn record
        "other.jsonl": b'{"path": "' + str(docs / "a.txt").encode() + b'"}\n',
        "bad_line.jsonl": (report + "\nnot json\n" + report).encode(),
    }
    for name, data in cases.items():
        out = tmp_path / name
        out.write_bytes(data)
        fmt = out.suffix[1:]
        with pytest.raises(BatchError, match=f"is not an unspin {fmt.upper()}"):
            prepare_resume(out, fmt)
        res = runner.invoke(main, ["score", "--format", fmt, "--resume", "-o", str(out), str(docs / "a.txt")])
        assert res.exit_code == 2 and "cannot resume it" in res.stderr, (name, res.output, res.exception)
        assert out.read_bytes() == data and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(name)) == [name]


#: ``python -m service.cli`` that takes Ctrl-C even when this test run was started with SIGINT
#: ignored (a background job of a shell without job control), which the child would inherit and
#: Python would then leave ignored
_WITH_CTRL_C = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                "runpy.run_module('service.cli', run_name='__main__', alter_sys=True)")


@contextmanager
def _pseudo_terminals(n: int) -> Iterator[list[tuple[Path, int]]]:
    """``n`` character devices whose reading blocks, each with a descriptor that types into it: the far
    ends of pseudo-terminals (a FIFO would be refused unread), and their near ends."""
    ptys = [os.openpty() for _ in range(n)]
    try:
        yield [(Path(os.ttyname(slave)), master) for master, slave in ptys]
    finally:
        for master, slave in ptys:
            os.close(slave)
            os.close(master)


@contextmanager
def _blocking_devices(n: int) -> Iterator[list[Path]]:
    """``n`` character devices whose reading blocks: pseudo-terminals nothing is typed into."""
    with _pseudo_terminals(n) as ptys:
        yield [device for device, _ in ptys]


@pytest.fixture
def blocking_device():
    """A character device whose reading blocks (see :func:`_blocking_devices`)."""
    with _blocking_devices(1) as devices:
        yield devices[0]


@pytest.fixture
def typed_device():
    """A character device whose reading blocks until a text and an end of file are typed into its
    descriptor, the fixture's second value (see :func:`_pseudo_terminals`)."""
    with _pseudo_terminals(1) as ptys:
        yield ptys[0]


@pytest.fixture
def blocking_devices():
    """Three such devices (three links to one device would be one input)."""
    with _blocking_devices(3) as devices:
        yield devices


def _start_blocked_run(tmp_path: Path, fmt: str, out: Path, device: Path,
                       *options: str) -> tuple[subprocess.Popen, list[str], Path]:
    """Start ``unspin score`` (with ``options``) in a subprocess on two documents, then a link to
    ``device`` (reading it blocks), then one more document: the run really stops mid-way, deterministically.
    Returns once the first two documents' records are in ``FILE.part``."""
    proc, args, links = _start_blocked_runs(tmp_path, fmt, out, [device], *options)
    return proc, args, links[0]


def _start_blocked_runs(tmp_path: Path, fmt: str, out: Path, devices: Sequence[Path],
                        *options: str) -> tuple[subprocess.Popen, list[str], list[Path]]:
    """:func:`_start_blocked_run` with a link to each of ``devices`` in turn (``slow.txt``,
    ``slow1.txt``, …) where it has one; returns the links."""
    first = tmp_path / "first"
    first.mkdir()
    (first / "a.txt").write_text(TEXTS["a.txt"], encoding="utf-8")
    (first / "b.txt").write_text(TEXTS["d.txt"], encoding="utf-8")
    slow = [tmp_path / (f"slow{i}.txt" if i else "slow.txt") for i in range(len(devices))]
    for link, device in zip(slow, devices):
        link.symlink_to(device)
    last = tmp_path / "last.txt"
    last.write_text(TEXTS["sub/deeper/c.md"], encoding="utf-8")
    args = ["score", *options, "--format", fmt, "-o", str(out), str(first), *map(str, slow), str(last)]
    env = dict(os.environ, UNSPIN_LM="ngram", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", _WITH_CTRL_C, *args], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    part = out.with_name(out.name + ".part")
    wanted = 2 if fmt == "jsonl" else 3  # csv: header + 2 rows
    deadline = time.monotonic() + 300
    while not (part.exists() and part.read_text(encoding="utf-8").count("\n") >= wanted):
        if proc.poll() is not None:
            pytest.fail(f"the run ended early: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the run wrote nothing in time")
        time.sleep(0.2)
    return proc, args, slow


def _blocked_run_paths(tmp_path: Path, slow: Path) -> list[str]:
    """The paths of a run of :func:`_start_blocked_run`'s four documents, in input order."""
    return [str(tmp_path / "first" / "a.txt"), str(tmp_path / "first" / "b.txt"), str(slow), str(tmp_path / "last.txt")]


def _resume_stopped_run(runner, out: Path, args: list[str], slow: Path):
    """After a JSONL run of :func:`_start_blocked_run` stopped at its blocking document: its two
    records are in FILE.part and no output was written; the blocking link made a file, the same
    command with --resume completes (exit 0). Returns that run's result."""
    part = out.with_name(out.name + ".part")
    assert not out.exists() and len(jsonl(part.read_text(encoding="utf-8"))) == 2
    slow.unlink()
    slow.write_text(TEXTS["sub/b.txt"], encoding="utf-8")
    res = invoke(runner, *args, "--resume")
    assert res.exit_code == 0, res.output
    return res


def test_resume_after_kill_jsonl(runner, tmp_path, blocking_device):
    out = tmp_path / "out.jsonl"
    proc, args, slow = _start_blocked_run(tmp_path, "jsonl", out, blocking_device)
    proc.kill()  # SIGKILL: no clean-up at all
    proc.wait(timeout=60)
    res = _resume_stopped_run(runner, out, args, slow)
    assert "2 already in the output (skipped)" in res.stderr
    part = out.with_name(out.name + ".part")
    assert not part.exists()
    records = jsonl(out.read_text(encoding="utf-8"))
    paths = [r["path"] for r in records]
    assert paths == _blocked_run_paths(tmp_path, slow)
    # resuming a finished output changes nothing and scores nothing
    res = invoke(runner, *args, "--resume")
    assert res.exit_code == 0 and "4 already in the output" in res.stderr
    assert [r["path"] for r in jsonl(out.read_text(encoding="utf-8"))] == paths


def _awaited(find: Callable[[], T], seconds: float, failure: str) -> T:
    """What ``find`` returns once it is something (asked every 0.2 s); the test fails with ``failure``
    after ``seconds`` without."""
    deadline = time.monotonic() + seconds
    while not (found := find()):
        assert time.monotonic() < deadline, failure
        time.sleep(0.2)
    return found


def _kill_workers(proc: subprocess.Popen, rounds: int) -> None:
    """Kill the worker processes of the ``unspin score --jobs`` run ``proc`` as the system's
    out-of-memory killer would: first all of its pool's, then, ``rounds - 1`` times, the next worker
    that appears (the pool of one that scores the broken pool's documents again, one at a time)."""
    psutil = pytest.importorskip("psutil")
    killed: set[int] = set()

    def workers() -> list:
        assert proc.poll() is None, "the run ended with no worker process to kill"
        return [c for c in psutil.Process(proc.pid).children(recursive=True)
                if c.pid not in killed and "spawn_main" in " ".join(c.cmdline())
                and "resource_tracker" not in " ".join(c.cmdline())]

    for _ in range(rounds):
        for w in _awaited(workers, 120, "no worker process to kill"):
            w.kill()
            killed.add(w.pid)


def _failed_blocked_document_resumed(runner, tmp_path: Path, out: Path, args: list[str], slow: Path) -> dict:
    """After a JSONL run of :func:`_start_blocked_run` that went on past its blocking document: the
    output holds the four records in input order, the last one a report; the blocking link then made
    a file, ``--resume`` scores that document again and leaves no error record. Returns the blocking
    document's record from before."""
    records = jsonl(out.read_text(encoding="utf-8"))
    assert [r["path"] for r in records] == _blocked_run_paths(tmp_path, slow)
    assert "error" not in records[3] and records[3]["stats"]["words"] > 0
    slow.unlink()
    slow.write_text(TEXTS["sub/b.txt"], encoding="utf-8")
    res = invoke(runner, *args, "--resume")  # the document that failed is scored again
    assert res.exit_code == 0 and "3 already in the output" in res.stderr, res.output
    assert all("error" not in r for r in jsonl(out.read_text(encoding="utf-8")))
    return records[2]


def test_a_document_whose_worker_dies_is_an_error_record_and_the_run_goes_on(runner, tmp_path, blocking_device):
    """A worker process of --jobs killed mid-run (as the system's out-of-memory killer would): the
    documents its pool held are scored again one at a time; the one whose worker dies again there
    gets an error record, the others their reports, and the run ends as one with a failed document
    (it had stopped the run, and before that ended in a BrokenProcessPool traceback)."""
    out = tmp_path / "out.jsonl"
    proc, args, slow = _start_blocked_run(tmp_path, "jsonl", out, blocking_device, "--jobs", "2")
    _kill_workers(proc, rounds=2)  # the pool's, then the worker reading the blocking document alone
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err.decode()
    assert "Traceback" not in err.decode() and "died while scoring it alone" in err.decode()
    failed = _failed_blocked_document_resumed(runner, tmp_path, out, args, slow)
    assert "died while scoring it alone" in failed["error"] and "report" not in failed


def test_workers_dying_on_documents_in_a_row_stop_the_run(runner, tmp_path, blocking_devices):
    """Workers killed on three documents in a row, each scored alone, are being killed whatever they
    score: the run stops with the reason, the summary line and exit code 3, FILE.part kept for --resume."""
    from service.batch_pool import MAX_DEATHS_IN_A_ROW

    assert MAX_DEATHS_IN_A_ROW == 3
    out = tmp_path / "out.jsonl"
    proc, args, slow = _start_blocked_runs(tmp_path, "jsonl", out, blocking_devices, "--jobs", "2")
    first, last, part = tmp_path / "first", tmp_path / "last.txt", out.with_name(out.name + ".part")
    _kill_workers(proc, rounds=1 + MAX_DEATHS_IN_A_ROW)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 3, err.decode()
    assert "worker processes died" in err.decode() and "--resume" in err.decode() and "Traceback" not in err.decode()
    assert not out.exists()
    records = jsonl(part.read_text(encoding="utf-8"))
    assert [r["path"] for r in records] == [str(first / "a.txt"), str(first / "b.txt"), str(slow[0]), str(slow[1])]
    assert all("died while scoring it alone" in r["error"] for r in records[2:])
    for link in slow:
        link.unlink()
        link.write_text(TEXTS["sub/b.txt"], encoding="utf-8")
    res = invoke(runner, *args, "--resume")
    assert res.exit_code == 0, res.output
    assert [r["path"] for r in jsonl(out.read_text(encoding="utf-8"))] == [
        str(first / "a.txt"), str(first / "b.txt"), *map(str, slow), str(last)]


def _reading_stdin(proc: subprocess.Popen) -> bool:
    """Whether ``proc`` is blocked reading its standard input (Linux: the read system call on descriptor 0)."""
    try:
        return Path(f"/proc/{proc.pid}/syscall").read_text().split()[:2] == ["0", "0x0"]
    except OSError:
        return False


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_while_standard_input_is_read_stops_the_run_as_documented(tmp_path, signum, code):
    """Ctrl-C (or SIGTERM) while ``unspin score -`` still reads its standard input, before any
    document is scored, ends the run as it does later: the summary, an 'interrupted' line and exit
    130 (143). It had been click's "Aborted!" and exit 1, which means a document failed."""
    if not Path("/proc/self/syscall").exists():
        pytest.skip("needs Linux's /proc/PID/syscall to see the run wait for its input")
    env = dict(os.environ, UNSPIN_LM="ngram", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", _WITH_CTRL_C, "score", "-"], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"The talks began on")
        proc.stdin.flush()
        deadline = time.monotonic() + 120
        while not _reading_stdin(proc):
            assert proc.poll() is None and time.monotonic() < deadline, "the run never waited for its input"
            time.sleep(0.1)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, err.decode()
    assert out == b"" and "interrupted: nothing was scored" in err.decode() and "Traceback" not in err.decode()


def test_resume_after_ctrl_c_csv(runner, tmp_path, blocking_device):
    out = tmp_path / "out.csv"
    proc, args, slow = _start_blocked_run(tmp_path, "csv", out, blocking_device)
    proc.send_signal(signal.SIGINT)  # Ctrl-C while it waits for the third document
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "interrupted" in err.decode() and "--resume" in err.decode()
    slow.unlink()
    slow.write_bytes(b"")  # now an empty file: an error record, the run goes on
    res = invoke(runner, *args, "--resume")
    assert res.exit_code == 1  # the empty file
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert [r["path"] for r in rows] == _blocked_run_paths(tmp_path, slow)
    assert "empty" in rows[2]["error"]
    # resuming retries the failed document (and only it)
    slow.write_text(TEXTS["a.txt"], encoding="utf-8")
    res = invoke(runner, *args, "--resume")
    assert res.exit_code == 0 and "3 already in the output" in res.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert sorted(r["path"] for r in rows) == sorted({r["path"] for r in rows}) and len(rows) == 4
    assert all(r["error"] == "" for r in rows)


def _output_records(out: Path) -> list[dict]:
    """The records of a JSONL or CSV output (a CSV row as a dict), in the file's order."""
    text = out.read_text(encoding="utf-8")
    return jsonl(text) if out.suffix == ".jsonl" else list(csv.DictReader(io.StringIO(text, newline="")))


def _output_paths(out: Path) -> list[str]:
    """The ``path`` of every record of a JSONL or CSV output, in the file's order."""
    return [r["path"] for r in _output_records(out)]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_keeps_input_order_when_a_failed_document_is_retried(runner, tmp_path, fmt):
    """A document that failed is tried again on --resume and keeps its place in input order, whether
    it fails again or is scored; no .part or temporary file is left behind."""
    folder = tmp_path / "r"
    folder.mkdir()
    texts = [TEXTS["a.txt"], TEXTS["d.txt"], None, TEXTS["sub/deeper/c.md"], TEXTS["a.txt"]]
    for i, text in enumerate(texts, 1):
        data = "Le caf\u00e9 raised prices on Tuesday.\n".encode("cp1252") if text is None else text.encode("utf-8")
        (folder / f"d{i}.txt").write_bytes(data)
    want = [str(folder / f"d{i}.txt") for i in range(1, 6)]
    out = tmp_path / f"r.{fmt}"
    res = invoke(runner, "score", "--format", fmt, "-o", out, folder)
    assert res.exit_code == 1 and _output_paths(out) == want
    assert [r["path"] for r in _output_records(out) if r.get("error")] == [want[2]]
    res = invoke(runner, "score", "--format", fmt, "-o", out, "--resume", folder)
    assert res.exit_code == 1 and "4 already in the output" in res.stderr
    assert _output_paths(out) == want  # failed again: still third
    res = invoke(runner, "score", "--format", fmt, "-o", out, "--resume", "--encoding", "cp1252", folder)
    assert res.exit_code == 0 and "4 already in the output" in res.stderr
    assert _output_paths(out) == want and not [r for r in _output_records(out) if r.get("error")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r", out.name]


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.name.isdigit() and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="lists processes through /proc")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigterm_stops_the_workers_and_keeps_the_part(runner, tmp_path, blocking_device, jobs):
    """SIGTERM stops a run as Ctrl-C does: no worker process left running, exit code 143, the
    documents done so far in OUTPUT.part for --resume."""
    out = tmp_path / "out.jsonl"
    proc, args, slow = _start_blocked_run(tmp_path, "jsonl", out, blocking_device, "--jobs", jobs)
    children = _children(proc.pid)
    if jobs == "2":
        assert len(children) >= 2  # the workers (and multiprocessing's resource tracker)
    proc.send_signal(signal.SIGTERM)  # while the third document blocks
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()
    assert "interrupted" in err.decode() and "--resume" in err.decode()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if _running(pid)]
    part = out.with_name(out.name + ".part")
    assert not out.exists() and len(jsonl(part.read_text(encoding="utf-8"))) == 2
    slow.unlink()
    slow.write_text(TEXTS["sub/b.txt"], encoding="utf-8")
    res = invoke(runner, *args, "--resume")
    assert res.exit_code == 0 and "2 already in the output" in res.stderr, res.output
    assert _output_paths(out) == _blocked_run_paths(tmp_path, slow)


# --------------------------------------------------------------------------- Ray


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'unspin[ray]'")
    pytest.importorskip("ray.data", reason="Ray Data is missing: pip install 'ray[data]'")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})  # workers import this checkout
    yield ray
    ray.shutdown()


def test_ray_engine_and_pipeline_equal_single_process(runner, docs, tmp_path, ray_cluster):
    (docs / "empty.txt").write_bytes(b"")
    local = invoke(runner, "score", "--format", "jsonl", "--threshold", "0.02", docs)
    on_ray = invoke(runner, "score", "--engine", "ray", "--jobs", "2", "--format", "jsonl", "--threshold", "0.02", docs)
    assert local.exit_code == on_ray.exit_code == 1  # the empty file, on both
    expected = without_timing(jsonl(local.stdout))
    assert without_timing(jsonl(on_ray.stdout)) == expected  # same records, same order
    # standard input among the inputs (its row has no path: it had crashed the whole run)
    stdin = TEXTS[next(iter(TEXTS))].encode("utf-8")
    local = invoke(runner, "score", "--format", "jsonl", "-", docs / "empty.txt", input=stdin)
    on_ray = invoke(runner, "score", "--engine", "ray", "--jobs", "2", "--format", "jsonl", "-", docs / "empty.txt",
                    input=stdin)
    assert local.exit_code == on_ray.exit_code == 1 and len(jsonl(local.stdout)) == 2
    assert without_timing(jsonl(on_ray.stdout)) == without_timing(jsonl(local.stdout))

    from service.config import Settings
    from service.ray_batch import pipeline

    out_dir = tmp_path / "ray-out"
    pipeline(str(docs), str(out_dir), settings=Settings(lm="ngram"), threshold=0.02, actors=1,
             file_extensions=["txt", "md"])
    lines = [r for f in sorted(out_dir.glob("*.jsonl")) for r in jsonl(f.read_text(encoding="utf-8"))]
    assert by_path(without_timing(lines)) == by_path(expected)


def test_ray_engine_takes_file_names_that_are_not_utf8(runner, tmp_path, ray_cluster):
    folder = _folder_with_a_non_utf8_name(tmp_path)
    local = invoke(runner, "score", "--format", "jsonl", folder)
    on_ray = invoke(runner, "score", "--engine", "ray", "--jobs", "2", "--format", "jsonl", folder)
    assert local.exit_code == on_ray.exit_code == 0, on_ray.output
    assert without_timing(jsonl(on_ray.stdout)) == without_timing(jsonl(local.stdout))
    assert [r["path"] for r in jsonl(on_ray.stdout)] == [str(folder / "bad\\xffname.txt"), str(folder / "ok.txt")]


def test_ray_engine_that_cannot_start_is_a_usage_error_with_its_reason(runner, docs, tmp_path, monkeypatch, ray_cluster):
    """The actors' engine cannot load its second-look file: the reason comes back from them and
    the run stops as without Ray (exit 2, no record written), not with Ray's traceback. (Ray's own
    log lines about the actors it then stops may reach stdout, depending on timing.)"""
    monkeypatch.setenv("UNSPIN_SECOND_LOOK", "auto")
    monkeypatch.setenv("UNSPIN_SECOND_LOOK_PATH", str(tmp_path / "missing.json"))
    res = invoke(runner, "score", "--engine", "ray", "--jobs", "2", "--format", "jsonl", docs)
    assert res.exit_code == 2, res.output
    assert not [line for line in res.stdout.splitlines() if line.startswith("{")], res.stdout
    assert "the engine cannot start" in res.stderr and "missing.json" in res.stderr

    from service.config import Settings
    from service.ray_batch import pipeline

    # the pure pipeline has no driver to tell: its job fails with the actors' reason, and writes nothing
    bad = Settings(lm="ngram", second_look="auto", second_look_path=tmp_path / "missing.json")
    with pytest.raises(Exception, match="the engine cannot start") as failed:
        pipeline(str(docs), str(tmp_path / "ray-out"), settings=bad, actors=1, file_extensions=["txt", "md"])
    assert "missing.json" in str(failed.value)
    assert not list((tmp_path / "ray-out").glob("*.jsonl"))


def _actor_reading(device: Path, but: set[int]) -> "psutil.Process":
    """The Ray actor process, not one of ``but``, that reads ``device`` (a document's link to it), once there is one."""
    psutil = pytest.importorskip("psutil")

    def reader() -> psutil.Process | None:
        for p in psutil.process_iter(["cmdline"]):
            if p.pid in but or "RayScorer" not in " ".join(p.info["cmdline"] or []):
                continue
            try:
                if any(os.readlink(f"/proc/{p.pid}/fd/{fd}") == str(device) for fd in os.listdir(f"/proc/{p.pid}/fd")):
                    return p
            except OSError:  # it ended meanwhile
                continue
        return None

    return _awaited(reader, 180, "no Ray actor reads the document")


def _kill_actors_reading(device: Path, rounds: int) -> set[int]:
    """Kill the Ray actor that reads ``device`` as the system's out-of-memory killer would, then,
    ``rounds - 1`` times, the actor that reads it next (restarted, scoring the document again).
    Returns the processes killed."""
    killed: set[int] = set()
    for _ in range(rounds):
        actor = _actor_reading(device, killed)
        actor.kill()
        killed.add(actor.pid)
    return killed


def test_a_document_whose_ray_actor_dies_is_scored_again(runner, tmp_path, typed_device):
    """A Ray actor killed while it scores a document (as the out-of-memory killer would): the actor
    is restarted and the document scored again (Ray Data would do so for ever: see the next test)."""
    pytest.importorskip("ray.data", reason="Ray is an optional extra: pip install 'unspin[ray]'")
    device, keys = typed_device
    out = tmp_path / "out.jsonl"
    # the two documents before it are written while it blocks (they had been held until it was scored)
    proc, _, slow = _start_blocked_run(tmp_path, "jsonl", out, device, "--engine", "ray", "--jobs", "2")
    _actor_reading(device, but=_kill_actors_reading(device, rounds=1))  # restarted, it reads the document again
    os.write(keys, b"The talks ended on Friday.\n\x04")  # and this time gets a text
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    records = jsonl(out.read_text(encoding="utf-8"))
    assert [r["path"] for r in records] == _blocked_run_paths(tmp_path, slow)
    assert all("error" not in r for r in records) and records[2]["stats"]["words"] == 5


def test_a_document_whose_ray_actors_die_twice_is_an_error_record_and_the_run_goes_on(runner, tmp_path, blocking_device,
                                                                                     ray_cluster):
    """Its actor killed again on the second try: the document gets an error record, the others their
    reports, and the run ends as one with a failed document (Ray Data had restarted the actor and
    scored the document again for ever: a document that kills every actor held the run for ever)."""
    from service.ray_batch import ACTOR_DIED

    out = tmp_path / "out.jsonl"
    proc, args, slow = _start_blocked_run(tmp_path, "jsonl", out, blocking_device, "--engine", "ray", "--jobs", "2")
    _kill_actors_reading(blocking_device, rounds=2)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err.decode()
    assert "Traceback" not in err.decode() and f"{slow}: error: {ACTOR_DIED}" in err.decode()
    assert _failed_blocked_document_resumed(runner, tmp_path, out, args, slow) == {"path": str(slow), "error": ACTOR_DIED}


#: a phrase list as typed into a pseudo-terminal, its end of file included
_PHRASE_LIST = b"optimal pressure\tmaximum pressure\n\x04"


def _loading_a_phrase_list(device: Path, keys: int, *args: str) -> subprocess.Popen:
    """``python ARGS`` in a subprocess with ``UNSPIN_LEXICONS`` naming ``device``: the settings check (in
    the driver) reads the phrase list typed into ``keys`` here, then each Ray actor reads ``device``
    while it loads the engine, and blocks there."""
    os.write(keys, _PHRASE_LIST)  # for the driver's settings check
    env = dict(os.environ, UNSPIN_LM="ngram", PYTHONPATH=str(ROOT), UNSPIN_LEXICONS=str(device))
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _ray_run_loading_a_phrase_list(tmp_path: Path, device: Path, keys: int) -> subprocess.Popen:
    """``unspin score --engine ray --jobs 1`` on two documents, its actor loading the engine from
    ``device`` (see :func:`_loading_a_phrase_list`)."""
    for name in ("a.txt", "d.txt"):
        (tmp_path / name).write_text(TEXTS[name], encoding="utf-8")
    return _loading_a_phrase_list(device, keys, "-m", "service.cli", "score", "--engine", "ray", "--jobs", "1",
                                  "--format", "jsonl", str(tmp_path / "a.txt"), str(tmp_path / "d.txt"))


def _ended_after_three_kills(proc: subprocess.Popen, device: Path) -> tuple[bytes, bytes]:
    """Kill the Ray actor that reads ``device`` three times in a row (see :func:`_kill_actors_reading`);
    ``proc``'s stdout and stderr once it ends (it is killed if it has not in 300 s)."""
    _kill_actors_reading(device, rounds=3)
    try:
        return proc.communicate(timeout=300)
    finally:
        proc.kill()


def test_a_ray_actor_killed_twice_while_loading_the_engine_is_restarted(tmp_path, typed_device):
    """An actor killed while it loads the engine (as the out-of-memory killer would) is restarted and
    loads it again; twice in a row is not yet a reason to stop (see the next test)."""
    pytest.importorskip("ray.data", reason="Ray is an optional extra: pip install 'unspin[ray]'")
    device, keys = typed_device
    proc = _ray_run_loading_a_phrase_list(tmp_path, device, keys)
    _actor_reading(device, but=_kill_actors_reading(device, rounds=2))  # restarted, it loads the engine again
    os.write(keys, _PHRASE_LIST)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    assert [r["path"] for r in jsonl(out.decode())] == [str(tmp_path / "a.txt"), str(tmp_path / "d.txt")]


def test_ray_actors_killed_three_times_while_loading_the_engine_stop_the_run(tmp_path, typed_device):
    """Killed three times in a row while loading the engine (an engine too large for the memory left):
    the run stops as when actors die scoring three documents in a row (exit 3), with why; Ray had
    restarted the actor for ever."""
    pytest.importorskip("ray.data", reason="Ray is an optional extra: pip install 'unspin[ray]'")
    from service.ray_batch import LOADING_DIED

    device, keys = typed_device
    proc = _ray_run_loading_a_phrase_list(tmp_path, device, keys)
    out, err = _ended_after_three_kills(proc, device)
    assert proc.returncode == 3, err.decode()
    assert "Traceback" not in err.decode() and f"stopped: {LOADING_DIED}; the output above is incomplete" in err.decode()
    assert not out.strip()


def _rows_from_ray(rows: list[dict]):
    """A stand-in for ``service.ray_batch._scored`` whose dataset gives ``rows`` (the scored rows, as
    Ray gives them to the driver), one block each."""
    from types import SimpleNamespace

    def fake(ray, ds, **_):
        blocks = [SimpleNamespace(to_pylist=lambda row=row: [row]) for row in rows]
        return SimpleNamespace(context=SimpleNamespace(), iter_batches=lambda **_: iter(blocks))
    return fake


def test_ray_documents_left_out_get_error_records_and_three_in_a_row_stop_the_run(monkeypatch):
    """The driver's side, on rows as Ray gives them: a document whose row never comes (its actors
    died each time) gets an error record in its place, at any place; three in a row stop the run
    (``BrokenExecutor``: the batch ends as when ``--jobs`` workers die so)."""
    pytest.importorskip("ray.data", reason="Ray is an optional extra: pip install 'unspin[ray]'")
    from concurrent.futures import BrokenExecutor

    import service.ray_batch as ray_batch
    from service.batch_outcomes import Outcome
    from service.config import Settings

    def scored(indexes: list[int]):
        return _rows_from_ray([{"index": i, "engine_error": "",
                                "outcome": Outcome(path=f"d{i}", error="scored").model_dump_json()} for i in indexes])

    monkeypatch.setattr(ray_batch, "connect", lambda address=None: None)
    sources = [Source(f"d{i}", None, b"text") for i in range(6)]
    monkeypatch.setattr(ray_batch, "_scored", scored([1, 2, 4]))
    got = [(o.path, o.error) for o in ray_batch.score_on_ray(sources, Settings(lm="ngram"), actors=2)]
    died = ray_batch.ACTOR_DIED
    assert got == [("d0", died), ("d1", "scored"), ("d2", "scored"), ("d3", died), ("d4", "scored"), ("d5", died)]
    # three in a row: in the middle (the run stops before the third's record), and at the end
    for indexes, before in (([0, 4], ["d0", "d1", "d2"]), ([0, 1, 2], ["d0", "d1", "d2", "d3", "d4"])):
        monkeypatch.setattr(ray_batch, "_scored", scored(indexes))
        got = []
        with pytest.raises(BrokenExecutor):
            got.extend(o.path for o in ray_batch.score_on_ray(sources, Settings(lm="ngram"), actors=2))
        assert got == before


def test_ray_pipeline_actors_killed_three_times_while_loading_the_engine_fail_the_job(tmp_path, typed_device):
    """The pure pipeline, its actor killed three times in a row while it loads the engine: the job
    fails with why, and writes nothing (Ray had restarted the actor for ever)."""
    pytest.importorskip("ray.data", reason="Ray is an optional extra: pip install 'unspin[ray]'")
    from service.ray_batch import LOADING_DIED

    device, keys = typed_device
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text(TEXTS["a.txt"], encoding="utf-8")
    job = ("import sys; from service.config import Settings; from service.ray_batch import pipeline\n"
           "try:\n"
           f"    pipeline({str(tmp_path / 'docs')!r}, {str(tmp_path / 'out')!r}, settings=Settings(lm='ngram'), actors=1)\n"
           "except Exception as e:\n"
           "    sys.exit(f'failed: {e}')\n")
    proc = _loading_a_phrase_list(device, keys, "-c", job)
    _, err = _ended_after_three_kills(proc, device)
    assert proc.returncode == 1 and "failed: " in err.decode() and LOADING_DIED in err.decode(), err.decode()[-3000:]
    assert not list((tmp_path / "out").glob("*.jsonl"))


def test_ray_cluster_errors_are_printed_on_stderr_not_among_the_reports(monkeypatch, capsys):
    """Ray's driver prints the errors its cluster reports (``(raylet) A worker died …``) on stdout,
    where ``--format jsonl`` writes the reports: they go to stderr, once, however often it is asked."""
    pytest.importorskip("ray.data", reason="Ray is an optional extra: pip install 'unspin[ray]'")
    from ray._private import worker

    import service.ray_batch as ray_batch

    monkeypatch.setattr(worker, "print_to_stdstream", worker.print_to_stdstream)  # put back after the test
    ray_batch._cluster_errors_to_stderr()
    ray_batch._cluster_errors_to_stderr()
    worker.print_to_stdstream({"lines": ["A worker died or was killed"], "pid": "raylet", "is_err": False},
                              ignore_prefix=False)
    out, err = capsys.readouterr()
    assert not out and err.count("A worker died or was killed") == 1


def test_a_ray_actor_giving_up_loading_the_engine_stops_the_run(monkeypatch):
    """The driver's side: a row that says its actor gave up loading the engine (it died three times in a
    row doing so) stops the run as deaths in a row do (:class:`DiedInARow`, exit 3), with why."""
    pytest.importorskip("ray.data", reason="Ray is an optional extra: pip install 'unspin[ray]'")
    import service.ray_batch as ray_batch
    from service.batch_outcomes import Outcome
    from service.batch_pool import DiedInARow
    from service.config import Settings

    gave_up = _rows_from_ray([{"index": 0, "engine_error": ray_batch.LOADING_DIED,
                               "outcome": Outcome(path="d0", error=ray_batch.LOADING_DIED).model_dump_json()}])

    monkeypatch.setattr(ray_batch, "connect", lambda address=None: None)
    monkeypatch.setattr(ray_batch, "_scored", gave_up)
    with pytest.raises(DiedInARow, match="while loading the engine, 3 times in a row"):
        list(ray_batch.score_on_ray([Source("d0", None, b"text")], Settings(lm="ngram"), actors=1))


def test_ray_address_without_a_cluster_is_a_usage_error(monkeypatch, tmp_path):
    """``--address auto`` where no cluster runs, an address Ray cannot read, or a ``HOST:PORT`` where
    nothing answers: a usage error (exit 2) naming the address, and no FILE.part left; it had been
    Ray's ConnectionError in a traceback, and Ray trying the silent address for minutes on end."""
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'unspin[ray]'")
    pytest.importorskip("ray.data", reason="Ray Data is missing: pip install 'ray[data]'")
    import service.ray_batch as ray_batch

    def no_cluster(**_):
        raise ConnectionError("Could not find any running Ray instance.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", no_cluster)
    with pytest.raises(BatchError, match=r"cannot join the Ray cluster this machine belongs to \(--address\): "
                                         r"Could not find any running Ray instance"):
        ray_batch.connect("auto")
    with pytest.raises(ConnectionError):  # no address: a local cluster that cannot start is not the user's doing
        ray_batch.connect(None)
    # a HOST:PORT must answer first: Ray keeps trying one that does not for minutes on end
    with socket.create_server(("127.0.0.1", 0)) as head:
        port = head.getsockname()[1]
        assert ray_batch._unanswered(f"127.0.0.1:{port}") is None
    assert ray_batch._unanswered(f"127.0.0.1:{port}") == f"nothing answers at 127.0.0.1:{port} (Connection refused)"
    with pytest.raises(BatchError, match=f"cannot join a Ray cluster at '127.0.0.1:{port}' .--address.: nothing answers"):
        ray_batch.connect(f"127.0.0.1:{port}")
    assert ray_batch._unanswered("auto") is None and ray_batch._unanswered("ray://head:10001") is None
    # the command, in a process of its own (this one may have joined the tests' cluster)
    doc, out = tmp_path / "a.txt", tmp_path / "out.jsonl"
    doc.write_text(TEXTS["a.txt"], encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "service.cli", "score", "--engine", "ray", "--address", "no-such",
                           "-o", str(out), str(doc)], cwd=ROOT, env=dict(os.environ, UNSPIN_LM="ngram", PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "cannot join a Ray cluster at 'no-such' (--address)" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == [doc]


def test_ray_address_from_the_environment_is_checked_as_address_is(monkeypatch):
    """Ray joins ``RAY_ADDRESS`` when it is set and ``--address`` is not: that address is checked as
    ``--address`` is, and named as where it came from (it had been Ray's ConnectionError in a
    traceback, or Ray trying a silent address for minutes)."""
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'unspin[ray]'")
    pytest.importorskip("ray.data", reason="Ray Data is missing: pip install 'ray[data]'")
    import service.ray_batch as ray_batch

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    with socket.create_server(("127.0.0.1", 0)) as head:
        port = head.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(BatchError, match=rf"cannot join a Ray cluster at '127.0.0.1:{port}' \(RAY_ADDRESS\): nothing answers"):
        ray_batch.connect(None)

    def no_cluster(**_):
        raise ConnectionError("Could not find any running Ray instance.")

    monkeypatch.setattr(ray, "init", no_cluster)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    with pytest.raises(BatchError, match=r"this machine belongs to \(RAY_ADDRESS\): Could not find any running"):
        ray_batch.connect(None)


def test_ray_options_that_cannot_work_are_usage_errors(runner, tmp_path, monkeypatch):
    """``--engine ray`` where Ray is not installed says how to install it, as a usage error with no
    FILE.part left (it had been a RuntimeError's traceback, and a FILE.part holding a header);
    ``--address`` without ``--engine ray`` is refused (it had been ignored)."""
    doc, out = tmp_path / "a.txt", tmp_path / "out.csv"
    doc.write_text(TEXTS["a.txt"], encoding="utf-8")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray: ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    res = invoke(runner, "score", "--engine", "ray", "--format", "csv", "-o", out, doc)
    assert res.exit_code == 2 and "Ray is not installed: pip install 'unspin[ray]'" in res.stderr, res.stderr
    assert list(tmp_path.iterdir()) == [doc]
    res = invoke(runner, "score", "--address", "auto", "--format", "csv", doc)
    assert res.exit_code == 2 and "--address names a Ray cluster: give --engine ray too" in res.stderr
    assert not res.stdout


def _one_sentence_report(text: str, spans: list[dict], *, score: float, label: str, grammar: dict) -> Report:
    """A report on ``text`` read as one sentence, with these spans, as the listing and page tests need."""
    return Report.model_validate({"path": "a.txt", "score": score, "label": label, "lm": "ngram:test",
                                  "grammar": grammar, "stats": {"words": len(text.split()), "sentences": 1, "seconds": 0.0},
                                  "sentences": [{"start": 0, "end": len(text), "score": score}], "spans": spans})


def test_listing_and_page_say_which_spans_the_document_verdict_added():
    """A span listed only because its document was judged spun says so in the text listing and on
    the HTML page (dashed, with the reason in its tooltip); the others do not."""
    from service.batch_listing import format_listing
    from service.batch_outcomes import Outcome
    from service.batch_html import HtmlWriter
    from service.report import SPUN_DOC_EVIDENCE

    text = "They select a plan and stated it."
    spans = [
        {"start": 5, "end": 11, "text": "select", "kind": "spun", "score": 0.35,
         "suggestions": [{"text": "choose", "score": 0.35}], "evidence": {"relation": "synonym", SPUN_DOC_EVIDENCE: 0.3}},
        {"start": 23, "end": 29, "text": "stated", "kind": "spun", "score": 0.9,
         "suggestions": [{"text": "said", "score": 0.9}], "evidence": {"relation": "synonym"}},
    ]
    report = _one_sentence_report(text, spans, score=0.9, label="spun", grammar={"checked": False, "reason": "none"})
    listing = format_listing(report, text).splitlines()
    assert listing[1].endswith("synonym, shown because the document reads as spun]")
    assert listing[2].endswith("synonym]")

    out = io.StringIO()
    HtmlWriter(out).write(Outcome(path="a.txt", report=report, text=text))
    page = ET.fromstring("<div>" + out.getvalue() + "</div>")
    marks = page.findall(".//mark")
    assert [m.get("class") for m in marks] == ["spun by-doc", "spun"]
    assert "shown because the document reads as spun" in marks[0].get("title")
    assert "document" not in marks[1].get("title")


def test_listing_names_the_kind_and_rule_of_spans_that_are_not_spun():
    """A LanguageTool match or a look-alike word in the text listing had shown no kind (its line
    ended in ", ]", as if it were a spun span with no relation), and one without a replacement read
    "” The → ? The"."""
    from service.batch_listing import format_listing

    text = "They select a plan. ” The bаnk agreed."
    spans = [
        {"start": 5, "end": 11, "text": "select", "kind": "spun", "score": 0.5,
         "suggestions": [{"text": "choose", "score": 0.5}], "evidence": {"relation": "synonym"}},
        {"start": 20, "end": 21, "text": "”", "kind": "formatting", "score": 0.0, "suggestions": [],
         "sources": ["grammar"], "evidence": {"rule_id": "EN_UNPAIRED_QUOTES", "message": "Unpaired symbol"}},
        {"start": 26, "end": 30, "text": "bаnk", "kind": "formatting", "score": 1.0,
         "suggestions": [{"text": "bank", "score": 1.0}], "sources": ["look-alike"],
         "evidence": {"rule_id": "UNSPIN_LOOK_ALIKE_LETTERS"}},
    ]
    report = _one_sentence_report(text, spans, score=0.5, label="suspicious", grammar={"checked": True, "reason": ""})
    listing = format_listing(report, text).splitlines()
    assert listing[1].endswith("select a → choose a   [line 1, 5-11, synonym]")
    assert listing[2].endswith("” The (no suggestion)   [line 1, 20-21, formatting EN_UNPAIRED_QUOTES]")
    assert listing[3].endswith("bаnk agreed → bank agreed   [line 1, 26-30, formatting UNSPIN_LOOK_ALIKE_LETTERS]")


@pytest.mark.parametrize(
    "grammar, line, note",
    [
        ({"checked": True, "reason": "", "complete": True}, "grammar checked)", None),
        ({"checked": True, "reason": "", "complete": None}, "grammar checked)", None),  # a report from before
        ({"checked": False, "reason": "LanguageTool server unreachable (connection failed)"},
         "grammar not checked: LanguageTool server unreachable (connection failed))", None),
        ({"checked": True, "complete": False, "matches": 3,
          "reason": "part 3 of 3 not checked: LanguageTool server unreachable (connection failed)"},
         "grammar checked only in part: part 3 of 3 not checked: LanguageTool server unreachable (connection failed))",
         "Grammar checked only in part: part 3 of 3 not checked: LanguageTool server unreachable (connection failed)"),
    ],
)
def test_listing_and_page_say_when_grammar_was_checked_only_in_part(grammar, line, note):
    """Grammar checked but not completely (LanguageTool's own results incomplete, parts of a long
    document not checked) is said, with the reason, in the listing's first line and on the HTML
    page; not only "checked"."""
    from service.batch_listing import format_listing
    from service.batch_outcomes import Outcome
    from service.batch_html import HtmlWriter

    text = "It is a apple."
    report = Report.model_validate({"path": "a.txt", "score": 0.0, "label": "clean", "lm": "ngram:test",
                                    "grammar": grammar, "stats": {"words": 4, "sentences": 1, "seconds": 0.0},
                                    "sentences": [{"start": 0, "end": len(text), "score": 0.0}]})
    assert format_listing(report, text).splitlines()[0].endswith(line)
    out = io.StringIO()
    HtmlWriter(out).write(Outcome(path="a.txt", report=report, text=text))
    page = ET.fromstring("<div>" + out.getvalue() + "</div>")
    meta = " ".join("".join(page.find(".//p[@class='meta']").itertext()).split())
    assert meta.endswith("grammar checked only in part" if note else
                         "grammar checked" if grammar["checked"] else "grammar not checked")
    notes = ["".join(p.itertext()) for p in page.findall(".//p[@class='note']")]
    assert notes == ([note] if note else [])


# --------------------------------------------------------------------------- outputs as editors open them


def test_html_draws_overlapping_spans_nested_and_stays_well_formed(runner, tmp_path):
    """A word disguised with look-alike letters at the start of a spun phrase: both spans are
    highlighted (the report had shown only one); a form feed (between the pages of a converted
    PDF) is drawn as its picture and a non-character XML forbids (U+FFFE, U+FFFF) as the replacement
    character, so the page stays well-formed XML."""
    from test_homoglyphs import disguise

    folder = tmp_path / "h"
    folder.mkdir()
    text = disguise("It came at an essential moment for the talks.") + "\x0cNext page \ufffe\uffff.\n"
    (folder / "d.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "r.html"
    res = invoke(runner, "score", "--format", "html", "--threshold", "0", "-o", out, folder)
    assert res.exit_code == 0, res.output
    [record] = jsonl(invoke(runner, "score", "--format", "jsonl", "--threshold", "0", folder).stdout)
    spans = record["spans"]
    assert any(a["start"] <= b["start"] and b["end"] <= a["end"] for a in spans for b in spans if a is not b)
    root = ET.fromstring(out.read_text(encoding="utf-8").split("\n", 1)[1])
    div = root.find(".//div[@class='text']")
    marks = div.findall(".//mark")
    assert sorted(m.get("class").split()[0] for m in marks) == sorted(s["kind"] for s in spans)
    shown = "".join(t for t in div.itertext() if not t.startswith("→ "))
    assert shown == text.replace("\x0c", "\u240c").replace("\ufffe", "\ufffd").replace("\uffff", "\ufffd")


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_text(runner, tmp_path):
    """File names are the submitter's: one starting with "=", "+", "-" or "@" gets a leading
    apostrophe in the CSV, and --resume still knows the file."""
    from service.batch_writers import csv_cell, csv_value

    for value in ("=1+1", "+1", "-1", "@SUM(1)", "\tx", "'=x", "''@x", "'plain", "plain", "", "-", "'-", "="):
        assert csv_value(csv_cell(value)) == value
        assert len(value) < 2 or csv_cell(value)[:1] not in ("=", "+", "-", "@", "\t")
    folder = tmp_path / "f"
    folder.mkdir()
    for name in ("=HYPERLINK(1)", "+1+1", "@SUM(1+1)", "plain"):
        (folder / name).write_text("Shares rose more than three percent in early trading.\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    res = invoke(runner, "score", "--format", "csv", "-o", out, folder)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert sorted(Path(csv_value(r["path"])).name for r in rows) == sorted(p.name for p in folder.iterdir())
    assert all(r["path"][:1] not in "=+-@" for r in rows)
    before = out.read_text(encoding="utf-8")
    res = invoke(runner, "score", "--format", "csv", "--resume", "-o", out, folder)
    assert res.exit_code == 0 and out.read_text(encoding="utf-8") == before  # nothing scored twice


def test_text_listing_keeps_each_span_on_its_line(runner, tmp_path, monkeypatch):
    """A span across a hard line break is listed on one line; a file name with a right-to-left
    override is shown escaped (it would reorder what a terminal shows)."""
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "invoice\u202etxt.exe.txt").write_text("It was a critical\nmoment.\n", encoding="utf-8")
    lexicon = tmp_path / "l.tsv"
    lexicon.write_text("critical moment\tdecisive moment\n", encoding="utf-8")
    monkeypatch.setenv("UNSPIN_LEXICONS", str(lexicon))
    res = invoke(runner, "score", folder)
    lines = res.stdout.splitlines()
    assert "\u202e" not in res.stdout and "invoice\\u202etxt.exe.txt" in lines[0]
    assert any(line.strip().startswith("0.95  critical moment → decisive moment") for line in lines), lines


def test_a_file_not_in_utf8_says_how_to_name_its_encoding(runner, tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\u00e9 au lait.".encode("cp1252"))
    res = invoke(runner, "score", "--format", "jsonl", path)
    assert res.exit_code == 1 and "--encoding" in jsonl(res.stdout)[0]["error"]
