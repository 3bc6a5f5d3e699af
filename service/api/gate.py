"""Admission control: run scoring off the event loop, a bounded number at a time, and refuse
(rather than queue forever) when too many requests are already waiting."""

from __future__ import annotations

import functools
import math
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


class Busy(Exception):
    """Every slot is taken and the waiting line is full; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the service is busy; retry after {retry_after} s")
        self.retry_after = retry_after


class Gate:
    """At most ``concurrency`` calls run at once in worker threads; at most ``queue_size`` wait.

    The engine is CPU-bound Python, so the event loop only ever awaits; the work itself runs in
    threads. One event loop owns a gate, so its counters need no lock.
    """

    def __init__(self, concurrency: int, queue_size: int) -> None:
        self.concurrency = concurrency
        self.capacity = concurrency + queue_size
        self.pending = 0  # running + waiting
        self._limiter: anyio.CapacityLimiter | None = None
        self._avg_seconds = 1.0  # moving average of one call, for Retry-After

    def retry_after(self) -> int:
        """A fair guess at when a slot frees up: the waiting line's length times one call's time."""
        waves = max(1, self.pending - self.concurrency + 1) / self.concurrency
        return max(1, math.ceil(waves * self._avg_seconds))

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Hold a place (running or waiting) for the length of the block.

        Raises:
            Busy: when ``concurrency + queue_size`` places are already taken.
        """
        if self.pending >= self.capacity:
            raise Busy(self.retry_after())
        self.pending += 1
        try:
            yield
        finally:
            self.pending -= 1

    async def in_thread(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` in a worker thread once one of the ``concurrency`` slots is free."""
        if self._limiter is None:  # created lazily: it belongs to the running event loop
            self._limiter = anyio.CapacityLimiter(self.concurrency)
        call = functools.partial(fn, *args, **kwargs)

        def timed() -> tuple[T, float]:  # the call alone: time spent waiting for a slot had counted too
            t0 = time.perf_counter()
            return call(), time.perf_counter() - t0

        result, seconds = await anyio.to_thread.run_sync(timed, limiter=self._limiter)
        self._avg_seconds = 0.8 * self._avg_seconds + 0.2 * seconds
        return result

    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Admit, then run ``fn(*args, **kwargs)`` in a worker thread (:meth:`admit`, :meth:`in_thread`).

        Raises:
            Busy: when ``concurrency + queue_size`` calls are already running or waiting.
        """
        async with self.admit():
            return await self.in_thread(fn, *args, **kwargs)
