"""What the command line writes to: never over an input, never over a device or a pipe, and a file
that cannot be written is a one-line error, not a traceback (nor a lost result).

Fast: a stand-in engine scores (no language model is loaded).
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import main
from test_long_runs import folder, stand_in  # noqa: F401 - the stand-in engine and the folder of its tests


def _fifo(path):
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", ["score", "restore", "eval", "train-garble"])
def test_an_output_that_is_a_pipe_is_refused_and_left_alone(runner, stand_in, folder, command):
    """Written as FILE.part and renamed over FILE, a pipe (or /dev/null) would become a file."""
    pipe = _fifo(folder / "out")
    args = {"score": ["score", "--format", "csv", "-o", str(pipe), str(folder / "a.txt")],
            "restore": ["restore", "-o", str(pipe), str(folder / "a.txt")],
            "eval": ["eval", "--gold", str(folder / "gold.jsonl"), "--details", str(pipe)],
            "train-garble": ["train-garble", "--corpus", str(folder / "gold.jsonl"), "--out", str(pipe)]}[command]
    res = runner.invoke(main, args)
    assert res.exit_code == 2, res.output + res.stderr
    assert "not a regular file" in res.stderr and "Traceback" not in res.stderr
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


@pytest.mark.parametrize("command", ["eval", "train-garble"])
def test_a_dash_is_not_an_output_file(runner, stand_in, folder, command):
    args = {"eval": ["eval", "--gold", str(folder / "gold.jsonl"), "--details", "-"],
            "train-garble": ["train-garble", "--corpus", str(folder / "gold.jsonl"), "--out", "-"]}[command]
    res = runner.invoke(main, args)
    assert res.exit_code == 2 and "'-' is not a file here: name a file" in res.stderr
    assert not (folder / "-").exists()


@pytest.mark.parametrize("command", ["score", "restore"])
def test_a_dash_output_is_standard_output(runner, stand_in, folder, command):
    """``-o -`` names standard output, as in most tools that write files (it had been refused); it is
    what the command writes without ``-o``."""
    args = {"score": ["score", "--format", "jsonl", str(folder / "a.txt")],
            "restore": ["restore", str(folder / "a.txt")]}[command]
    plain = runner.invoke(main, args)
    dashed = runner.invoke(main, [*args[:1], "-o", "-", *args[1:]])
    assert plain.exit_code == dashed.exit_code == 0, dashed.output + dashed.stderr
    assert dashed.stdout == plain.stdout and dashed.stdout.strip()
    assert not (folder / "-").exists() and not (folder / "-.part").exists()


def test_outputs_that_are_inputs_are_refused(runner, stand_in, folder, monkeypatch):
    """Each would destroy what it reads: the spun original, the gold labels, the training data."""
    a, gold = folder / "a.txt", folder / "gold.jsonl"
    before = {p: p.read_bytes() for p in (a, gold)}
    link = folder / "link.txt"
    link.symlink_to(a)
    cases = [
        (["restore", "-o", str(a), str(a)], "--output"),
        (["restore", "-o", str(link), str(a)], "--output"),  # the same file through a link
        (["eval", "--gold", str(gold), "--details", str(gold)], "--details"),
        (["eval", "--gold", str(gold), "--clean", str(a), "--details", str(a)], "--details"),
        (["train", "--data", str(gold), "--out", str(gold)], "--out"),
        (["train-garble", "--corpus", str(gold), "--out", str(gold)], "--out"),
        (["train-detector", "--data", str(gold), "--out", str(gold)], "--out"),
        (["train-corrector", "--data", str(gold), "--out", str(gold)], "--out"),
        (["train-second-look", "--data", str(gold), "--out", str(gold)], "--out"),
    ]
    for args, option in cases:
        res = runner.invoke(main, args)
        assert res.exit_code == 2, (args, res.output + res.stderr)
        assert f"{option} " in res.stderr and "would destroy that input" in res.stderr, args
    corpus = folder / "train.jsonl"
    corpus.write_text(json.dumps({"id": "1", "body": "Talks resumed on Tuesday."}) + "\n", encoding="utf-8")
    res = runner.invoke(main, ["make-data", "--corpus", str(corpus), "--out", str(folder)])
    assert res.exit_code == 2 and "would destroy that input" in res.stderr
    with a.open("rb") as fh:  # standard input redirected from the file written
        res = runner.invoke(main, ["restore", "-o", str(a), "-"], input=fh)
    assert res.exit_code == 2 and "standard input" in res.stderr
    assert {p: p.read_bytes() for p in (a, gold)} == before


def test_score_refuses_its_own_partial_output_as_an_input(runner, stand_in, folder):
    """A folder scored with --include '*' and its output inside: on --resume, OUTPUT.part is there
    and would be read as a document while the reports are appended to it."""
    out = folder / "out.csv"
    first = runner.invoke(main, ["score", "--format", "csv", "--include", "*.txt", "-o", str(out), str(folder)])
    assert first.exit_code == 0, first.stderr
    out.rename(folder / "out.csv.part")
    res = runner.invoke(main, ["score", "--format", "csv", "--include", "*", "--resume", "-o", str(out), str(folder)])
    assert res.exit_code == 2 and "partial output" in res.stderr and "out.csv.part" in res.stderr
    res = runner.invoke(main, ["score", "--format", "csv", "--include", "*", "--exclude", "*.part", "--exclude",
                               "*.jsonl", "--resume", "-o", str(out), str(folder)])
    assert res.exit_code == 0, res.stderr
    assert "out.csv.part" not in out.read_text(encoding="utf-8")


def test_a_partial_output_that_cannot_be_written_is_named(runner, stand_in, folder):
    out = folder / "out.csv"
    (folder / "out.csv.part").mkdir()
    res = runner.invoke(main, ["score", "--format", "csv", "-o", str(out), str(folder / "a.txt")])
    assert res.exit_code == 2 and "out.csv.part" in res.stderr
    res = runner.invoke(main, ["restore", "-o", str(out), str(folder / "a.txt")])  # after the scoring
    assert res.exit_code == 1 and "error: cannot write" in res.stderr and "out.csv.part" in res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


def test_eval_prints_its_metrics_before_the_details_it_cannot_write(runner, stand_in, folder, monkeypatch):
    """A long evaluation's result is not lost to a full disk at the end, and the details of an
    earlier run are not lost either: they are written whole, or not at all."""
    details = folder / "details.jsonl"
    details.write_text('{"earlier": "run"}\n', encoding="utf-8")
    real = Path.write_bytes

    def full(self, data):
        real(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    res = runner.invoke(main, ["eval", "--gold", str(folder / "gold.jsonl"), "--json", "--details", str(details)])
    assert res.exit_code == 1 and "No space left on device" in res.stderr and "Traceback" not in res.stderr
    assert json.loads(res.stdout)["n_matched"] == 1
    assert details.read_text(encoding="utf-8") == '{"earlier": "run"}\n'
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("details")) == ["details.jsonl"]


def test_broken_links_in_a_folder_are_error_records(runner, stand_in, folder):
    (folder / "gone.txt").symlink_to(folder / "nowhere.txt")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    res = runner.invoke(main, ["score", "--format", "jsonl", str(folder)])
    assert res.exit_code == 1
    records = {json.loads(x)["path"].rsplit("/", 1)[-1]: json.loads(x) for x in res.stdout.splitlines()}
    assert set(records) == {"a.txt", "b.txt", "gone.txt", "loop.txt"}
    assert "leads to nothing" in records["gone.txt"]["error"] and "leads to nothing" in records["loop.txt"]["error"]
    assert "2 of 4 documents failed" in res.stderr


#: runs ``unspin`` with the stand-in engine in a child process, whose standard output the test sets
CHILD = (
    "import sys; sys.path.insert(0, {tests!r}); import service.engine; "
    "from test_long_runs import StandInEngine; "
    "service.engine.get_engine = lambda settings=None: StandInEngine(); "
    "from service.cli import main; main(sys.argv[1:], prog_name='unspin')"
)


def _child(args: list[str], stdout: str, folder) -> subprocess.CompletedProcess:
    """``unspin ARGS`` with standard output ``stdout``: a file's path, or ``closed``."""
    from unspin_env import child_environ

    code = CHILD.format(tests=str(Path(__file__).parent))
    cmd = " ".join(shlex.quote(a) for a in [sys.executable, "-c", code, *args])
    redirect = ">&-" if stdout == "closed" else f"> {shlex.quote(stdout)}"
    return subprocess.run(f"{cmd} {redirect}", shell=True, cwd=folder, env=child_environ(), stderr=subprocess.PIPE,
                          text=True, timeout=120)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full to stand for a full disk")
@pytest.mark.parametrize("command", ["score", "restore"])
def test_a_full_standard_output_is_an_error_with_a_reason(folder, command):
    """A full disk behind standard output had ended in a traceback."""
    args = ["score", "--format", "jsonl", "a.txt", "b.txt"] if command == "score" else ["restore", "a.txt"]
    done = _child(args, "/dev/full", folder)
    assert done.returncode == 1, done.stderr
    assert "error: cannot write standard output: No space left on device" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    if command == "score":
        assert "0 of 2 documents scored" in done.stderr and "the output above is incomplete" in done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full to stand for a full disk")
def test_eval_on_a_full_standard_output_says_its_metrics_were_not_written(folder):
    """eval prints its metrics last, after minutes of scoring: a full disk there had been a traceback,
    and the details (written after the metrics) were lost with them."""
    done = _child(["eval", "--gold", "gold.jsonl", "--json", "--details", "details.jsonl"], "/dev/full", folder)
    assert done.returncode == 1, done.stderr
    assert "error: cannot write standard output: No space left on device; the metrics were not written" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert (folder / "details.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["score", "restore", "eval"])
def test_a_closed_standard_output_is_a_usage_error(folder, command):
    """``>&-`` had ended in a traceback (AttributeError on ``None``) after the engine had loaded; eval
    had scored every document and then printed its metrics nowhere."""
    args = {"score": ["score", "a.txt"], "restore": ["restore", "a.txt"],
            "eval": ["eval", "--gold", "gold.jsonl"]}[command]
    done = _child(args, "closed", folder)
    assert done.returncode == 2, done.stderr
    assert "standard output is closed: give --output FILE" in done.stderr and "Traceback" not in done.stderr


def test_an_output_file_that_fills_up_keeps_what_was_written_for_resume(runner, stand_in, folder, monkeypatch):
    """A write error on --output FILE stops the run with the reason and where its records are."""
    from service.batch_writers import JsonlWriter

    real, written = JsonlWriter._write, []

    def fill_up(self, o):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(o.path)
        real(self, o)

    monkeypatch.setattr(JsonlWriter, "_write", fill_up)
    out = folder / "out.jsonl"
    res = runner.invoke(main, ["score", "--format", "jsonl", "-o", str(out), str(folder / "a.txt"), str(folder / "b.txt")])
    assert res.exit_code == 1 and "Traceback" not in res.stderr
    assert f"error: cannot write {out}.part: No space left on device" in res.stderr
    assert "1 of 2 documents scored" in res.stderr and "--resume to continue" in res.stderr and not out.exists()
    monkeypatch.setattr(JsonlWriter, "_write", real)
    res = runner.invoke(main, ["score", "--format", "jsonl", "--resume", "-o", str(out), str(folder / "a.txt"),
                               str(folder / "b.txt")])
    assert res.exit_code == 0, res.stderr
    assert [json.loads(x)["path"].rsplit("/", 1)[-1] for x in out.read_text(encoding="utf-8").splitlines()] == [
        "a.txt", "b.txt"]


def test_restore_of_a_missing_file_says_so_before_the_engine_loads(runner, stand_in, folder, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("the engine was loaded")

    monkeypatch.setattr("service.engine.get_engine", refuse)
    res = runner.invoke(main, ["restore", str(folder / "nowhere.txt")])
    assert res.exit_code == 1 and "nowhere.txt: error: cannot read: No such file or directory" in res.stderr


class _FullAtClose:
    """A file whose last buffered bytes a full disk refuses: ``close`` raises ENOSPC (after closing)."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def close(self):
        self._real.close()
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_at_the_end_of_a_run_is_the_error_that_says_how_to_go_on(runner, stand_in, folder, monkeypatch):
    """The records still buffered when the output is closed, refused by a full disk, had ended the
    run in a traceback (the close in a ``finally`` replaced the batch's own error); a resumed run's
    last step (its records written in input order) likewise."""
    import builtins

    import service.batch
    import service.batch_resume

    out = folder / "out.csv"
    args = ["score", "--format", "csv", "-o", str(out), str(folder / "a.txt"), str(folder / "b.txt")]
    real_open = builtins.open

    def opened(path, mode="r", *a, **k):  # the output (FILE.part) fills the disk; inputs read as they are
        fh = real_open(path, mode, *a, **k)
        return _FullAtClose(fh) if str(path).endswith(".part") and mode in ("w", "a") else fh

    monkeypatch.setattr(service.batch, "open", opened, raising=False)
    res = runner.invoke(main, args)
    assert res.exit_code == 1 and "Traceback" not in res.stderr, res.stderr
    assert f"error: cannot write {folder / 'out.csv.part'}: No space left on device" in res.stderr
    assert "run the same command with --resume to continue" in res.stderr and not out.exists()
    monkeypatch.undo()

    # a resumed run: FILE.part holds one document, the run scores the other and puts both in order
    from test_long_runs import StandInEngine

    monkeypatch.setattr("service.engine.get_engine", lambda settings=None: StandInEngine())
    part = folder / "out.csv.part"
    rows = part.read_text(encoding="utf-8").splitlines(keepends=True)
    part.write_text("".join(rows[:2]), encoding="utf-8")  # the header and a.txt

    write_records = service.batch_resume._write_records

    def full(target, fmt, records, tmp):  # the output, at the end; FILE.part, as the run starts, is written
        if target == out:
            raise OSError(errno.ENOSPC, "No space left on device")
        write_records(target, fmt, records, tmp)

    monkeypatch.setattr(service.batch_resume, "_write_records", full)
    res = runner.invoke(main, [*args[:5], "--resume", *args[5:]])
    assert res.exit_code == 1 and "Traceback" not in res.stderr, res.stderr
    assert f"error: cannot write {out}: No space left on device" in res.stderr and "--resume" in res.stderr
    assert not out.exists() and len(part.read_text(encoding="utf-8").splitlines()) == 3
    monkeypatch.undo()
    monkeypatch.setattr("service.engine.get_engine", lambda settings=None: StandInEngine())
    res = runner.invoke(main, [*args[:5], "--resume", *args[5:]])
    assert res.exit_code == 0, res.stderr
    assert [r.split(",")[0] for r in out.read_text(encoding="utf-8").splitlines()[1:]] == [
        str(folder / "a.txt"), str(folder / "b.txt")]


def test_a_csv_torn_inside_a_character_is_resumed(runner, stand_in, folder):
    """A full disk or a crash cuts a row anywhere, also inside a character of several bytes (a
    file name's "é", a listing's "→"): the torn row is dropped, as in JSONL; the file had been
    refused as not UTF-8."""
    named = folder / "café.txt"
    named.write_text("Talks went on.\n", encoding="utf-8")
    out = folder / "out.csv"
    args = ["score", "--format", "csv", "-o", str(out), str(folder / "a.txt"), str(named)]
    assert runner.invoke(main, args).exit_code == 0
    whole = out.read_bytes()
    out.unlink()
    cut = whole.index("é".encode()) + 1
    (folder / "out.csv.part").write_bytes(whole[:cut])
    res = runner.invoke(main, [*args[:5], "--resume", *args[5:]])
    assert res.exit_code == 0, res.stderr
    assert "1 already in the output (skipped)" in res.stderr
    assert out.read_bytes() == whole
    # bytes that are not UTF-8 before the end are not a torn row: the file is not ours
    (folder / "out.csv.part").write_bytes(whole[:20] + b"\xff" + whole[20:])
    out.unlink()
    res = runner.invoke(main, [*args[:5], "--resume", *args[5:]])
    assert res.exit_code == 2 and "not UTF-8 text" in res.stderr


@pytest.mark.parametrize("value, said", [("", "an empty path names no file"), ("new/", "names a folder")])
def test_score_output_that_names_no_file_is_refused(runner, stand_in, folder, value, said):
    """``-o ""`` (an unset variable in a script) had written to standard output, and ``-o new/``
    (no such folder) had made a file named ``new``."""
    res = runner.invoke(main, ["score", "--format", "jsonl", "-o", value, str(folder / "a.txt")])
    assert res.exit_code == 2 and said in res.stderr and not res.stdout
    assert not (folder / "new").exists()


def test_redirected_standard_input_named_again_is_scored_once(runner, stand_in, folder):
    """``unspin score a.txt - < a.txt`` is one document, as a file named by two paths is."""
    a = folder / "a.txt"
    with a.open("rb") as fh:
        res = runner.invoke(main, ["score", "--format", "jsonl", str(a), "-"], input=fh)
    assert res.exit_code == 0, res.stderr
    assert [json.loads(x)["path"] for x in res.stdout.splitlines()] == [str(a)]


def test_standard_output_in_another_encoding_gets_utf8(folder):
    """Redirected to a file whose locale encoding is cp1252 (Windows, an old locale), the listing's
    "→" or an emoji in a file name had ended the output in a UnicodeEncodeError; the reports are
    UTF-8, as ``-o`` writes them."""
    from unspin_env import child_environ

    (folder / "smile 😀.txt").write_text("The campaign of optimal pressure went on.\n", encoding="utf-8")
    code = CHILD.format(tests=str(Path(__file__).parent))
    for fmt in ("text", "jsonl"):
        done = subprocess.run([sys.executable, "-c", code, "score", "--format", fmt, "smile 😀.txt"], cwd=folder,
                              env={**child_environ(), "PYTHONIOENCODING": "cp1252"}, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        out = done.stdout.decode("utf-8")
        assert "smile 😀.txt" in out and (fmt == "jsonl" or "→" in out)
