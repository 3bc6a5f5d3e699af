"""How strong the engine's evidence is for each labelled spun phrase of seed 002, against the clean seed.

For every gold phrase it prints the engine's span score (its best overlapping slot), the rank of the
original among that slot's suggestions, and where the slot's three pieces of evidence fall among all
slots of the clean seed 000 (percentiles: 95 means above 95 % of the clean slots):

* ``detector``: the replaced-word detector's log-odds (``replaced``),
* ``lm fit``: the 3-gram model's best context-fit gain over the slot's candidates (``fit_gain``),
* ``corrector``: the corrector's best gain over them (``corr``; it reads one-word slots only, so
  other slots show none, and the percentile is among the clean slots it read),

and, for one-word slots, the rank of the original over the corrector's whole vocabulary (would it
have proposed the original had it been asked for its own top words?). The span score itself is not
compared: seed 002's scores are raised by the document-level prior and seed 000's are not.

    UNSPIN_SECOND_LOOK=off python seeds/evidence.py   # the table, then a summary of the phrases not found

(without ``UNSPIN_SECOND_LOOK=off`` the scores, the ranks and which phrases are found are the shipped
default's, second look included, in minutes rather than seconds; the README's numbers are without it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service.articles import ARTICLES
from service.analysis import SlotResult
from service.engine import Engine, get_engine
from service.evaluation import load_gold
from service.scoring import FEATURE_NAMES

HERE = Path(__file__).resolve().parent
SPUN, CLEAN = "002_2ef1442c87ee1781.txt", "000_37063bd84aa4b837.txt"
_COL = {n: i for i, n in enumerate(FEATURE_NAMES)}
EVIDENCE = ("detector", "lm fit", "corrector")


def evidence(r: SlotResult) -> dict[str, float | None]:
    """A slot's three pieces of evidence (see the module docstring; None: the corrector did not read it)."""
    X = r.features
    read = X[:, _COL["corr_read"]] > 0
    return {
        "detector": float(X[0, _COL["replaced"]]),
        "lm fit": float(X[:, _COL["fit_gain"]].max()),
        "corrector": float(X[read, _COL["corr"]].max()) if read.any() else None,
    }


def corrector_rank(engine: Engine, states: list[dict[int, np.ndarray]], r: SlotResult, original: str) -> int | None:
    """The original's rank over the corrector's whole vocabulary for a one-word slot, given the
    encoder's ``states`` of the text's sentences (``engine.detector.read``); None: not computable
    (no corrector, several words, or a word outside the vocabulary)."""
    rel, cor = engine.relatedness, engine.corrector
    if cor is None or len(r.written) != 1 or r.written[0] not in rel.ids or original not in rel.ids:
        return None
    state = states[r.sentence].get(r.first)
    if state is None:
        return None
    q = cor.queries(state[None], rel.vectors[[rel.ids[r.written[0]]]])[0]
    scores = rel.vectors @ q + cor.arrays["bias"]
    return int((scores > scores[rel.ids[original]]).sum()) + 1


def _without_article(original: str) -> str:
    """A label's original without the "a"/"an" its span takes in ("a critical" -> "critical"): the
    slot is the word after the article, its candidates words."""
    head, _, rest = original.partition(" ")
    return rest if head in ARTICLES and rest else original


@dataclass(frozen=True)
class Row:
    """One gold phrase: the engine's score of it, the original's rank among the slot's suggestions
    (None: not a candidate), the evidence percentiles among clean slots (None: no slot, or for one
    piece, not read) and the original's rank over the corrector's vocabulary (None: not computable)."""

    score: float
    text: str
    original: str
    rank: int | None
    percentiles: dict[str, float | None] | None
    vocab_rank: int | None

    @property
    def strongest(self) -> float:
        """The highest of the evidence percentiles (0 without a slot)."""
        return max((v for v in (self.percentiles or {}).values() if v is not None), default=0.0)


def measure(engine: Engine) -> tuple[list[Row], int]:
    """A row for every labelled phrase of seed 002 (in the labels' order), and the number of clean
    slots of seed 000 they are compared with."""
    gold = {d.id: d for d in load_gold(HERE / "labels.jsonl", HERE)}  # offsets checked against the texts
    clean_ev = [evidence(r) for r in engine.analyze(gold[CLEAN].text).slots if len(r.features)]
    ref = {k: np.array([e[k] for e in clean_ev if e[k] is not None]) for k in EVIDENCE}
    spun = engine.analyze(gold[SPUN].text)
    _, states = engine.detector.read(spun.sentences)  # one encoder pass over the text, for the corrector
    rows = []
    for g in gold[SPUN].spans:
        r = spun.best_slot(g.start, g.end)
        if r is None:
            rows.append(Row(0.0, g.text, g.original, None, None, None))
            continue
        ev = evidence(r)
        pct = {k: None if ev[k] is None else 100.0 * float((ref[k] < ev[k]).mean()) for k in EVIDENCE}
        ranked = [r.candidates[i].text for i in np.argsort(-r.probs)]
        original = _without_article(g.original.lower()) if r.article is not None else g.original.lower()
        rank = ranked.index(original) + 1 if original in ranked else None
        rows.append(Row(r.score, g.text, g.original, rank, pct, corrector_rank(engine, states, r, original)))
    return rows, len(clean_ev)


def main() -> None:
    engine = get_engine()
    rows, n_clean = measure(engine)
    threshold = engine.threshold
    print(f"threshold {threshold:.3f}; percentiles among the {n_clean} slots of the clean seed 000")
    print(f"{'score':>6}  {'spun':<16} {'original':<13} {'rank':>4} " + " ".join(f"{k:>10}" for k in EVIDENCE)
          + f" {'corr. vocab':>11}")
    for x in sorted(rows, key=lambda x: -x.score):
        p = x.percentiles or {}
        cells = " ".join("-".rjust(10) if p.get(k) is None else f"{p[k]:10.1f}" for k in EVIDENCE)
        print(f"{x.score:6.3f}{'*' if x.score >= threshold else ' '} {x.text:<16.16} {x.original:<13.13} "
              f"{x.rank or '-':>4} {cells} {x.vocab_rank or '-':>11}")
    for name, group in (("found", [x for x in rows if x.score >= threshold]),
                        ("not found", [x for x in rows if x.score < threshold])):
        above = ", ".join(f"{sum(1 for x in group if x.strongest >= cut)} above the {cut}th" for cut in (90, 95))
        print(f"{name}: {len(group)}; their strongest evidence among clean slots: {above} percentile")
    lost = [x for x in rows if x.score >= threshold and x.rank is None]
    print(f"found, original not among the candidates: {len(lost)}; of those, in the corrector's top 10 over "
          f"its vocabulary: {sum(1 for x in lost if x.vocab_rank is not None and x.vocab_rank <= 10)}")


if __name__ == "__main__":
    main()
