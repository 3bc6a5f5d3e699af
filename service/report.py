"""The report: the one contract shared by the engine, the CLI, the HTTP API and the web page.

All offsets are Unicode code-point offsets into the text exactly as received (after decoding),
so ``text[span.start:span.end] == span.text`` always holds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SpanKind = Literal["spun", "grammar", "typo", "formatting"]
DocLabel = Literal["clean", "suspicious", "spun"]

#: The evidence key of a spun span listed only because its document was judged spun (the value:
#: the second, lower threshold it met); such spans do not count towards the document's verdict.
SPUN_DOC_EVIDENCE = "spun_doc_threshold"
#: How the listings say so.
SPUN_DOC_REASON = "shown because the document reads as spun"


class Suggestion(BaseModel):
    """A likely original wording; it replaces exactly ``text[start:end]`` of its span."""

    text: str
    score: float = Field(..., ge=0.0, le=1.0, description="Relative confidence among this span's suggestions.")


class Span(BaseModel):
    """A suspicious stretch of text with ranked suggestions and the evidence behind them."""

    start: int = Field(..., ge=0, description="Code-point offset of the first character.")
    end: int = Field(..., ge=0, description="Code-point offset one past the last character.")
    text: str = Field(..., description="Exactly text[start:end].")
    kind: SpanKind = "spun"
    score: float = Field(..., ge=0.0, le=1.0, description="Calibrated probability that the span is spun/garbled.")
    suggestions: list[Suggestion] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list, description="Signals that fired: 'lm', 'lexicon', 'credit-line', 'grammar', 'look-alike'.")
    evidence: dict[str, float | str] = Field(default_factory=dict, description="Feature values behind the score.")

    @property
    def by_document_verdict(self) -> bool:
        """Whether the span is listed only because its document was judged spun (the second,
        lower threshold: :data:`SPUN_DOC_EVIDENCE` in its evidence)."""
        return SPUN_DOC_EVIDENCE in self.evidence


class SentenceScore(BaseModel):
    """One sentence (or heading/caption line) and how likely it was spun or garbled."""

    start: int = Field(..., ge=0)
    end: int = Field(..., ge=0)
    score: float = Field(..., ge=0.0, le=1.0)
    garble: float = Field(
        0.0, ge=0.0, le=1.0, description="How likely the sentence is garbled (word salad, literal translation, "
        "dropped function words): language-model fluency normalised for length and word rarity, plus "
        "grammar-error density when grammar was checked.",
    )


class GrammarStatus(BaseModel):
    """Whether a grammar checker ran; when it did not, ``reason`` says why. When it ran but did not
    check all of the text (``complete`` false), ``reason`` says what is missing and why."""

    checked: bool = False
    reason: str = Field(
        "no LanguageTool server configured (UNSPIN_LANGUAGETOOL_URL)",
        description="Empty when checked completely; else why the text was not checked, or why not all of it was "
        "(LanguageTool's own reason when its results are incomplete; which parts of a long document were not checked).",
    )
    server: str | None = Field(None, description="The LanguageTool server asked (URL or 'local LanguageTool X.Y').")
    matches: int | None = Field(None, description="How many LanguageTool matches the check found (when checked).")
    complete: bool | None = Field(
        None, description="When checked: whether all of the text was checked (false: LanguageTool said its results "
        "are incomplete, e.g. it hit its own time limit, or some parts of a long document were not checked; the "
        "matches found are still real). Null when not checked.",
    )

    @property
    def incomplete(self) -> bool:
        """Checked, but not all of the text: the matches are real, some may be missing (``reason`` says why)."""
        return self.checked and self.complete is False


class LanguageStatus(BaseModel):
    """Which language the text reads as (:mod:`service.language`). unspin's models read English
    only: when ``english`` is false, the text was not read, whatever its label says, and ``reason``
    says so."""

    english: bool = Field(True, description="False when the text reads as another language: its report then says nothing about it.")
    detected: str | None = Field(
        None, description="ISO 639 code of the language identified (at confidence 0.9 or more over 40 letters or more; "
        "at any confidence, as the language the text reads most like, when most of its letters are not Latin letters); "
        "null: none was (a short text, a table, languages mixed).",
    )
    name: str | None = Field(None, description="That language's English name, e.g. 'French'.")
    confidence: float | None = Field(None, ge=0.0, le=1.0, description="The identifier's probability for it.")
    reason: str | None = Field(None, description="When not English: what the report's user should know.")


class Stats(BaseModel):
    """Size of the document and time spent on it."""

    words: int = 0
    sentences: int = 0
    seconds: float = 0.0


class Report(BaseModel):
    """Everything unspin found in one document."""

    id: str | None = None
    path: str | None = None
    score: float = Field(..., ge=0.0, le=1.0, description="How likely the document was spun, from its spun spans at the threshold "
                       "(garbled sentences and grammar matches do not move it).")
    label: DocLabel
    lm: str = Field(..., description="Which language models produced the scores, e.g. 'ngram:cmu-en-us', or "
                    "'ngram:cmu-en-us+causal:smollm2-135m' with the second look.")
    grammar: GrammarStatus = Field(default_factory=GrammarStatus)
    language: LanguageStatus = Field(default_factory=LanguageStatus)
    stats: Stats = Field(default_factory=Stats)
    sentences: list[SentenceScore] = Field(default_factory=list)
    spans: list[Span] = Field(default_factory=list)
