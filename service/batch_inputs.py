"""A batch's documents: which files, folders and standard input name, and their text.

* **Inputs** (:func:`collect_sources`): files, folders (walked recursively, hidden files and
  folders skipped, ``--include``/``--exclude`` globs) and ``-`` (stdin). Every document is
  scored once: the same file named twice, by whatever path, is one document. A folder that
  cannot be listed is an error record. A folder that yields no document is
  reported on stderr (:func:`no_documents_message`).
* **Reading** (:func:`read_source`, :func:`iter_parts`): UTF-8 with or without BOM, UTF-16/UTF-32
  with BOM, and a declared fallback encoding for bytes that are not UTF-8. Memory stays bounded: a
  file larger than ``UNSPIN_MAX_CHARS`` bytes is decoded as a stream and read in parts of at most
  ``UNSPIN_MAX_CHARS`` characters cut at paragraph breaks, so only one part is held at a time.
  Standard input is read whole, up to ``4 * UNSPIN_MAX_CHARS`` bytes (more is refused). Binary
  data (NUL, or more than 10 % control characters) is refused by the same rule at any size.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import sys
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Sequence

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

#: Files a folder walk picks up when no ``--include`` is given.
TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ""})
#: Most bytes one character can take in any accepted encoding (UTF-8, UTF-16, UTF-32).
MAX_BYTES_PER_CHAR = 4


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
