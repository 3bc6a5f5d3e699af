"""Metrics of predicted spans against gold spans (no engine dependency).

A *predicted* span is anything with ``start``, ``end`` and ``suggestions`` (objects with
``.text`` or dicts with ``"text"``), e.g. :class:`service.report.Span`, or a dict with those
keys. A *gold* span has ``start``, ``end``, ``text`` and ``original`` (offsets into the spun
text), e.g. :class:`service.spinner.GoldSpan`.

Only spans of kind "spun" (or without a kind) count as predictions; see :func:`spun_only`.

Matching: a predicted span matches a gold span when they overlap by at least one character;
pairs are matched one-to-one, greedily by overlap size (largest first).

Metrics (see :class:`Metrics`): span precision/recall/F1 over spun documents; suggestion
accuracy@1/@3 over matched gold spans (a suggestion counts when the text with the *predicted*
span replaced by it equals the text with the *gold* span replaced by the original, compared on
the union of both spans, case-insensitively with whitespace collapsed); false flags per 1,000
words on clean documents; document-level ROC AUC of the document scores (spun vs clean).
Precision, recall and the share of gold spans whose original is among a matched span's first three
suggestions come with 95 % Wilson score intervals (:func:`proportion_interval`). They treat spans
as independent draws; spans of one document are not quite that, so on a corpus of many documents
the true uncertainty is somewhat wider, while for one document (seed 002) they are the honest
statement of how far 67 phrases pin a rate down.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from service.spinner import GoldSpan

__all__ = [
    "EvalDoc", "GoldDoc", "Metrics", "evaluate", "load_gold", "match_spans", "proportion_interval", "reproduces",
    "spun_only", "suggestion_hits",
]

#: the confidence level of the intervals the evaluation reports
CONFIDENCE = 0.95


def proportion_interval(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The Wilson score interval for a rate of ``k`` in ``n`` (None when ``n`` is 0): unlike the
    normal approximation it stays inside [0, 1] and holds for small counts and rates near 0 or 1."""
    if n <= 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _suggestion_texts(span: Any) -> list[str]:
    out = []
    for s in _get(span, "suggestions", None) or []:
        out.append(s if isinstance(s, str) else _get(s, "text", ""))
    return out


@dataclass
class EvalDoc:
    """One document to score: its (spun or clean) text, gold and predicted spans.

    ``clean`` defaults to "no gold spans"; ``words`` defaults to the whitespace word count;
    ``score`` is the document-level score (for ROC AUC), ``None`` when not available.
    """

    text: str
    gold: Sequence[Any] = field(default_factory=list)
    predicted: Sequence[Any] = field(default_factory=list)
    words: int | None = None
    clean: bool | None = None
    score: float | None = None
    id: Any = None

    @property
    def is_clean(self) -> bool:
        return (len(self.gold) == 0) if self.clean is None else bool(self.clean)

    @property
    def n_words(self) -> int:
        return self.words if self.words is not None else len(self.text.split())


@dataclass
class GoldDoc:
    """A gold document as read by :func:`load_gold`."""

    id: Any
    text: str
    spans: list[GoldSpan]
    clean_text: str | None = None

    @property
    def is_clean(self) -> bool:
        return not self.spans


@dataclass
class Metrics:
    """Evaluation results; ``None`` where a metric is undefined (no data)."""

    precision: float | None
    recall: float | None
    f1: float | None
    acc_at_1: float | None
    acc_at_3: float | None
    false_flags_per_1k: float | None
    auc: float | None
    n_spun_docs: int = 0
    n_clean_docs: int = 0
    n_gold: int = 0
    n_predicted: int = 0
    n_matched: int = 0
    clean_words: int = 0
    clean_flags: int = 0
    #: clean texts scored one sentence at a time (as LanguageTool clients send text), if any
    sentence_texts: int = 0
    sentence_words: int = 0
    sentence_flags: int = 0
    sentence_false_flags_per_1k: float | None = None
    #: matched gold spans whose original is among the first three suggestions, over all gold spans
    #: (the issue's "original in the top 3" target; acc_at_3 × recall)
    top3_over_gold: float | None = None
    n_top3: int = 0
    #: 95 % Wilson intervals (see :func:`proportion_interval`), None where the rate is undefined
    precision_interval: tuple[float, float] | None = None
    recall_interval: tuple[float, float] | None = None
    top3_over_gold_interval: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def as_table(self) -> str:
        def fmt(v: float | None, pct: bool = True) -> str:
            if v is None:
                return "n/a"
            return f"{100 * v:.1f} %" if pct else f"{v:.3f}"

        def with_interval(v: float | None, interval: tuple[float, float] | None) -> str:
            if v is None or interval is None:
                return fmt(v)
            return f"{fmt(v)} (95 % CI {100 * interval[0]:.1f}–{100 * interval[1]:.1f})"

        rows = [
            ("span precision", with_interval(self.precision, self.precision_interval)),
            ("span recall", with_interval(self.recall, self.recall_interval)),
            ("span F1", fmt(self.f1)),
            ("suggestion accuracy@1", fmt(self.acc_at_1)),
            ("suggestion accuracy@3", fmt(self.acc_at_3)),
            ("original in the top 3, over all gold spans", with_interval(self.top3_over_gold, self.top3_over_gold_interval)),
            ("false flags / 1k words (clean)", fmt(self.false_flags_per_1k, pct=False)),
            ("document ROC AUC", fmt(self.auc, pct=False)),
            ("spun docs / gold spans / predicted / matched",
             f"{self.n_spun_docs} / {self.n_gold} / {self.n_predicted} / {self.n_matched}"),
            ("clean docs / words / flags", f"{self.n_clean_docs} / {self.clean_words} / {self.clean_flags}"),
        ]  # fmt: skip
        if self.sentence_texts:
            rows += [
                ("false flags / 1k words (clean, one sentence at a time)", fmt(self.sentence_false_flags_per_1k, pct=False)),
                ("clean sentences / words / flags", f"{self.sentence_texts} / {self.sentence_words} / {self.sentence_flags}"),
            ]  # fmt: skip
        lines = ["| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in rows]
        return "\n".join(lines)


def match_spans(predicted: Sequence[Any], gold: Sequence[Any]) -> list[tuple[int, int]]:
    """One-to-one greedy matching by overlap size: list of (pred index, gold index)."""
    pairs = []
    for i, p in enumerate(predicted):
        ps, pe = int(_get(p, "start")), int(_get(p, "end"))
        for j, g in enumerate(gold):
            gs, ge = int(_get(g, "start")), int(_get(g, "end"))
            ov = min(pe, ge) - max(ps, gs)
            if ov >= 1:
                pairs.append((-ov, i, j))
    pairs.sort()
    used_p: set[int] = set()
    used_g: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i in used_p or j in used_g:
            continue
        used_p.add(i)
        used_g.add(j)
        out.append((i, j))
    return out


_WS = re.compile(r"\s+")


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip().lower()


def reproduces(text: str, start: int, end: int, replacement: str, gold: Any) -> bool:
    """Whether replacing ``text[start:end]`` by ``replacement`` gives the gold original there.

    Compared on the union of both spans, case-insensitively, whitespace collapsed; spans that
    do not overlap never match.
    """
    gs, ge = int(_get(gold, "start")), int(_get(gold, "end"))
    if not (start < ge and gs < end):
        return False
    lo, hi = min(start, gs), max(end, ge)
    target = _norm(text[lo:gs] + str(_get(gold, "original")) + text[ge:hi])
    return _norm(text[lo:start] + replacement + text[end:hi]) == target


def suggestion_hits(text: str, pred: Any, gold: Any, k: int = 3) -> list[bool]:
    """For the first ``k`` suggestions of ``pred``: does it reproduce ``gold.original``?"""
    ps, pe = int(_get(pred, "start")), int(_get(pred, "end"))
    return [reproduces(text, ps, pe, sug, gold) for sug in _suggestion_texts(pred)[:k]]


def spun_only(predicted: Sequence[Any]) -> list[Any]:
    """The predicted spans that claim spinning (``kind`` "spun" or no kind): LanguageTool's grammar,
    typo and formatting spans are not predictions of spun phrases and are never counted."""
    return [p for p in predicted if (_get(p, "kind", None) or "spun") == "spun"]


def _as_eval_doc(d: Any) -> EvalDoc:
    if isinstance(d, EvalDoc):
        return d
    if isinstance(d, dict):
        return EvalDoc(
            text=d["text"],
            gold=d.get("gold", d.get("spans", [])) or [],
            predicted=d.get("predicted", []) or [],
            words=d.get("words"),
            clean=d.get("clean") if isinstance(d.get("clean"), bool) else None,
            score=d.get("score"),
            id=d.get("id"),
        )
    raise TypeError(f"cannot evaluate {type(d).__name__}")


def evaluate(docs: Iterable[EvalDoc | dict], sentences: Iterable[EvalDoc | dict] = ()) -> Metrics:
    """Score predicted spans against gold over spun and clean documents. ``sentences``: clean
    texts scored one sentence at a time, counted apart (their own false-flag rate)."""
    n_pred = n_gold = n_match = 0
    hit1 = hit3 = 0
    clean_words = clean_flags = 0
    n_spun = n_clean = 0
    y_true: list[int] = []
    y_score: list[float] = []
    for raw in docs:
        d = _as_eval_doc(raw)
        d = EvalDoc(d.text, d.gold, spun_only(d.predicted), d.words, d.clean, d.score, d.id)
        if d.score is not None:
            y_true.append(0 if d.is_clean else 1)
            y_score.append(float(d.score))
        if d.is_clean:
            n_clean += 1
            clean_words += d.n_words
            clean_flags += len(d.predicted)
            continue
        n_spun += 1
        n_pred += len(d.predicted)
        n_gold += len(d.gold)
        for i, j in match_spans(d.predicted, d.gold):
            n_match += 1
            hits = suggestion_hits(d.text, d.predicted[i], d.gold[j], k=3)
            hit1 += bool(hits[:1] and hits[0])
            hit3 += any(hits)
    precision = n_match / n_pred if n_pred else None
    recall = n_match / n_gold if n_gold else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    auc = None
    if len(set(y_true)) == 2:
        from sklearn.metrics import roc_auc_score

        auc = float(roc_auc_score(y_true, y_score))
    return Metrics(
        precision=precision,
        recall=recall,
        f1=f1,
        acc_at_1=hit1 / n_match if n_match else None,
        acc_at_3=hit3 / n_match if n_match else None,
        top3_over_gold=hit3 / n_gold if n_gold else None,
        n_top3=hit3,
        precision_interval=proportion_interval(n_match, n_pred),
        recall_interval=proportion_interval(n_match, n_gold),
        top3_over_gold_interval=proportion_interval(hit3, n_gold),
        false_flags_per_1k=1000.0 * clean_flags / clean_words if clean_words else None,
        auc=auc,
        n_spun_docs=n_spun,
        n_clean_docs=n_clean,
        n_gold=n_gold,
        n_predicted=n_pred,
        n_matched=n_match,
        clean_words=clean_words,
        clean_flags=clean_flags,
        **_sentence_counts(sentences),
    )


def _sentence_counts(sentences: Iterable[EvalDoc | dict]) -> dict:
    texts = words = flags = 0
    for raw in sentences:
        d = _as_eval_doc(raw)
        texts += 1
        words += d.n_words
        flags += len(spun_only(d.predicted))
    return {
        "sentence_texts": texts,
        "sentence_words": words,
        "sentence_flags": flags,
        "sentence_false_flags_per_1k": 1000.0 * flags / words if words else None,
    }


def load_gold(path: str | Path, texts_dir: str | Path | None = None) -> list[GoldDoc]:
    """Read a gold JSONL file: ``{"id", "text" | "path", "clean"?, "spans": [...]}`` per line.

    With ``"path"`` instead of ``"text"``, the text is read (UTF-8) from ``texts_dir / path``
    (default: the gold file's folder). Span offsets are checked against the text.
    """
    path = Path(path)
    base = Path(texts_dir) if texts_dir is not None else path.parent
    docs: list[GoldDoc] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            obj = json.loads(line)
            if "text" in obj:
                text = obj["text"]
            elif "path" in obj:
                text = (base / obj["path"]).read_text(encoding="utf-8")
            else:
                raise ValueError(f"{path}:{n}: needs 'text' or 'path'")
            spans = []
            for s in obj.get("spans", []):
                start, end = int(s["start"]), int(s["end"])
                stext = s.get("text", text[start:end])
                if text[start:end] != stext:
                    raise ValueError(f"{path}:{n}: span {start}-{end} is {text[start:end]!r}, not {stext!r}")
                spans.append(GoldSpan(start, end, stext, s.get("original", "")))
            clean_text = obj.get("clean") if isinstance(obj.get("clean"), str) else None
            docs.append(GoldDoc(obj.get("id", obj.get("path", n)), text, spans, clean_text))
    return docs
