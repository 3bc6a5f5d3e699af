"""What one document of a batch comes to (a report or an error record), and the error that stops
a batch before it starts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Iterable

from pydantic import BaseModel

from service.batch_inputs import Source, is_large, iter_parts, read_source
from service.decoding import InputError, check_text
from service.report import Report

if TYPE_CHECKING:  # pragma: no cover
    from service.engine import Engine
    from service.second_look import SlotProgress


class BatchError(ValueError):
    """The batch cannot start (bad options, an output file that is not ours, an engine that cannot start);
    nothing was scored."""


class ErrorRecord(BaseModel):
    """What the output holds for a document that could not be scored."""

    path: str
    error: str


class Outcome(BaseModel):
    """The result for one document: a report, or an error; ``text`` when the format shows it."""

    path: str
    report: Report | None = None
    error: str | None = None
    text: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the document was scored (a report, no error)."""
        return self.report is not None

    def record(self) -> dict:
        """The JSON record: the report, or ``{"path", "error"}``."""
        if self.report is not None:
            return self.report.model_dump(mode="json")
        return ErrorRecord(path=self.path, error=self.error or "unknown error").model_dump()

    def json_text(self, indent: int | None = None) -> str:
        """The record as JSON text: the report (``indent``ed when given), or a compact error record."""
        if self.report is not None:
            return self.report.model_dump_json(indent=indent)
        return json.dumps(self.record(), ensure_ascii=False)


def score_source(
    engine: Engine,
    src: Source,
    *,
    threshold: float | None = None,
    encoding: str | None = None,
    keep_text: bool = False,
    progress: SlotProgress | None = None,
) -> Outcome:
    """Read and score one document; any failure becomes an error :class:`Outcome` (never raises).
    ``progress`` wraps the second look's slots (:meth:`service.engine.Engine.score`)."""
    if src.error is not None:
        return Outcome(path=src.name, error=src.error)
    text: str | None = None
    try:
        max_chars = engine.settings.max_chars
        if is_large(src, max_chars):
            parts: Iterable[str] = iter_parts(src, max_chars=max_chars, encoding=encoding)
            if keep_text:
                parts = list(parts)
                text = "".join(parts)
            report = engine.score_parts(parts, path=src.name, threshold=threshold, progress=progress)
        else:
            text = read_source(src, max_chars=max_chars, encoding=encoding)
            report = engine.score(text, path=src.name, threshold=threshold, progress=progress)
    except (InputError, OSError) as e:
        return _failed(src, e)
    except Exception as e:  # noqa: BLE001 - one bad document must not end a batch
        return Outcome(path=src.name, error=f"internal error: {type(e).__name__}: {e}")
    return Outcome(path=src.name, report=report, text=text if keep_text else None)


def _failed(src: Source, e: InputError | OSError) -> Outcome:
    """The error record of a document that cannot be read or scored as it is."""
    return Outcome(path=src.name, error=str(e) if isinstance(e, InputError) else f"cannot read: {e.strerror or e}")


def read_error(src: Source, *, max_chars: int, encoding: str | None = None) -> Outcome | None:
    """The error record :func:`score_source` gives a document that cannot be read or holds no text
    to score (missing, binary, empty...), found without an engine; None when it may be scored (a
    document read in parts is checked as it is scored). A batch looks before it loads the engine:
    a run whose inputs all fail says so at once, without the engine's seconds and gigabyte."""
    if src.error is not None:
        return Outcome(path=src.name, error=src.error)
    try:
        if not is_large(src, max_chars):
            check_text(read_source(src, max_chars=max_chars, encoding=encoding), max_chars)
    except (InputError, OSError) as e:
        return _failed(src, e)
    return None

