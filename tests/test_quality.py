"""Quality regression on the seeds with the embedded default as shipped: the n-gram model, the
shipped fusion and the second look (SmolLM2-135M, which the set-up script installs), with the
second threshold for documents judged spun chosen with it.

The floors below are what the engine measured when its models were last trained (see the README's
Evaluation section); a change that falls below them is a regression. The issue's targets are
written as strict xfails: they say plainly what is not reached yet and will fail (so the marks
get removed) the day they are.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from service.report import SPUN_DOC_EVIDENCE
from service.evaluation import EvalDoc, evaluate, load_gold

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def score_seeds(engine) -> list[EvalDoc]:
    """The seeds scored by the engine as it is configured, with their labels."""
    docs = []
    for g in load_gold(SEEDS / "labels.jsonl", SEEDS):
        r = engine.score(g.text)
        docs.append(EvalDoc(text=g.text, gold=g.spans, predicted=r.spans, words=r.stats.words,
                            clean=not g.spans, score=r.score, id=g.id))  # fmt: skip
    return docs


def measure_seeds(engine):
    """``unspin eval`` on the seeds, with the engine as it is configured."""
    return evaluate(score_seeds(engine))


@pytest.fixture(scope="module")
def seed_docs(shipped_engine) -> list[EvalDoc]:
    assert shipped_engine.second_look is not None, "the set-up script installs the second look's model"
    return score_seeds(shipped_engine)


@pytest.fixture(scope="module")
def seed_metrics(seed_docs):
    return evaluate(seed_docs)


@pytest.fixture(scope="module")
def at_one_threshold(seed_docs) -> list[EvalDoc]:
    """The shipped reports without the spans the second threshold added: the reports with
    ``UNSPIN_SPUN_DOC_THRESHOLD=off`` (the spans at the threshold and the verdict do not depend on
    it: tests/test_engine.py)."""
    return [replace(d, predicted=[s for s in d.predicted if not s.by_document_verdict]) for d in seed_docs]


def test_labels_cover_the_spun_seed():
    gold = {d.id: d for d in load_gold(SEEDS / "labels.jsonl", SEEDS)}
    assert len(gold["002_2ef1442c87ee1781.txt"].spans) >= 60
    assert gold["000_37063bd84aa4b837.txt"].spans == []


def test_clean_seed_stays_clean(seed_metrics):
    assert seed_metrics.false_flags_per_1k is not None
    assert seed_metrics.false_flags_per_1k <= 3.0


def test_spun_seed_scores_above_clean_seed(seed_metrics):
    assert seed_metrics.auc == 1.0


def test_measured_floors(seed_metrics):
    # measured 66.2 % / 67.2 % / 80.0 % (45 of 68 spans right, 45 of 67 phrases found)
    assert seed_metrics.precision >= 0.60
    assert seed_metrics.recall >= 0.63
    assert seed_metrics.acc_at_3 >= 0.70


def test_the_second_threshold_adds_spans_to_the_spun_seed_only(seed_docs, at_one_threshold, shipped_engine):
    """The shipped second threshold (0.3, chosen with the second look on validation documents)
    lists more of seed 002's phrases, each marked; seed 000, judged clean, is not touched. Without
    it (measured 77.8 % / 62.7 % / 78.6 %, 42 of 54 spans right) precision is higher and recall lower."""
    low = shipped_engine.spun_doc_threshold()
    assert low is not None and low < shipped_engine.threshold
    for full, one in zip(seed_docs, at_one_threshold):
        added = [s for s in full.predicted if s.by_document_verdict]
        assert all(s.evidence[SPUN_DOC_EVIDENCE] == low and low <= s.score < shipped_engine.threshold for s in added)
        assert bool(added) == (not full.clean)
    m = evaluate(at_one_threshold)
    assert m.precision >= 0.70 and m.recall >= 0.58 and m.acc_at_3 >= 0.70
    assert m.recall < evaluate(seed_docs).recall


def test_without_the_second_look_floors(engine):
    """The engine with ``UNSPIN_SECOND_LOOK=off`` (measured 52.6 % / 61.2 % / 73.2 %)."""
    m = measure_seeds(engine)
    assert m.precision >= 0.48 and m.recall >= 0.55 and m.acc_at_3 >= 0.65
    assert m.false_flags_per_1k <= 3.0


def test_examples_from_the_issue(seed_docs):
    """Spans the issue names that the shipped engine does find, with the right suggestion."""
    found = {s.text: [x.text for x in s.suggestions[:3]] for d in seed_docs for s in d.predicted}
    assert "stated" in found and "said" in found["stated"]


@pytest.mark.xfail(strict=True, reason="issue target not reached: recall on seed 002 is about 67 %, target 75 %")
def test_target_recall(seed_metrics):
    assert seed_metrics.recall >= 0.75


def test_target_top3_over_all_gold(seed_metrics):
    # reached with the second threshold, by three phrases (36 of 67; 33 without it): not a blind
    # result, as 0.3 had been measured on the seeds before it was chosen (README, Evaluation)
    assert seed_metrics.acc_at_3 * seed_metrics.recall >= 0.50


def test_seed_evidence_table(engine, monkeypatch):
    """``seeds/evidence.py`` (the README's account of why seed 002's phrases are missed) gives every
    labelled phrase a row, percentiles that are percentiles, and the split it reports: the phrases
    found have stronger evidence against the clean seed than those missed."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("seed_evidence", SEEDS / "evidence.py")
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, mod)  # its dataclass looks its module up there
    spec.loader.exec_module(mod)
    rows, n_clean = mod.measure(engine)
    gold = {d.id: d for d in load_gold(SEEDS / "labels.jsonl", SEEDS)}
    assert [r.text for r in rows] == [s.text for s in gold["002_2ef1442c87ee1781.txt"].spans]
    assert n_clean > 100
    values = [v for r in rows for v in (r.percentiles or {}).values() if v is not None]
    assert values and all(0.0 <= v <= 100.0 for v in values)
    found = [r.strongest for r in rows if r.score >= engine.threshold]
    missed = [r.strongest for r in rows if r.score < engine.threshold]
    assert found and missed and sum(found) / len(found) > sum(missed) / len(missed)


def test_opt_in_spun_doc_threshold_on_the_seeds(engine, monkeypatch):
    """The README's account of ``UNSPIN_SPUN_DOC_THRESHOLD=0.06`` (a value read off seed 002, so not
    a blind result, and not the default): the issue's seed targets hold with it, and seed 000 is
    flagged no more than without it."""
    monkeypatch.setattr(engine, "settings", engine.settings.model_copy(update={"spun_doc_threshold": 0.06}))
    m = measure_seeds(engine)
    assert m.recall >= 0.75 and m.acc_at_3 * m.recall >= 0.50
    assert m.false_flags_per_1k <= 1.2  # one flag on seed 000, as without it


def test_seed_fillers_table(shipped_engine, monkeypatch):
    """``seeds/fillers.py`` (where the second look's model ranks each original among its own
    next-word predictions, a diagnostic for candidates the thesaurus misses) gives every labelled
    phrase a row with ranks that are ranks, read from the sentence before the slot; the originals
    rank higher than the spun words they replaced (measured: 24 against 8 of 67 in the top 10)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("seed_fillers", SEEDS / "fillers.py")
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, mod)  # its dataclass looks its module up there
    spec.loader.exec_module(mod)
    assert shipped_engine.causal is not None, "the set-up script installs the causal language model"
    rows = mod.measure(shipped_engine.causal)
    gold = {d.id: d for d in load_gold(SEEDS / "labels.jsonl", SEEDS)}
    assert [r.text for r in rows] == [s.text for s in gold["002_2ef1442c87ee1781.txt"].spans]
    vocab = len(shipped_engine.causal.tokenizer)
    assert all(1 <= r.original_rank <= vocab and 1 <= r.written_rank <= vocab and len(r.top) == 5 for r in rows)
    assert sum(r.original_rank <= 10 for r in rows) > sum(r.written_rank <= 10 for r in rows)
