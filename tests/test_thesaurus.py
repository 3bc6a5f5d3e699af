"""Thesaurus: WordNet (+ MyThes) neighbours as surface forms."""

from __future__ import annotations

import pytest

from service.config import Settings, get_settings
from service.thesaurus import (
    LEXNAMES_TEXT,
    Thesaurus,
    ThesaurusUnavailable,
    get_thesaurus,
    inflect,
    prepare_wordnet_root,
)

_SETTINGS = get_settings()
needs_wordnet = pytest.mark.skipif(
    not (_SETTINGS.wordnet_dir / "data.noun").is_file(),
    reason="WordNet 3.0 files not installed (Debian package wordnet-base)",
)


@pytest.fixture(scope="module")
def th() -> Thesaurus:
    return get_thesaurus()


def test_lexnames_has_45_numbered_lines():
    lines = LEXNAMES_TEXT.splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3"
    assert lines[3] == "03\tnoun.Tops\t1"
    assert lines[28] == "28\tnoun.time\t1"
    assert lines[29] == "29\tverb.body\t2"
    assert lines[43] == "43\tverb.weather\t2"
    assert lines[44] == "44\tadj.ppl\t3"


@needs_wordnet
def test_thesaurus_for_given_settings_does_not_read_the_environment_again(tmp_path, monkeypatch):
    # the settings handed in are the ones used: an unrelated variable set wrong after they were
    # read had failed the thesaurus (and so the engine) with a validation error
    settings = Settings(wordnet_dir=_SETTINGS.wordnet_dir, mythes_path=None, cache_dir=tmp_path / "cache")
    monkeypatch.setenv("UNSPIN_MAX_SUGGESTIONS", "bogus")
    th = get_thesaurus(settings)
    assert "large" in th.neighbours("big")


def test_missing_wordnet_dir_raises(tmp_path):
    settings = Settings(wordnet_dir=tmp_path / "nowhere", cache_dir=tmp_path / "cache", mythes_path=None)
    with pytest.raises(ThesaurusUnavailable, match="wordnet-base"):
        Thesaurus(settings)
    with pytest.raises(ThesaurusUnavailable):
        prepare_wordnet_root(tmp_path / "nowhere", tmp_path / "cache")


@needs_wordnet
@pytest.mark.parametrize("what", ["folder", "binary", "empty", "encoding"])
def test_a_mythes_path_that_is_no_thesaurus_stops_the_engine(tmp_path, what):
    """UNSPIN_MYTHES_PATH naming a folder, or a file that is no MyThes thesaurus, is an error naming
    the variable (it had been skipped without a word, the engine running without the thesaurus the
    user named); nothing at the path still means going without MyThes."""
    path = tmp_path / "th.dat"
    if what == "folder":
        path.mkdir()
    else:
        path.write_bytes({"binary": bytes(range(256)) * 4, "empty": b"UTF-8\n",
                          "encoding": b"NO-SUCH-ENCODING\nword|1\n(noun)|a|b\n"}[what])
    settings = Settings(cache_dir=tmp_path / "cache", mythes_path=path)
    with pytest.raises(ThesaurusUnavailable, match="UNSPIN_MYTHES_PATH=.*th.dat"):
        Thesaurus(settings)
    assert Thesaurus(Settings(cache_dir=tmp_path / "cache", mythes_path=tmp_path / "absent.dat")).mythes is None


def test_inflect_phrases():
    assert inflect("go back to", "v", "VBD") == "went back to"
    assert inflect("due date", "n", "NNS") == "due dates"
    assert inflect("man of affairs", "n", "NNS") == "men of affairs"
    assert inflect("say", "v", "VBN") == "said"


@needs_wordnet
def test_phrase_synonyms_both_ways(th):
    assert th.neighbours("field glasses")["binoculars"] == "synonym"
    assert th.neighbours("binoculars")["field glasses"] == "synonym"
    assert th.related("banquet", "feast") == "synonym"
    assert th.related("feast", "banquet") == "synonym"
    assert th.is_phrase_known("field glasses")
    assert th.is_phrase_known("Field  Glasses")
    assert not th.is_phrase_known("xyzzy quux")


@needs_wordnet
def test_terrific_great(th):
    assert "great" in th.neighbours("terrific", depth=2)
    assert th.related("terrific", "great", depth=2) is not None


@needs_wordnet
def test_optimal_and_maximum_neighbourhoods(th):
    # WordNet links them only over four steps (optimal-best-superior-supreme-maximum):
    # each side's own neighbourhood is what the thesaurus can vouch for.
    assert th.related("optimal", "optimum") == "synonym"
    assert th.related("optimal", "best") == "similar"
    assert th.related("maximum", "maximal") == "synonym"
    assert th.related("maximum", "supreme") == "similar"
    assert "optimal" in th.neighbours("best", depth=1)


@needs_wordnet
def test_inflected_neighbours(th):
    nb = th.neighbours("powers")
    assert "forces" in nb and "force" not in nb  # plural in, plural out
    assert "abilities" in nb
    assert th.neighbours("stated")["said"] == "synonym"
    assert th.related("stated", "said") == "synonym"
    launches = th.neighbours("launches")
    assert "establishes" in launches  # verb reading, 3rd person
    assert "motorboats" in launches  # noun reading, plural
    assert th.related("launches", "introduces", depth=2) == "2-step"


@needs_wordnet
def test_inflected_words_get_inflected_neighbours_only(th):
    """A spinner inflects its replacement like the original, so an inflected word's same-POS
    neighbours come inflected, not as bare lemmas; a base form gets the lemmas."""
    assert "raised" in th.neighbours("increased") and "raise" not in th.neighbours("increased")
    assert "earnings" in th.neighbours("profits") and "earning" not in th.neighbours("profits")
    assert "raise" in th.neighbours("increase")


@needs_wordnet
def test_regular_past_tense_gets_participles_too(th):
    """A regular verb spells its past tense and participle alike, so "have revealed" may stand for
    "have shown": irregular neighbours come in both forms. An irregular written form is read as
    what it is ("went back" is a past tense only)."""
    nb = th.neighbours("revealed")
    assert "showed" in nb and "shown" in nb
    back = th.neighbours("went back")
    assert "returned" in back and "gone back" not in back


@needs_wordnet
def test_antonyms_excluded(th):
    for depth in (1, 2):
        assert "bad" not in th.neighbours("good", depth=depth)
        assert "decrease" not in th.neighbours("increase", depth=depth)
        assert "minimum" not in th.neighbours("maximum", depth=depth)
    assert th.related("good", "bad") is None


@needs_wordnet
def test_relations_and_lowercase(th):
    nb = th.neighbours("Banquet")
    assert nb["feast"] == "synonym"
    assert nb["meal"] == "hypernym"
    assert all(k == k.lower() for k in nb)
    assert th.neighbours("dog").get("canine") == "hypernym"
    assert th.neighbours("dog").get("puppy") == "hyponym"
    assert th.related("happy", "happiness") == "derived"
    assert "banquet" not in nb


@needs_wordnet
def test_cached_and_copies(th):
    a = th.neighbours("feast")
    a["zzz"] = "synonym"
    assert "zzz" not in th.neighbours("feast")
    assert get_thesaurus() is th


@needs_wordnet
def test_wordnet_root_is_prepared(tmp_path):
    root = prepare_wordnet_root(_SETTINGS.wordnet_dir, tmp_path)
    assert (root / "lexnames").read_text() == LEXNAMES_TEXT
    assert (root / "data.noun").stat().st_size == (_SETTINGS.wordnet_dir / "data.noun").stat().st_size
    # idempotent
    assert prepare_wordnet_root(_SETTINGS.wordnet_dir, tmp_path) == root


def test_threads_reading_wordnet_at_once_get_what_one_gets():
    """The service scores two texts at once (UNSPIN_CONCURRENCY): NLTK's reader seeks one shared file
    handle per part of speech, and two threads had read each other's lines (concurrent requests
    with words not yet in the neighbour store answered 500)."""
    import re
    import threading
    from pathlib import Path

    seeds = Path(__file__).resolve().parents[1] / "seeds"
    words = sorted({w.lower() for p in seeds.glob("*.txt") for w in re.findall(r"[A-Za-z]{4,}", p.read_text("utf-8"))})
    alone = Thesaurus(get_settings(), use_mythes=False)
    expected = {w: alone.neighbours(w) for w in words}
    shared = Thesaurus(get_settings(), use_mythes=False)  # a reader no thread has read from yet
    got: dict[str, dict[str, str]] = {}
    errors: list[BaseException] = []

    def look_up(part: list[str]) -> None:
        try:
            for w in part:
                got[w] = shared.neighbours(w)
        except Exception as e:  # noqa: BLE001 - what the race had raised (AttributeError, WordNetError...)
            errors.append(e)

    threads = [threading.Thread(target=look_up, args=(words[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and got == expected


@pytest.mark.parametrize(("word", "written"), [
    ("american", "American"), ("americans", "Americans"), ("christmas", "Christmas"), ("united states", "United States"),
    ("sundays", "Sundays"),
    ("turkey", "turkey"), ("march", "march"),  # also common words
    ("aids", "aids"), ("us", "us"),  # acronyms in WordNet: other words
    ("fed", "fed"), ("lent", "lent"),  # also forms of "feed" and "lend"
    ("great", "great"), ("qqqzzxv", "qqqzzxv"),
])
def test_written_form_gives_a_name_its_capitals_and_nothing_else(th, word, written):
    assert th.written_form(word) == written
