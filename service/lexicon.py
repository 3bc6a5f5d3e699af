"""User phrase lists of known spun -> original pairs ("tortured phrases").

Accepted files (UTF-8, optional BOM; ``#`` comments and blank lines ignored):

* the Problematic Paper Screener export: TSV with header ``tortured<TAB>expected``;
* any TSV or CSV ``spun,original`` with or without a header (the delimiter is sniffed: tab,
  then comma, then semicolon).

Several originals for one spun phrase are given either by repeating the spun phrase on several
lines or by separating them with ``|``. Entries are lower-cased with whitespace collapsed, and
matched against document tokens as ``service.text`` tokenizes them, so "Alzheimer’s illness"
in a document matches the entry "alzheimer's illness".
"""

from __future__ import annotations

import csv
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence, Union

from service.text import Token, tokenize

PathLike = Union[str, "os.PathLike[str]"]

_SPUN_HEADERS = frozenset({"tortured", "tortured phrase", "spun", "spun phrase", "phrase", "from", "source"})
_ORIGINAL_HEADERS = frozenset(
    {"expected", "expected phrase", "original", "originals", "original phrase", "replacement", "to", "target"}
)


class LexiconError(ValueError):
    """A phrase list cannot be read; the message names the file (and line)."""


@dataclass(frozen=True, slots=True)
class LexiconHit:
    """Lexicon entry ``spun`` found at ``tokens[first_token:last_token]`` (``last_token`` exclusive).

    ``exact`` is False when only a plural/singular variant of the last word matched. ``builtin``
    marks the hits the engine makes itself (:mod:`service.credits`), which it scores by their
    ``source``; a user's list is never builtin, whatever its file is called.
    """

    first_token: int
    last_token: int
    spun: str
    originals: tuple[str, ...]
    source: str
    exact: bool = True
    builtin: bool = False


@dataclass(slots=True)
class _Entry:
    spun: str
    originals: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def _normalise(phrase: str) -> str:
    return " ".join(phrase.lower().split())


_PLAIN_RE = re.compile(r"[^\W\d_]+(?: [^\W\d_]+)*")


def _key(phrase: str) -> tuple[str, ...]:
    """Token norms of a normalised phrase, tokenized like documents are."""
    if _PLAIN_RE.fullmatch(phrase):  # fast path: plain lower-case words
        return tuple(phrase.split())
    return tuple(t.norm for t in tokenize(phrase))


class Lexicon:
    """A set of spun phrases, each with its likely originals and the list it came from."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, ...], _Entry] = {}
        self._lengths: dict[str, list[int]] = {}  # first word -> entry lengths, longest first

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, phrase: object) -> bool:
        return isinstance(phrase, str) and _key(_normalise(phrase)) in self._entries

    def __repr__(self) -> str:
        return f"Lexicon({len(self)} entries)"

    def add(self, spun: str, originals: Iterable[str], source: str = "") -> None:
        """Add ``spun`` -> ``originals`` (merged with what is already there for ``spun``).

        Raises:
            ValueError: when ``spun`` has no tokens or no original is given.
        """
        spun = _normalise(spun)
        cleaned = [o for o in (_normalise(x) for x in originals) if o]
        key = _key(spun)
        if not key:
            raise ValueError(f"empty spun phrase {spun!r}")
        if not cleaned:
            raise ValueError(f"no original given for {spun!r}")
        self._merge(key, _Entry(spun, cleaned, [source] if source else []))

    def update(self, other: Lexicon) -> None:
        """Merge every entry of ``other`` into this lexicon."""
        for key, entry in other._entries.items():
            self._merge(key, entry)

    def _merge(self, key: tuple[str, ...], new: _Entry) -> None:
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(new.spun, [], [])
            entry = self._entries[key]
            lengths = self._lengths.setdefault(key[0], [])
            if len(key) not in lengths:
                lengths.append(len(key))
                lengths.sort(reverse=True)
        entry.originals.extend(o for o in new.originals if o not in entry.originals)
        entry.sources.extend(s for s in new.sources if s not in entry.sources)

    def lookup(self, phrase: str) -> tuple[str, ...]:
        """The originals recorded for ``phrase`` (empty when it is not in the lexicon)."""
        entry = self._entries.get(_key(_normalise(phrase)))
        return tuple(entry.originals) if entry else ()

    def match(self, tokens: Sequence[Token], usable: Callable[[int, int], bool] | None = None) -> list[LexiconHit]:
        """Every entry found in ``tokens``, left to right, longest match first, no overlaps.

        Matching is case-insensitive on token norms (curly apostrophes count as '). When no
        entry matches as written, the last word is also tried with a plural "s"/"es" removed or
        an "s" added (``exact=False``). With ``usable``, a match over ``tokens[first:last]`` counts
        only where ``usable(first, last)``: one the caller cannot use takes no tokens, so a shorter
        entry there, or one starting inside it, is found instead.
        """
        norms = [t.norm for t in tokens]
        hits: list[LexiconHit] = []
        i = 0
        n = len(norms)
        while i < n:
            hit = self._match_at(norms, i, usable) if norms[i] in self._lengths else None
            if hit is None:
                i += 1
                continue
            hits.append(hit)
            i = hit.last_token
        return hits

    def _match_at(self, norms: list[str], i: int, usable: Callable[[int, int], bool] | None) -> LexiconHit | None:
        for length in self._lengths[norms[i]]:
            if i + length > len(norms) or (usable is not None and not usable(i, i + length)):
                continue
            key = tuple(norms[i : i + length])
            for variant, exact in _variants(key):
                entry = self._entries.get(variant)
                if entry is not None:
                    return LexiconHit(
                        i, i + length, entry.spun, tuple(entry.originals), ",".join(entry.sources), exact
                    )
        return None


def _variants(key: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], bool]]:
    """``key`` as written, then with a plural/singular last word."""
    yield key, True
    last = key[-1]
    if not last.isalpha() or len(last) < 3:
        return
    if last.endswith("es"):
        yield key[:-1] + (last[:-2],), False
    if last.endswith("s") and not last.endswith("ss"):
        yield key[:-1] + (last[:-1],), False
    else:
        yield key[:-1] + (last + "s",), False


# --------------------------------------------------------------------------- loading


def _sniff_delimiter(lines: Sequence[tuple[int, str]]) -> str:
    sample = [text for _, text in lines[:50]]
    for delimiter in ("\t", ",", ";"):
        if any(delimiter in line for line in sample):
            return delimiter
    return "\t"


def _rows(path: Path, lines: Sequence[tuple[int, str]], delimiter: str) -> Iterable[tuple[int, list[str]]]:
    if delimiter == "\t":
        for lineno, line in lines:
            yield lineno, line.split("\t")
        return
    for lineno, line in lines:
        try:
            row = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True, strict=True))
        except csv.Error as exc:
            raise LexiconError(f"{path}:{lineno}: cannot parse CSV ({exc})") from None
        yield lineno, row


def load_lexicon(path: PathLike) -> Lexicon:
    """Read one phrase list (PPS export, TSV or CSV); entries remember the file stem as source.

    Raises:
        LexiconError: the file is missing or unreadable, or a line is not a spun/original pair.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read phrase list ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        lineno = data.count(b"\n", 0, exc.start) + 1
        raise LexiconError(f"{path}:{lineno}: not valid UTF-8 (byte offset {exc.start})") from None

    lines = [
        (n, line.rstrip("\r\n"))
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    lexicon = Lexicon()
    if not lines:
        return lexicon
    delimiter = _sniff_delimiter(lines)
    spun_col, orig_col = 0, 1
    rows = iter(_rows(path, lines, delimiter))
    for index, (lineno, row) in enumerate(rows):
        cells = [c.strip() for c in row]
        if index == 0 and len(cells) >= 2:
            lowered = [c.lower() for c in cells]
            spun_hits = [i for i, c in enumerate(lowered) if c in _SPUN_HEADERS]
            orig_hits = [i for i, c in enumerate(lowered) if c in _ORIGINAL_HEADERS]
            if spun_hits and orig_hits:
                spun_col, orig_col = spun_hits[0], orig_hits[0]
                continue
        if len(cells) <= max(spun_col, orig_col) or not cells[spun_col] or not cells[orig_col]:
            shown = "<TAB>" if delimiter == "\t" else delimiter
            raise LexiconError(
                f"{path}:{lineno}: expected two columns 'spun{shown}original', got {lines[index][1][:80]!r}"
            )
        try:
            lexicon.add(cells[spun_col], cells[orig_col].split("|"), path.stem)
        except ValueError as exc:
            raise LexiconError(f"{path}:{lineno}: {exc}") from None
    return lexicon


def load_lexicons(paths: str | PathLike | Sequence[PathLike] | None) -> Lexicon:
    """Load and merge several phrase lists.

    ``paths`` is a sequence of paths, or one string of paths separated by ``os.pathsep`` (as in
    ``UNSPIN_LEXICONS``); empty means an empty lexicon.

    Raises:
        LexiconError: as ``load_lexicon``, for the first file that fails.
    """
    if not paths:
        return Lexicon()
    if isinstance(paths, str):
        items: list[PathLike] = [p for p in (s.strip() for s in paths.split(os.pathsep)) if p]
    elif isinstance(paths, os.PathLike):
        items = [paths]
    else:
        items = list(paths)
    merged = Lexicon()
    for item in items:
        merged.update(_load_cached(item))
    return merged


_LOADED: dict[tuple[str, int, int], Lexicon] = {}
_LOADED_LOCK = threading.Lock()


def _load_cached(path: PathLike) -> Lexicon:
    """:func:`load_lexicon`, kept per file version (path, size, modification time): the settings
    check of ``UNSPIN_LEXICONS`` and the engine then read a list once. Never handed out itself
    (:func:`load_lexicons` merges it into a new lexicon); failures are not kept."""
    try:
        st = os.stat(path)
        key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    except (OSError, ValueError):
        return load_lexicon(path)  # raises the LexiconError that names the file
    with _LOADED_LOCK:
        cached = _LOADED.get(key)
    if cached is None:
        cached = load_lexicon(path)
        with _LOADED_LOCK:
            if len(_LOADED) >= 16:
                _LOADED.clear()
            _LOADED[key] = cached
    return cached


__all__ = ["Lexicon", "LexiconError", "LexiconHit", "load_lexicon", "load_lexicons"]
