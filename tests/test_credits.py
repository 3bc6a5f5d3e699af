"""Credit lines' role words (service/credits.py): "Modifying by" -> "Editing by", the names after a
spun role ("Banquet" -> "Feast"), and what stays alone."""

from __future__ import annotations

import pytest

from service.credits import CREDIT_SCORE, NAME_SCORE, NAME_SOURCE, SOURCE, credit_hits
from service.text import segment

PROSE = "North Korea said on Monday it would hold talks with the United States next month, the agency reported.\n\n"


def _spans(engine, credit_line: str):
    text = PROSE + credit_line
    assert segment(text)[-1].kind == "byline"
    return [s for s in engine.score(text).spans if s.start >= len(PROSE)]


@pytest.mark.parametrize(
    "line, written, original",
    [
        ("Reporting by Josh Smith; Modifying by Lincoln Feast and Gareth Jones", "Modifying", "Editing"),
        ("Coverage by Josh Smith; Editing by Lincoln Feast", "Coverage", "Reporting"),
        ("Composing by Josh Smith; Editing by Lincoln Feast", "Composing", "Writing"),
        ("Additional coverage by Josh Smith; Editing by Lincoln Feast", "Additional coverage", "Additional reporting"),
        ("(Reporting by Josh Smith; Altering by Lincoln Feast)", "Altering", "Editing"),
    ],
)
def test_spun_role_words_are_found(engine, line, written, original):
    spans = [s for s in _spans(engine, line) if s.evidence.get("lexicon") != NAME_SOURCE]
    assert [s.text for s in spans] == [written]
    span = spans[0]
    assert span.suggestions[0].text == original
    assert span.sources == ["credit-line"]
    assert span.evidence["lexicon"] == SOURCE
    assert span.score >= CREDIT_SCORE
    text = PROSE + line
    assert text[span.start : span.end] == span.text


@pytest.mark.parametrize(
    "line",
    [
        "Reporting by Josh Smith; Editing by Lincoln Feast and Gareth Jones",
        "Additional reporting by Josh Smith; Writing by Lincoln Feast",
        "Animation by Josh Smith; Editing by Lincoln Feast",  # unusual, but no neighbour of a formula role
        "Interviews by Josh Smith; Photography by Lincoln Feast",
    ],
)
def test_usual_and_unrelated_roles_stay_alone(engine, line):
    assert _spans(engine, line) == []


def test_only_bylines(engine):
    """The same words in prose are the language model's business, not this signal's."""
    text = "The bill was passed after Modifying by Senate committees."
    sentence = segment(text)[0]
    assert sentence.kind == "prose"
    assert credit_hits(sentence, engine.thesaurus, engine.relatedness) == []


def test_the_seed_byline(engine, seeds):
    text = next(t for name, t in seeds.items() if name.startswith("002"))
    spans = {s.text: s for s in engine.score(text).spans}
    assert spans["Modifying"].suggestions[0].text == "Editing"
    assert spans["Banquet"].suggestions[0].text == "Feast"


def test_surnames_that_are_words_after_a_spun_role(engine):
    spans = {s.text: s for s in _spans(engine, "Reporting by Josh Smith; Modifying by Lincoln Banquet and Gareth Jones")}
    assert set(spans) == {"Modifying", "Banquet"}  # "Lincoln", "Jones": names only; "Smith": a usual role's
    name = spans["Banquet"]
    assert [s.text for s in name.suggestions][:1] == ["Feast"]  # closest in meaning first, case kept
    assert name.evidence["lexicon"] == NAME_SOURCE and "credit-line" in name.sources
    assert NAME_SCORE <= name.score
    assert NAME_SCORE < CREDIT_SCORE <= spans["Modifying"].score
    # first names stay alone, each name's surname is read
    spans = _spans(engine, "Coverage by Mark Price and Tom Brown; Editing by Lincoln Feast")
    assert [s.text for s in spans] == ["Coverage", "Price", "Brown"]
    # after a usual role, nothing
    assert _spans(engine, "Reporting by Mark Price; Editing by Lincoln Banquet") == []


def test_a_credit_line_in_capitals(engine, seeds):
    """A credit line typed in capitals, or upper-cased with the text to hide a spin, is read as one:
    "MODIFYING BY LINCOLN BANQUET" -> "EDITING", "FEAST" (it had been prose, and the language model
    had offered "REPLACED"); usual roles stay alone, and a headline in capitals with "BY" in it is no
    credit line."""
    spans = {s.text: s for s in _spans(engine, "REPORTING BY JOSH SMITH; MODIFYING BY LINCOLN BANQUET AND GARETH JONES")}
    assert set(spans) == {"MODIFYING", "BANQUET"}
    assert spans["MODIFYING"].suggestions[0].text == "EDITING" and spans["MODIFYING"].evidence["lexicon"] == SOURCE
    assert spans["BANQUET"].suggestions[0].text == "FEAST" and spans["BANQUET"].evidence["lexicon"] == NAME_SOURCE
    spans = _spans(engine, "ADDITIONAL COVERAGE BY JOSH SMITH, ANN LEE; EDITING BY LINCOLN FEAST")
    roles = [(s.text, s.suggestions[0].text) for s in spans if s.evidence["lexicon"] == SOURCE]
    assert roles == [("ADDITIONAL COVERAGE", "ADDITIONAL REPORTING")]
    mixed = _spans(engine, "Additional coverage by Josh Smith, Ann Lee; Editing by Lincoln Feast")
    assert [s.text.upper() for s in spans] == [s.text.upper() for s in mixed]  # the surnames that are words, as in mixed case
    assert _spans(engine, "REPORTING BY JOSH SMITH; EDITING BY LINCOLN FEAST AND GARETH JONES") == []
    for headline in ("SHOT BY POLICE", "KILLED BY POLICE; FIVE HURT", "STORM KNOCKS OUT POWER"):
        assert segment(PROSE + headline)[-1].kind != "byline", headline
    upper = next(t for name, t in seeds.items() if name.startswith("002")).upper()
    spans = {s.text: s for s in engine.score(upper).spans}
    assert spans["MODIFYING"].suggestions[0].text == "EDITING" and spans["BANQUET"].suggestions[0].text == "FEAST"


def test_a_credit_line_in_title_case(engine):
    """A credit line typed in Title Case ("Modifying By Lincoln Banquet") is read as one, as a line in
    capitals is: two credits or a usual role; a Title Case headline with "By" in it is no credit
    line (it had been prose, "Modifying" and "Banquet" left alone)."""
    for line in ("Reporting By Josh Smith; Modifying By Lincoln Banquet And Gareth Jones",
                 "Reporting By Josh Smith; Modifying By Lincoln Banquet and Gareth Jones"):
        spans = {s.text: s for s in _spans(engine, line)}
        assert set(spans) == {"Modifying", "Banquet"}, line
        assert spans["Modifying"].suggestions[0].text == "Editing" and spans["Modifying"].evidence["lexicon"] == SOURCE
        assert spans["Banquet"].suggestions[0].text == "Feast" and spans["Banquet"].evidence["lexicon"] == NAME_SOURCE
    assert _spans(engine, "Reporting By Josh Smith; Editing By Lincoln Feast And Gareth Jones") == []
    for headline in ("Shot By Police", "Stocks Rally By Two Percent As Oil Falls", "Modifying By Lincoln Banquet",
                     "Killed By Police; Five Hurt In Clashes"):
        assert segment(PROSE + headline)[-1].kind != "byline", headline


def test_a_credit_line_hit_meets_the_threshold_like_any_signal(engine):
    """Unlike a user's own list, the credit-line signal does not outrank the threshold."""
    text = PROSE + "Reporting by Josh Smith; Modifying by Lincoln Feast"
    assert [s.text for s in engine.score(text).spans] == ["Modifying", "Feast"]
    assert [s.text for s in engine.score(text, threshold=CREDIT_SCORE).spans] == ["Modifying"]
    assert engine.score(text, threshold=0.99).spans == []


@pytest.mark.parametrize("stem", [SOURCE, NAME_SOURCE])
def test_a_user_lexicon_named_like_a_credit_list_is_a_user_lexicon(engine, tmp_path, stem):
    """The credit-line rules belong to the hits service/credits.py makes, not to a file name: a
    user's list saved as credit-line.tsv is reported like any user list (always, score 0.95)."""
    from service.analysis import LEXICON_SCORE
    from service.engine import Engine
    from service.lexicon import load_lexicon

    path = tmp_path / f"{stem}.tsv"
    path.write_text("loss characteristic\tloss function\n", encoding="utf-8")
    e = Engine(engine.settings, ngram=engine.ngram, fusion=engine.fusion, lexicon=load_lexicon(path))
    [span] = [s for s in e.score("We minimise the loss characteristic of the model.", threshold=0.99).spans]
    assert span.text == "loss characteristic" and span.suggestions[0].text == "loss function"
    assert span.sources[0] == "lexicon" and "credit-line" not in span.sources
    assert span.score >= LEXICON_SCORE and span.suggestions[0].score == 1.0
    assert span.evidence["lexicon"] == stem  # the file stem, as for any list
