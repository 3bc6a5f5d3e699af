"""Word relatedness: cached vocabulary vectors, phrases, nearest slot fillers."""

from __future__ import annotations

import numpy as np


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
