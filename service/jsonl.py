"""Reading JSON-lines files with errors that name the file and line.

One reader for every JSONL input of the tool: the corpus and data files of ``make-data`` and the
``train*`` commands (:mod:`service.spinner`) and the gold and clean files of ``eval``
(:mod:`service.evaluation`).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Iterator

__all__ = ["DataError", "json_kind", "jsonl_objects", "jsonl_values"]


class DataError(ValueError):
    """A corpus or data file that cannot be used; the message names the file (and line)."""


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}


def json_kind(value: Any) -> str:
    """What a parsed JSON value is, for messages ("an object", "an array", "null", ...)."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def jsonl_values(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of every non-blank line of a JSONL file: UTF-8, a byte-order mark
    on the first line dropped, CRLF line ends fine (lines are split at LF only: U+2028 may sit
    inside a JSON string).

    Raises:
        DataError: the file cannot be read or is not a regular file (a named pipe, refused without
            opening it), or a line is not UTF-8, not JSON or nested too deeply to parse (``FILE:LINE: why``).
    """
    try:
        mode = os.stat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):  # a named pipe with no writer: open() waits forever
            from service.batch_inputs import special_kind  # the words score uses for such a file

            raise DataError(f"{path}: is {special_kind(mode)}, not a regular file")
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    with fh:
        for n, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8").removesuffix("\n")  # columns count in the line
            except UnicodeDecodeError as e:
                raise DataError(f"{path}:{n}: not valid UTF-8 (byte {raw[e.start]:#04x} at column {e.start + 1})") from None
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as e:
                # json's own messages may end in "at" ("Unterminated string starting at"): one "at" before the column
                why = (f"{e.msg.removesuffix(' at')} at column {e.colno}" if isinstance(e, json.JSONDecodeError)
                       else str(e))
                raise DataError(f"{path}:{n}: not valid JSON ({why})") from None
            except RecursionError:
                raise DataError(f"{path}:{n}: JSON nested too deeply to read") from None
            yield n, value


def jsonl_objects(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) of every non-blank line of a JSONL file (:func:`jsonl_values`).

    Raises:
        DataError: as :func:`jsonl_values`, or a line that is not a JSON object.
    """
    for n, value in jsonl_values(path):
        if not isinstance(value, dict):
            raise DataError(f"{path}:{n}: expected a JSON object, got {json_kind(value)}")
        yield n, value
