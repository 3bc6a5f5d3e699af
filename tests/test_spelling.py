"""British and American spellings of one word (service/spelling.py)."""

from __future__ import annotations

from service.spelling import american, americanized


def test_lower_case_british_words_read_in_american_spelling_names_left_alone():
    assert american("neighbourhoods") == "neighborhoods" and american("recognised") == "recognized"
    assert american("color") is None and american("know") is None
    assert americanized("Labour said the colour of the Louvre's centre, recognised.") == \
        "Labour said the color of the Louvre's center, recognized."  # capitalised words: often names
    assert americanized("Recognise") == "Recognise" and americanized("xcolour colourx") == "xcolour colourx"
