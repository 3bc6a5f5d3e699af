"""Mechanics and invariants of ``Engine.score`` (service/engine.py) and the Report it returns.

Detection quality (which spans, which scores) is NOT asserted here: the fusion model is
retrained independently and may be absent (then the engine uses a neutral fusion). Everything
below must hold for any fusion.
"""

from __future__ import annotations

import re
from pathlib import Path
import textwrap
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unspin_env import isolate

from service.config import Settings
from service.decoding import InputError
from service.case import match_case
from service.engine import Engine, build_engine
from service.lexicon import load_lexicon
from service.report import Report
from service.restore import look_alike
from service.scoring import FEATURE_NAMES, FusionModel, document_label
from service.text import visible

SEED_WRAPPED = "000_37063bd84aa4b837.txt"  # hard-wrapped, headings and bylines
SEED_PER_LINE = "002_2ef1442c87ee1781.txt"  # one paragraph per line, curly quotes
SPAN_KINDS = {"spun", "grammar", "typo", "formatting"}
SOURCES = {"lm", "lexicon", "credit-line", "grammar"}


# --------------------------------------------------------------------------- helpers


def _overlap(a, b) -> bool:
    return a.start < b.end and b.start < a.end


def assert_offsets(text: str, report: Report) -> None:
    """Every span and sentence offset is exact; both lists are ordered; sentences never overlap,
    nor do spans, but for a disguised word that is also (in) a spun span: the report has both, the
    look-alike span saying how it is written, the spun one what it replaced."""
    prev = 0
    for s in report.sentences:
        assert 0 <= prev <= s.start < s.end <= len(text), (s, prev)
        prev = s.end
    prev = 0
    for i, sp in enumerate(report.spans):
        assert 0 <= prev <= sp.start < sp.end <= len(text), (sp, prev)
        assert text[sp.start : sp.end] == sp.text
        prev = sp.start
        for other in report.spans[:i]:
            if _overlap(sp, other):
                assert {look_alike(sp), look_alike(other)} == {True, False}, (other, sp)
                assert "spun" in {sp.kind, other.kind}, (other, sp)
    for sp in report.spans:  # a span never straddles two sentences
        assert any(s.start <= sp.start and sp.end <= s.end for s in report.sentences), sp


def apply_first_suggestions(text: str, report: Report) -> str:
    """Replace every span by its first suggestion, right to left (offsets stay valid); a disguised
    word inside a spun span goes with the spun span's suggestion."""
    out = text
    spun = [sp for sp in report.spans if sp.kind == "spun"]
    for sp in sorted(report.spans, key=lambda s: s.start, reverse=True):
        if look_alike(sp) and any(_overlap(sp, x) for x in spun):
            continue
        assert out[sp.start : sp.end] == sp.text
        out = out[: sp.start] + sp.suggestions[0].text + out[sp.end :]
    return out


def paragraphs(text: str) -> list[str]:
    """The long one-line paragraphs of a one-paragraph-per-line text."""
    return [line for line in text.split("\n") if len(line) > 200]


@pytest.fixture(scope="module")
def reports(engine, seeds) -> dict[str, Report]:
    """Each seed scored at the engine's own threshold."""
    return {name: engine.score(text, path=name) for name, text in seeds.items()}


@pytest.fixture(scope="module")
def all_slot_reports(engine, seeds) -> dict[str, Report]:
    """Each seed scored with threshold 0: every non-overlapping slot becomes a span."""
    return {name: engine.score(text, threshold=0.0) for name, text in seeds.items()}


@pytest.fixture(scope="module")
def per_line_paragraphs(seeds) -> list[str]:
    paras = paragraphs(seeds[SEED_PER_LINE])
    assert len(paras) >= 5
    return paras


SEED_IDS = pytest.mark.parametrize("name", [SEED_WRAPPED, SEED_PER_LINE])


# --------------------------------------------------------------------------- report schema


@SEED_IDS
def test_report_schema(name, reports, seeds, engine):
    text, r = seeds[name], reports[name]
    assert isinstance(r, Report)
    assert Report.model_validate_json(r.model_dump_json()) == r  # serialisable round trip
    assert r.id is None and r.path == name
    assert isinstance(r.score, float) and 0.0 <= r.score <= 1.0
    assert r.label in ("clean", "suspicious", "spun")
    assert r.label == document_label(r.score)
    assert r.lm.startswith("ngram:cmu-en-us")
    assert r.grammar.checked is False
    assert isinstance(r.grammar.reason, str) and r.grammar.reason.strip()
    assert isinstance(r.stats.words, int) and r.stats.words > 800
    assert r.stats.sentences == len(r.sentences) > 10
    assert isinstance(r.stats.seconds, float) and r.stats.seconds >= 0.0
    for s in r.sentences:
        assert isinstance(s.start, int) and isinstance(s.end, int)
        assert 0.0 <= s.score <= 1.0
    k = engine.settings.max_suggestions
    for sp in r.spans:
        assert sp.kind in SPAN_KINDS
        assert isinstance(sp.score, float) and 0.0 <= sp.score <= 1.0
        assert sp.score >= engine.threshold - 1e-4  # reported spans reach the threshold
        assert 1 <= len(sp.suggestions) <= k
        assert all(isinstance(x.text, str) and x.text and 0.0 <= x.score <= 1.0 for x in sp.suggestions)
        assert sp.sources and set(sp.sources) <= SOURCES
        assert "relation" in sp.evidence
        assert all(isinstance(v, (float, str)) for v in sp.evidence.values())
    assert_offsets(text, r)


@SEED_IDS
def test_sentences_cover_text_in_order(name, reports, seeds):
    text, r = seeds[name], reports[name]
    assert r.sentences
    assert r.sentences[0].start == len(text) - len(text.lstrip())
    assert r.sentences[-1].end == len(text.rstrip())
    prev = 0
    for s in r.sentences:
        assert s.start >= prev and s.start < s.end
        assert text[prev : s.start].strip() == "", repr(text[prev : s.start])  # only whitespace between
        prev = s.end
    # a sentence's score is at least that of every span inside it
    for sp in r.spans:
        inside = [s for s in r.sentences if s.start <= sp.start and sp.end <= s.end]
        assert inside and inside[0].score >= sp.score - 1e-4


def test_id_and_path_are_passed_through(engine):
    r = engine.score("The committee approved the proposal on Monday.", id="doc-7", path="some/where.txt")
    assert r.id == "doc-7" and r.path == "some/where.txt"


@SEED_IDS
def test_all_slot_offsets(name, all_slot_reports, seeds):
    text, r = seeds[name], all_slot_reports[name]
    assert len(r.spans) > 50  # threshold 0: every non-overlapping slot is reported
    assert_offsets(text, r)


@SEED_IDS
def test_threshold_only_filters(name, all_slot_reports, reports, seeds, engine):
    """Raising the threshold drops low spans and never adds or moves one."""
    everything = all_slot_reports[name]
    for thr in (0.45, 0.9):
        r = engine.score(seeds[name], threshold=thr)
        got = {(s.start, s.end, s.text) for s in r.spans}
        want_sure = {(s.start, s.end, s.text) for s in everything.spans if s.score >= thr + 1e-4}
        maybe = {(s.start, s.end, s.text) for s in everything.spans if abs(s.score - thr) < 1e-4}
        assert want_sure <= got <= want_sure | maybe
        assert all(s.score >= thr - 1e-4 for s in r.spans)
        assert r.score <= everything.score + 1e-9
        assert r.sentences == everything.sentences  # sentence scores do not depend on the threshold


def test_spun_doc_threshold(seeds, engine, monkeypatch):
    """UNSPIN_SPUN_DOC_THRESHOLD: a document judged spun also shows its spans down to the lower
    value, marked in their evidence, with its verdict unchanged; a clean one is not touched."""
    before = {name: engine.score(text) for name, text in seeds.items()}
    spun_name = "002_2ef1442c87ee1781.txt"
    text = seeds[spun_name]
    cut = text.index("\n", len(text) // 2) + 1
    parts_before = engine.score_parts([text[:cut], text[cut:]])
    low = 0.06
    monkeypatch.setattr(engine, "settings", engine.settings.model_copy(update={"spun_doc_threshold": low}))
    parts = engine.score_parts([text[:cut], text[cut:]])  # a long document, scored in parts
    assert (parts.score, parts.label) == (parts_before.score, parts_before.label)
    assert len(parts.spans) > len(parts_before.spans)
    def shown(s):
        """What a reader sees of a span: where, what, and the suggestions in order."""
        return s.start, s.end, s.text, tuple(x.text for x in s.suggestions)

    for name, text in seeds.items():
        old, new = before[name], engine.score(text)
        assert (new.score, new.label, new.sentences) == (old.score, old.label, old.sentences)
        kept = {shown(s) for s in old.spans}
        assert kept <= {shown(s) for s in new.spans}  # the spans at the threshold stay as they were
        added = [s for s in new.spans if shown(s) not in kept]
        if name == spun_name:
            assert old.label == "spun" and added
            assert all(low <= s.score < engine.threshold for s in added)
            assert all(s.evidence["spun_doc_threshold"] == low for s in added)
            assert not any("spun_doc_threshold" in s.evidence for s in new.spans if s not in added)
            # an explicit threshold at or under the lower one: one cut-off, nothing marked
            assert all("spun_doc_threshold" not in s.evidence for s in engine.score(text, threshold=low).spans)
        else:
            assert old.label == "clean" and not added


def test_a_document_in_parts_lists_weaker_spans_by_its_own_verdict(seeds, engine, monkeypatch):
    """A long document scored in parts shows the spans under the threshold only when the whole
    document is judged spun: a spun part among clean ones had listed its own, marked "shown because
    the document reads as spun", in a report labelled otherwise."""
    spun, clean = seeds["002_2ef1442c87ee1781.txt"], seeds["000_37063bd84aa4b837.txt"]
    monkeypatch.setattr(engine, "settings", engine.settings.model_copy(update={"spun_doc_threshold": 0.06}))
    alone = engine.score_parts([spun])
    assert alone.label == "spun" and any(s.by_document_verdict for s in alone.spans)
    mixed = engine.score_parts([spun + "\n\n", *[clean + "\n\n"] * 8])
    assert mixed.label != "spun"
    assert not any(s.by_document_verdict for s in mixed.spans)
    at_threshold = {(s.start, s.end) for s in alone.spans if s.kind == "spun" and not s.by_document_verdict}
    assert at_threshold <= {(s.start, s.end) for s in mixed.spans}


@pytest.mark.parametrize("low", [None, 0.06])
def test_score_near_says_how_near_each_phrase_came(seeds, engine, monkeypatch, low):
    """Engine.score_near: the report score gives, and for each labelled phrase of the seeds the
    engine's best span over it at any score; a phrase the report lists has it at or over the score
    spans are listed from, a missed one under it (with the second threshold too, where seed 002,
    judged spun, is listed from the lower value and the clean seed from the threshold)."""
    from service.evaluation import load_gold

    if low is not None:
        monkeypatch.setattr(engine, "settings", engine.settings.model_copy(update={"spun_doc_threshold": low}))
    gold = {d.id: d for d in load_gold(Path(__file__).parents[1] / "seeds" / "labels.jsonl")}
    phrases = [(g.start, g.end) for g in gold[SEED_PER_LINE].spans]
    for name, ranges in ((SEED_PER_LINE, phrases), (SEED_WRAPPED, [(0, 40), (100, 101)])):
        text = seeds[name]
        near = engine.score_near(text, ranges)
        report = engine.score(text)
        assert near.report.model_dump(exclude={"stats"}) == report.model_dump(exclude={"stats"})
        assert near.listed_from == (low if low is not None and report.label == "spun" else engine.threshold)
        assert len(near.near) == len(ranges)
        listed = [s for s in report.spans if s.kind == "spun"]
        missed = 0
        for (start, end), span in zip(ranges, near.near):
            hit = [s for s in listed if s.start < end and start < s.end]
            if span is None:
                assert not hit
                continue
            assert span.text == text[span.start : span.end] and span.start < end and start < span.end
            assert span.suggestions and span.kind == "spun"
            if hit:
                assert span.score >= near.listed_from - 1e-4 and span.score <= max(s.score for s in hit) + 1e-4
            else:
                missed += 1
                assert span.score < near.listed_from
        if name == SEED_PER_LINE:
            assert 0 < missed < len(ranges)


# --------------------------------------------------------------------------- offsets under mangling

INSERTS = [
    "😀", "👍🏽", "🇺🇸", "𝔘𝔫𝔦", "\U00020000", "\u200d", "é",  # astral, ZWJ, combining-free accents
    "“", "”", "‘", "’", "«", "»",  # curly quotes
    "\r\n", "\n", "\r\n\r\n", " ", "\t",  # CRLF, line breaks, blank lines
]


def _hard_wrap(text: str, width: int, newline: str) -> str:
    return newline.join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False))


@given(data=st.data())
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_offsets_hold_under_mangling(engine, per_line_paragraphs, data):
    text = data.draw(st.sampled_from(per_line_paragraphs), label="paragraph")
    if data.draw(st.booleans(), label="second paragraph"):
        text += data.draw(st.sampled_from(["\n", "\r\n", "\n\n"])) + data.draw(st.sampled_from(per_line_paragraphs))
    wrap = data.draw(st.one_of(st.none(), st.integers(20, 90)), label="wrap width")
    if wrap is not None:
        text = _hard_wrap(text, wrap, data.draw(st.sampled_from(["\n", "\r\n"]), label="newline"))
    edits = data.draw(
        st.lists(st.tuples(st.integers(0, len(text)), st.sampled_from(INSERTS)), max_size=25), label="inserts"
    )
    for pos, ins in sorted(edits, reverse=True):
        text = text[:pos] + ins + text[pos:]
    r = engine.score(text, threshold=0.0)
    assert r.spans
    assert_offsets(text, r)
    applied = apply_first_suggestions(text, r)
    assert isinstance(applied, str)


def test_a_disguised_word_in_a_spun_span_has_both_spans(engine, seeds):
    """A word both disguised and spun ("tеrrific" with a Cyrillic е; a mathematical "𝔘𝔫𝔦" glued to
    a sentence's end, every slot listed) gets a spun span and a look-alike span over the same
    letters; the offsets hold, and the spun span's suggestion is the one applied there."""
    spun = seeds[SEED_PER_LINE]
    line = next(x for x in spun.splitlines() if "terrific powers" in x)
    text = line.replace("terrific", "t\u0435rrific")
    r = engine.score(text)
    assert_offsets(text, r)
    at = text.index("t\u0435rrific")
    kinds = sorted(sp.kind for sp in r.spans if sp.start <= at < sp.end)
    assert kinds == ["formatting", "spun"]
    assert "terrific" not in apply_first_suggestions(text, r).lower()
    glued = "How to engage with North Korea.\U0001d518\U0001d52b\U0001d526"  # the example hypothesis found
    r = engine.score(glued, threshold=0.0)
    assert sorted(sp.kind for sp in r.spans if sp.start == len(glued) - 3) == ["formatting", "spun"]
    assert_offsets(glued, r)
    apply_first_suggestions(glued, r)


# --------------------------------------------------------------------------- suggestions


@SEED_IDS
def test_suggestions_replace_exactly_the_span(name, all_slot_reports, seeds):
    text, r = seeds[name], all_slot_reports[name]
    out = apply_first_suggestions(text, r)
    expected_len = len(text) + sum(len(sp.suggestions[0].text) - len(sp.text) for sp in r.spans)
    assert len(out) == expected_len
    # the text between spans is untouched
    pieces, prev = [], 0
    for sp in r.spans:
        pieces.append(text[prev : sp.start])
        prev = sp.end
    pieces.append(text[prev:])
    pos = 0
    for piece, sp in zip(pieces, r.spans + [None]):
        assert out[pos : pos + len(piece)] == piece
        pos += len(piece) + (len(sp.suggestions[0].text) if sp else 0)
    for sp in r.spans:
        texts = [x.text.lower() for x in sp.suggestions]
        assert len(set(texts)) == len(texts)  # no duplicates (case-insensitively)
        assert sp.text.lower() not in texts  # never "replace X by X"
        if "lexicon" not in sp.sources:
            scores = [x.score for x in sp.suggestions]
            assert scores == sorted(scores, reverse=True)


@SEED_IDS
def test_suggestions_keep_case(name, all_slot_reports):
    for sp in all_slot_reports[name].spans:
        letters = [c for c in sp.text if c.isalpha()]
        for x in sp.suggestions:
            if len(letters) > 1 and all(c.isupper() for c in letters):
                assert x.text == x.text.upper(), (sp.text, x.text)
            elif sp.text[:1].isupper():
                assert x.text[:1].isupper(), (sp.text, x.text)


@pytest.mark.parametrize(
    ("original", "replacement", "expected"),
    [
        ("FINANCIAL", "economic", "ECONOMIC"),
        ("FINANCIAL", "ECONOMIC", "ECONOMIC"),
        ("Modifying", "editing", "Editing"),
        ("great", "great", "great"),
        ("terrific", "great", "great"),
        ("Terrific powers", "great powers", "Great powers"),
        ("TERRIFIC POWERS", "great powers", "GREAT POWERS"),
        ("A", "an", "An"),  # one capital letter: capitalised, not "all caps"
        ("", "word", "word"),
    ],
)
def test_match_case(original, replacement, expected):
    assert match_case(original, replacement) == expected


# --------------------------------------------------------------------------- hard wraps


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_hard_wrapped_paragraph_gives_same_spans(engine, per_line_paragraphs, newline):
    """A paragraph hard-wrapped at 60 columns scores like the same paragraph on one line (a suggestion
    that takes in the article keeps the line break written after it)."""
    for para in per_line_paragraphs:
        assert "  " not in para and "\t" not in para  # wrapping only turns spaces into line breaks
        wrapped = _hard_wrap(para, 60, newline)
        assert wrapped.count(newline) >= 2
        one = engine.score(para, threshold=0.0)
        two = engine.score(wrapped, threshold=0.0)
        assert_offsets(wrapped, two)

        def to_one_line(i: int) -> int:  # offset in the wrapped text -> offset in the paragraph
            return i - wrapped.count("\r", 0, i)

        def key(r: Report, text: str, mapped) -> list:
            return [
                (mapped(s.start), mapped(s.end), " ".join(s.text.split()), [" ".join(x.text.split()) for x in s.suggestions],
                 s.score)
                for s in r.spans
            ]

        assert key(two, wrapped, to_one_line) == key(one, para, lambda i: i)
        assert [(to_one_line(s.start), to_one_line(s.end), s.score) for s in two.sentences] == [
            (s.start, s.end, s.score) for s in one.sentences
        ]
        assert two.stats.words == one.stats.words


def test_decomposed_accents_score_like_composed(engine):
    """Accents written as combining marks (NFD) neither split a word nor change its scores: the
    spans are those of the composed text, each ending after its last mark."""
    composed = (
        "The café owner said the strategy comes at an essential moment, said the attaché. "
        "Competition in between terrific powers is rising, the fiancé stated."
    )
    decomposed = unicodedata.normalize("NFD", composed)
    one = engine.score(composed, threshold=0.0)
    two = engine.score(decomposed, threshold=0.0)
    assert_offsets(decomposed, two)

    def key(r: Report) -> list:
        return [(unicodedata.normalize("NFC", s.text), [x.text for x in s.suggestions], s.score) for s in r.spans]

    assert key(two) == key(one)
    for s in two.spans:
        assert s.end == len(decomposed) or unicodedata.category(decomposed[s.end])[0] != "M"


def test_soft_hyphens_inside_words_score_like_plain_text(engine, seeds):
    """Soft hyphens and zero-width spaces inside words (as in text copied from a web page) neither
    split a word nor change its scores: seed 002 with them in its long words gives the spans of the
    plain seed, over the marked words; before, "propo\u00adsition" was read as "propo" and
    "sition" and the spun word went unreported."""
    plain = seeds["002_2ef1442c87ee1781.txt"]
    marks = iter("\u00ad\u200b" * len(plain))
    marked = re.sub(r"[A-Za-z]{8,}", lambda m: m.group()[:4] + next(marks) + m.group()[4:], plain)
    one = engine.score(plain)
    two = engine.score(marked)
    assert_offsets(marked, two)

    def key(r: Report) -> list:
        return [(visible(s.text), [x.text for x in s.suggestions], s.score) for s in r.spans]

    assert key(two) == key(one) and len(one.spans) > 40
    assert len(two.sentences) == len(one.sentences)


def test_invisible_characters_between_sentences_and_inside_words_score_like_plain_text(engine, seeds):
    """Direction marks, zero-width spaces, word joiners and BOMs after punctuation and inside words
    (text copied from a page with right-to-left script or from a PDF) leave seed 002's report that of
    the plain seed: its sentences, words, spans, suggestions and scores. Before, a mark between a
    full stop and the next sentence kept the two one sentence, and one inside "in2001" or
    "24,2017" left it unsplit (seed 002: 34 sentences instead of 35, 408 spans at threshold 0)."""
    plain = seeds["002_2ef1442c87ee1781.txt"]
    marks = iter("\u200e\u200b\ufeff\u2060" * len(plain))
    marked = re.sub(r"(?<=[.,;:!?\u201d\"])(?=\s)|(?<=\w)(?=\w)",
                    lambda m: next(marks) if m.start() % 7 == 0 else "", plain)
    one = engine.score(plain, threshold=0.0)
    two = engine.score(marked, threshold=0.0)
    assert_offsets(marked, two)

    def key(r: Report) -> list:
        return [(visible(s.text), [visible(x.text) for x in s.suggestions], s.score) for s in r.spans]

    assert key(two) == key(one) and len(one.spans) > 300
    assert (two.stats.words, len(two.sentences), two.score) == (one.stats.words, len(one.sentences), one.score)


def _same_spans(one: Report, two: Report) -> list:
    """What two reports of one text typed two ways must share: each span's words, suggestions and score."""
    read = str.maketrans("\x0b\x0c\x85\x1c\u2028\u00ad\u2010\u2011", "\n\n\n\n\n---")
    return [[(s.text.translate(read), [x.text.translate(read) for x in s.suggestions], round(s.score, 6))
             for s in r.spans] for r in (one, two)]


@pytest.mark.parametrize("line_break", ["\x0b", "\x0c", "\x85", "\x1c", "\u2028"])
def test_any_line_break_scores_as_a_newline(engine, seeds, line_break):
    """A vertical tab (a manual line break of a word processor), a form feed, NEL, a separator or
    U+2028 ends a line as a newline does: the hard-wrapped seed 000 with them gives the sentences and
    spans of the seed. Before, the encoder's tokenizer dropped them as control characters and glued
    the words either side together (with vertical tabs, without the second look: 45 flags, spun), and the file separator
    glued them for the segmenter too."""
    plain = engine.score(seeds[SEED_WRAPPED], threshold=0.0)
    typed = seeds[SEED_WRAPPED].replace("\n", line_break)
    other = engine.score(typed, threshold=0.0)
    assert_offsets(typed, other)
    one, two = _same_spans(plain, other)
    assert two == one and len(one) > 100 and len(other.sentences) == len(plain.sentences)


def _requoted(text: str, opening: str, closing: str) -> str:
    """``text`` with its straight double quotation marks as ``opening`` and ``closing`` in turn."""
    marks = iter([opening, closing] * text.count('"'))
    return re.sub('"', lambda m: next(marks), text)


@pytest.mark.parametrize(("opening", "closing"), [("„", "“"), ("``", "''"), ("«", "»"), ("“", "“")])
def test_quotation_marks_of_any_shape_score_as_straight_ones(engine, seeds, opening, closing):
    """Seed 000 quoted in German or French marks, with typewriter quotes or with the same curly mark
    on both sides has the sentences and spans of the seed itself: a sentence ending in such a mark
    ends there ("parallel.“ Our proposal"), and the detector reads every mark as the straight one of
    the newswire it learned from. Before (without the second look), 19 sentences instead of 29 and 3 flags instead of 1."""
    plain = engine.score(seeds[SEED_WRAPPED], threshold=0.0)
    typed = _requoted(seeds[SEED_WRAPPED], opening, closing)
    other = engine.score(typed, threshold=0.0)
    assert_offsets(typed, other)
    one, two = _same_spans(plain, other)
    assert [s[0] for s in two] == [s[0] for s in one]
    assert two == one and len(other.sentences) == len(plain.sentences)


def _hyphenated(text: str, hyphen: str, width: int = 50) -> str:
    """``text`` wrapped again at ``width`` columns, long words broken at the line ends with ``hyphen``."""
    lines, line = [], ""
    for word in text.replace("\n", " ").split(" "):
        if len(line) + 1 + len(word) > width and len(word) >= 6 and word.isalpha():
            k = max(3, min(width - len(line) - 2, len(word) - 3))
            lines.append((line + " " if line else "") + word[:k] + hyphen)
            line = word[k:]
        elif len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = (line + " " if line else "") + word
    return "\n".join([*lines, line])


@pytest.mark.parametrize("hyphen", ["\u00ad", "\u2010", "\u2011", "-\u2028"])
def test_a_word_broken_at_a_line_end_by_any_hyphen_is_read_whole(engine, seeds, hyphen):
    """A word broken at a line end by a soft hyphen, a Unicode hyphen or a non-breaking one, or by a
    hyphen before a line separator, reads as the word, as one broken by "-" and a newline does: the
    seed so hyphenated gets the spans of the seed hyphenated with "-". Before, the halves were words
    of their own ("ion", "imp": 21 flags with soft hyphens, without the second look)."""
    plain = engine.score(_hyphenated(seeds[SEED_WRAPPED], "-"), threshold=0.0)
    typed = _hyphenated(seeds[SEED_WRAPPED], hyphen[0])
    if len(hyphen) > 1:
        typed = typed.replace("\n", hyphen[1:])
    other = engine.score(typed, threshold=0.0)
    assert_offsets(typed, other)
    one, two = _same_spans(plain, other)
    assert two == one and len(other.sentences) == len(plain.sentences) and other.stats.words == plain.stats.words


def test_a_text_in_capitals_is_read_as_words(engine, seeds):
    """Capitals mark acronyms in mixed-case text, so an all-caps word there is not a slot; in a text
    written all in capitals they mark nothing. Seed 002 upper-cased is still found spun with most
    of its spans (before: clean, no span at all, so upper-casing hid a spun text), and seed 000
    upper-cased stays clean."""
    spun = engine.score(seeds["002_2ef1442c87ee1781.txt"].upper())
    mixed = engine.score(seeds["002_2ef1442c87ee1781.txt"])
    assert spun.label == "spun" and len(spun.spans) >= 0.5 * len(mixed.spans)
    assert {s.text.lower() for s in spun.spans} & {"terrific", "field glasses", "has actually", "stated"} == {
        "terrific", "field glasses", "has actually", "stated"}
    clean = engine.score(seeds["000_37063bd84aa4b837.txt"].upper())
    assert clean.label == "clean" and len(clean.spans) <= 3
    acronyms = engine.score("The U.S. and NATO agreed on a new plan, the IMF said on Tuesday.", threshold=0.0)
    assert not {"NATO", "IMF"} & {s.text for s in acronyms.spans}


def test_a_name_in_a_heading_in_capitals_is_not_read_as_a_word(engine):
    """A heading in capitals marks no acronyms, so its words are read; but a word the document
    writes as a name in mid-sentence is that name there too, and not a slot ("KNOLL" was read as
    the word "knoll" and suggested "MOUND")."""
    text = ("KNOLL TO BUY AMERICAN SAVINGS SHARES\n\n"
            "MIAMI (Reuters) - American Savings and Loan Association said that Knoll International "
            "Holdings Inc has offered to buy 500,000 new shares for 10 mln dlrs.\n"
            "The board accepted the offer from Knoll, the company said.\n")
    report = engine.score(text, threshold=0.0)
    assert_offsets(text, report)
    heading = text.index("\n")
    read = {s.text for s in report.spans if s.end <= heading}
    assert not read & {"KNOLL", "AMERICAN", "SAVINGS"}
    assert "SHARES" in read  # the heading's other words are still read


# --------------------------------------------------------------------------- input errors


def test_empty_text_raises(engine):
    with pytest.raises(InputError, match="empty"):
        engine.score("")


@pytest.mark.parametrize("text", [" ", "\n\n", " \t\r\n \u00a0 \u2003"])
def test_whitespace_only_raises(engine, text):
    with pytest.raises(InputError, match="only whitespace"):
        engine.score(text)


def test_over_limit_raises(engine):
    small = Engine(Settings(lm="ngram", max_chars=100), ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon)
    ok = ("The committee approved the proposal. " * 3)[:100]
    assert len(ok) == 100
    assert small.score(ok).stats.words > 0  # exactly at the limit is fine
    with pytest.raises(InputError, match=r"101 characters long; the limit is 100 characters") as info:
        small.score(ok + "x")
    assert "UNSPIN_MAX_CHARS" in str(info.value)
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- lexicon


LEXICON_TEXT = (
    "Terrific powers come with great responsibility. The heroes of the city have terrific powers, "
    "and their rivals have TERRIFIC POWERS too."
)


@pytest.fixture
def tortured_lexicon(tmp_path):
    path = tmp_path / "tortured.tsv"
    path.write_text("tortured\texpected\nterrific powers\tgreat powers\n", encoding="utf-8")
    return load_lexicon(path)


def test_lexicon_entry_becomes_span(engine, tortured_lexicon):
    e = Engine(engine.settings, ngram=engine.ngram, fusion=FusionModel.neutral(), lexicon=tortured_lexicon)
    r = e.score(LEXICON_TEXT)
    assert_offsets(LEXICON_TEXT, r)
    hits = [sp for sp in r.spans if "lexicon" in sp.sources]
    assert [(sp.text, sp.suggestions[0].text) for sp in hits] == [
        ("Terrific powers", "Great powers"),
        ("terrific powers", "great powers"),
        ("TERRIFIC POWERS", "GREAT POWERS"),
    ]
    for sp in hits:
        assert sp.score >= 0.95
        assert sp.evidence["lexicon"] == "tortured"  # the list it came from (file stem)
        assert sp.evidence["relation"] == "lexicon"


def test_lexicon_entry_with_shipped_fusion(engine, tortured_lexicon):
    """With whatever fusion ships, the lexicon hits still exist as scored slots with offsets."""
    e = Engine(engine.settings, ngram=engine.ngram, lexicon=tortured_lexicon)
    r = e.score(LEXICON_TEXT, threshold=0.0)
    assert_offsets(LEXICON_TEXT, r)
    a = e.analyze(LEXICON_TEXT)
    lex = [s for s in a.slots if s.lexicon]
    assert len(lex) == 3 and all(s.score >= 0.95 for s in lex)
    assert all(s.candidates[0].text == "great powers" for s in lex)


def _fusion_preferring_single_words() -> FusionModel:
    """A (legal) fusion under which one-word candidates score 0.99 and two-word ones 0.88."""
    n = len(FEATURE_NAMES)
    coef = np.zeros(n)
    coef[FEATURE_NAMES.index("len_w")] = -3.0
    return FusionModel(np.zeros(n), np.ones(n), coef, 8.0, 0.5)


def test_lexicon_hit_wins_overlap_with_lm_slot(engine, tortured_lexicon):
    e = Engine(engine.settings, ngram=engine.ngram, fusion=_fusion_preferring_single_words(), lexicon=tortured_lexicon)
    r = e.score(LEXICON_TEXT)
    assert [sp.text for sp in r.spans if "lexicon" in sp.sources] == [
        "Terrific powers",
        "terrific powers",
        "TERRIFIC POWERS",
    ]


def test_lexicon_hit_reported_above_high_threshold(engine, tortured_lexicon):
    fusion = FusionModel.neutral()
    fusion.threshold = 0.99
    e = Engine(engine.settings, ngram=engine.ngram, fusion=fusion, lexicon=tortured_lexicon)
    r = e.score(LEXICON_TEXT)
    assert len([sp for sp in r.spans if "lexicon" in sp.sources]) == 3


# --------------------------------------------------------------------------- language model choice

SHORT_TEXT = (
    "SEOUL (Reuters) – A proposition by China and Russia to alleviate U.N. sanctions on North Korea "
    "increases pressure on the United States.\nThe “optimal pressure” campaign 😀 was promoted by "
    "the administration, experts said."
)


def _env(monkeypatch, **values: str) -> Settings:
    isolate(monkeypatch, **values)
    return Settings()


def test_auto_without_model_runs_ngram(monkeypatch, tmp_path):
    settings = _env(monkeypatch, lm="auto", model=str(tmp_path / "no-such-model"))
    e = build_engine(settings)
    assert e.lm.name.startswith("ngram:")
    r = e.score(SHORT_TEXT)
    assert r.lm.startswith("ngram:cmu-en-us")
    assert_offsets(SHORT_TEXT, r)


def test_auto_says_why_the_named_model_did_not_run(monkeypatch, tmp_path, caplog):
    """A fall-back to the n-gram model is never silent: the engine keeps the reason (``/readyz``
    shows it) and, for a model the user named, logs it as a warning (on stderr in a command)."""
    import logging

    settings = _env(monkeypatch, lm="auto", model=str(tmp_path / "my-model"))
    with caplog.at_level(logging.INFO, logger="unspin"):
        e = build_engine(settings)
    assert e.lm.name.startswith("ngram:")
    assert e.lm_fallback is not None and "my-model" in e.lm_fallback and "n-gram" in e.lm_fallback
    assert [r.levelname for r in caplog.records if "my-model" in r.getMessage()] == ["WARNING"]


def test_auto_does_not_fall_back_for_a_device_it_cannot_use(monkeypatch, tiny_model_dir):
    """The weights load, the device named does not work: that is a setting to mend (the error
    names UNSPIN_DEVICE), not a reason to run the n-gram model instead."""
    from service.lm.transformer import DeviceUnavailable

    settings = _env(monkeypatch, lm="auto", model=str(tiny_model_dir), device="meta")
    with pytest.raises(DeviceUnavailable, match="UNSPIN_DEVICE"):
        build_engine(settings)


def test_transformer_without_model_raises(monkeypatch, tmp_path):
    from service.lm.transformer import ModelUnavailable

    settings = _env(monkeypatch, lm="transformer", model=str(tmp_path / "no-such-model"))
    with pytest.raises(ModelUnavailable, match="no-such-model"):
        build_engine(settings)


@pytest.fixture
def one_thread():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: much faster without spin-waiting threads
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("choice", ["transformer", "auto"])
def test_transformer_backend(monkeypatch, tiny_model_dir, one_thread, choice):
    settings = _env(monkeypatch, lm=choice, model=str(tiny_model_dir))
    e = build_engine(settings)
    assert e.lm is not e.ngram
    r = e.score(SHORT_TEXT, threshold=0.0)
    assert r.lm == f"transformer:{tiny_model_dir.name}"
    assert r.spans
    assert_offsets(SHORT_TEXT, r)
    apply_first_suggestions(SHORT_TEXT, r)
    assert Report.model_validate_json(r.model_dump_json()) == r


def test_symbols_glued_to_words_leave_the_words_read(engine, seeds):
    """An emoji or a symbol glued to a word ("🚀stick", "efforts👍") made the sentence encoder read
    the word as one unknown piece: the detector gave it no reading, which counts as suspicious, and
    enough of them turned the clean seed spun. The glued symbols now change no word's reading."""
    from service.text import segment

    plain = "They agreed to stick to dialogue and praised his efforts to make peace."
    glued = "They agreed to 🚀stick to dialogue and praised his efforts👍 to make peace→."
    words = lambda t: [(tok.text, round(float(v), 3)) for s in segment(t)
                       for tok, v in zip(s.tokens, engine.detector.logits([s])[0]) if tok.text[0].isalpha()]
    assert words(glued) == words(plain)

    text = seeds["000_37063bd84aa4b837.txt"]
    marked, n = [], 0
    for m in re.finditer(r"\S+|\s+", text):  # every sixth lower-case word gets a symbol glued before it
        piece = m.group()
        if piece[0].islower():
            n += 1
            piece = ("🚀" if n % 2 else "✓") + piece if n % 6 == 0 else piece
        marked.append(piece)
    marked = "".join(marked)
    before, after = engine.score(text), engine.score(marked)
    assert n > 100 and after.label == before.label == "clean"
    assert [s.text for s in after.spans if s.kind == "spun"] == [s.text for s in before.spans if s.kind == "spun"]


def test_html_tags_in_pasted_text_are_markup_not_words(engine, seeds):
    """HTML tags left in pasted text had been glued into the words they touch ("<p>Rinna" and
    "included.</p" were no words), the credit line in a paragraph tag was no longer one, and bold
    tags around words turned the clean seed spun. A tag is now markup between words: no model reads
    it, and the words around it read as without it."""
    from service.text import tokenize

    assert [t.text for t in tokenize("<p>Rinna included.</p>")] == ["Rinna", "included", "."]
    assert [t.text for t in tokenize('a <a href="x">link</a><br/>here')] == ["a", "link", "here"]
    assert [t.text for t in tokenize("if a<b and c>d then")] == ["if", "a<b", "and", "c>d", "then"]  # no tag
    _seeds_in_tags_read_as_plain(engine, seeds, "p", "b")


def _seeds_in_tags_read_as_plain(engine, seeds, paragraph: str, bold: str) -> None:
    """Both seeds with every paragraph in ``paragraph`` tags get the plain seeds' reports, and seed
    000 with one word in six in ``bold`` tags stays clean, with the same words."""
    for name, text in seeds.items():
        paragraphs = "".join(f"<{paragraph}>{p}</{paragraph}>" if p.strip() else p for p in re.split(r"(\n\s*\n)", text))
        plain, tagged = engine.score(text), engine.score(paragraphs)
        assert (tagged.label, tagged.stats.words) == (plain.label, plain.stats.words), name
        assert [(s.text, s.score) for s in tagged.spans if s.kind == "spun"] == [
            (s.text, s.score) for s in plain.spans if s.kind == "spun"], name
    n = iter(range(1, 10_000))
    text = seeds["000_37063bd84aa4b837.txt"]
    marked = re.sub(r"(?<!\S)[a-z]+(?=[\s,.;:])",
                    lambda m: f"<{bold}>{m.group()}</{bold}>" if next(n) % 6 == 0 else m.group(), text)
    assert marked.count(f"<{bold}>") > 100
    report = engine.score(marked)
    assert (report.label, report.stats.words) == ("clean", engine.score(text).stats.words)
    assert all(marked[s.start : s.end] == s.text for s in report.spans)


def test_html_tags_in_capitals_are_markup_where_no_ticker_is(engine, seeds):
    """Opening tags in capitals (old HTML: "<P>", "<B>Apple</B>") had been glued into the words
    after them: seed 000 in bold had 6 flags and 115 words fewer, seed 002 in paragraphs lost its
    credit line. Reuters writes tickers the same way ("Sears Roebuck <S> said"), so a tag in
    capitals is one with an attribute or glued to the word after it, and a ticker stays as it was."""
    from service.text import tags_as_spaces, tokenize

    assert [t.text for t in tokenize("<P>Rinna included.</P>")] == ["Rinna", "included", "."]
    assert [t.text for t in tokenize('<FONT SIZE=2>small</FONT> print')] == ["small", "print"]
    for ticker in ("Sears Roebuck and Co <S> said", "Cobanco Inc <CBCO> said", "unit of <U>.", "<P>\nshares",
                   "USAir <U>'s offer", "stake in <I>-Corp"):
        assert tags_as_spaces(ticker) == ticker, ticker
    _seeds_in_tags_read_as_plain(engine, seeds, "P", "B")


def test_fullwidth_punctuation_and_digits_read_as_ascii(engine, seeds):
    """Fullwidth punctuation and digits, as an East Asian input method types them ("U．S．",
    "57．3", "rose，analysts"), had been read as neither word nor number: seed 002 with them lost 3
    of its found phrases. They now read as the ASCII they stand for, the offsets those of the text."""
    from service.text import segment, tokenize

    toks = tokenize("The U．S． economy grew ５７．３ percent，analysts said")
    assert [t.text for t in toks] == ["The", "U．S．", "economy", "grew", "５７．３", "percent", "，", "analysts", "said"]
    assert toks[1].is_word and toks[4].is_number and not toks[6].is_word
    text = "Prices rose．Then they fell。"
    assert [text[s.start : s.end] for s in segment(text)] == ["Prices rose．", "Then they fell。"]
    wide = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in ".,:;!?()%0123456789"})
    for name, plain_text in seeds.items():
        text = plain_text.translate(wide)
        plain, after = engine.score(plain_text), engine.score(text)
        assert (after.label, after.stats.words) == (plain.label, plain.stats.words), name
        assert [(s.start, s.end, s.score) for s in after.spans if s.kind == "spun"] == [
            (s.start, s.end, s.score) for s in plain.spans if s.kind == "spun"], name
        assert all(text[s.start : s.end] == s.text for s in after.spans)


def test_credit_line_on_the_story_line_numbered_or_bulleted(engine, seeds):
    """A credit line written on the line of the story's last sentence ("... he said. Reporting by
    ..."), in parentheses there, or numbered or bulleted, had been read as prose or a heading: seed
    002's spun "Modifying by Lincoln Banquet" was not found. It is a credit line again; a sentence
    that merely holds "by" and a name stays prose."""
    from service.text import segment

    text = seeds["002_2ef1442c87ee1781.txt"]
    assert "he said.\nReporting by" in text
    variants = {
        "same line": text.replace("he said.\nReporting by", "he said. Reporting by"),
        "in parentheses": text.replace("he said.\nReporting by", "he said. (Reporting by").replace(
            "Gareth Jones", "Gareth Jones)"),
        "numbered": text.replace("\nReporting by", "\n1. Reporting by"),
        "bulleted": text.replace("\nReporting by", "\n- Reporting by"),
    }
    for name, variant in variants.items():
        assert variant != text, name
        report = engine.score(variant)
        found = {s.text for s in report.spans if s.kind == "spun" and "credit-line" in s.sources}
        assert {"Modifying", "Banquet"} <= found, (name, found)
    prose = "The bill passed on Tuesday. Backed by Senate Democrats, it now goes to the House."
    assert [s.kind for s in segment(prose)] == ["prose", "prose"]


@pytest.mark.parametrize("mark", ["bold", "link"])
def test_markdown_around_words_leaves_their_reading(engine, seeds, mark):
    """Markdown's marks around a word ("**stick**", "[the talks](https://…)") had raised the
    detector's score of the words inside and after them: seed 000 with one word in six in bold was
    judged suspicious, with 12 flags for its 1 (links: 7), seed 002 had 19 flags more. The encoder
    now reads the marks as spaces; what moves is a score near the threshold."""
    for name, text in seeds.items():
        n = iter(range(1, 10**6))
        if mark == "bold":
            marked = re.sub(r"(?<!\S)[a-z]+(?=[\s,.;:])", lambda m: f"**{m.group()}**" if next(n) % 6 == 0 else m.group(), text)
        else:
            marked = re.sub(r"(?<!\S)[a-z]+(?=[\s,.;:])",
                            lambda m: f"[{m.group()}](https://example.org/a)" if next(n) % 12 == 0 else m.group(), text)
        plain, after = engine.score(text), engine.score(marked)
        spun = lambda r: [s for s in r.spans if s.kind == "spun"]  # noqa: E731
        assert after.label == plain.label, name
        assert abs(len(spun(after)) - len(spun(plain))) <= 1, (name, [s.text for s in spun(after)])
        assert all(marked[s.start : s.end] == s.text for s in after.spans)


def _first_suggestion(report: Report, text: str, written: str) -> str | None:
    """The first suggestion of the span written ``written`` in ``report`` of ``text`` (None: none)."""
    for sp in report.spans:
        if text[sp.start : sp.end] == written and sp.suggestions:
            return sp.suggestions[0].text
    return None


def test_an_inserted_filler_is_taken_out_and_the_text_around_it_kept_as_written(engine):
    """The "actually" a spinner puts in is taken out, and what it leaves is the text as written: a
    number had been suggested as "<num>", a curly apostrophe made straight, a ligature spelled out,
    "an actually helpful" left "an helpful", and "Actually" opening a sentence left " the airline"."""
    from service.restore import restore

    text = ("Qantas said its traffic in 1986 actually increased 12 pct. The fleet’s actually larger than planned. "
            "It is an actually helpful deal. Actually, the airline has grown since 1985. Profits ﬁrm actually rose. "
            "“Actually the bank won,” he said. The dollar has\nactually risen.")
    report = engine.score(text, threshold=0.0)
    got = {w: _first_suggestion(report, text, w) for w in (
        "1986 actually", "fleet’s actually", "an actually", "Actually, the", "ﬁrm actually", "Actually the", "has\nactually")}
    assert got == {"1986 actually": "1986", "fleet’s actually": "fleet’s", "an actually": "a", "Actually, the": "The",
                   "ﬁrm actually": "ﬁrm", "Actually the": "The", "has\nactually": "has"}
    fillers = [sp for sp in report.spans if "ctually" in sp.text]
    assert restore(text, fillers, min_score=0.0) == (
        "Qantas said its traffic in 1986 increased 12 pct. The fleet’s larger than planned. It is a helpful deal. "
        "The airline has grown since 1985. Profits ﬁrm rose. “The bank won,” he said. The dollar has risen.")


def test_a_filler_set_off_by_punctuation_takes_no_word_with_it(engine):
    """A span from the word before to the filler would have deleted the comma or quotation mark
    between them ("were, actually, ahead" -> "were, ahead"; "was “actually” sound" -> "was” sound")."""
    text = "Deliveries were, actually, ahead of schedule. He said the plan was “actually” sound."
    report = engine.score(text, threshold=0.0)
    for sp in report.spans:
        assert "actually" not in sp.text or sp.text.strip("“”,") == "actually", sp.text


def test_a_name_is_suggested_with_its_capitals(engine):
    """Candidates are read in lower case; a word WordNet only writes as a name is suggested as one
    ("yank dollars" -> "American dollars", not "american")."""
    text = "The price was 175 mln yank dollars per aircraft. THE PRICE WAS 175 MLN YANK DOLLARS."
    report = engine.score(text, threshold=0.0)
    assert _first_suggestion(report, text, "yank") == "American"
    assert _first_suggestion(report, text, "YANK") == "AMERICAN"


def test_an_article_before_a_quoted_word_agrees_with_the_suggestion(engine):
    """With a quotation mark between "a"/"an" and the word, the suggestions had kept the article as
    written ("an ‘major’") and the model had read "an crucial"; they take theirs as without it."""
    text = "It was an ‘enormous’ setback for the firm. The proposal represents a ‘brand-new’ level of pressure."
    report = engine.score(text, threshold=0.0)
    spans = {text[sp.start : sp.end]: [s.text for s in sp.suggestions] for sp in report.spans}
    assert spans["an ‘enormous"][0] == "a ‘major"
    assert "an ‘unprecedented" in spans["a ‘brand-new"]
    unquoted = text.replace("‘", "").replace("’", "")
    assert _first_suggestion(engine.score(unquoted, threshold=0.0), unquoted, "an enormous") == "a major"
