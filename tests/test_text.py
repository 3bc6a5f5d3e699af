"""Decoding, input checks and segmentation with exact offsets (service/text.py)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import read_seed, seed_paths
from service.decoding import InputError, check_text, decode
from service.text import (
    INVISIBLE,
    LIGATURES,
    Sentence,
    Token,
    as_read,
    segment,
    tokenize,
    visible,
    word_count,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
WRAPPED = SEEDS / "000_37063bd84aa4b837.txt"  # hard-wrapped lines inside sentences
PER_LINE = SEEDS / "002_2ef1442c87ee1781.txt"  # one paragraph per line, curly quotes, captions


def _read(path: Path) -> str:
    if not path.exists():
        pytest.skip(f"seed file {path.name} is missing from seeds/")
    return path.read_text(encoding="utf-8")


def assert_exact(text: str, sentences: list[Sentence]) -> None:
    """Offsets are exact, sentences are ordered, do not overlap and hold their tokens."""
    prev_end = 0
    for s in sentences:
        assert s.tokens, s
        assert text[s.start : s.end] == s.text
        assert s.start >= prev_end
        assert s.start == s.tokens[0].start and s.end == s.tokens[-1].end
        assert s.text == s.text.strip()
        prev_tok_end = s.start
        for t in s.tokens:
            assert text[t.start : t.end] == t.text
            assert t.text and t.start >= prev_tok_end
            prev_tok_end = t.end
        prev_end = s.end


def find(sentences: list[Sentence], fragment: str) -> Sentence:
    hits = [s for s in sentences if fragment in s.text]
    assert len(hits) == 1, (fragment, [s.text for s in hits])
    return hits[0]


# --------------------------------------------------------------------------- seeds


@pytest.mark.parametrize("path", [WRAPPED, PER_LINE], ids=["wrapped", "per-line"])
def test_seed_offsets_are_exact_and_cover_all_words(path: Path) -> None:
    text = _read(path)
    sentences = segment(text)
    assert_exact(text, sentences)
    # every word of the document is in some sentence, in order
    words = [t.text for s in sentences for t in s.tokens if t.is_word]
    expected = [w for w in text.replace("\n", " ").split() if any(c.isalpha() for c in w)]
    assert len(words) >= len(expected)
    assert word_count(text) == word_count(sentences) > 0


def test_wrapped_seed_keeps_sentences_together_across_hard_wraps() -> None:
    text = _read(WRAPPED)
    sentences = segment(text)
    assert 22 <= len(sentences) <= 32
    s = find(sentences, "Shuang told a press briefing Monday in Beijing that the two countries' efforts\nwere")
    assert s.text.startswith("Chinese Foreign Ministry spokesperson Geng\nShuang")
    assert s.text.endswith('in\nparallel."')
    assert s.kind == "prose"
    s = find(sentences, "Both countries joined")
    assert s.text.endswith("sanctions on the Islamic Republic.")
    # abbreviations at a line end do not end the sentence
    s = find(sentences, "associated with U.S.\nmilitary presence in Iraq.")
    assert s.text.startswith("Unrest in this energy-critical region")


def test_wrapped_seed_bylines_and_other() -> None:
    sentences = segment(_read(WRAPPED))
    kinds = {s.text: s.kind for s in sentences}
    assert kinds["By"] == "byline"
    assert kinds["Tom O'Connor"] == "byline"
    assert kinds["@ Newsweek"] == "other"
    assert sentences[0].kind == "prose" and sentences[0].text.startswith("[Chinese")
    assert sum(s.kind == "prose" for s in sentences) == len(sentences) - 3


def test_per_line_seed_kinds() -> None:
    text = _read(PER_LINE)
    sentences = segment(text)
    assert 30 <= len(sentences) <= 50
    kinds = {s.text: s.kind for s in sentences}
    assert kinds["World News"] == "heading"
    assert kinds["FINANCIAL LEVERAGE"] == "heading"
    assert kinds["Reporting by Josh Smith; Modifying by Lincoln Banquet and Gareth Jones"] == "byline"
    captions = [s for s in sentences if s.kind == "caption"]
    assert [c.text[:11] for c in captions] == ["FILE IMAGE:", "FILE PHOTO:"]
    assert all(c.text.endswith("REUTERS/Damir Sagolj/File Image") for c in captions)
    # each line is its own paragraph: no sentence spans a newline
    assert all("\n" not in s.text for s in sentences)
    assert find(sentences, "SEOUL (Reuters)").text.endswith("missile arsenal.")


@pytest.mark.parametrize("credit, kind", [
    ("REUTERS/Brendan McDermid/File Photo", "prose"),
    ("(AP Photo/Evan Vucci)", "prose"),
    # a credit wrapped inside its name, or going on on the next line, is not the caption's end
    ("REUTERS/Ahmed\nJadallah", "caption"),
    ("REUTERS/Brendan McDermid\n/File Photo", "caption"),
])
def test_a_caption_ends_at_its_photo_credit(credit: str, kind: str) -> None:
    """A caption with the story hard-wrapped right after it, no blank line between: the caption
    ends at its photo credit, and the story's lines are prose again (they had all been read as
    the caption, and its credit as the start of the story's first sentence)."""
    text = ("FILE PHOTO: Traders work on the floor of the exchange in New York, March 3, 1987. "
            f"{credit}\nWASHINGTON (Reuters) - The trade representative said\nthe president should have "
            "the authority to decide.\nThe committee approved the plan on Tuesday.\n")
    sentences = segment(text)
    story = find(sentences, "WASHINGTON (Reuters)")
    assert story.kind == kind
    if kind == "prose":
        assert story.text.endswith("to decide.") and find(sentences, "The committee").kind == "prose"
        assert sentences[0].kind == "caption" and any(s.kind == "caption" and s.text.endswith(credit)
                                                        for s in sentences)


def test_per_line_seed_curly_quotes_and_glued_tokens() -> None:
    text = _read(PER_LINE)
    sentences = segment(text)
    s = find(sentences, "The Russia-China effort at UNSC")
    assert s.text.startswith("” The Russia-China")  # mismatched quote opening a paragraph
    assert s.tokens[0].text == "”" and not s.tokens[0].is_word
    assert [t.text for t in s.tokens[1:3]] == ["The", "Russia-China"]
    toks = [t.text for s in sentences for t in s.tokens]
    i = toks.index("in", toks.index("17.3"))
    assert toks[i : i + 3] == ["in", "2001", "Thousands"]
    i = toks.index("November")
    assert toks[i : i + 7] == ["November", "24", ",", "2017", "REUTERS", "/", "Damir"]
    assert "Trump’s" in toks and "they’re" in toks and "year-end" in toks and "U.S." in toks


# --------------------------------------------------------------------------- tokens


def test_token_properties() -> None:
    t = Token(0, 6, "Don’t")
    assert t.norm == "don't" and t.is_word and t.is_capitalized and not t.is_upper
    assert Token(0, 8, "year-end").is_word
    assert Token(0, 4, "U.S.").is_word and Token(0, 4, "U.S.").is_upper
    assert Token(0, 4, "NATO").is_upper and not Token(0, 1, "A").is_upper
    assert not Token(0, 4, "2017").is_word and Token(0, 4, "2017").is_number
    assert not Token(0, 1, ",").is_word and not Token(0, 1, "”").is_word
    assert not Token(0, 6, "in2001").is_word


def test_contractions_possessives_and_names_are_one_token() -> None:
    text = "Tom O'Connor doesn’t like Trump's plan, they’re sure."
    toks = [t.text for t in tokenize(text)]
    assert toks == ["Tom", "O'Connor", "doesn’t", "like", "Trump's", "plan", ",", "they’re", "sure", "."]


def test_dashes_and_camel_case() -> None:
    toks = [t.text for t in tokenize("He went—quickly… to DePetris and the U.S.-led iPhone store.")]
    assert toks[:5] == ["He", "went", "—", "quickly", "…"]
    assert "DePetris" in toks and "U.S.-led" in toks and "iPhone" in toks


def test_glued_colons_and_tickers_are_cut() -> None:
    # newswire copy glues a colon to the word after it and a ticker to the name before it; the
    # words had been one token with the punctuation, read as no word at all
    def toks(text: str) -> list[str]:
        sentences = segment(text)
        assert_exact(text, sentences)
        return [t.text for s in sentences for t in s.tokens]

    assert toks("He said:the plan works.") == ["He", "said", ":", "the", "plan", "works", "."]
    assert toks("He said:“We win.”")[:5] == ["He", "said", ":", "“", "We"]
    assert toks("NOTE:1986 figures") == ["NOTE", ":", "1986", "figures"]
    assert toks("Shares of Navistar Corp<NAV> rose.")[2:7] == ["Navistar", "Corp", "<", "NAV", ">"]
    assert toks("BOEING<BA>JETS SOLD") == ["BOEING", "<", "BA", ">", "JETS", "SOLD"]
    assert toks("Hanson PLC<HNSN.L> said") == ["Hanson", "PLC", "<", "HNSN.L", ">", "said"]
    # what is not glued prose stays whole
    assert toks("at 10:30 on http://example.com/a:b") == ["at", "10:30", "on", "http://example.com/a:b"]
    assert "3>2" in toks("if 3>2 then")


def test_curly_quotes_do_not_break_tokenization() -> None:
    text = "“Pyongyang’s risks are backed,” he said. ‘Fine’ — ”odd” quotes."
    sentences = segment(text)
    assert_exact(text, sentences)
    words = [t.text for s in sentences for t in s.tokens if t.is_word]
    assert words == ["Pyongyang’s", "risks", "are", "backed", "he", "said", "Fine", "odd", "quotes"]


def test_astral_characters_keep_code_point_offsets() -> None:
    text = "😀🎉 Great 𝒳 powers 👍🏽 rise.\nNext 🤖line here."
    sentences = segment(text)
    assert_exact(text, sentences)
    great = next(t for s in sentences for t in s.tokens if t.text == "Great")
    assert (great.start, great.end) == (3, 8)
    line = next(t for s in sentences for t in s.tokens if t.text == "line")
    assert text[line.start - 1] == "🤖"


def test_decomposed_accents_stay_with_their_letters() -> None:
    # "café" written as "cafe" + U+0301: the accent is part of the word, never a token of its own,
    # and the word reads (norm) as the composed one, so both forms score alike
    composed = "The café owner met the fiancé and the attaché."
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    sentences = segment(decomposed)
    assert_exact(decomposed, sentences)
    tokens = [t for s in sentences for t in s.tokens]
    words = [t for t in tokens if t.is_word]
    assert [t.norm for t in words] == [t.norm for s in segment(composed) for t in s.tokens if t.is_word]
    assert all(not unicodedata.category(decomposed[t.start])[0] == "M" for t in tokens)
    assert all(t.end == len(decomposed) or unicodedata.category(decomposed[t.end])[0] != "M" for t in tokens)
    assert "attaché" in [t.norm for t in words]


@pytest.mark.parametrize("mark", list("\u00ad\u200b\u200c\u200d\u2060\ufeff"))
def test_invisible_characters_inside_a_word_keep_it_one_word(mark: str) -> None:
    # a soft hyphen or a zero-width space inside a word (text copied from a web page or a PDF):
    # one word that reads as written without it, with exact offsets, in prose and in a heading
    # line; before, "pro\u00adfits" was two words, "pro" and "fits", and the second could be flagged
    plain = "Company News\nThe company said its profits rose sharply in the third quarter.\n"
    marked = plain.replace("News", "Ne" + mark + "ws").replace("profits", "pro" + mark + "fits")
    sentences = segment(marked)
    assert_exact(marked, sentences)
    expected = segment(plain)
    assert [s.kind for s in sentences] == [s.kind for s in expected] == ["heading", "prose"]
    words = [t for s in sentences for t in s.tokens if t.is_word]
    assert [t.norm for t in words] == [t.norm for s in expected for t in s.tokens if t.is_word]
    assert "pro" + mark + "fits" in [t.text for t in words]


def test_hard_wrapped_sentence_continues_and_blank_line_ends_paragraph() -> None:
    text = "The two powers introduced a\nresolution that would give\nrelief\n\nA new paragraph starts here."
    sentences = segment(text)
    assert [s.text for s in sentences] == [
        "The two powers introduced a\nresolution that would give\nrelief",
        "A new paragraph starts here.",
    ]


def test_short_heading_line_stands_alone_in_wrapped_text() -> None:
    text = (
        "World News\n"
        "China and Russia have accelerated their\n"
        "coordination on international issues in the\n"
        "final weeks of this year.\n"
        "FINANCIAL LEVERAGE\n"
        "North Korea has set a year-end due date for\n"
        "Washington to make concessions.\n"
    )
    sentences = segment(text)
    assert [(s.kind, s.text.split()[0]) for s in sentences] == [
        ("heading", "World"),
        ("prose", "China"),
        ("heading", "FINANCIAL"),
        ("prose", "North"),
    ]


def test_wrapped_first_line_ending_in_a_function_word_is_no_heading() -> None:
    """A hard-wrapped story's first line that looks like a title but ends in "and", "of" or "the"
    ("International Minerals and" | "Chemical Corp said ...") had been read as a heading of its
    own: the sentence was cut and the word after the cut read as a sentence's first (176 Reuters
    articles). A heading ends in no such word when more lines follow."""
    text = (
        "International Minerals and\n"
        "Chemical Corp said it completed the sale of its\n"
        "fertilizer unit to a group of investors for 120 mln dlrs.\n"
        "The company said the proceeds would cut its debt.\n"
    )
    sentences = segment(text)
    assert_exact(text, sentences)
    assert [(s.kind, s.text.split()[0]) for s in sentences] == [("prose", "International"), ("prose", "The")]
    text = "Bank of the\nUnited States said on Monday it cut rates.\n"
    assert [s.kind for s in segment(text)] == ["prose"]
    text = "Trade and Commerce\nThe company said on Monday it cut rates.\n"
    assert [(s.kind, s.text.split()[0]) for s in segment(text)] == [("heading", "Trade"), ("prose", "The")]


def test_windows_line_endings() -> None:
    text = "First line of a wrapped\r\nsentence here.\r\n\r\nSecond one.\r\n"
    sentences = segment(text)
    assert_exact(text, sentences)
    assert [s.text for s in sentences] == ["First line of a wrapped\r\nsentence here.", "Second one."]


@pytest.mark.parametrize("text", ["", "   \n\n\t ", "...", "”", "a", "\u200b", "—\n—"])
def test_degenerate_text(text: str) -> None:
    assert_exact(text, segment(text))


def test_word_count() -> None:
    assert word_count("He paid $5 in 2019, didn't he?") == 7
    assert word_count("") == 0


# --------------------------------------------------------------------------- property

_ALPHABET = st.sampled_from(
    list("aAbBzZ  \n\n\t.,;:!?-–—'’\"“”‘()[]/…019") + ["😀", "👍🏽", "𝒳", "é", "e\u0301", "\r\n", "U.S.", "Mr.", "don't"]
    + ["ﬁ", "ﬃ", "а", "Е", "\u00ad", "-\n", "-\r\n  ", "ab-\ncd"]  # ligatures, look-alikes, soft and line-end hyphens
    + list("´′`ʹ‛＇") + ["ｂ", "Ａ", "𝐛", "𝘈"]  # typed for an apostrophe; fullwidth and mathematical letters
    + list("！．，５、。")  # fullwidth punctuation and digits, read as ASCII
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, max_size=80).map("".join) | st.text(max_size=120))
def test_segment_never_crashes_and_offsets_are_exact(text: str) -> None:
    assert_exact(text, segment(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, max_size=80).map("".join) | st.text(max_size=120))
def test_what_the_models_read_maps_back_to_the_text(text: str) -> None:
    """``as_read`` and every token's ``norm`` never fail, and each character read comes from one of
    the text, in order (a ligature's letters from the ligature, a whole word's from its halves, an
    apostrophe from a look-alike typed for it, a newline from any line break, ASCII punctuation or
    a digit from its fullwidth form)."""
    from service.text import APOSTROPHES, LINE_BREAKS, as_read, halfwidth

    read, back = as_read(text)
    if back is None:
        assert len(read) == len(text)
        back = list(range(len(text) + 1))
    assert len(back) == len(read) + 1 and back[-1] == len(text) and back == sorted(back)
    assert all(c in LIGATURES.get(text[back[i]], text[back[i]]) or look_alikes_of(text[back[i]], c)
               or (c == "'" and text[back[i]] in APOSTROPHES) or (c == "\n" and text[back[i]] in LINE_BREAKS)
               or c == halfwidth(text[back[i]]) != text[back[i]]
               for i, c in enumerate(read))
    for t in tokenize(text):
        assert isinstance(t.norm, str) and isinstance(t.is_word, bool)


def look_alikes_of(char: str, latin: str) -> bool:
    """Whether ``latin`` is the Latin twin of the look-alike ``char``."""
    from service.homoglyphs import look_alikes

    hit = look_alikes("a" + char)
    return hit is not None and hit[0][1:] == latin


# --------------------------------------------------------------------------- decoding


def test_decode_utf8_and_bom() -> None:
    assert decode("Grüße ’quoted’".encode()) == "Grüße ’quoted’"
    assert decode(b"\xef\xbb\xbfHello") == "Hello"
    assert decode(b"") == ""


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_decode_utf16_with_bom(encoding: str) -> None:
    text = "Grüße 😀 world\n"
    data = text.encode(encoding)
    if encoding != "utf-16":
        data = ("\ufeff" + text).encode(encoding)
    assert decode(data) == text


def test_decode_invalid_utf8() -> None:
    data = "café “quoted”".encode("cp1252")
    with pytest.raises(InputError, match=r"not valid UTF-8.*byte offset 3"):
        decode(data)
    assert decode(data, fallback="cp1252") == "café “quoted”"
    with pytest.raises(InputError, match="unknown fallback encoding"):
        decode(data, fallback="no-such-codec")


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"abc\x00def", bytes(range(1, 32)) * 3, b"\x01\x02\x03\xff\xfe\x80"],
)
def test_decode_binary(data: bytes) -> None:
    with pytest.raises(InputError, match="binary"):
        decode(data, fallback="cp1252")


def test_input_error_is_a_value_error() -> None:
    assert issubclass(InputError, ValueError)


# --------------------------------------------------------------------------- check_text


def test_check_text() -> None:
    check_text("Some text.", max_chars=100)
    with pytest.raises(InputError, match="empty"):
        check_text("", max_chars=100)
    with pytest.raises(InputError, match="whitespace"):
        check_text(" \n\t ", max_chars=100)
    with pytest.raises(InputError, match="limit is 5 characters"):
        check_text("too long", max_chars=5)


# --------------------------------------------------------------------------- ligatures (text copied from a PDF)

#: the letters of each ligature, longest first, as :func:`_ligate` joins them
_JOINED = {"ffi": "\ufb03", "ffl": "\ufb04", "fi": "\ufb01", "fl": "\ufb02", "ff": "\ufb00"}


def _ligate(text: str) -> tuple[str, list[int]]:
    """``text`` with "fi", "fl", "ff", "ffi" and "ffl" joined into ligatures, as a PDF's text layer
    holds them, and for each offset of the result (and its length) the offset in ``text``."""
    out, at, i = [], [], 0
    while i < len(text):
        k = next((k for k in _JOINED if text.startswith(k, i)), None)
        out.append(_JOINED[k] if k else text[i])
        at.append(i)
        i += len(k) if k else 1
    return "".join(out), at + [len(text)]


def test_ligatures_read_as_the_letters_they_join():
    from service.text import as_read, spelled_out

    toks = tokenize("The signiﬁcant proﬁts of oﬃcials’ ﬁeld work.")
    assert [t.text for t in toks] == ["The", "signiﬁcant", "proﬁts", "of", "oﬃcials", "’", "ﬁeld", "work", "."]
    assert [t.norm for t in toks if t.is_word] == ["the", "significant", "profits", "of", "officials", "field", "work"]
    assert spelled_out("ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ") == "ff fi fl ffi ffl st st"
    text = "oﬃce bаnk"  # a ligature and a Cyrillic а
    read, back = as_read(text)
    assert read == "office bank" and len(back) == len(read) + 1
    assert [text[back[i]] for i in range(len(read))] == list("oﬃﬃﬃce bаnk")
    assert as_read("plain bаnk") == ("plain bank", None)  # same length: the offsets hold as they are


@pytest.mark.parametrize("seed_path", seed_paths(), ids=lambda p: p.name[:3])
def test_seeds_with_ligatures_score_as_the_plain_ones(engine, seed_path):
    """Both seeds with their "fi", "fl", "ff", "ffi" and "ffl" as ligatures: the same spun spans (at
    the same places in the plain text), suggestions and verdict."""
    text = read_seed(seed_path)
    joined, at = _ligate(text)
    assert len(joined) < len(text)
    plain, report = engine.score(text), engine.score(joined)
    assert all(joined[s.start : s.end] == s.text for s in report.spans)
    ours = [(at[s.start], at[s.end], [x.text for x in s.suggestions], s.score) for s in report.spans if s.kind == "spun"]
    assert ours == [(s.start, s.end, [x.text for x in s.suggestions], s.score) for s in plain.spans if s.kind == "spun"]
    assert (report.label, report.score) == (plain.label, plain.score)


# --------------------------------------------------------------------------- apostrophes typed as look-alikes

_TYPED_APOSTROPHES = list("´′`ʹ‛＇")


@pytest.mark.parametrize("mark", _TYPED_APOSTROPHES)
def test_a_look_alike_typed_for_an_apostrophe_reads_as_one(mark: str) -> None:
    from service.text import as_read

    text = f"The company{mark}s chief said they don{mark}t know O{mark}Brien."
    words = [(t.text, t.norm) for t in tokenize(text) if t.is_word]
    assert words == [("The", "the"), (f"company{mark}s", "company's"), ("chief", "chief"), ("said", "said"),
                     ("they", "they"), (f"don{mark}t", "don't"), ("know", "know"), (f"O{mark}Brien", "o'brien")]
    assert as_read(text) == (text.replace(mark, "'"), None)
    # not between letters: left as written (a prime after a number, a quotation mark)
    assert as_read(f"5{mark}11 and {mark}{mark}quoted") == (f"5{mark}11 and {mark}{mark}quoted", None)


@pytest.mark.parametrize("seed_path", seed_paths(), ids=lambda p: p.name[:3])
def test_seeds_with_apostrophes_typed_as_look_alikes_score_as_the_plain_ones(engine, seed_path):
    """Both seeds with every apostrophe between letters (6 and 13) written as one of the look-alikes
    typed for it: the same spun spans, suggestions, scores and verdict as with a typewriter
    apostrophe (')."""
    text = re.sub(r"(?<=\w)’(?=\w)", "'", read_seed(seed_path))
    plain = engine.score(text)
    want = [(s.start, s.end, [x.text for x in s.suggestions], s.score) for s in plain.spans if s.kind == "spun"]
    for mark in ("´", "`", "ʹ"):
        typed = re.sub(r"(?<=\w)[’'](?=\w)", mark, text)
        assert typed.count(mark) >= 6
        report = engine.score(typed)
        assert [(s.start, s.end, [x.text for x in s.suggestions], s.score) for s in report.spans if s.kind == "spun"] == want
        assert (report.label, report.score) == (plain.label, plain.score)


# --------------------------------------------------------------------------- words broken at a line end


def _break_words(text: str, width: int = 60) -> tuple[str, list[int]]:
    """``text`` wrapped again at ``width`` columns, a word of seven letters or more that crosses the
    margin broken by a hyphen and a line break (three letters or more on each side), as typeset text
    holds them; and for each offset of the result (and its length) the offset in ``text``."""
    out: list[str] = []
    at: list[int] = []

    def put(s: str, src: list[int]) -> None:
        out.extend(s)
        at.extend(src)

    col = 0
    for m in re.finditer(r"\n|[^\S\n]+|\S+", text):
        tok, st = m.group(), m.start()
        if tok == "\n" or (tok.isspace() and col >= width):  # a space past the margin: a line break
            put("\n" + tok[1:], list(range(st, m.end())))
            col = len(tok) - 1
        elif col + len(tok) > width and col and re.fullmatch(r"[A-Za-z]{7,}", tok):
            k = max(3, min(len(tok) - 3, width - col))
            put(tok[:k] + "-\n" + tok[k:], [*range(st, st + k), st + k, st + k, *range(st + k, m.end())])
            col = len(tok) - k
        else:
            put(tok, list(range(st, m.end())))
            col += len(tok)
    return "".join(out), at + [len(text)]


def test_words_broken_at_a_line_end_are_one_word():
    from service.text import as_read

    text = "Profits were signif-\nicant in the quar-\n  ter, well-\nknown analysts said; a two-\n\nline gap, long -\nrun."
    words = [(t.text, t.norm) for t in tokenize(text) if t.is_word]
    assert words[:8] == [("Profits", "profits"), ("were", "were"), ("signif-\nicant", "significant"), ("in", "in"),
                         ("the", "the"), ("quar-\n  ter", "quarter"), ("well-\nknown", "well-known"), ("analysts", "analysts")]
    assert ("a", "a") in words and ("two", "two") in words and ("line", "line") in words  # a paragraph break: two words
    assert ("long", "long") in words and ("run", "run") in words  # a dash after a space: no broken word
    suspended = [(t.text, t.norm) for t in tokenize("pre-\nand post-war, three-\nor four-year") if t.is_word]
    assert suspended == [("pre", "pre"), ("and", "and"), ("post-war", "post-war"), ("three", "three"), ("or", "or"),
                         ("four-year", "four-year")]  # a suspended hyphen before a conjunction
    read, back = as_read(text)
    assert read.startswith("Profits were significant in the quarter, well-known analysts said; a two-\n\nline")
    assert len(back) == len(read) + 1 and all(text[back[i]] == c for i, c in enumerate(read))


@pytest.mark.parametrize("seed_path", seed_paths(), ids=lambda p: p.name[:3])
def test_seeds_wrapped_with_broken_words_score_as_the_plain_ones(engine, seed_path):
    """Both seeds wrapped at 60 columns with the words that cross the margin broken by a hyphen
    (21 and 28 words): every spun span of the plain text, at the same words, with the same first
    suggestion, and the same verdict (seed 002 may gain a span or two: the wrapping moves the
    sentences' line breaks)."""
    text = read_seed(seed_path)
    wrapped, at = _break_words(text)
    assert len(re.findall(r"[a-z]-\n[a-z]", wrapped)) >= 20
    plain, report = engine.score(text), engine.score(wrapped)
    assert all(wrapped[s.start : s.end] == s.text for s in report.spans)
    ours = {(at[s.start], at[s.end], s.suggestions[0].text) for s in report.spans if s.kind == "spun"}
    theirs = {(s.start, s.end, s.suggestions[0].text) for s in plain.spans if s.kind == "spun"}
    assert theirs <= ours and len(ours - theirs) <= 2
    assert report.label == plain.label


def test_list_items_are_sentences_of_their_own():
    """Lines opening with a bullet or a number, two or more in a paragraph (Markdown, and 25 of the
    Reuters articles), are each a sentence, with the lines that go on from them; one line opening
    with a dash goes on from the line before."""
    text = ("The plan, officials said:\n\n- cut tariffs between the two countries, phased\n  in over ten years\n"
            "- equal access to procurement\n* fewer limits on services\n\n1) Prices reviewed\n2) Stocks sold\n\n"
            "The market fell\n- which surprised analysts -\nand then rose.\n")
    sentences = segment(text)
    assert_exact(text, sentences)
    assert [s.text for s in sentences] == [
        "The plan, officials said:",
        "- cut tariffs between the two countries, phased\n  in over ten years",
        "- equal access to procurement",
        "* fewer limits on services",
        "1) Prices reviewed",
        "2) Stocks sold",
        "The market fell\n- which surprised analysts -\nand then rose.",
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab-\n \tAéxand or.1_", max_size=40))
def test_broken_words_are_found_from_word_starts_alone(text):
    """The search for words broken at a line end starts only where a word starts; it finds what the
    pattern tried at every letter finds (it exists so that a long run of letters takes linear time)."""
    from service.text import _BROKEN_RE, _BROKEN_WORD_RE

    def found(pattern):
        return [(m.span(), m.groups()) for m in pattern.finditer(text)]

    assert found(_BROKEN_WORD_RE) == found(_BROKEN_RE)


def test_a_long_run_of_letters_and_a_line_break_do_not_stall():
    """200,000 letters and a line break (the API's longest text): the broken-word search once took
    minutes on it, trying each letter as a word's start. The bound is generous: a guard, not a timing."""
    import time

    from service.text import as_read

    text = "x" * 200_000 + "\nnext line"
    start = time.perf_counter()
    assert as_read(text) == (text, None)
    assert time.perf_counter() - start < 10


def test_html_character_references_are_markup_read_as_their_character(engine):
    """"&amp;", "&quot;", "&#8217;" left in pasted text are one token each, read by no model as a
    word (the 3-gram model had read "amp", and "strategy &amp; make" flagged "make"); the encoder
    reads the character they stand for; offsets stay the text's. "&foo;" is no reference."""
    from service.lm.base import lm_word

    text = 'He said &quot;profits rose&quot; as the company&#8217;s R&D strategy &amp; &foo; plans grew.'
    toks = tokenize(text)
    assert all(text[t.start : t.end] == t.text for t in toks)
    refs = [t.text for t in toks if t.is_entity]
    assert refs == ["&quot;", "&quot;", "&amp;"]  # "&#8217;" between letters is the word's apostrophe
    assert [t.norm for t in toks if t.text.startswith("company")] == ["company's"]
    assert all(lm_word(t) is None for t in toks if t.is_entity)
    assert "rose" in [t.text for t in toks] and "amp" not in [t.text for t in toks] and "R&D" in [t.text for t in toks]
    read, back = as_read(text)
    assert read == 'He said "profits rose" as the company’s R&D strategy & &foo; plans grew.'
    assert back is not None and text[back[read.index("company")]:].startswith("company")
    plain = "The group will pursue its strategy & make further acquisitions."
    marked = plain.replace("&", "&amp;")
    key = lambda r: [(s.text, s.score) for s in r.spans]  # noqa: E731
    assert key(engine.score(marked)) == key(engine.score(plain)) == []


@pytest.mark.parametrize("line_break", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_every_line_break_parts_words_and_reads_as_a_newline(line_break):
    """Every character ``str.splitlines`` ends a line at parts the words either side, for the
    segmenter and in the text the models read (the sentence encoder's tokenizer drops control
    characters, and syntok read the file separator as a letter: "well\\x1cand" was one word)."""
    text = f"The talks went well{line_break}and then they left. The next{line_break}day was fine."
    sentences = segment(text)
    assert [[t.text for t in s.tokens if t.is_word] for s in sentences] == [
        ["The", "talks", "went", "well", "and", "then", "they", "left"], ["The", "next", "day", "was", "fine"]]
    assert as_read(text)[0] == text.replace(line_break, "\n")


@pytest.mark.parametrize("hyphen", ["-", "\u2010", "\u2011", "\u00ad"])
@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\x0b", "\u2028"])
def test_a_word_broken_at_a_line_end_is_one_token_whatever_its_hyphen(hyphen, line_break):
    """A word broken at a line end is one token read whole, whatever hyphen and line break: the
    hyphen-minus, U+2010, the non-breaking hyphen or a soft hyphen; a compound keeps its hyphen,
    except after a soft hyphen, which only marks where a word may break."""
    text = f"The imp{hyphen}{line_break}ortant and well{hyphen}{line_break}known moves."
    toks = [t for t in tokenize(text) if t.is_word]
    assert [t.norm for t in toks] == ["the", "important", "and", "wellknown" if hyphen == "\u00ad" else "well-known", "moves"]
    assert all(text[t.start : t.end] == t.text for t in toks)


@pytest.mark.parametrize(("opening", "closing"), [("“", "“"), ("„", "“"), ("»", "«"), ("«", "»"), ("``", "''")])
def test_a_sentence_ends_after_a_closing_quotation_mark_of_any_shape(opening, closing):
    """A sentence whose full stop is followed by a quotation mark syntok does not take for a closing
    one (the same curly mark twice, German, French and typewriter quotes) ends after it, before a
    capital or an opening mark; a mark syntok knows keeps its choice ("U.S.” Army")."""
    text = f"He said it was {opening}fine.{closing} Then he left. He said {opening}no!{closing} {opening}Go{closing} home."
    assert [s.text for s in segment(text)] == [
        f"He said it was {opening}fine.{closing}", "Then he left.", f"He said {opening}no!{closing}", f"{opening}Go{closing} home."]
    assert len(segment(f"It was {opening}fine.{closing} and then he left.")) == 1
    assert len(segment("The “U.S.” Army said so.")) == 1


@pytest.mark.parametrize("text", [
    "The bill was introduced by Rep. John Dingell, the Michigan Democrat.",
    "It was offered by Reps. Tim Penny and Bill Frenzel of Minnesota.",
    "Democratic Sens. Patrick Moynihan and Bill Bradley wrote the letter.",
    "The task force was convened by Gov.\nGarrey Carruthers in March.",
    "The aide, Marine Lt. Col. Oliver North, declined to testify.",
    "The former Marine Sgt. Clayton Lonetree and Marine Cpl. Arnold Bracy were charged.",
    "Only when Atty. Gen. Edwin Meese told him did he learn of it.",
    "The trust is managed by Alex. Brown and Sons Inc of Baltimore.",
    "The shares were sold through Wm. Sword and Co Inc in Princeton.",
    "Cars will be built at the Ste. Therese plant in Quebec.",
    "The rule is set out in Sec. 12 of the act and on pp. 4-9 of the guide.",
    "The solution of Eq. (3) holds for every rate.",
    "Analysts blamed the Sept. 11-12 drop on program trading.",
])
def test_an_abbreviation_before_a_name_or_number_does_not_end_the_sentence(text: str) -> None:
    """syntok ends a sentence after these abbreviations (Reuters has 152 such cuts in 118 articles: "Rep." 88
    times, "Alex." of Alex. Brown and Sons 19); the name or number after them was read as a sentence's first word."""
    sentences = segment(text + " It was read out.")
    assert [s.text for s in sentences] == [text, "It was read out."]


def test_an_abbreviation_in_a_capitals_headline_does_not_cut_it() -> None:
    headline = "MASSACHUSETTS GOV. DUKAKIS TO SEEK WHITE HOUSE"
    body = "Gov. Michael Dukakis said he would run."
    assert [s.text for s in segment(f"{headline}\n\n{body}")] == [headline, body]


@pytest.mark.parametrize("text", [
    "The talks ended in Jan. The next round is in May.",
    "The plant closes in Sept. Officials did not say why.",
    "The company is based in Kenosha, Wis. The move came as a surprise.",
    "He won by five pct. 12 analysts agreed.",
])
def test_a_sentence_still_ends_after_an_abbreviation_where_no_name_or_number_goes_on(text: str) -> None:
    """After an abbreviation that is no title (a month, a state, a unit), or one that stands before a
    number and has a word after it, the capital or number after the full stop starts a sentence."""
    assert len(segment(text)) == 2


def test_a_tables_rows_stand_alone_in_hard_wrapped_text():
    """A table's rows in hard-wrapped prose, between pipes or in three tab-separated cells or more,
    are lines of their own: they had been joined with the prose around them into one sentence, and
    a header cell was flagged ("Measure" -> "Bill")."""
    text = ("Russia and China proposed easing sanctions on\nTuesday, diplomats said. The table shows the measures:\n"
            "| Measure | Proposed by | Status |\n|---|---|---|\n| Partial relief | China and Russia | under discussion |\n"
            "Measure\tProposed by\tStatus\nPartial relief\tChina and Russia\tunder discussion\n"
            "The vote is expected\nnext week, they said.")
    got = [s.text for s in segment(text)]
    assert got == ["Russia and China proposed easing sanctions on\nTuesday, diplomats said.", "The table shows the measures:",
                   "| Measure | Proposed by | Status |", "|---|---|---|", "| Partial relief | China and Russia | under discussion |",
                   "Measure\tProposed by\tStatus", "Partial relief\tChina and Russia\tunder discussion",
                   "The vote is expected\nnext week, they said."]


@pytest.mark.parametrize("path", seed_paths(), ids=lambda p: p.name[:3])
def test_tabs_for_some_spaces_of_wrapped_prose_leave_its_sentences(path):
    """A wrapped line of prose with two tabs among its spaces had been taken for a table's row (three
    cells): its sentence was cut in three and the lines after it read as headings. A line that goes
    on from the prose before it, in lower case or with cells of prose, is prose."""
    text = read_seed(path)
    n = iter(range(1, len(text)))
    tabbed = re.sub(r"(?<=\S) (?=\S)", lambda m: "\t" if next(n) % 5 == 0 else " ", text)
    assert tabbed.count("\t") > 100
    assert [(s.start, s.end, s.kind) for s in segment(tabbed)] == [(s.start, s.end, s.kind) for s in segment(text)]
    short = ("Beijing has so far backed the talks but has tried\nto encourage him to be more\tforthcoming with "
             "suspending economic\trestrictions\nand joint exercises, officials said.")
    assert [s.kind for s in segment(short)] == ["prose"]
    rows = "Sales by region\nNorth\t10\t20\nSouth\t30\t40\nwest\t5\t6\n\nThe table shows sales."
    assert [s.text for s in segment(rows)] == ["Sales by region", "North\t10\t20", "South\t30\t40", "west\t5\t6",
                                               "The table shows sales."]


@pytest.mark.parametrize("mark", list(INVISIBLE))
def test_invisible_characters_anywhere_leave_sentences_and_words_as_in_plain_text(mark: str) -> None:
    """An invisible format character after every character of a text (but at its line breaks)
    leaves its sentences and words those of the plain text, with exact offsets. Before, a direction
    mark between "fine." and "Then" kept two sentences one; one inside "2.50", "U.S." or "company's"
    cut the token in two."""
    plain = ("The U.S. company's profits rose 2.50 pct in June/July, a well-known analyst said. "
             "It was fine.\nThen \u201cthey left.\u201d Prices fell (Reuters). Sales rose 1,850 dlrs!")
    marked = "".join(c + (mark if c != "\n" and nxt != "\n" else "") for c, nxt in zip(plain, plain[1:] + " "))
    sentences = segment(marked)
    assert_exact(marked, sentences)
    expected = segment(plain)
    assert [visible(s.text).strip() for s in sentences] == [s.text for s in expected]
    assert len(expected) == 5
    assert [visible(t.text) for s in sentences for t in s.tokens] == [t.text for s in expected for t in s.tokens]


@pytest.mark.parametrize("mark", ["\u200e", "\u200f", "\ufe0f"])
def test_direction_marks_and_variation_selectors_inside_a_word_are_invisible(mark):
    """Left-to-right and right-to-left marks (text copied from a page with right-to-left script)
    and a variation selector inside a word neither split it nor change how it reads."""
    text = f"The pro{mark}fits rose."
    toks = [t for t in tokenize(text) if t.is_word]
    assert [t.norm for t in toks] == ["the", "profits", "rose"] and toks[1].text == f"pro{mark}fits"


@pytest.mark.parametrize("reference", ["&#8217;", "&#x2019;", "&rsquo;", "&#39;", "&apos;"])
def test_a_character_reference_for_an_apostrophe_is_part_of_its_word(reference: str) -> None:
    """"they&#8217;re" had been three tokens, read "they re"; seed 002 with its apostrophes so
    written read 13 words more. It is one token read as "they're", as the apostrophe itself is."""
    plain = "They’re sure China’s stance didn’t change, a ‘rock’n’roll’ move."
    coded = plain.replace("’", reference).replace("‘", "&#8216;")
    assert [t.norm for t in tokenize(coded)] == [t.norm for t in tokenize(plain)]
    assert [t.text for t in tokenize(coded)][:3] == [f"They{reference}re", "sure", f"China{reference}s"]
    for path in seed_paths():
        text = read_seed(path)
        inner = re.sub(r"(?<=\w)’(?=\w)", reference, text)
        assert [t.norm for t in tokenize(inner)] == [t.norm for t in tokenize(text)]


def test_encoder_text_keeps_words_and_offsets_and_blanks_markup() -> None:
    from service.text import encoder_text

    text = 'They **stick** to [the talks](https://x.y/z "t") and _so_ on: <b>snake_case</b>, 2*3, “q” 🚀go™.'
    read = encoder_text(text)
    assert len(read) == len(text)
    assert read.split() == ["They", "stick", "to", "the", "talks", "and", "so", "on:", "snake_case", ",", "2*3,",
                            '"q"', "go", "."]
