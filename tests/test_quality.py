"""Quality regression on the seeds with the embedded n-gram model and the shipped fusion.

The floors below are what the engine measured when the fusion was last trained (see the README's
Evaluation section); a change that falls below them is a regression. The issue's targets are
written as strict xfails: they say plainly what is not reached yet and will fail (so the marks
get removed) the day they are.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from service.evaluation import EvalDoc, evaluate, load_gold

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def measure_seeds(engine):
    """``unspin eval`` on the seeds, with the engine as it is configured."""
    docs = []
    for g in load_gold(SEEDS / "labels.jsonl", SEEDS):
        r = engine.score(g.text)
        docs.append(EvalDoc(text=g.text, gold=g.spans, predicted=r.spans, words=r.stats.words,
                            clean=not g.spans, score=r.score, id=g.id))  # fmt: skip
    return evaluate(docs)


@pytest.fixture(scope="module")
def seed_metrics(engine):
    return measure_seeds(engine)


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
    assert seed_metrics.precision >= 0.48
    assert seed_metrics.recall >= 0.55
    assert seed_metrics.acc_at_3 >= 0.65


def test_examples_from_the_issue(engine):
    """Spans the issue names that the n-gram engine does find, with the right suggestion."""
    text = (SEEDS / "002_2ef1442c87ee1781.txt").read_text(encoding="utf-8")
    found = {s.text: [x.text for x in s.suggestions[:3]] for s in engine.score(text).spans}
    assert "stated" in found and "said" in found["stated"]


@pytest.mark.xfail(strict=True, reason="issue target not reached: recall on seed 002 is about 61 %, target 75 %")
def test_target_recall(seed_metrics):
    assert seed_metrics.recall >= 0.75


@pytest.mark.xfail(strict=True, reason="issue target not reached: original in the top 3 for about 45 % of spun phrases, target 50 %")
def test_target_top3_over_all_gold(seed_metrics):
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
