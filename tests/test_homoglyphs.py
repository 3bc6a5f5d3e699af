"""Words disguised with look-alike letters of other alphabets ("bаnk" with a Cyrillic а): found,
read by the models as the Latin word meant, reported as formatting spans with that word."""

from __future__ import annotations

import random
import re

import pytest
from fastapi.testclient import TestClient

from conftest import read_seed, seed_paths
from service.api import create_app
from service.config import Settings
from service.homoglyphs import RULE_ID, SOURCE, LookAlike, latin_words, look_alikes
from service.text import tokenize

#: Latin letters and the Cyrillic letters that look like them
CYRILLIC = dict(zip("aeopcxyAEOPCTHKMB", "аеорсхуАЕОРСТНКМВ"))


def disguise(text: str, seed: int = 0) -> str:
    """About half the words of two letters or more with one letter swapped for its Cyrillic twin."""
    rnd = random.Random(seed)

    def one(m: re.Match[str]) -> str:
        w = m.group()
        at = [i for i, c in enumerate(w) if c in CYRILLIC]
        if len(w) < 2 or not at or rnd.random() < 0.5:
            return w
        i = rnd.choice(at)
        return w[:i] + CYRILLIC[w[i]] + w[i + 1 :]

    return re.sub(r"[A-Za-z]+", one, text)


def widen(text: str, seed: int = 0) -> str:
    """About half the words of two letters or more with one letter in its fullwidth form ("bａnk")."""
    rnd = random.Random(seed)

    def one(m: re.Match[str]) -> str:
        w = m.group()
        if len(w) < 2 or rnd.random() < 0.5:
            return w
        i = rnd.randrange(len(w))
        return w[:i] + chr(ord(w[i]) + 0xFEE0) + w[i + 1 :]

    return re.sub(r"[A-Za-z]+", one, text)


def embolden(text: str, seed: int = 0) -> str:
    """About one word in ten written wholly in mathematical bold letters ("𝐛𝐚𝐧𝐤"), as text copied
    from social media styles it."""
    rnd = random.Random(seed)

    def bold(c: str) -> str:
        return chr(0x1D400 + ord(c) - ord("A")) if c.isupper() else chr(0x1D41A + ord(c) - ord("a"))

    return re.sub(r"[A-Za-z]+", lambda m: "".join(map(bold, m.group())) if rnd.random() < 0.1 else m.group(), text)


def test_look_alikes_finds_the_latin_word_meant():
    assert look_alikes("bаnk") == ("bank", [LookAlike(1, "а", "CYRILLIC SMALL LETTER A", "a")])
    assert look_alikes("ΤЕxt") == ("TExt", [LookAlike(0, "Τ", "GREEK CAPITAL LETTER TAU", "T"),
                                            LookAlike(1, "Е", "CYRILLIC CAPITAL LETTER IE", "E")])
    assert look_alikes("bank") is None  # plain Latin
    assert look_alikes("café") is None  # Latin with an accent
    assert look_alikes("Путин") is None  # a word of another alphabet, not a disguised one
    assert look_alikes("bаnkж") is None  # a letter without a Latin twin: a mixed word, left alone


@pytest.mark.parametrize("word", ["Kα", "ERα", "TNFα", "Dα", "IL-1β", "NF-κB", "α-helix", "γ-ray", "β-blockers"])
def test_greek_letters_of_scientific_notation_are_not_look_alikes(word):
    """A small Greek letter with no small letter beside it is notation ("Cu Kα radiation", "an
    α-helix"): it had been reported as a disguise and ``restore`` wrote "Cu Ka", "an a-helix"."""
    assert look_alikes(word) is None
    assert latin_words(f"the {word} line") == f"the {word} line"


def test_greek_letters_among_small_letters_are_look_alikes():
    assert look_alikes("pαper")[0] == "paper" and look_alikes("οpportunity")[0] == "opportunity"
    assert look_alikes("knοw")[0] == "know" and look_alikes("dαtα")[0] == "data"
    assert look_alikes("Κnow")[0] == "Know" and look_alikes("ΑPPLE")[0] == "APPLE"  # capitals: any place


def test_engine_leaves_scientific_notation_as_written(engine):
    text = ("The samples were recorded with Cu Kα radiation. The protein folds into an α-helix, and "
            "expression of ERα and TNFα increased after treatment with β-blockers.\n")
    report = engine.score(text)
    assert [s.text for s in report.spans if s.kind == "formatting"] == []
    from service.restore import restore

    assert restore(text, report) == text


def test_fullwidth_and_mathematical_letters_are_look_alikes():
    assert look_alikes("ｂａｎｋ") == ("bank", [LookAlike(i, c, f"FULLWIDTH LATIN SMALL LETTER {p.upper()}", p)
                                          for i, (c, p) in enumerate(zip("ｂａｎｋ", "bank"))])
    assert look_alikes("bａnk") == ("bank", [LookAlike(1, "ａ", "FULLWIDTH LATIN SMALL LETTER A", "a")])
    assert look_alikes("𝐁𝐚𝐧𝐤")[0] == "Bank" and look_alikes("𝘣𝘢𝘯𝘬")[0] == "bank"  # bold, sans-serif italic
    assert look_alikes("ｂаnk")[0] == "bank"  # a fullwidth b and a Cyrillic а
    assert look_alikes("ⓑank") is None  # a circled letter is a symbol, not a form of the letter
    assert look_alikes("1ª") is None and look_alikes("ª") is None  # an ordinal indicator
    assert latin_words("The 𝐜𝐞𝐧𝐭𝐫𝐚𝐥 ｂａｎｋ said") == "The central bank said"
    assert [t.norm for t in tokenize("The 𝐜𝐞𝐧𝐭𝐫𝐚𝐥 ｂａｎｋ said")] == ["the", "central", "bank", "said"]


def test_latin_words_keeps_offsets():
    text = "The bаnk’s “Tuеsday” rаte, in Москва, soft\u00adwаre."
    out = latin_words(text)
    assert len(out) == len(text)
    assert out == "The bank’s “Tuesday” rate, in Москва, soft\u00adware."
    assert latin_words("plain ASCII") == "plain ASCII"


def test_tokens_read_disguised_words_in_latin_letters():
    toks = tokenize("Thе bаnk rаised rates in Москва")
    assert [t.text for t in toks] == ["Thе", "bаnk", "rаised", "rates", "in", "Москва"]
    assert [t.norm for t in toks] == ["the", "bank", "raised", "rates", "in", "москва"]


def test_engine_reports_disguised_words_and_keeps_the_verdict(engine):
    text = "The central bаnk raised interest rates on Tuеsday to curb rising inflаtion, officials in Москва said.\n"
    report = engine.score(text)
    plain = engine.score(text.replace("а", "a").replace("е", "e").replace("Москва", "Moskva"))
    looks = [s for s in report.spans if SOURCE in s.sources]
    assert [(s.text, s.kind, s.score, [x.text for x in s.suggestions]) for s in looks] == [
        ("bаnk", "formatting", 1.0, ["bank"]),
        ("Tuеsday", "formatting", 1.0, ["Tuesday"]),
        ("inflаtion", "formatting", 1.0, ["inflation"]),
    ]
    assert all(text[s.start : s.end] == s.text for s in report.spans)
    assert "CYRILLIC SMALL LETTER A" in looks[0].evidence["look_alikes"]
    assert (report.label, report.score) == (plain.label, plain.score)  # no evidence of spinning


@pytest.mark.parametrize("how", [disguise, widen, embolden], ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed_path", seed_paths(), ids=lambda p: p.name[:3])
def test_disguised_seeds_score_as_the_plain_ones(engine, seed_path, how):
    """Both seeds with about half their words disguised (a Cyrillic or a fullwidth letter), or one
    word in ten in mathematical bold: the same spun spans, suggestions and verdict as the plain
    text, and a formatting span on every disguised word the model knows."""
    text = read_seed(seed_path)
    hidden = how(text)
    assert len(hidden) == len(text) and hidden != text
    plain, report = engine.score(text), engine.score(hidden)

    def spun(r):
        return [(s.start, s.end, [x.text for x in s.suggestions], s.score) for s in r.spans if s.kind == "spun"]

    assert spun(report) == spun(plain)
    assert (report.label, report.score) == (plain.label, plain.score)
    looks = [s for s in report.spans if SOURCE in s.sources]
    changed = [m for m in re.finditer(r"\S+", hidden) if m.group() != text[m.start() : m.end()]]
    assert len(looks) >= 0.8 * len(changed)
    for s in looks:
        assert hidden[s.start : s.end] == s.text and s.suggestions[0].text == text[s.start : s.end]


def test_languagetool_clients_see_the_disguised_words(engine):
    text = "Shares of the bаnk rose 5% 🙂 on Tuеsday."
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as client:
        res = client.post("/v2/check", data={"text": text, "language": "en-US"})
    assert res.status_code == 200
    found = [m for m in res.json()["matches"] if m["rule"]["id"] == RULE_ID]
    assert [(m["offset"], m["length"], m["replacements"][0]["value"]) for m in found] == [(14, 4, "bank"), (33, 7, "Tuesday")]
    assert found[0]["shortMessage"] == "Look-alike letters"


def test_csv_top_spans_put_spun_spans_before_disguised_words(engine):
    """A disguised word scores 1 but is no evidence of spinning: the CSV's five best spans list the
    spun ones first."""
    from service.batch_listing import top_spans

    text = "The twо terrific powers have actually vоiced support fоr the prоposal, the bаnk said.\n"
    report = engine.score(text, threshold=0.02)
    kinds = [s.kind for s in sorted(report.spans, key=lambda s: (s.kind != "spun", -s.score, s.start))]
    assert "spun" in kinds and kinds.count("formatting") >= 4
    first = top_spans(report).split("; ")[0]
    assert first in {f"{s.text} → {s.suggestions[0].text}" for s in report.spans if s.kind == "spun"}
