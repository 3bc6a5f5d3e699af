"""The replaced-word detector (service/detector.py): mechanics, the shipped probe, training."""

from __future__ import annotations

import numpy as np
import pytest

from service.detector import DEFAULT_PATH, ReplacedWordDetector, labelled_states, probe_logits, train_detector
from service.scoring import FEATURE_NAMES
from service.text import segment

CLEAN = "The minister told reporters that the talks had been difficult but productive."


def _logits(detector, text: str) -> dict[str, float]:
    sent = segment(text)[0]
    return {t.text: float(v) for t, v in zip(sent.tokens, detector.logits([sent])[0])}


def test_one_logit_per_token_and_zero_off_words(engine):
    text = "Shares rose 3.5 % in early trading, the U.S. exchange said.\n\nOfficials didn't comment."
    sentences = segment(text)
    out = engine.detector.logits(sentences)
    assert [len(a) for a in out] == [len(s.tokens) for s in sentences]
    for sent, arr in zip(sentences, out):
        for tok, v in zip(sent.tokens, arr):
            if not tok.is_word:
                assert v == 0.0
            elif tok.text.isalpha():
                assert v != 0.0  # every plain word is read by the encoder
    again = engine.detector.logits(sentences)
    assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(out, again))


def test_hard_wrapped_sentences_are_read_at_their_offsets(engine):
    flat = _logits(engine.detector, CLEAN)
    wrapped = _logits(engine.detector, CLEAN.replace(" that ", "\nthat "))
    assert flat.keys() == wrapped.keys()
    assert all(abs(flat[k] - wrapped[k]) < 1e-3 for k in flat)


@pytest.mark.parametrize(
    "original, spun, word, was",
    [
        ("The central bank raised interest rates on Tuesday to curb rising inflation.",
         "The central bank elevated interest rates on Tuesday to curb rising inflation.", "elevated", "raised"),
        (CLEAN, CLEAN.replace("productive", "fertile"), "fertile", "productive"),
        ("Prices of crude oil fell as investors worried about slowing growth.",
         "Prices of crude oil fell as capitalists worried about slowing growth.", "capitalists", "investors"),
    ],
)
def test_the_shipped_probe_finds_planted_swaps(engine, original, spun, word, was):
    assert DEFAULT_PATH.exists()
    assert _logits(engine.detector, spun)[word] > _logits(engine.detector, original)[was] + 0.5


def test_without_a_probe_every_word_gets_zero(engine, tmp_path):
    bare = ReplacedWordDetector.load(engine.relatedness.model_dir, tmp_path / "missing.npz")
    assert bare.probe is None
    sentences = segment(CLEAN)
    assert all((a == 0).all() for a in bare.logits(sentences))


def test_the_engine_feeds_the_largest_logit_of_a_slot_to_the_fusion(engine):
    text = CLEAN.replace("productive", "fertile")
    a = engine.analyze(text)
    logits = engine.detector.logits(a.sentences)
    col = FEATURE_NAMES.index("replaced")
    assert a.slots
    for r in a.slots:
        want = logits[r.sentence][r.first : r.last].max()
        assert np.allclose(r.features[:, col], want, atol=1e-6)


def test_training_writes_a_probe_that_loads(engine, tmp_path):
    spun = CLEAN.replace("productive", "fertile")
    start = spun.index("fertile")
    docs = [{"text": spun, "spans": [{"start": start, "end": start + len("fertile")}]}] * 3 + [{"text": CLEAN, "spans": []}]
    X, y = labelled_states(engine.detector, docs)
    assert X.shape == (len(y), engine.detector.encoder.model.config.hidden_size) and y.sum() == 3
    out = tmp_path / "probe.npz"
    res = train_detector(engine.detector, docs, out, hidden=4)
    assert res == {"words": len(y), "replaced": 3}
    probe = ReplacedWordDetector.load(engine.relatedness.model_dir, out)
    assert probe.probe["w1"].shape == (X.shape[1], 4)
    sentences = segment(spun)
    rows = probe.word_states(sentences)[0]  # the first document's words come first in X
    by_token = probe.logits(sentences)[0]
    assert np.allclose(probe_logits(probe.probe, X[: len(rows)]), [by_token[i] for i, _ in rows], atol=1e-3)
    with pytest.raises(ValueError, match="both spun and clean"):
        train_detector(engine.detector, [{"text": CLEAN, "spans": []}], out)
