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


def test_a_generator_keeps_a_bounded_number_of_words_in_memory(engine, tmp_path, monkeypatch):
    """The context-free candidates of every word met had been kept for the life of the process (a
    service scoring 2,000 articles grew by about 65 MiB there, and would have kept growing); the
    least recently used go first, and the answers are the same read again from the store."""
    import service.candidates

    monkeypatch.setattr(service.candidates, "CACHED_WORDS", 3)
    store = NeighbourStore(tmp_path / "n.sqlite")
    gen = CandidateGenerator(engine.thesaurus, engine.ngram, engine.relatedness, store=store)
    words = ["powers", "pressure", "binoculars", "handle", "essential", "banquet", "terrific"]
    first = {w: (gen._near(w), gen._far_ids(w).tolist()) for w in words}
    assert gen._near.cache_info().currsize == gen._far_ids.cache_info().currsize == 3
    again = {w: (gen._near(w), gen._far_ids(w).tolist()) for w in words}  # the first ones read back
    assert again == first and any(len(near) for near, _ in first.values())


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


def test_common_words_are_frequent_open_class_words(engine):
    words = engine.common_words(500)
    assert len(words) == 500 and len(set(words)) == 500
    assert all(w.isalpha() and w.islower() and len(w) >= 2 for w in words)
    assert not {"the", "of", "and", "has"} & set(words)  # closed-class words are never slots
    assert {"said", "year", "new"} <= set(words)
    uni = [engine.ngram.unigram(w) for w in words]
    assert uni == sorted(uni, reverse=True)  # most frequent first
    assert engine.common_words(0) == [] and engine.common_words(-3) == []


def test_prepare_stores_what_scoring_would_ask_for(engine, tmp_path):
    from service.engine import Engine

    store = NeighbourStore(tmp_path / "n.sqlite")
    e = Engine(engine.settings, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon,
               grammar=engine.grammar, garble=engine.garble)
    e.candidates = CandidateGenerator(engine.thesaurus, engine.ngram, engine.relatedness, store=store)
    seen = []
    e.prepare(list(SENTENCE), progress=lambda it: (seen.append(w) or w for w in it))
    assert seen == list(SENTENCE)  # the progress wrapper saw every word
    # another process finds every answer in the file: WordNet is never asked
    again = CandidateGenerator(_NoThesaurus(), engine.ngram, engine.relatedness,
                               store=NeighbourStore(tmp_path / "n.sqlite"))
    want = _candidates(CandidateGenerator(engine.thesaurus, engine.ngram, engine.relatedness))
    assert [c for c, _ in _candidates(again)] == [c for c, _ in want]


def test_answers_a_write_drops_are_counted_and_prepare_says_so(tmp_path, monkeypatch):
    """A full disk under ``unspin prepare`` had stored a fraction of the words and exited 0 saying
    they were stored (a Docker build then shipped an all but empty store)."""
    import sqlite3
    from types import SimpleNamespace

    from click.testing import CliRunner

    import service.cli

    store = NeighbourStore(tmp_path / "n.sqlite")
    store.put("near", "optimal", b"x")
    store.flush()
    assert store.unwritten == 0 and store.write_error is None

    class Full:  # a connection whose writes fail as SQLite's do on a full disk
        def execute(self, sql, *args):
            if sql == "ROLLBACK":
                return None
            raise sqlite3.OperationalError("database or disk is full")

        executemany = execute

    store._conn = Full()  # noqa: SLF001
    store.put("near", "maximum", b"y")
    store.put("far", "maximum", b"z")
    store.flush()
    assert store.unwritten == 2 and store.write_error == "database or disk is full"

    engine = SimpleNamespace(candidates=SimpleNamespace(store=store), settings=SimpleNamespace(cache_dir=tmp_path),
                             common_words=lambda n: ["maximum"], prepare=lambda words, progress=None: None)
    monkeypatch.setattr(service.cli, "_fresh_engine", lambda settings: engine)
    res = CliRunner().invoke(service.cli.main, ["prepare", "--words", "1"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "2 answers could not be written to the neighbour store" in res.stderr
    assert "database or disk is full" in res.stderr and "run 'unspin prepare' again" in res.stderr


def test_a_store_that_is_not_a_database_is_made_again(engine, tmp_path, caplog):
    """A store whose file is damaged (not a database) had stayed unusable for good, with the same
    warning every run; it is only a cache, so it is made again, and keeps answers once more."""
    path = tmp_path / "n.sqlite"
    store = NeighbourStore(path)
    store.put("near", "word", b'[["term", "synonym"]]')
    store.flush()
    store._conn.close()  # noqa: SLF001
    data = bytearray(path.read_bytes())
    data[:100] = b"\x5a" * 100  # the header garbled
    path.write_bytes(bytes(data))
    again = NeighbourStore(path)
    assert again.usable and again.open_error is None
    assert "is damaged" in caplog.text and str(path) in caplog.text
    assert again.get("near", "word") is None  # made again: empty
    again.put("near", "word", b"[]")
    again.flush()
    assert NeighbourStore(path).get("near", "word") == b"[]"


def test_damaged_stored_answers_are_computed_again(engine, tmp_path):
    """A stored value damaged on the disk (not JSON, not pairs, ids out of the vocabulary or torn)
    had ended every document with that word in an internal error; it is taken for a miss and the
    answer computed again, the same as from a sound store."""
    want = _candidates(CandidateGenerator(engine.thesaurus, engine.ngram, engine.relatedness))
    store = NeighbourStore(tmp_path / "n.sqlite")
    damaged = {"near": [b'{"essential": 1', b'[["crucial"]]', b"\xff\xfe", b'{"a": "b"}'],
               "far": [b"\x01\x02\x03", np.array([5, len(engine.ngram.ids) + 7], "<i4").tobytes(),
                       np.array([9, 3], "<i4").tobytes(), np.array([-4], "<i4").tobytes()]}
    for i, word in enumerate(SENTENCE):
        for table, values in damaged.items():
            store.put(table, word, values[i % len(values)])
    store.flush()
    gen = CandidateGenerator(engine.thesaurus, engine.ngram, engine.relatedness, store=store)
    got = _candidates(gen)
    assert [c for c, _ in got] == [c for c, _ in want]
    for (_, a), (_, b) in zip(got, want):
        np.testing.assert_array_equal(a, b)
    store.flush()  # the answers computed again replace the damaged ones
    assert NeighbourStore(tmp_path / "n.sqlite").get("near", "essential") not in damaged["near"]


def test_prepare_says_when_the_store_cannot_be_opened(tmp_path, monkeypatch):
    """``unspin prepare`` with a store it cannot open had said the candidates were stored (exit 0)."""
    from types import SimpleNamespace

    from click.testing import CliRunner

    import service.cli

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = NeighbourStore(blocker / "n.sqlite")
    assert not store.usable and store.open_error
    engine = SimpleNamespace(candidates=SimpleNamespace(store=store), settings=SimpleNamespace(cache_dir=tmp_path),
                             common_words=lambda n: ["maximum"], prepare=lambda words, progress=None: None)
    monkeypatch.setattr(service.cli, "_fresh_engine", lambda settings: engine)
    res = CliRunner().invoke(service.cli.main, ["prepare", "--words", "1"])
    assert res.exit_code == 1 and "Traceback" not in res.output and res.stdout == ""
    assert f"the neighbour store {blocker / 'n.sqlite'} cannot be opened" in res.stderr
    assert "the candidates were not stored" in res.stderr
