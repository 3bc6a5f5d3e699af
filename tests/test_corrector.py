"""The corrector (service/corrector.py): its arithmetic, what it loads, its training, its features."""

from __future__ import annotations

import numpy as np
import pytest

from service.corrector import DEFAULT_PATH, KEYS, Corrector, file_key, gelu, vocab_key
from service.corrector_training import corrector_examples, train_corrector
from service.detector import DEFAULT_PATH as DETECTOR_PATH
from service.scoring import FEATURE_NAMES

CLEAN = "The minister told reporters that the talks had been difficult but productive."


class _Vectors:
    """A stand-in for service.relatedness.Relatedness: four words in three dimensions."""

    def __init__(self) -> None:
        self.vocab = ["great", "terrific", "powers", "nations"]
        self.ids = {w: i for i, w in enumerate(self.vocab)}
        rng = np.random.default_rng(1)
        v = rng.normal(size=(4, 3))
        self.vectors = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def vector(self, text: str) -> np.ndarray:
        rows = [self.vectors[self.ids[w]] for w in text.split() if w in self.ids]
        if not rows:
            return np.zeros(3, dtype=np.float32)
        m = np.mean(rows, axis=0)
        return m / np.linalg.norm(m)


def _toy() -> Corrector:
    rng = np.random.default_rng(0)
    arrays = {"w1": rng.normal(size=(5, 4)), "b1": rng.normal(size=4), "w2": rng.normal(size=(4, 3)),
              "b2": rng.normal(size=3), "m": rng.normal(size=(3, 3)), "bias": np.array([0.5, -1.0, 0.25, 2.0]),
              "scale": np.float64(3.0)}
    assert set(arrays) == set(KEYS)
    return Corrector({k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}, _Vectors())


def test_gains_are_the_candidates_scores_less_the_written_words():
    c, rel = _toy(), _Vectors()
    a = {k: v.astype(np.float64) for k, v in c.arrays.items()}
    states = np.array([[0.3, -1.2], [2.0, 0.1], [1.0, 1.0]])
    cands = [["great", "TERRIFIC", "great nations", "zzz", ""], ["nations"], ["great"]]
    got = c.gains(states, ["terrific", "Powers", "unknown"], cands)
    # the plain way, slot by slot
    want = []
    for h, w, cs in zip(states[:2], ["terrific", "powers"], [["great", "terrific"], ["nations"]]):
        u = gelu(np.concatenate([h, rel.vector(w)]) @ a["w1"] + a["b1"]) @ a["w2"] + a["b2"]
        q = a["scale"] * (a["m"] @ u)
        score = lambda t: q @ rel.vector(t) + a["bias"][rel.ids[t]]  # noqa: E731
        want.append([score(t) - score(w) for t in cs])
    np.testing.assert_allclose(got[:2], want[0], rtol=1e-5, atol=1e-5)  # float32 arithmetic
    assert got[1] == pytest.approx(0.0, abs=1e-5)  # the written word itself gains nothing
    assert np.isnan(got[2:5]).all()  # a phrase, an unknown word, nothing: one word for one word only
    np.testing.assert_allclose(got[5], want[1][0], rtol=1e-5, atol=1e-5)
    assert np.isnan(got[6])  # the written word is unknown: the slot is not scored
    assert c.gains(np.zeros((0, 2)), [], []).shape == (0,)


def test_gelu_is_the_tanh_form_torch_trains_with():
    import torch

    x = np.linspace(-6, 6, 25)
    want = torch.nn.functional.gelu(torch.from_numpy(x), approximate="tanh").numpy()
    np.testing.assert_allclose(gelu(x), want, atol=1e-12)


def test_training_examples_target_the_original_at_one_word_spans(engine):
    spun = CLEAN.replace("productive", "fertile").replace("told", "informed")
    s1 = spun.index("fertile")
    s2 = spun.index("informed")
    doc = {"text": spun, "spans": [{"start": s1, "end": s1 + 7, "original": "productive"},
                                   {"start": s2, "end": s2 + 8, "original": "spoke to"}]}  # two words: left out
    ex = corrector_examples(engine.detector, engine.relatedness, [doc])
    vocab = engine.relatedness.vocab
    pairs = [(vocab[w], vocab[t], r) for w, t, r in zip(ex["written"], ex["target"], ex["replaced"])]
    assert ("fertile", "productive", 1) in pairs
    assert not any(w == "informed" for w, _, _ in pairs)
    assert all(w == t for w, t, r in pairs if not r)
    assert sum(ex["replaced"]) == 1 and len(pairs) == len(CLEAN.rstrip(".").split()) - 1
    assert ex["states"].shape == (len(pairs), engine.detector.encoder.model.config.hidden_size)


def test_training_writes_a_corrector_that_loads_and_checks_what_it_was_made_for(engine, tmp_path):
    spun = CLEAN.replace("productive", "fertile")
    s = spun.index("fertile")
    docs = [{"text": spun, "spans": [{"start": s, "end": s + 7, "original": "productive"}]}] * 2
    out = tmp_path / "corrector.npz"
    res = train_corrector(engine.detector, DETECTOR_PATH, engine.relatedness, docs, out, epochs=1, hidden=8)
    assert res == {"examples": 2 * len(CLEAN.rstrip(".").split()), "replaced": 2}
    loaded = Corrector.load(out, engine.relatedness, DETECTOR_PATH)
    assert loaded.arrays["w1"].shape == (2 * engine.relatedness.vectors.shape[1], 8)
    assert len(loaded.arrays["bias"]) == len(engine.relatedness.vocab)
    g = loaded.gains(np.zeros((1, loaded.arrays["w1"].shape[0] // 2)), ["fertile"], [["productive", "fertile"]])
    assert np.isfinite(g).all() and g[1] == pytest.approx(0.0, abs=1e-5)
    other = tmp_path / "other-detector.npz"
    other.write_bytes(b"not the detector it learned from")
    with pytest.raises(ValueError, match="another replaced-word detector"):
        Corrector.load(out, engine.relatedness, other)
    assert Corrector.load(tmp_path / "missing.npz", engine.relatedness, DETECTOR_PATH) is None
    with np.load(out) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["vocab_key"] = np.array(vocab_key(["another", "vocabulary"]))
    np.savez(tmp_path / "wrong-vocab.npz", **arrays)
    with pytest.raises(ValueError, match="another vocabulary"):
        Corrector.load(tmp_path / "wrong-vocab.npz", engine.relatedness, DETECTOR_PATH)
    with pytest.raises(ValueError, match="both replaced"):
        train_corrector(engine.detector, DETECTOR_PATH, engine.relatedness, [{"text": CLEAN, "spans": []}], out)


def test_the_shipped_corrector_fits_the_shipped_detector(engine):
    assert DEFAULT_PATH.exists() and engine.corrector is not None
    with np.load(DEFAULT_PATH) as f:
        assert str(f["detector_key"]) == file_key(DETECTOR_PATH)


def test_the_engine_feeds_the_corrector_gains_to_the_fusion(engine):
    text = CLEAN.replace("productive", "fertile").replace("told", "has actually told")
    a = engine.analyze(text)
    _, states = engine.detector.read(a.sentences)
    col, gap, read = (FEATURE_NAMES.index(k) for k in ("corr", "corr_gap", "corr_read"))
    assert a.slots
    seen = {"scored": 0, "phrase slot": 0, "phrase candidate": 0}
    for r in a.slots:
        if len(r.written) > 1:  # it learned one word for one word: a slot of several is not scored
            seen["phrase slot"] += 1
            assert (r.features[:, [col, gap, read]] == 0).all()
            continue
        h = states[r.sentence][r.first]
        want = engine.corrector.gains(h[None, :], list(r.written), [[c.text for c in r.candidates]])
        one = ~np.isnan(want)
        seen["scored"] += int(one.sum())
        seen["phrase candidate"] += sum(" " in c.text for c in r.candidates)
        assert not any(" " in c.text for c, k in zip(r.candidates, one) if k)
        np.testing.assert_array_equal(r.features[:, read], one.astype(float))
        np.testing.assert_allclose(r.features[one, col], want[one], rtol=1e-5, atol=1e-4)  # float32, batched
        np.testing.assert_allclose(r.features[one, gap], want[one] - want[one].max(), rtol=1e-5, atol=1e-4)
        assert (r.features[~one][:, [col, gap]] == 0).all()
    assert all(seen.values()), seen
    kept = engine.corrector
    try:
        engine.corrector = None  # no corrector file: the features say nothing
        bare = engine.analyze(text)
    finally:
        engine.corrector = kept
    assert all((r.features[:, [col, gap, read]] == 0).all() for r in bare.slots)


@pytest.mark.parametrize(
    "spun, word, was",
    [
        ("The central bank elevated interest rates on Tuesday to curb rising inflation.", "elevated", "raised"),
        (CLEAN.replace("productive", "fertile"), "fertile", "productive"),
        ("Prices of crude oil fell as capitalists worried about slowing growth.", "capitalists", "investors"),
    ],
)
def test_the_shipped_corrector_ranks_planted_originals_high(engine, spun, word, was):
    a = engine.analyze(spun)
    [r] = [r for r in a.slots if spun[slice(*a.offsets(r))] == word]
    read = r.features[:, FEATURE_NAMES.index("corr_read")] == 1  # the one-word candidates it scores
    cands = [c.text for c, k in zip(r.candidates, read) if k]
    corr = r.features[read, FEATURE_NAMES.index("corr")]
    ranked = [cands[i] for i in np.argsort(-corr, kind="stable")]
    assert was in ranked[:3], ranked[:5]
