"""British and American spellings of the same word ("recognise", "recognize"): not a synonym, so
never evidence of spinning.

The pairs come from ``breame`` (British English and American English Language Tools, Apache-2.0:
about 1,700 words with their inflected forms, "neighbourhoods" -> "neighborhoods"). The second look's
causal model reads a slot's written words in both spellings and takes the better reading
(:func:`service.second_look.question`), and a candidate that is only the other spelling of the
written word is no suggestion (:mod:`service.candidates`).
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"(?<![A-Za-z])[a-z]+(?![A-Za-z])")  # a whole word in lower case


@lru_cache(maxsize=1)
def _british_to_american() -> dict[str, str]:
    from breame.data.spelling_constants import BRITISH_ENGLISH_SPELLINGS

    return {b: a for b, a in BRITISH_ENGLISH_SPELLINGS.items() if b != a}


def american(word: str) -> str | None:
    """The American spelling of ``word`` when it is a British one (lower case: "colour" -> "color";
    a capitalised word, often a name such as "Labour" or "Louvre", is left alone), else None."""
    return _british_to_american().get(word)


def americanized(text: str) -> str:
    """``text`` with each lower-case word in British spelling written in American spelling."""
    return _WORD.sub(lambda m: american(m.group()) or m.group(), text)
