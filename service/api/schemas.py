"""Request and response models of the HTTP API (the report itself is :class:`service.report.Report`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.decoding import LONE_SURROGATE
from service.report import Report
from service.restore import MIN_SCORE


def _not_a_boolean(value: object) -> object:
    """``true`` is not a number (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


class ScoreOptions(BaseModel):
    """Per-request overrides of the engine's defaults."""

    model_config = ConfigDict(extra="forbid")

    threshold: float | None = Field(
        None, ge=0.0, le=1.0, allow_inf_nan=False, description="Report spans scoring at least this (default: the calibrated threshold, and in a document "
        "judged spun the second threshold chosen with it; a threshold given here is the only one unless "
        "UNSPIN_SPUN_DOC_THRESHOLD is set)."
    )
    max_suggestions: int | None = Field(None, ge=1, le=50, description="Suggestions kept per span.")
    grammar: bool = Field(True, description="Ask the LanguageTool server too (when one is configured).")
    second_look: bool = Field(
        True, description="Let the causal language model read the doubtful slots again (when the service runs it: "
        "UNSPIN_SECOND_LOOK). False: the answer of the engine without it, at its own threshold, in a fraction of "
        "the time; the report's 'lm' says which models ran."
    )

    _numbers_are_numbers = field_validator("threshold", "max_suggestions", mode="before")(_not_a_boolean)


def _no_lone_surrogate(value: object) -> object:
    """An id is echoed back in UTF-8, which cannot carry a lone surrogate (a JSON ``"\\ud800"``)."""
    if isinstance(value, str) and LONE_SURROGATE.search(value):
        raise ValueError("must not hold a lone surrogate (U+D800-U+DFFF): not a Unicode character")
    return value


class ScoreRequest(BaseModel):
    """One document to score."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., description="The document, as the user has it; offsets in the answer index into it.")
    id: str | None = Field(None, max_length=200, description="Echoed back in the report.")
    options: ScoreOptions = Field(default_factory=ScoreOptions)

    _id_is_text = field_validator("id", mode="before")(_no_lone_surrogate)


class RestoreOptions(ScoreOptions):
    """The options of ``/v1/score``, and how sure a spun span must be to be replaced."""

    min_score: float = Field(
        MIN_SCORE, ge=0.0, le=1.0, allow_inf_nan=False, description="Replace spun spans scoring at least this (default: where a replacement "
        "more likely puts the original back than a wrong word in; 0: every span the report lists)."
    )

    _min_score_is_a_number = field_validator("min_score", mode="before")(_not_a_boolean)


class RestoreRequest(ScoreRequest):
    """One document to restore."""

    options: RestoreOptions = Field(default_factory=RestoreOptions)


class BatchDocument(BaseModel):
    """One document of a batch."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=200)
    text: str

    _id_is_text = field_validator("id", mode="before")(_no_lone_surrogate)


class BatchRequest(BaseModel):
    """Several documents, scored in order with the same options."""

    model_config = ConfigDict(extra="forbid")

    documents: list[BatchDocument] = Field(..., min_length=1)
    options: ScoreOptions = Field(default_factory=ScoreOptions)


class DocumentError(BaseModel):
    """A batch document that could not be scored; it takes the place of its report."""

    id: str | None = None
    index: int = Field(..., description="Position of the document in the request.")
    status: int = Field(..., description="The HTTP status this document alone would have had.")
    error: str = Field(..., description="Why, in plain words.")


class BatchResponse(BaseModel):
    """One entry per document, in request order: its report, or the error that stopped it."""

    results: list[Report | DocumentError]


class RestoreResponse(BaseModel):
    """The likely original of one document and the report it was made from (``POST /v1/restore``)."""

    text: str = Field(..., description="The text with each spun span scoring at least min_score replaced by its first "
                      "suggestion and each word disguised with look-alike letters by its Latin word, the rest as sent "
                      "(what 'unspin restore' writes).")
    replaced: int = Field(..., ge=0, description="How many spans were replaced.")
    report: Report


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class GrammarReadiness(BaseModel):
    """Whether a LanguageTool server is configured and answering."""

    configured: bool
    reachable: bool | None = Field(None, description="None when no server is configured.")
    detail: str = ""


class Readiness(BaseModel):
    """Whether the service can score now, and with what."""

    ready: bool
    lm: str | None = Field(None, description="The language model that will score, once loaded.")
    detail: str = ""
    grammar: GrammarReadiness


class ErrorBody(BaseModel):
    """Every error answer: a status and a reason in plain words."""

    detail: str | list
