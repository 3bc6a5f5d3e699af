"""``--resume``: reading back the records an earlier run wrote (JSONL, CSV), and the output file's
part file, written in input order when the run ends."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path
from typing import Iterable, Iterator, Sequence, TypeVar

from pydantic import ValidationError

from service.batch_inputs import display_name
from service.batch_outcomes import BatchError
from service.batch_writers import CSV_COLUMNS, csv_value
from service.report import Report

#: Formats whose output ``--resume`` can read back.
RESUMABLE: tuple[str, ...] = ("jsonl", "csv")

T = TypeVar("T")


def _jsonl_records(path: Path) -> Iterator[tuple[str, bool, str]]:
    """(path, ok, line) for every record of a JSONL output; a torn last line is skipped.

    Raises:
        BatchError: a whole line (or a last line that does not even start like a record) that is
            not an unspin report or error record: the file is not ours, and resuming would
            overwrite it.
    """
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            if not raw.endswith(b"\n") and raw.startswith(b"{"):
                break  # torn by a crash mid-write
            record = _unspin_record(raw)
            if record is None:
                raise BatchError(
                    f"{display_name(path)} is not an unspin JSONL output (line {n} is not an unspin report or "
                    "error record); cannot resume it"
                )
            yield record[0], record[1], raw.decode("utf-8")


def _unspin_record(line: bytes) -> tuple[str, bool] | None:
    """(path, ok) of a JSONL line holding a report with a path (ok) or an error record; None for anything else."""
    try:
        rec = json.loads(line)
    except ValueError:  # UnicodeDecodeError included
        return None
    if isinstance(rec, dict) and rec.keys() == {"path", "error"}:
        return (rec["path"], False) if isinstance(rec["path"], str) and isinstance(rec["error"], str) else None
    try:
        report = Report.model_validate(rec)
    except ValidationError:
        return None
    return (report.path, True) if report.path is not None else None


def _csv_records(path: Path) -> Iterator[tuple[str, bool, list[str]]]:
    """(path, ok, row) for every whole row of a CSV output; a torn last row is skipped.

    Raises:
        BatchError: the file is not UTF-8 text or does not start with the unspin header.
    """
    data = path.read_bytes()
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.end < len(data):  # not a character cut short at the end, where a crash or a full disk tears a row
            raise BatchError(
                f"{display_name(path)} is not an unspin CSV (not UTF-8 text: byte offset {e.start}); cannot resume it"
            ) from None
        content = data[: e.start].decode("utf-8")
    whole = content.endswith("\n")
    rows = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(rows)
    except (StopIteration, csv.Error):
        return
    if tuple(header) != CSV_COLUMNS:
        shown = repr(header)
        shown = shown if len(shown) <= 200 else shown[:200] + "…"  # a JSON line taken for a header can be long
        raise BatchError(f"{display_name(path)} is not an unspin CSV (its header is {shown}); cannot resume it")
    parsed: list[list[str]] = []
    try:
        for row in rows:
            parsed.append(row)
    except csv.Error:
        whole = False
    if parsed and not whole:
        parsed.pop()
    for row in parsed:
        if len(row) == len(CSV_COLUMNS) and row[0]:
            yield csv_value(row[0]), not row[-1], row


def prepare_resume(output: Path, fmt: str) -> tuple[set[str], bool]:
    """Carry the scored documents of an earlier run into ``OUTPUT.part`` and name them.

    The earlier run's records come from ``OUTPUT.part`` (an interrupted run) or, when there is
    none, from ``OUTPUT`` (a finished one, e.g. before new files arrived). Whole records with a
    report are kept; a record torn by a crash and error records are dropped, so failed
    documents are tried again. Returns (names already scored, whether ``OUTPUT.part`` now holds
    records to append to).

    Raises:
        BatchError: ``fmt`` cannot be resumed, or the earlier output is not an unspin output of
            that format (it is left alone).
        OSError: the files cannot be read or written.
    """
    if fmt not in RESUMABLE:
        raise BatchError(f"--resume works with --format {' or '.join(RESUMABLE)}, not {fmt}")
    part = part_path(output)
    prior = part if part.exists() else output if output.exists() else None
    if prior is None:
        return set(), False
    done: set[str] = set()

    def kept() -> Iterator[str | list[str]]:
        for name, ok, record in _records(prior, fmt):
            if ok and name not in done:
                done.add(name)
                yield record

    # a file not ours (BatchError), Ctrl-C: the earlier output stays as it was
    _write_records(part, fmt, kept(), output.with_name(output.name + ".resume"))
    return done, True


def holds_reports(part: Path, fmt: str) -> bool:
    """Whether ``part`` (an ``OUTPUT.part``) holds a whole report of ``fmt``, left by a run that
    stopped early: a run without ``--resume`` would write over it and lose that work (see
    :func:`service.batch.run`). Error records, a torn last record, a file that is not an unspin
    output of ``fmt`` or cannot be read: False."""
    if fmt not in RESUMABLE:
        return False
    try:
        return any(ok for _, ok, _ in _records(part, fmt))
    except (BatchError, OSError):
        return False


def _records(path: Path, fmt: str) -> Iterator[tuple[str, bool, str | list[str]]]:
    """(path, ok, record) for every whole record of a ``fmt`` output (:func:`_jsonl_records`: a
    JSONL line; :func:`_csv_records`: a CSV row)."""
    return _jsonl_records(path) if fmt == "jsonl" else _csv_records(path)


def _write_records(target: Path, fmt: str, records: Iterable[str | list[str]], tmp: Path) -> None:
    """Make ``target`` a ``fmt`` output holding ``records`` (JSONL lines; CSV rows, after the
    header), atomically: written to ``tmp``, flushed to disk, then renamed to ``target``. When
    writing stops (Ctrl-C, a full disk, an error while reading the records) ``tmp`` is removed and
    ``target`` is as it was."""
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            if fmt == "jsonl":
                out.writelines(records)  # type: ignore[arg-type]
            else:
                writer = csv.writer(out)
                writer.writerow(CSV_COLUMNS)
                writer.writerows(records)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)


def output_problem(output: Path) -> str | None:
    """Why ``output`` cannot be a file a run writes (as ``OUTPUT.part`` renamed over it), or None:
    no such folder, or a path that is there and is not a regular file (a device such as
    ``/dev/null``, a pipe, a socket: the rename would put a file in its place)."""
    if output.name == "-":
        return "'-' is not a file here: name a file"
    if not output.parent.is_dir():
        return f"the folder {display_name(output.parent)} does not exist"
    try:
        st = os.stat(output)
    except FileNotFoundError:
        return None
    except OSError as e:
        return e.strerror or str(e)
    if stat.S_ISDIR(st.st_mode):
        return "it is a folder"
    if not stat.S_ISREG(st.st_mode):
        return ("it is not a regular file (a device, a pipe or a socket): the output is written to "
                f"{display_name(part_path(output))} and renamed over it, which would replace it; give a file's path")
    return None


def part_path(output: Path) -> Path:
    """Where a run writes before the output is complete: ``OUTPUT.part``."""
    return output.with_name(output.name + ".part")


def in_input_order(records: Iterable[tuple[str | None, T]], names: Sequence[str]) -> list[T]:
    """The records (``(name, record)`` pairs) in the order of ``names``, the inputs; records of a
    name that is not an input's keep their order, after the others."""
    rank: dict[str | None, int] = {}
    for i, name in enumerate(names):
        rank.setdefault(name, i)
    return [record for _, record in sorted(records, key=lambda nr: rank.get(nr[0], len(names)))]


def finish_output(part: Path, output: Path, fmt: str, names: Sequence[str] | None = None) -> None:
    """Make the finished ``OUTPUT.part`` the ``OUTPUT``, atomically.

    With ``names`` (a resumed run: the records kept from the earlier run come first in ``part``,
    then the new ones) ``OUTPUT`` is written from ``part`` with its records in the order of
    ``names``, the inputs (see :func:`in_input_order`), then ``part`` is removed. ``part`` stays
    whole until ``OUTPUT`` is in place, so a run stopped meanwhile can still be resumed.
    """
    if names is None:
        os.replace(part, output)
        return
    records = in_input_order(((name, record) for name, _, record in _records(part, fmt)), names)
    # Ctrl-C, a full disk: OUTPUT.part stays for --resume
    _write_records(output, fmt, records, output.with_name(output.name + ".resume"))
    part.unlink()
