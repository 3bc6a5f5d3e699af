"""A replacement written in the case pattern of the words it replaces."""

from __future__ import annotations

#: words Title Case leaves in lower case after the first ("Rate of Death", "Signal to Noise Ratio")
_SMALL_WORDS = frozenset("a an the and or nor but of to in on at by for with from as per via vs".split())


def match_case(original: str, replacement: str) -> str:
    """Give ``replacement`` the case pattern of ``original``: all capitals ("FINANCIAL" ->
    "ECONOMIC"), Title Case over several words ("Surface Region" -> "Surface Area", "Rate of
    Death" -> "Mortality Rate", small words such as "of" in lower case after the first), a capital
    first letter ("Modifying" -> "Editing"); otherwise ``replacement`` as it is (a user's list may
    write capitals of its own: "DNA damage")."""
    letters = [c for c in original if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    words = [w for w in original.split() if any(c.isalpha() for c in w)]
    heads = [next(c for c in w if c.isalpha()) for i, w in enumerate(words)
             if i == 0 or w.strip("\"'“”‘’()").lower() not in _SMALL_WORDS]
    if len(words) > 1 and len(heads) > 1 and all(c.isupper() for c in heads):
        return " ".join(w[:1].upper() + w[1:] if i == 0 or w.lower() not in _SMALL_WORDS else w
                        for i, w in enumerate(replacement.split(" ")))
    if letters and original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement
