"""Phrase lists of known spun -> original pairs (service/lexicon.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.lexicon import Lexicon, LexiconError, LexiconHit, load_lexicon, load_lexicons
from service.text import tokenize

PPS = Path(__file__).resolve().parent.parent.parent / "shared" / "lexicons" / "tortured_phrases_pps.tsv"


def write(tmp_path: Path, name: str, content: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def hit_texts(text: str, lexicon: Lexicon) -> list[tuple[str, tuple[str, ...]]]:
    toks = tokenize(text)
    return [(text[toks[h.first_token].start : toks[h.last_token - 1].end], h.originals) for h in lexicon.match(toks)]


# --------------------------------------------------------------------------- loading


def test_pps_format(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "pps.tsv",
        "tortured\texpected\n"
        "surface region\tsurface area\n"
        "man-made intelligence\tartificial intelligence\n"
        "alzheimer's illness\talzheimer's disease\n"
        "Irregular   Woodland\tRandom Forest\n",
    )
    lex = load_lexicon(path)
    assert len(lex) == 4
    assert lex.lookup("surface region") == ("surface area",)
    assert lex.lookup("irregular woodland") == ("random forest",)  # lower-cased, whitespace collapsed
    assert "tortured" not in lex  # the header is not an entry
    [hit] = lex.match(tokenize("The surface region grew."))
    assert hit.source == "pps"


def test_real_pps_export() -> None:
    if not PPS.exists():
        pytest.skip("../shared/lexicons/tortured_phrases_pps.tsv not present (shared dev data)")
    lex = load_lexicon(PPS)
    assert len(lex) > 5000
    assert lex.lookup("man-made intelligence") == ("artificial intelligence",)
    hits = hit_texts("We trained a man-made intelligence on Alzheimer’s illness data.", lex)
    assert ("man-made intelligence", ("artificial intelligence",)) in hits
    assert ("Alzheimer’s illness", ("alzheimer's disease",)) in hits


def test_csv_without_header_with_comments_bom_and_quotes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mine.csv",
        "\ufeff# my list\n\nterrific powers,great powers\n"
        '"exactness, accuracy",precision\n'
        "  # indented comment\n"
        "profound learning,deep learning|in-depth learning\n",
    )
    lex = load_lexicon(path)
    assert len(lex) == 3
    assert lex.lookup("exactness, accuracy") == ("precision",)
    assert lex.lookup("profound learning") == ("deep learning", "in-depth learning")


def test_csv_with_header_in_other_column_order(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", "original;spun;note\ngreat powers;terrific powers;x\n")
    lex = load_lexicon(path)
    assert lex.lookup("terrific powers") == ("great powers",)


def test_generic_tsv_repeated_key_collects_originals(tmp_path: Path) -> None:
    path = write(tmp_path, "g.tsv", "going to scholar\tvisiting scholar\ngoing to scholar\tvisiting fellow\r\n")
    lex = load_lexicon(path)
    assert len(lex) == 1
    assert lex.lookup("going to scholar") == ("visiting scholar", "visiting fellow")


def test_load_lexicons_merges_and_remembers_sources(tmp_path: Path) -> None:
    a = write(tmp_path, "alpha.tsv", "terrific powers\tgreat powers\n")
    b = write(tmp_path, "beta.csv", "terrific powers,great nations\nbrand-new path,new path\n")
    lex = load_lexicons(f"{a}{os.pathsep}{b}")
    assert len(lex) == 2
    assert lex.lookup("terrific powers") == ("great powers", "great nations")
    by_spun = {h.spun: h for h in lex.match(tokenize("terrific powers took a brand-new path"))}
    assert by_spun["terrific powers"].source == "alpha,beta"
    assert by_spun["brand-new path"].source == "beta"
    assert len(load_lexicons([a, b])) == 2
    assert len(load_lexicons("")) == 0 and len(load_lexicons([])) == 0


def test_empty_file_is_an_empty_lexicon(tmp_path: Path) -> None:
    assert len(load_lexicon(write(tmp_path, "e.tsv", "# nothing yet\n\n"))) == 0


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.tsv"
    with pytest.raises(LexiconError, match="nope.tsv"):
        load_lexicon(missing)
    with pytest.raises(LexiconError, match="nope.tsv"):
        load_lexicons(str(missing))


def test_bad_row_names_path_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.tsv", "tortured\texpected\nfine phrase\tgood phrase\nonly one column\n")
    with pytest.raises(LexiconError, match=r"bad.tsv:3: expected two columns"):
        load_lexicon(path)


def test_empty_original_and_bad_quotes(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match=r"e.csv:2"):
        load_lexicon(write(tmp_path, "e.csv", "a b,c d\ne f,\n"))
    with pytest.raises(LexiconError, match=r"q.csv:1"):
        load_lexicon(write(tmp_path, "q.csv", 'x,"y"z"\n'))


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "latin.tsv", "a b\tc d\ncaf\xe9 noir\tblack coffee\n", encoding="latin-1")
    with pytest.raises(LexiconError, match=r"latin.tsv:2: not valid UTF-8"):
        load_lexicon(path)


def test_lexicon_error_is_a_value_error() -> None:
    assert issubclass(LexiconError, ValueError)


# --------------------------------------------------------------------------- matching


@pytest.fixture()
def lex() -> Lexicon:
    lexicon = Lexicon()
    lexicon.add("profound learning", ["deep learning"], "t")
    lexicon.add("profound learning model", ["deep learning model"], "t")
    lexicon.add("learning model", ["learning method"], "t")
    lexicon.add("irregular woodland", ["random forest"], "t")
    lexicon.add("hazard ratio (rr)", ["relative risk"], "t")
    lexicon.add("alzheimer's illness", ["alzheimer's disease"], "t")
    return lexicon


def test_match_multi_word_with_offsets(lex: Lexicon) -> None:
    text = "An Irregular\nWoodland and the hazard ratio (RR) of Alzheimer’s illness."
    toks = tokenize(text)
    hits = lex.match(toks)
    assert [h.spun for h in hits] == ["irregular woodland", "hazard ratio (rr)", "alzheimer's illness"]
    first = hits[0]
    assert isinstance(first, LexiconHit)
    assert (first.first_token, first.last_token) == (1, 3)
    assert text[toks[first.first_token].start : toks[first.last_token - 1].end] == "Irregular\nWoodland"
    assert first.originals == ("random forest",) and first.exact


def test_longest_match_wins_and_hits_do_not_overlap(lex: Lexicon) -> None:
    assert [h.spun for h in lex.match(tokenize("a profound learning model here"))] == ["profound learning model"]
    assert [h.spun for h in lex.match(tokenize("a profound learning approach"))] == ["profound learning"]


def test_punctuation_breaks_a_match(lex: Lexicon) -> None:
    assert lex.match(tokenize("irregular, woodland")) == []
    assert lex.match([]) == []


def test_plural_tolerance(lex: Lexicon) -> None:
    [hit] = lex.match(tokenize("Irregular woodlands grow."))
    assert hit.spun == "irregular woodland" and not hit.exact
    assert (hit.first_token, hit.last_token) == (0, 2)


def test_match_is_fast_on_a_large_lexicon() -> None:
    lexicon = Lexicon()
    for i in range(6000):
        lexicon.add(f"word{i} spun phrase", [f"original {i}"], "big")
    lexicon.add("the spun phrase", ["the original"], "big")
    toks = tokenize("the spun phrase and the cat sat. " * 500)
    import time

    start = time.perf_counter()
    hits = lexicon.match(toks)
    assert len(hits) == 500
    assert time.perf_counter() - start < 0.5
