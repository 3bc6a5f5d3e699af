"""The indefinite article a word takes: "a critical", "an essential", "an hour", "a university".

Spinners adjust the article in front of a word they replace ("a critical moment" became "an
essential moment" in seed 002), so the original of a word after "a"/"an" may take the other
article. The engine scores such a candidate with the article that agrees with it and, when it
suggests one, puts that article into the suggestion (docs/evaluation-notes.md, *Candidates are scored
with the article they take*); the synthetic spinner adjusts articles the same way.

The choice goes by sound, not spelling: the first phoneme of the word in the CMU Pronouncing
Dictionary that ships with the 3-gram model (``cmudict-en-us.dict`` in the pocketsphinx wheel), a
vowel sound taking "an". Words the dictionary lacks fall back to their first letter.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

__all__ = ["ARTICLES", "after_its_article", "article_for", "load_pronunciations", "with_article_case"]

#: The indefinite articles, lower case.
ARTICLES = frozenset({"a", "an"})
#: ARPAbet vowels (stress digits aside): a word whose first phoneme is one of them takes "an".
_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})


def _dictionary_path() -> Path:
    import pocketsphinx

    return Path(pocketsphinx.__file__).parent / "model" / "en-us" / "cmudict-en-us.dict"


@lru_cache(maxsize=1)
def load_pronunciations(path: Path | None = None) -> dict[str, bool]:
    """For each word of the pronouncing dictionary (lower case; its first listed pronunciation),
    whether it opens with a vowel sound. Read once per process (134 k entries, about 0.2 s)."""
    out: dict[str, bool] = {}
    with open(path or _dictionary_path(), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2 or "(" in parts[0]:  # "word(2)": a second pronunciation
                continue
            out.setdefault(parts[0].lower(), parts[1].rstrip("012") in _VOWELS)
    return out


def article_for(word: str) -> str:
    """``"a"`` or ``"an"`` for the (first word of) ``word``, lower case."""
    words = word.split()
    key = (words[0] if words else word).lower().strip("\"'“”‘’()")
    vowel = load_pronunciations().get(key)
    if vowel is None:
        vowel = key[:1] in "aeiou" and bool(key)
    return "an" if vowel else "a"


def after_its_article(written: str, word: str, sep: str = " ") -> str:
    """``word`` after the article it takes, in the case of the article ``written`` before it:
    ("an", "critical") -> "a critical", ("A", "essential") -> "An essential", ("A", "ESSENTIAL") ->
    "AN ESSENTIAL"; ``sep`` between them."""
    return with_article_case(written, article_for(word), word) + sep + word


def with_article_case(written: str, article: str, word: str = "") -> str:
    """``article`` ("a"/"an") in the case of the article as written ("A" -> "An", "AN" -> "A"); a
    one-letter "A" is in capitals when the ``word`` after it is ("A CRUCIAL" -> "AN IMPORTANT")."""
    letters = [c for c in word if c.isalpha()]
    if written.isupper() and (len(written) > 1 or (len(letters) > 1 and all(c.isupper() for c in letters))):
        return article.upper()
    if written[:1].isupper():
        return article.capitalize()
    return article
