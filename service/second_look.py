"""A second look at doubtful slots with the causal language model (:mod:`service.causal_lm`).

The engine's own models (3-gram, detector, corrector) score every slot cheaply. Slots whose
P(spun) reaches a gate are read again by SmolLM2-135M: the text around the slot (its
:class:`Context`: so many words before it, from its sentence or also from those before, and so
many after it in its sentence) is continued with the written words and with each of the fusion's
first ``k`` candidates, and each candidate's *gain* is how much more
likely the model finds the sentence with it (natural log). A spinner's word fits its sentence
worse than the word it replaced, and a model trained on 2 T tokens knows "but" from "however"
where a 3-gram model cannot.

Two small standardised logistic regressions, learned by ``unspin train-second-look`` on
synthetic spun Reuters documents the fusion did not learn from, turn that into the slot's new
P(spun) (:data:`SLOT_FEATURES`) and into the order of its first ``k`` candidates
(:data:`RANK_FEATURES`). The threshold is calibrated again on clean texts, whole and one sentence at
a time, with the second look on, and stored with the weights in
``service/data/second-look.json``. Slots under the gate keep their score.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

import numpy as np

from service.case import match_case
from service.causal_lm import CausalLM, Continuations, flat
from service.spelling import americanized
from service.linear import linear_dict, linear_from_dict, scaled_logistic

if TYPE_CHECKING:  # pragma: no cover
    from service.analysis import Analysis, SlotResult

#: where the shipped weights live
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "second-look.json"
#: the facts of a slot the new P(spun) is learned on
SLOT_FEATURES = ("slot_logit", "best_gain", "top_gain", "written_words")
#: the facts of a candidate its new rank is learned on
RANK_FEATURES = ("log_share", "gain")


@dataclass(frozen=True)
class Context:
    """How much text around a slot the model reads: the last ``left_words`` words before it (from
    its own sentence, or with ``across_sentences`` from the sentences before it too) and the first
    ``right_words`` after it in its sentence. A second look's weights were learned with one shape of
    question and are stored with it; the defaults are the shape of files that do not name one."""

    left_words: int = 12
    right_words: int = 4
    across_sentences: bool = False

    def __post_init__(self) -> None:
        if self.left_words < 0 or self.right_words < 0:
            raise ValueError(f"a second look's context needs word counts of at least 0, not {self}")

    def to_dict(self) -> dict:
        """The context's shape as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: object) -> "Context":
        """The context a model file names (``None``: the defaults). Raises ValueError for a bad one."""
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise ValueError(f"a second look's context is an object of word counts and a yes/no, not {d!r}")
        types = {f.name: type(f.default) for f in fields(cls)}
        unknown = set(d) - set(types)
        if unknown:
            raise ValueError(f"unknown second-look context field(s): {', '.join(sorted(unknown))}")
        if any(type(v) is not types[k] for k, v in d.items()):
            raise ValueError(f"a second look's context has word counts and a yes/no, not {d}")
        return cls(**d)


#: the shape of question of a model file that names none (the first shipped second look's)
DEFAULT_CONTEXT = Context()
#: wraps the iteration over the slots the second look reads, e.g. ``tqdm``: it is given a sequence
#: (so it knows how many) and yields the same slots
SlotProgress = Callable[[Sequence["SlotResult"]], Iterable["SlotResult"]]


def _optional_float(x: object) -> float | None:
    """A threshold read from the model file: a number in [0, 1], or ``None`` when absent."""
    if x is None:
        return None
    v = float(x)  # type: ignore[arg-type]
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"spun_doc_threshold {v} is outside [0, 1]")
    return v


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def top_candidates(r: "SlotResult", k: int) -> np.ndarray:
    """Indices of the slot's first ``k`` candidates in the fusion's order."""
    return np.argsort(-r.probs, kind="stable")[:k]


def left_context(text: str, sentence_start: int, begin: int, context: Context = DEFAULT_CONTEXT) -> str:
    """What the model reads before a slot that begins at ``begin``: the last ``context.left_words``
    words of its sentence up to there (or of the text up to there, with ``across_sentences``),
    white space flattened ("" when there is none)."""
    lo = 0 if context.across_sentences else sentence_start
    n = context.left_words
    reach = 64 * (n + 1)  # characters read back; widened until they hold more than n words
    while True:
        a = max(lo, begin - reach)
        left = flat(text[a:begin]).strip()
        words = left.split(" ") if left else []
        if a == lo or len(words) > n:  # more than n: the first, perhaps cut, is not among the last n
            return " ".join(words[max(0, len(words) - n):])
        reach *= 4


def question(analysis: "Analysis", r: "SlotResult", cands: Sequence[int],
             context: Context = DEFAULT_CONTEXT) -> Continuations:
    """The text around slot ``r`` (``context``) continued with its written words (first option) and
    with each candidate in ``cands`` (in the case of the written words, with the article it takes);
    when the written words hold a British spelling, one more option last: them in American
    spelling (:mod:`service.spelling`), which :func:`gains_many` reads as the written words too."""
    text = analysis.reading  # page furniture inside the sentence left unread, as the sentence's tokens
    sent = analysis.sentences[r.sentence]
    start, end = analysis.offsets(r)
    places = [analysis.replacement(r, int(j)) for j in cands]
    begin = min([start, *(p[0] for p in places)])
    left = left_context(text, sent.start, begin, context)
    right = flat(text[end : sent.end])
    right_words = right.split(" ")
    lead = 1 if right.startswith(" ") else 0
    right = " ".join(right_words[: lead + context.right_words])
    middles = [text[begin:end]]
    for st, _, rep in places:
        written = text[st:end]
        middles.append(text[begin:st] + (match_case(written, rep) if st == start else rep))
    american = americanized(middles[0])
    if american != middles[0]:  # "recognise": the model may know it less well than "recognize"
        middles.append(american)
    pad = " " if left else ""
    return Continuations(left, tuple(pad + flat(m + right).strip() for m in middles))


def slot_row(r: "SlotResult", gains: np.ndarray) -> np.ndarray:
    """The slot's :data:`SLOT_FEATURES` given its candidates' gains (in the fusion's order)."""
    return np.array([_logit(r.lm_score), float(gains.max()), float(gains[0]), float(len(r.written))])


def rank_rows(r: "SlotResult", cands: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """:data:`RANK_FEATURES` of each candidate in ``cands``."""
    p = np.maximum(r.probs[cands], 1e-12)
    return np.column_stack([np.log(p / p.sum()), gains])


@contextmanager
def closed_after(answers: Iterator) -> Iterator[Iterator]:
    """``answers`` for the block, closed after it however it ends (a generator left open while an
    exception's traceback holds it would keep its work queued)."""
    try:
        yield answers
    finally:
        close = getattr(answers, "close", None)
        if close is not None:
            close()


def gains_many(lm: CausalLM, analysis: "Analysis", slots: Sequence["SlotResult"], k: int,
               context: Context = DEFAULT_CONTEXT) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For each slot in order, its first ``k`` candidates and each one's gain over the written
    words, read with ``context`` (the model reads several slots at once:
    :meth:`CausalLM.continuations_many`)."""
    chosen = [top_candidates(r, k) for r in slots]
    answers = lm.continuations_many([question(analysis, r, c, context) for r, c in zip(slots, chosen)])
    with closed_after(answers):  # closed early (stopped, an error), the model's queued passes are cancelled
        for cands, lp in zip(chosen, answers):
            # the written words read in the spelling the model reads better (British or American): a
            # spelling is not a synonym, and the candidates are to beat the words, not their spelling
            written = lp[0] if len(lp) == len(cands) + 1 else max(lp[0], lp[-1])
            yield cands, lp[1 : len(cands) + 1] - written


def gated(analysis: "Analysis", gate: float) -> list["SlotResult"]:
    """The slots the second look reads: with candidates, not decided by a list, P(spun) at least ``gate``."""
    return [r for r in analysis.slots if len(r.candidates) and not r.lexicon and r.lm_score >= gate]


@dataclass
class SecondLook:
    """The learned second look: which slots it reads, how it weighs what it finds, the threshold
    calibrated with it, and the second threshold for documents judged spun that was chosen with it
    (``None``: none)."""

    gate: float
    k: int
    slot: dict  # linear_dict of SLOT_FEATURES
    rank: dict  # linear_dict of RANK_FEATURES
    threshold: float = 0.5
    meta: dict = field(default_factory=dict)
    spun_doc_threshold: float | None = None
    #: the text around a slot the model reads (the weights were learned with it)
    context: Context = DEFAULT_CONTEXT

    def apply(self, analysis: "Analysis", lm: CausalLM, progress: SlotProgress | None = None) -> int:
        """Score the analysis's gated slots again, in place (their P(spun) and the order of their
        first ``k`` candidates); returns how many were read. ``progress`` wraps the iteration over
        them (the slow part of scoring: a few tenths of a second each)."""
        slots = gated(analysis, self.gate)
        answers = gains_many(lm, analysis, slots, self.k, self.context)
        # the slot first: a bar such as tqdm counts a slot done when the next one is asked for, so
        # while slot k is read it shows k done, and it ends (and closes) once the last is read. A
        # wrapper that raises (:func:`service.stopping.stop_when`) leaves no pass queued: closed here
        # at once, not whenever the traceback that holds the generator is let go
        with closed_after(answers):
            for r, (cands, g) in zip(progress(slots) if progress is not None else slots, answers):
                self.update(r, cands, g)
        return len(slots)

    def update(self, r: "SlotResult", cands: np.ndarray, gains: np.ndarray) -> None:
        """Set slot ``r``'s new P(spun) and re-order its candidates ``cands`` by what the model found."""
        s = self.slot
        new = float(scaled_logistic(slot_row(r, gains)[None], s["mean"], s["scale"], s["coef"], s["intercept"])[0])
        q = self.rank
        p = scaled_logistic(rank_rows(r, cands, gains), q["mean"], q["scale"], q["coef"], q["intercept"])
        probs = np.array(r.probs, dtype=np.float64)
        mass = float(probs[cands].sum())
        probs[cands] = mass * p / max(float(p.sum()), 1e-12)
        r.probs = probs
        r.slot_prob = new
        r.second_look_gains = {int(j): float(g) for j, g in zip(cands, gains)}

    def to_dict(self) -> dict:
        """The second look's gate, weights and context as a JSON-ready dict."""
        return {"gate": self.gate, "k": self.k, "threshold": self.threshold,
                "spun_doc_threshold": self.spun_doc_threshold, "context": self.context.to_dict(), "meta": self.meta,
                "slot": linear_dict(SLOT_FEATURES, *(self.slot[n] for n in ("mean", "scale", "coef", "intercept"))),
                "rank": linear_dict(RANK_FEATURES, *(self.rank[n] for n in ("mean", "scale", "coef", "intercept")))}

    def save(self, path: Path) -> None:
        """Write the second look as JSON to ``path``."""
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> "SecondLook":
        """Raises OSError (no file) or ValueError (not a second-look file; weights for other features:
        retrain; a bad context). A file that names no context was learned with :data:`DEFAULT_CONTEXT`."""
        d = json.loads(path.read_text(encoding="utf-8"))
        try:
            return cls(float(d["gate"]), int(d["k"]), linear_from_dict(d["slot"], SLOT_FEATURES, "second look"),
                       linear_from_dict(d["rank"], RANK_FEATURES, "second look ranking"), float(d["threshold"]),
                       d.get("meta", {}), _optional_float(d.get("spun_doc_threshold")),
                       Context.from_dict(d.get("context")))
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"{path} is not a second-look file ({type(e).__name__}: {e})") from e
