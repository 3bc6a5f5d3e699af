"""Page furniture in text taken from paged documents (PDF, print): page numbers and running heads.

Text extracted from a PDF carries each page's number and running head (a journal's name, a
date) where the page broke, often in the middle of a sentence::

    ... as a result of the
    3
    Newsweek International Edition  December 2019
    destructive line that Washington continues.

Read with the sentence, those lines are words the language models find out of place, and the
words next to them are flagged. :func:`without_furniture` gives the text as the engine reads it:
the same length, with such lines (and, where they cut a sentence, the blank lines around them)
turned into spaces, so that every offset still points into the text as sent and the sentence
reads on across the page break. The report's spans and texts come from the text as sent.
"""

from __future__ import annotations

import re
from collections import Counter

from service.text import CLOSERS, LINE_BREAKS

#: a line that is a page number alone: "12", "- 12 -", "[12]", "Page 12", "page 12 of 30", "12/30" (not
#: four digits: a year alone on a line is not a page number)
_PAGE_NUMBER_RE = re.compile(r"(?:page\s+)?[-–—(\[]?\s*\d{1,3}\s*[-–—)\]]?(?:\s*(?:of|/)\s*\d{1,3})?", re.IGNORECASE)

#: a line and its end: \r\n or any line break of ``str.splitlines`` (as the segmenter counts lines)
_LINE_RE = re.compile(f"[^{LINE_BREAKS}]*(?:\r\n|[{LINE_BREAKS}]|$)")

#: how many times a short line must recur, numbers aside, to be taken for a running head or foot
RUNNING_HEAD_TIMES = 3

#: the most words a running head has
RUNNING_HEAD_WORDS = 12

#: a line at least this share of the text's middle line length (its median) is a full line of prose,
#: which a page break cuts where it does not end as a sentence does, whatever the next page begins with
FULL_LINE = 0.75

#: the fewest lines of text (furniture aside) whose middle length says what a full line is
FULL_LINE_LINES = 4

#: how a line that a page break does not cut ends: as a sentence does, or before a list or a clause
_SENTENCE_END = frozenset(".!?…:;")


def _key(line: str) -> str:
    """A line as running heads are compared: numbers (page numbers, dates) as '#', spaces collapsed, lower case."""
    return re.sub(r"\d+", "#", " ".join(line.split())).lower()


def _is_running_head(line: str, times: int) -> bool:
    words = line.split()
    letters = [c for c in line if c.isalpha()]
    worded = sum(any(c.isalpha() for c in w) for w in words)
    return (times >= RUNNING_HEAD_TIMES and len(words) <= RUNNING_HEAD_WORDS and worded > len(words) / 2
            and not letters[0].islower() and line.rstrip(CLOSERS)[-1:] not in _SENTENCE_END)


def furniture(text: str) -> list[tuple[int, int]]:
    """Where ``text``'s page furniture is, as ``(start, end)`` code-point ranges in text order: each
    line that is a page number alone or a running head (a short line, mostly words, that does not
    begin in lower case or end as a sentence does, and recurs :data:`RUNNING_HEAD_TIMES` times or
    more, numbers aside: a table's rows, recurring with other numbers, are mostly numbers).

    A run of such lines between two lines of one paragraph is one range, up to the text of the line
    that goes on, so that the paragraph reads on across it; so is a run with blank lines in it when
    it cuts a sentence: the line before ends without a full stop, and the one after begins in lower
    case or the line before is a full line of prose (:data:`FULL_LINE` of the text's middle line
    length: not a heading, which is short), as in "a draft resolution that would / 3 / … / United
    Nations members must approve". Elsewhere each line's text is a range of its own, and the blank
    lines stay.
    """
    lines = [_Line(m.start(), m.end(), text) for m in _LINE_RE.finditer(text) if m.start() < len(text)]
    keys = [_key(ln.text) for ln in lines]
    times = Counter(key for ln, key in zip(lines, keys) if ln.text)
    found = [bool(ln.text) and (_PAGE_NUMBER_RE.fullmatch(ln.text) is not None or _is_running_head(ln.text, times[key]))
             for ln, key in zip(lines, keys)]
    if not any(found):  # most texts: nothing more to look at
        return []
    widths = sorted(len(ln.text) for ln, f in zip(lines, found) if ln.text and not f)
    full = FULL_LINE * widths[len(widths) // 2] if len(widths) >= FULL_LINE_LINES else float("inf")
    ranges: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if not found[i]:
            i += 1
            continue
        first = i  # a run of furniture and blank lines, the blank lines before it too
        while first > 0 and not lines[first - 1].text:
            first -= 1
        while i < len(lines) and (found[i] or not lines[i].text):
            i += 1
        before = next((lines[j].text for j in range(first - 1, -1, -1) if lines[j].text), "")
        blank = any(not lines[j].text for j in range(first, i))
        goes_on = i < len(lines) and bool(before) and (not blank or (
            before.rstrip(CLOSERS)[-1:] not in _SENTENCE_END and (lines[i].text[0].islower() or len(before) >= full)))
        if goes_on:
            ranges.append((lines[first].start, lines[i].lead))
        else:
            ranges += [(lines[j].lead, lines[j].lead + len(lines[j].text)) for j in range(first, i) if found[j]]
    return ranges


class _Line:
    """A line of the text: where it starts, where its text starts (``lead``), its text stripped."""

    __slots__ = ("start", "lead", "text")

    def __init__(self, start: int, end: int, text: str):
        raw = text[start:end]
        self.start = start
        self.lead = start + len(raw) - len(raw.lstrip())
        self.text = raw.strip()


def without_furniture(text: str) -> str:
    """``text`` as the engine reads it: the same length, each range of :func:`furniture` in spaces."""
    ranges = furniture(text)
    if not ranges:
        return text
    out, at = [], 0
    for start, end in ranges:
        out += [text[at:start], " " * (end - start)]
        at = end
    out.append(text[at:])
    return "".join(out)


__all__ = ["FULL_LINE", "FULL_LINE_LINES", "RUNNING_HEAD_TIMES", "RUNNING_HEAD_WORDS", "furniture", "without_furniture"]
