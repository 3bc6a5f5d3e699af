"""Which language a text is written in: unspin's models read English only.

A French or German article goes through the engine without a flag (its words are unknown to the
English models, and unknown words are never judged), so without this module its report would say
``clean`` as if the text had been read. The report's ``language`` says what the text reads as,
and when that is not English, that its verdict says nothing about the text.

The identifier is ``py3langid`` (a maintained fork of langid.py: a naive Bayes model over byte
n-grams for 141 languages, shipped inside the wheel, numpy only). A language other than English
is named only when it has at least :data:`CONFIDENCE` of the probability over a text of at least
:data:`MIN_LETTERS` letters: on the 15,547 Reuters articles (earnings tables and all) no other
language reached 0.9, nor on 5,380 of their sentences (the highest was Nigerian Pidgin at 0.66, on
an earnings line), while a paragraph of French or German news reads as such at 1.00. A language
other than English must also be the identifier's best reading once the words the text capitalises
in mid-sentence are left out (:func:`without_names`): in a short English text full of Welsh or
Irish names, the names are what it reads. The text is
identified as the models read it (look-alike letters in Latin, ligatures spelled out), so a text
disguised with Cyrillic letters is still English.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
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


@lru_cache(maxsize=4096)
def _is_latin(letter: str) -> bool:
    """Whether ``letter`` is a letter of the Latin script ("e", "é", "ß", fullwidth "Ｅ")."""
    return "LATIN" in unicodedata.name(letter, "").split()


def letters_apart(text: str) -> tuple[int, int]:
    """How many letters ``text`` holds, and how many of them are of a script other than Latin
    (Cyrillic, Greek, Arabic, Han, …): letters English is not written in."""
    counts = Counter(_LETTER.findall(text))
    return sum(counts.values()), sum(n for c, n in counts.items() if not _is_latin(c))


#: what every not-English reason ends with
_NOT_READ = "unspin's models read English only, so this report says nothing about it"


def status_for(code: str | None, confidence: float | None, not_latin: bool = False) -> LanguageStatus:
    """The report's language block for an identification: ``code`` with ``confidence``, or none.

    ``not_latin``: most of the text's letters are of a script other than Latin, so it is not
    English whatever the identifier's confidence; ``code`` is then named as what it reads most like.
    """
    named = code is not None and confidence is not None and code not in NOT_A_LANGUAGE
    sure = named and confidence >= CONFIDENCE
    if not_latin and not (sure and code != "en"):
        if not named or code == "en":
            return LanguageStatus(english=False, reason=f"most of the text's letters are not Latin letters; {_NOT_READ}")
        confidence = round(float(confidence), 4)
        name = language_name(code)
        return LanguageStatus(
            detected=code, name=name, confidence=confidence, english=False,
            reason=f"most of the text's letters are not Latin letters, and it reads most like {name} ({code}, "
            f"confidence {confidence:.2f}); {_NOT_READ}",
        )
    if not sure:
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
        reason=f"the text reads as {name} ({code}, confidence {confidence:.2f}); {_NOT_READ}",
    )


#: what ends a sentence or a heading, so that the word after it may be capitalised as its first
_OPENS_AFTER = frozenset(".!?:;–—-\"“”«»()[]")
#: what a word may carry around it that is not part of it
_AROUND_WORDS = "\"'“”‘’()[]{}«»,;:.!?"


def without_names(text: str) -> str:
    """``text`` with the words it capitalises in mid-sentence left out ("Plaid Cymru leader Adam
    Price spoke in Caerfyrddin." -> "Plaid leader spoke in"): in a short English text full of
    names, the names are what a byte n-gram identifier reads. Words in capitals are kept (a
    heading, a text typed in capitals), and so is a sentence's or a line's first word (after a
    full stop, a colon, a dash, a quotation mark or a line break)."""
    out: list[str] = []
    opens, last = True, 0
    for m in re.finditer(r"\S+", text):
        token, word = m.group(), m.group().strip(_AROUND_WORDS)
        titled = word[:1].isupper() and any(c.islower() for c in word)
        if not titled or opens or "\n" in text[last : m.start()]:
            out.append(token)
        opens, last = token[-1] in _OPENS_AFTER, m.end()
    return " ".join(out)


def identify(text: str) -> LanguageStatus:
    """Which language ``text`` reads as, as the report's ``language`` block.

    ``english`` is false when a language other than English is identified with at least
    :data:`CONFIDENCE` over at least :data:`MIN_LETTERS` letters and is still the identifier's
    best reading of the text with its names left out (:func:`without_names`: "Plaid Cymru leader
    Adam Price spoke in Caerfyrddin." had read as Welsh at 0.94), and when most of the text's
    letters are of a script other than Latin, however few (the identifier's best guess is named
    then, at whatever confidence). Short texts, tables and texts mixing languages (none reaching
    it) count as English, as the engine reads them.
    """
    read, _ = as_read(text)
    n, apart = letters_apart(read)
    not_latin = 2 * apart > n
    if n < MIN_LETTERS and not not_latin:
        return LanguageStatus()
    code, confidence = _identifier().classify(read)
    status = status_for(code, confidence, not_latin)
    if not status.english and not not_latin and _reads_as_english_without_names(read):
        return LanguageStatus()
    return status


def _reads_as_english_without_names(read: str) -> bool:
    """Whether English is the identifier's best reading of ``read`` with its names left out (when
    any were, and letters are left)."""
    rest = without_names(read)
    if rest == " ".join(read.split()) or not letters(rest):
        return False
    return _identifier().classify(rest)[0] == "en"


def combine(parts: Iterable[tuple[int, LanguageStatus]]) -> LanguageStatus:
    """One document's language from its parts' (letters, status), as
    :meth:`service.engine.Engine.score_parts` scores a long document part by part.

    When parts read as English (or as nothing named) hold at least half of the letters: English
    if English parts hold more than half (with their confidence, weighted by their letters), else
    none. Otherwise the document is not English: named as the language of the parts holding most
    letters when they hold more than half (at whatever confidence where those parts were told
    from English by their letters), else as languages other than English, unnamed.
    """
    held: dict[str, int] = {}
    sure: dict[str, float] = {}
    total = other = 0
    for n, status in parts:
        total += n
        if not status.english:
            other += n
        if status.detected is not None and status.confidence is not None:
            held[status.detected] = held.get(status.detected, 0) + n
            sure[status.detected] = sure.get(status.detected, 0.0) + n * status.confidence
    if 2 * other <= total:
        if 2 * held.get("en", 0) > total:
            return status_for("en", sure["en"] / held["en"])
        return LanguageStatus()
    named = {code: n for code, n in held.items() if code != "en"}
    code = max(named, key=named.__getitem__) if named else None
    if code is None or 2 * named[code] <= total:
        return LanguageStatus(english=False, reason=f"most of the text reads as languages other than English; {_NOT_READ}")
    # under CONFIDENCE only where parts were told from English by their letters
    confidence = sure[code] / held[code]
    return status_for(code, confidence, not_latin=confidence < CONFIDENCE)
