"""The replaced-word detector (service/detector.py): mechanics, the shipped probe, training."""

from __future__ import annotations

import re

import numpy as np
import pytest

from service.detector import ADAPTED, DEFAULT_PATH, ReplacedWordDetector, _apply_tuning
from service.detector_training import examples, train_detector
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


def test_a_sentence_longer_than_the_encoder_reads_at_once_is_read_in_windows(engine, seeds):
    """Text without sentence punctuation (a transcript, an OCR dump) is one "sentence" longer than
    the encoder's 256 pieces. Every word of it gets a state and a logit (before, the words past the
    first 256 pieces got none: log-odds 0, an even chance of being replaced, so the clean seed
    without its punctuation was labelled spun); a sentence that fits is read as before, in one pass."""
    text = " ".join(re.sub(r"[^\w\s'’-]", " ", seeds["000_37063bd84aa4b837.txt"]).split())
    sentences = segment(text)
    assert len(sentences) == 1 and len(engine.detector.encoder.tokenizer(text).input_ids) > 256
    words = [i for i, t in enumerate(sentences[0].tokens) if t.is_word and t.text.isalpha()]
    (states,) = engine.detector.word_states(sentences)
    assert {i for i, _ in states} >= set(words)
    (logits,) = engine.detector.logits(sentences)
    assert all(logits[i] != 0.0 for i in words)
    report = engine.score(text)
    assert report.label == "clean", (report.label, [s.text for s in report.spans])
    short = segment(CLEAN)
    (one,) = engine.detector.encoder.word_states([short[0].text])
    (again,) = engine.detector.encoder.word_states([short[0].text], max_length=512)
    assert [s for s, _ in one] == [s for s, _ in again]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(one, again))


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


def test_training_examples_label_words_at_their_sentence_offsets():
    spun = CLEAN.replace("productive", "fertile").replace(" that ", "\nthat ")
    start = spun.index("fertile")
    [(text, labels)] = examples([{"text": spun, "spans": [{"start": start, "end": start + len("fertile")}]}])
    assert text == spun  # one sentence, hard wrap and all
    assert [text[k : k + 7] for k, v in labels.items() if v] == ["fertile"]
    assert sum(labels.values()) == 1 and len(labels) == len(CLEAN.rstrip(".").split())


def test_training_writes_a_detector_that_loads(engine, tmp_path):
    spun = CLEAN.replace("productive", "fertile")
    start = spun.index("fertile")
    docs = [{"text": spun, "spans": [{"start": start, "end": start + len("fertile")}]}] * 3 + [{"text": CLEAN, "spans": []}]
    out = tmp_path / "detector.npz"
    before = _logits(engine.detector, spun)
    res = train_detector(engine.detector.encoder, docs, out, rank=2, epochs=1, hidden=4)
    assert res == {"sentences": 4, "words": 4 * len(CLEAN.rstrip(".").split()), "replaced": 3}
    with np.load(out) as f:
        layers = int(f["layers"])
        adapted = [k for k in f.files if k.startswith("lora_a:")]
        assert f[adapted[0]].shape[0] == 2 and int(f["rank"]) == 2
    assert len(adapted) == layers * len(ADAPTED)
    loaded = ReplacedWordDetector.load(engine.relatedness.model_dir, out)
    dim = engine.detector.encoder.model.config.hidden_size
    assert loaded.probe["w1"].shape == (dim, 4)
    logits = loaded.logits(segment(spun))[0]
    assert np.isfinite(logits).all() and (logits != 0).any()
    # training worked on a copy: the engine's own encoder is unchanged
    after = _logits(engine.detector, spun)
    assert all(abs(before[k] - after[k]) < 1e-4 for k in before)
    with pytest.raises(ValueError, match="both spun and clean"):
        train_detector(engine.detector.encoder, [{"text": CLEAN, "spans": []}], out)


def test_adapters_merge_into_the_encoder_weights(engine, tmp_path):
    import copy

    import torch

    model = copy.deepcopy(engine.detector.encoder.model)
    name = "encoder.layer.0.attention.self.query"
    W = model.get_parameter(f"{name}.weight").detach().numpy().copy()
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(2, W.shape[1])).astype(np.float32), rng.normal(size=(W.shape[0], 2)).astype(np.float32)
    bias = rng.normal(size=W.shape[0]).astype(np.float32)
    _apply_tuning(model, {f"lora_a:{name}": A, f"lora_b:{name}": B, f"param:{name}.bias": bias}, tmp_path / "x.npz")
    assert np.allclose(model.get_parameter(f"{name}.weight").detach().numpy(), W + B @ A, atol=1e-4)
    assert torch.equal(model.get_parameter(f"{name}.bias").detach(), torch.from_numpy(bias))
    with pytest.raises(ValueError, match="retrain"):
        _apply_tuning(model, {f"lora_a:{name}": A[:, :10], f"lora_b:{name}": B}, tmp_path / "x.npz")
    with pytest.raises(ValueError, match="retrain"):
        _apply_tuning(model, {"param:encoder.layer.9.output.dense.bias": bias}, tmp_path / "x.npz")
