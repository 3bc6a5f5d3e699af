"""The persistent cache of thesaurus answers: same candidates from the file as from WordNet."""

from __future__ import annotations

import numpy as np

from service.candidates import CandidateGenerator
from service.lm.base import Slot
from service.neighbour_store import NeighbourStore, store_key

SENTENCE = ("the", "strategy", "comes", "at", "an", "essential", "moment", "and", "highlights", "deepening", "divisions")


class _NoThesaurus:
    """A thesaurus that must not be asked: every answer has to come from the store."""

    def neighbours(self, word, depth=1):
        raise AssertionError(f"thesaurus asked for {word!r}")

    def is_phrase_known(self, phrase):
        return False


def _candidates(gen: CandidateGenerator) -> list[tuple[tuple, np.ndarray | None]]:
    out = []
    for i in range(len(SENTENCE)):
        cands, sims = gen.scored_for_slot(Slot(SENTENCE, i, i + 1))
        out.append(([(c.tokens, c.relation) for c in cands], sims))
    return out


def test_a_new_process_reads_the_same_answers(engine, tmp_path):
    store = NeighbourStore(tmp_path / "n.sqlite")
    assert store.usable
    first = CandidateGenerator(engine.thesaurus, engine.ngram, engine.relatedness, store=store)
    want = _candidates(first)
    store.flush()
    # a fresh generator and a fresh connection, as in another process; WordNet is not consulted
    again = CandidateGenerator(_NoThesaurus(), engine.ngram, engine.relatedness,
                               store=NeighbourStore(tmp_path / "n.sqlite"))
    got = _candidates(again)
    assert [c for c, _ in got] == [c for c, _ in want]
    for (_, a), (_, b) in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert any(len(c) > 3 for c, _ in want)  # the sentence really has candidates


def test_engine_reports_do_not_depend_on_the_store(engine, seeds):
    text = next(iter(seeds.values()))
    with_store = engine.score(text).model_dump(mode="json")
    plain = CandidateGenerator(engine.thesaurus, engine.ngram, engine.relatedness)  # no store
    saved, engine.candidates = engine.candidates, plain
    try:
        without = engine.score(text).model_dump(mode="json")
    finally:
        engine.candidates = saved
    for d in (with_store, without):
        d["stats"].pop("seconds")
    assert with_store == without


def test_unusable_location_falls_back(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = NeighbourStore(blocker / "n.sqlite")  # its folder is a file: cannot be created
    assert not store.usable
    assert "not usable" in caplog.text
    store.put("near", "word", b"[]")
    store.flush()
    assert store.get("near", "word") is None


def test_key_follows_the_files(tmp_path):
    f = tmp_path / "data.noun"
    f.write_text("a")
    k1 = store_key([f, "x"])
    f.write_text("ab")
    assert store_key([f, "x"]) != k1
    assert store_key([f, "y"]) != store_key([f, "x"])
    assert store_key([tmp_path / "missing", None]) == store_key([tmp_path / "missing", None])
