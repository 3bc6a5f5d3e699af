"""Stopping work nobody waits for: a progress wrapper that ends the second look early.

Most of the time a long text takes is the second look (a few tenths of a second per slot it
reads, minutes for a long text), and it reads its slots through a ``progress`` wrapper
(:data:`service.second_look.SlotProgress`). :func:`stop_when` is such a wrapper: once its event is
set, asking for the next slot raises :class:`Abandoned`, the passes still queued for the causal
model are cancelled, and the thread that scored is free for the next text. The HTTP service sets
the event when the client of a request being scored goes away.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Iterator, Sequence

if TYPE_CHECKING:
    from service.analysis import SlotResult
    from service.second_look import SlotProgress


class Abandoned(Exception):
    """The scoring was stopped: nobody waits for its answer any more."""


def check(stop: threading.Event | None) -> None:
    """Raise :class:`Abandoned` when ``stop`` is set (between documents of a batch, say).

    Raises:
        Abandoned: ``stop`` is set.
    """
    if stop is not None and stop.is_set():
        raise Abandoned("stopped: nobody waits for the answer")


def stop_when(stop: threading.Event, progress: "SlotProgress | None" = None) -> "SlotProgress":
    """A second-look progress wrapper (around ``progress``, if given) that raises
    :class:`Abandoned` when the next slot is asked for once ``stop`` is set; the report of a call
    it does not stop is unchanged."""
    def wrapped(slots: "Sequence[SlotResult]") -> "Iterator[SlotResult]":
        for r in progress(slots) if progress is not None else slots:
            check(stop)
            yield r
    return wrapped
