"""Screening before masked comparisons (``UNSPIN_SCREEN_KEEP``, ``UNSPIN_SCREEN_CANDIDATES``).

What is checked: the selection rule; that the n-gram backend is never screened (its reports do
not depend on the setting); that with screening off the transformer path compares every slot and
every candidate exactly as before (``screen`` is never called); and, on the tiny trained model,
that the one-pass screen keeps the slots whose masked comparison finds the biggest gain. How well
the screen agrees with a real pretrained model cannot be tested here (no weights on this machine).
"""

from __future__ import annotations

import numpy as np
import pytest

from service.config import Settings
from service.decoding import InputError
from service.lm.base import Slot, screen_select


# ---------------------------------------------------------------- the selection rule


def test_select_keeps_most_doubtful_fraction():
    screens = [np.array([-1.0, 0.5]), np.array([2.0]), np.array([-3.0, -4.0]), np.array([0.5, 0.1])]
    assert [i for i, _ in screen_select(screens, 0.5, 0)] == [0, 1]  # doubts 0.5, 2, -3, 0.5: ties go first
    assert [i for i, _ in screen_select(screens, 0.25, 0)] == [1]
    assert [i for i, _ in screen_select(screens, 0.0, 0)] == []
    assert [i for i, _ in screen_select(screens, 1.0, 0)] == [0, 1, 2, 3]
    assert [i for i, _ in screen_select(screens, 0.51, 0)] == [0, 1, 3]  # ceil(0.51 * 4) = 3
    # always-kept slots (user lexicon hits) and +inf ones come on top of the quota
    assert [i for i, _ in screen_select(screens, 0.25, 0, always=[False, False, True, False])] == [1, 2]
    inf = [np.array([np.inf]), np.array([1.0]), np.array([0.0])]
    assert [i for i, _ in screen_select(inf, 0.34, 0)] == [0, 1]


def test_select_limits_alternatives():
    screens = [np.array([0.1, 3.0, -2.0, 3.0, np.inf, 1.0])]
    assert screen_select(screens, 1.0, 2) == [(0, [1, 4])]  # +inf first, then 3.0 at 1 beats the tie at 3
    assert screen_select(screens, 1.0, 3) == [(0, [1, 3, 4])]
    assert screen_select([np.array([np.inf, np.inf, 5.0])], 1.0, 1) == [(0, [0, 1])]  # +inf always
    assert screen_select(screens, 1.0, 0) == [(0, [0, 1, 2, 3, 4, 5])]
    assert screen_select(screens, 1.0, 2, always=[True]) == [(0, [0, 1, 2, 3, 4, 5])]
    assert screen_select([np.array([1.0, 2.0])], 1.0, 5) == [(0, [0, 1])]


def test_default_screen_keeps_everything():
    from service.lm.ngram import NGramLM

    slots = [Slot(("a", "big", "dog"), 1, 2, (("large",), ("huge",))), Slot(("a", "b"), 0, 1, ())]
    out = NGramLM.screen(None, slots)  # the base class's default (NGramLM does not override it)
    assert [a.tolist() for a in out] == [[np.inf, np.inf], []]
    assert screen_select(out, 0.01, 1) == [(0, [0, 1]), (1, [])]


# ---------------------------------------------------------------- n-gram: unchanged


def test_ngram_reports_do_not_depend_on_screen_settings(engine, seeds):
    from service.engine import Engine

    text = next(iter(seeds.values()))
    screened = Engine(
        Settings(lm="ngram", screen_keep=0.05, screen_candidates=1),
        lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon,
    )
    unscreened = Engine(
        Settings(lm="ngram", screen_keep=1.0),
        lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon,
    )

    def strip(report):
        d = report.model_dump(mode="json")
        d["stats"].pop("seconds")
        return d

    assert strip(screened.score(text, grammar=False)) == strip(unscreened.score(text, grammar=False))


# ---------------------------------------------------------------- transformer


torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from service.lm.transformer import TransformerLM  # noqa: E402


def _build_screen_model(directory, steps: int = 80):
    """A tiny BERT (whole-word vocabulary) trained like real masked LMs: each word predicted masked AND visible.

    Real BERT/RoBERTa pre-training leaves some of the predicted tokens unchanged, so the model
    also learns what fits at a position it can see; the one-pass screen relies on that. The
    helper of the transformer tests trains masked positions only, which leaves the unmasked
    prediction untrained. One thread, so the training itself is repeatable.
    """
    from test_lm_transformer import SENTENCES, train_and_save

    torch.manual_seed(0)
    # a whole-word vocabulary in a fixed order (a trained WordPiece vocabulary differs run to run)
    words = sorted({w for s in SENTENCES for w in s.split()})
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + letters + ["##" + c for c in letters]
    tokenizer = transformers.BertTokenizer(vocab={w: i for i, w in enumerate(dict.fromkeys(vocab))})
    config = transformers.BertConfig(
        vocab_size=len(tokenizer.get_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        pad_token_id=tokenizer.pad_token_id, max_position_embeddings=64,
    )
    model = transformers.BertForMaskedLM(config)
    lm = TransformerLM(model, tokenizer, name="tmp")
    inputs, labels = [], []
    for sentence in SENTENCES:
        pieces = lm._sentence_pieces(sentence.split())
        flat = list(lm._prefix) + [t for p in pieces for t in p] + list(lm._suffix)
        at = len(lm._prefix)
        for p in pieces:
            for masked in (True, False):
                ids, lab = list(flat), [-100] * len(flat)
                for j in range(at, at + len(p)):
                    lab[j] = flat[j]
                    if masked:
                        ids[j] = tokenizer.mask_token_id
                inputs.append(ids)
                labels.append(lab)
            at += len(p)
    return train_and_save(model, tokenizer, inputs, labels, steps, directory)


@pytest.fixture(scope="module")
def screen_model_dir(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _build_screen_model(tmp_path_factory.mktemp("screen-bert"))
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_lm(screen_model_dir):
    from service.lm.transformer import TransformerLM

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield TransformerLM.load(str(screen_model_dir), batch_size=8)
    torch.set_num_threads(before)


def _engine(tiny_lm, engine, **kw):
    from service.engine import Engine

    return Engine(Settings(lm="transformer", **kw), lm=tiny_lm, ngram=engine.ngram, lexicon=engine.lexicon)


TEXT = "The cat sat on the rug. She won a great prize. The city has a great river. The food was terrific tonight."


def test_screen_off_compares_everything_as_before(tiny_lm, engine, monkeypatch):
    """UNSPIN_SCREEN_KEEP=1: no screen pass, and compare() sees every slot with every candidate."""
    eng = _engine(tiny_lm, engine, screen_keep=1.0)
    monkeypatch.setattr(type(tiny_lm), "screen", lambda self, slots: pytest.fail("screen must not run"))
    seen = []
    real = type(tiny_lm).compare
    monkeypatch.setattr(type(tiny_lm), "compare", lambda self, slots: seen.extend(slots) or real(self, slots))
    analysis = eng.analyze(TEXT)
    # the slots as the engine proposes them, before any screening
    names = eng._names(analysis.sentences)
    pending = [p for i, sent in enumerate(analysis.sentences) for p in eng._slots_for(i, sent, names)]
    expected = [p.lm_slot() for p in pending]
    assert seen[: len(expected)] == expected and len(expected) >= 4
    # then only the candidates that take the other "a"/"an", compared with their own article
    assert all(s.start == s.end - 2 and s.tokens[s.start] in ("a", "an") for s in seen[len(expected):])
    # and the scores are exactly compare()'s on those slots, as before screening existed
    direct = eng._agreeing_articles(pending, real(tiny_lm, expected))
    fresh, _ = eng._features(pending, direct, *eng.detector.read(analysis.sentences))
    assert len(fresh) == len(analysis.slots)
    for r, f, slot in zip(analysis.slots, fresh, expected):
        assert len(r.candidates) == len(slot.alternatives)
        np.testing.assert_array_equal(f.features, r.features)


def test_screened_engine_compares_a_subset(tiny_lm, engine):
    full = _engine(tiny_lm, engine, screen_keep=1.0).analyze(TEXT)
    before = tiny_lm.stats["rows"]
    part = _engine(tiny_lm, engine, screen_keep=0.3, screen_candidates=2).analyze(TEXT)
    assert 0 < len(part.slots) < len(full.slots)
    assert all(len(r.candidates) <= 2 for r in part.slots)
    assert tiny_lm.stats["rows"] > before
    # a kept slot with all its candidates scores exactly as without screening
    by_key = {(r.sentence, r.first, r.last): r for r in full.slots}
    for r in part.slots:
        f = by_key[(r.sentence, r.first, r.last)]
        if len(f.candidates) == len(r.candidates):
            np.testing.assert_allclose(r.features, f.features, atol=1e-6)


# Sentences the tiny model learnt, each with one word swapped for a near-synonym ("spun"), and the
# same sentences as learnt. The slot of the swapped word offers the learnt word back.
SPUN = [
    ("with great power comes great responsibility", 1, "terrific"),
    ("she won a great prize", 3, "terrific"),
    ("the food was terrific tonight", 3, "great"),
    ("the cat sat on the mat", 5, "rug"),
    ("the dog sat on the rug", 5, "mat"),
    ("the river runs through the city", 1, "game"),
]


def _synthetic_slots():
    slots, spun = [], []
    for sentence, i, swap in SPUN:
        words = sentence.split()
        for text, original, is_spun in ((words, None, False), (words[:i] + [swap] + words[i + 1 :], words[i], True)):
            alts = {original or swap, "great", "small", "city", "river", "food"} - {text[i]}
            slots.append(Slot(tuple(text), i, i + 1, tuple((a,) for a in sorted(alts))))
            spun.append(is_spun)
    return slots, spun


def test_screen_ranks_candidates_like_compare(tiny_lm):
    """On the tiny model (whose masked comparison does find every swapped word): within a slot, the
    one-pass screen ranks the candidates like the masked comparison, so keeping the screen's best
    few (``UNSPIN_SCREEN_CANDIDATES``) keeps the one the comparison would pick.

    Recorded, not asserted: on this toy model the screen does NOT rank the SLOTS well (keeping half
    of them keeps 3 of the 6 swapped ones, chance level): seeing the written word, the model mostly
    copies it; and one of the 6 originals is ranked last by the screen. Whether a pretrained model
    does better needs its weights (see bench/README.md)."""
    slots, spun = _synthetic_slots()
    full = tiny_lm.compare(slots)
    gains = np.array([float(np.max(a[1:] - a[0])) for a in full])
    spun = np.array(spun)
    assert gains[spun].min() > 0 > gains[~spun].max()  # the model learnt the sentences: compare finds the swaps
    screens = tiny_lm.screen(slots)
    assert [len(s) for s in screens] == [len(s.alternatives) for s in slots]
    hits = 0
    for i, alts in screen_select(screens, 1.0, 2):
        if spun[i]:  # the original word is compare's best; is it among the screen's two best candidates?
            best = int(np.argmax(full[i][1:]))
            sentence, at, _ = SPUN[i // 2]
            assert slots[i].alternatives[best] == (sentence.split()[at],)
            hits += best in alts
    # measured: 5 of 6 (in "the game runs through the city" the screen ranks "river" last of 5)
    assert hits >= 5, hits
    g = np.concatenate([a[1:] - a[0] for a in full])
    sc = np.concatenate(screens)
    rank = lambda x: np.argsort(np.argsort(x, kind="stable"), kind="stable")  # noqa: E731
    rho = float(np.corrcoef(rank(g), rank(sc))[0, 1])
    assert rho > 0.3, rho


def test_screen_values(tiny_lm):
    slot = Slot(tuple("she won a great prize".split()), 3, 4, (("great",), ("terrific",), ("small",), ()))
    out = tiny_lm.screen([slot, Slot(slot.tokens, 4, 5, ((),)), Slot(slot.tokens, 2, 2, (("very",),))])
    assert out[0][0] == -np.inf  # the text as written offered again
    assert np.all(np.isfinite(out[0][1:])) and np.isfinite(out[1][0]) and np.isfinite(out[2][0])
    # one unmasked pass for the sentence, shared by all three slots
    before = tiny_lm.stats["rows"]
    tiny_lm.screen([slot, Slot(slot.tokens, 0, 1, (("he",),))])
    assert tiny_lm.stats["rows"] - before == 1


def test_int8_quantization(screen_model_dir, tiny_lm):
    from service.lm.transformer import TransformerLM

    q = TransformerLM.load(str(screen_model_dir), batch_size=8, quantize="int8")
    assert q.quantized == "int8" and tiny_lm.quantized is None
    assert any("quantized" in type(m).__module__ for m in q.model.modules())
    assert q._logit_rows is not None  # the vocabulary projection stays float
    sents = [s.split() for s in ("she won a great prize", "the river runs through the city")]
    np.testing.assert_allclose(np.concatenate(q.token_logprobs(sents)), np.concatenate(tiny_lm.token_logprobs(sents)), atol=0.5)
    slots, _ = _synthetic_slots()
    a, b = tiny_lm.screen(slots), q.screen(slots)
    assert all(np.allclose(x[np.isfinite(x)], y[np.isfinite(y)], atol=0.5) for x, y in zip(a, b))
    with pytest.raises(ValueError):
        TransformerLM.load(str(screen_model_dir), quantize="int4")


def test_score_many_equals_score_one_by_one(tiny_lm, engine, seeds):
    """Batching texts through the transformer changes nothing in any text's report."""
    e = _engine(tiny_lm, engine, screen_keep=0.3, screen_candidates=3)
    texts = [*seeds.values(), "", "The central bank raised interest rates on Tuesday to curb rising inflation."]
    many = e.score_many(texts, [{"id": str(i), "grammar": False} for i in range(len(texts))])
    assert isinstance(many[2], InputError)
    for i, text in enumerate(texts):
        if i == 2:
            continue
        one = e.score(text, id=str(i), grammar=False)
        assert [(s.start, s.end, [x.text for x in s.suggestions]) for s in many[i].spans] == \
            [(s.start, s.end, [x.text for x in s.suggestions]) for s in one.spans]
        assert [s.score for s in many[i].spans] == pytest.approx([s.score for s in one.spans], abs=1e-3)
        assert many[i].id == str(i) and many[i].lm == one.lm
