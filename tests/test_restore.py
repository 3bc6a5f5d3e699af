"""The likely original text (``unspin restore``, ``service.restore``): each spun span replaced by its
first suggestion, each disguised word by its Latin twin, everything else byte for byte as written."""

from __future__ import annotations

import re

import pytest

from conftest import SEEDS
from service.cli import main
from service.homoglyphs import SOURCE as LOOK_ALIKE
from service.report import Report, Span, Suggestion
from service.restore import MIN_SCORE, replacements, restore
from test_homoglyphs import disguise

SPUN_SEED = "002_2ef1442c87ee1781.txt"
CLEAN_SEED = "000_37063bd84aa4b837.txt"


def _span(text: str, word: str, kind: str = "spun", suggestion: str | None = "x", sources=("lm",), nth: int = 0,
          score: float = 0.9) -> Span:
    start = [m.start() for m in re.finditer(re.escape(word), text)][nth]
    return Span(start=start, end=start + len(word), text=word, kind=kind, score=score,
                suggestions=[Suggestion(text=suggestion, score=0.9)] if suggestion is not None else [],
                sources=list(sources))


def _report(spans: list[Span]) -> Report:
    return Report(score=0.9, label="spun", lm="ngram:cmu-en-us", spans=spans)


def test_the_rule_spun_spans_and_uncovered_disguised_words_only():
    text = "The twо terrific powers have actuаlly met; its a bаnk.\r\n"
    spun = _span(text, "terrific", suggestion="great")
    deletion = _span(text, "have actuаlly", suggestion="have")
    covered = _span(text, "actuаlly", kind="formatting", suggestion="actually", sources=(LOOK_ALIKE,))
    disguised = [_span(text, w, kind="formatting", suggestion=w.replace("о", "o").replace("а", "a"),
                       sources=(LOOK_ALIKE,)) for w in ("twо", "bаnk")]
    grammar = _span(text, "its", kind="grammar", suggestion="it's", sources=("grammar",))
    bare = _span(text, "met", suggestion=None)
    unsure = _span(text, "powers", suggestion="countries", score=MIN_SCORE - 0.01)
    report = _report([disguised[0], spun, unsure, deletion, covered, grammar, bare, disguised[1]])
    assert replacements(report) == [disguised[0], spun, deletion, disguised[1]]
    assert restore(text, report) == "The two great powers have met; its a bank.\r\n"
    assert restore(text, report, min_score=0) == "The two great countries have met; its a bank.\r\n"
    assert restore(text, _report([])) == text
    # a disguised word inside a span too unsure to be replaced is still written in Latin letters
    inside = _span(text, "twо terrific", suggestion="x", score=0.1)
    assert restore(text, _report([inside, disguised[0]])) == text.replace("twо", "two")


def test_the_page_uses_the_same_min_score():
    from pathlib import Path

    import service

    js = (Path(service.__file__).parent / "api" / "static" / "app.js").read_text(encoding="utf-8")
    assert float(re.search(r"const RESTORE_MIN_SCORE = ([0-9.]+);", js).group(1)) == MIN_SCORE



def test_a_report_of_another_text_is_refused():
    report = _report([_span("The terrific powers met.", "terrific", suggestion="great")])
    with pytest.raises(ValueError, match="does not belong to this text"):
        restore("The great powers met.", report)


def test_restoring_the_spun_seed_applies_every_spun_span(engine, seeds):
    text = seeds[SPUN_SEED]
    report = engine.score(text)
    spun = [s for s in report.spans if s.kind == "spun"]
    sure = [s for s in spun if s.score >= MIN_SCORE]
    assert 0 < len(sure) < len(spun) and replacements(report) == sure  # the seed has no disguised word
    for spans, min_score in ((sure, MIN_SCORE), (spun, 0)):
        want = text
        for s in sorted(spans, key=lambda s: -s.start):
            want = want[: s.start] + s.suggestions[0].text + want[s.end :]
        assert restore(text, report, min_score) == want
    assert "Modifying by Lincoln Banquet" in text and "Editing by Lincoln Feast" in restore(text, report, 0)


def test_a_span_taking_in_its_article_keeps_the_line_break_and_the_capitals(engine):
    """A span that takes in the "a"/"an" before its word keeps what stood between them (the line break
    of a hard-wrapped line had become a space, and only when another listed suggestion needed the other
    article, so the restored text changed with the number of suggestions asked for); in capitals, a
    one-letter "A" stays in capitals ("A CRUCIAL" had come back "An IMPORTANT")."""
    text = ("Since North Korea and the United States established a\ndetente in 2018, both Moscow and Beijing "
            "have increasingly voiced support for reducing sanctions.\n")
    restored = {k: restore(text, engine.score(text, threshold=0.0, max_suggestions=k), 0) for k in (1, 3, 5)}
    assert len(set(restored.values())) == 1
    assert all(text.count("\n") == out.count("\n") for out in restored.values())
    report = engine.score(text, threshold=0.0, max_suggestions=5)
    took = [s for s in report.spans if s.text.startswith("a\n")]
    assert took and all(x.text.startswith(("a\n", "an\n")) for s in took for x in s.suggestions)
    caps = "IT IS A CRUCIAL MOMENT FOR THE COUNTRY, AND AN ESSENTIAL ONE."
    spans = [s for s in engine.score(caps, threshold=0.0, max_suggestions=5).spans if s.text.startswith(("A ", "AN "))]
    assert spans and all(x.text.split()[0] in ("A", "AN") and x.text.isupper() for s in spans for x in s.suggestions)


def test_a_disguised_seed_comes_back_in_latin_letters(engine, seeds):
    """Every disguised word the report names comes back as its Latin word; the Cyrillic letters
    left are those of the words it does not (names and words the n-gram model does not know)."""
    plain = seeds[CLEAN_SEED]
    text = disguise(plain)
    report = engine.score(text)
    out = restore(text, report)
    cyrillic = re.compile("[\u0400-\u04ff]")
    left = sum(len(cyrillic.findall(s)) for s in re.findall(r"\S+", out))
    unnamed = [s for s in re.finditer(r"[^\W\d_]+", text) if cyrillic.search(s.group())
               and not any(r.start <= s.start() < r.end for r in report.spans)]
    assert left == sum(len(cyrillic.findall(m.group())) for m in unnamed)
    assert left < len(cyrillic.findall(text)) / 10


def test_a_word_kept_before_a_dropped_filler_stays_as_written(engine, seeds):
    """"NATO actually increased" → "NATO increased": the kept word in its own capitals (it had come
    back "Nato", "U.s.", "Mcconnell": the models' lower case with a capital first letter)."""
    text = (seeds[SPUN_SEED].replace("Beijing have actually increasingly", "NATO actually increasingly")
            .replace("Pyongyang has actually once", "the U.S. actually once")
            .replace("North Korea has actually also", "McConnell actually also"))
    report = engine.score(text)
    firsts = {s.text: s.suggestions[0].text for s in report.spans if s.kind == "spun" and s.suggestions}
    assert firsts.get("NATO actually") == "NATO" and firsts.get("U.S. actually") == "U.S."
    assert firsts.get("McConnell actually") == "McConnell"
    out = restore(text, report, 0)
    assert all(w in out for w in ("NATO increasingly", "the U.S. once", "McConnell also")), out


def test_a_disguised_compound_comes_back_in_latin_letters(engine, seeds):
    """A compound whose parts the model knows ("h\u0430rd-line" with a Cyrillic а) is named and
    restored like a word (it had been left disguised: the model knows few compounds whole)."""
    text = seeds[CLEAN_SEED].replace("hard-line", "h\u0430rd-line", 1)
    assert "h\u0430rd-line" in text
    report = engine.score(text)
    assert any(s.kind == "formatting" and s.text == "h\u0430rd-line" and s.suggestions[0].text == "hard-line"
               for s in report.spans)
    assert "h\u0430rd-line" not in restore(text, report) and restore(text, report).count("hard-line") == seeds[CLEAN_SEED].count("hard-line")


def _invoke(runner, *args, input=None):
    return runner.invoke(main, ["restore", *map(str, args)], input=input, catch_exceptions=False)


def test_cli_writes_the_restored_text(runner, ngram_env, engine, seeds, tmp_path):
    text = seeds[SPUN_SEED].replace("\n", "\r\n")  # line breaks as written, not translated
    path = tmp_path / "spun.txt"
    path.write_bytes(text.encode("utf-16"))  # any encoding the batch reads; written back in UTF-8
    report = engine.score(text, path=str(path))
    want = restore(text, report)
    r = _invoke(runner, path)
    assert r.exit_code == 0 and r.stdout_bytes == want.encode("utf-8")
    assert f"{len(replacements(report))} replaced" in r.stderr
    every = _invoke(runner, path, "--min-score", "0")
    assert every.stdout_bytes == restore(text, report, 0).encode("utf-8") != want.encode("utf-8")
    assert f"{sum(s.kind == 'spun' for s in report.spans)} replaced" in every.stderr
    assert "Banquet and → Feast and" in every.stderr
    out = tmp_path / "out.txt"
    assert _invoke(runner, path, "-o", out).exit_code == 0
    assert out.read_bytes() == want.encode("utf-8") and not (tmp_path / "out.txt.part").exists()
    piped = _invoke(runner, "-", input=text.encode("utf-8"))
    assert piped.exit_code == 0 and piped.stdout_bytes == want.encode("utf-8")


def test_cli_refuses_what_it_cannot_restore(runner, ngram_env, tmp_path):
    r = _invoke(runner, tmp_path)
    assert r.exit_code == 2 and "is a folder" in r.stderr
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01" * 100)
    r = _invoke(runner, tmp_path / "bin.dat")
    assert r.exit_code == 1 and "binary" in r.stderr and r.stdout_bytes == b""
    r = _invoke(runner, tmp_path / "missing.txt")
    assert r.exit_code == 1 and "missing.txt: error:" in r.stderr
    r = _invoke(runner, SEEDS / CLEAN_SEED, "-o", tmp_path / "no" / "out.txt")
    assert r.exit_code == 2 and "does not exist" in r.stderr
    assert _invoke(runner, "").exit_code == 2
    # "-o new/" (no such folder) had written a file named "new"
    r = _invoke(runner, SEEDS / CLEAN_SEED, "-o", f"{tmp_path / 'new'}/")
    assert r.exit_code == 2 and "names a folder" in r.stderr and not (tmp_path / "new").exists()


def test_api_answers_the_restored_text_with_its_report(engine, seeds):
    from fastapi.testclient import TestClient

    from service.api import create_app
    from service.config import Settings

    text = disguise(seeds[SPUN_SEED])
    report = engine.score(text, id="d1")
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:
        r = c.post("/v1/restore", json={"text": text, "id": "d1"})
        plain = c.post("/v1/restore?threshold=0.9", content=text.encode(), headers={"content-type": "text/plain"})
        scored = c.post("/v1/score", json={"text": text, "id": "d1"}).json()
        empty = c.post("/v1/restore", json={"text": "  "})
        form = c.post("/v1/restore", data={"text": text})
        every = c.post("/v1/restore", json={"text": text, "id": "d1", "options": {"min_score": 0}}).json()
        bad = c.post("/v1/restore", json={"text": text, "options": {"min_score": True}})
        plain_every = c.post("/v1/restore?min_score=0&id=d1", content=text.encode(),
                             headers={"content-type": "text/plain"}).json()
        spec = c.get("/openapi.json").json()
    assert set(spec["paths"]["/v1/restore"]["post"]["requestBody"]["content"]) == {"application/json", "text/plain"}
    assert "RestoreResponse" in spec["components"]["schemas"]
    assert r.status_code == 200
    body = r.json()
    assert body["text"] == restore(text, report) and body["replaced"] == len(replacements(report))
    for answer in (body["report"], scored):
        answer["stats"].pop("seconds")
    assert body["report"] == scored  # the very report /v1/score gives
    strict = engine.score(text, threshold=0.9)
    assert plain.status_code == 200 and plain.json()["text"] == restore(text, strict)
    assert plain.json()["replaced"] == len(replacements(strict)) < body["replaced"]
    assert empty.status_code == 422 and form.status_code == 415 and bad.status_code == 422
    assert every["text"] == restore(text, report, 0) and every["replaced"] == len(replacements(report, 0)) > body["replaced"]
    assert "RestoreRequest" in spec["components"]["schemas"]
    assert plain_every["text"] == every["text"] and plain_every["replaced"] == every["replaced"]
