"""Scale-out on Ray: the same scoring as :mod:`service.batch`, on a Ray cluster.

Two ways in, both with an actor pool in which every actor loads the engine once:

* :func:`score_on_ray` backs ``unspin score --engine ray [--address auto] PATHS``: the driver
  lists the documents (globs, resume and output formats work as without Ray), a Ray Dataset of
  their names goes through ``map_batches(RayScorer, compute=ActorPoolStrategy(size=N))``, and the outcomes come back
  to the driver in input order to be written there. Paths must be readable by every node (a
  local cluster, or a shared filesystem).
* :func:`pipeline` is a pure Ray Data pipeline for object stores and large archives:
  ``read_binary_files(URIS) -> map_batches(RayScorer) -> write (JSONL files)``; nothing passes
  through the driver. Each output line is a report or an error record, exactly as
  ``unspin score --format jsonl`` writes them.

Ray is an optional extra (``pip install 'unspin[ray]'``); this module is imported only when
used, and imports Ray only inside its functions.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from contextlib import contextmanager
from itertools import chain
from typing import Any, Iterator, Sequence

from service.batch_inputs import Source
from service.batch_outcomes import BatchError, Outcome, score_source
from service.batch_pool import MAX_DEATHS_IN_A_ROW, DiedInARow
from service.config import Settings

_RAY_HINT = "Ray is not installed: pip install 'unspin[ray]' (or pip install 'ray[data]')"


def _ray():
    """Ray, or :class:`BatchError` saying how to install it (a usage error: nothing was scored)."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise BatchError(_RAY_HINT) from None
    return ray


def connect(address: str | None = None) -> None:
    """Join the cluster at ``address`` (``"auto"``: the one this machine belongs to), or, when
    ``address`` is None, at Ray's own ``RAY_ADDRESS`` when that is set (Ray joins it then), else
    start a local one; nothing when this process is already connected.

    Raises:
        BatchError: there is no cluster to join there, or the address is not one.
    """
    ray = _ray()
    if not ray.is_initialized():
        # a batch's stderr holds its errors and summary, not Ray's notes about itself: its own logger
        # and Ray Data's speak of errors only (Ray's logs stay in its session folder)
        given, environ = "--address", os.environ.get("RAY_ADDRESS", "").strip()
        if address is None and environ:
            address, given = environ, "RAY_ADDRESS"
        where = "the Ray cluster this machine belongs to" if address == "auto" else f"a Ray cluster at {address!r}"
        if address is not None and (silent := _unanswered(address)) is not None:
            raise BatchError(f"cannot join {where} ({given}): {silent}")
        try:
            ray.init(address=address, include_dashboard=False, logging_level="error", log_to_driver=False)
        except (ConnectionError, ValueError) as e:  # no cluster running; an address Ray cannot read
            if address is None:
                raise
            raise BatchError(f"cannot join {where} ({given}): {e}") from None
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        _cluster_errors_to_stderr()


def _cluster_errors_to_stderr() -> None:
    """Ray's driver prints the errors its cluster reports (``(raylet) A worker died or was killed …``,
    once an actor dies) on stdout, where the reports go (``--format jsonl`` into a pipe), and may do so
    as late as the process's end: they are printed on stderr instead. (Ray 2.4x-2.6x pass them to
    ``ray._private.worker.print_to_stdstream`` with ``is_err`` false; where that is not so, nothing is
    changed.)"""
    try:
        from ray._private import worker
    except ImportError:  # pragma: no cover - another layout of Ray's
        return
    printed = getattr(worker, "print_to_stdstream", None)
    if printed is None or getattr(printed, "to_stderr", False):
        return

    def on_stderr(data: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        printed({**data, "is_err": True}, *args, **kwargs)

    on_stderr.to_stderr = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = on_stderr


#: Seconds a cluster's ``HOST:PORT`` has to answer before joining it is given up (Ray itself kept trying
#: for minutes, and was still at it when stopped after four).
ANSWER_SECONDS = 10.0


def _unanswered(address: str) -> str | None:
    """Why nothing answers at ``address`` when it is a ``HOST:PORT`` (a cluster's head), or None: it
    answers, or is another kind of address (``auto``, ``ray://…``), left to Ray."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or "/" in host or not port.isdigit():
        return None
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=ANSWER_SECONDS).close()
    except OSError as e:
        return f"nothing answers at {address} ({e.strerror or e})"
    return None


class RayScorer:
    """A Ray Data actor: builds the engine once, then scores batches of documents.

    Input rows are either ``{"name", "path", "data"}`` (from :func:`score_on_ray`; ``path`` is
    read on the actor, ``data`` holds stdin's bytes) or ``{"path", "bytes"}`` (from
    ``read_binary_files(..., include_paths=True)``). Output rows are ``{"path", "outcome",
    "engine_error"}`` with the :class:`service.batch_outcomes.Outcome` as JSON, so reports cross Arrow
    untouched; ``engine_error`` is empty, or why this actor's engine cannot start.

    An engine that cannot start (:class:`service.engine.EngineUnavailable`: a model or a weights
    file that does not load) is kept with its reason: with ``report_start_failure`` every row
    says so in ``engine_error`` (the driver of :func:`score_on_ray` then stops with it, as
    ``unspin score`` does without Ray); without, the batch raises it (the pure pipeline has no
    driver to tell, so its job fails with the reason). So is a start that follows
    :data:`service.batch_pool.MAX_DEATHS_IN_A_ROW` deaths of this actor in a row while it loaded the
    engine (:data:`LOADING_DIED`; ``starts``, from :func:`_start_tally`, counts them), which Ray
    would otherwise restart for ever.
    """

    def __init__(self, settings: Settings, threshold: float | None = None, encoding: str | None = None,
                 keep_text: bool = False, report_start_failure: bool = False, starts: Any = None):
        from service.engine import EngineUnavailable, load_engine

        self.engine, self.start_failure = None, ""
        self.report_start_failure = report_start_failure
        self.threshold, self.encoding, self.keep_text = threshold, encoding, keep_text
        ray = _ray() if starts is not None else None
        me = ray.get_runtime_context().get_actor_id() if ray is not None else None
        if ray is not None and ray.get(starts.begun.remote(me)) >= MAX_DEATHS_IN_A_ROW:
            self.start_failure = LOADING_DIED
            return
        try:
            self.engine = load_engine(settings)
        except EngineUnavailable as e:
            self.start_failure = str(e)
        if ray is not None:
            ray.get(starts.ended.remote(me))

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        from pathlib import Path

        n = len(batch["path"])
        if self.start_failure:
            if not self.report_start_failure:
                raise BatchError(self.start_failure)
            names = [_row_name(batch, i) for i in range(n)]
            failed = [Outcome(path=name, error=self.start_failure).model_dump_json() for name in names]
            return self._rows(batch, names, failed, [self.start_failure] * n)
        names, outcomes = [], []
        for i in range(n):
            if "bytes" in batch:  # read_binary_files
                src = Source(_row_name(batch, i), None, bytes(batch["bytes"][i]))
            else:
                path, error = batch["path"][i], batch["error"][i]
                data = bytes(batch["data"][i]) if batch["has_data"][i] else None
                src = Source(_row_name(batch, i), Path(path) if path else None, data, error or None)
            o = score_source(self.engine, src, threshold=self.threshold, encoding=self.encoding, keep_text=self.keep_text)
            names.append(src.name)
            outcomes.append(o.model_dump_json())
        return self._rows(batch, names, outcomes, [""] * n)

    @staticmethod
    def _rows(batch: dict[str, Any], names: list[str], outcomes: list[str], errors: list[str]) -> dict[str, list]:
        """The output columns; a batch from :func:`score_on_ray` keeps its rows' ``index`` (their place
        in the input), by which the driver tells which document never came back."""
        rows: dict[str, list] = {"path": names, "outcome": outcomes, "engine_error": errors}
        if "index" in batch:
            rows["index"] = [int(i) for i in batch["index"]]
        return rows


def _row_name(batch: dict[str, Any], i: int) -> str:
    """The name row ``i`` of a :class:`RayScorer` batch is reported under: the file's path as Ray
    lists it (``read_binary_files`` rows), or the name the driver gave it."""
    return str(batch["path"][i] if "bytes" in batch else batch["name"][i])


def _default_actors(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


#: How many times a document is scored again after the Ray actor scoring it died: once, so a death
#: by chance (memory taken by the others) costs nothing, and a document that kills every actor it
#: meets gets an error record (:data:`ACTOR_DIED`) instead of restarting actors for ever.
RETRIES_AFTER_DEATH = 1

#: The error record of a document whose actor died each time it was scored.
ACTOR_DIED = ("its Ray actor died while scoring it, and again when it was scored once more (killed, or out of "
              "memory?); --resume scores it again")


#: Why a Ray actor gave up loading the engine (the run stops: :class:`service.batch.WorkerDied`).
LOADING_DIED = (f"Ray actors died (killed, or out of memory?) while loading the engine, {MAX_DEATHS_IN_A_ROW} times "
                "in a row")


def _start_tally(ray):
    """A Ray actor (no CPU of its own) that counts, for each :class:`RayScorer` actor by its id
    (which a restart keeps), the starts since it last finished loading the engine: an actor killed
    while loading it (an engine too large for the memory left) is restarted by Ray for ever."""

    @ray.remote(num_cpus=0)
    class StartTally:
        def __init__(self) -> None:
            self.unfinished: dict[str, int] = {}

        def begun(self, actor: str) -> int:
            """``actor`` begins to load the engine; returns how many of its starts before this one
            ended before it was loaded (it died while loading), in a row."""
            self.unfinished[actor] = died = self.unfinished.get(actor, -1) + 1
            return died

        def ended(self, actor: str) -> None:
            """``actor`` loaded the engine (or found that it cannot start)."""
            self.unfinished.pop(actor, None)

    return StartTally.remote()


def score_on_ray(
    sources: Sequence[Source],
    settings: Settings,
    *,
    actors: int | None = None,
    address: str | None = None,
    threshold: float | None = None,
    encoding: str | None = None,
    keep_text: bool = False,
) -> Iterator[Outcome]:
    """Outcomes for ``sources`` in input order, scored by a pool of ``actors`` Ray actors
    (default: one per CPU of the cluster, at most one per document), one document at a time each.

    An actor that dies (killed, out of memory) is restarted and its document scored again, up to
    :data:`RETRIES_AFTER_DEATH` times; a document whose actor died each time gets an error record
    (:data:`ACTOR_DIED`) and the run goes on, as with ``--jobs`` without Ray.

    Raises:
        BatchError: the engine cannot start on an actor (the reason is the actor's).
        DiedInARow: actors died on :data:`service.batch_pool.MAX_DEATHS_IN_A_ROW` documents in a
            row: they are being killed whatever they score (the batch stops as with ``--jobs``); or an
            actor died so many times in a row while loading the engine (:data:`LOADING_DIED`).
    """
    if not sources:
        return
    ray = _ray()
    connect(address)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False  # the batch door draws its own
    # every column of one type in every row: Ray's tables turn a None among strings or bytes into
    # NaN (standard input has no path; files come without their bytes)
    items = [
        {"index": i, "name": s.name, "path": str(s.path) if s.path is not None else "", "data": s.data or b"",
         "has_data": s.data is not None, "error": s.error or ""}
        for i, s in enumerate(sources)
    ]
    n = min(actors or _default_actors(ray), len(items))
    # one document in hand per actor: an actor's death then takes no other document with it, and a
    # long document holds up none queued behind it
    ds = _scored(ray, ray.data.from_items(items, override_num_blocks=len(items)), actors=n, batch_size=1,
                 in_flight=1, settings=settings, threshold=threshold, encoding=encoding, keep_text=keep_text,
                 report_start_failure=True)
    # a document whose retries ran out is left out of the results (below: an error record), not the end of the run
    ds.context.max_errored_blocks = -1
    at, deaths = 0, 0  # the next document to report; documents just before it whose actors died, in a row
    with _ignored_blocks_unlogged():
        for row in chain(_rows_as_scored(ds), [None]):  # None: past the last row, the documents left have died
            if row is not None and row["engine_error"] == LOADING_DIED:
                raise DiedInARow(LOADING_DIED)
            if row is not None and row["engine_error"]:
                raise BatchError(row["engine_error"])
            while at < (len(sources) if row is None else row["index"]):  # left out: its actors died
                deaths += 1
                if deaths >= MAX_DEATHS_IN_A_ROW:
                    raise DiedInARow(f"Ray actors died (killed, or out of memory?) while scoring {deaths} documents "
                                     "in a row, each scored twice")
                yield Outcome(path=sources[at].name, error=ACTOR_DIED)
                at += 1
            if row is not None:
                at, deaths = at + 1, 0
                yield Outcome.model_validate_json(row["outcome"])


def _rows_as_scored(ds) -> Iterator[dict[str, Any]]:
    """The rows of ``ds``, each as soon as it is scored (in order): ``iter_rows`` held a document's row
    until the next one was scored too, so a document's record was written one document late."""
    for block in ds.iter_batches(batch_size=None, prefetch_batches=0, batch_format="pyarrow"):
        yield from block.to_pylist()


def _scored(ray, ds, *, actors: int, batch_size: int, in_flight: int | None, **scorer: Any):
    """``ds`` through a pool of ``actors`` :class:`RayScorer` actors (``scorer`` their arguments),
    ``in_flight`` batches in hand per actor (None: Ray's default). An actor that dies is restarted
    and its batches scored again :data:`RETRIES_AFTER_DEATH` times (Ray Data's default is for
    ever, so a document that kills its actor each time would hold the run for ever); then the
    batch fails. An actor that died :data:`service.batch_pool.MAX_DEATHS_IN_A_ROW` times in a row while
    loading the engine gives up at its next start (:data:`LOADING_DIED`), counted by a
    :func:`_start_tally` of this dataset's own."""
    with warnings.catch_warnings():
        # Ray 2.60 deprecates passing actor options this way and names no other for these two (the
        # extra's pin stops short of 2.64, which is to remove it)
        warnings.filterwarnings("ignore", message=".*ray_remote_args. is deprecated")
        return ds.map_batches(
            RayScorer,
            fn_constructor_kwargs={**scorer, "starts": _start_tally(ray)},
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=in_flight),
            num_cpus=1,
            max_restarts=-1,
            max_task_retries=RETRIES_AFTER_DEATH,
        )


@contextmanager
def _ignored_blocks_unlogged() -> Iterator[None]:
    """Ray Data logs each block it leaves out after its retries ran out (with the actor's death as a
    traceback) on the batch's stderr; the document's error record says it here instead."""
    class _Filter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "Ignoring this exception" not in record.getMessage()

    logger = logging.getLogger("ray.data._internal.execution.streaming_executor_state")
    only = _Filter()
    logger.addFilter(only)  # a logger's filter sees the records logged on it, before its parents' handlers
    try:
        yield
    finally:
        logger.removeFilter(only)


def _jsonl_sink(output_dir: str):
    from ray.data.datasource import BlockBasedFileDatasink

    class JsonlLines(BlockBasedFileDatasink):
        """Writes each row's outcome as one JSONL line (a report or an error record)."""

        def __init__(self, path: str):
            super().__init__(path, file_format="jsonl")

        def write_block_to_file(self, block, file) -> None:
            lines = [Outcome.model_validate_json(row["outcome"]).json_text()
                     for row in block.iter_rows(public_row_format=True)]
            file.write(("\n".join(lines) + "\n").encode("utf-8") if lines else b"")

    return JsonlLines(output_dir)


def pipeline(
    uris: str | Sequence[str],
    output_dir: str,
    *,
    settings: Settings | None = None,
    actors: int = 1,
    threshold: float | None = None,
    encoding: str | None = None,
    file_extensions: Sequence[str] | None = ("txt", "text", "md"),
    address: str | None = None,
) -> None:
    """Score every file under ``uris`` (local paths or ``s3://``, ``gs://``... URIs that
    ``pyarrow.fs`` reads) and write JSONL files into ``output_dir`` (a folder or URI).

    ``read_binary_files(include_paths=True) -> map_batches(RayScorer, compute=ActorPoolStrategy(size=actors))
    -> write``. A record's ``path`` is the file's path as Ray lists it (without the URI scheme).
    """
    from service.config import get_settings

    ray = _ray()
    connect(address)
    settings = settings or get_settings()
    ds = ray.data.read_binary_files(
        list(uris) if not isinstance(uris, str) else uris,
        include_paths=True,
        file_extensions=list(file_extensions) if file_extensions else None,
    )
    ds = _scored(ray, ds, actors=actors, batch_size=4, in_flight=None, settings=settings, threshold=threshold,
                 encoding=encoding)
    ds.write_datasink(_jsonl_sink(output_dir))


__all__ = ["RayScorer", "connect", "pipeline", "score_on_ray"]
