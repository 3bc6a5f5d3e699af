"""Evaluation metrics on hand-made cases with known numbers."""

from __future__ import annotations

import json
import math

import pytest

from service.evaluation import EvalDoc, evaluate, load_gold, match_spans, proportion_interval, suggestion_hits
from service.report import Span, Suggestion
from service.spinner import GoldSpan

#            0         1         2         3         4         5
#            0123456789012345678901234567890123456789012345678901234
SPUN = "The minister stated that terrific powers have actually met."
# gold: "stated" (13-19) <- said ; "terrific" (25-33) <- great ; " actually" (45-54) <- ""
GOLD = [
    GoldSpan(13, 19, "stated", "said"),
    GoldSpan(25, 33, "terrific", "great"),
    GoldSpan(45, 54, " actually", ""),
]


def span(start, end, *sugs, text=SPUN, score=0.9):
    return Span(start=start, end=end, text=text[start:end], score=score,
                suggestions=[Suggestion(text=s, score=0.5) for s in sugs])  # fmt: skip


def test_gold_offsets_are_right():
    for g in GOLD:
        assert SPUN[g.start : g.end] == g.text


def test_matching_is_one_to_one_by_overlap():
    preds = [{"start": 10, "end": 20}, {"start": 14, "end": 16}, {"start": 25, "end": 40}]
    gold = [{"start": 13, "end": 19}, {"start": 30, "end": 33}]
    # pred0 overlaps gold0 by 6, pred1 by 2 -> pred0 wins; pred2 takes gold1
    assert sorted(match_spans(preds, gold)) == [(0, 0), (2, 1)]
    assert match_spans([{"start": 0, "end": 13}], [{"start": 13, "end": 19}]) == []  # touching is not overlap


def test_suggestion_hits_on_union_region():
    # predicted covers "terrific powers", suggestion "great powers" reproduces the gold original
    assert suggestion_hits(SPUN, span(25, 40, "mighty powers", "great powers"), GOLD[1]) == [False, True]
    # predicted word "actually" (46-54) with suggestion "" equals the gold deletion (whitespace collapsed)
    assert suggestion_hits(SPUN, span(46, 54, ""), GOLD[2]) == [True]
    # case-insensitive
    assert suggestion_hits(SPUN, span(13, 19, "SAID"), GOLD[0]) == [True]


def test_known_numbers():
    preds = [
        span(13, 19, "declared", "said"),     # matches gold0; hit at rank 2 -> acc@1 no, acc@3 yes
        span(25, 33, "great"),                # matches gold1; hit at rank 1
        span(4, 12, "priest"),                # false positive ("minister")
    ]  # fmt: skip
    clean_text = " ".join(["word"] * 2000)
    docs = [
        EvalDoc(text=SPUN, gold=GOLD, predicted=preds, score=0.9),
        EvalDoc(text=clean_text, gold=[], predicted=[span(0, 4, "term", text=clean_text)] * 3, score=0.2),
        EvalDoc(text="Clean text here.", gold=[], predicted=[], words=1000, score=0.95),
        {"text": SPUN, "gold": [g.to_dict() for g in GOLD], "predicted": [], "score": 0.1},
    ]
    m = evaluate(docs)
    # spun docs: 3 predicted, 6 gold, 2 matched
    assert (m.n_predicted, m.n_gold, m.n_matched) == (3, 6, 2)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 6)
    assert m.f1 == pytest.approx(2 * (2 / 3) * (1 / 3) / (2 / 3 + 1 / 3))
    assert m.acc_at_1 == pytest.approx(1 / 2)
    assert m.acc_at_3 == pytest.approx(2 / 2)
    # clean: 3 flags over 2000 + 1000 words
    assert m.clean_words == 3000 and m.clean_flags == 3
    assert m.false_flags_per_1k == pytest.approx(1.0)
    # AUC: spun scores {0.9, 0.1} vs clean {0.2, 0.95}: pairs won 0.9>0.2 -> 1 of 4
    assert m.auc == pytest.approx(0.25)
    assert (m.n_top3, m.top3_over_gold) == (2, pytest.approx(2 / 6))
    assert m.precision_interval == pytest.approx(_wilson(2, 3))
    assert m.recall_interval == pytest.approx(_wilson(2, 6))
    assert m.top3_over_gold_interval == pytest.approx(_wilson(2, 6))
    table = m.as_table()
    assert table.startswith("| metric | value |") and "span F1" in table and "66.7 %" in table
    assert "| span recall | 33.3 % (95 % CI 9.7–70.0) |" in table
    assert m.to_dict()["n_matched"] == 2


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval written out (95 %), to check the library's against."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("k,n", [(0, 5), (5, 5), (41, 67), (30, 67), (1, 1000)])
def test_proportion_interval_is_wilsons(k, n):
    low, high = proportion_interval(k, n)
    assert (low, high) == pytest.approx(_wilson(k, n))
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert proportion_interval(0, 0) is None


def test_sentences_are_counted_apart():
    """Clean texts scored one sentence at a time get their own false-flag rate and leave the
    document-level counts alone."""
    docs = [EvalDoc(text=SPUN, gold=GOLD, predicted=[], score=0.9)]
    sentences = [EvalDoc(text="", predicted=[span(0, 4, "term", text="word word")], words=400, clean=True),
                 EvalDoc(text="", predicted=[], words=600, clean=True)]
    m = evaluate(docs, sentences)
    assert (m.sentence_texts, m.sentence_words, m.sentence_flags) == (2, 1000, 1)
    assert m.sentence_false_flags_per_1k == pytest.approx(1.0)
    assert m.clean_words == 0 and m.false_flags_per_1k is None and m.n_clean_docs == 0
    assert "one sentence at a time" in m.as_table()
    assert evaluate(docs).sentence_false_flags_per_1k is None
    assert "one sentence at a time" not in evaluate(docs).as_table()


def test_undefined_metrics_are_none():
    m = evaluate([EvalDoc(text=SPUN, gold=GOLD, predicted=[], score=0.5)])
    assert m.precision is None and m.recall == 0.0 and m.f1 is None
    assert m.acc_at_1 is None and m.false_flags_per_1k is None and m.auc is None
    assert "n/a" in m.as_table()
    perfect = evaluate([EvalDoc(text=SPUN, gold=GOLD, predicted=[span(g.start, g.end, g.original) for g in GOLD])])
    assert perfect.precision == perfect.recall == perfect.f1 == perfect.acc_at_1 == 1.0


def test_load_gold_inline_and_path(tmp_path):
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text(SPUN, encoding="utf-8")
    gold_file = tmp_path / "gold.jsonl"
    lines = [
        {"id": "inline", "text": SPUN, "clean": "x", "spans": [g.to_dict() for g in GOLD]},
        {"id": "file", "path": "a.txt", "spans": [{"start": 13, "end": 19, "original": "said"}]},
        {"id": "clean", "text": "Nothing spun.", "spans": []},
    ]
    gold_file.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    docs = load_gold(gold_file, texts_dir=tmp_path / "texts")
    assert [d.id for d in docs] == ["inline", "file", "clean"]
    assert docs[0].spans == GOLD and docs[0].clean_text == "x"
    assert docs[1].text == SPUN and docs[1].spans == [GoldSpan(13, 19, "stated", "said")]
    assert docs[2].is_clean and not docs[0].is_clean
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": SPUN, "spans": [{"start": 0, "end": 3, "text": "xyz", "original": "a"}]}))
    with pytest.raises(ValueError):
        load_gold(bad)
