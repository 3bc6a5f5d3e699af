"""Scoring a batch's documents in this process or in a process pool (one engine per worker, loaded
by the pool's initializer); results come back in input order, and a worker that dies costs one
document an error record, not the run."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import BrokenExecutor, Executor
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from service.batch_inputs import Source
from service.batch_outcomes import BatchError, Outcome, read_error, score_source
from service.config import Settings

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import ProcessPoolExecutor

    from service.second_look import SlotProgress


_WORKER: dict = {}


#: Seconds between a worker's looks at whether the process that started it is still there.
PARENT_CHECK_SECONDS = 1.0


def _exit_with_parent(parent: int) -> None:
    """End this worker process as soon as its parent, process ``parent``, is gone (killed with
    SIGKILL, say): nothing could use its results, and it would hold its engine's memory forever.
    A daemon thread looks every :data:`PARENT_CHECK_SECONDS`."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="unspin-parent-watch", daemon=True).start()


def _init_worker(
    parent: int, settings: Settings, threshold: float | None, encoding: str | None, keep_text: bool, workers: int = 1
) -> None:
    """Process-pool initializer: exit with the ``parent`` process (see :func:`_exit_with_parent`),
    take this worker's share of the cores among ``workers`` (:mod:`service.threads`), and load the
    engine once for this worker (an engine that cannot start is reported by the worker's first
    document, since an initializer's error only breaks the pool)."""
    _exit_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if workers > 1:
        from service import threads

        threads.limit(threads.per_process(workers))
    from service.engine import EngineUnavailable, load_engine

    try:
        _WORKER.update(engine=load_engine(settings), threshold=threshold, encoding=encoding, keep_text=keep_text)
    except EngineUnavailable as e:
        _WORKER.update(error=str(e))


def _score_in_worker(src: Source) -> Outcome:
    w = _WORKER
    if "error" in w:
        raise BatchError(w["error"])
    return score_source(w["engine"], src, threshold=w["threshold"], encoding=w["encoding"], keep_text=w["keep_text"])


def ordered_map(executor: Executor, fn: Callable, items: Iterable, ahead: int) -> Iterator:
    """``fn`` over ``items`` on ``executor``, results in input order, at most ``ahead`` in flight."""
    pending: deque = deque()
    for item in items:
        pending.append(executor.submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def score_local(
    sources: Sequence[Source],
    settings: Settings,
    *,
    jobs: int = 1,
    threshold: float | None = None,
    encoding: str | None = None,
    keep_text: bool = False,
    progress: SlotProgress | None = None,
) -> Iterator[Outcome]:
    """Outcomes for ``sources`` in order: in this process (``jobs == 1``, or one document) or in a
    process pool. ``progress`` wraps each document's second look in this process (see
    :func:`second_look_bar`); the pool's workers show none. The documents before the first that
    can be read are answered (:func:`~service.batch_outcomes.read_error`) before an engine or a
    pool is started, none when there is no such document."""
    for n, src in enumerate(sources):  # the first that can be read is read twice: a small cost
        failed = read_error(src, max_chars=settings.max_chars, encoding=encoding)
        if failed is None:
            sources = sources[n:]
            break
        yield failed
    else:
        return
    if jobs <= 1 or len(sources) <= 1:
        from service.engine import EngineUnavailable, load_engine

        try:
            engine = load_engine(settings)
        except EngineUnavailable as e:
            raise BatchError(str(e)) from e
        for src in sources:
            yield score_source(engine, src, threshold=threshold, encoding=encoding, keep_text=keep_text,
                               progress=progress)
        return

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    def pool_of(workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a process holding torch threads
            initializer=_init_worker,
            initargs=(os.getpid(), settings, threshold, encoding, keep_text, workers),
        )

    yield from _pooled(sources, pool_of, jobs)


#: Documents in a row whose worker process died while scoring them alone, after which a run stops
#: (:class:`WorkerDied`): past that, the workers are being killed whatever they score (an engine too
#: large for the memory left, or someone ending them), not by one document.
MAX_DEATHS_IN_A_ROW = 3


class DiedInARow(BrokenExecutor):
    """Worker processes of ``--jobs`` (or Ray actors) died :data:`MAX_DEATHS_IN_A_ROW` times in a row;
    the message says while doing what. :func:`run` ends the batch with it (:class:`WorkerDied`)."""


#: Why a run whose ``--jobs`` workers died scoring :data:`MAX_DEATHS_IN_A_ROW` documents in a row stopped.
WORKERS_DIED = (f"worker processes died (killed, or out of memory?) while scoring {MAX_DEATHS_IN_A_ROW} documents "
                "in a row, each alone")


def _pooled(sources: Sequence[Source], pool_of: Callable[[int], ProcessPoolExecutor], jobs: int) -> Iterator[Outcome]:
    """Outcomes for ``sources`` in order, scored on pools ``pool_of(workers)`` makes, ``jobs`` workers each.

    A worker process that dies (killed, out of memory) breaks its pool, and every document the pool
    held and had not finished with it. Which of them killed its worker is not known, so those
    documents, at most ``2 * jobs`` of them, are scored again one at a time on a pool of one worker:
    a document whose worker dies there too gets an error record saying so (``--resume`` scores it
    again), the others their reports; then the run goes on with ``jobs`` workers. After
    :data:`MAX_DEATHS_IN_A_ROW` documents in a row died alone the run stops: :class:`DiedInARow`.
    """
    ahead = 2 * jobs
    at = 0  # the first document without an outcome yet
    deaths = 0
    while at < len(sources):
        pool = pool_of(min(jobs, len(sources) - at))
        finished = False
        try:
            for outcome in ordered_map(pool, _score_in_worker, sources[at:], ahead=ahead):
                at += 1
                deaths = 0
                yield outcome
            finished = True
        except BrokenExecutor:
            pass  # the documents from ``at`` on were still in the broken pool: below
        finally:
            if not finished:  # broken, or stopped early (Ctrl-C, SIGTERM): the documents in hand are lost
                _stop_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
        if finished:
            return
        # the pool held at most ``ahead`` documents unfinished, the first of them ``at``
        alone = pool_of(1)
        try:
            for src in sources[at:at + ahead]:
                try:
                    outcome = alone.submit(_score_in_worker, src).result()
                    deaths = 0
                except BrokenExecutor:
                    deaths += 1
                    if deaths >= MAX_DEATHS_IN_A_ROW:
                        raise DiedInARow(WORKERS_DIED) from None
                    alone.shutdown(wait=True, cancel_futures=True)
                    alone = pool_of(1)
                    outcome = Outcome(path=src.name, error=WORKER_DIED)
                at += 1
                yield outcome
        finally:
            _stop_workers(alone)
            alone.shutdown(wait=True, cancel_futures=True)


#: The error record of a document whose worker process died while scoring it alone.
WORKER_DIED = "its worker process died while scoring it alone (killed, or out of memory?); --resume scores it again"


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the worker processes of ``pool`` now, rather than wait for the documents they are
    scoring (minutes with the second look), whose results nobody would read."""
    for proc in list((pool._processes or {}).values()):  # no public way before Python 3.14's terminate_workers
        proc.terminate()
