"""What the engine computed for one text before it becomes a report: each scored slot
(:class:`SlotResult`) and the text's :class:`Analysis`; how the hits of a list (a user lexicon, a
credit line) are scored and reported (:func:`list_rule`); what :meth:`Engine.score_near` gives
(:class:`NearMisses`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from service.articles import after_its_article, article_for
from service.candidates import Candidate
from service.credits import CREDIT_SCORE, NAME_SCORE, NAME_SOURCE
from service.credits import SOURCE as CREDIT_SOURCE
from service.grammar_signal import GrammarEvidence, boosted
from service.report import Report, Span
from service.text import Sentence

#: A user-lexicon hit scores at least this, whatever the language model says.
LEXICON_SCORE = 0.95


@dataclass
class SlotResult:
    """One scored slot: the words as written, its candidates and their probabilities."""

    sentence: int
    first: int  # index into the sentence's tokens
    last: int  # exclusive
    written: tuple[str, ...]
    candidates: list[Candidate]
    features: np.ndarray  # one row per candidate
    probs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lexicon: str | None = None  # source name when a lexicon entry matched
    grammar: GrammarEvidence | None = None  # a LanguageTool grammar match on or next to the slot
    #: P(the written words were spun) from the fusion's slot model (None: the fusion has none)
    slot_prob: float | None = None
    #: index into the sentence's tokens of the "a"/"an" right before the slot (None: none there)
    article: int | None = None
    #: the list is one the engine makes itself (service.credits), whose rule goes by its name
    builtin: bool = False
    #: per candidate index the second look read, its gain in nats over the written words (None:
    #: the second look did not read the slot)
    second_look_gains: dict[int, float] | None = None

    @property
    def lm_score(self) -> float:
        """The slot model's P(spun) where the fusion has one, else its best candidate's probability."""
        if self.slot_prob is not None:
            return self.slot_prob
        return float(self.probs.max()) if len(self.probs) else 0.0

    @property
    def suggestion_scores(self) -> np.ndarray:
        """Each candidate's score as a suggestion: its probability, or with a slot model the slot's
        P(spun) shared out in proportion to the candidates' probabilities against the best one; a
        slot that grammar evidence raised shares out its raised score alike (the first suggestion
        scores as the span; the order is the fusion's either way)."""
        if (self.slot_prob is None and self.grammar is None) or not len(self.probs):
            return self.probs
        best = float(self.probs.max())
        return self.probs * (boosted(self.lm_score, self.grammar) / best) if best > 0 else self.probs

    @property
    def score(self) -> float:
        """The slot's score: its models' score (``lm_score``), raised to the floor of the list it is on
        (a lexicon or credit-line hit), then by the grammar matches over it (:func:`boosted`)."""
        base = max(self.lm_score, list_rule(self.lexicon, self.builtin).floor) if self.lexicon else self.lm_score
        return boosted(base, self.grammar)


@dataclass
class Analysis:
    """Everything the engine computed for one text, before it becomes a report."""

    text: str
    sentences: list[Sentence]
    slots: list[SlotResult]
    words: int
    #: the document's estimated share of spun slots (None: no prior adaptation; see service.prior)
    spin_prior: float | None = None
    #: whether the second look read its doubtful slots again (its report then takes the threshold
    #: calibrated with it)
    second_look: bool = False
    #: the text as the engine reads it, its page furniture in spaces (:func:`service.pages.without_furniture`:
    #: the same length, the same offsets); None: ``text`` itself
    read: str | None = None

    @property
    def reading(self) -> str:
        """The text as the engine reads it (the sentences' tokens and texts come from it)."""
        return self.text if self.read is None else self.read

    def offsets(self, r: SlotResult) -> tuple[int, int]:
        """Code-point offsets of a slot's words in the text."""
        toks = self.sentences[r.sentence].tokens
        return toks[r.first].start, toks[r.last - 1].end

    def best_slot(self, start: int, end: int) -> SlotResult | None:
        """The highest-scoring slot with candidates whose words overlap ``[start, end)`` (None: no
        such slot: the words there are not ones the engine proposes anything for)."""
        best = None
        for r in self.slots:
            a, b = self.offsets(r)
            if a < end and start < b and len(r.features) and (best is None or r.score > best.score):
                best = r
        return best

    def written_article(self, r: SlotResult) -> tuple[int, str] | None:
        """The "a"/"an" right before slot ``r``: its start offset and its text as written; None
        when there is none."""
        if r.article is None:
            return None
        art = self.sentences[r.sentence].tokens[r.article]
        return art.start, self.text[art.start : art.end]

    def replacement(self, r: SlotResult, j: int) -> tuple[int, int, str]:
        """Where candidate ``j`` of slot ``r`` goes and what it writes there: over the slot's words,
        or, for a candidate that takes the other "a"/"an" than the one written before them, over the
        article too, with the article it takes in the written one's case ("an essential" -> "a
        critical"), as the suggestions of a span that takes its article in are written (with what
        stands between them in the text as read: page furniture left out)."""
        start, end = self.offsets(r)
        c = r.candidates[j]
        art = self.written_article(r)
        if art is None or not c.tokens or article_for(c.text) == art[1].lower():
            return start, end, c.shown
        return art[0], end, after_its_article(art[1], c.shown, self.reading[art[0] + len(art[1]) : start])


@dataclass(frozen=True)
class NearMisses:
    """What :meth:`Engine.score_near` gives: the report, the engine's best span over each phrase
    asked about (``None``: no slot there) and the lowest score the report lists spun spans at."""

    report: Report
    near: list[Span | None]
    listed_from: float


@dataclass(frozen=True)
class ListRule:
    """How the hits of a list are scored and reported: a user lexicon's entries, or a credit
    line's suspect role words and names (:mod:`service.credits`), which take the same path."""

    floor: float  # a hit's span scores at least this
    always: bool  # reported whatever the threshold
    source: str  # the signal's name in a span's ``sources``
    suggestion_score: float  # the score each of its originals is listed with


_USER_LEXICON = ListRule(LEXICON_SCORE, always=True, source="lexicon", suggestion_score=1.0)
_CREDIT_LINE = ListRule(CREDIT_SCORE, always=False, source=CREDIT_SOURCE, suggestion_score=CREDIT_SCORE)
_CREDIT_NAME = ListRule(NAME_SCORE, always=False, source=CREDIT_SOURCE, suggestion_score=NAME_SCORE)
_CREDIT_RULES = {CREDIT_SOURCE: _CREDIT_LINE, NAME_SOURCE: _CREDIT_NAME}


def list_rule(source: str, builtin: bool = False) -> ListRule:
    """The rule for the hits of the list named ``source`` (a slot's ``lexicon``): a credit-line
    rule only for the engine's own hits (``builtin``); a user's list, whatever its file is called
    ("credit-line.tsv"), is always a user lexicon."""
    return _CREDIT_RULES.get(source, _USER_LEXICON) if builtin else _USER_LEXICON
