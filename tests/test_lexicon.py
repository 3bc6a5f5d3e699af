"""Phrase lists of known spun -> original pairs (service/lexicon.py)."""

from __future__ import annotations

import os
import re
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
    assert lex.lookup("irregular woodland") == ("Random Forest",)  # spun lower-cased, whitespace collapsed
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


def test_matching_does_no_more_work_on_a_large_lexicon() -> None:
    """Entries are looked up by the word they start with: 6,000 more entries that start elsewhere
    add no lookup (the time it takes is measured in bench/, not here)."""

    class Counting(dict):
        lookups = 0

        def get(self, key, default=None):
            Counting.lookups += 1
            return super().get(key, default)

    toks = tokenize("the spun phrase and the cat sat. " * 500)
    counts = []
    for extra in (0, 6000):
        lexicon = Lexicon()
        for i in range(extra):
            lexicon.add(f"word{i} spun phrase", [f"original {i}"], "big")
        lexicon.add("the spun phrase", ["the original"], "big")
        lexicon._entries = Counting(lexicon._entries)
        Counting.lookups = 0
        assert len(lexicon.match(toks)) == 500
        counts.append(Counting.lookups)
    assert 0 < counts[0] == counts[1] <= 2 * len(toks)


def test_a_hit_the_caller_cannot_use_does_not_hide_a_shorter_one() -> None:
    lexicon = Lexicon()
    lexicon.add("world wellbeing association (who)", ["world health organization"], "t")
    lexicon.add("world wellbeing association", ["world health organization"], "t")
    lexicon.add("; (", ["x"], "t")
    lexicon.add("(rr) rose", ["(rr) rises"], "t")
    toks = tokenize("The world wellbeing association (WHO) said so; (RR) rose.")
    assert [h.spun for h in lexicon.match(toks)] == ["world wellbeing association (who)", "; ("]
    # a caller that cannot use a hit ending in ")" or made of punctuation only gets what else matches there
    usable = lambda first, last: toks[last - 1].text != ")" and any(t.is_word for t in toks[first:last])  # noqa: E731
    assert [h.spun for h in lexicon.match(toks, usable=usable)] == ["world wellbeing association", "(rr) rose"]


# --------------------------------------------------------------------------- through the engine


def _lexicon_engine(engine, lexicon: Lexicon):
    from service.engine import Engine

    return Engine(engine.settings, ngram=engine.ngram, fusion=engine.fusion, lexicon=lexicon)


def _lexicon_spans(report) -> list[tuple[str, str]]:
    return [(s.text, s.suggestions[0].text) for s in report.spans if "lexicon" in s.sources]


def test_entries_ending_in_punctuation_are_reported(engine, tmp_path: Path) -> None:
    """"hazard ratio (rr)": the hit ends in ")", which the language model does not read; it is
    reported all the same, over its own characters, with the list's original first."""
    path = write(tmp_path, "who.tsv", "world wellbeing association (who)\tworld health organization\n"
                 "world wellbeing association\tworld health organization\nhazard ratio (rr)\trelative risk\n")
    text = "The world wellbeing association (WHO) said so. The hazard ratio (RR) rose.\n"
    report = _lexicon_engine(engine, load_lexicon(path)).score(text, threshold=1.0)
    assert _lexicon_spans(report) == [
        ("world wellbeing association (WHO)", "world health organization"),
        ("hazard ratio (RR)", "relative risk"),
    ]
    for s in (s for s in report.spans if "lexicon" in s.sources):
        assert text[s.start : s.end] == s.text
        assert s.sources[0] == "lexicon" and s.score >= 0.95 and s.evidence["lexicon"] == "who"


def test_a_hit_without_words_does_not_hide_a_shorter_entry(engine) -> None:
    """An entry the language model cannot read at all ("; (") is not a slot; it no longer swallows
    the tokens of an entry that starts inside it."""
    lexicon = Lexicon()
    lexicon.add("; (", ["x"], "t")
    lexicon.add("(rr) rose", ["(rr) rises"], "t")
    text = "They said so; (RR) rose sharply.\n"
    report = _lexicon_engine(engine, lexicon).score(text, threshold=1.0)
    assert _lexicon_spans(report) == [("(RR) rose", "(rr) rises")]
    assert all(text[s.start : s.end] == s.text for s in report.spans)


def test_real_pps_entries_ending_in_a_parenthesis_are_reported(engine) -> None:
    """195 entries of the PPS export end in ")" ("synthetic intelligence (ai)"); a sample of them,
    each in a sentence, is reported with the list's original first."""
    if not PPS.exists():
        pytest.skip("../shared/lexicons/tortured_phrases_pps.tsv not present (shared dev data)")
    lexicon = load_lexicon(PPS)
    entries = sorted(
        (e.spun, e.originals[0]) for e in lexicon._entries.values() if e.spun.endswith(")")
    )
    assert len(entries) >= 150
    sample = entries[:: max(1, len(entries) // 12)]
    texts = [f"In this study the {spun} was measured twice.\n" for spun, _ in sample]
    e = _lexicon_engine(engine, lexicon)
    for (spun, original), text, report in zip(sample, texts, e.score_many(texts)):
        want = text.index(spun)
        found = [s for s in report.spans if s.start == want and "lexicon" in s.sources]
        assert found, f"{spun!r} not reported"
        assert found[0].end == want + len(spun) and found[0].text == spun
        assert found[0].suggestions[0].text == original


# --------------------------------------------------------------------------- UNSPIN_LEXICONS


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("nope.tsv", None, r"nope\.tsv: cannot read"),
        ("onecol.tsv", "loss characteristic\tloss function\nsurface region\n", r"onecol\.tsv:2: expected two columns"),
        ("latin.tsv", b"caf\xe9 noir\tblack coffee\n", r"latin\.tsv:1: not valid UTF-8"),
    ],
)
def test_a_bad_lexicon_setting_is_a_configuration_error(tmp_path: Path, name, content, message) -> None:
    from pydantic import ValidationError

    from service.config import Settings, settings_error

    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ValidationError) as err:
        Settings(lexicons=str(path))
    text = settings_error(err.value)
    assert "UNSPIN_LEXICONS" in text
    assert re.search(message, text), text


def test_a_bad_lexicon_setting_stops_the_cli_with_a_usage_error(tmp_path: Path, runner, monkeypatch) -> None:
    """Exit 2 naming the variable and the file's line, before any engine loads, for every command
    (also ``unspin serve``, which then never starts a server)."""
    from service.cli import main

    bad = write(tmp_path, "onecol.tsv", "loss characteristic\n")
    monkeypatch.setenv("UNSPIN_LEXICONS", str(bad))
    for args in (["score", str(bad)], ["serve", "--port", "1"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "UNSPIN_LEXICONS" in result.stderr and "onecol.tsv:1: expected two columns" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_changed_list_is_read_again(tmp_path: Path) -> None:
    """The setting is checked by loading its lists (kept per file version for the engine's load):
    a list changed since is read again."""
    from service.config import Settings

    path = write(tmp_path, "mine.tsv", "loss characteristic\tloss function\n")
    assert Settings(lexicons=str(path)).lexicons == str(path)
    assert load_lexicons(str(path)).lookup("loss characteristic") == ("loss function",)
    write(tmp_path, "mine.tsv", "loss characteristic\tloss function|cost function\n")
    assert load_lexicons(str(path)).lookup("loss characteristic") == ("loss function", "cost function")


# --------------------------------------------------------------------------- a list's suggestions as written


def _listed(engine, text: str, *pairs: tuple[str, str]) -> list[tuple[str, str]]:
    """The list's spans in ``text`` (span, first suggestion), with a list of ``pairs``."""
    lexicon = Lexicon()
    for spun, original in pairs:
        lexicon.add(spun, [original], "user")
    return _lexicon_spans(_lexicon_engine(engine, lexicon).score(text, threshold=1.0))


def test_a_list_suggestion_takes_its_own_article(engine) -> None:
    """"an essential moment" -> "a critical moment", as the engine's own suggestions do: the span
    takes in the article when the original needs the other one, and leaves it out when not."""
    from service.restore import restore

    lexicon = Lexicon()
    lexicon.add("essential moment", ["critical moment"], "user")
    lexicon.add("unique choice", ["honest choice"], "user")
    lexicon.add("huge step", ["big step"], "user")
    text = "It came at an essential moment. It was a unique choice. It was a huge step."
    report = _lexicon_engine(engine, lexicon).score(text, threshold=1.0)
    assert _lexicon_spans(report) == [("an essential moment", "a critical moment"),
                                      ("a unique choice", "an honest choice"), ("huge step", "big step")]
    assert restore(text, report) == "It came at a critical moment. It was an honest choice. It was a big step."


def test_a_list_suggestion_keeps_the_number_the_text_has(engine) -> None:
    """A phrase found with its last word in the other number gets its original in that number."""
    text = "The surface regions of the samples grew. An irregular woodland was fitted. The dna harms were large."
    pairs = [("surface region", "surface area"), ("irregular woodlands", "random forests"), ("dna harm", "DNA damage")]
    assert _listed(engine, text, *pairs) == [("surface regions", "surface areas"), ("An irregular woodland", "A random forest"),
                                      ("dna harms", "DNA damages")]


def test_a_list_suggestion_keeps_the_lists_capitals_and_title_case(engine) -> None:
    """The list's own capitals stay ("DNA damage", not "Dna damage"); a span in Title Case or in
    capitals gets its suggestion so; a sentence's first word its capital."""
    text = ("The dna harm was large. DNA harm was large. The Surface Region Of Things. "
            "THE SURFACE REGION GREW. Surface region grew.")
    assert _listed(engine, text, ("dna harm", "DNA damage"), ("surface region", "surface area")) == [("dna harm", "DNA damage"), ("DNA harm", "DNA damage"),
                                      ("Surface Region", "Surface Area"), ("SURFACE REGION", "SURFACE AREA"),
                                      ("Surface region", "Surface area")]


def test_match_case() -> None:
    from service.case import match_case

    assert match_case("FINANCIAL", "economic") == "ECONOMIC"
    assert match_case("Modifying by", "editing by") == "Editing by"
    assert match_case("Field Glasses", "binoculars") == "Binoculars"
    assert match_case("Terrific Powers", "great powers") == "Great Powers"
    assert match_case("“Optimal Pressure", "maximum pressure") == "Maximum Pressure"
    assert match_case("terrific powers", "great powers") == "great powers"
    assert match_case("dna harm", "DNA damage") == "DNA damage"
    assert match_case("A", "an") == "An"
    assert match_case("Rate of Death", "mortality rate") == "Mortality Rate"
    assert match_case("Signal To Noise", "signal to noise ratio") == "Signal to Noise Ratio"


def test_in_number() -> None:
    from service.lexicon import in_number

    assert in_number("surface area", True) == "surface areas"
    assert in_number("random forests", False) == "random forest"
    assert in_number("analysis of variance", True) == "analysis of variance"  # its head is not the last word
    assert in_number("ECG", True) == "ECGs" and in_number("ECGs", False) == "ECG"
    assert in_number("Support Vector Machine", True) == "Support Vector Machines"
    assert in_number("surface areas", True) == "surface areas"


# --------------------------------------------------------------------------- reading lists as spreadsheets write them


def test_a_semicolon_list_with_commas_in_its_phrases(tmp_path: Path) -> None:
    lex = load_lexicon(write(tmp_path, "s.csv", "big, huge data;big data\nsurface region;surface area\n"))
    assert lex.lookup("big, huge data") == ("big data",) and lex.lookup("surface region") == ("surface area",)
    assert "big" not in lex
    # a comma in every line too: commas in prose have a space after them, the delimiter has none
    lex = load_lexicon(write(tmp_path, "t.csv", "big, huge data;large data\nsmall, tiny thing;little thing\n"))
    assert lex.lookup("small, tiny thing") == ("little thing",) and "big" not in lex


def test_quoted_cells_of_a_tab_separated_list(tmp_path: Path) -> None:
    """Spreadsheets quote a cell holding a comma or a quote when they export tab-separated text."""
    lex = load_lexicon(write(tmp_path, "x.tsv", '"big, huge data"\tbig data\nsurface region\t"surface area"\n'
                                                 '"the ""so-called"" gap"\tthe gap\nsaid "yes"\tagreed\n'))
    assert lex.lookup("big, huge data") == ("big data",)
    assert lex.lookup("surface region") == ("surface area",)
    assert lex.lookup('the "so-called" gap') == ("the gap",)
    assert lex.lookup('said "yes"') == ("agreed",)  # quotes inside a cell are its own


def test_comments_after_a_lines_cells(tmp_path: Path) -> None:
    """A "#" after whitespace ends a line's cells, as a "#" opening a line makes it a comment (the note
    had become part of the original, suggested as "huge data # from the 2021 paper"); a "#" inside a
    word or a quoted cell is the phrase's own."""
    lex = load_lexicon(write(tmp_path, "x.tsv", "big data\thuge data  # from the 2021 paper\n"
                                                 "surface region\tsurface area\t# checked\n"
                                                 "C# code\tC sharp code\n"
                                                 '"issue #5 fix"\t"bug #5 fix" # quoted\n'))
    assert lex.lookup("big data") == ("huge data",)
    assert lex.lookup("surface region") == ("surface area",)
    assert lex.lookup("c# code") == ("C sharp code",)
    assert lex.lookup("issue #5 fix") == ("bug #5 fix",)
    csv_lex = load_lexicon(write(tmp_path, "y.csv", "terrific powers,great powers # seed 002\n"))
    assert csv_lex.lookup("terrific powers") == ("great powers",)
    with pytest.raises(LexiconError, match=r"x2.tsv:1: expected two columns"):
        load_lexicon(write(tmp_path, "x2.tsv", "big data # huge data\n"))


def test_an_inch_mark_opens_no_quoted_cell_and_a_later_bom_is_ignored(tmp_path: Path) -> None:
    """A quotation mark opens a quoted cell only at a cell's start: after '5" screen' the comment is
    still a comment (it had been suggested as "five inch screen # from 2021 list"). A BOM starting a
    later line (two lists joined with cat) is ignored: that entry had been stored under an empty
    word and never matched."""
    lex = load_lexicon(write(tmp_path, "x.tsv", '5" screen\tfive inch screen  # from 2021 list\n'
                                                 '"12"" ruler"\tfoot rule # quoted, with a doubled mark\n'
                                                 "bosom peril\tbreast cancer\n"
                                                 "\ufeffhuge information\tbig data\n"))
    assert lex.lookup('5" screen') == ("five inch screen",)
    assert lex.lookup('12" ruler') == ("foot rule",)
    assert lex.lookup("huge information") == ("big data",)
    assert len(lex) == 4


def test_a_third_cell_without_a_header_is_an_error(tmp_path: Path) -> None:
    """Without a header naming the columns, a line of three cells is not a spun/original pair: an
    error naming the line (the third cell had been dropped without a word). Empty cells after the
    two (a CSV's trailing comma) and other columns under a header stay fine."""
    with pytest.raises(LexiconError, match=r"x.tsv:2: expected two columns.*third cell"):
        load_lexicon(write(tmp_path, "x.tsv", "big data\thuge data\nbosom peril\tbreast cancer\tmammary cancer\n"))
    assert load_lexicon(write(tmp_path, "y.csv", "bosom peril,breast cancer,\n")).lookup("bosom peril") == ("breast cancer",)
    lex = load_lexicon(write(tmp_path, "z.csv", "id,spun,original,note\n1,bosom peril,breast cancer,seen twice\n"))
    assert lex.lookup("bosom peril") == ("breast cancer",)


@pytest.mark.parametrize("header", ["spun phrase\tmeaning", "tortured_phrase,expected_phrase",
                                    "tortured phrase\tcorrect phrase", "Expected\tTortured", "phrase;replacement"])
def test_headers_in_words_of_their_own(tmp_path: Path, header: str) -> None:
    sep = "\t" if "\t" in header else "," if "," in header else ";"
    spun_first = not header.lower().startswith("expected")
    row = sep.join(["surface region", "surface area"] if spun_first else ["surface area", "surface region"])
    lex = load_lexicon(write(tmp_path, "h.txt", f"{header}\n{row}\n"))
    assert len(lex) == 1 and lex.lookup("surface region") == ("surface area",)


def test_an_entry_that_is_its_own_original_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match=r"same.tsv:2: the original of 'surface area' is the phrase itself"):
        load_lexicon(write(tmp_path, "same.tsv", "surface region\tsurface area\nsurface area\tSurface Area\n"))


def test_line_numbers_count_line_ends_only(tmp_path: Path) -> None:
    """A form feed or U+2028 inside a line does not start one: errors name the line an editor shows."""
    with pytest.raises(LexiconError, match=r"ff.tsv:2: expected two columns"):
        load_lexicon(write(tmp_path, "ff.tsv", "a b\tc d\x0c\nonly one\n"))
    with pytest.raises(LexiconError, match=r"ls.tsv:2: not valid UTF-8"):
        path = tmp_path / "ls.tsv"
        path.write_bytes("a\u2028b\tc d\r".encode() + b"caf\xe9\tx\n")
        load_lexicon(path)


def test_a_header_names_its_columns_wherever_they_are(tmp_path: Path) -> None:
    lex = load_lexicon(write(tmp_path, "i.csv", "id,spun,original\n1,terrific powers,great powers\n"))
    assert len(lex) == 1 and lex.lookup("terrific powers") == ("great powers",)


def test_a_one_word_entry_matches_its_other_number() -> None:
    """As a phrase's last word does ("surface regions"), a one-word entry matches in the other
    number ("woodlands" for "woodland"), and its original comes in that number."""
    lex = Lexicon()
    lex.add("woodland", ["forest"], "user")
    lex.add("masses", ["crowds"], "user")
    hits = lex.match(tokenize("Woodlands and a mass grew."))
    assert [(h.spun, h.plural, h.suggestions) for h in hits] == [("woodland", True, ("forests",)),
                                                                  ("masses", False, ("crowd",))]


def test_a_list_phrase_is_found_whatever_hyphens_its_words_have(engine) -> None:
    """A hyphenated entry broken at its hyphen by a hard wrap ("man-\\nmade", which the text reads as
    "manmade", a word of the pronouncing dictionary) had not been found; nor had an entry without
    the hyphen the text has. The span covers the text as written, line break and all."""
    from service.restore import restore

    text = "The model used man-\nmade intelligence. A man-made brain learned."
    pairs = [("man-made intelligence", "artificial intelligence"), ("manmade brain", "artificial brain")]
    assert _listed(engine, text, *pairs) == [("man-\nmade intelligence", "artificial intelligence"),
                                             ("A man-made brain", "An artificial brain")]
    lexicon = Lexicon()
    for spun, original in pairs:
        lexicon.add(spun, [original], "user")
    report = _lexicon_engine(engine, lexicon).score(text, threshold=1.0)
    assert restore(text, report) == "The model used artificial intelligence. An artificial brain learned."
    assert len(lexicon) == 2 and "manmade intelligence" not in lexicon


def test_a_phrase_joined_by_hyphens_matches_its_entry() -> None:
    """"sign-to-commotion" (the tortured "signal-to-noise") is one token: no entry of several words
    had matched it. It now matches "sign to commotion", and its originals are joined the same way."""
    lex = Lexicon()
    lex.add("sign to commotion", ["signal to noise"])
    lex.add("colossal information", ["big data"])
    lex.add("man-made intelligence", ["artificial intelligence"])
    text = "The sign-to-commotion ratio of colossal-information tools, sign to commotion and man-made intelligence."
    toks = tokenize(text)
    hits = lex.match(toks)
    assert [(text[toks[h.first_token].start : toks[h.last_token - 1].end], h.suggestions) for h in hits] == [
        ("sign-to-commotion", ("signal-to-noise",)), ("colossal-information", ("big-data",)),
        ("sign to commotion", ("signal to noise",)), ("man-made intelligence", ("artificial intelligence",))]
    assert [h.compound for h in hits] == [True, True, False, False]
    [plural] = lex.match(tokenize("sign-to-commotions"))
    assert plural.suggestions == ("signal-to-noise",)
    assert lex.match(tokenize("a sign-to noise")) == [] and lex.match(tokenize("well-known")) == []


def test_an_entry_is_no_hit_where_its_original_is_the_text() -> None:
    """The entry "smart device" -> "smart devices" had flagged "smart devices" with the suggestion
    "smart devices" (the entry's plural is its original)."""
    lex = Lexicon()
    lex.add("smart device", ["smart devices"])
    assert lex.match(tokenize("Smart devices are here.")) == []
    assert [h.suggestions for h in lex.match(tokenize("A smart device is here."))] == [("smart devices",)]


def test_entries_that_would_flag_a_right_term_are_left_out(tmp_path: Path, caplog) -> None:
    """Real exports hold notes and contradictions: "neural network" -> "[neural network] layer
    outputs" (the original holds the phrase) and "machine learning" -> "discriminative learning"
    where another line gives "machine learning" as the original of "device learning". Either would
    flag the right term in every paper that uses it: each is left out, with a warning naming one."""
    path = write(tmp_path, "pps.tsv", "tortured\texpected\n"
                 "neural network\t[neural network] layer outputs\n"
                 "technology spillover\treverse technology spillover\n"
                 "device learning\tmachine learning\n"
                 "machine learning\tdiscriminative learning\n"
                 "surface region\tsurface area\n")
    with caplog.at_level("WARNING", logger="service.lexicon"):
        lex = load_lexicon(path)
    assert sorted(e for e in ("neural network", "technology spillover", "device learning", "machine learning",
                              "surface region") if e in lex) == ["device learning", "surface region"]
    assert lex.left_out == [("neural network", "[neural network] layer outputs"),
                            ("technology spillover", "reverse technology spillover"),
                            ("machine learning", "discriminative learning")]
    assert "2 entries left out, whose originals hold the phrase itself" in caplog.text
    assert "1 entry left out, whose phrase the list gives as another entry's original ('machine learning'" in caplog.text
    assert hit_texts("We trained neural networks with machine learning.", lex) == []


def test_the_engine_reports_a_hyphen_joined_tortured_phrase(engine) -> None:
    text = "The sign-to-commotion ratio of the new receiver was measured twice."
    assert _listed(engine, text, ("sign to commotion", "signal to noise")) == [("sign-to-commotion", "signal-to-noise")]
