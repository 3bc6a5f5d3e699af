"""Progress on the command line's long work (scoring, evaluation, training), on stderr.

On a terminal a tqdm bar redraws itself in place. Anywhere else (a log file, a pipe, a container's
log, a CI job) a bar's carriage-return redraws would pile up unread, so the commands show nothing
there unless asked (``--progress``); asked, each update is one plain line, at most one every
:data:`LINE_INTERVAL` seconds per bar, so that a twenty-minute run leaves a readable log of how far
it got and how long the rest will take.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TextIO

import click

#: seconds between two lines of one bar where stderr is not a terminal
LINE_INTERVAL = 30.0

#: a line's layout where stderr is not a terminal: the counts and times without the bar itself
LINE_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
LINE_FORMAT_NO_TOTAL = "{desc}: {n_fmt} {unit} [{elapsed}, {rate_fmt}{postfix}]"

#: a terminal's control sequences (tqdm moves the cursor between the lines of nested bars)
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

#: the ``--progress/--no-progress`` option every long-running command takes
progress_option = click.option(
    "--progress/--no-progress", "progress", default=None,
    help="Show progress on stderr (default: when stderr is a terminal). Where it is not (a log file, a "
         f"container's log), a line at most every {LINE_INTERVAL:.0f} s per bar.")


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for a stream that cannot say)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty else False
    except ValueError:  # a closed stream
        return False


def shown(stream: TextIO, wanted: bool | None) -> bool:
    """Whether to show progress on ``stream``: ``wanted`` (``--progress``/``--no-progress``), or
    when it is not given, whether ``stream`` is a terminal."""
    return is_terminal(stream) if wanted is None else wanted


class LineWriter:
    """A text stream for tqdm that writes each of its redraws as one line to ``stream``.

    tqdm draws a status as a carriage return, the status and spaces over the rest of the last one,
    then flushes; a bar that clears itself draws only spaces. Each flush here writes the status
    drawn since the last one as a line of its own, unless it is blank or the same as the line before;
    cursor movements (between nested bars) are dropped.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._pending = ""
        self._last = ""

    def write(self, s: str) -> int:
        """Keep ``s`` until the next flush; returns its length, as a stream does."""
        self._pending += s
        return len(s)

    def flush(self) -> None:
        """Write what was drawn since the last flush as a line (see the class)."""
        drawn, self._pending = _CONTROL.sub("", self._pending), ""
        for part in drawn.replace("\r", "\n").split("\n"):
            line = part.strip()
            if line and line != self._last:
                self.stream.write(line + "\n")
                self._last = line
        self.stream.flush()

    def isatty(self) -> bool:
        """Never a terminal: tqdm then writes whole lines, not redrawn bars."""
        return False


def bar(iterable: Iterable | None = None, *, desc: str, stream: TextIO, show: bool, total: int | None = None,
        unit: str = "it", leave: bool = True):
    """A tqdm bar over ``iterable`` (or updated by hand with ``total``) on ``stream``: drawn in place
    on a terminal, as lines elsewhere (:class:`LineWriter`, one every :data:`LINE_INTERVAL` seconds
    at most), nothing at all unless ``show`` or when there is nothing to do (a total of 0)."""
    from tqdm import tqdm

    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if not show or total == 0:  # nothing to do shows nothing (an eval without clean documents)
        return tqdm(iterable, total=total, disable=True)
    if is_terminal(stream):
        return tqdm(iterable, desc=desc, total=total, unit=unit, file=stream, leave=leave, dynamic_ncols=True)
    # position 0: a line needs no place under another bar (no cursor movement)
    return tqdm(iterable, desc=desc, total=total, unit=unit, file=LineWriter(stream), leave=leave, position=0,
                mininterval=LINE_INTERVAL, maxinterval=LINE_INTERVAL,
                bar_format=LINE_FORMAT if total is not None else LINE_FORMAT_NO_TOTAL)


def wrapper(desc: str, stream: TextIO, show: bool, unit: str = "it",
            total: int | None = None) -> Callable[[Iterable], Iterable]:
    """What the training functions take as ``progress``: wraps an iterable in :func:`bar`."""
    return lambda it: bar(it, desc=desc, stream=stream, show=show, total=total, unit=unit)
