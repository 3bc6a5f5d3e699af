"""Look-alike letters: words disguised with letters of other alphabets ("bаnk" with a Cyrillic а).

Swapping some Latin letters of a text for the Cyrillic or Greek letters that look the same is an
old way to get copied text past matching software: the words read the same to a person but are
different strings to a machine, and to a language model they are unknown words. This module finds
such words and the Latin letters they imitate, from Unicode's confusables table (the
``confusable_homoglyphs`` library, which ships it). The engine reads each such word as its Latin
twin (so the language models judge the word meant, see :attr:`service.text.Token.norm`) and
reports it as a ``formatting`` span whose suggestion is that twin.

Only words that *mix* Latin letters with look-alikes count: a word wholly in another alphabet
("Путин") is that alphabet's word, and a word holding a letter of another alphabet with no Latin
twin is left as written. Latin letters written in their fullwidth forms ("ｂａｎｋ", U+FF21-U+FF5A)
or styled with Unicode's mathematical letters ("𝐛𝐚𝐧𝐤", U+1D400-U+1D6A5, as text copied from social
media holds them) count as look-alikes too, in a word of their own or mixed with plain letters.
Which words are reported (the twin must be a word the language model knows) is the engine's
choice, not this module's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from confusable_homoglyphs import categories, confusables

from service.report import Span, Suggestion

#: a disguised word's span: its source, and its rule id on the LanguageTool protocol
SOURCE = "look-alike"
RULE_ID = "UNSPIN_LOOK_ALIKE_LETTERS"

#: a run of letters, marks and inner apostrophes or hyphens: the unit whose letters are compared
_WORD = re.compile(r"[^\W\d_](?:[\w'’\-‐‑]*[^\W\d_])?")


@dataclass(frozen=True, slots=True)
class LookAlike:
    """One look-alike letter of a word: where it is (a code-point offset into the word), what it
    is, its Unicode name and the Latin letter it imitates."""

    offset: int
    char: str
    name: str
    latin: str


@lru_cache(maxsize=4096)
def _latin_twin(char: str) -> str | None:
    """The Latin letter ``char`` (a letter of another alphabet) is confusable with, or None."""
    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True) or []
    twins = [g["c"] for hit in found for g in hit["homoglyphs"]
             if len(g["c"]) == 1 and g["c"].isalpha() and categories.alias(g["c"]) == "LATIN"]
    # an ASCII letter first (Cyrillic "а" is "a", not "ɑ")
    return next((c for c in twins if c.isascii()), twins[0] if twins else None)


@lru_cache(maxsize=4096)
def _plain_form(char: str) -> str | None:
    """The ASCII letter ``char`` is a fullwidth or mathematical form of ("ｂ", "𝐛", "𝘣" → "b"), or None."""
    if not ("\uff21" <= char <= "\uff5a" or "\U0001d400" <= char <= "\U0001d6a5"):
        return None
    plain = unicodedata.normalize("NFKC", char)
    return plain if len(plain) == 1 and plain.isascii() and plain.isalpha() else None


def _alphabet(char: str) -> str | None:
    """The Unicode script alias of a letter ("LATIN", "CYRILLIC"); None for anything else."""
    return categories.alias(char) if char.isalpha() else None


def _greek_notation(word: str, i: int) -> bool:
    """Whether the letter at ``word[i]`` is a small Greek letter written as scientific notation:
    no small letter on either side of it ("Kα", "ERα", "TNFα", "IL-1β", "NF-κB", "α-helix",
    "γ-ray"). A disguise puts it among the small letters of a word ("pαper", "knοw")."""
    if not "\u03b1" <= word[i] <= "\u03c9":  # the small letters of the Greek block
        return False
    return not any(0 <= j < len(word) and word[j].islower() for j in (i - 1, i + 1))


def look_alikes(word: str) -> tuple[str, list[LookAlike]] | None:
    """``word`` with its look-alike letters replaced by the Latin letters they imitate, and those
    letters; None when ``word`` is not a disguised Latin word (no look-alike, no Latin letter, or a
    letter of another alphabet without a Latin twin). A fullwidth or mathematical form of a Latin
    letter is both a look-alike and a Latin letter; a small Greek letter with no small letter beside
    it is scientific notation, not a look-alike (:func:`_greek_notation`)."""
    if word.isascii():
        return None
    out, found, latin_seen = list(word), [], False
    for i, c in enumerate(word):
        plain = _plain_form(c)
        script = None if plain else _alphabet(c)
        latin_seen = latin_seen or plain is not None or script == "LATIN"
        if plain is None and (script is None or script in ("LATIN", "COMMON", "INHERITED") or _greek_notation(word, i)):
            continue
        latin = plain or _latin_twin(c)
        if latin is None:
            return None
        out[i] = latin
        found.append(LookAlike(i, c, unicodedata.name(c, f"U+{ord(c):04X}"), latin))
    return ("".join(out), found) if found and latin_seen else None


def look_alike_span(start: int, word: str, twin: str, letters: Sequence[LookAlike]) -> Span:
    """The report's span for a disguised ``word`` written at code-point offset ``start``: kind
    ``formatting``, the ``twin`` (:func:`look_alikes`) its one suggestion, the letters named in its
    evidence, with the rule LanguageTool clients are shown. An honest writer does not type such a
    word (score 1), but it is no evidence of spinning: it leaves the document's score alone."""
    where = "; ".join(f"{x.char} ({x.name}) for {x.latin}" for x in letters)
    return Span(
        start=start, end=start + len(word), text=word, kind="formatting", score=1.0,
        suggestions=[Suggestion(text=twin, score=1.0)], sources=[SOURCE],
        evidence={
            "look_alikes": where, "relation": "look-alike letters",
            "rule_id": RULE_ID, "rule_description": "Letters that look like plain Latin ones",
            "issue_type": "typographical", "category_id": "UNSPIN_DISGUISED_TEXT", "category_name": "Disguised text",
            "message": f"This word is written with letters that only look like the Latin ones ({where}), "
                       "a way to hide copied text from matching software.",
            "short_message": "Look-alike letters", "type_name": "Other",
        },
    )


def latin_words(text: str) -> str:
    """``text`` with every disguised word (see :func:`look_alikes`) written in Latin letters; the
    same length, letter for letter (each look-alike is one code point, and so is its twin)."""
    if text.isascii():
        return text

    def fix(m: re.Match[str]) -> str:
        hit = look_alikes(m.group())
        return hit[0] if hit else m.group()

    return _WORD.sub(fix, text)


__all__ = ["LookAlike", "RULE_ID", "SOURCE", "latin_words", "look_alike_span", "look_alikes"]
