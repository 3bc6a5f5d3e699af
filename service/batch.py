"""Batch scoring, the door for many documents: inputs -> reports -> outputs (:func:`run`).

* **Inputs** (:mod:`service.batch_inputs`): files, folders and ``-`` (stdin), each document once,
  read and decoded (a large file in parts cut at paragraph breaks, so memory stays bounded). A
  folder that yields no document is reported on stderr and in :attr:`service.batch_writers.Summary.empty_folders`.
* **Scoring** (:mod:`service.batch_outcomes`, :mod:`service.batch_pool`): in this process, in a
  process pool (``jobs > 1``; one engine per worker) or on Ray (:mod:`service.ray_batch`). Results
  always come back in input order. A document that cannot be read, decoded or scored becomes an
  error record (``{"path", "error"}``) and the run goes on.
* **Outputs** (:mod:`service.batch_writers`, :mod:`service.batch_html`): ``text`` (the listing,
  :mod:`service.batch_listing`), ``json``, ``jsonl``, ``csv``, ``html``; written record by record
  and flushed, to stdout or atomically to a file (see :func:`run`). ``--resume`` (jsonl, csv;
  :mod:`service.batch_resume`) skips documents already in the output; the finished output is in
  input order.

The door only calls ``Engine.score``; it never computes a score itself.
"""

from __future__ import annotations

import io
import signal
import sys
import threading
import time
from concurrent.futures import BrokenExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Generator, Iterable, Iterator, Literal, Sequence, TextIO

from pydantic import BaseModel, Field

from service.batch_inputs import Source, collect_inputs, display_name, input_at, no_documents_message, one_line
from service.batch_outcomes import BatchError, ErrorRecord, Outcome
from service.batch_pool import WORKERS_DIED, DiedInARow, score_local
from service.batch_resume import RESUMABLE, finish_output, holds_reports, output_problem, part_path, prepare_resume
from service.batch_writers import Format, Summary, Writer, make_writer
from service.config import Settings
from service.progress import shown as progress_shown

if TYPE_CHECKING:  # pragma: no cover
    from service.second_look import SlotProgress


class BatchOptions(BaseModel):
    """Everything ``unspin score`` passes to :func:`run`."""

    paths: list[str]
    format: Format = "text"
    output: Path | None = None
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    resume: bool = False
    jobs: int | None = Field(None, ge=1, description="Worker processes (local) or actors (ray); None: 1 locally, all CPUs on Ray.")
    encoding: str | None = Field(None, description="Fallback encoding for bytes that are not UTF-8.")
    threshold: float | None = Field(None, ge=0.0, le=1.0)
    engine: Literal["local", "ray"] = "local"
    address: str | None = Field(None, description="Ray cluster address ('auto': the running cluster); None: start a local one.")
    progress: bool | None = Field(None, description="Show progress on stderr (a bar on a terminal, else a line now and then: service.progress); None: when stderr is a terminal.")


class Interrupted(Exception):
    """The batch stopped early (Ctrl-C or SIGTERM, ``signum``); ``summary`` says how far it got."""

    def __init__(self, summary: Summary, where: str, signum: int = signal.SIGINT):
        super().__init__(f"interrupted after {summary.scored + summary.failed} documents; {where}")
        self.summary = summary
        self.where = where
        self.signum = signum


class WorkerDied(Exception):
    """Worker processes of ``--jobs`` died while scoring :data:`MAX_DEATHS_IN_A_ROW` documents in a row,
    each alone (see :func:`_pooled`), or Ray actors died so (:mod:`service.ray_batch`): the batch stops
    as an interrupted one does; ``why`` says which died and how, ``summary`` how far it got."""

    def __init__(self, summary: Summary, where: str, why: str = WORKERS_DIED):
        super().__init__(f"{why}; stopped after {summary.scored + summary.failed} documents; {where}")
        self.summary = summary
        self.where = where
        self.why = why


class OutputFailed(Exception):
    """The output could not be written (a full disk, a file system gone read-only): the batch stops
    as an interrupted one does; ``why`` says what could not be written, ``summary`` how far it got."""

    def __init__(self, summary: Summary, where: str, why: str):
        super().__init__(f"{why}; stopped after {summary.scored + summary.failed} documents; {where}")
        self.summary = summary
        self.where = where
        self.why = why


class _CannotWrite(Exception):
    """An ``OSError`` of the writer (not a closed pipe, which the command line ends quietly); its
    message is the system's reason."""

    def __init__(self, error: OSError, path: Path | None = None):
        super().__init__(error.strerror or str(error))
        #: the file that could not be written, when it is not the one the writer writes (the
        #: output itself, which a run makes from a whole FILE.part at its end)
        self.path = path


class _GuardedWriter:
    """A :class:`Writer` whose write errors are told apart from the batch's other errors."""

    def __init__(self, writer: Writer):
        self.writer = writer
        self.needs_text = writer.needs_text

    def _call(self, method: Callable[..., None], *args: object) -> None:
        try:
            method(*args)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _CannotWrite(e) from e

    def begin(self) -> None:
        self._call(self.writer.begin)

    def write(self, o: Outcome) -> None:
        self._call(self.writer.write, o)

    def end(self, summary: Summary) -> None:
        self._call(self.writer.end, summary)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived during :func:`run`: it stops the batch as Ctrl-C does (see :func:`sigterm_stops`)."""


@contextmanager
def sigterm_stops() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt), so that it stops
    a batch as Ctrl-C does: workers stopped, ``OUTPUT.part`` kept. Only the main thread can take
    signals; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _stops_before_scoring() -> Iterator[None]:
    """Within the block (inputs read, an output to resume read), Ctrl-C or SIGTERM stops the run as
    it does while scoring: :class:`Interrupted`, with nothing scored (it had been click's "Aborted!",
    exit 1)."""
    try:
        with sigterm_stops():
            yield
    except KeyboardInterrupt as stopped:
        signum = signal.SIGTERM if isinstance(stopped, Terminated) else signal.SIGINT
        raise Interrupted(Summary(), "nothing was scored", signum) from None


def _input_name(src: Source) -> str:
    """How a clash with an output names the input."""
    return one_line(src.name) if src.path is not None else "-, standard input"


def _left_where(part: Path | None, fmt: str) -> str:
    """Where a run that stopped early left what it wrote: ``OUTPUT.part`` (and how to go on), or
    standard output."""
    if part is None:
        return "the output above is incomplete"
    return f"the documents done so far are in {part}" + (
        "; run the same command with --resume to continue" if fmt in RESUMABLE else "")


def run(
    options: BatchOptions,
    settings: Settings,
    *,
    stdin: io.BufferedIOBase | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> Summary:
    """Score every input and write the outputs; returns what happened.

    Without ``output`` records go to ``stdout``. With it they go to ``OUTPUT.part``, flushed
    after every document, which becomes ``OUTPUT`` when the run completes (also when some
    documents failed; a resumed run's records put in input order, see :func:`finish_output`):
    ``OUTPUT`` is never half-written. A run stopped by Ctrl-C, SIGTERM (see :func:`sigterm_stops`)
    or a crash leaves ``OUTPUT.part`` holding whole records (at most the last one torn);
    ``resume`` continues from it (see :func:`prepare_resume`).

    Raises:
        BatchError: bad options, such as an empty path, or an output that cannot be written or
            resumed (nothing was scored).
        Interrupted: on Ctrl-C or SIGTERM; ``OUTPUT.part`` is kept for ``--resume``.
        WorkerDied: worker processes of ``jobs`` died (killed, out of memory) scoring
            :data:`MAX_DEATHS_IN_A_ROW` documents in a row, each alone, or Ray actors died so many
            times in a row (scoring, or loading the engine); the same. A document whose worker died
            scoring it alone, fewer times in a row, is an error record (see :func:`_pooled`).
    """
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    fmt = options.format
    if any(not p for p in options.paths):
        raise BatchError("an empty path names no file; to score the current folder, name it '.'")
    if options.output is not None and (problem := output_problem(options.output)) is not None:
        raise BatchError(f"cannot write {display_name(options.output)}: {problem}")
    if options.resume and options.output is None:
        raise BatchError("--resume needs --output FILE: it continues that file")
    if options.output is not None and not options.resume and holds_reports(part_path(options.output), fmt):
        shown = display_name(part_path(options.output))
        raise BatchError(f"{shown} holds the reports of a run that stopped early: add --resume to go on from "
                         f"them, or delete {shown} to start again")
    if options.resume and fmt not in RESUMABLE:
        raise BatchError(f"--resume works with --format {' or '.join(RESUMABLE)}, not {fmt}")
    if options.engine == "ray":
        for p in options.paths:
            if "://" in p:
                raise BatchError(
                    f"{p}: '--engine ray' scores local or shared-filesystem paths; for object-store URIs "
                    "use the Ray Data pipeline service.ray_batch.pipeline (see the README)"
                )

    with _stops_before_scoring():  # standard input read to its end, folders walked
        sources, empty = collect_inputs(options.paths, options.include, options.exclude, stdin=stdin,
                                        max_chars=settings.max_chars)
    paths = [src.path for src in sources]
    if options.output is not None and (i := input_at(options.output, paths, stdin)) is not None:
        raise BatchError(f"--output {display_name(options.output)} is also an input ({_input_name(sources[i])}): it "
                         "would be overwritten by the reports; write them elsewhere")
    if options.output is not None and (i := input_at(part_path(options.output), paths, stdin)) is not None:
        shown = _input_name(sources[i])
        raise BatchError(f"the run's partial output {display_name(part_path(options.output))} is also an input "
                         f"({shown}): the reports would be written into a document being scored; write them "
                         "outside the folders scored, or leave it out with --exclude '*.part'")
    if options.resume and (twins := _shared_name(sources)) is not None:
        raise BatchError(f"--resume tells documents apart by the name their records give them, and two inputs "
                         f"are both named '{one_line(twins)}' (a file name with bytes that are not UTF-8 is shown with "
                         "\\xNN escapes); rename one, or score them in separate runs")
    done: set[str] = set()
    appending = False
    part: Path | None = None
    out: TextIO = stdout
    if options.output is not None:
        part = part_path(options.output)
        try:
            if options.resume:
                with _stops_before_scoring():
                    done, appending = prepare_resume(options.output, fmt)
            out = open(part, "a" if appending else "w", encoding="utf-8", newline="")
        except OSError as e:
            failed = Path(e.filename) if isinstance(e.filename, str) else part
            raise BatchError(f"cannot write {display_name(failed)}: {e.strerror or e}") from None
    todo = [s for s in sources if s.name not in done]
    summary = Summary(total=len(sources), skipped=len(sources) - len(todo), empty_folders=empty)
    for folder in empty:  # before any record: a typo in a path or a glob shows at once
        print(f"{one_line(folder)}: error: {no_documents_message(options.include, options.exclude)}", file=stderr, flush=True)
    writer = _GuardedWriter(make_writer(fmt, out, appending=appending))
    show = progress_shown(stderr, options.progress)
    t0 = time.perf_counter()
    completed = refused = False
    try:
        with sigterm_stops():
            writer.begin()
            slots = second_look_bar(stderr) if show else None
            with closing(_outcomes(todo, settings, options, keep_text=writer.needs_text, progress=slots)) as outcomes:
                _consume(outcomes, writer, summary, stderr, show=show and len(todo) > 1)
            summary.seconds = round(time.perf_counter() - t0, 3)
            writer.end(summary)
            if part is not None:
                try:  # the last records may still be in the buffer: a full disk can refuse them here
                    out.close()
                except OSError as e:
                    raise _CannotWrite(e) from e
                try:
                    finish_output(part, options.output, fmt, [s.name for s in sources] if appending else None)
                except OSError as e:  # FILE.part is whole: --resume finishes it
                    raise _CannotWrite(e, options.output) from e
            completed = True
    except (KeyboardInterrupt, BrokenExecutor) as stopped:
        summary.seconds = round(time.perf_counter() - t0, 3)
        where = _left_where(part, fmt)
        if isinstance(stopped, BrokenExecutor):
            raise WorkerDied(summary, where, str(stopped) if isinstance(stopped, DiedInARow) else WORKERS_DIED) from None
        signum = signal.SIGTERM if isinstance(stopped, Terminated) else signal.SIGINT
        raise Interrupted(summary, where, signum) from None
    except _CannotWrite as e:
        summary.seconds = round(time.perf_counter() - t0, 3)
        name = display_name(e.path or part) if part is not None else "standard output"
        raise OutputFailed(summary, _left_where(part, fmt), f"cannot write {name}: {e}") from None
    except BatchError:  # the engine cannot start (on Ray's actors), no Ray cluster to join: nothing was scored
        refused = True
        raise
    finally:
        if part is not None and not completed:
            try:
                out.close()  # what reached the disk stays in FILE.part, for --resume
            except OSError:  # the bytes still buffered (a full disk): said above, by OutputFailed
                pass
            if refused and not appending and not (summary.scored or summary.failed):
                part.unlink(missing_ok=True)  # this run's own FILE.part, with no record to resume from
    return summary


def _shared_name(sources: Sequence[Source]) -> str | None:
    """The first name two of ``sources`` share (two files whose names :func:`display_name` shows
    alike), or None."""
    seen: set[str] = set()
    for src in sources:
        if src.name in seen:
            return src.name
        seen.add(src.name)
    return None


def _outcomes(
    todo: list[Source], settings: Settings, options: BatchOptions, *, keep_text: bool, progress: SlotProgress | None
) -> Generator[Outcome, None, None]:
    if options.engine == "ray":
        from service.ray_batch import score_on_ray

        return score_on_ray(
            todo, settings, actors=options.jobs, address=options.address,
            threshold=options.threshold, encoding=options.encoding, keep_text=keep_text,
        )
    return score_local(
        todo, settings, jobs=options.jobs or 1, threshold=options.threshold, encoding=options.encoding,
        keep_text=keep_text, progress=progress,
    )


def second_look_bar(stderr: TextIO) -> SlotProgress:
    """A progress bar on ``stderr`` over the slots the second look reads in one text, for
    :meth:`service.engine.Engine.score`'s ``progress``: a document of a thousand words may take
    minutes there, where a bar per document would stand still. It is cleared when the text is done
    (under the documents' bar, when one is shown); a text with no slot to read shows none."""
    from service.progress import bar

    def wrap(slots: Sequence) -> Iterable:
        if not slots:
            return slots
        return bar(slots, desc="second look", unit="slot", stream=stderr, show=True, leave=False)

    return wrap


def _consume(outcomes: Iterator[Outcome], writer: _GuardedWriter, summary: Summary, stderr: TextIO, *, show: bool) -> None:
    """Write every outcome, count it, report errors on stderr, drive the progress bar."""
    from service.progress import bar as progress_bar
    from service.progress import is_terminal

    total = summary.total - summary.skipped
    first_at, first_words = 0.0, 0  # words/s counts from the first result on (not the engine's load)
    redrawn = show and is_terminal(stderr)  # a bar drawn in place, which a message must not break into
    with progress_bar(total=total, unit="doc", stream=stderr, show=show, desc="scoring") as bar:
        for o in outcomes:
            writer.write(o)
            if o.ok:
                summary.scored += 1
                summary.words += o.report.stats.words
                summary.not_english += not o.report.language.english
            else:
                summary.failed += 1
                summary.failures.append(ErrorRecord(path=o.path, error=o.error or ""))
                msg = f"{one_line(o.path)}: error: {o.error}"
                if redrawn:
                    bar.write(msg, file=stderr)
                else:
                    print(msg, file=stderr, flush=True)
            now = time.perf_counter()
            if not first_at:
                first_at, first_words = now, summary.words
            elif now > first_at:
                bar.set_postfix_str(f"{(summary.words - first_words) / (now - first_at):,.0f} words/s", refresh=False)
            bar.update(1)


def summary_line(summary: Summary) -> str:
    """One line for stderr: what was scored, skipped and failed."""
    parts = [f"{summary.scored} of {summary.total} documents scored ({summary.words:,} words)"]
    if summary.not_english:
        n = summary.not_english
        parts.append(f"{n} not in English ({'its report says' if n == 1 else 'their reports say'} nothing about "
                     f"{'it' if n == 1 else 'them'})")
    if summary.skipped:
        parts.append(f"{summary.skipped} already in the output (skipped)")
    if summary.failed:
        parts.append(f"{summary.failed} of {summary.total} documents failed")
    if summary.empty_folders:
        n = len(summary.empty_folders)
        parts.append(f"{n} {'folder' if n == 1 else 'folders'} without documents to score")
    return "; ".join(parts)


__all__ = [
    "BatchOptions",
    "Interrupted",
    "Terminated",
    "WorkerDied",
    "run",
    "second_look_bar",
    "sigterm_stops",
    "summary_line",
]
