"""Synthetic spinner: exact offsets, exact reconstruction, rate, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lemminflect
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.config import get_settings
from service.relatedness import Relatedness
from service.spinner import RELATION_MIX, TORTURED_MIX, GoldSpan, make_dataset, spin, split_of, unspin
from service.thesaurus import get_thesaurus

pytestmark = pytest.mark.skipif(
    not (get_settings().wordnet_dir / "data.noun").is_file(),
    reason="WordNet 3.0 files not installed (Debian package wordnet-base)",
)

ROOT = Path(__file__).resolve().parents[1]
SEED_TEXT = (ROOT / "seeds" / "000_37063bd84aa4b837.txt").read_text(encoding="utf-8")

REUTERS_LIKE = """Showers continued throughout the week in
the Bahia cocoa zone, alleviating the drought since early
January and improving prospects for the coming harvest,
although normal humidity levels have not been restored,
Comissaria Smith said in its weekly review.
    The dry period means the harvest will be late this year.
    Arrivals for the week ended February 22 were 155,221 bags
of 60 kilos making a cumulative total for the season of 5.93
mln against 5.81 at the same stage last year. Two analysts said
the market would deal with the shortage, and the company has
launched a new fund to buy beans from small farmers.
"""

PARAGRAPHS = [REUTERS_LIKE] + [p for p in SEED_TEXT.split("\n") if len(p.split()) > 25][:4]


def _check(doc, original):
    assert doc.original == original
    last_end = -1
    for sp in doc.spans:
        assert isinstance(sp, GoldSpan)
        assert doc.text[sp.start : sp.end] == sp.text
        assert sp.start >= last_end  # sorted, non-overlapping
        last_end = sp.end
        assert sp.text != sp.original
    assert unspin(doc.text, doc.spans) == original
    assert unspin(doc.text, [s.to_dict() for s in doc.spans]) == original


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**31),
    rate=st.floats(min_value=0.0, max_value=1.0),
    which=st.integers(min_value=0, max_value=len(PARAGRAPHS) - 1),
)
def test_offsets_exact_and_originals_reproduce_text(seed, rate, which):
    text = PARAGRAPHS[which]
    _check(spin(text, rate=rate, seed=seed), text)


def test_seed_file_whole():
    for seed in range(3):
        _check(spin(SEED_TEXT, rate=0.15, seed=seed), SEED_TEXT)


def test_deterministic():
    a = spin(REUTERS_LIKE, rate=0.2, seed=7)
    b = spin(REUTERS_LIKE, rate=0.2, seed=7)
    assert a.text == b.text and a.spans == b.spans
    texts = {spin(REUTERS_LIKE, rate=0.2, seed=s).text for s in range(5)}
    assert len(texts) > 1


def test_rate_zero_is_identity():
    doc = spin(REUTERS_LIKE, rate=0.0, seed=3)
    assert doc.text == REUTERS_LIKE and doc.spans == []


def test_rate_roughly_respected():
    words = len(re.findall(r"[A-Za-z]+", SEED_TEXT))
    low = sum(len(spin(SEED_TEXT, rate=0.05, seed=s, insert_rate=0).spans) for s in range(5)) / 5
    high = sum(len(spin(SEED_TEXT, rate=0.3, seed=s, insert_rate=0).spans) for s in range(5)) / 5
    assert 0 < low < high
    assert low < 0.05 * words  # fraction of *eligible* units, which are fewer than all words
    assert high > 0.3 * words * 0.25


def test_names_numbers_stopwords_untouched():
    names = {"Bahia", "January", "Comissaria", "Smith", "February", "Arrivals"}
    for seed in range(10):
        doc = spin(REUTERS_LIKE, rate=1.0, seed=seed, insert_rate=0)
        for sp in doc.spans:
            orig = sp.original
            assert orig not in names
            assert not any(ch.isdigit() for ch in orig)
            assert orig.lower() not in {"the", "and", "of", "in", "for", "its", "were", "have", "not"}
            if orig[:1].isupper():  # only a sentence-initial common word, case kept
                assert sp.text[:1].isupper()
        for token in ("155,221", "5.93", "Smith", "Bahia", "February 22"):
            assert token in doc.text


def test_adverbs_option_spins_adverbs_the_engine_scores():
    """By default stop words stay; with ``adverbs`` the spinner also changes the ones whose likeliest
    reading is an adverb ("however", "only"), never a closed-class word the engine makes no slot of."""
    from service.candidates import CLOSED_CLASS
    from service.spinner import STOPWORDS

    text = ("The company said it would only sell the unit, however analysts also expected about 20 pct "
            "more. Yet the deal was just signed and it is almost done.")
    plain = {sp.original.lower() for seed in range(20) for sp in spin(text, rate=1.0, seed=seed, insert_rate=0).spans}
    assert not plain & STOPWORDS
    changed = {sp.original.lower(): sp.text for seed in range(20)
               for sp in spin(text, rate=1.0, seed=seed, insert_rate=0, adverbs=True).spans}
    assert {"only", "however", "also", "just"} <= set(changed), changed
    assert not set(changed) & CLOSED_CLASS
    assert changed.keys() - plain <= STOPWORDS  # the option adds stop words and nothing else
    doc = spin(text, rate=1.0, seed=3, insert_rate=0, adverbs=True)
    assert unspin(doc.text, doc.spans) == text


def test_spinner_substitutions_and_inflection():
    seen = {}
    for seed in range(60):
        for sp in spin("The minister said the deadline was near and great powers launched new binoculars.",
                       rate=1.0, seed=seed, insert_rate=0).spans:  # fmt: skip
            seen.setdefault(sp.original, set()).add(sp.text)
    assert "field glasses" in seen["binoculars"]  # a WordNet multi-word synonym
    def past(word: str) -> bool:
        return any(word in lemminflect.getInflection(lem, tag="VBD")
                   for lem in lemminflect.getAllLemmas(word, upos="VERB").get("VERB", ()))

    assert seen["said"] and all(" " in t or past(t) for t in seen["said"]), seen["said"]  # inflected like "said"
    assert any(t.endswith("s") for t in seen.get("powers", {"s"}))
    assert any(t.endswith("ed") or " " in t for t in seen["launched"])


def _relations(mix, relatedness=None):
    """Relation kinds (original -> replacement, as the thesaurus sees them) of one-word swaps."""
    th = get_thesaurus()
    kinds = []
    for seed in range(30):
        for sp in spin(REUTERS_LIKE, rate=0.5, seed=seed, insert_rate=0, mix=mix, relatedness=relatedness).spans:
            if " " not in sp.original and " " not in sp.text and not sp.original.isdigit() and not sp.text.isdigit():
                near = th.neighbours(sp.original.lower(), 1).get(sp.text.lower())
                kinds.append(near or th.neighbours(sp.original.lower(), 2).get(sp.text.lower()) or "none")
    return kinds


def test_relation_mix():
    """The default spinner swaps in synonyms and similar words; the broad mix also two-step
    neighbours and hyponyms."""
    near_only = _relations(None)  # (the spinner's own table adds a few: "said" -> "mentioned")
    assert len(near_only) > 50 and near_only.count("synonym") + near_only.count("similar") >= 0.9 * len(near_only)
    assert near_only.count("2-step") <= 0.05 * len(near_only)
    mixed = _relations(RELATION_MIX)
    assert mixed.count("2-step") >= 0.1 * len(mixed) and "hyponym" in mixed, mixed
    assert mixed.count("synonym") + mixed.count("similar") < 0.8 * len(mixed)


def _closeness() -> Relatedness:
    """The relatedness model in miniature (its vectors set by hand, no encoder): "economic" is
    close to "financial" (which WordNet does not link to it), "coming" to "upcoming" and "normal"
    to "usual" (which it does link); each pair shares one unit vector, the rest are apart."""
    rel = Relatedness.__new__(Relatedness)
    rel.vocab = ["economic", "financial", "banana", "coming", "upcoming", "normal", "usual"]
    rel.ids = {w: i for i, w in enumerate(rel.vocab)}
    rel.vectors = np.eye(len(rel.vocab), dtype=np.float32)[[0, 0, 2, 3, 3, 5, 5]]
    rel._encoder = None
    rel.vector = rel._vector_uncached  # what __init__ puts its cache around
    return rel


def test_embedding_replacements_are_close_in_meaning_and_unlinked():
    """``embedding`` swaps in words close in meaning that WordNet does not link to the original,
    inflected like it; words whose close neighbours WordNet links get none."""
    text = "The economic outlook improved and normal trade resumed in the coming weeks. " * 3
    got = set()
    for seed in range(20):
        for sp in spin(text, rate=0.6, seed=seed, insert_rate=0, mix={"embedding": 1.0}, relatedness=_closeness()).spans:
            got.add((sp.original, sp.text))
    assert ("economic", "financial") in got
    assert not {o for o, _ in got} & {"normal", "coming"}, got  # their close words are WordNet-linked
    assert get_thesaurus().related("financial", "economic", 2) is None
    kinds = _relations(TORTURED_MIX, relatedness=_closeness())
    assert kinds.count("2-step") >= 0.1 * len(kinds) and kinds.count("synonym") + kinds.count("similar") < 0.8 * len(kinds)


def test_embedding_mix_needs_a_relatedness_model():
    with pytest.raises(ValueError, match="relatedness"):
        spin(REUTERS_LIKE, rate=0.5, mix=TORTURED_MIX)


@pytest.mark.parametrize("mix", [{"near": 0.0}, {"near": -1.0, "2-step": 1.0}, {"antonym": 1.0}])
def test_relation_mix_must_be_valid(mix):
    with pytest.raises(ValueError, match="mix"):
        spin(REUTERS_LIKE, rate=0.5, mix=mix)


def test_actually_insertion_and_numbers():
    text = "Two banks have increased rates and two firms have reported profits."
    inserted = numbers = False
    for seed in range(40):
        doc = spin(text, rate=0.5, seed=seed, insert_rate=0.5)
        _check(doc, text)
        for sp in doc.spans:
            if sp.original == "":
                assert sp.text == " actually"
                inserted = True
            if sp.original == "two":
                assert sp.text == "2"
                numbers = True
    assert inserted and numbers


def test_split_is_deterministic():
    ids = list(range(2000))
    train = [i for i in ids if split_of(i) == "train"]
    assert 0.75 < len(train) / len(ids) < 0.85
    assert [split_of(i) for i in ids] == [split_of(i) for i in ids]


def test_make_dataset_small(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    with open(corpus, "w") as fh:
        for i in range(60):
            body = REUTERS_LIKE.replace("Smith", f"Smith{i}")
            fh.write(json.dumps({"id": i, "date": "", "title": "T", "body": body}) + "\n")
    stats = make_dataset(corpus, tmp_path / "out", n_train=10, n_test=3, rate=0.1, seed=1, clean_words=200)
    rows = {name: [json.loads(l) for l in open(tmp_path / "out" / f"{name}.jsonl")] for name in ("train", "test", "clean_test")}
    assert len(rows["train"]) == 10 and len(rows["test"]) == 3
    assert stats["clean_test"]["words"] >= 200
    assert all(split_of(r["id"]) == "train" for r in rows["train"])
    assert all(split_of(r["id"]) == "test" for r in rows["test"] + rows["clean_test"])
    assert not {r["id"] for r in rows["test"]} & {r["id"] for r in rows["clean_test"]}
    for r in rows["train"] + rows["test"]:
        for s in r["spans"]:
            assert r["text"][s["start"] : s["end"]] == s["text"]
        assert unspin(r["text"], r["spans"]) == r["clean"]
    assert all(r["spans"] == [] for r in rows["clean_test"])
    # deterministic
    make_dataset(corpus, tmp_path / "out2", n_train=10, n_test=3, rate=0.1, seed=1, clean_words=200)
    assert (tmp_path / "out" / "test.jsonl").read_text() == (tmp_path / "out2" / "test.jsonl").read_text()
