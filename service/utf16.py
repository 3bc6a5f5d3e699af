"""Convert between Unicode code-point offsets (ours) and UTF-16 code-unit offsets (LanguageTool's).

LanguageTool is written in Java and counts offsets in Java ``char`` units, i.e. UTF-16 code units:
a character outside the Basic Multilingual Plane (most emoji) counts as two. unspin's reports
always use code points. These two functions translate at the border, in both directions.
"""

from __future__ import annotations

from bisect import bisect_right


class Utf16Index:
    """Offset translation table for one text, built once in O(n), queried in O(log n)."""

    def __init__(self, text: str) -> None:
        #: code-point positions of astral characters (each adds one extra UTF-16 unit)
        self._astral = [i for i, ch in enumerate(text) if ord(ch) > 0xFFFF]
        #: the UTF-16 offset just after each astral character
        self._astral16 = [i + k + 2 for k, i in enumerate(self._astral)]
        self._len = len(text)

    def to_utf16(self, cp: int) -> int:
        """UTF-16 offset of code-point offset ``cp``."""
        return cp + bisect_right(self._astral, cp - 1)

    def to_codepoint(self, u16: int) -> int:
        """Code-point offset of UTF-16 offset ``u16`` (an offset inside a surrogate pair rounds down)."""
        k = bisect_right(self._astral16, u16)  # astral characters wholly before u16
        inside = k < len(self._astral) and u16 == self._astral[k] + k + 1
        return self._astral[k] if inside else u16 - k


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Java's ``String.length()`` returns)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
