"""Admission control (service/api/gate.py): the time Retry-After is estimated from."""

from __future__ import annotations

import anyio
import pytest

from service.api import gate as gate_module
from service.api.gate import Gate


def test_retry_after_is_estimated_from_the_calls_alone_not_their_wait(monkeypatch):
    """Each call's time had been measured from before it waited for a slot, so under load the
    average (and every 503's Retry-After, the waiting line's length times it) grew with the line:
    40 s where the line drained in 5. A clock that moves only while a call runs shows it: every call
    takes 1 s, however long the others kept it waiting."""
    now = [0.0]
    monkeypatch.setattr(gate_module.time, "perf_counter", lambda: now[0])
    gate = Gate(concurrency=1, queue_size=8)

    def call() -> str:
        now[0] += 1.0
        return "done"

    async def burst() -> list[str]:
        out: list[str] = []

        async def one() -> None:
            out.append(await gate.run(call))

        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(one)
        return out

    assert anyio.run(burst) == ["done"] * 6
    assert gate._avg_seconds == pytest.approx(1.0)
    assert gate.retry_after() == 1  # nothing waiting: one call's time
