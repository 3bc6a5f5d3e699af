"""User phrase lists of known spun -> original pairs ("tortured phrases").

Accepted files (UTF-8, optional BOM, at the start of any line too; ``#`` comments, whole lines or
after a line's cells, and blank lines ignored):

* the Problematic Paper Screener export: TSV with header ``tortured<TAB>expected``;
* any TSV or CSV ``spun,original`` with or without a header (the delimiter is the one of tab,
  comma and semicolon that splits the most lines into two cells, tab first on a tie; a cell
  quoted whole, as spreadsheets export a cell holding the delimiter or a quote, is unquoted).

Several originals for one spun phrase are given either by repeating the spun phrase on several
lines or by separating them with ``|``. Spun phrases are lower-cased with whitespace collapsed,
and matched against document tokens as ``service.text`` tokenizes them, so "Alzheimer’s illness"
in a document matches the entry "alzheimer's illness"; originals keep the capitals the list gives
them ("DNA damage"). When a phrase matches only with its last word in the other number
("surface regions" for the entry "surface region"), its originals are suggested in that number too
("surface areas").
"""

from __future__ import annotations

import csv
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Sequence, Union

import lemminflect

from service.text import Token, tokenize
from service.thesaurus import noun_head

PathLike = Union[str, "os.PathLike[str]"]

log = logging.getLogger(__name__)

#: words of a header cell naming the spun column ("tortured", "spun phrase", "tortured_phrase") and
#: the original's ("expected", "correct phrase", "meaning"); a first line whose two cells are made
#: of these words alone, each naming one side, is a header
_SPUN_HEADER_WORDS = frozenset({"tortured", "spun", "from", "source", "found", "suspect", "suspicious"})
_ORIGINAL_HEADER_WORDS = frozenset({"expected", "original", "originals", "replacement", "replacements", "to", "target",
                                    "correct", "correction", "corrected", "meaning", "suggestion", "suggested",
                                    "standard", "intended", "fix"})
_NEUTRAL_HEADER_WORDS = frozenset({"phrase", "phrases", "term", "terms", "word", "words", "text", "the", "form"})
#: header words of columns besides the two (an id, a note, a count)
_OTHER_HEADER_WORDS = frozenset({"id", "no", "number", "note", "notes", "comment", "comments", "count", "n", "doi",
                                 "paper", "papers", "category", "field", "example", "examples", "url"})


class LexiconError(ValueError):
    """A phrase list cannot be read; the message names the file (and line)."""


@dataclass(frozen=True, slots=True)
class LexiconHit:
    """Lexicon entry ``spun`` found at ``tokens[first_token:last_token]`` (``last_token`` exclusive).

    ``plural`` is None when the entry matched as written; True or False when only a plural or
    singular variant of its last word did (True: the text has the plural of the entry's word; then
    :attr:`exact` is False), and :attr:`suggestions` are the originals in that number. ``builtin`` marks the hits the engine
    makes itself (:mod:`service.credits`), which it scores by their ``source``; a user's list is
    never builtin, whatever its file is called.
    """

    first_token: int
    last_token: int
    spun: str
    originals: tuple[str, ...]
    source: str
    builtin: bool = False
    plural: bool | None = None
    #: True when the entry matched as one word joined by hyphens ("sign-to-commotion" for the entry
    #: "sign to commotion"): :attr:`suggestions` are then joined by hyphens too ("signal-to-noise")
    compound: bool = False

    @property
    def exact(self) -> bool:
        """Whether the entry matched as written (not only with its last word in the other number)."""
        return self.plural is None

    @property
    def suggestions(self) -> tuple[str, ...]:
        """The originals as they replace the matched words: in the number the text has, joined by
        hyphens where the text joins the phrase's words by hyphens (:attr:`compound`)."""
        if self.plural is None and not self.compound:
            return self.originals
        out: list[str] = []
        for o in self.originals:
            t = in_number(o, self.plural) if self.plural is not None else o
            t = t.replace(" ", "-") if self.compound else t
            if t.lower() not in (x.lower() for x in out):
                out.append(t)
        return tuple(out)


@dataclass(slots=True)
class _Entry:
    spun: str
    originals: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def _normalise(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def _collapse(phrase: str) -> str:
    return " ".join(phrase.split())


def in_number(phrase: str, plural: bool) -> str:
    """``phrase`` with its last word in the plural or the singular, when that word is the phrase's
    head (no preposition before it: "surface area" -> "surface areas", but "analysis of variance"
    stays, as the number a text gives a spun phrase's last word says nothing of a head before it).
    An acronym takes or loses a lower-case "s" ("ECG" -> "ECGs"); a word the inflection library
    does not know is left as it is."""
    words = phrase.split(" ")
    word = words[-1]
    if noun_head(words) != len(words) - 1 or not word.isalpha():
        return phrase
    if len(word) > 1 and word.isupper():  # an acronym
        form = word + "s" if plural else word
    elif len(word) > 2 and word[:-1].isupper() and word.endswith("s"):  # "ECGs"
        form = word if plural else word[:-1]
    else:
        lemma = lemminflect.getLemma(word.lower(), upos="NOUN")
        forms = lemminflect.getInflection(lemma[0], "NNS") if plural and lemma else lemma
        if not forms:
            return phrase
        form = forms[0] if not word[:1].isupper() else forms[0][:1].upper() + forms[0][1:]
    return " ".join(words[:-1] + [form])


_PLAIN_RE = re.compile(r"[^\W\d_]+(?: [^\W\d_]+)*")


@lru_cache(maxsize=65536)
def _key(phrase: str) -> tuple[str, ...]:
    """Token norms of a normalised phrase, tokenized like documents are (kept: a list's loading and
    its matches ask for the same phrases' keys again)."""
    if _PLAIN_RE.fullmatch(phrase):  # fast path: plain lower-case words
        return tuple(phrase.split())
    return tuple(t.norm for t in tokenize(phrase))


class Lexicon:
    """A set of spun phrases, each with its likely originals and the list it came from."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, ...], _Entry] = {}
        self._lengths: dict[str, list[int]] = {}  # first word (also without its hyphens) -> entry lengths, longest first
        self._unhyphened: dict[tuple[str, ...], tuple[str, ...]] = {}  # a key without hyphens -> the key
        #: (spun, an original) of the entries left out: each original holds the phrase itself (:meth:`add`),
        #: or the list gives the phrase as another entry's original (:func:`load_lexicon`)
        self.left_out: list[tuple[str, str]] = []

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
        cleaned = [o for o in (_collapse(x) for x in originals) if o]
        key = _key(spun)
        if not key:
            raise ValueError(f"empty spun phrase {spun!r}")
        if not cleaned:
            raise ValueError(f"no original given for {spun!r}")
        if any(_key(o.lower()) == key for o in cleaned):
            raise ValueError(f"the original of {spun!r} is the phrase itself")
        # an original holding the phrase ("neural network" -> "[neural network] layer outputs") is a
        # note about a right term, not what a spinner replaced: the entry would flag the right term
        kept = [o for o in cleaned if not _holds(_key(o.lower()), key)]
        if not kept:
            self.left_out.append((spun, cleaned[0]))
            return
        self._merge(key, _Entry(spun, kept, [source] if source else []))

    def update(self, other: Lexicon) -> None:
        """Merge every entry of ``other`` into this lexicon."""
        for key, entry in other._entries.items():
            self._merge(key, entry)

    def _merge(self, key: tuple[str, ...], new: _Entry) -> None:
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(new.spun, [], [])
            entry = self._entries[key]
            plain = _unhyphened(key)
            self._unhyphened.setdefault(plain, key)
            for first in {key[0], plain[0]}:
                lengths = self._lengths.setdefault(first, [])
                if len(key) not in lengths:
                    lengths.append(len(key))
                    lengths.sort(reverse=True)
        for o in new.originals:  # the first spelling of an original wins ("DNA damage", "dna damage")
            if o.lower() not in (x.lower() for x in entry.originals):
                entry.originals.append(o)
        entry.sources.extend(s for s in new.sources if s not in entry.sources)

    def lookup(self, phrase: str) -> tuple[str, ...]:
        """The originals recorded for ``phrase`` (empty when it is not in the lexicon)."""
        entry = self._entries.get(_key(_normalise(phrase)))
        return tuple(entry.originals) if entry else ()

    def match(self, tokens: Sequence[Token], usable: Callable[[int, int], bool] | None = None) -> list[LexiconHit]:
        """Every entry found in ``tokens``, left to right, longest match first, no overlaps.

        Matching is case-insensitive on token norms (curly apostrophes count as ') and blind to
        the hyphens inside words: "man-made intelligence" is found where a line break split
        "man-\nmade" and the text reads "manmade", and the other way round. When no
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
            lengths = self._lengths_at(norms[i])
            hit = self._match_at(norms, i, lengths, usable) if lengths else None
            if hit is None:
                i += 1
                continue
            hits.append(hit)
            i = hit.last_token
        return hits

    def _lengths_at(self, word: str) -> list[int]:
        """The lengths of the entries that can start at ``word``: those starting with it, and a
        one-word entry that is its other number ("masses" for the entry "mass")."""
        lengths = self._lengths.get(word, [])
        if "-" in word and (more := self._lengths.get(word.replace("-", ""))):
            lengths = sorted({*lengths, *more}, reverse=True)
        if 1 not in lengths and (parts := _compound_parts(word)) and len(parts) in self._lengths.get(parts[0], ()):
            lengths = [*lengths, 1]
        if 1 not in lengths and any(1 in self._lengths.get(v[0], ()) for v, _ in list(_variants((word,)))[1:]):
            lengths = [*lengths, 1]
        return lengths

    def _match_at(self, norms: list[str], i: int, lengths: Sequence[int],
                  usable: Callable[[int, int], bool] | None) -> LexiconHit | None:
        for length in lengths:
            if i + length > len(norms) or (usable is not None and not usable(i, i + length)):
                continue
            key = tuple(norms[i : i + length])
            keys = [(key, False)]
            if length == 1 and (parts := _compound_parts(key[0])):
                keys.append((parts, True))
            for words, compound in keys:
                for variant, plural in _variants(words):
                    entry = self._entries.get(variant)
                    if entry is None and not compound and (written := self._unhyphened.get(_unhyphened(variant))):
                        entry = self._entries[written]
                    if entry is None:
                        continue
                    hit = LexiconHit(i, i + length, entry.spun, tuple(entry.originals), ",".join(entry.sources),
                                     plural=plural, compound=compound)
                    # an entry whose original, in the number the text has, is the text itself ("smart
                    # devices" for the entry "smart device" -> "smart devices") has nothing to say here
                    if any(_key(o.lower()) != key for o in hit.suggestions):
                        return hit
        return None


def _holds(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Whether ``phrase`` is a run of ``words``."""
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def _compound_parts(word: str) -> tuple[str, ...] | None:
    """The words of ``word`` joined by hyphens ("sign-to-commotion" -> ("sign", "to", "commotion")),
    or None for a word without such a join."""
    if "-" not in word or len(word) < 3:
        return None
    parts = tuple(word.split("-"))
    return parts if all(parts) else None


def _unhyphened(key: tuple[str, ...]) -> tuple[str, ...]:
    """``key`` with the hyphens inside its words left out ("man-made" -> "manmade")."""
    return tuple(w.replace("-", "") if len(w) > 1 else w for w in key)


def _variants(key: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], bool | None]]:
    """``key`` as written (None), then with a plural/singular last word: True where the text has
    the plural of the entry's word, False where it has the singular."""
    yield key, None
    last = key[-1]
    if not last.isalpha() or len(last) < 3:
        return
    if last.endswith("es"):
        yield key[:-1] + (last[:-2],), True
    if last.endswith("s") and not last.endswith("ss"):
        yield key[:-1] + (last[:-1],), True
    else:
        yield key[:-1] + (last + "s",), False
        if last.endswith(("s", "x", "z", "ch", "sh")):  # "mass" -> "masses", "box" -> "boxes"
            yield key[:-1] + (last + "es",), False


# --------------------------------------------------------------------------- loading

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _tab_cells(line: str) -> list[str]:
    return [_unquoted(c) for c in line.split("\t")]


def _cells(line: str, delimiter: str) -> list[str]:
    """One line's cells, leniently (for choosing the delimiter)."""
    if delimiter == "\t":
        return _tab_cells(line)
    try:
        return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))
    except (csv.Error, StopIteration):
        return []


_DELIMITERS = ("\t", ",", ";")


def _sniff_delimiter(lines: Sequence[tuple[int, str]]) -> str:
    """The delimiter of tab, comma and semicolon that splits the most of the first 50 lines into
    two or more cells with the first two not empty; on a tie, the one giving more of them the same
    number of cells, then the one less often followed by a space (as commas in prose are); then
    tab, comma, semicolon in that order. So a semicolon list whose phrases hold commas is not
    split at its commas."""
    sample = [text for _, text in lines[:50]]

    def score(delimiter: str) -> tuple[int, int, int, int]:
        split = [[x.strip() for x in _cells(line, delimiter)] for line in sample]
        usable = sum(1 for c in split if len(c) >= 2 and c[0] and c[1])
        counts = [len(c) for c in split]
        same = max(counts.count(n) for n in set(counts)) if counts else 0
        # a comma in prose has a space after it ("big, huge data;large data"); a delimiter seldom does
        spaced = sum(line.count(delimiter + " ") for line in sample)
        return usable, same, -spaced, -_DELIMITERS.index(delimiter)

    return max(_DELIMITERS, key=score)


_COMMENT_RE = re.compile(r"\s#")


def _without_comment(line: str) -> str:
    """A list line without its trailing comment: a "#" after whitespace, outside a quoted cell, and
    all after it ("big data<TAB>huge data  # from the 2021 paper" -> "big data<TAB>huge data"). A
    "#" inside a word ("C#") or a quoted cell stays."""
    for m in _COMMENT_RE.finditer(line):
        if not _in_quoted_cell(line, m.start()):
            return line[: m.start()].rstrip()
    return line


def _in_quoted_cell(line: str, end: int) -> bool:
    """Whether ``line[end]`` is inside a cell quoted whole: a quotation mark opens one only at a
    cell's start (the line's, or after a tab, comma or semicolon, spaces allowed), so an inch mark
    ('5" screen') opens none; a doubled one inside stands for one."""
    inside, cell_start, i = False, True, 0
    while i < end:
        c = line[i]
        if inside:
            if c == '"':
                if line[i + 1 : i + 2] == '"':
                    i += 1
                else:
                    inside = False
        elif c == '"' and cell_start:
            inside = True
        elif c in "\t,;":
            cell_start = True
        elif not c.isspace():
            cell_start = False
        i += 1
    return inside


def _unquoted(cell: str) -> str:
    """A tab-separated cell quoted whole, as spreadsheets export a cell holding a quote or a
    delimiter (``"big, huge data"``, ``"the ""so-called"" gap"``), without its quotes."""
    c = cell.strip()
    if len(c) >= 2 and c[0] == c[-1] == '"' and '"' not in c[1:-1].replace('""', ""):
        return c[1:-1].replace('""', '"')
    return cell


def _is_header(cells: Sequence[str]) -> tuple[int, int] | None:
    """The (spun, original) columns a first line names, when it is a header: every cell made of
    header words alone, one naming the spun side and another the original's (``id,spun,original``;
    ``Expected<TAB>Tortured``; ``phrase;replacement``, where a neutral "phrase" is the other side);
    None otherwise."""
    sides = []
    for cell in cells:
        words = set(re.split(r"[\s_\-]+", cell.lower().strip())) - {""}
        if not words:
            return None
        sides.append((words <= _SPUN_HEADER_WORDS | _ORIGINAL_HEADER_WORDS | _NEUTRAL_HEADER_WORDS | _OTHER_HEADER_WORDS,
                      bool(words & _SPUN_HEADER_WORDS), bool(words & _ORIGINAL_HEADER_WORDS),
                      words <= _NEUTRAL_HEADER_WORDS))
    if not all(known for known, _, _, _ in sides):
        return None
    spun = [i for i, (_, s, o, _) in enumerate(sides) if s and not o]
    orig = [i for i, (_, s, o, _) in enumerate(sides) if o and not s]
    neutral = [i for i, (_, _, _, n) in enumerate(sides) if n]
    if not spun and orig and neutral:  # "phrase;replacement": the phrase is the spun one
        spun = [i for i in neutral if i != orig[0]]
    if not orig and spun and neutral:  # "spun;phrase"
        orig = [i for i in neutral if i != spun[0]]
    if spun and orig and spun[0] != orig[0]:
        return spun[0], orig[0]
    return None


def _rows(path: Path, lines: Sequence[tuple[int, str]], delimiter: str) -> Iterable[tuple[int, list[str]]]:
    if delimiter == "\t":
        for lineno, line in lines:
            yield lineno, _tab_cells(line)
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
        lineno = len(_LINE_BREAK.split(data[: exc.start].decode("utf-8", "replace")))
        raise LexiconError(f"{path}:{lineno}: not valid UTF-8 (byte offset {exc.start})") from None

    # lines end at \n, \r\n or \r only, as an editor numbers them (not at form feeds or U+2028)
    lines = [
        (n, line)
        # a BOM starting a later line too: lists joined with cat, each with its own
        for n, line in ((n, _without_comment(line.lstrip("\ufeff")))
                        for n, line in enumerate(_LINE_BREAK.split(text), start=1))
        if line.strip() and not line.lstrip().startswith("#")
    ]
    lexicon = Lexicon()
    if not lines:
        return lexicon
    delimiter = _sniff_delimiter(lines)
    spun_col, orig_col = 0, 1
    header = False
    rows = iter(_rows(path, lines, delimiter))
    pairs: list[tuple[int, str, list[str]]] = []  # line number, spun, originals
    for index, (lineno, row) in enumerate(rows):
        cells = [c.strip() for c in row]
        if index == 0 and len(cells) >= 2 and (columns := _is_header(cells)) is not None:
            spun_col, orig_col = columns
            header = True
            continue
        shown = "<TAB>" if delimiter == "\t" else delimiter
        if len(cells) <= max(spun_col, orig_col) or not cells[spun_col] or not cells[orig_col]:
            raise LexiconError(
                f"{path}:{lineno}: expected two columns 'spun{shown}original', got {lines[index][1][:80]!r}"
            )
        if not header and any(cells[2:]):  # a third cell would be left out without a word
            raise LexiconError(
                f"{path}:{lineno}: expected two columns 'spun{shown}original', got a third cell in "
                f"{lines[index][1][:80]!r} (several originals go in one cell, separated by '|'; other "
                "columns need a header line naming the spun and original ones)"
            )
        pairs.append((lineno, cells[spun_col], cells[orig_col].split("|")))
    # a phrase the list gives as another entry's original is a right term: its own entry would flag it
    rights: dict[tuple[str, ...], set[int]] = {}  # an original's words -> the lines giving it
    for lineno, _, originals in pairs:
        for o in (_collapse(x) for x in originals):
            rights.setdefault(_key(o.lower()), set()).add(lineno)
    contradicted: list[tuple[str, str]] = []
    for lineno, spun, originals in pairs:
        key = _key(_normalise(spun))
        own = {_key(_collapse(o).lower()) for o in originals}  # the phrase as its own original: refused below
        if key not in own and rights.get(key, {lineno}) - {lineno}:
            contradicted.append((_normalise(spun), _collapse(originals[0])))
            continue
        try:
            lexicon.add(spun, originals, path.stem)
        except ValueError as exc:
            raise LexiconError(f"{path}:{lineno}: {exc}") from None
    for why, left in (("whose originals hold the phrase itself", lexicon.left_out),
                      ("whose phrase the list gives as another entry's original", contradicted)):
        if left:
            log.warning("%s: %d %s left out, %s (%r -> %r): they would flag the right term", path, len(left),
                        "entry" if len(left) == 1 else "entries", why, *left[0])
    lexicon.left_out.extend(contradicted)
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


__all__ = ["Lexicon", "LexiconError", "LexiconHit", "in_number", "load_lexicon", "load_lexicons"]
