"""Scoring requests, one by one or batched across concurrent requests where that pays.

A transformer language model scores the slots of several documents in one batched forward pass
much faster than one document at a time, so for such a model concurrent requests that arrive
within ``UNSPIN_BATCH_WINDOW_MS`` of each other are scored together (up to
``UNSPIN_MAX_BATCH``) by :meth:`Engine.score_many`. The n-gram model gains nothing from it (pure
Python, bound by the GIL), so its requests are scored one by one. Either way each request gets
exactly the report :meth:`Engine.score` would give, and admission control is per request.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from service.api.gate import Gate
from service.engine import Engine
from service.report import Report
from service.stopping import stop_when


class Scorer:
    """Scores texts for the routes through the gate; batches across requests when the model gains."""

    def __init__(self, gate: Gate, window_ms: float, max_batch: int) -> None:
        self.gate = gate
        self.window = window_ms / 1000.0
        self.max_batch = max_batch
        self._queue: list[tuple[Engine, str, dict, asyncio.Future]] = []
        self._drainer: asyncio.Task | None = None
        #: sizes of the latest batches run (bounded: a long-running service must not grow it forever)
        self.batches: deque[int] = deque(maxlen=256)

    @staticmethod
    def batches_pay(engine: Engine) -> bool:
        """Whether this engine's language model scores several texts faster together than apart."""
        return bool(getattr(engine.lm, "batches_across_texts", False))

    async def score(self, engine: Engine, text: str, stop: threading.Event | None = None, **options) -> Report:
        """The report for ``text``; raises the engine's ``InputError`` or the gate's ``Busy``. Once
        ``stop`` is set, a text scored on its own stops at the second look's next slot
        (:class:`~service.stopping.Abandoned`); a batched one is scored to the end (the models that
        batch have no second look), unless it is still waiting for its batch."""
        async with self.gate.admit():
            if self.max_batch <= 1 or not self.batches_pay(engine):
                if stop is not None:
                    options["progress"] = stop_when(stop)
                return await self.gate.in_thread(engine.score, text, **options)
            future: asyncio.Future = asyncio.get_running_loop().create_future()
            self._queue.append((engine, text, options, future))
            if self._drainer is None or self._drainer.done():
                self._drainer = asyncio.create_task(self._drain())
            return await future

    async def _drain(self) -> None:
        while self._queue:
            await asyncio.sleep(self.window)  # let concurrent requests join
            self._queue = [b for b in self._queue if not b[3].done()]  # given up: its client went away
            if not self._queue:
                break
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            engine = batch[0][0]
            same = [b for b in batch if b[0] is engine]
            self._queue[:0] = [b for b in batch if b[0] is not engine]  # another engine: next round
            self.batches.append(len(same))
            try:
                results = await self.gate.in_thread(engine.score_many, [b[1] for b in same], [b[2] for b in same])
            except Exception as e:  # noqa: BLE001 - every waiting request learns of it
                results = [e] * len(same)
            for (_, _, _, future), result in zip(same, results):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)
