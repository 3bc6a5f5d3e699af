"""Segmentation with exact offsets.

``segment`` splits a text (the one string :func:`service.decoding.decode` made of the bytes) into
sentences (and heading, caption, byline lines) of tokens. Every ``Token`` and ``Sentence`` offset
is a Unicode code-point offset into the string given to ``segment``, so
``text[t.start:t.end] == t.text`` always holds; nothing is ever cleaned or rewritten.

Segmentation has two layers:

1. *Reflow* (ours): the text is cut into blocks. A blank line always ends a block. In text with
   one paragraph per line (most lines long, none continuing in lower case) each line is a block.
   In hard-wrapped text a single newline is whitespace, except around short stand-alone lines
   (headings, bylines, "@ Newsweek") and before caption lines ("FILE PHOTO: ...").
2. *Sentences and tokens* (syntok): each block is tokenized and split into sentences by syntok;
   a sentence it ends mid-clause goes on (after ",;:" or before lower case, and after a title or
   section abbreviation before its name or number: "Rep. John Dingell", "Sec. 12"). Its tokens
   are then adjusted: contractions and possessives are rejoined ("don't", "O'Connor", "Trump's"),
   hyphenated compounds are one token ("year-end"; syntok keeps the hyphen out of its tokens),
   "U.S" + "." is "U.S.", and glued tokens are split ("go—now", "REUTERS/Damir", "said:the",
   "Corp<NAV>", "in2001", "24,2017").
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator, Literal, Sequence

from syntok.segmenter import segment as _syntok_segment
from syntok.tokenizer import Tokenizer as _SyntokTokenizer

from service.homoglyphs import latin_words

SentenceKind = Literal["prose", "heading", "caption", "byline", "other"]


# --------------------------------------------------------------------------- data types

_L = r"[^\W\d_]"  # one letter
#: combining marks (an accent written as its own code point after its letter, as in decomposed
#: "café"): part of the letter before them, never a token or a span boundary of their own
_M = "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
_LM = rf"{_L}{_M}*"  # a letter with its marks
_WORD_PART = rf"(?:(?:{_LM}\.)+{_LM}\.?|(?:{_LM})+)"  # "U.S.", "p.m", or a run of letters
#: what is written for an apostrophe inside a word: the typewriter one, the curly one (’), the
#: modifier letter (ʼ), and the look-alikes typed for it ("company´s", "don`t", "O′Brien"): acute
#: accent, prime, backtick, modifier prime, reversed comma, fullwidth apostrophe. Between letters
#: the look-alikes read as ' (:func:`as_read`); ’ and ʼ read as ' in ``Token.norm``.
_TYPED_APOSTROPHES = "´′`ʹ‛＇"
APOSTROPHES = "'’ʼ" + _TYPED_APOSTROPHES
_INNER_APOSTROPHE_RE = re.compile(rf"(?<={_L})(?<![{APOSTROPHES}])[{_TYPED_APOSTROPHES}](?={_L})")
_WORD_RE = re.compile(rf"{_WORD_PART}(?:[-‐‑{APOSTROPHES}]{_WORD_PART})*")
_NUMBER_RE = re.compile(r"\d+(?:[.,:/]\d+)*(?:st|nd|rd|th|s)?")
#: invisible format characters that may sit inside a word without ending it: soft hyphen (U+00AD),
#: zero-width space (U+200B), zero-width non-joiner and joiner (U+200C, U+200D), left-to-right and
#: right-to-left marks (U+200E, U+200F), word joiner (U+2060), text and emoji variation selectors
#: (U+FE0E, U+FE0F) and the BOM used as one (U+FEFF). They stay in a token's text (offsets are
#: exact) and are dropped from what the models read ("pro\u00adfits" reads as "profits"); a soft
#: hyphen at a line end stays, as the mark of a word broken there (:data:`_BREAK_RE`).
INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufe0e\ufe0f\ufeff"
#: what ends a line: the line feed, the carriage return, and what Python's ``str.splitlines`` also
#: takes for a line break (a vertical tab, a form feed, the file, group and record separators,
#: the next-line control, the line and paragraph separators)
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAK_RE = re.compile(f"[{LINE_BREAKS}]")
#: the line breaks other than \n and \r, read as \n (the sentence encoder's tokenizer drops them as
#: control characters, which glued the words either side together)
_OTHER_BREAKS_AS_NEWLINE = str.maketrans(dict.fromkeys(LINE_BREAKS[2:], "\n"))
_INVISIBLE_RE = re.compile(f"(?:[{INVISIBLE.replace(chr(0xad), '')}]|\u00ad(?![ \t]*[{LINE_BREAKS}]))+")
_NORM_TABLE = str.maketrans({"’": "'", "ʼ": "'", "‐": "-", "‑": "-"})
_MARKS_RE = re.compile(rf"{_M}+")


#: the fullwidth forms of ASCII punctuation and digits (U+FF01-U+FF5E but the letters) that an East
#: Asian input method types ("U．S．", "57．3", "rose，analysts", "left．Then", "２０１９"), and the
#: ideographic comma and full stop: read as the ASCII characters they stand for, one code point for
#: one, so that every offset stays. Fullwidth letters are look-alikes, read (and reported) by
#: :mod:`service.homoglyphs`; the fullwidth apostrophe reads as one between letters only (:data:`APOSTROPHES`).
_HALFWIDTH_TABLE = str.maketrans(
    {**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F) if not chr(c).isalpha() and c != 0xFF07},
     "\u3001": ",", "\u3002": "."}
)


def halfwidth(text: str) -> str:
    """``text`` with fullwidth punctuation and digits as ASCII (:data:`_HALFWIDTH_TABLE`), of the same length."""
    return text.translate(_HALFWIDTH_TABLE) if not text.isascii() else text


def visible(text: str) -> str:
    """``text`` without the invisible format characters of :data:`INVISIBLE`."""
    return _INVISIBLE_RE.sub("", text) if not text.isascii() else text


#: the Latin ligatures of Unicode's Alphabetic Presentation Forms (U+FB00-U+FB06) and the letters
#: they join, as text copied from a PDF holds them ("signiﬁcant", "oﬃcials")
LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"}
_LIGATURE_TABLE = str.maketrans(LIGATURES)
_LIGATURE_RE = re.compile(f"[{''.join(LIGATURES)}]")


def spelled_out(text: str) -> str:
    """``text`` with its ligatures (:data:`LIGATURES`) written as the letters they join."""
    return text.translate(_LIGATURE_TABLE) if not text.isascii() else text


#: two apostrophes typed for a closing quotation mark (not inside a word: "company''s" is a typo)
_CLOSING_TICKS_RE = re.compile(rf"''(?!{_L})")
_STRAIGHT_QUOTES = str.maketrans({**dict.fromkeys("“”„‟«»", '"'), **dict.fromkeys("‘’‚‛‹›", "'")})


def straight_quotes(text: str) -> str:
    """``text`` with quotation marks and apostrophes of any shape as the straight ones, the doubled
    ones of typewritten text (two backticks, two apostrophes) too: the detector and the corrector
    learned from newswire typed with straight ones alone. Of the same length, each offset pointing
    at the same word."""
    if text.isascii() and "`" not in text and "''" not in text:
        return text
    return _CLOSING_TICKS_RE.sub('" ', text.translate(_STRAIGHT_QUOTES).replace("``", ' "'))


#: the Unicode categories of the characters :func:`symbols_as_spaces` reads as spaces: symbols
#: (emoji, ™, ©, →, ±, €), private-use, surrogate and unassigned code points
_SYMBOL_CATEGORIES = frozenset({"So", "Sm", "Sc", "Co", "Cs", "Cn"})


def symbols_as_spaces(text: str) -> str:
    """``text`` with each symbol outside ASCII (emoji, ™, ©, →, ±, €: :data:`_SYMBOL_CATEGORIES`)
    as a space, of the same length. The sentence encoder's tokenizer splits a word from punctuation
    but not from such a symbol: "🚀stick" or "efforts👍" was one unknown piece, so the word
    itself went unread (the detector took it for a replaced word)."""
    if text.isascii():
        return text
    return "".join(" " if not c.isascii() and unicodedata.category(c) in _SYMBOL_CATEGORIES else c for c in text)


#: the hyphens a word broken at the end of a line may end in: the hyphen-minus, the hyphen
#: (U+2010), the non-breaking hyphen (U+2011) and the soft hyphen (U+00AD, never kept)
LINE_END_HYPHENS = "-\u2010\u2011\u00ad"
#: the hyphen and the line break of a word broken at the end of a line
_BREAK_RE = re.compile(rf"[{LINE_END_HYPHENS}][ \t]*(?:\r\n|[{LINE_BREAKS}])[ \t]*")
#: a word broken at the end of a line by a hyphen ("signif-\nicant", "well-\nknown"): the letters
#: before the hyphen, and the lower-case letters that go on on the next line; not a suspended
#: hyphen before a conjunction ("pre-\nand post-war"). The tokenizer joins such a word into one
#: token (:func:`_merge`) and :func:`as_read` makes it whole, both by this pattern.
_BROKEN_RE = re.compile(rf"({_L}+){_BREAK_RE.pattern}(?!(?:and|or|nor)\b)([a-z]{_L}*)")
#: :data:`_BROKEN_RE` tried only where a word starts, which finds the same words: without it a
#: search tries every letter of a long run of letters as a start (time quadratic in the run's length)
_BROKEN_WORD_RE = re.compile(rf"(?<!{_L}){_BROKEN_RE.pattern}")


@lru_cache(maxsize=4096)
def _hyphen_kept(before: str, after: str) -> bool:
    """Whether a word broken at a line end as ``before``-``after`` keeps its hyphen: not when the
    two halves make one word of the CMU Pronouncing Dictionary ("signif" + "icant"), else yes
    ("well-known", "long-term", and halves of words the dictionary lacks)."""
    from service.articles import load_pronunciations  # read only when a text has such a word

    return spelled_out(before + after).lower() not in load_pronunciations()


def as_read(text: str) -> tuple[str, list[int] | None]:
    """``text`` as the models read it, and where each of its characters comes from in ``text``.

    Words broken by a hyphen at a line end are made whole ("signif-\\nicant" as "significant",
    "well-\\nknown" as "well-known": see :func:`_hyphen_kept`), ligatures are spelled out
    (:func:`spelled_out`: "signiﬁcant" reads as "significant"), words disguised with
    look-alike letters are written in Latin ones (:func:`service.homoglyphs.latin_words`) and a
    character typed for an apostrophe between letters reads as one ("company´s" as "company's":
    see :data:`APOSTROPHES`), and an HTML character reference left in pasted text reads as the
    character it stands for ("strategy &amp; plans" as "strategy & plans"). The second item maps
    each offset of the text read (and its length) to the offset in ``text`` of the character it
    comes from; None when the text read has ``text``'s offsets. Every line break
    (:data:`LINE_BREAKS`) reads as \\n."""
    lines = _LINE_BREAK_RE.search(text) is not None
    if text.isascii() and not lines and "`" not in text and "&" not in text:  # most tokens and sentences: nothing to do
        return text, None
    read = _INNER_APOSTROPHE_RE.sub("'", halfwidth(latin_words(text)))
    if lines:
        read = read.translate(_OTHER_BREAKS_AS_NEWLINE)
    breaks = list(_BROKEN_WORD_RE.finditer(read)) if lines else []
    if not breaks and _LIGATURE_RE.search(read) is None and _ENTITY_RE.search(read) is None:
        return read, None
    out: list[str] = []
    back: list[int] = []

    def put(a: int, b: int) -> None:  # read[a:b], ligatures spelled out, character references decoded
        i = a
        while i < b:
            m = _reference(read, i, b) if read[i] == "&" else None
            letters = html.unescape(m.group()) if m is not None else LIGATURES.get(read[i], read[i])
            out.append(letters)
            back.extend([i] * len(letters))
            i = m.end() if m is not None else i + 1

    pos = 0
    for m in breaks:
        put(pos, m.end(1))
        if read[m.end(1)] != "\u00ad" and _hyphen_kept(m[1], m[2]):
            out.append("-")
            back.append(m.end(1))
        pos = m.start(2)
    put(pos, len(read))
    back.append(len(text))
    return "".join(out), back


@dataclass(frozen=True, slots=True)
class Token:
    """A token: ``text`` is exactly ``source[start:end]`` (code-point offsets)."""

    start: int
    end: int
    text: str

    @property
    def norm(self) -> str:
        """Lower case, composed (NFC: a decomposed "café" reads as the composed one), with curly
        apostrophes (’) as ' and Unicode hyphens as -, without invisible format characters (a soft
        hyphen, a zero-width space: see :data:`INVISIBLE`); and as :func:`as_read` reads it:
        ligatures spelled out ("proﬁts" reads as "profits": :data:`LIGATURES`), a word disguised
        with look-alike letters in Latin ones ("bаnk" with a Cyrillic а, "ｂａｎｋ" in fullwidth
        letters read as "bank": see :mod:`service.homoglyphs`), a character typed for an apostrophe
        as one ("company´s": :data:`APOSTROPHES`) and a word broken at a line end by a hyphen whole."""
        text = self.text if self.text.isascii() else unicodedata.normalize("NFC", visible(self.text))
        return as_read(text)[0].lower().translate(_NORM_TABLE)

    @property
    def is_word(self) -> bool:
        """An alphabetic word, possibly with inner apostrophes/hyphens ("don't", "year-end", "U.S."),
        also one broken at a line end by a hyphen ("signif-\\nicant")."""
        text = halfwidth(visible(self.text))
        if _LINE_BREAK_RE.search(text):
            text = _BREAK_RE.sub("-", text)
        return _WORD_RE.fullmatch(text) is not None

    @property
    def is_entity(self) -> bool:
        """An HTML character reference left in the text ("&amp;", "&#8217;"): markup, neither a word
        nor a number, read by no model."""
        return (m := _reference(self.text, 0)) is not None and m.end() == len(self.text)

    @property
    def is_number(self) -> bool:
        """A number such as "17.3", "2,000", "6:30", "1990s" or "21st"."""
        return _NUMBER_RE.fullmatch(halfwidth(visible(self.text))) is not None

    @property
    def is_capitalized(self) -> bool:
        """The first character is upper case."""
        return self.text[:1].isupper()

    @property
    def is_upper(self) -> bool:
        """More than one letter, all upper case ("FINANCIAL", "U.S.")."""
        letters = [c for c in self.text if c.isalpha()]
        return len(letters) > 1 and all(c.isupper() for c in letters)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence or a stand-alone line; ``start``/``end`` span its first to its last token.

    ``text`` is ``source[start:end]`` (hard-wrap newlines included, as written).

    ``kind`` is "prose", "heading" ("World News"), "caption" ("FILE PHOTO: ..."), "byline"
    ("By", "Tom O'Connor", "Reporting by X; Editing by Y") or "other" ("@ Newsweek").
    """

    start: int
    end: int
    tokens: tuple[Token, ...]
    kind: SentenceKind = "prose"
    text: str = ""  # exactly source[start:end]; always filled by ``segment``

    def words(self) -> list[Token]:
        """The tokens that are words (see ``Token.is_word``)."""
        return [t for t in self.tokens if t.is_word]


def in_capitals(words: Iterable[Token]) -> bool:
    """Whether no word of ``words`` holds a lower-case letter (a line or a text typed in capitals)."""
    return not any(c.islower() for t in words for c in t.text)


#: Words a line in Title Case may leave in lower case.
_TITLE_SMALL = frozenset({"and", "of"})


def recased_credit_line(words: Sequence[str]) -> bool:
    """Whether a credit line of these ``words`` is typed so that its capitals mark neither roles nor
    names: in capitals ("REPORTING BY JOSH SMITH"), or in Title Case holding "By" ("Reporting By
    Josh Smith; Editing By Lincoln Feast": each word with a letter opens with a capital, but "and",
    "of")."""
    lettered = [w for w in words if any(c.isalpha() for c in w)]
    if not any(c.islower() for w in lettered for c in w):
        return bool(lettered)
    return "By" in lettered and all(w[0].isupper() or w in _TITLE_SMALL for w in lettered)


# --------------------------------------------------------------------------- tokens

_SYNTOK = _SyntokTokenizer(replace_not_contraction=False)
_CLITIC_RE = re.compile(rf"(?:n[{APOSTROPHES}]t|[{APOSTROPHES}]{_L}+)")
_ABBR_NO_DOT_RE = re.compile(rf"(?:{_L}\.)+{_L}")
_HYPHENS = frozenset("-‐‑_")
#: what cuts a glued token: a dash or ellipsis inside it, "A/B", a colon after a word before a
#: word, number or opening quote ("said:the", "NOTE:1986", 'said:"We'; "10:30" and "http://" stay
#: whole), and the angle brackets of a ticker (capitals) glued to a name ("Navistar International
#: Corp<NAV>", "CNG>UNIT"; "<b>bold" and "script>alert" stay as they were)
_OPENING_QUOTE = "[\"“‘']"
_SPLIT_RE = re.compile(
    rf"[—–―…]|(?<={_L})/(?={_L})"
    rf"|(?<={_L}{_L}):(?=[^\W_]|{_OPENING_QUOTE})|(?<={_L}{_L}:){_OPENING_QUOTE}(?={_L})"
    rf"|(?<={_L})<(?=[A-Z])|(?<=[A-Z.])>(?=[^\W_])"
)
#: an HTML character reference left in pasted text ("&amp;", "&quot;", "&#8217;", "&#x2019;")
_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_GLUED_NUMBER_RE = re.compile(r"([a-z]{2,})(\d{2,})")
_BAD_GROUPING_RE = re.compile(r"\d{1,3}(?:,\d+)+")


def _reference(text: str, i: int, end: int | None = None) -> re.Match[str] | None:
    """The HTML character reference at ``text[i]`` (ending by ``end``), when it is one that stands
    for a character ("&amp;", "&#8217;"; not "&foo;")."""
    m = _ENTITY_RE.match(text, i)
    if m is None or (end is not None and m.end() > end) or html.unescape(m.group()) == m.group():
        return None
    return m


def _syntok_sentences(text: str, start: int, end: int) -> Iterator[list[tuple[int, int]]]:
    """syntok's sentences of ``text[start:end]`` as lists of absolute (start, end) token spans.

    syntok sometimes ends a sentence mid-clause ("SEOUL (Reuters) | – A proposal",
    "Reporting by X; | Editing by Y"); such a piece is joined to the piece that follows when it
    ends in ",;:" or a dash, or the next piece starts in lower case or with a dash.
    """
    pending: list[tuple[int, int]] = []
    for spans in _syntok_pieces(text, start, end):
        if pending and _continues(text, pending, spans):
            pending.extend(spans)
            continue
        if pending:
            yield pending
        pending = list(spans)
    if pending:
        yield pending


#: abbreviations syntok ends a sentence after that stand before a name ("by Rep. John Dingell",
#: "Marine Lt. Col. Oliver North", "Wm. Sword and Co"), compared in lower case
_BEFORE_NAMES = frozenset({
    "rep", "reps", "sens", "gov", "govs", "lt", "sgt", "cpl", "pvt", "cmdr", "supt", "atty", "rev",
    "hon", "ste", "wm", "chas", "thos", "jas", "geo", "robt",
})
#: abbreviations syntok ends a sentence after that stand before a number ("Sec. 12", "pp. 4-9",
#: "Sept. 11-12 drop"), compared in lower case
_BEFORE_NUMBERS = frozenset({
    "sec", "secs", "sect", "ref", "refs", "eq", "eqs", "p", "pp", "ch", "chap", "para", "paras", "nos",
    "art", "arts", "sept",
})
#: names that are one with the abbreviation before them ("Alex. Brown and Sons", the firm)
_NAMED_AFTER = {"alex": "Brown"}


def _abbreviation_goes_on(text: str, before: list[tuple[int, int]], after: list[tuple[int, int]]) -> bool:
    """Whether ``before`` ends in an abbreviation and its full stop that ``after`` goes on from: a
    title and the name after it (:data:`_BEFORE_NAMES`), a section, page or equation and its number
    (:data:`_BEFORE_NUMBERS`). syntok ends a sentence after them, and the name or number was read
    as a sentence's first word."""
    if len(before) < 2 or before[-2][1] != before[-1][0] or text[before[-1][0]:before[-1][1]] != ".":
        return False
    key = text[before[-2][0]:before[-2][1]].lower()
    first = text[after[0][0]:after[0][1]]
    if key in _BEFORE_NAMES:
        return first[:1].isupper()
    if key in _BEFORE_NUMBERS:
        return first[:1].isdigit()
    return _NAMED_AFTER.get(key) == first


def _continues(text: str, before: list[tuple[int, int]], after: list[tuple[int, int]]) -> bool:
    if _abbreviation_goes_on(text, before, after):
        return True
    last = text[before[-1][0]:before[-1][1]]
    if last.rstrip(CLOSERS)[-1:] in _SENTENCE_END or (
        last in CLOSERS and len(before) > 1 and text[before[-2][1] - 1] in _SENTENCE_END
    ):
        return False
    first = text[after[0][0]]
    return last[-1] in ",;:-–—(" or first.islower() or first in "-–—…,;:)"


def _visible_positions(text: str, start: int, end: int) -> list[int] | None:
    """The positions in ``text[start:end]``, counted from ``start``, of the characters that are not
    invisible (:data:`INVISIBLE`, as :func:`visible` leaves them out; a soft hyphen is, but before a
    line break, which may follow ``end``), or None when there is no invisible character there."""
    if text.isascii() or not _INVISIBLE_RE.search(text, start, end):
        return None
    kept = []
    pos = start
    for m in _INVISIBLE_RE.finditer(text, start):
        if m.start() >= end:
            break
        kept.extend(range(pos - start, m.start() - start))
        pos = min(m.end(), end)
    kept.extend(range(pos - start, end - start))
    return kept


#: the HTML elements whose tags pasted text may hold (text-level and block elements)
_HTML_ELEMENTS = ("a|abbr|article|aside|b|blockquote|br|caption|cite|code|del|div|em|figcaption|figure|font|footer|"
                  "h[1-6]|header|hr|i|img|ins|li|main|mark|nav|ol|p|pre|q|s|section|small|span|strike|strong|sub|"
                  "sup|table|tbody|td|tfoot|th|thead|time|tr|u|ul")
#: an attribute of an HTML tag, with its value
_TAG_ATTRIBUTE = r"\s+[A-Za-z_:][-\w:.]{0,40}\s*=\s*(?:\"[^\"<>]{0,300}\"|'[^'<>]{0,300}'|[^\s\"'<>=`]{1,300})"
#: an HTML tag left in pasted text: "<p>", "</b>", "<br/>", '<a href="x">', an element of
#: :data:`_HTML_ELEMENTS` written in lower case (a closing tag in any case), with attributes that have
#: a value only. So "a<b and c>d" is no tag, nor is a ticker symbol in capitals ("Cobanco Inc <CBCO>",
#: "Sears <S> said"), which 6,297 of the Reuters articles hold. An opening tag in capitals (HTML of
#: the 1990s: "<P>", "<B>Apple</B>", '<FONT SIZE=2>') is one where no ticker is: with an attribute,
#: or glued to what follows it but for punctuation a ticker may have after it ("Sears <S> said",
#: "<S>.", "NAVISTAR<NAV>,", "<SHLH.HK>'s", "<AMR>-ACI"): a word, a quotation mark, a dash, a tag.
_TAG_RE = re.compile(rf"(?:<(?:{_HTML_ELEMENTS})|</(?i:{_HTML_ELEMENTS}))(?:{_TAG_ATTRIBUTE})*\s*/?>"
                     rf"|<(?i:{_HTML_ELEMENTS})(?:(?:{_TAG_ATTRIBUTE})+\s*/?>|\s*/?>(?=[^\s,.;:!?'’)/\-]))")


def tags_as_spaces(text: str) -> str:
    """``text`` with each HTML tag (:data:`_TAG_RE`) as spaces, of the same length: markup that no
    model should read ("<b>efforts</b>" had put the pieces "<", "b", ">" around the word)."""
    return _TAG_RE.sub(lambda m: " " * len(m.group()), text) if "<" in text else text


#: Markdown's emphasis marks (``*``, ``**``, ``_``, ``__``) where they open or close a run of
#: text: touching it on one side, not inside a word ("snake_case", "2*3" stay)
_EMPHASIS_RE = re.compile(r"(?<![\w*])(?:\*{1,3}|_{1,3})(?=[^\s*_])|(?<=[^\s*_])(?:\*{1,3}|_{1,3})(?![\w*])")
#: a Markdown link, "[its text](its address)": the brackets and the address are markup
_MARKDOWN_LINK_RE = re.compile(r"\[([^\[\]\n]{1,300})\]\([^()\s]{1,2000}(?:\s+\"[^\"\n]{0,300}\")?\)")


def encoder_text(text: str) -> str:
    """``text`` (as :func:`as_read` reads it) as the sentence encoder of the detector and the
    corrector reads it, of the same length, each offset pointing at the same word: quotation marks
    straight (:func:`straight_quotes`); and as spaces, symbols outside ASCII
    (:func:`symbols_as_spaces`), HTML tags (:func:`tags_as_spaces`) and Markdown's emphasis marks
    and link syntax ("**stick**", "[the talks](https://…)": only the words stay). The encoder learned
    from plain newswire: such marks around a word had raised its score as a replaced word (seed 000
    with one word in six in bold had been judged suspicious, with 12 flags)."""
    text = tags_as_spaces(symbols_as_spaces(straight_quotes(text)))
    if "[" in text:
        text = _MARKDOWN_LINK_RE.sub(lambda m: " " + m.group(1) + " " * (len(m.group()) - len(m.group(1)) - 1), text)
    if "*" in text or "_" in text:
        text = _EMPHASIS_RE.sub(lambda m: " " * len(m.group()), text)
    return text


def _syntok_pieces(text: str, start: int, end: int) -> Iterator[list[tuple[int, int]]]:
    """syntok's sentences of ``text[start:end]``, read without its invisible format characters
    (a direction mark between "fine." and "Then" had kept them one sentence, one inside "2.50" had
    cut it in two) and its HTML tags (:data:`_TAG_RE`: "<p>Rinna included.</p>" had been "<",
    "p>Rinna", "included.</p", ">", and neither word was read), as lists of absolute token spans; a
    token keeps the invisible characters inside it."""
    chunk = text[start:end].translate(_OTHER_BREAKS_AS_NEWLINE)  # syntok reads a separator (\x1c) as a letter
    kept = _visible_positions(text, start, end)  # chunk's positions in text[start:end], when invisible characters were left out
    if kept is not None:
        chunk = "".join(chunk[i] for i in kept)
    chunk = tags_as_spaces(chunk)  # an HTML tag left in pasted text: markup between tokens, not in them
    for sentence in _syntok_segment(_SYNTOK.tokenize(chunk)):
        spans = []
        after = 0  # in chunk: where the sentence's last token ended
        for tok in sentence:
            value = tok.value
            if not value:
                continue
            pos = tok.offset
            if chunk[pos:pos + len(value)] != value:  # never seen; stay exact if it happens
                pos = chunk.find(value, after)
                if pos < 0:
                    continue
            after = pos + len(value)
            if kept is None:
                spans.append((start + pos, start + pos + len(value)))
            else:
                spans.append((start + kept[pos], start + kept[pos + len(value) - 1] + 1))
        if spans:
            yield from _cut_after_quotes(text, spans)


def _cut_after_quotes(text: str, spans: list[tuple[int, int]]) -> Iterator[list[tuple[int, int]]]:
    """``spans`` (one of syntok's sentences) cut where a sentence ends in quotation marks syntok does
    not take for closing ones: a full stop, the marks right after it, then a space and a capital or
    an opening quotation mark or bracket ("fine.“ Then", „fine.“, »fine.«, «fine.», ``fine.'').
    Where one closing mark that syntok knows follows ("U.S.” Army"), its choice stands."""
    cut = 0
    for i in range(1, len(spans)):
        if text[spans[i - 1][1] - 1] not in _SENTENCE_END:
            continue
        j = i
        while (j < len(spans) and spans[j][0] == spans[j - 1][1]
               and all(c in CLOSERS for c in text[spans[j][0] : spans[j][1]])):
            j += 1
        if (i < j < len(spans) and text[spans[i][0]:spans[j - 1][1]] not in _SYNTOK_CLOSERS
                and spans[j][0] > spans[j - 1][1] and (text[spans[j][0]].isupper() or text[spans[j][0]] in OPENERS)):
            yield spans[cut:j]
            cut = j
    yield spans[cut:]


def _merge(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Rejoin what syntok split: clitics, camelCase, "U.S" + ".", hyphenated compounds, accents."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out:
            ps, pe = out[-1]
            # read without invisible characters, but for a soft hyphen of its own (one at a line end)
            prev, cur = visible(text[ps:pe]) or text[ps:pe], visible(text[s:e]) or text[s:e]
            join = False
            gap = visible(text[pe:s])  # invisible characters between two tokens leave them adjacent
            if not gap:
                join = (
                    _MARKS_RE.fullmatch(cur) is not None  # an accent syntok split from its letter
                    or (prev[-1].isalpha() and (_CLITIC_RE.fullmatch(cur) is not None or cur[0].isalpha()))
                    or (cur == "." and _ABBR_NO_DOT_RE.fullmatch(prev) is not None)
                    # "pro\u00adfits", "2\u200b50": a soft hyphen, a zero-width space inside a word
                    or (pe < s and prev[-1].isalnum() and cur[0].isalnum())
                )
            elif len(gap) == 1 and gap in _HYPHENS:
                join = prev[-1].isalnum() and cur[0].isalnum()
            elif (len(prev) == 1 and prev in LINE_END_HYPHENS and len(out) > 1 and out[-2][1] == ps
                  and _BROKEN_RE.fullmatch(text, ps - 1, e)):
                out.pop()  # "signif-\nicant": a word broken at a line end by a hyphen, one token
                out[-1] = (out[-1][0], e)
                continue
            if join:
                out[-1] = (ps, e)
                continue
        out.append((s, e))
    return out


def _split(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """Split one glued token: dashes/ellipses inside, "A/B", "said:the", "Corp<NAV", "in2001",
    "24,2017"; read without the invisible characters inside it ("in\u200b2001" splits as "in2001"
    does)."""
    kept = _visible_positions(text, s, e)
    if not kept:
        return _split_visible(text, s, e)
    seen = "".join(text[s + i] for i in kept)
    return [(s + kept[a], s + kept[b - 1] + 1) for a, b in _split_visible(seen, 0, len(seen))]


def _split_visible(text: str, s: int, e: int) -> list[tuple[int, int]]:
    tok = text[s:e]
    if "://" in tok or "@" in tok or tok.lower().startswith("www."):
        return [(s, e)]
    m = _GLUED_NUMBER_RE.fullmatch(tok)
    if m:
        return [(s, s + m.end(1)), (s + m.end(1), e)]
    if _BAD_GROUPING_RE.fullmatch(tok) and any(len(g) != 3 for g in tok.split(",")[1:]):
        pieces = []
        pos = s
        for i, group in enumerate(tok.split(",")):
            if i:
                pieces.append((pos, pos + 1))
                pos += 1
            pieces.append((pos, pos + len(group)))
            pos += len(group)
        return pieces
    if len(tok) < 2 or not _SPLIT_RE.search(tok):
        return [(s, e)]
    pieces = []
    pos = s
    for m in _SPLIT_RE.finditer(tok):
        if m.start() > pos - s:
            pieces.append((pos, s + m.start()))
        pieces.append((s + m.start(), s + m.end()))
        pos = s + m.end()
    if pos < e:
        pieces.append((pos, e))
    return pieces


def _tokens(text: str, spans: list[tuple[int, int]], source: str | None = None) -> tuple[Token, ...]:
    """The tokens of ``spans``, cut as ``text`` reads and holding ``source``'s characters (``text``
    itself when None; :func:`segment` reads its text :func:`halfwidth`)."""
    pieces = [(ps, pe) for s, e in _merge(text, spans) for ps, pe in _split(text, s, e)]
    source = text if source is None else source
    return tuple(Token(ps, pe, source[ps:pe]) for ps, pe in _entities_whole(text, pieces))


def _entities_whole(text: str, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``pieces`` (token spans in order) with each HTML character reference left in the text one
    token of its own ("&amp;" had been "&", "amp", ";", and "amp" read as a word; "rose&quot;" had
    hidden "rose"), where it runs over pieces that touch, and joined with the words either side of
    it when it stands for an apostrophe (:func:`_apostrophes_joined`). The pieces cover the same
    characters."""
    if not any(text.find("&", s, e) >= 0 for s, e in pieces):
        return pieces
    out: list[tuple[int, int]] = []
    todo = list(reversed(pieces))
    while todo:
        s, e = todo.pop()
        k = text.find("&", s, e)
        m = _reference(text, k) if k >= 0 else None
        if m is None:
            out.append((s, e))
            continue
        end = e
        while end < m.end() and todo and todo[-1][0] == end:  # the reference runs on into the next piece
            end = todo.pop()[1]
        if end < m.end():  # a gap inside it: not one reference after all
            out.append((s, end))
            continue
        if k > s:
            out.append((s, k))
        out.append((k, m.end()))
        if end > m.end():
            todo.append((m.end(), end))  # what follows it in the same piece ("&#8217;s"): read again
    return _apostrophes_joined(text, out)


def _apostrophes_joined(text: str, pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``pieces`` with a character reference that stands for an apostrophe between two words it
    touches joined with them into one token ("they&#8217;re", "China&#x27;s"), as the apostrophe
    itself would be (:func:`as_read` reads it as one)."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(pieces):
        s, e = pieces[i]
        while (i + 2 < len(pieces) and pieces[i + 1][0] == e and pieces[i + 2][0] == pieces[i + 1][1]
               and text[e - 1].isalpha() and text[pieces[i + 2][0]].isalpha()
               and text[pieces[i + 1][0]] == "&" and html.unescape(text[pieces[i + 1][0]:pieces[i + 1][1]]) in APOSTROPHES):
            e = pieces[i + 2][1]
            i += 2
        out.append((s, e))
        i += 1
    return out


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` (as ``segment`` makes them), without sentence structure.

    Also used for phrase-list entries so that they tokenize the way documents do.
    """
    return [t for sentence in segment(text) for t in sentence.tokens]


# --------------------------------------------------------------------------- reflow

_LINE_RE = re.compile(f"[^{LINE_BREAKS}]*")
_LINE_WORD_RE = re.compile(rf"[^\W_]+(?:[{APOSTROPHES}.\-‐‑][^\W_]+)*\.?")
_CAPTION_RE = re.compile(r"(?:FILE\s+)?(?:PHOTO|IMAGE|PICTURE|VIDEO|GRAPHIC|GRAPHICS)S?\s*:", re.IGNORECASE)
_NAME = r"[A-Z][\w'’.\-]*(?:\s+(?:[A-Z][\w'’.\-]*|de|da|del|van|von|der|bin|al))*"
_NAMES = rf"{_NAME}(?:\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*){_NAME})*"
#: the photo credit that ends a caption's last line ("REUTERS/Brendan McDermid/File Photo",
#: "(AP Photo/Evan Vucci)"): a name of two words or more, so that a name wrapped after its first
#: ("REUTERS/Ahmed" | "Jadallah") does not end the caption early
_PHOTO_CREDIT_RE = re.compile(
    rf"(?:^|\s)\(?[A-Z][\w.&'’\-]*(?:\s+Photo)?/(?=\S+\s+[A-Z]){_NAME}(?:/[A-Z][\w\s.'’\-]*)?\)?\.?$"
)
_CREDIT = rf"[A-Z][a-z]+(?:\s+[a-z]+){{0,2}}\s+by\s+{_NAMES}"
_CREDITS_RE = re.compile(rf"\(?{_CREDIT}(?:\s*[;,]\s*{_CREDIT})*\)?\.?")
_CREDIT_ROLES = frozenset(
    "reporting writing editing additional compiled produced photo photos photography graphics "
    "illustration translated translation research video".split()
)
#: the bullets that open a list item ("- cut rates", "• Sell")
_BULLETS = "-*+•‣◦▪"
#: a list item's bullet or number ("-", "•", "1.", "2)", "(3)"), as it may open a credit line
LIST_MARKER = rf"(?:[{_BULLETS}]|\(?\d{{1,3}}[.)])"
#: a list marker opening a line, and the space after it ("1. ", "(2) ", "- ")
_MARKER_RE = re.compile(rf"{LIST_MARKER}[ \t]+(?=\S)")
_BY_RE = re.compile(rf"[Bb][Yy](?::|\s+{_NAMES})?")
_FUNCTION_WORDS = frozenset("a an the and or of in on at to for by with from vs via de da van von der".split())
#: words no heading ends in: a line of hard-wrapped text that ends in one goes on in the next line
_WRAP_WORDS = frozenset("a an the and or of".split())
_OTHER_START = frozenset("@#©®*•|>~=_+§¶")
#: characters that may close a sentence after its full stop (quotation marks, brackets): also the
#: quotation marks that close one in German ("“", "«", "‹") or that a writer typed for a closing one ("fine.„")
CLOSERS = "\"'”’»)]}›“„«‹"
_SENTENCE_END = frozenset(".!?…")
#: what may open a sentence before its first letter: a quotation mark of any shape, a bracket
OPENERS = frozenset("\"'“‘„‚«»‹›`([{")
#: a closing mark that syntok itself takes for one after a full stop
_SYNTOK_CLOSERS = frozenset("\"'”’)]}")


@dataclass(frozen=True, slots=True)
class _Line:
    start: int  # first non-space character
    end: int  # one past the last non-space character
    text: str  # the line between them as it reads: without invisible format characters (INVISIBLE)

    @property
    def words(self) -> list[str]:
        return _LINE_WORD_RE.findall(self.text)


def _shown(stripped: str) -> str:
    """What a line (without surrounding whitespace) looks like, disguised words in Latin letters and
    without HTML tags: how it is classified (offsets from the line as written); empty for a line of
    tags alone."""
    shown = as_read(visible(stripped))[0]
    if "<" in shown:
        shown = _TAG_RE.sub("", shown).strip()
    return shown


#: a credit line written on the line of the story's last sentence ("... he said. Reporting by Josh
#: Smith; Editing by Lincoln Feast", "... he said. (Reporting by Josh Smith)"): group 1 is what
#: closes the sentence after its full stop, group 2 the space before the credit line
_CREDIT_TAIL_RE = re.compile(rf"(?<=[.!?…])([\"'”’»)\]]?)(\s+)(?=\(?{_CREDIT}(?:\s*[;,]\s*{_CREDIT})*\)?\.?$)")


def _credit_tail(stripped: str) -> tuple[int, int, str] | None:
    """Where the prose of a line ends and a credit line written after it on the same line starts
    (:data:`_CREDIT_TAIL_RE`), when that credit line holds more than one credit or a usual role
    (:func:`_is_credits` away from the text's edges), and how that credit line looks
    (:func:`_shown`); None otherwise."""
    if " by " not in stripped.lower():
        return None
    for m in _CREDIT_TAIL_RE.finditer(stripped):
        if not any(c.isalpha() for c in stripped[: m.start()]):
            continue  # "1. Reporting by ...": a numbered credit line, no sentence before it
        tail = _shown(stripped[m.end(2):])
        if tail and _is_credits(_Line(0, len(tail), tail), near_edge=False):
            return m.end(1), m.end(2), tail
    return None


def _lines(text: str) -> list[_Line | None]:
    """Every line of ``text`` stripped of surrounding whitespace; None for blank lines. A credit line
    written after the last sentence on its line is a line of its own (:func:`_credit_tail`)."""
    lines: list[_Line | None] = []
    pos = 0
    n = len(text)
    while pos <= n:
        m = _LINE_RE.match(text, pos)
        s, e = m.start(), m.end()
        raw = text[s:e]
        stripped = raw.strip()
        shown = _shown(stripped)
        if shown:
            a = s + len(raw) - len(raw.lstrip())
            cut = _credit_tail(stripped)
            if cut is None:
                lines.append(_Line(a, a + len(stripped), shown))
            else:
                lines.append(_Line(a, a + cut[0], _shown(stripped[: cut[0]])))
                lines.append(_Line(a + cut[1], a + len(stripped), cut[2]))
        else:
            lines.append(None)
        if e >= n:
            break
        pos = e + (2 if text.startswith("\r\n", e) else 1)
    return lines


def _ends_sentence(line: str) -> bool:
    return line.rstrip(CLOSERS)[-1:] in _SENTENCE_END


def _ends_open(line: str) -> bool:
    """No final punctuation at all (a heading, a name, or a line that wraps)."""
    return line[-1].isalnum()


def _is_title_like(line: _Line) -> bool:
    words = line.words
    if not words or not words[0][0].isupper():
        return False
    return all(w[0].isupper() or w[0].isdigit() or w.lower() in _FUNCTION_WORDS for w in words)


def _is_credits(line: _Line, near_edge: bool) -> bool:
    """ "Reporting by X; Editing by Y" and the like; in capitals ("REPORTING BY X; EDITING BY Y": a
    text typed in capitals, or upper-cased to hide a spin) or in Title Case ("Reporting By X; Editing
    By Y") when it holds more than one credit or a usual role, being read then in the case credit
    lines are written in (:func:`_credit_case`)."""
    words = line.words
    if len(words) > 30:
        return False
    text = line.text
    marker = _MARKER_RE.match(text)  # a numbered or bulleted credit line ("1. Reporting by ...")
    if marker:
        text = text[marker.end() :]
    recased = recased_credit_line(words)
    if recased:
        text = _credit_case(text)
    if _CREDITS_RE.fullmatch(text) is None:
        return False
    role = text.lstrip("(").split()[0].lower()
    return ";" in text or role in _CREDIT_ROLES or (near_edge and not recased)


def _credit_case(text: str) -> str:
    """A credit line in capitals or Title Case in the case credit lines are written in, to be matched as one:
    a capital opening the line and each credit, "by" and "and" in lower case, the names after "by"
    capitalised, the other words of a role in lower case ("ADDITIONAL REPORTING BY JOSH SMITH; EDITING
    BY LINCOLN FEAST" -> "Additional reporting by Josh Smith; Editing by Lincoln Feast")."""
    out, opens, names = [], True, False
    for piece in re.split(r"(\s+|[;,(&])", text):
        low = piece.lower()
        if not piece or piece.isspace():
            out.append(piece)
        elif piece in (";", "("):
            out.append(piece)
            opens, names = True, False
        elif piece in (",", "&"):
            out.append(piece)
            opens = True
        elif low in ("by", "and"):
            out.append(low)
            names = names or low == "by"
            opens = low == "by"
        else:
            out.append(piece[:1] + piece[1:].lower() if opens or names else low)
            opens = False
    return "".join(out)


def _is_other(line: _Line) -> bool:
    """Lines that are neither prose nor headings: "@ Newsweek", "***", rows of numbers."""
    if line.text[0] in _OTHER_START:
        return True
    words = [w for w in line.words if any(c.isalpha() for c in w)]
    return not words or len(words) < 0.5 * len(line.text.split())


def _line_kind(line: _Line, prev: _Line | None, prev_kind: str | None, near_edge: bool) -> SentenceKind:
    """Kind of a line that stands alone (one line = one block)."""
    if _CAPTION_RE.match(line.text):
        return "caption"
    if _BY_RE.fullmatch(line.text) and len(line.words) <= 8:
        return "byline"
    if (
        prev_kind == "byline"
        and prev is not None
        and prev.text.lower() in ("by", "by:")
        and _ends_open(line.text)
        and _is_title_like(line)
        and len(line.words) <= 6
    ):
        return "byline"
    if _is_credits(line, near_edge):
        return "byline"
    if _is_other(line):
        return "other"
    if not _ends_sentence(line.text) and line.text[-1] not in ",;:" and len(line.words) <= 12 and len(line.text) <= 100:
        return "heading"
    return "prose"


def _one_paragraph_per_line(lines: Sequence[_Line | None]) -> bool:
    """True for text with a paragraph per line (most lines long, none continuing in lower case)."""
    real = [ln for ln in lines if ln is not None]
    if len(real) < 2:
        return False
    long_share = sum(len(ln.text) >= 100 for ln in real) / len(real)
    continued = sum(
        1 for a, b in zip(lines, lines[1:]) if a is not None and b is not None and b.text[0].islower()
    )
    return long_share >= 0.4 and continued <= 0.1 * len(real)


#: a row of a table: between pipes ("| Measure | Status |", "|---|---|"), or three cells or more set
#: apart by tabs
_TABLE_ROW_RE = re.compile(r"\|.*\||[^\t]+(?:\t+[^\t]+){2,}")


def _table_row(para: Sequence[_Line], i: int, flags: Sequence[bool]) -> bool:
    """Whether line ``i`` of ``para`` is a table's row (:data:`_TABLE_ROW_RE`) and not a wrapped
    line of prose with tabs for some of its spaces: one that goes on from a line of prose before it
    (not a line of its own, ``flags``), in lower case or with cells of two and a half words or
    more on average (a table's cells are short: figures, names)."""
    line = para[i].text
    if not _TABLE_ROW_RE.fullmatch(line):
        return False
    if i == 0 or flags[i - 1] or "\t" not in line:  # a row between pipes is one wherever it is
        return True
    cells = [c for c in line.split("\t") if c.strip()]
    return not (line[0].islower() or 2 * len(para[i].words) >= 5 * len(cells))


def _standalone(para: Sequence[_Line], i: int, flags: Sequence[bool], near_edge: bool) -> bool:
    """In hard-wrapped text: is line ``i`` a heading/byline/other line or a table's row of its own?"""
    line = para[i]
    if len(para) == 1 or _table_row(para, i, flags):
        return True
    before = i == 0 or flags[i - 1] or _ends_sentence(para[i - 1].text)
    after = i == len(para) - 1 or not para[i + 1].text[0].islower()
    if not (before and after):
        return False
    if _is_credits(line, near_edge):
        return True
    if not _ends_open(line.text) and line.text[-1] not in CLOSERS:
        return False
    short = len(line.words) <= 6 and len(line.text) <= 50
    if short and i + 1 < len(para) and line.words and line.words[-1].lower() in _WRAP_WORDS:
        return False  # "International Minerals and" | "Chemical Corp said ...": a wrapped line, no heading
    return short and (_is_title_like(line) or _is_other(line) or _BY_RE.fullmatch(line.text) is not None)


#: a line that opens a list item: a bullet or a number, then a space ("- cut rates", "2. Sell")
_ITEM_RE = re.compile(rf"(?:[{_BULLETS}]|\d{{1,3}}[.)])[ \t]+\S")


def _items(para: list[_Line]) -> set[int]:
    """Which lines of a paragraph open a list item: those that start like one, when at least two
    do (one line opening with "- " may be a dash going on from the line before)."""
    starts = {i for i, ln in enumerate(para) if _ITEM_RE.match(ln.text)}
    return starts if len(starts) > 1 else set()


def _caption_ends(group: Sequence[_Line], para: Sequence[_Line], i: int) -> bool:
    """Whether line ``i`` of ``para``, the last of ``group``, ends a caption: the group opens with
    one ("FILE PHOTO: ...") and the line ends in its photo credit ("REUTERS/Brendan McDermid"),
    which the next line does not go on with ("McDermid/File Photo")."""
    if not _CAPTION_RE.match(group[0].text) or not _PHOTO_CREDIT_RE.search(para[i].text):
        return False
    return i + 1 == len(para) or "/" not in para[i + 1].text.split()[0]


def _blocks(text: str) -> list[tuple[int, int, SentenceKind | None]]:
    """Cut ``text`` into (start, end, kind) blocks for syntok; kind None means prose. A list item
    starts a block of its own (the lines that go on from it join it)."""
    lines = _lines(text)
    paragraphs: list[list[_Line]] = [[]]
    for ln in lines:
        if ln is None:
            if paragraphs[-1]:
                paragraphs.append([])
        else:
            paragraphs[-1].append(ln)
    paragraphs = [p for p in paragraphs if p]
    all_lines = [ln for p in paragraphs for ln in p]
    edge_ids = {id(ln) for ln in all_lines[:3] + all_lines[-2:]}
    per_line = _one_paragraph_per_line(lines)

    blocks: list[tuple[int, int, SentenceKind | None]] = []
    prev: _Line | None = None
    prev_kind: str | None = None
    for para in paragraphs:
        flags: list[bool] = []
        group: list[_Line] = []

        def flush() -> None:
            if group:
                kind = "caption" if _CAPTION_RE.match(group[0].text) else None
                blocks.append((group[0].start, group[-1].end, kind))
                group.clear()

        items = _items(para)
        for i, line in enumerate(para):
            alone = per_line or _standalone(para, i, flags, id(line) in edge_ids)
            flags.append(alone)
            if alone:
                flush()
                kind = _line_kind(line, prev, prev_kind, id(line) in edge_ids)
                blocks.append((line.start, line.end, kind))
                prev_kind = kind
            else:
                if _CAPTION_RE.match(line.text) or i in items:
                    flush()
                group.append(line)
                prev_kind = None
                if _caption_ends(group, para, i):
                    flush()  # the story goes on after the caption, on the next line
            prev = line
        flush()
    return blocks


# --------------------------------------------------------------------------- public API


def segment(text: str) -> list[Sentence]:
    """Split ``text`` into sentences (and stand-alone lines) of tokens with exact offsets.

    Every ``Token`` and ``Sentence`` satisfies ``text[x.start:x.end] == x.text`` (for a sentence,
    the span from its first to its last token). Sentences are in order and never overlap.
    """
    sentences: list[Sentence] = []
    reading = halfwidth(text)  # "left．Then" is two sentences, "U．S．" one word, as in ASCII
    for start, end, kind in _blocks(reading):
        for spans in _syntok_sentences(reading, start, end):
            tokens = _tokens(reading, spans, text)
            if tokens:
                s, e = tokens[0].start, tokens[-1].end
                sentences.append(Sentence(s, e, tokens, kind or "prose", text[s:e]))
    return sentences


def word_count(text: str | Iterable[Sentence]) -> int:
    """Words as counted for statistics: word and number tokens.

    Pass already segmented sentences instead of the text to avoid segmenting twice.
    """
    sentences = segment(text) if isinstance(text, str) else text
    return sum(1 for s in sentences for t in s.tokens if t.is_word or t.is_number)


def sentence_texts(texts: Iterable[str]) -> list[str]:
    """Each text's sentences (and stand-alone lines) as texts of their own, in order: what an
    editor's client sends when it checks a text one sentence at a time. Used alike to calibrate
    the fusion (:mod:`service.training`) and to evaluate it (``unspin eval --sentence-docs``)."""
    return [s.text for t in texts for s in segment(t)]


__all__ = [
    "APOSTROPHES",
    "CLOSERS",
    "INVISIBLE",
    "LIGATURES",
    "Sentence",
    "SentenceKind",
    "Token",
    "as_read",
    "segment",
    "sentence_texts",
    "spelled_out",
    "tokenize",
    "visible",
    "word_count",
]
