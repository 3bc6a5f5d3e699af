"""The indefinite article: chosen by sound, adjusted by the spinner, scored fairly and suggested
with its word by the engine ("at an essential moment" -> "a critical")."""

from __future__ import annotations

import re

import pytest

from service.articles import after_its_article, article_for, with_article_case
from service.lm.base import Slot
from service.spinner import spin, unspin


@pytest.mark.parametrize("word, article", [
    ("critical", "a"), ("essential", "an"), ("hour", "an"), ("honest", "an"), ("university", "a"),
    ("one-time", "a"), ("European", "a"), ("FBI", "an"), ("unspecified", "an"), ("Xylophonic", "a"),
    ("ozzlewomp", "an"), ("field glasses", "a"), ("", "a"),
])
def test_article_goes_by_sound(word, article):
    assert article_for(word) == article


@pytest.mark.parametrize("written, article, out", [("a", "an", "an"), ("A", "an", "An"), ("An", "a", "A"),
                                                   ("AN", "a", "A"), ("an", "a", "a")])
def test_article_keeps_the_written_case(written, article, out):
    assert with_article_case(written, article) == out


def test_a_word_after_its_article():
    assert after_its_article("an", "critical") == "a critical"
    assert after_its_article("A", "essential") == "An essential"
    assert after_its_article("a", "hour", "\n") == "an\nhour"
    # a one-letter "A" before a word in capitals is in capitals (it had been "An IMPORTANT")
    assert after_its_article("A", "IMPORTANT") == "AN IMPORTANT" and after_its_article("AN", "CRUCIAL") == "A CRUCIAL"
    assert after_its_article("A", "Important") == "An Important" and after_its_article("A", "I") == "An I"


def test_spinner_adjusts_the_article_and_the_gold_span_takes_it_in():
    text = "It comes at a critical moment for an important deal and a key vote. " * 30
    adjusted = 0
    for seed in range(12):
        doc = spin(text, rate=0.5, seed=seed)
        assert unspin(doc.text, doc.spans) == text
        for s in doc.spans:
            assert doc.text[s.start:s.end] == s.text
            head, _, rest = s.text.partition(" ")
            if head.lower() in ("a", "an") and rest:
                adjusted += 1
                assert head.lower() == article_for(rest) != s.original.split()[0].lower()
        # every "a"/"an" before a word agrees with it, as in the original
        for m in re.finditer(r"\b(an?) (\w+)", doc.text):
            assert m.group(1) == article_for(m.group(2))
    assert adjusted  # "a critical" -> "an essential" and the like happened


def test_spinner_can_keep_the_articles_as_written():
    text = "It comes at a critical moment for an important deal and a key vote. " * 30
    spans = [s for seed in range(12) for s in spin(text, rate=0.5, seed=seed, articles=False).spans]
    assert spans and not any(s.text.split()[0].lower() in ("a", "an") for s in spans)


def test_a_candidate_after_the_other_article_is_scored_with_its_own(engine):
    text = "The new strategy comes at an essential moment for the talks."
    analysis = engine.analyze(text)
    slot = next(r for r in analysis.slots if r.written == ("essential",))
    assert slot.article is not None
    names = [c.text for c in slot.candidates]
    assert "critical" in names and "important" in names
    toks = analysis.sentences[slot.sentence].tokens
    words = tuple(t.text.lower() for t in toks if t.is_word)
    at = words.index("essential")
    # the fusion's lm_gain of "critical" is the 3-gram model's gain of "a critical" over "an essential"
    alt = engine.lm.compare([Slot(words, at - 1, at + 1, (("a", "critical"),))])[0]
    gain = slot.features[names.index("critical"), 0]
    assert gain == pytest.approx(alt[1] - alt[0])
    # and "important", which agrees with "an", as before: compared with the article as written
    same = engine.lm.compare([Slot(words, at, at + 1, (("important",),))])[0]
    assert slot.features[names.index("important"), 0] == pytest.approx(same[1] - same[0])


def test_applying_any_suggestion_leaves_the_article_agreeing(engine, seeds):
    """Every span of both seeds at threshold 0: a span after "a"/"an" either takes the article in
    (then each suggestion brings its own, agreeing) or all its suggestions agree with it."""
    widened = 0
    for text in seeds.values():
        report = engine.score(text, threshold=0.0, max_suggestions=5)
        for s in report.spans:
            assert text[s.start:s.end] == s.text
            head = re.match(r"(a|an|A|An|AN)(\s+)\S", s.text)
            before = re.search(r"(?:^|\W)(a|an|A|An|AN)\s+$", text[max(0, s.start - 6):s.start])
            for g in s.suggestions:
                if head:
                    art, word = g.text.split(None, 1)
                    assert art.lower() == article_for(word), (s.text, g.text)
                elif before and g.text.split():
                    assert before.group(1).lower() == article_for(g.text), (s.text, g.text)
            widened += bool(head)
    assert widened  # seed 002's "an essential" at least


def test_the_written_article_case_is_kept_across_a_line_break(engine):
    text = "The new strategy comes at An\nessential moment for the talks, officials said on Monday."
    report = engine.score(text, threshold=0.0, max_suggestions=10)
    span = next(s for s in report.spans if "essential" in s.text)
    assert span.text == "An\nessential"  # the text as written; so are the suggestions, the line break kept
    assert any(g.text.startswith("A\n") for g in span.suggestions)
    assert all(g.text.startswith(("A\n", "An\n")) and g.text.split("\n", 1)[1][:1].islower() for g in span.suggestions)


def test_training_labels_a_candidate_with_its_article_as_the_original(engine):
    """Gold "an essential" -> "a critical" (the spinner's span): the row of "critical" in the
    slot "essential" is the original, the rows of words taking "an" are not."""
    from service.training import labelled_rows

    text = "The new strategy comes at an essential moment for the talks."
    analysis = engine.analyze(text)
    slot = next(r for r in analysis.slots if r.written == ("essential",))
    names = [c.text for c in slot.candidates]
    at = text.index("an essential")
    assert analysis.replacement(slot, names.index("critical")) == (at, at + len("an essential"), "a critical")
    assert analysis.replacement(slot, names.index("important")) == (at + 3, at + len("an essential"), "important")
    gold = [{"start": at, "end": at + len("an essential"), "text": "an essential", "original": "a critical"}]
    X, y = labelled_rows(analysis, gold)
    before = next(i for i, r in enumerate(analysis.slots) if r is slot)
    first = sum(len(r.candidates) for r in analysis.slots[:before] if len(r.candidates) and not r.lexicon)
    mine = y[first : first + len(names)]
    assert mine[names.index("critical")] == 1 and mine.sum() == 1
