"""Word relatedness: cached vocabulary vectors, phrases, nearest slot fillers."""

from __future__ import annotations

import numpy as np
import pytest


def test_related_words_are_closer_than_unrelated(engine):
    rel = engine.relatedness
    assert rel.similarity("present", "current") > rel.similarity("present", "banana") + 0.1
    assert rel.similarity("financial", "economic") > 0.5
    assert rel.similarity("", "current") == 0.0


def test_phrase_vector_is_mean_of_words_and_unknown_text_is_zero(engine):
    rel = engine.relatedness
    v = rel.vector("field glasses")
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-4
    mean = rel.vectors[rel.ids["field"]] + rel.vectors[rel.ids["glasses"]]
    assert np.allclose(v, mean / np.linalg.norm(mean), atol=1e-5)
    assert not np.allclose(v, rel.vector("field"), atol=1e-3)
    assert np.allclose(rel.vector("field qqqzzxv"), rel.vector("field"), atol=1e-6)  # an unknown word adds nothing
    assert not rel.vector("qqqzzxv").any()


def test_similarities_match_pairwise(engine):
    rel = engine.relatedness
    others = ["current", "field glasses", "", "qqqzzxv"]
    got = rel.similarities("present", others)
    want = [rel.similarity("present", o) for o in others]
    assert np.allclose(got, want, atol=1e-5)


def test_nearest_filters_and_orders(engine):
    rel = engine.relatedness
    ids = np.array([rel.ids[w] for w in ("current", "banana", "existing", "the")])
    near = rel.nearest("present", ids, min_similarity=0.4, k=5)
    words = [w for w, _ in near]
    assert "banana" not in words and words
    sims = [s for _, s in near]
    assert sims == sorted(sims, reverse=True) and all(s >= 0.4 for s in sims)


def _damage(path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "empty":
        data = bytearray()
    elif how == "truncated":
        data = data[: len(data) // 2]
    elif how == "zeroed":  # a word's row zeroed: as a disk's bad block leaves it
        data[-800:-400] = bytes(400)
    else:  # "garbled": bytes that are no float16 a vector holds (NaN)
        data[-800:-400] = b"\xff" * 400
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["empty", "truncated", "zeroed", "garbled"])
def test_damaged_cached_vectors_are_computed_again(tmp_path, caplog, how):
    """Cached word vectors that cannot be read (an empty file had ended in click's bare "Aborted!")
    or are not whole (zeroed bytes had been loaded silently and changed every report; garbled
    ones ended each document in an error) are computed again, with a warning naming the file."""
    import logging

    from service.relatedness import Relatedness

    vocab = ["cat", "dog", "'s", "3", "house", "it's"]
    first = Relatedness(vocab, tmp_path)
    cache = next(tmp_path.glob("embeddings-*.npy"))
    assert not first.vectors[vocab.index("3")].any()
    _damage(cache, how)
    with caplog.at_level(logging.WARNING, logger="service.relatedness"):
        again = Relatedness(vocab, tmp_path)
    assert np.allclose(again.vectors, first.vectors, atol=1e-3)
    assert any(str(cache) in r.getMessage() and "computed again" in r.getMessage() for r in caplog.records)
    caplog.clear()
    kept = Relatedness(vocab, tmp_path)  # written again whole: read as it is
    assert np.array_equal(kept.vectors, again.vectors) and not caplog.records
