"""The slot model (service/scoring.py): P(slot spun) scores spans; its features, file and training."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from service.scoring import FEATURE_NAMES, SLOT_FEATURE_NAMES, FusionModel, SlotModel, slot_features
from service.training import labelled_rows, slot_labels, slot_sizes

COL = {n: i for i, n in enumerate(FEATURE_NAMES)}


def _reference(X: np.ndarray, p: np.ndarray) -> list[float]:
    """One slot's features, computed the plain way."""
    b = int(np.argmax(p))
    pb = min(max(float(p[b]), 1e-9), 1 - 1e-9)
    read = X[:, COL["corr_read"]] > 0
    return [np.log(pb / (1 - pb)), X[0, COL["replaced"]], X[:, COL["gain"]].max(), X[:, COL["fit_gain"]].max(),
            X[read, COL["corr"]].max() if read.any() else 0.0, float(read.any()), X[0, COL["uni_w"]],
            X[0, COL["lp_w_tok"]], X[0, COL["seen_left_w"]], X[0, COL["seen_w_right"]], X[0, COL["len_w"]],
            np.log1p(len(p)), X[b, COL["sim"]], X[b, COL["gain"]], X[b, COL["corr"]], X[b, COL["corr_read"]],
            X[b, COL["len_c"]]]


def test_slot_features_match_a_slot_by_slot_reference(engine, seeds):
    a = engine.analyze(seeds["002_2ef1442c87ee1781.txt"])
    slots = [r for r in a.slots if len(r.candidates)]
    X = np.vstack([r.features for r in slots])
    p = engine.fusion.predict(X)
    counts = np.array([len(r.features) for r in slots])
    p[:3] = p[0]  # ties: the first of equals is the best, as np.argmax takes it
    S = slot_features(X, p, counts)
    assert S.shape == (len(slots), len(SLOT_FEATURE_NAMES))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    ref = np.array([_reference(X[s : s + n], p[s : s + n]) for s, n in zip(starts, counts)])
    np.testing.assert_allclose(S, ref, rtol=1e-12, atol=1e-12)
    assert slot_features(X[:0], p[:0], counts[:0]).shape == (0, len(SLOT_FEATURE_NAMES))


def _slot_model(weight_on_replaced: float = 1.0) -> SlotModel:
    n = len(SLOT_FEATURE_NAMES)
    coef = np.zeros(n)
    coef[SLOT_FEATURE_NAMES.index("replaced")] = weight_on_replaced
    return SlotModel(np.zeros(n), np.ones(n), coef, -2.0)


def test_the_slot_model_scores_spans_and_the_fusion_ranks_their_suggestions(engine, seeds):
    from service.engine import Engine

    text = seeds["002_2ef1442c87ee1781.txt"]
    fusion = replace(engine.fusion, slot=_slot_model(), train_prior=None, threshold=0.3)
    e = Engine(engine.settings, ngram=engine.ngram, fusion=fusion, lexicon=engine.lexicon, grammar=engine.grammar,
               garble=engine.garble)
    a = e.analyze(text)
    for r in a.slots:
        if len(r.candidates) and not r.lexicon:
            z = r.features[0, COL["replaced"]] - 2.0
            assert r.lm_score == pytest.approx(1 / (1 + np.exp(-z)))  # the slot model, not the best candidate
            np.testing.assert_allclose(r.probs, fusion.predict(r.features))  # candidates keep the fusion's
    report = e.score(text, grammar=False)
    spans = [s for s in report.spans if s.kind == "spun" and "lm" in s.sources and not s.evidence.get("lexicon")]
    assert spans and all(s.score >= 0.3 for s in spans)
    for s in spans:
        assert s.suggestions[0].score == pytest.approx(s.score, abs=2e-4)  # the first suggestion scores as the span
        scores = [g.score for g in s.suggestions]
        assert scores == sorted(scores, reverse=True)


def test_a_document_prior_shifts_slot_probabilities_not_candidates(engine, seeds):
    from service.engine import Engine
    from service.prior import shift

    text = seeds["002_2ef1442c87ee1781.txt"]
    plain = replace(engine.fusion, slot=_slot_model(), train_prior=None)
    adapted = replace(plain, train_prior=0.07, prior_strength=100.0, prior_target=0.021)
    kw = dict(ngram=engine.ngram, lexicon=engine.lexicon, grammar=engine.grammar, garble=engine.garble)
    a, b = Engine(engine.settings, fusion=plain, **kw).analyze(text), Engine(engine.settings, fusion=adapted, **kw).analyze(text)
    assert a.spin_prior is None and 0 < b.spin_prior < 1
    for ra, rb in zip(a.slots, b.slots):
        np.testing.assert_allclose(rb.probs, ra.probs)
        assert rb.slot_prob == pytest.approx(float(shift(np.array([ra.slot_prob]), 0.07, b.spin_prior)[0]), rel=1e-9)


def test_a_fusion_without_a_slot_model_scores_a_span_as_its_best_candidate(engine, seeds):
    from service.engine import Engine

    fusion = replace(engine.fusion, slot=None, train_prior=None)
    e = Engine(engine.settings, ngram=engine.ngram, fusion=fusion, lexicon=engine.lexicon, grammar=engine.grammar,
               garble=engine.garble)
    for r in e.analyze(seeds["002_2ef1442c87ee1781.txt"]).slots:
        assert r.slot_prob is None
        assert r.lm_score == (float(r.probs.max()) if len(r.probs) else 0.0)
        assert r.suggestion_scores is r.probs


def test_the_slot_model_is_saved_with_the_fusion_and_checked_on_load(engine, tmp_path):
    path = tmp_path / "fusion.json"
    fusion = replace(engine.fusion, slot=_slot_model(0.5))
    fusion.save(path)
    back = FusionModel.load(path)
    np.testing.assert_array_equal(back.slot.coef, fusion.slot.coef)
    assert back.slot.intercept == -2.0
    data = json.loads(path.read_text())
    data["slot"]["features"] = data["slot"]["features"][:-1]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="retrain"):
        FusionModel.load(path)
    del data["slot"]
    path.write_text(json.dumps(data))
    assert FusionModel.load(path).slot is None


def test_the_shipped_fusion_has_a_slot_model():
    from service.scoring import default_fusion_path

    fusion = FusionModel.load(default_fusion_path("ngram"))
    assert fusion.slot is not None and fusion.meta["spun_slots"] > 0


def test_a_spun_slot_without_its_original_among_the_candidates_is_still_a_spun_slot(engine):
    text = "The minister said the terrific powers had met."
    start = text.index("terrific")
    gold = [{"start": start, "end": start + len("terrific"), "text": "terrific", "original": "qzxvw"}]
    a = engine.analyze(text)
    X, y = labelled_rows(a, gold)
    labels = slot_labels(a, gold)
    assert len(labels) == len(slot_sizes(a)) and sum(slot_sizes(a)) == len(X)
    assert y.sum() == 0  # no candidate is the (made-up) original ...
    assert sum(labels) >= 1  # ... but the slot was spun
    learnable = [r for r in a.slots if len(r.candidates) and not r.lexicon]
    for r, label in zip(learnable, labels):
        s, e = a.offsets(r)
        assert label == int(s < gold[0]["end"] and start < e)
