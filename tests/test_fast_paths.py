"""The batched fast paths give exactly what the one-at-a-time reference computations give."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from service.lm.base import Slot
from service.scoring import _REL_FEATURES, FEATURE_NAMES, SlotRows, featurize_rows

RELS = ["synonym", "similar", "hypernym", "embedding", "2-step", "deletion", "mythes"]


@dataclass(frozen=True)
class SlotFacts:
    """One slot's facts, as the engine computed them slot by slot before featurizing in batches."""

    gains: np.ndarray
    uni_w: float
    uni_c: np.ndarray
    lp_w: float
    window_len: int
    seen_left_w: bool
    seen_w_right: bool
    seen_left_c: np.ndarray
    seen_c_right: np.ndarray
    len_w: int
    len_c: np.ndarray
    relations: Sequence[str]
    sims: np.ndarray
    replaced: float
    corr: np.ndarray


def featurize(f: SlotFacts) -> np.ndarray:
    """The reference: one slot's feature matrix, computed the plain way (the engine's former code)."""
    n = len(f.gains)
    gains = np.asarray(f.gains, dtype=np.float64)
    uni_w = max(f.uni_w, -25.0)
    len_c = np.asarray(f.len_c, dtype=np.float64)
    uni_c = np.where(len_c > 0, np.maximum(np.asarray(f.uni_c, dtype=np.float64), -25.0), 0.0)
    order = np.argsort(-gains, kind="stable")
    rank = np.empty(n)
    rank[order] = np.arange(n)
    rel = np.array(f.relations)
    sims = np.asarray(f.sims, dtype=np.float64)
    cols = [
        gains,
        gains - (uni_c - uni_w),
        gains - gains.max(),
        np.log1p(rank),
        np.full(n, uni_w),
        uni_c,
        np.full(n, f.lp_w / max(1, f.window_len)),
        np.full(n, float(f.seen_left_w)),
        np.full(n, float(f.seen_w_right)),
        np.asarray(f.seen_left_c, dtype=np.float64),
        np.asarray(f.seen_c_right, dtype=np.float64),
        np.full(n, float(f.len_w)),
        len_c,
        np.maximum(gains, 0.0),
        sims,
        gains * sims,
        np.full(n, f.replaced),
        *((rel == r).astype(np.float64) for r in _REL_FEATURES),
        *(np.where(rel == r, gains, 0.0) for r in ("synonym", "similar", "2-step", "embedding")),
        np.nan_to_num(f.corr, nan=0.0),
        np.where(np.isnan(f.corr), 0.0, f.corr - (np.nanmax(f.corr) if (~np.isnan(f.corr)).any() else 0.0)),
        (~np.isnan(f.corr)).astype(np.float64),
    ]
    return np.column_stack(cols)


def _slot_facts(draw_n: int, rng: np.random.Generator) -> SlotFacts:
    gains = rng.choice([-3.0, 0.0, 1.5, 1.5, 7.25], size=draw_n)  # ties on purpose: ranks must break them alike
    return SlotFacts(
        gains=gains,
        uni_w=float(rng.normal(-9, 4)),
        uni_c=rng.normal(-9, 4, size=draw_n),
        lp_w=float(rng.normal(-20, 5)),
        window_len=int(rng.integers(2, 6)),
        seen_left_w=bool(rng.integers(0, 2)),
        seen_w_right=bool(rng.integers(0, 2)),
        seen_left_c=rng.integers(0, 2, size=draw_n).astype(bool),
        seen_c_right=rng.integers(0, 2, size=draw_n).astype(bool),
        len_w=int(rng.integers(1, 4)),
        len_c=rng.integers(0, 4, size=draw_n),
        relations=list(rng.choice(RELS, size=draw_n)),
        sims=rng.uniform(-0.2, 1.0, size=draw_n),
        replaced=float(rng.normal(-6, 3)),
        corr=rng.choice([-4.0, 0.0, 2.5, 2.5, np.nan], size=draw_n),  # NaN: not scored by the corrector
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_featurize_rows_equals_featurize_per_slot(sizes, seed):
    rng = np.random.default_rng(seed)
    facts = [_slot_facts(n, rng) for n in sizes]
    expected = np.vstack([featurize(f) for f in facts])
    rows = SlotRows(
        slot=np.repeat(np.arange(len(facts)), sizes),
        gains=np.concatenate([f.gains for f in facts]),
        uni_w=np.concatenate([np.full(len(f.gains), f.uni_w) for f in facts]),
        uni_c=np.concatenate([f.uni_c for f in facts]),
        lp_w_tok=np.concatenate([np.full(len(f.gains), f.lp_w / f.window_len) for f in facts]),
        seen_left_w=np.concatenate([np.full(len(f.gains), float(f.seen_left_w)) for f in facts]),
        seen_w_right=np.concatenate([np.full(len(f.gains), float(f.seen_w_right)) for f in facts]),
        seen_left_c=np.concatenate([f.seen_left_c for f in facts]).astype(float),
        seen_c_right=np.concatenate([f.seen_c_right for f in facts]).astype(float),
        len_w=np.concatenate([np.full(len(f.gains), float(f.len_w)) for f in facts]),
        len_c=np.concatenate([f.len_c for f in facts]).astype(float),
        relations=np.array([r for f in facts for r in f.relations]),
        sims=np.concatenate([f.sims for f in facts]),
        replaced=np.concatenate([np.full(len(f.gains), f.replaced) for f in facts]),
        corr=np.concatenate([f.corr for f in facts]),
    )
    got = featurize_rows(rows)
    assert got.shape == (sum(sizes), len(FEATURE_NAMES))
    np.testing.assert_array_equal(got, expected)


def test_bigrams_seen_equals_the_successor_lists(engine):
    ng = engine.ngram
    index, ids = ng.index, ng.ids

    def seen(a, b):  # the reference: is b among the stored successors of a?
        if a not in ids or b not in ids:
            return False
        i = ids[a]
        return ids[b] in set(index.succ_word[index.succ_ptr[i] : index.succ_ptr[i + 1]].tolist())

    words = ["the", "market", "said", "terrific", "powers", "great", "<s>", "</s>", "zzzqqq", "of"]
    pairs = [(a, b) for a in words for b in words] + [(None, "the"), ("the", None)]
    got = ng.bigrams_seen(pairs)
    want = [a is not None and b is not None and seen(a, b) for a, b in pairs]
    assert got.tolist() == want
    assert any(want) and not all(want)
    assert ng.bigrams_seen([]).tolist() == []


def _compare_reference(ng, slot: Slot) -> np.ndarray:
    """The n-gram window score written the plain way: the sentence with <s> and </s>, two words
    of history before the slot, two after."""
    from service.lm.ngram import _OOV, LOG_SCALE

    toks = ["<s>", *slot.tokens, "</s>"]
    s, e = slot.start + 1, slot.end + 1
    left, right = toks[max(0, s - 2) : s], toks[e : e + 2]
    out = []
    for alt in (tuple(slot.tokens[slot.start : slot.end]), *slot.alternatives):
        window = [*left, *alt, *right]
        total = 0
        for j in range(len(left), len(window)):
            history = window[max(0, j - 2) : j][::-1]  # nearest word first, as pocketsphinx wants
            v = ng._prob([window[j], *history])
            total += -200000 if v == _OOV else v
        out.append(total * LOG_SCALE)
    return np.array(out)


def test_ngram_compare_equals_reference(engine):
    ng = engine.ngram
    sentences = [("a",), ("the", "great", "powers"), ("competition", "between", "great", "powers", "in", "asia"),
                 ("he", "stated", "zzzqqq", "on", "monday")]
    slots = []
    for toks in sentences:
        for s in range(len(toks)):
            for e in range(s + 1, min(len(toks), s + 3) + 1):
                slots.append(Slot(toks, s, e, (("terrific",), ("said", "it"), (), ("zzzqqq",))))
    got = ng.compare(slots)
    for slot, g in zip(slots, got):
        np.testing.assert_array_equal(g, _compare_reference(ng, slot))
