"""Which language a text is written in: unspin's models read English only.

A French or German article goes through the engine without a flag (its words are unknown to the
English models, and unknown words are never judged), so without this module its report would say
``clean`` as if the text had been read. The report's ``language`` says what the text reads as,
and when that is not English, that its verdict says nothing about the text.

The identifier is ``py3langid`` (a maintained fork of langid.py: a naive Bayes model over byte
n-grams for 139 languages, shipped inside the wheel, numpy only). A language other than English
is named only when it has at least :data:`CONFIDENCE` of the probability over a text of at least
:data:`MIN_LETTERS` letters: on the 15,547 Reuters articles (earnings tables and all) no other
language reached 0.9, nor on 5,380 of their sentences (the highest was Nigerian Pidgin at 0.66, on
an earnings line), while a paragraph of French or German news reads as such at 1.00. The text is
identified as the models read it (look-alike letters in Latin, ligatures spelled out), so a text
disguised with Cyrillic letters is still English.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from service.report import LanguageStatus
from service.text import as_read

#: the identifier's probability at or above which a language other than English is named
CONFIDENCE = 0.9
#: fewer letters than this and no language is identified (too little text to tell)
MIN_LETTERS = 40
#: codes of no language: py3langid's class for numbers, markup and tables
NOT_A_LANGUAGE = frozenset({"zxx"})

_LETTER = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=1)
def _identifier():
    """py3langid's identifier with probabilities normalised over its languages (loaded once, about
    half a second)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@lru_cache(maxsize=256)
def language_name(code: str) -> str:
    """The English name of an ISO 639 language code ("fr" -> "French"), from ``pycountry``; the
    code itself when it has none."""
    import pycountry

    lang = pycountry.languages.get(**{"alpha_2" if len(code) == 2 else "alpha_3": code})
    name = getattr(lang, "name", None) or code
    return re.sub(r"\s*\(.*\)$", "", name)  # "Modern Greek (1453-)" -> "Modern Greek"


def letters(text: str) -> int:
    """How many letters ``text`` holds (what :func:`identify` weighs)."""
    return len(_LETTER.findall(text))


def status_for(code: str | None, confidence: float | None) -> LanguageStatus:
    """The report's language block for an identification: ``code`` with ``confidence``, or none."""
    if code is None or confidence is None or confidence < CONFIDENCE or code in NOT_A_LANGUAGE:
        return LanguageStatus()
    confidence = round(float(confidence), 4)
    if code == "en":
        return LanguageStatus(detected="en", name="English", confidence=confidence)
    name = language_name(code)
    return LanguageStatus(
        detected=code,
        name=name,
        confidence=confidence,
        english=False,
        reason=f"the text reads as {name} ({code}, confidence {confidence:.2f}); unspin's models read "
        "English only, so this report says nothing about it",
    )


def identify(text: str) -> LanguageStatus:
    """Which language ``text`` reads as, as the report's ``language`` block.

    ``english`` is false only when a language other than English is identified with at least
    :data:`CONFIDENCE` over at least :data:`MIN_LETTERS` letters; short texts, tables and texts
    mixing languages (none reaching it) count as English, as the engine reads them.
    """
    read, _ = as_read(text)
    if letters(read) < MIN_LETTERS:
        return LanguageStatus()
    code, confidence = _identifier().classify(read)
    return status_for(code, confidence)


def combine(parts: Iterable[tuple[int, LanguageStatus]]) -> LanguageStatus:
    """One document's language from its parts' (letters, status), as
    :meth:`service.engine.Engine.score_parts` scores a long document part by part: the language
    identified in parts holding more than half of the document's letters, with those parts'
    confidence (weighted by their letters); none when no language holds that much."""
    held: dict[str, int] = {}
    sure: dict[str, float] = {}
    total = 0
    for n, status in parts:
        total += n
        if status.detected is not None and status.confidence is not None:
            held[status.detected] = held.get(status.detected, 0) + n
            sure[status.detected] = sure.get(status.detected, 0.0) + n * status.confidence
    if not held:
        return LanguageStatus()
    code = max(held, key=held.__getitem__)
    if 2 * held[code] <= total:
        return LanguageStatus()
    return status_for(code, sure[code] / held[code])
