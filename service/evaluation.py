"""Metrics of predicted spans against gold spans (no engine dependency).

A *predicted* span is anything with ``start``, ``end`` and ``suggestions`` (objects with
``.text`` or dicts with ``"text"``), e.g. :class:`service.report.Span`, or a dict with those
keys. A *gold* span has ``start``, ``end``, ``text`` and ``original`` (offsets into the spun
text), e.g. :class:`service.spinner.GoldSpan`.

Only spans of kind "spun" (or without a kind) count as predictions; see :func:`spun_only`.

Inputs: :func:`load_gold` reads and checks a gold JSONL file, :func:`load_clean` a folder or file of
clean documents; a bad input raises :class:`EvalInputError` naming the file and line.

Matching: a predicted span matches a gold span when they overlap by at least one character;
pairs are matched one-to-one, with the most overlap in all (:func:`match_spans`).

Metrics (see :class:`Metrics`): span precision/recall/F1 over spun documents; suggestion
accuracy@1/@3 over matched gold spans (a suggestion counts when the text with the *predicted*
span replaced by it equals the text with the *gold* span replaced by the original, compared on
the union of both spans, case-insensitively with whitespace collapsed, an article the prediction
takes in read as the original takes it); false flags per 1,000 words on clean documents; document-level ROC AUC of the document scores (spun vs clean); and the
restored text's word errors (:func:`word_errors`): how far the text is from the original before
spinning as written and once restored (:func:`service.restore.restore`: what ``unspin restore``
writes), and how much restoring changes clean text.
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
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from service.articles import article_for, with_article_case
from service.decoding import LONE_SURROGATE
from service.jsonl import DataError, json_kind, jsonl_values
from service.report import Span, Suggestion
from service.restore import restore
from service.spinner import GoldSpan

__all__ = [
    "EvalDoc", "EvalInputError", "GoldDoc", "Metrics", "evaluate", "load_clean", "load_gold", "match_spans",
    "proportion_interval", "reproduces", "span_outcomes", "spun_only", "suggestion_hits",
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

    ``clean`` defaults to "no gold spans"; ``words`` defaults to the whitespace word count
    (``unspin eval`` gives the report's ``stats.words``, the engine's word and number tokens);
    ``score`` is the document-level score (for ROC AUC), ``None`` when not available.
    """

    text: str
    gold: Sequence[Any] = field(default_factory=list)
    predicted: Sequence[Any] = field(default_factory=list)
    words: int | None = None
    clean: bool | None = None
    score: float | None = None
    id: Any = None
    #: for each gold span, the engine's best span over it at any score (None: none there); empty:
    #: not known (see :meth:`service.engine.Engine.score_near`)
    near: Sequence[Any] = ()
    #: the lowest score the document's spun spans were listed at (None: not known)
    listed_from: float | None = None

    @property
    def is_clean(self) -> bool:
        """Clean as declared, or, when not declared, when it has no gold span."""
        return (len(self.gold) == 0) if self.clean is None else bool(self.clean)

    @property
    def n_words(self) -> int:
        """The document's word count (as given, or counted on white space)."""
        return self.words if self.words is not None else len(self.text.split())


@dataclass
class GoldDoc:
    """A gold document as read by :func:`load_gold`."""

    id: Any
    text: str
    spans: list[GoldSpan]
    clean_text: str | None = None
    #: the file the text was read from (None: the text was in the JSON line)
    source: Path | None = None

    @property
    def is_clean(self) -> bool:
        """Whether the document has no gold span."""
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
    #: word edits (:func:`word_errors`) from the spun documents, as written and restored, to their
    #: originals (gold phrases replaced by their originals), per token of those originals
    word_errors_written: float | None = None
    word_errors_restored: float | None = None
    original_tokens: int = 0
    #: word edits restoring makes to the clean documents, per token of them
    clean_word_errors_restored: float | None = None
    clean_tokens: int = 0

    def to_dict(self) -> dict:
        """The metrics as a JSON-ready dict (``--json``)."""
        return asdict(self)

    def as_table(self) -> str:
        """The metrics as the plain-text table ``unspin eval`` prints."""
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
            ("word errors against the original: as written → restored",
             f"{fmt(self.word_errors_written)} → {fmt(self.word_errors_restored)}"),
            ("word errors restoring adds to clean text", fmt(self.clean_word_errors_restored)),
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
    """One-to-one matching of predicted and gold spans that overlap by a character or more, with
    the most overlap in all (an assignment problem, solved by scipy's ``linear_sum_assignment``):
    list of (pred index, gold index), by pred index. A flag straddling two gold phrases takes the
    one no other flag can take, where a greedy pass by overlap left a phrase and a flag unmatched;
    a flag is not drawn off the phrase it covers to one it only touches. Between assignments of
    the same overlap, the one with more pairs is taken (which of them had been arbitrary, so that
    a phrase elsewhere in the text could change the count)."""
    ov = np.zeros((len(predicted), len(gold)), dtype=np.int64)
    for i, p in enumerate(predicted):
        ps, pe = int(_get(p, "start")), int(_get(p, "end"))
        for j, g in enumerate(gold):
            gs, ge = int(_get(g, "start")), int(_get(g, "end"))
            ov[i, j] = max(0, min(pe, ge) - max(ps, gs))
    if not ov.any():
        return []
    from scipy.optimize import linear_sum_assignment

    pairs_bonus = (ov > 0).astype(np.int64)  # under one character of overlap in all, however many pairs
    weight = ov * (min(ov.shape) + 1) + pairs_bonus
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return sorted((int(i), int(j)) for i, j in zip(rows, cols) if ov[i, j] > 0)


_WS = re.compile(r"\s+")


#: an "a"/"an" ending a stretch of text (the article right before a gold span)
_ARTICLE_BEFORE = re.compile(r"\b([Aa][Nn]?)(\s+)$")


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip().lower()


def reproduces(text: str, start: int, end: int, replacement: str, gold: Any, others: Sequence[Any] = ()) -> bool:
    """Whether replacing ``text[start:end]`` by ``replacement`` gives the gold original there.

    Compared on the union of the spans, case-insensitively, whitespace collapsed; where the
    prediction takes in the "a"/"an" right before a gold span that leaves it out, the original is
    read with the article its first word takes ("an essential" -> "a critical" reproduces the label
    "essential" -> "critical"; "an critical" does not). Spans that do not overlap never match.
    ``others``: the document's other gold spans; those the prediction also overlaps (it straddles
    two phrases) are read with their originals too, so that a suggestion that puts both back counts.
    """
    gs, ge = int(_get(gold, "start")), int(_get(gold, "end"))
    if not (start < ge and gs < end):
        return False
    spans = [(gs, ge, str(_get(gold, "original")))]
    for o in others:
        os_, oe = int(_get(o, "start")), int(_get(o, "end"))
        if o is not gold and start < oe and os_ < end and not (os_ < ge and gs < oe):
            spans.append((os_, oe, str(_get(o, "original"))))
    spans.sort()
    lo, hi = min(start, spans[0][0]), max(end, max(e for _, e, _ in spans))
    target, pos = [], lo
    for s, e, original in spans:
        if s < pos:  # gold spans that overlap each other: the first one read
            continue
        before = text[pos:s]
        if lo < s and (m := _ARTICLE_BEFORE.search(before)) and original.strip():
            # the prediction takes in the "a"/"an" the label leaves out: the original reads with the
            # article its first word takes ("an essential" -> "a critical" for "essential" -> "critical")
            before = before[: m.start(1)] + with_article_case(m.group(1), article_for(original)) + m.group(2)
        target += [before, original]
        pos = e
    target.append(text[pos:hi])
    return _norm(text[lo:start] + replacement + text[end:hi]) == _norm("".join(target))


def suggestion_hits(text: str, pred: Any, gold: Any, k: int = 3, others: Sequence[Any] = ()) -> list[bool]:
    """For the first ``k`` suggestions of ``pred``: does it reproduce ``gold.original`` (with those of
    the ``others`` gold spans it also overlaps: :func:`reproduces`)?"""
    ps, pe = int(_get(pred, "start")), int(_get(pred, "end"))
    return [reproduces(text, ps, pe, sug, gold, others) for sug in _suggestion_texts(pred)[:k]]


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


#: a word (inner apostrophes kept) or one punctuation mark: the units :func:`word_errors` counts
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def tokens(text: str) -> list[str]:
    """``text`` as :func:`word_errors` compares it: words and punctuation marks, case folded."""
    return [t.casefold() for t in _TOKEN.findall(text)]


def word_errors(text: str, reference: str) -> int:
    """Word-level edit distance (insertions, deletions, substitutions of :func:`tokens`) from
    ``text`` to ``reference``, by rapidfuzz's Levenshtein distance over token sequences."""
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(tokens(text), tokens(reference)))


def original_text(text: str, gold: Sequence[Any]) -> str | None:
    """``text`` with each gold phrase replaced by its original (the text before spinning); None
    when a phrase has no original."""
    out, at = [], 0
    for g in sorted(gold, key=lambda g: int(_get(g, "start"))):
        original = _get(g, "original")
        if original is None:
            return None
        start, end = int(_get(g, "start")), int(_get(g, "end"))
        out += [text[at:start], str(original)]
        at = end
    out.append(text[at:])
    return "".join(out)


def _as_span(text: str, p: Any) -> Span:
    """A predicted span (a :class:`Span`, or a dict or object with its fields) as a :class:`Span`."""
    if isinstance(p, Span):
        return p
    start, end = int(_get(p, "start")), int(_get(p, "end"))
    return Span(start=start, end=end, text=text[start:end], kind=_get(p, "kind", None) or "spun",
                score=float(_get(p, "score", None) or 0.0), sources=list(_get(p, "sources", None) or []),
                suggestions=[Suggestion(text=t, score=0.0) for t in _suggestion_texts(p)])


def restored_text(d: EvalDoc) -> str:
    """The document's text restored by its predicted spans (what ``unspin restore`` writes)."""
    return restore(d.text, [_as_span(d.text, p) for p in d.predicted])


def evaluate(docs: Iterable[EvalDoc | dict], sentences: Iterable[EvalDoc | dict] = ()) -> Metrics:
    """Score predicted spans against gold over spun and clean documents. ``sentences``: clean
    texts scored one sentence at a time, counted apart (their own false-flag rate)."""
    n_pred = n_gold = n_match = 0
    hit1 = hit3 = 0
    clean_words = clean_flags = 0
    n_spun = n_clean = 0
    y_true: list[int] = []
    y_score: list[float] = []
    errors_written = errors_restored = original_tokens = 0
    errors_clean = clean_tokens = 0
    for raw in docs:
        d = _as_eval_doc(raw)
        if d.score is not None:
            y_true.append(0 if d.is_clean else 1)
            y_score.append(float(d.score))
        outcomes = _doc_outcomes(d)  # what is counted, phrase by phrase (span_outcomes)
        flags = sum(1 for r in outcomes if r["outcome"] == "false_flag")
        if d.is_clean:
            n_clean += 1
            clean_words += d.n_words
            clean_flags += flags
            errors_clean += word_errors(restored_text(d), d.text)
            clean_tokens += len(tokens(d.text))
            continue
        n_spun += 1
        original = original_text(d.text, d.gold)
        if original is not None:
            errors_written += word_errors(d.text, original)
            errors_restored += word_errors(restored_text(d), original)
            original_tokens += len(tokens(original))
        ranks = [r["original_rank"] for r in outcomes if r["outcome"] == "found"]
        n_match += len(ranks)
        n_pred += len(ranks) + flags
        n_gold += sum(1 for r in outcomes if r["outcome"] != "false_flag")
        hit1 += sum(1 for k in ranks if k == 1)
        hit3 += sum(1 for k in ranks if k is not None and k <= 3)
    precision = n_match / n_pred if n_pred else None
    recall = n_match / n_gold if n_gold else None
    # 2TP / (2TP + FP + FN): defined whenever there is a gold span or a flag (0 with no flag at all)
    f1 = 2 * n_match / (n_pred + n_gold) if n_pred + n_gold else None
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
        word_errors_written=errors_written / original_tokens if original_tokens else None,
        word_errors_restored=errors_restored / original_tokens if original_tokens else None,
        original_tokens=original_tokens,
        clean_word_errors_restored=errors_clean / clean_tokens if clean_tokens else None,
        clean_tokens=clean_tokens,
        **_sentence_counts(sentences),
    )


def _predicted_record(p: Any) -> dict:
    """A predicted span as an outcome record holds it: offsets, text, score, suggestions."""
    return {"start": int(_get(p, "start")), "end": int(_get(p, "end")), "text": _get(p, "text"),
            "score": _get(p, "score"), "suggestions": _suggestion_texts(p)}


def _with_rank(text: str, key: str, p: Any, g: Any, gold: Sequence[Any]) -> dict:
    """A predicted span's record under ``key``, and ``original_rank``: the 1-based place of its first
    suggestion that gives gold span ``g``'s original (None: none does), read with the originals of
    the document's other ``gold`` spans it overlaps."""
    hits = suggestion_hits(text, p, g, k=len(_suggestion_texts(p)), others=gold)
    return {key: _predicted_record(p), "original_rank": hits.index(True) + 1 if any(hits) else None}


def _doc_outcomes(d: EvalDoc) -> list[dict]:
    """One document's records of :func:`span_outcomes`, in its order."""
    predicted = spun_only(d.predicted)
    gold = [] if d.is_clean else list(d.gold)
    pairs = dict((j, i) for i, j in match_spans(predicted, gold))
    matched = set(pairs.values())
    records = []
    for j, g in enumerate(gold):
        rec = {"id": d.id, "clean": False, "outcome": "found" if j in pairs else "missed",
               "start": int(_get(g, "start")), "end": int(_get(g, "end")), "text": _get(g, "text"),
               "original": _get(g, "original")}
        if j in pairs:
            rec.update(_with_rank(d.text, "predicted", predicted[pairs[j]], g, gold))
        elif d.near:
            rec["listed_from"] = d.listed_from
            rec.update(_with_rank(d.text, "nearest", d.near[j], g, gold) if d.near[j] is not None
                       else {"nearest": None, "original_rank": None})
        records.append(rec)
    for i, p in enumerate(predicted):
        if i not in matched:
            records.append({"id": d.id, "clean": d.is_clean, "outcome": "false_flag",
                            "start": int(_get(p, "start")), "end": int(_get(p, "end")), "text": _get(p, "text"),
                            "predicted": _predicted_record(p)})
    return sorted(records, key=lambda r: (r["start"], r["end"]))


def span_outcomes(docs: Iterable[EvalDoc | dict]) -> Iterator[dict]:
    """What :func:`evaluate` counted, one record per phrase, in each document's order: every gold
    phrase ``"found"`` (with the span that matched it and ``original_rank``, the 1-based place of
    the first suggestion that reproduces the original, ``None`` when none does) or ``"missed"``
    (where the document has :attr:`EvalDoc.near`: with ``"nearest"``, the engine's best span over
    the phrase under the score it would have been listed at, ``"listed_from"``, that score, and
    ``original_rank`` among its suggestions; ``"nearest"`` is ``None`` where no slot covers it),
    and every predicted span that matched no gold phrase, ``"false_flag"`` (in a spun document:
    it counts against precision; in a clean one: against the false flags per 1,000 words). Each
    record has the document's ``id``, ``clean`` (whether the document is clean) and ``outcome``;
    a gold phrase's ``start``, ``end``, ``text`` and ``original``, a predicted span's under
    ``"predicted"``. :func:`evaluate` counts these very records, so they add up to its metrics."""
    for raw in docs:
        yield from _doc_outcomes(_as_eval_doc(raw))


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


class EvalInputError(ValueError):
    """A gold or clean input that cannot be evaluated. The message starts with the file and, for
    JSON lines, the line number (``gold.jsonl:3: ...``)."""


#: "no limit" for texts read when no ``max_chars`` is given
_NO_LIMIT = 2**62
#: names of files read as JSON lines whatever they hold (in a ``--clean`` folder, pointed out, not read)
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})


def _read_text_file(file: Path, name: str, max_chars: int | None, encoding: str | None = None) -> str:
    """The text of ``file`` decoded exactly as ``unspin score`` decodes it (:func:`service.decoding.decode`:
    line ends kept, a BOM dropped; ``encoding`` is the fallback for bytes that are not UTF-8) and
    checked as the engine checks a text (not empty, not too long).

    Raises:
        EvalInputError: the file is missing, a folder, unreadable, binary, not UTF-8, empty or too long.
    """
    from service.batch_inputs import is_folder
    from service.decoding import InputError, check_text

    if is_folder(file):
        raise EvalInputError(f"{name}: is a folder, not a text file")
    text = _read_decoded(file, name, encoding)
    try:
        check_text(text, max_chars or _NO_LIMIT)
    except InputError as e:
        raise EvalInputError(f"{name}: {e}") from None
    return text


def _read_decoded(file: Path, name: str, encoding: str | None) -> str:
    """The bytes of ``file`` decoded as :func:`_decode` decodes them.

    Raises:
        EvalInputError: the file is missing, unreadable, not a regular file (a named pipe), binary
            or not valid text, or its name cannot be a file's (a NUL character, a lone surrogate)
            (``name`` says which).
    """
    from service.batch_inputs import file_size
    from service.decoding import InputError

    try:
        file_size(file)  # a named pipe, a socket, a folder: refused without opening it (could wait forever)
        return _decode(file.read_bytes(), encoding)
    except FileNotFoundError:
        raise EvalInputError(f"{name}: no such file") from None
    except OSError as e:
        raise EvalInputError(f"{name}: cannot be read ({e.strerror or e})") from None
    except InputError as e:
        raise EvalInputError(f"{name}: {e}") from None
    except ValueError as e:  # from open(): "embedded null byte", or a UnicodeEncodeError (a lone surrogate)
        raise EvalInputError(f"{name}: cannot be a file name ({e})") from None


def _decode(data: bytes, encoding: str | None) -> str:
    """:func:`service.decoding.decode`, with a codec's own error (possible with a fallback) as an InputError."""
    from service.decoding import InputError, decode

    try:
        return decode(data, fallback=encoding)
    except InputError:
        raise
    except UnicodeError as e:
        raise InputError(f"cannot be decoded as {encoding or 'UTF-8'} ({e})") from None


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of each non-blank line of the JSONL file ``path``
    (:func:`service.jsonl.jsonl_values`), its problems as :class:`EvalInputError`."""
    try:
        yield from jsonl_values(path)
    except DataError as e:
        raise EvalInputError(str(e)) from None


def _gold_span(s: Any, i: int, text: str, where: str) -> GoldSpan:
    """Span ``i`` (1-based) of a gold line, checked against the document's ``text``."""
    if not isinstance(s, dict):
        raise EvalInputError(f"{where}: span {i} must be an object {{start, end, text, original}}, got {json_kind(s)}")
    offsets = []
    for key in ("start", "end"):
        if key not in s:
            raise EvalInputError(f"{where}: span {i} has no {key!r}")
        v = s[key]
        if isinstance(v, bool) or not isinstance(v, int):
            raise EvalInputError(f"{where}: span {i}: {key!r} must be an integer (a character offset), got {v!r}")
        offsets.append(v)
    start, end = offsets
    if not 0 <= start < end <= len(text):
        raise EvalInputError(f"{where}: span {i}: start {start}, end {end} is not a stretch of the text "
                             f"(need 0 <= start < end <= {len(text)}, the text's length in characters)")
    stext = s.get("text", text[start:end])
    if not isinstance(stext, str):
        raise EvalInputError(f"{where}: span {i}: 'text' must be a string, got {json_kind(stext)}")
    if text[start:end] != stext:
        raise EvalInputError(f"{where}: span {start}-{end} is {text[start:end]!r}, not {stext!r}")
    if "original" not in s:
        raise EvalInputError(f"{where}: span {i} ({stext!r}) has no 'original' (the text it replaced)")
    if not isinstance(s["original"], str):
        raise EvalInputError(f"{where}: span {i}: 'original' must be a string, got {json_kind(s['original'])}")
    _whole_characters(s["original"], f"{where}: span {i}: 'original'")
    return GoldSpan(start, end, stext, s["original"])


def _whole_characters(value: object, what: str) -> None:
    """Refuse a string holding a lone surrogate (a ``\\ud800``-``\\udfff`` escape, half of a
    character): it can be neither compared nor written out."""
    if isinstance(value, str) and LONE_SURROGATE.search(value):
        raise EvalInputError(f"{what} holds a lone surrogate (\\ud800-\\udfff escape), half of a character")


def _line_text(text: Any, where: str, max_chars: int | None) -> str:
    """A JSON line's ``text``, checked as the engine would check it.

    Raises:
        EvalInputError: not a string, or a text the engine refuses (``where`` says which line).
    """
    from service.decoding import InputError, check_text

    if not isinstance(text, str):
        raise EvalInputError(f"{where}: 'text' must be a string, got {json_kind(text)}")
    try:
        check_text(text, max_chars or _NO_LIMIT)
    except InputError as e:
        raise EvalInputError(f"{where}: {e}") from None
    return text

def load_gold(path: str | Path, texts_dir: str | Path | None = None, *, max_chars: int | None = None,
              encoding: str | None = None) -> list[GoldDoc]:
    """Read and check a gold JSONL file: ``{"id"?, "text" | "path", "spans": [...], "clean"?}`` per line.

    With ``"path"`` instead of ``"text"``, the text is read from ``texts_dir / path`` (default: the
    gold file's folder) and decoded as ``unspin score`` decodes files (:func:`service.decoding.decode`:
    CRLF kept, a BOM dropped, ``encoding`` the fallback for bytes that are not UTF-8), so offsets
    from its reports hold. ``"spans"`` is required: a list of
    ``{start, end, text?, original}`` with integer code-point offsets, ``0 <= start < end <=
    len(text)``, ``text`` (when given) equal to the text there, and no two spans overlapping;
    ``"spans": []`` marks a clean document. ``"clean"``, when given, is the unspun text (as
    ``unspin make-data`` writes it). Ids (default: the path, else the line number) and files must
    be unique, texts must be scorable (not empty; at most ``max_chars`` characters when given),
    and the file must hold at least one document.

    Raises:
        EvalInputError: the first problem found, as ``FILE:LINE: reason``.
    """
    path = Path(path)
    base = Path(texts_dir) if texts_dir is not None else path.parent
    docs: list[GoldDoc] = []
    ids: dict[Any, int] = {}
    files: dict[Path, int] = {}
    for n, obj in _json_lines(path):
        where = f"{path}:{n}"
        if not isinstance(obj, dict):
            raise EvalInputError(f"{where}: expected a JSON object {{\"text\" or \"path\", \"spans\"}}, got {json_kind(obj)}")
        if "text" in obj and "path" in obj:  # which one the labels' offsets index is not known
            raise EvalInputError(f"{where}: has both 'text' and 'path'; give the document one way")
        if "text" in obj:
            text = _line_text(obj["text"], where, max_chars)
            default_id: Any = n
        elif "path" in obj:
            rel = obj["path"]
            if not isinstance(rel, str) or not rel.strip():
                raise EvalInputError(f"{where}: 'path' must be a file name, got {rel!r}")
            file = base / rel
            text = _read_text_file(file, f"{where}: {str(file)!r}", max_chars, encoding)
            key = file.resolve()
            if key in files:
                raise EvalInputError(f"{where}: {rel!r} is the same file as line {files[key]}")
            files[key] = n
            default_id = rel
        else:
            raise EvalInputError(f"{where}: needs 'text' (the document) or 'path' (its file)")
        doc_id = obj.get("id", default_id)
        if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            raise EvalInputError(f"{where}: 'id' must be a string or an integer, got {json_kind(doc_id)}")
        _whole_characters(doc_id, f"{where}: 'id'")
        if doc_id in ids:
            why = "" if "id" in obj else (" (this line has no 'id', so its " + ("path" if "path" in obj else "line number")
                                          + " is its id; give it an 'id')")
            raise EvalInputError(f"{where}: id {doc_id!r} is already used on line {ids[doc_id]}{why}")
        ids[doc_id] = n
        if "spans" not in obj:
            raise EvalInputError(f"{where}: no 'spans' (keys: {', '.join(obj) or 'none'}); "
                                 "a clean document has \"spans\": []")
        raw_spans = obj["spans"]
        if not isinstance(raw_spans, list):
            raise EvalInputError(f"{where}: 'spans' must be a list, got {json_kind(raw_spans)}")
        spans = [_gold_span(s, i, text, where) for i, s in enumerate(raw_spans, 1)]
        ordered = sorted(spans, key=lambda g: (g.start, g.end))
        for a, b in zip(ordered, ordered[1:]):
            if b.start < a.end:
                what = "is listed twice" if (a.start, a.end) == (b.start, b.end) else f"overlaps span {a.start}-{a.end}"
                raise EvalInputError(f"{where}: span {b.start}-{b.end} ({b.text!r}) {what}")
        clean_text = obj.get("clean")
        if clean_text is not None and not isinstance(clean_text, str):
            raise EvalInputError(f"{where}: 'clean' is the unspun text (a string), got {json_kind(clean_text)}; "
                                 "a clean document has \"spans\": []")
        docs.append(GoldDoc(doc_id, text, spans, clean_text, file if "path" in obj else None))
    if not docs:
        raise EvalInputError(f"{path}: no documents (the file is empty)")
    return docs


def load_clean(path: str | Path, *, max_chars: int | None = None, encoding: str | None = None,
               warn: Callable[[str], None] | None = None) -> list[GoldDoc]:
    """Read clean documents (no spans) from a folder, a JSONL file or a text file.

    * A folder: its text files (``*.txt``, ``*.text``, ``*.md`` and files without a suffix, walked
      recursively, hidden ones skipped, as ``unspin score`` walks folders). JSONL files in it are not
      read: when the folder holds nothing else that is an error saying to name them; otherwise
      ``warn`` is told that they were skipped.
    * A file: JSON lines (``{"text": ..., "id"?}`` per line) when it is named ``*.jsonl`` or
      ``*.ndjson`` or its first non-blank line is a JSON object; otherwise one plain-text document.
      A whole JSON document (an array, a pretty-printed object) is refused.

    Texts are decoded as ``unspin score`` decodes files (``encoding``: the fallback for text files
    that are not UTF-8) and must be scorable (not empty, binary or,
    when ``max_chars`` is given, longer). A JSONL line may carry ``"spans"`` only when it is empty.

    Raises:
        EvalInputError: the first problem found (``FILE:LINE: reason``), or no document at all.
    """
    from service.batch_inputs import is_folder
    from service.decoding import InputError, check_text

    path = Path(path)
    if is_folder(path):
        return _clean_folder(path, max_chars, encoding, warn)
    content = _read_decoded(path, str(path), encoding)
    if not _looks_like_json_lines(path, content):
        try:
            check_text(content, max_chars or _NO_LIMIT)
        except InputError as e:
            raise EvalInputError(f"{path}: {e}") from None
        return [GoldDoc(str(path), content, [], source=path)]
    docs: list[GoldDoc] = []
    ids: dict[Any, int] = {}
    for n, obj in _json_lines(path):
        where = f"{path}:{n}"
        if not isinstance(obj, dict):
            raise EvalInputError(f"{where}: expected a JSON object {{\"text\": ...}}, got {json_kind(obj)}")
        if "text" not in obj:
            raise EvalInputError(f"{where}: no 'text' (keys: {', '.join(obj) or 'none'}); "
                                 "a clean JSONL document is {\"text\": ...} per line")
        text = _line_text(obj["text"], where, max_chars)
        spans = obj.get("spans")
        if spans is not None and spans != []:
            raise EvalInputError(f"{where}: has spans, but clean documents have none "
                                 "(spun documents go in --gold; \"spans\": [] is fine)")
        doc_id = obj.get("id", f"{path}:{n}")
        if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            raise EvalInputError(f"{where}: 'id' must be a string or an integer, got {json_kind(doc_id)}")
        _whole_characters(doc_id, f"{where}: 'id'")
        if doc_id in ids:
            raise EvalInputError(f"{where}: id {doc_id!r} is already used on line {ids[doc_id]}")
        ids[doc_id] = n
        docs.append(GoldDoc(doc_id, text, []))
    if not docs:
        raise EvalInputError(f"{path}: no documents (the file is empty)")
    return docs


def read_twice(docs: Sequence[GoldDoc], gold: Sequence[GoldDoc], clean: Sequence[GoldDoc]) -> str | None:
    """Why ``docs`` (the documents of one ``--clean`` source) cannot be counted beside the ``gold``
    documents and the ``clean`` ones of earlier sources: one of its files is one of theirs (a spun
    document counted as clean, a clean one counted twice); None when none is."""
    earlier = {d.source.resolve(): (d, "--gold") for d in gold if d.source is not None}
    earlier.update((d.source.resolve(), (d, "an earlier --clean")) for d in clean if d.source is not None)
    for d in docs:
        if d.source is not None and d.source.resolve() in earlier:
            first, where = earlier[d.source.resolve()]
            return f"{d.source} is a document of {where} too ({first.id!r}); each document is counted once"
    return None


def _looks_like_json_lines(path: Path, content: str) -> bool:
    """JSON lines: by the name (``*.jsonl``, ``*.ndjson``) or a first non-blank line that is a JSON object."""
    if path.suffix.lower() in JSONL_SUFFIXES:
        return True
    first = next((line for line in content.split("\n") if line.strip()), "")
    try:
        if isinstance(json.loads(first), dict):
            return True
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
        pass
    try:
        whole = json.loads(content)
    except (ValueError, RecursionError):
        return False
    if isinstance(whole, (dict, list)):
        raise EvalInputError(f"{path}: is one JSON document, not JSON lines: give one {{\"text\": ...}} object per line")
    return False


def _clean_folder(folder: Path, max_chars: int | None, encoding: str | None,
                  warn: Callable[[str], None] | None) -> list[GoldDoc]:
    from service.batch_inputs import collect_sources

    texts = "*.txt, *.text, *.md or no suffix"
    sources = collect_sources([str(folder)])
    for src in sources:  # a folder that cannot be listed: its texts would be missing
        if src.error is not None:
            raise EvalInputError(f"{src.name}: {src.error}")
    jsonl = [src.path for src in collect_sources([str(folder)], include=["*"])
             if src.path is not None and src.error is None and src.path.suffix.lower() in JSONL_SUFFIXES]
    if not sources:
        if jsonl:
            names = ", ".join(str(f) for f in jsonl[:3]) + (", ..." if len(jsonl) > 3 else "")
            raise EvalInputError(f"{folder}: a folder is read for its text files ({texts}) and holds none, but it "
                                 f"holds JSON lines: name the file itself (--clean {jsonl[0]}); found {names}")
        raise EvalInputError(f"{folder}: no text files ({texts}) in this folder; hidden files and folders are skipped")
    if jsonl and warn is not None:
        warn(f"{folder}: {len(jsonl)} JSONL file(s) not read (a folder gives its text files only; "
             f"name a JSONL file with --clean to read it): {jsonl[0]}" + (", ..." if len(jsonl) > 1 else ""))
    return [GoldDoc(src.name, _read_text_file(src.path, src.name, max_chars, encoding), [], source=src.path)
            for src in sources if src.path]
