"""Document-level prior adaptation (service.prior) and its use by the engine."""

from __future__ import annotations

import numpy as np
import pytest

from service.prior import document_prior, shift

P = np.array([0.01, 0.2, 0.5, 0.9, 0.999])


def test_shift_keeps_probabilities_at_the_training_prior():
    np.testing.assert_allclose(shift(P, 0.03, 0.03), P, rtol=1e-9)


def test_shift_follows_bayes_rule_and_keeps_ranks():
    up, down = shift(P, 0.03, 0.2), shift(P, 0.03, 0.005)
    assert np.all(up > P) and np.all(down < P)
    assert list(np.argsort(up)) == list(np.argsort(P)) == list(np.argsort(down))
    # odds scale by (new prior odds) / (training prior odds)
    odds = lambda x: x / (1 - x)  # noqa: E731
    np.testing.assert_allclose(odds(up) / odds(P), odds(0.2) / odds(0.03), rtol=1e-6)
    assert shift(np.array([]), 0.03, 0.2).shape == (0,)


def test_document_prior_moves_with_the_evidence():
    clean = np.full(200, 0.005)
    spun = np.concatenate([np.full(170, 0.01), np.full(30, 0.6)])
    assert document_prior(clean, 0.03, 30) < 0.03 < document_prior(spun, 0.03, 30)
    assert document_prior(np.array([]), 0.03, 30) == pytest.approx(0.03)  # nothing to go on: the training prior
    assert document_prior(np.array([]), 0.03, 0) == 0.03
    # strength shrinks a few slots' evidence towards the training prior
    few = np.full(5, 0.6)
    assert abs(document_prior(few, 0.03, 1000) - 0.03) < abs(document_prior(few, 0.03, 1) - 0.03)
    # a calibrated classifier on a document like its training data keeps the training prior
    rng = np.random.default_rng(0)
    same = rng.beta(0.3, 10, 5000)
    assert abs(document_prior(same, float(same.mean()), 0) - same.mean()) < 0.005
    with pytest.raises(ValueError):
        document_prior(P, 0.0, 30)
    with pytest.raises(ValueError):
        document_prior(P, 0.03, 30, target=0.0)


def test_a_short_text_is_presumed_mostly_clean():
    one_sentence = np.array([0.02, 0.01, 0.3, 0.005, 0.04, 0.01])
    assert document_prior(np.array([]), 0.03, 200, target=0.003) == pytest.approx(0.003)
    short = document_prior(one_sentence, 0.03, 200, target=0.003)
    assert short < 0.006  # six slots move it little from the presumed share
    # the probabilities it re-weights fall, so a lone moderate slot no longer reaches a threshold
    assert shift(one_sentence, 0.03, short)[2] < 0.1 < one_sentence[2]
    # a long, clearly spun text overrides the presumption
    spun = np.concatenate([np.full(240, 0.01), np.full(60, 0.7)])
    assert document_prior(spun, 0.03, 200, target=0.003) > 0.03


def test_engine_estimates_a_low_prior_for_clean_text_and_a_high_one_for_spun(engine, seeds):
    if engine.fusion.train_prior is None:
        pytest.skip("the shipped fusion has no training prior")
    clean = engine.analyze(seeds["000_37063bd84aa4b837.txt"])
    spun = engine.analyze(seeds["002_2ef1442c87ee1781.txt"])
    tp = engine.fusion.train_prior  # the training documents' share
    assert clean.spin_prior < 0.2 * tp < tp < spun.spin_prior
    assert spun.spin_prior > 10 * clean.spin_prior


def test_engine_without_a_training_prior_leaves_the_fusion_alone(engine, seeds):
    from dataclasses import replace

    from service.engine import Engine

    if engine.fusion.train_prior is None:
        pytest.skip("the shipped fusion has no training prior")
    text = seeds["002_2ef1442c87ee1781.txt"]
    plain = Engine(engine.settings, ngram=engine.ngram, fusion=replace(engine.fusion, train_prior=None),
                   lexicon=engine.lexicon, grammar=engine.grammar, garble=engine.garble)
    a, b = plain.analyze(text), engine.analyze(text)
    assert a.spin_prior is None
    tp = engine.fusion.train_prior
    for ra, rb in zip(a.slots, b.slots):
        if engine.fusion.slot is None:
            np.testing.assert_allclose(rb.probs, shift(ra.probs, tp, b.spin_prior), rtol=1e-9)
        else:  # the slot model's probability is re-weighted; the candidates keep the fusion's
            np.testing.assert_allclose(rb.probs, ra.probs)
            assert rb.slot_prob == pytest.approx(float(shift(np.array([ra.slot_prob]), tp, b.spin_prior)[0]), rel=1e-9)
