"""An engine stand-in that scores as slowly as the second look does, for the tests of stopping
work whose client went away (the HTTP API's and the page's)."""

from __future__ import annotations

import threading
import time


class SlowSecondLook:
    """``score`` reads ``slots`` "slots" through its ``progress`` wrapper, 50 ms each, as the second
    look does; then it gives the real engine's report. ``started`` is released as each call starts,
    ``read`` counts the slots each call read and ``ended`` says how each call ended ("done", or the
    name of the exception that stopped it)."""

    def __init__(self, real, slots: int = 200) -> None:
        self.real, self.lm, self.grammar = real, real.lm, None
        self.lm_name = real.lm_name
        self.slots = slots
        self.started = threading.Semaphore(0)
        self.read: list[int] = []
        self.ended: list[str] = []

    def score(self, text, progress=None, **kw):
        self.started.release()
        slots = list(range(self.slots))
        self.read.append(0)
        try:
            for _ in progress(slots) if progress is not None else slots:
                time.sleep(0.05)
                self.read[-1] += 1
        except BaseException as e:
            self.ended.append(type(e).__name__)
            raise
        self.ended.append("done")
        return self.real.score(text, **kw)
