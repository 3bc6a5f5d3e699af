"""Batch scoring, the door for many documents: inputs -> reports -> outputs.

* **Inputs** (:func:`collect_sources`): files, folders (walked recursively, hidden files and
  folders skipped, ``--include``/``--exclude`` globs) and ``-`` (stdin). Every document is
  scored once: the same file named twice, by whatever path, is one document. A folder that
  cannot be listed is an error record. A folder that yields no document is
  reported on stderr (:func:`no_documents_message`) and in :attr:`Summary.empty_folders`.
* **Reading** (:func:`read_source`, :func:`iter_parts`): UTF-8 with or without BOM, UTF-16/UTF-32
  with BOM, and a declared fallback encoding for bytes that are not UTF-8. Memory stays bounded: a
  file larger than ``UNSPIN_MAX_CHARS`` bytes is decoded as a stream and scored in parts of at most
  ``UNSPIN_MAX_CHARS`` characters cut at paragraph breaks (``Engine.score_parts``; one report,
  offsets into the whole file), so only one part is held at a time (the ``text`` and ``html``
  formats, which show the text, keep the whole of it). Standard input is read whole, up to
  ``4 * UNSPIN_MAX_CHARS`` bytes (more is refused with an error record), and scored as a file of
  the same bytes would be, in parts when it is over ``UNSPIN_MAX_CHARS`` bytes. Binary data (NUL,
  or more than 10 % control characters) is refused by the same rule at any size.
* **Scoring**: in this process, in a process pool (``jobs > 1``; one engine per worker, loaded
  by the pool's initializer) or on Ray (:mod:`service.ray_batch`). Results always come back in
  input order. A document that cannot be read, decoded or scored becomes an error record
  (``{"path", "error"}``) and the run goes on.
* **Outputs** (:data:`FORMATS`): ``text`` (the listing), ``json``, ``jsonl``, ``csv``, ``html``;
  written record by record and flushed, to stdout or atomically to a file (see :func:`run`).
  ``--resume`` (jsonl, csv) skips documents already in the output; the finished output is in input
  order (see :func:`finish_output`).

The door only calls ``Engine.score``; it never computes a score itself.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import signal
import stat
import sys
import threading
import time
from bisect import bisect_right
from collections import deque
from concurrent.futures import BrokenExecutor, Executor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Generator, Iterable, Iterator, Literal, Sequence, TextIO, TypeVar

from pydantic import BaseModel, Field, ValidationError

from service.config import Settings
from service.decoding import (
    BINARY_CONTROL_SHARE,
    BOMS,
    InputError,
    check_characters,
    count_controls,
    decode,
    is_wide,
    no_bom_message,
    nul_message,
    text_codec,
)
from service.progress import shown as progress_shown
from service.report import SPUN_DOC_REASON, GrammarStatus, Report, Span

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import ProcessPoolExecutor

    from service.second_look import SlotProgress

Format = Literal["text", "json", "jsonl", "csv", "html"]
FORMATS: tuple[str, ...] = ("text", "json", "jsonl", "csv", "html")
#: Formats whose output ``--resume`` can read back.
RESUMABLE: tuple[str, ...] = ("jsonl", "csv")
#: Files a folder walk picks up when no ``--include`` is given.
TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ""})
#: CSV columns, one row per document.
CSV_COLUMNS = ("path", "score", "label", "words", "spans", "top_spans", "lm", "language", "error")
#: Spans listed in the CSV's ``top_spans`` column (highest score first).
CSV_TOP_SPANS = 5
#: Most bytes one character can take in any accepted encoding (UTF-8, UTF-16, UTF-32).
MAX_BYTES_PER_CHAR = 4

T = TypeVar("T")


class BatchError(ValueError):
    """The batch cannot start (bad options, an output file that is not ours, an engine that cannot start);
    nothing was scored."""


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Source:
    """One document to score.

    ``name`` is what reports and error records call it (their ``path``): the path as given or as
    found under a given folder (see :func:`display_name`), or ``-`` for stdin. ``path`` is the file
    to read; None for stdin, whose bytes are in ``data`` (None when stdin is closed or unreadable).
    ``error``, when set, is why ``path`` cannot be scored, found while collecting the inputs (a
    folder that cannot be listed): its record is that error, and nothing is read.
    """

    name: str
    path: Path | None = None
    data: bytes | None = None
    error: str | None = None


def display_name(path: str | Path) -> str:
    """``path`` as reports and outputs name it: as given, but with the bytes of a file name that are
    not UTF-8 (possible on POSIX) shown as ``\\xNN`` escapes, so that JSON, CSV, HTML and the
    terminal can always take it (the :class:`Source` keeps the real path for reading)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


#: characters that end or break a line for a terminal or :meth:`str.splitlines` (C0 and C1 controls,
#: DEL, the line and paragraph separators), or reorder what a terminal shows after them (the
#: bidirectional controls: "invoice\u202etxt.exe" would read "invoiceexe.txt")
_LINE_BREAKERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(name: str) -> str:
    """``name`` (a :func:`display_name`) as line-oriented output shows it: the text listing's header
    and the error lines on stderr. A file name may hold a newline or another control character,
    which would break the line in two; they are shown escaped (``\\n``, ``\\x1b``, ``\\u2028``), as
    Python writes them in a string. JSON, CSV and HTML outputs keep the name as it is (they quote
    it)."""
    return _LINE_BREAKERS.sub(lambda m: repr(m.group())[1:-1], name)


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    """True when the relative POSIX path ``rel`` matches one of the glob ``patterns``.

    A pattern without ``/`` is matched against the file name; one with ``/`` against the whole
    relative path, where ``*`` also matches ``/`` (so ``news/**/*.txt`` and ``news/*.txt`` both
    match ``news/2020/a.txt``), and ``**/`` also matches no folder at all, as in gitignore and
    most shells (``news/**/*.txt`` matches ``news/a.txt``, ``**/*.md`` matches ``README.md``).
    """
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatchcase(rel, v) if "/" in p else fnmatchcase(name, v)
               for p in patterns for v in _zero_folder_variants(p.removeprefix("./")))


def _zero_folder_variants(pattern: str) -> set[str]:
    """``pattern`` with each of its ``**/`` kept or left out, in every combination."""
    pieces = pattern.split("**/")
    variants = {pieces[0]}
    for piece in pieces[1:]:
        variants = {v + keep + piece for v in variants for keep in ("**/", "")}
    return variants


def _reason(e: OSError) -> str:
    """Why ``e`` happened, in lower case for a record's reason ("permission denied")."""
    why = e.strerror or str(e)
    return why[:1].lower() + why[1:]


def _walk(folder: Path, include: Sequence[str], exclude: Sequence[str]) -> Iterator[Source]:
    """The files under ``folder`` in sorted order (as ``sorted(folder.rglob("*"))`` sorts paths),
    hidden ones skipped, filtered by the globs; a link to a folder is not followed.

    What cannot be looked at is not skipped silently: a folder that cannot be listed, or a file
    the globs pick that cannot be looked up (a link to a file that is not there, or that loops)
    or is not a regular file (a named pipe, a socket, a device: not opened), is a :class:`Source`
    carrying the ``error``.
    """

    def visit(d: Path, prefix: str) -> Iterator[Source]:
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            yield Source(display_name(d), d, error=f"cannot list this folder: {_reason(e)}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            f, rel = d / entry.name, prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    yield from visit(f, rel + "/")
                elif _wanted(rel, f.suffix, include, exclude):
                    if _is_file(entry):
                        yield Source(display_name(f), f)
                    elif (broken := _broken_link(entry)) is not None:
                        yield Source(display_name(f), f, error=broken)
                    elif not stat.S_ISDIR(mode := entry.stat().st_mode):  # a pipe, socket or device: named, not opened
                        yield Source(display_name(f), f, error=_not_regular(mode))
            except OSError as e:
                yield Source(display_name(f), f, error=f"cannot read: {_reason(e)}")

    return visit(folder, "")


def _broken_link(entry: os.DirEntry) -> str | None:
    """Why ``entry``, a link, leads to nothing (missing, looping), or None: not a link, or one to
    something there (a folder, which a walk does not follow, or a device, a pipe)."""
    if not entry.is_symlink():
        return None
    try:
        os.stat(entry.path)
    except OSError as e:
        return f"a link that leads to nothing readable: {_reason(e)}"
    return None


def _is_file(entry: os.DirEntry) -> bool:
    """Whether ``entry`` is a file or a link to one; False for a link that leads nowhere (as
    :meth:`Path.is_file`: missing, looping or not a folder on the way).

    Raises:
        OSError: it cannot be looked up (e.g. no permission to, in a folder that cannot be searched).
    """
    try:
        return entry.is_file()
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return False
        raise


def _wanted(rel: str, suffix: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether a walk takes the file at ``rel`` (below the folder walked) by the globs."""
    if include:
        if not _matches(rel, include):
            return False
    elif suffix.lower() not in TEXT_SUFFIXES:
        return False
    return not (exclude and _matches(rel, exclude))


def _file_id(path: Path) -> tuple[int, int] | None:
    """The identity of the file at ``path`` (``st_dev``, ``st_ino``, links followed): the same for
    every path to the same file; None when it cannot be looked up."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return None
    return st.st_dev, st.st_ino


def collect_sources(
    paths: Iterable[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    stdin: io.BufferedIOBase | None = None,
    max_chars: int | None = None,
) -> list[Source]:
    """The documents named by ``paths``, in order, each once (see :func:`collect_inputs`)."""
    return collect_inputs(paths, include, exclude, stdin=stdin, max_chars=max_chars)[0]


def collect_inputs(
    paths: Iterable[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    stdin: io.BufferedIOBase | None = None,
    max_chars: int | None = None,
) -> tuple[list[Source], list[str]]:
    """The documents named by ``paths``, in order, each once, and the folders among ``paths``
    (as :func:`display_name` shows them) whose walk found no document to score.

    A file reached by several paths (``a.txt``, ``./a.txt``, an absolute path, a link to it or to
    a folder holding it) is one document, taken where it comes first (see :func:`_file_id`).
    What cannot be walked becomes a :class:`Source` with an ``error`` (see :func:`_walk`).
    Folders are walked recursively (sorted; hidden files and folders skipped). Without
    ``include`` a walk takes files ending in ``.txt``, ``.text``, ``.md`` or without a suffix;
    with it, the files matching any include glob. ``exclude`` globs drop files from walks. A file
    named explicitly is always taken. ``-`` reads ``stdin`` (at most
    ``MAX_BYTES_PER_CHAR * max_chars + 4`` bytes: more cannot be scored, see :func:`read_source`).
    """
    seen: set[tuple[int, int] | Path | None] = set()  # the files taken, by identity (else path; None: stdin)
    out: list[Source] = []
    empty: list[str] = []
    # standard input redirected from a file (``- < a.txt``) is that file: named again, it is not scored twice
    paths = list(paths)
    stdin_key = _stdin_file_id(stdin) if "-" in paths else None

    def add(src: Source) -> None:
        key = stdin_key if src.path is None else _file_id(src.path) or src.path
        if key not in seen:
            seen.add(key)
            out.append(src)

    for p in paths:
        if p == "-":
            if stdin_key not in seen:
                add(Source("-", None, _read_stdin(stdin, max_chars)))
            continue
        path = Path(p)
        if is_folder(path):
            found = False
            for src in _walk(path, include, exclude):
                found = True
                add(src)
            if not found:
                empty.append(display_name(path))
        else:
            name = display_name(path)
            # a file named "-" given as ./- (Path drops the ./): not the "-" of standard input
            add(Source("./-" if name == "-" else name, path))
    return out, empty


def is_folder(path: Path) -> bool:
    """Whether ``path`` is a folder (or a link to one); False when it cannot be looked up (reading
    it as a file then says why). ``unspin eval`` asks the same of its inputs."""
    try:
        return path.is_dir()
    except OSError:  # e.g. in a folder that cannot be searched
        return False


def no_documents_message(include: Sequence[str] = (), exclude: Sequence[str] = ()) -> str:
    """Why a folder gave nothing to score, naming the globs in effect (``include``, else the default ones)."""
    pick = (f"--include {' '.join(repr(g) for g in include)}" if include
            else "no --include: *.txt, *.text, *.md and files without a suffix")
    drop = f"; --exclude {' '.join(repr(g) for g in exclude)}" if exclude else ""
    return f"no documents to score in this folder ({pick}{drop}; hidden files and folders are skipped)"


def _read_stdin(stdin: io.BufferedIOBase | None, max_chars: int | None) -> bytes | None:
    """The bytes of ``stdin`` (default: the process's standard input), at most one more than
    ``max_chars`` can take; None when it is closed or cannot be read (e.g. ``unspin score - <&-``)."""
    stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)  # sys.stdin is None when fd 0 is closed
    if stream is None:
        return None
    try:
        return stream.read() if max_chars is None else _read_at_most(stream, _max_bytes(max_chars) + 1)
    except (OSError, ValueError):  # ValueError: a closed stream
        return None


def _read_at_most(stream: BinaryIO, n: int) -> bytes:
    """At most ``n`` bytes of ``stream``, read a block at a time: the memory taken grows with what is
    there, not with ``n`` (one ``read(n)`` reserves all ``n`` bytes first, and a large
    ``UNSPIN_MAX_CHARS`` had made every document fail with MemoryError)."""
    blocks, size = [], 0
    while size < n:
        want = min(READ_BLOCK, n - size)
        block = stream.read(want)
        blocks.append(block)
        size += len(block)
        if len(block) < want:  # the end (a buffered read is short only there): a terminal's Ctrl-D is
            break              # not asked for twice, as another read would wait for more typing
    return b"".join(blocks)


def _max_bytes(max_chars: int) -> int:
    return MAX_BYTES_PER_CHAR * max_chars + 4  # + a byte-order mark


def file_size(path: Path) -> int:
    """The size of the file at ``path``, which must be a regular file or a character device.

    Raises:
        InputError: a named pipe (reading it could wait forever), a socket, a block device or a
            folder: refused without opening it.
        OSError: ``path`` cannot be looked up (missing, no permission).
    """
    st = path.stat()
    mode = st.st_mode
    if stat.S_ISREG(mode) or stat.S_ISCHR(mode):
        return st.st_size
    raise InputError(_not_regular(mode))


def special_kind(mode: int) -> str:
    """What a path of this ``stat`` mode is when it is not a regular file: "a named pipe (FIFO)",
    "a socket", "a folder", "a block device" or "a special file"."""
    return ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a folder" if stat.S_ISDIR(mode) else "a block device" if stat.S_ISBLK(mode) else "a special file")


def _not_regular(mode: int) -> str:
    """Why a path of this ``stat`` mode is not read as a document."""
    return f"is {special_kind(mode)}, not a regular file; to score what a pipe carries, send it to standard input ('-')"


def read_source(src: Source, *, max_chars: int, encoding: str | None = None) -> str:
    """The text of ``src``, decoded as :func:`service.decoding.decode` does (``encoding`` is the fallback).

    Raises:
        InputError: binary or undecodable bytes; standard input that was closed; a file too
            large to be within ``max_chars`` characters, or a path that is not a regular file or
            character device (these two refused without opening it).
        OSError: the file cannot be read.
    """
    limit = _max_bytes(max_chars)
    if src.path is None:
        data = _stdin_data(src, max_chars)
    else:
        size = file_size(src.path)
        if size > limit:
            raise InputError(
                f"the file is {size:,} bytes, too long for the limit of {max_chars:,} characters "
                "(UNSPIN_MAX_CHARS); split it into smaller files or raise the limit"
            )
        with open(src.path, "rb") as fh:
            data = _read_at_most(fh, limit + 1)
        if len(data) > limit:  # grew since it was measured
            raise _too_many_bytes(limit, max_chars)
    try:
        return decode(data, fallback=encoding, how_to_name="name its encoding with --encoding (e.g. cp1252)")
    except UnicodeError as e:  # a codec's own error (``decode`` turns UnicodeDecodeError into InputError)
        raise _undecodable(e, encoding or "utf-8") from None


def _stdin_data(src: Source, max_chars: int) -> bytes:
    """The bytes standard input gave ``src`` (read whole by :func:`collect_sources`).

    Raises:
        InputError: standard input was closed or unreadable, or gave more than
            ``MAX_BYTES_PER_CHAR * max_chars + 4`` bytes (it is held in memory whole).
    """
    if src.data is None:
        raise InputError("cannot read standard input: it is closed or unreadable")
    limit = _max_bytes(max_chars)
    if len(src.data) > limit:
        raise _too_many_bytes(limit, max_chars)
    return src.data


def _too_many_bytes(limit: int, max_chars: int) -> InputError:
    """The error for input of more than ``limit`` bytes, more than ``max_chars`` characters can take."""
    return InputError(
        f"the input is more than {limit:,} bytes, too long for the limit of {max_chars:,} characters (UNSPIN_MAX_CHARS)"
    )


def _undecodable(e: UnicodeError, codec: str) -> InputError:
    """The error record's reason for bytes that ``codec`` refused (``e`` says why)."""
    if isinstance(e, UnicodeDecodeError):  # the codec by its name, not Python's ("charmap" for cp1252)
        return InputError(f"is not valid {codec.removesuffix('-sig').upper()} (byte offset {e.start})")
    if codec in ("utf-16", "utf-32"):  # no byte-order mark, and no byte order named
        return InputError(no_bom_message(codec))
    return InputError(f"cannot be decoded as {codec.upper()}: {e}")


READ_BLOCK = 1 << 20  # bytes read from a large file at a time


def is_large(src: Source, max_chars: int) -> bool:
    """Whether ``src`` is too big to be sure it fits one engine call (scored in parts then): a file,
    or what standard input gave, of more than ``max_chars`` bytes. The rule looks at bytes only, so
    the same bytes are scored the same way whether they come from a file or from standard input.

    Raises:
        InputError, OSError: as :func:`file_size` (a path that is not a file to read).
    """
    if src.path is None:
        return src.data is not None and len(src.data) > max_chars
    return file_size(src.path) > max_chars


def _open_bytes(src: Source) -> BinaryIO:
    """The bytes of ``src`` as a binary stream: its file, or what standard input gave (``src.data``)."""
    return open(src.path, "rb") if src.path is not None else io.BytesIO(src.data or b"")


def _decoded_blocks(src: Source, encoding: str) -> Iterator[str]:
    """The text of ``src``, decoded block by block (strict: undecodable bytes raise UnicodeError).

    Raises:
        InputError: binary data, by the rule :func:`service.decoding.decode` applies to a whole text:
            a NUL character (as soon as its block is read), or more than 10 % other control
            characters in the whole text (known once the last block is read).
    """
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    chars = controls = read = 0
    with _open_bytes(src) as fh:
        while True:
            block = fh.read(READ_BLOCK)
            held = len(decoder.getstate()[0])  # bytes of the blocks before, not decoded yet
            # and the UTF-8 byte-order mark, which the decoder takes off the first block before it decodes
            shift = read - held + (len(codecs.BOM_UTF8) if not read and block.startswith(codecs.BOM_UTF8)
                                   and encoding == "utf-8-sig" else 0)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as e:  # its offsets count from this call's bytes: make them the file's
                e.start, e.end = e.start + shift, e.end + shift
                raise
            read += len(block)
            if "\x00" in text:
                raise InputError(nul_message(encoding))
            chars += len(text)
            controls += count_controls(text)
            if not block and controls > BINARY_CONTROL_SHARE * chars:
                raise InputError("looks like binary data, not text")
            yield text
            if not block:
                return


def _has_nul(src: Source) -> bool:
    """Whether the bytes of ``src`` hold a NUL byte (read in blocks)."""
    with _open_bytes(src) as fh:
        while block := fh.read(READ_BLOCK):
            if b"\x00" in block:
                return True
    return False


def _stream_encoding(src: Source, fallback: str | None) -> str:
    """The codec to stream ``src`` with: its byte-order mark's; else the declared fallback when it
    is UTF-16 or UTF-32 and the bytes hold NULs (as :func:`service.decoding.decode` decides); else
    UTF-8 when all of it is valid UTF-8 (checked in one bounded-memory pass); else the fallback.

    Raises:
        InputError: not UTF-8 and no fallback, a fallback that is not a text encoding, or binary
            data (see :func:`_decoded_blocks`).
    """
    with _open_bytes(src) as fh:
        head = fh.read(4)
    for bom, codec in BOMS:
        if head.startswith(bom):
            return {"utf-8": "utf-8-sig", "utf-16-le": "utf-16", "utf-16-be": "utf-16",
                    "utf-32-le": "utf-32", "utf-32-be": "utf-32"}[codec]
    if is_wide(fallback) and _has_nul(src):
        return text_codec(fallback)  # UTF-16/32 without a byte-order mark, named by the user
    try:
        for _ in _decoded_blocks(src, "utf-8"):
            pass
        return "utf-8"
    except UnicodeDecodeError as e:
        if not fallback:
            raise InputError(f"is not valid UTF-8 (byte offset {e.start}); name its encoding with --encoding") from None
        return text_codec(fallback)


def iter_parts(src: Source, *, max_chars: int, encoding: str | None = None) -> Iterator[str]:
    """The text of a large file (or of large standard input) as consecutive parts of at most
    ``max_chars`` characters, cut after a paragraph break where there is one (else a line break,
    else a space); joined, the parts are the text exactly, as :func:`read_source` would decode it.
    A file is decoded as a stream; standard input is already in memory (``src.data``).

    Raises:
        InputError: binary or undecodable bytes, standard input that was closed or too long (see
            :func:`_stdin_data`), or text holding a lone surrogate (which the engine would refuse;
            the message says where in the input the part holding it starts).
        OSError: the file cannot be read.
    """
    if src.path is None:
        _stdin_data(src, max_chars)
    where = "the file" if src.path is not None else "standard input"
    codec = _stream_encoding(src, encoding)
    try:
        buf, offset = "", 0
        for text in _decoded_blocks(src, codec):
            buf += text
            while len(buf) > max_chars:
                cut = _cut_at(buf, max_chars)
                yield _checked_part(buf[:cut], offset, where)
                buf, offset = buf[cut:], offset + cut
        if buf:
            yield _checked_part(buf, offset, where)
    except UnicodeError as e:
        raise _undecodable(e, codec) from None


#: a line break as :meth:`str.splitlines` counts them (CRLF as one, never cut between its CR and LF)
_PART_LINE_BREAK = r"(?:\r\n|\r(?!\n)|[\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])"
#: where a part may end, best first: a paragraph break (two line breaks, or U+2029), a line break,
#: a sentence's end (its closing quotes or brackets too) before a space, a space
_PART_BREAKS = (
    re.compile(rf"{_PART_LINE_BREAK}{{2}}|\u2029"),
    re.compile(_PART_LINE_BREAK),
    re.compile("[.!?…][\"'”’»)\\]]* "),
    re.compile(" "),
)


def _cut_at(buf: str, max_chars: int) -> int:
    """Where to end a part of ``buf``: after its last paragraph break within ``max_chars``
    characters, else after its last line break (any that :meth:`str.splitlines` knows, never
    between the CR and LF of a CRLF), else after its last sentence end and the space after it,
    else after its last space, else at ``max_chars``."""
    window = buf[: max_chars + 1]  # one more, so that a CR at the limit is seen with its LF
    for pattern in _PART_BREAKS:
        ends = [m.end() for m in pattern.finditer(window) if 0 < m.end() <= max_chars and m.start() > 0]
        if ends:
            return ends[-1]
    splits_crlf = max_chars > 1 and buf[max_chars - 1] == "\r" and buf[max_chars : max_chars + 1] == "\n"
    return max_chars - 1 if splits_crlf else max_chars


def _checked_part(part: str, offset: int, where: str = "the file") -> str:
    """``part`` (starting at character ``offset`` of ``where``: its file or standard input),
    checked as the engine checks text.

    Raises:
        InputError: a lone surrogate; the message says where the part starts in the input.
    """
    try:
        check_characters(part)
    except InputError as e:
        raise InputError(f"{e} (in the part starting at character offset {offset:,} of {where})") from None
    return part


# --------------------------------------------------------------------------- outcomes


class ErrorRecord(BaseModel):
    """What the output holds for a document that could not be scored."""

    path: str
    error: str


class Outcome(BaseModel):
    """The result for one document: a report, or an error; ``text`` when the format shows it."""

    path: str
    report: Report | None = None
    error: str | None = None
    text: str | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None

    def record(self) -> dict:
        """The JSON record: the report, or ``{"path", "error"}``."""
        if self.report is not None:
            return self.report.model_dump(mode="json")
        return ErrorRecord(path=self.path, error=self.error or "unknown error").model_dump()

    def json_text(self, indent: int | None = None) -> str:
        """The record as JSON text: the report (``indent``ed when given), or a compact error record."""
        if self.report is not None:
            return self.report.model_dump_json(indent=indent)
        return json.dumps(self.record(), ensure_ascii=False)


def score_source(
    engine,
    src: Source,
    *,
    threshold: float | None = None,
    encoding: str | None = None,
    keep_text: bool = False,
    progress: SlotProgress | None = None,
) -> Outcome:
    """Read and score one document; any failure becomes an error :class:`Outcome` (never raises).
    ``progress`` wraps the second look's slots (:meth:`service.engine.Engine.score`)."""
    if src.error is not None:
        return Outcome(path=src.name, error=src.error)
    text: str | None = None
    try:
        max_chars = engine.settings.max_chars
        if is_large(src, max_chars):
            parts: Iterable[str] = iter_parts(src, max_chars=max_chars, encoding=encoding)
            if keep_text:
                parts = list(parts)
                text = "".join(parts)
            report = engine.score_parts(parts, path=src.name, threshold=threshold, progress=progress)
        else:
            text = read_source(src, max_chars=max_chars, encoding=encoding)
            report = engine.score(text, path=src.name, threshold=threshold, progress=progress)
    except InputError as e:
        return Outcome(path=src.name, error=str(e))
    except OSError as e:
        return Outcome(path=src.name, error=f"cannot read: {e.strerror or e}")
    except Exception as e:  # noqa: BLE001 - one bad document must not end a batch
        return Outcome(path=src.name, error=f"internal error: {type(e).__name__}: {e}")
    return Outcome(path=src.name, report=report, text=text if keep_text else None)


# --------------------------------------------------------------------------- scoring in this process or a pool

_WORKER: dict = {}


#: Seconds between a worker's looks at whether the process that started it is still there.
PARENT_CHECK_SECONDS = 1.0


def _exit_with_parent(parent: int) -> None:
    """End this worker process as soon as its parent, process ``parent``, is gone (killed with
    SIGKILL, say): nothing could use its results, and it would hold its engine's memory forever.
    A daemon thread looks every :data:`PARENT_CHECK_SECONDS`."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="unspin-parent-watch", daemon=True).start()


def _init_worker(
    parent: int, settings: Settings, threshold: float | None, encoding: str | None, keep_text: bool
) -> None:
    """Process-pool initializer: exit with the ``parent`` process (see :func:`_exit_with_parent`), and
    load the engine once for this worker (an engine that cannot start is reported by the worker's
    first document, since an initializer's error only breaks the pool)."""
    _exit_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    from service.engine import EngineUnavailable, load_engine

    try:
        _WORKER.update(engine=load_engine(settings), threshold=threshold, encoding=encoding, keep_text=keep_text)
    except EngineUnavailable as e:
        _WORKER.update(error=str(e))


def _score_in_worker(src: Source) -> Outcome:
    w = _WORKER
    if "error" in w:
        raise BatchError(w["error"])
    return score_source(w["engine"], src, threshold=w["threshold"], encoding=w["encoding"], keep_text=w["keep_text"])


def ordered_map(executor: Executor, fn: Callable, items: Iterable, ahead: int) -> Iterator:
    """``fn`` over ``items`` on ``executor``, results in input order, at most ``ahead`` in flight."""
    pending: deque = deque()
    for item in items:
        pending.append(executor.submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def score_local(
    sources: Sequence[Source],
    settings: Settings,
    *,
    jobs: int = 1,
    threshold: float | None = None,
    encoding: str | None = None,
    keep_text: bool = False,
    progress: SlotProgress | None = None,
) -> Iterator[Outcome]:
    """Outcomes for ``sources`` in order: in this process (``jobs == 1``, or one document) or in a
    process pool. ``progress`` wraps each document's second look in this process (see
    :func:`second_look_bar`); the pool's workers show none."""
    if jobs <= 1 or len(sources) <= 1:
        from service.engine import EngineUnavailable, load_engine

        try:
            engine = load_engine(settings)
        except EngineUnavailable as e:
            raise BatchError(str(e)) from e
        for src in sources:
            yield score_source(engine, src, threshold=threshold, encoding=encoding, keep_text=keep_text,
                               progress=progress)
        return

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    def pool_of(workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a process holding torch threads
            initializer=_init_worker,
            initargs=(os.getpid(), settings, threshold, encoding, keep_text),
        )

    yield from _pooled(sources, pool_of, jobs)


#: Documents in a row whose worker process died while scoring them alone, after which a run stops
#: (:class:`WorkerDied`): past that, the workers are being killed whatever they score (an engine too
#: large for the memory left, or someone ending them), not by one document.
MAX_DEATHS_IN_A_ROW = 3


class DiedInARow(BrokenExecutor):
    """Worker processes of ``--jobs`` (or Ray actors) died :data:`MAX_DEATHS_IN_A_ROW` times in a row;
    the message says while doing what. :func:`run` ends the batch with it (:class:`WorkerDied`)."""


#: Why a run whose ``--jobs`` workers died scoring :data:`MAX_DEATHS_IN_A_ROW` documents in a row stopped.
WORKERS_DIED = (f"worker processes died (killed, or out of memory?) while scoring {MAX_DEATHS_IN_A_ROW} documents "
                "in a row, each alone")


def _pooled(sources: Sequence[Source], pool_of: Callable[[int], ProcessPoolExecutor], jobs: int) -> Iterator[Outcome]:
    """Outcomes for ``sources`` in order, scored on pools ``pool_of(workers)`` makes, ``jobs`` workers each.

    A worker process that dies (killed, out of memory) breaks its pool, and every document the pool
    held and had not finished with it. Which of them killed its worker is not known, so those
    documents, at most ``2 * jobs`` of them, are scored again one at a time on a pool of one worker:
    a document whose worker dies there too gets an error record saying so (``--resume`` scores it
    again), the others their reports; then the run goes on with ``jobs`` workers. After
    :data:`MAX_DEATHS_IN_A_ROW` documents in a row died alone the run stops: :class:`DiedInARow`.
    """
    ahead = 2 * jobs
    at = 0  # the first document without an outcome yet
    deaths = 0
    while at < len(sources):
        pool = pool_of(min(jobs, len(sources) - at))
        finished = False
        try:
            for outcome in ordered_map(pool, _score_in_worker, sources[at:], ahead=ahead):
                at += 1
                deaths = 0
                yield outcome
            finished = True
        except BrokenExecutor:
            pass  # the documents from ``at`` on were still in the broken pool: below
        finally:
            if not finished:  # broken, or stopped early (Ctrl-C, SIGTERM): the documents in hand are lost
                _stop_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
        if finished:
            return
        # the pool held at most ``ahead`` documents unfinished, the first of them ``at``
        alone = pool_of(1)
        try:
            for src in sources[at:at + ahead]:
                try:
                    outcome = alone.submit(_score_in_worker, src).result()
                    deaths = 0
                except BrokenExecutor:
                    deaths += 1
                    if deaths >= MAX_DEATHS_IN_A_ROW:
                        raise DiedInARow(WORKERS_DIED) from None
                    alone.shutdown(wait=True, cancel_futures=True)
                    alone = pool_of(1)
                    outcome = Outcome(path=src.name, error=WORKER_DIED)
                at += 1
                yield outcome
        finally:
            _stop_workers(alone)
            alone.shutdown(wait=True, cancel_futures=True)


#: The error record of a document whose worker process died while scoring it alone.
WORKER_DIED = "its worker process died while scoring it alone (killed, or out of memory?); --resume scores it again"


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the worker processes of ``pool`` now, rather than wait for the documents they are
    scoring (minutes with the second look), whose results nobody would read."""
    for proc in list((pool._processes or {}).values()):  # no public way before Python 3.14's terminate_workers
        proc.terminate()


# --------------------------------------------------------------------------- text listing


#: A line break as :meth:`str.splitlines` counts them (``\r\n`` is one).
_LINE_BREAK_RE = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def line_starts(text: str) -> list[int]:
    """The offsets in ``text`` where its second, third, … line starts, line breaks counted as
    :meth:`str.splitlines` counts them (``\\r\\n``, ``\\r``, ``\\n``, U+2028, …)."""
    return [m.end() for m in _LINE_BREAK_RE.finditer(text)]


def grammar_summary(status: GrammarStatus) -> str:
    """How a listing says whether grammar was checked: ``checked``, ``checked only in part: why``
    or ``not checked: why``."""
    if not status.checked:
        return f"not checked: {status.reason}"
    return f"checked only in part: {status.reason}" if status.incomplete else "checked"


def format_listing(report: Report, text: str, counted: str = "spans") -> str:
    """Human-readable listing: one line per span, ``written → suggestion`` with its score.

    A one-word span is shown with the next word for context ("terrific powers → great powers").
    Line numbers count line breaks as :meth:`str.splitlines` does (a classic Mac file's ``\\r`` too).
    The first line counts the spans as ``counted`` ("78 spans"; ``unspin restore``: "78 replaced").
    """
    starts = line_starts(text)
    lines = [
        f"{one_line(report.path or report.id or '-')}: {report.label} (score {report.score:.2f}, "
        f"{len(report.spans)} {counted}, {report.stats.words} words, lm {report.lm}, "
        f"grammar {grammar_summary(report.grammar)})"
        + ("" if report.language.english else f" NOT ENGLISH: {report.language.reason}")
    ]
    for s in report.spans:
        before, tail = _folded(s.text), ""  # a span across a line break, on one line
        if not any(c.isspace() for c in s.text.strip()):
            rest = text[s.end : s.end + 40]
            nxt = rest.split()[0] if rest[:1] == " " and rest.split() else ""
            nxt = nxt.rstrip(".,;:!?\"”’)")
            if nxt.isalpha():
                tail = " " + nxt
        others = ", ".join(_folded(x.text) for x in s.suggestions[1:3])
        line_no = bisect_right(starts, s.start) + 1
        change = f"{before}{tail} → {_folded(s.suggestions[0].text)}{tail}" if s.suggestions else f"{before}{tail} (no suggestion)"
        lines.append(
            f"  {s.score:.2f}  {change}"  # a suggestion's "a\nrelief" on one line
            + (f"   (also: {others})" if others else "")
            + f"   [line {line_no}, {s.start}-{s.end}, {_what(s)}"
            + (f", {SPUN_DOC_REASON}" if s.by_document_verdict else "") + "]"
        )
    return "\n".join(lines)


def _what(span: Span) -> str:
    """What found a listed span: a spun span's relation ("synonym"), or the kind and rule of another
    ("typo MORFOLOGIK_RULE_EN_US", "formatting UNSPIN_LOOK_ALIKE_LETTERS")."""
    if span.kind == "spun":
        return str(span.evidence.get("relation", ""))
    return " ".join([span.kind, *([str(span.evidence["rule_id"])] if span.evidence.get("rule_id") else [])])


def top_spans(report: Report, k: int = CSV_TOP_SPANS) -> str:
    """The ``k`` highest-scoring spans as ``written → suggestion``, joined by ``"; "`` (whitespace
    folded): spun spans first, then the others (a grammar match, a word disguised with look-alike
    letters, which scores 1 but is no evidence of spinning)."""
    best = sorted(report.spans, key=lambda s: (s.kind != "spun", -s.score, s.start))[:k]
    return "; ".join(f"{_folded(s.text)} → {_folded(s.suggestions[0].text) if s.suggestions else '?'}" for s in best)


def _folded(text: str) -> str:
    """``text`` with each run of white space (a line break inside a span or a suggestion) as one space."""
    return " ".join(text.split())


# --------------------------------------------------------------------------- writers


class Summary(BaseModel):
    """What a batch did (also written at the end of the HTML report)."""

    total: int = Field(0, description="Documents named by the inputs.")
    scored: int = 0
    failed: int = 0
    skipped: int = Field(0, description="Already in the output (--resume).")
    not_english: int = Field(0, description="Scored documents that read as another language than English (their "
                             "reports say nothing about them).")
    empty_folders: list[str] = Field(default_factory=list, description="Folders named that held no document to score.")
    words: int = 0
    seconds: float = 0.0
    failures: list[ErrorRecord] = Field(default_factory=list)


class Writer:
    """Writes outcomes to a text stream, one record at a time, flushing after each."""

    needs_text = False

    def __init__(self, out: TextIO, *, appending: bool = False):
        self.out = out
        self.appending = appending

    def begin(self) -> None:
        """Write what comes before the first record (nothing unless overridden)."""

    def write(self, o: Outcome) -> None:
        self._write(o)
        self.out.flush()

    def _write(self, o: Outcome) -> None:
        raise NotImplementedError

    def end(self, summary: Summary) -> None:
        """Write what comes after the last record (nothing unless overridden)."""
        self.out.flush()


class TextWriter(Writer):
    """The listing of :func:`format_listing`; error records go to stderr only."""

    needs_text = True

    def _write(self, o: Outcome) -> None:
        if o.report is not None:
            self.out.write(format_listing(o.report, o.text or "") + "\n")


class JsonWriter(Writer):
    """One indented JSON object per document (concatenated); error records compact."""

    def _write(self, o: Outcome) -> None:
        self.out.write(o.json_text(indent=2) + "\n")


class JsonlWriter(Writer):
    """One JSON object per line: a report or an error record."""

    def _write(self, o: Outcome) -> None:
        self.out.write(o.json_text() + "\n")


#: first characters that make a spreadsheet read a cell as a formula
_FORMULA_STARTS = frozenset("=+-@\t\r")


def csv_cell(value: str) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text: one of two characters or more that would
    start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a file named
    ``=HYPERLINK(...)``, a phrase the document wrote) gets a leading apostrophe, as OWASP advises
    against formula injection; one that already starts with apostrophes before such a character
    gets one more, so that :func:`csv_value` gives every value back."""
    if len(value.lstrip("'")) < 2:  # a sign alone is no formula ("-", standard input's name)
        return value
    if value[:1] in _FORMULA_STARTS or (value[:1] == "'" and value.lstrip("'")[:1] in _FORMULA_STARTS):
        return "'" + value
    return value


def csv_value(cell: str) -> str:
    """The value :func:`csv_cell` wrote as ``cell``."""
    if cell[:1] == "'" and len(cell.lstrip("'")) >= 2 and cell.lstrip("'")[:1] in _FORMULA_STARTS:
        return cell[1:]
    return cell


def csv_row(o: Outcome) -> list[str]:
    """The CSV row of one outcome, in :data:`CSV_COLUMNS` order; text cells as :func:`csv_cell` writes them."""
    r = o.report
    if r is None:
        return [csv_cell(o.path), "", "", "", "", "", "", "", csv_cell(o.error or "unknown error")]
    return [csv_cell(o.path), f"{r.score:.4f}", r.label, str(r.stats.words), str(len(r.spans)), csv_cell(top_spans(r)),
            r.lm, r.language.detected or "", ""]


class CsvWriter(Writer):
    """One row per document (:data:`CSV_COLUMNS`); a header unless appending."""

    def begin(self) -> None:
        if not self.appending:
            self._row(list(CSV_COLUMNS))

    def _row(self, row: list[str]) -> None:
        buf = io.StringIO()
        csv.writer(buf).writerow(row)
        self.out.write(buf.getvalue())  # one write per row: a crash leaves whole rows or a torn last one
        self.out.flush()

    def _write(self, o: Outcome) -> None:
        self._row(csv_row(o))


def make_writer(fmt: str, out: TextIO, *, appending: bool = False) -> Writer:
    """The writer for ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "html":
        from service.batch_html import HtmlWriter

        return HtmlWriter(out)
    classes = {"text": TextWriter, "json": JsonWriter, "jsonl": JsonlWriter, "csv": CsvWriter}
    if fmt not in classes:
        raise BatchError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return classes[fmt](out, appending=appending)


# --------------------------------------------------------------------------- resume


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


# --------------------------------------------------------------------------- the batch


class BatchOptions(BaseModel):
    """Everything ``unspin score`` passes to :func:`run`."""

    paths: list[str]
    format: Format = "text"
    output: Path | None = None
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    resume: bool = False
    jobs: int | None = Field(None, ge=1, description="Worker processes (local) or actors (ray); None: 1 locally, all CPUs on Ray.")
    encoding: str | None = Field(None, description="Fallback encoding for bytes that are not UTF-8.")
    threshold: float | None = Field(None, ge=0.0, le=1.0)
    engine: Literal["local", "ray"] = "local"
    address: str | None = Field(None, description="Ray cluster address ('auto': the running cluster); None: start a local one.")
    progress: bool | None = Field(None, description="Show progress on stderr (a bar on a terminal, else a line now and then: service.progress); None: when stderr is a terminal.")


class Interrupted(Exception):
    """The batch stopped early (Ctrl-C or SIGTERM, ``signum``); ``summary`` says how far it got."""

    def __init__(self, summary: Summary, where: str, signum: int = signal.SIGINT):
        super().__init__(f"interrupted after {summary.scored + summary.failed} documents; {where}")
        self.summary = summary
        self.where = where
        self.signum = signum


class WorkerDied(Exception):
    """Worker processes of ``--jobs`` died while scoring :data:`MAX_DEATHS_IN_A_ROW` documents in a row,
    each alone (see :func:`_pooled`), or Ray actors died so (:mod:`service.ray_batch`): the batch stops
    as an interrupted one does; ``why`` says which died and how, ``summary`` how far it got."""

    def __init__(self, summary: Summary, where: str, why: str = WORKERS_DIED):
        super().__init__(f"{why}; stopped after {summary.scored + summary.failed} documents; {where}")
        self.summary = summary
        self.where = where
        self.why = why


class OutputFailed(Exception):
    """The output could not be written (a full disk, a file system gone read-only): the batch stops
    as an interrupted one does; ``why`` says what could not be written, ``summary`` how far it got."""

    def __init__(self, summary: Summary, where: str, why: str):
        super().__init__(f"{why}; stopped after {summary.scored + summary.failed} documents; {where}")
        self.summary = summary
        self.where = where
        self.why = why


class _CannotWrite(Exception):
    """An ``OSError`` of the writer (not a closed pipe, which the command line ends quietly); its
    message is the system's reason."""

    def __init__(self, error: OSError, path: Path | None = None):
        super().__init__(error.strerror or str(error))
        #: the file that could not be written, when it is not the one the writer writes (the
        #: output itself, which a run makes from a whole FILE.part at its end)
        self.path = path


class _GuardedWriter:
    """A :class:`Writer` whose write errors are told apart from the batch's other errors."""

    def __init__(self, writer: Writer):
        self.writer = writer
        self.needs_text = writer.needs_text

    def _call(self, method: Callable[..., None], *args: object) -> None:
        try:
            method(*args)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _CannotWrite(e) from e

    def begin(self) -> None:
        self._call(self.writer.begin)

    def write(self, o: Outcome) -> None:
        self._call(self.writer.write, o)

    def end(self, summary: Summary) -> None:
        self._call(self.writer.end, summary)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived during :func:`run`: it stops the batch as Ctrl-C does (see :func:`sigterm_stops`)."""


@contextmanager
def sigterm_stops() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt), so that it stops
    a batch as Ctrl-C does: workers stopped, ``OUTPUT.part`` kept. Only the main thread can take
    signals; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _stops_before_scoring() -> Iterator[None]:
    """Within the block (inputs read, an output to resume read), Ctrl-C or SIGTERM stops the run as
    it does while scoring: :class:`Interrupted`, with nothing scored (it had been click's "Aborted!",
    exit 1)."""
    try:
        with sigterm_stops():
            yield
    except KeyboardInterrupt as stopped:
        signum = signal.SIGTERM if isinstance(stopped, Terminated) else signal.SIGINT
        raise Interrupted(Summary(), "nothing was scored", signum) from None


def _stdin_file_id(stdin: io.BufferedIOBase | None) -> tuple[int, int] | None:
    """The identity (as :func:`_file_id`) of the regular file ``stdin`` (default: the process's
    standard input) reads, as in ``unspin score - < a.txt``; None when it reads no such file (a
    pipe, a terminal, a stream in memory)."""
    stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
    try:
        st = os.fstat(stream.fileno())  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):  # None, no file descriptor, closed
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def input_at(output: Path, inputs: Sequence[Path | None], stdin: io.BufferedIOBase | None = None) -> int | None:
    """The index of the input (a file's path, or None for standard input) that is the very file
    ``output`` names (also through another path or a link, or standard input redirected from it:
    ``stdin`` as :func:`_stdin_file_id` takes it), if any."""
    out = _file_id(output)
    if out is None:  # no such file yet: no input can be it
        return None
    return next((i for i, path in enumerate(inputs)
                 if (_file_id(path) if path is not None else _stdin_file_id(stdin)) == out), None)


def _input_name(src: Source) -> str:
    """How a clash with an output names the input."""
    return one_line(src.name) if src.path is not None else "-, standard input"


def _left_where(part: Path | None, fmt: str) -> str:
    """Where a run that stopped early left what it wrote: ``OUTPUT.part`` (and how to go on), or
    standard output."""
    if part is None:
        return "the output above is incomplete"
    return f"the documents done so far are in {part}" + (
        "; run the same command with --resume to continue" if fmt in RESUMABLE else "")


def run(
    options: BatchOptions,
    settings: Settings,
    *,
    stdin: io.BufferedIOBase | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> Summary:
    """Score every input and write the outputs; returns what happened.

    Without ``output`` records go to ``stdout``. With it they go to ``OUTPUT.part``, flushed
    after every document, which becomes ``OUTPUT`` when the run completes (also when some
    documents failed; a resumed run's records put in input order, see :func:`finish_output`):
    ``OUTPUT`` is never half-written. A run stopped by Ctrl-C, SIGTERM (see :func:`sigterm_stops`)
    or a crash leaves ``OUTPUT.part`` holding whole records (at most the last one torn);
    ``resume`` continues from it (see :func:`prepare_resume`).

    Raises:
        BatchError: bad options, such as an empty path, or an output that cannot be written or
            resumed (nothing was scored).
        Interrupted: on Ctrl-C or SIGTERM; ``OUTPUT.part`` is kept for ``--resume``.
        WorkerDied: worker processes of ``jobs`` died (killed, out of memory) scoring
            :data:`MAX_DEATHS_IN_A_ROW` documents in a row, each alone, or Ray actors died so many
            times in a row (scoring, or loading the engine); the same. A document whose worker died
            scoring it alone, fewer times in a row, is an error record (see :func:`_pooled`).
    """
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    fmt = options.format
    if any(not p for p in options.paths):
        raise BatchError("an empty path names no file; to score the current folder, name it '.'")
    if options.output is not None and (problem := output_problem(options.output)) is not None:
        raise BatchError(f"cannot write {display_name(options.output)}: {problem}")
    if options.resume and options.output is None:
        raise BatchError("--resume needs --output FILE: it continues that file")
    if options.resume and fmt not in RESUMABLE:
        raise BatchError(f"--resume works with --format {' or '.join(RESUMABLE)}, not {fmt}")
    if options.engine == "ray":
        for p in options.paths:
            if "://" in p:
                raise BatchError(
                    f"{p}: '--engine ray' scores local or shared-filesystem paths; for object-store URIs "
                    "use the Ray Data pipeline service.ray_batch.pipeline (see the README)"
                )

    with _stops_before_scoring():  # standard input read to its end, folders walked
        sources, empty = collect_inputs(options.paths, options.include, options.exclude, stdin=stdin,
                                        max_chars=settings.max_chars)
    paths = [src.path for src in sources]
    if options.output is not None and (i := input_at(options.output, paths, stdin)) is not None:
        raise BatchError(f"--output {display_name(options.output)} is also an input ({_input_name(sources[i])}): it "
                         "would be overwritten by the reports; write them elsewhere")
    if options.output is not None and (i := input_at(part_path(options.output), paths, stdin)) is not None:
        shown = _input_name(sources[i])
        raise BatchError(f"the run's partial output {display_name(part_path(options.output))} is also an input "
                         f"({shown}): the reports would be written into a document being scored; write them "
                         "outside the folders scored, or leave it out with --exclude '*.part'")
    if options.resume and (twins := _shared_name(sources)) is not None:
        raise BatchError(f"--resume tells documents apart by the name their records give them, and two inputs "
                         f"are both named '{one_line(twins)}' (a file name with bytes that are not UTF-8 is shown with "
                         "\\xNN escapes); rename one, or score them in separate runs")
    done: set[str] = set()
    appending = False
    part: Path | None = None
    out: TextIO = stdout
    if options.output is not None:
        part = part_path(options.output)
        try:
            if options.resume:
                with _stops_before_scoring():
                    done, appending = prepare_resume(options.output, fmt)
            out = open(part, "a" if appending else "w", encoding="utf-8", newline="")
        except OSError as e:
            failed = Path(e.filename) if isinstance(e.filename, str) else part
            raise BatchError(f"cannot write {display_name(failed)}: {e.strerror or e}") from None
    todo = [s for s in sources if s.name not in done]
    summary = Summary(total=len(sources), skipped=len(sources) - len(todo), empty_folders=empty)
    for folder in empty:  # before any record: a typo in a path or a glob shows at once
        print(f"{one_line(folder)}: error: {no_documents_message(options.include, options.exclude)}", file=stderr, flush=True)
    writer = _GuardedWriter(make_writer(fmt, out, appending=appending))
    show = progress_shown(stderr, options.progress)
    t0 = time.perf_counter()
    completed = refused = False
    try:
        with sigterm_stops():
            writer.begin()
            slots = second_look_bar(stderr) if show else None
            with closing(_outcomes(todo, settings, options, keep_text=writer.needs_text, progress=slots)) as outcomes:
                _consume(outcomes, writer, summary, stderr, show=show and len(todo) > 1)
            summary.seconds = round(time.perf_counter() - t0, 3)
            writer.end(summary)
            if part is not None:
                try:  # the last records may still be in the buffer: a full disk can refuse them here
                    out.close()
                except OSError as e:
                    raise _CannotWrite(e) from e
                try:
                    finish_output(part, options.output, fmt, [s.name for s in sources] if appending else None)
                except OSError as e:  # FILE.part is whole: --resume finishes it
                    raise _CannotWrite(e, options.output) from e
            completed = True
    except (KeyboardInterrupt, BrokenExecutor) as stopped:
        summary.seconds = round(time.perf_counter() - t0, 3)
        where = _left_where(part, fmt)
        if isinstance(stopped, BrokenExecutor):
            raise WorkerDied(summary, where, str(stopped) if isinstance(stopped, DiedInARow) else WORKERS_DIED) from None
        signum = signal.SIGTERM if isinstance(stopped, Terminated) else signal.SIGINT
        raise Interrupted(summary, where, signum) from None
    except _CannotWrite as e:
        summary.seconds = round(time.perf_counter() - t0, 3)
        name = display_name(e.path or part) if part is not None else "standard output"
        raise OutputFailed(summary, _left_where(part, fmt), f"cannot write {name}: {e}") from None
    except BatchError:  # the engine cannot start (on Ray's actors), no Ray cluster to join: nothing was scored
        refused = True
        raise
    finally:
        if part is not None and not completed:
            try:
                out.close()  # what reached the disk stays in FILE.part, for --resume
            except OSError:  # the bytes still buffered (a full disk): said above, by OutputFailed
                pass
            if refused and not appending and not (summary.scored or summary.failed):
                part.unlink(missing_ok=True)  # this run's own FILE.part, with no record to resume from
    return summary


def _shared_name(sources: Sequence[Source]) -> str | None:
    """The first name two of ``sources`` share (two files whose names :func:`display_name` shows
    alike), or None."""
    seen: set[str] = set()
    for src in sources:
        if src.name in seen:
            return src.name
        seen.add(src.name)
    return None


def _outcomes(
    todo: list[Source], settings: Settings, options: BatchOptions, *, keep_text: bool, progress: SlotProgress | None
) -> Generator[Outcome, None, None]:
    if options.engine == "ray":
        from service.ray_batch import score_on_ray

        return score_on_ray(
            todo, settings, actors=options.jobs, address=options.address,
            threshold=options.threshold, encoding=options.encoding, keep_text=keep_text,
        )
    return score_local(
        todo, settings, jobs=options.jobs or 1, threshold=options.threshold, encoding=options.encoding,
        keep_text=keep_text, progress=progress,
    )


def second_look_bar(stderr: TextIO) -> SlotProgress:
    """A progress bar on ``stderr`` over the slots the second look reads in one text, for
    :meth:`service.engine.Engine.score`'s ``progress``: a document of a thousand words may take
    minutes there, where a bar per document would stand still. It is cleared when the text is done
    (under the documents' bar, when one is shown); a text with no slot to read shows none."""
    from service.progress import bar

    def wrap(slots: Sequence) -> Iterable:
        if not slots:
            return slots
        return bar(slots, desc="second look", unit="slot", stream=stderr, show=True, leave=False)

    return wrap


def _consume(outcomes: Iterator[Outcome], writer: _GuardedWriter, summary: Summary, stderr: TextIO, *, show: bool) -> None:
    """Write every outcome, count it, report errors on stderr, drive the progress bar."""
    from service.progress import bar as progress_bar
    from service.progress import is_terminal

    total = summary.total - summary.skipped
    first_at, first_words = 0.0, 0  # words/s counts from the first result on (not the engine's load)
    redrawn = show and is_terminal(stderr)  # a bar drawn in place, which a message must not break into
    with progress_bar(total=total, unit="doc", stream=stderr, show=show, desc="scoring") as bar:
        for o in outcomes:
            writer.write(o)
            if o.ok:
                summary.scored += 1
                summary.words += o.report.stats.words
                summary.not_english += not o.report.language.english
            else:
                summary.failed += 1
                summary.failures.append(ErrorRecord(path=o.path, error=o.error or ""))
                msg = f"{one_line(o.path)}: error: {o.error}"
                if redrawn:
                    bar.write(msg, file=stderr)
                else:
                    print(msg, file=stderr, flush=True)
            now = time.perf_counter()
            if not first_at:
                first_at, first_words = now, summary.words
            elif now > first_at:
                bar.set_postfix_str(f"{(summary.words - first_words) / (now - first_at):,.0f} words/s", refresh=False)
            bar.update(1)


def summary_line(summary: Summary) -> str:
    """One line for stderr: what was scored, skipped and failed."""
    parts = [f"{summary.scored} of {summary.total} documents scored ({summary.words:,} words)"]
    if summary.not_english:
        n = summary.not_english
        parts.append(f"{n} not in English ({'its report says' if n == 1 else 'their reports say'} nothing about "
                     f"{'it' if n == 1 else 'them'})")
    if summary.skipped:
        parts.append(f"{summary.skipped} already in the output (skipped)")
    if summary.failed:
        parts.append(f"{summary.failed} of {summary.total} documents failed")
    if summary.empty_folders:
        n = len(summary.empty_folders)
        parts.append(f"{n} {'folder' if n == 1 else 'folders'} without documents to score")
    return "; ".join(parts)


__all__ = [
    "BatchError",
    "BatchOptions",
    "CSV_COLUMNS",
    "DiedInARow",
    "ErrorRecord",
    "FORMATS",
    "Interrupted",
    "Outcome",
    "one_line",
    "RESUMABLE",
    "Source",
    "Summary",
    "Terminated",
    "WorkerDied",
    "collect_inputs",
    "collect_sources",
    "display_name",
    "file_size",
    "finish_output",
    "format_listing",
    "is_folder",
    "in_input_order",
    "line_starts",
    "make_writer",
    "no_documents_message",
    "prepare_resume",
    "read_source",
    "run",
    "score_local",
    "score_source",
    "second_look_bar",
    "sigterm_stops",
    "summary_line",
]
