"""A batch's output formats (``text``, ``json``, ``jsonl``, ``csv``; ``html`` in
:mod:`service.batch_html`), written record by record."""

from __future__ import annotations

import csv
import io
from typing import Literal, TextIO

from pydantic import BaseModel, Field

from service.batch_listing import format_listing, top_spans
from service.batch_outcomes import BatchError, ErrorRecord, Outcome

Format = Literal["text", "json", "jsonl", "csv", "html"]
FORMATS: tuple[str, ...] = ("text", "json", "jsonl", "csv", "html")
#: CSV columns, one row per document.
CSV_COLUMNS = ("path", "score", "label", "words", "spans", "top_spans", "lm", "language", "error")


class Summary(BaseModel):
    """What a batch did (also written at the end of the HTML report)."""

    total: int = Field(0, description="Documents named by the inputs.")
    scored: int = 0
    failed: int = 0
    skipped: int = Field(0, description="Already in the output (--resume).")
    not_english: int = Field(0, description="Scored documents that read as another language than English (their "
                             "reports say nothing about them).")
    empty_folders: list[str] = Field(default_factory=list, description="Folders named that held no document to score.")
    words: int = 0
    seconds: float = 0.0
    failures: list[ErrorRecord] = Field(default_factory=list)


class Writer:
    """Writes outcomes to a text stream, one record at a time, flushing after each."""

    needs_text = False

    def __init__(self, out: TextIO, *, appending: bool = False):
        self.out = out
        self.appending = appending

    def begin(self) -> None:
        """Write what comes before the first record (nothing unless overridden)."""

    def write(self, o: Outcome) -> None:
        """Write one document's record and flush it, so a stopped run keeps every record written."""
        self._write(o)
        self.out.flush()

    def _write(self, o: Outcome) -> None:
        raise NotImplementedError

    def end(self, summary: Summary) -> None:
        """Write what comes after the last record (nothing unless overridden)."""
        self.out.flush()


class TextWriter(Writer):
    """The listing of :func:`format_listing`; error records go to stderr only."""

    needs_text = True

    def _write(self, o: Outcome) -> None:
        if o.report is not None:
            self.out.write(format_listing(o.report, o.text or "") + "\n")


class JsonWriter(Writer):
    """One indented JSON object per document (concatenated); error records compact."""

    def _write(self, o: Outcome) -> None:
        self.out.write(o.json_text(indent=2) + "\n")


class JsonlWriter(Writer):
    """One JSON object per line: a report or an error record."""

    def _write(self, o: Outcome) -> None:
        self.out.write(o.json_text() + "\n")


#: first characters that make a spreadsheet read a cell as a formula
_FORMULA_STARTS = frozenset("=+-@\t\r")


def csv_cell(value: str) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text: one of two characters or more that would
    start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a file named
    ``=HYPERLINK(...)``, a phrase the document wrote) gets a leading apostrophe, as OWASP advises
    against formula injection; one that already starts with apostrophes before such a character
    gets one more, so that :func:`csv_value` gives every value back."""
    if len(value.lstrip("'")) < 2:  # a sign alone is no formula ("-", standard input's name)
        return value
    if value[:1] in _FORMULA_STARTS or (value[:1] == "'" and value.lstrip("'")[:1] in _FORMULA_STARTS):
        return "'" + value
    return value


def csv_value(cell: str) -> str:
    """The value :func:`csv_cell` wrote as ``cell``."""
    if cell[:1] == "'" and len(cell.lstrip("'")) >= 2 and cell.lstrip("'")[:1] in _FORMULA_STARTS:
        return cell[1:]
    return cell


def csv_row(o: Outcome) -> list[str]:
    """The CSV row of one outcome, in :data:`CSV_COLUMNS` order; text cells as :func:`csv_cell` writes them."""
    r = o.report
    if r is None:
        return [csv_cell(o.path), "", "", "", "", "", "", "", csv_cell(o.error or "unknown error")]
    return [csv_cell(o.path), f"{r.score:.4f}", r.label, str(r.stats.words), str(len(r.spans)), csv_cell(top_spans(r)),
            r.lm, r.language.detected or "", ""]


class CsvWriter(Writer):
    """One row per document (:data:`CSV_COLUMNS`); a header unless appending."""

    def begin(self) -> None:
        """Write the header row (not when appending to a resumed output, which has it)."""
        if not self.appending:
            self._row(list(CSV_COLUMNS))

    def _row(self, row: list[str]) -> None:
        buf = io.StringIO()
        csv.writer(buf).writerow(row)
        self.out.write(buf.getvalue())  # one write per row: a crash leaves whole rows or a torn last one
        self.out.flush()

    def _write(self, o: Outcome) -> None:
        self._row(csv_row(o))


def make_writer(fmt: str, out: TextIO, *, appending: bool = False) -> Writer:
    """The writer for ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "html":
        from service.batch_html import HtmlWriter

        return HtmlWriter(out)
    classes = {"text": TextWriter, "json": JsonWriter, "jsonl": JsonlWriter, "csv": CsvWriter}
    if fmt not in classes:
        raise BatchError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return classes[fmt](out, appending=appending)
