"""The LanguageTool-compatible endpoint: a real LanguageTool client (language_tool_python) against the
running app, and the answer's shape checked against responses recorded from a real LanguageTool server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from live_server import serve
from service.api import create_app
from service.api.languagetool import SENTENCE_MAX_CHARS, _context, _rule
from service.config import Settings
from service.report import SPUN_DOC_EVIDENCE, Span, Suggestion
from service.utf16 import Utf16Index

RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "languagetool"
SEED_SPUN = "002_2ef1442c87ee1781.txt"
SEED_CLEAN = "000_37063bd84aa4b837.txt"
#: a sentence of the spun seed the engine flags on its own ("have actually" -> "have")
SENTENCE = "Both Moscow and Beijing have actually increasingly voiced support for reducing sanctions."


@pytest.fixture(scope="module")
def app(engine):
    return create_app(Settings(lm="ngram"), engine=engine)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def base_url(app):
    with serve(app) as url:
        yield url


def _recording(name: str) -> dict:
    path = RECORDINGS / name
    if not path.exists():
        pytest.skip(f"LanguageTool recordings not present ({path.name} under ../shared/languagetool)")
    return json.loads(path.read_text(encoding="utf-8"))


def _shape(value):
    """The JSON shape of a value: dict keys and value types, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def test_language_tool_python_round_trip(base_url, seeds, engine):
    lt = pytest.importorskip("language_tool_python")
    text = "Emoji first 😀👍🏽 then: " + seeds[SEED_SPUN]
    tool = lt.LanguageTool("en-US", remote_server=base_url)
    try:
        matches = tool.check(text)
    finally:
        tool.close()
    ours = [m for m in matches if m.rule_id == "UNSPIN_SPUN_PHRASE"]
    report = engine.score(text)
    spun = [s for s in report.spans if s.kind == "spun"]
    assert len(ours) == len(spun) > 5
    for m, s in zip(ours, spun):
        # language_tool_python turns LanguageTool's UTF-16 offsets back into code points: they must land
        assert text[m.offset : m.offset + m.error_length] == s.text
        assert m.replacements == [x.text for x in s.suggestions]
        assert m.category == "UNSPIN"
    # the client's own correct() applies each first replacement: the engine's likely original
    expected = text
    for s in sorted(spun, key=lambda s: -s.start):
        expected = expected[: s.start] + s.suggestions[0].text + expected[s.end :]
    assert lt.utils.correct(text, ours) == expected != text


def test_offsets_are_utf16_code_units(client, seeds):
    text = "🎉 " + seeds[SEED_SPUN].replace("Korea", "Korea 😀")
    r = client.post("/v2/check", data={"language": "en-US", "text": text})
    assert r.status_code == 200, r.text
    matches = r.json()["matches"]
    assert matches
    units = text.encode("utf-16-le")
    for m in matches:
        got = units[2 * m["offset"] : 2 * (m["offset"] + m["length"])].decode("utf-16-le")
        assert got.strip() and got in text
        ctx = m["context"]
        c_units = ctx["text"].encode("utf-16-le")
        assert c_units[2 * ctx["offset"] : 2 * (ctx["offset"] + ctx["length"])].decode("utf-16-le") == got
    spun = [m for m in matches if m["rule"]["id"] == "UNSPIN_SPUN_PHRASE"]
    assert len(spun) > 5
    last = spun[-1]["offset"]
    assert last - Utf16Index(text).to_codepoint(last) >= 10  # it sits past many astral characters


def test_same_shape_as_a_real_languagetool_answer(client, seeds):
    recorded = _recording("raw_002_2ef1442c87ee1781_default.json")
    ours = client.post("/v2/check", data={"language": "en-US", "text": seeds[SEED_SPUN]}).json()
    rec_shape, our_shape = _shape(recorded), _shape(ours)
    # every field LanguageTool sends at the top level and in a match, with the same JSON types
    for key in ("software", "warnings", "language", "matches", "sentenceRanges"):
        assert key in ours
    assert set(our_shape["language"]) >= {"name", "code", "detectedLanguage"}
    rec_match, our_match = rec_shape["matches"][0], our_shape["matches"][0]
    assert set(our_match) == set(rec_match)
    for key, value in rec_match.items():
        if key == "rule":
            assert set(our_match["rule"]) >= {"id", "description", "issueType", "category"}
            assert our_match["rule"]["category"] == value["category"]
        else:
            assert our_match[key] == value, key
    assert our_shape["sentenceRanges"] == rec_shape["sentenceRanges"]
    assert ours["language"]["code"] == recorded["language"]["code"] == "en-US"


@pytest.mark.parametrize("name, seed", [("raw_002_2ef1442c87ee1781_default.json", SEED_SPUN),
                                        ("raw_000_37063bd84aa4b837_default.json", SEED_CLEAN)])
def test_context_and_sentence_ranges_match_languagetool(name, seed, seeds):
    """Our context window is LanguageTool's: same text, offset and length for every recorded match."""
    recorded = _recording(name)
    text = seeds[seed]
    ix = Utf16Index(text)
    for m in recorded["matches"]:
        start, end = ix.to_codepoint(m["offset"]), ix.to_codepoint(m["offset"] + m["length"])
        assert _context(text, start, end) == (m["context"]["text"], m["context"]["offset"], m["context"]["length"])


def test_merges_a_real_languagetool_servers_matches(engine, seeds, fake_languagetool):
    """With a LanguageTool server configured (the fake one, answering its recorded responses), its
    matches come through /v2/check unchanged next to unspin's own."""
    from service.engine import Engine

    fake = fake_languagetool

    settings = Settings(lm="ngram", languagetool_url=fake.url)
    eng = Engine(settings, lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon)
    text = seeds[SEED_SPUN]
    with TestClient(create_app(settings, engine=eng)) as c:
        ours = c.post("/v2/check", data={"language": "en-US", "text": text}).json()
        ready = c.get("/readyz").json()
    assert ready["grammar"] == {"configured": True, "reachable": True, "detail": ready["grammar"]["detail"]}
    rules = {m["rule"]["id"] for m in ours["matches"]}
    assert "UNSPIN_SPUN_PHRASE" in rules
    recorded = _recording("raw_002_2ef1442c87ee1781_default.json")
    ours_by_pos = {(m["offset"], m["length"], m["rule"]["id"]): m for m in ours["matches"]}
    for m in recorded["matches"]:
        key = (m["offset"], m["length"], m["rule"]["id"])
        assert key in ours_by_pos, key
        got = ours_by_pos[key]
        for field in ("message", "shortMessage", "context", "type"):
            assert got[field] == m[field], (key, field)
        # the sentence is unspin's own segmentation (LanguageTool's can split elsewhere); it holds the match
        assert m["context"]["text"][m["context"]["offset"] :][: m["context"]["length"]] in got["sentence"]
        # the rule whole (links, sub-id, rule file, tags: in LanguageTool's key order) and contextForSureMatch
        assert list(got["rule"].items()) == list(m["rule"].items()), key
        assert got["contextForSureMatch"] == m["contextForSureMatch"], key
        assert [r["value"] for r in got["replacements"]] == [r["value"] for r in m["replacements"]][: len(got["replacements"])]


def test_languages(client):
    langs = client.get("/v2/languages").json()
    assert {"name": "English (US)", "code": "en", "longCode": "en-US"} in langs


@pytest.mark.parametrize(
    "data, status, needle",
    [
        ({"language": "xx-YY", "text": "Hello there."}, 400, "Supported language codes are: en, en-US"),
        ({"text": "Hello there."}, 400, "Missing 'language'"),
        ({"language": "en-US"}, 400, "Missing 'text' or 'data'"),
        ({"language": "en-US", "data": "{oops"}, 400, "'data' must be JSON"),
        ({"language": "en-US", "text": "Hi.", "enabledOnly": "true"}, 400, "enabledOnly"),
        ({"language": "en-US", "text": "Hi.", "data": '{"annotation": []}'}, 400, "not both"),
        ({"language": "en-US", "text": "Hi.", "level": "bogus"}, 400, "'level'"),
        ({"language": "en-US", "data": "[" * 100_000 + "]" * 100_000}, 400, "'data' must be JSON"),
        ({"language": "en-US", "data": '{"annotation": [{"text": null}]}'}, 400, "must be a string, not null"),
        ({"language": "en-US", "data": '{"annotation": [{"markup": "<b>", "interpretAs": 3}]}'}, 400, "not a number"),
        ({"language": "en-US", "data": '{"annotation": [{"text": "Hi \\ud800 there."}]}'}, 400, "lone surrogate"),
    ],
)
def test_protocol_errors_are_languagetool_style(client, data, status, needle):
    r = client.post("/v2/check", data=data)
    assert r.status_code == status
    assert r.text.startswith("Error: ") and needle in r.text


@pytest.mark.parametrize("body", [b"language=en-US&text=caf%FF%FE+x", b"language=en-US&text=caf\xff x"])
def test_invalid_utf8_form_is_refused(client, body):
    r = client.post("/v2/check", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "UTF-8" in r.text and r.text.startswith("Error: ")


def test_invalid_utf8_query_and_broken_multipart_are_refused(client):
    r = client.get("/v2/check?language=en-US&text=caf%FF")
    assert r.status_code == 400 and "UTF-8" in r.text and r.text.startswith("Error: ")
    ok = client.get("/v2/check?language=en-US&text=caf%C3%A9+au+lait")
    assert ok.status_code == 200 and ok.json()["sentenceRanges"] == [[0, 12]]
    broken = client.post("/v2/check", content=b'--a\r\nContent-Disposition: form-data; name="text"\r\n\r\nx',
                         headers={"content-type": "multipart/form-data; boundary=b"})
    assert broken.status_code == 400 and broken.text.startswith("Error: ")
    assert client.post("/v2/check", data={"language": "en-US", "text": "Hi there.", "level": "picky"}).status_code == 200


def test_a_wall_of_text_does_not_repeat_its_sentence_in_every_match(client):
    # one unpunctuated "sentence" far over SENTENCE_MAX_CHARS with a flag in it: the match carries
    # its context, not the whole sentence (which made answers grow with matches x length)
    wall = " ".join(f"word{i} and more" for i in range(400)) + " " + SENTENCE.rstrip(".") + " and " + "so on " * 200
    r = client.post("/v2/check", data={"language": "en-US", "text": wall})
    assert r.status_code == 200
    matches = r.json()["matches"]
    assert matches and all(len(m["sentence"]) <= SENTENCE_MAX_CHARS for m in matches)
    assert all(m["sentence"] == m["context"]["text"] for m in matches)
    short = client.post("/v2/check", data={"language": "en-US", "text": SENTENCE}).json()["matches"]
    assert short[0]["sentence"] == SENTENCE


def test_wrong_content_type_and_get(client):
    r = client.post("/v2/check", content=b'{"text": "x"}', headers={"content-type": "application/json"})
    assert r.status_code == 415 and r.text.startswith("Error: ")
    g = client.get("/v2/check", params={"language": "en-US", "text": SENTENCE})
    assert g.status_code == 200 and g.json()["matches"][0]["rule"]["id"] == "UNSPIN_SPUN_PHRASE"


def test_empty_text_has_no_matches(client):
    r = client.post("/v2/check", data={"language": "auto", "text": "  "})
    assert r.status_code == 200
    assert r.json()["matches"] == [] and r.json()["language"]["code"] == "en-US"


def test_rule_filters(client):
    text = SENTENCE + " The b\u0430nk said so."  # a Cyrillic a: a look-alike match beside the spun phrase
    base = client.post("/v2/check", data={"language": "en-US", "text": text}).json()["matches"]
    assert {m["rule"]["id"] for m in base} == {"UNSPIN_SPUN_PHRASE", "UNSPIN_LOOK_ALIKE_LETTERS"}
    off = client.post("/v2/check", data={"language": "en-US", "text": text, "disabledRules": "UNSPIN_SPUN_PHRASE"}).json()
    assert {m["rule"]["id"] for m in off["matches"]} == {"UNSPIN_LOOK_ALIKE_LETTERS"}
    cat = client.post("/v2/check", data={"language": "en-US", "text": text, "disabledCategories": "UNSPIN"}).json()
    assert {m["rule"]["id"] for m in cat["matches"]} == {"UNSPIN_LOOK_ALIKE_LETTERS"}  # of its own category
    both = client.post("/v2/check", data={"language": "en-US", "text": text,
                                          "disabledCategories": "UNSPIN,UNSPIN_DISGUISED_TEXT"}).json()
    assert both["matches"] == []
    only = client.post("/v2/check", data={"language": "en-US", "text": text, "enabledOnly": "true",
                                          "enabledRules": "UNSPIN_SPUN_PHRASE"}).json()
    assert only["matches"] == [m for m in base if m["rule"]["id"] == "UNSPIN_SPUN_PHRASE"]


def test_annotated_data_offsets_count_markup(client):
    plain = SENTENCE
    data = {"annotation": [{"markup": "<p>"}, {"text": "Both Moscow and "}, {"markup": "<b>"}, {"text": "Beijing"},
                           {"markup": "</b>"}, {"text": " have actually increasingly voiced support for reducing sanctions."},
                           {"markup": "</p>", "interpretAs": "\n\n"}]}
    original = "<p>Both Moscow and <b>Beijing</b> have actually increasingly voiced support for reducing sanctions.</p>"
    r = client.post("/v2/check", data={"language": "en-US", "data": json.dumps(data)})
    assert r.status_code == 200, r.text
    m = r.json()["matches"][0]
    assert original[m["offset"] : m["offset"] + m["length"]] == "have actually"
    plain_r = client.post("/v2/check", data={"language": "en-US", "text": plain}).json()["matches"][0]
    assert [x["value"] for x in m["replacements"]] == [x["value"] for x in plain_r["replacements"]]


def test_markup_after_a_match_is_not_in_it(client):
    """A match ends where its last character ends in the annotated text, as LanguageTool maps it:
    closing markup right after the words is not part of the match (a client applying the
    replacement would have deleted the tag), markup inside it is; a sentence range ends before a
    closing tag; a match on text read through ``interpretAs`` covers that markup whole."""
    data = {"annotation": [{"markup": "<p>"}, {"text": "Both Moscow and Beijing "}, {"markup": "<b>"},
                           {"text": "have actually"}, {"markup": "</b>"},
                           {"text": " increasingly voiced support for reducing sanctions."},
                           {"markup": "</p>", "interpretAs": "\n\n"}]}
    original = "".join(p.get("text", p.get("markup")) for p in data["annotation"])
    r = client.post("/v2/check", data={"language": "en-US", "data": json.dumps(data)}).json()
    m = r["matches"][0]
    assert original[m["offset"] : m["offset"] + m["length"]] == "have actually"
    assert m["context"]["text"][m["context"]["offset"] : m["context"]["offset"] + m["context"]["length"]] == "have actually"
    (start, end), = r["sentenceRanges"]
    assert original[start:end].endswith("sanctions.")
    inside = {"annotation": [{"text": "Both Moscow and Beijing "}, {"markup": "<x/>", "interpretAs": "have actually"},
                             {"text": " increasingly voiced support for reducing sanctions."}]}
    m = client.post("/v2/check", data={"language": "en-US", "data": json.dumps(inside)}).json()["matches"][0]
    assert (m["offset"], m["length"]) == (len("Both Moscow and Beijing "), len("<x/>"))


def test_auto_answers_the_english_variant_it_checked_in(client):
    """``language=auto`` is checked in the English variant among ``preferredVariants`` and the answer
    names that variant (it had said en-US while asking LanguageTool for en-GB); without one, en-US;
    an English variant unspin does not know is refused, as LanguageTool refuses it."""
    def language(**extra):
        r = client.post("/v2/check", data={"language": "auto", "text": SENTENCE, **extra})
        return r.status_code, (r.json()["language"]["code"] if r.status_code == 200 else r.text)

    assert language(preferredVariants="de-AT,en-GB") == (200, "en-GB")
    assert language(preferredVariants="en-au") == (200, "en-AU")
    assert language() == (200, "en-US")
    status, why = language(preferredVariants="en-XX")
    assert status == 400 and why.startswith("Error: 'en-XX' is not a language code known to unspin"), why
    r = client.post("/v2/check", data={"language": "auto", "preferredVariants": "de-AT,en-GB", "text": SENTENCE}).json()
    assert r["language"]["detectedLanguage"]["code"] == "en-GB"


def test_grammar_server_down_degrades_clearly(engine, fake_languagetool):
    """A configured LanguageTool server that stops answering: still ready, still scoring, and both
    /readyz and the report say plainly that grammar was not checked; when it comes back, it is used again."""
    from service.engine import Engine

    settings = Settings(lm="ngram", languagetool_url=fake_languagetool.url)
    eng = Engine(settings, lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon)
    with TestClient(create_app(settings, engine=eng)) as c:
        fake_languagetool.set_mode("down")
        ready = c.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["grammar"]["configured"] is True and ready.json()["grammar"]["reachable"] is False
        r = c.post("/v1/score", json={"text": SENTENCE})
        assert r.status_code == 200
        assert r.json()["grammar"]["checked"] is False and r.json()["grammar"]["reason"]
        lt = c.post("/v2/check", data={"language": "en-US", "text": SENTENCE})
        assert lt.status_code == 200 and lt.json()["matches"][0]["rule"]["id"] == "UNSPIN_SPUN_PHRASE"
        fake_languagetool.set_mode("ok")
        assert c.get("/readyz").json()["grammar"]["reachable"] is True
        assert c.post("/v1/score", json={"text": SENTENCE}).json()["grammar"]["checked"] is True


def test_a_span_the_document_verdict_added_says_so():
    """A span listed because its document was judged spun (the second threshold) tells the editor
    why; the others do not carry that sentence."""
    span = Span(start=0, end=6, text="select", kind="spun", score=0.35,
                suggestions=[Suggestion(text="choose", score=0.6)], evidence={SPUN_DOC_EVIDENCE: 0.3})
    _, message, short, _ = _rule(span)
    assert "“choose”" in message and "document as a whole reads as spun" in message and short == "Spun wording"
    _, plain, _, _ = _rule(span.model_copy(update={"evidence": {}}))
    assert "document as a whole" not in plain


def test_context_marks_the_match_in_text_with_crlf_tabs_and_emoji():
    """The context's offset and length mark the match's own letters whatever the line ends: each
    newline becomes one space, a carriage return or a tab stays (LanguageTool's ``getContext``), and
    the window is 40 UTF-16 units each side, '...' on a side with at least 40 more."""
    for text in ("Reporting by Josh Smith\r\nModifying by Lincoln Banquet",
                 "Reporting by\tJosh Smith\rModifying by Lincoln Banquet",
                 "😀 Reporting 😀 by Josh Smith 😀\nModifying by Lincoln Banquet"):
        start = text.index("Modifying")
        ctx, off, length = _context(text, start, start + len("Modifying"))
        u16 = ctx.encode("utf-16-le")
        assert u16[2 * off : 2 * (off + length)].decode("utf-16-le") == "Modifying"
        assert "\n" not in ctx and ctx.count("\r") == text.count("\r") and ctx.count("\t") == text.count("\t")
    text = "x" * 40 + "word" + "y" * 40  # exactly 40 each side: LanguageTool writes '...' both sides
    assert _context(text, 40, 44) == ("..." + text + "...", 43, 4)
    text = "x" * 39 + "word" + "y" * 39
    assert _context(text, 39, 43) == (text, 39, 4)
    text = "😀" * 30 + "word"  # 60 UTF-16 units before: 20 emoji fit in 40
    assert _context(text, 30, 34) == ("..." + "😀" * 20 + "word", 43, 4)


def test_the_fake_servers_context_is_languagetools_in_utf16_units():
    """The fake LanguageTool had counted its context in code points and written '...' only where
    text was cut, so that with emoji its windows were not LanguageTool's; it follows the same rule as
    the service's context (checked against the recorded answers above)."""
    from fake_languagetool import _context as fake_context

    for text, word in (("😀 Reporting 😀 by Josh Smith 😀😀😀😀😀😀\nModifying by Lincoln Banquet 😀", "Modifying"),
                       ("x" * 40 + "word" + "y" * 40, "word"), ("x" * 39 + "word" + "y" * 39, "word"),
                       ("😀" * 30 + "word", "word"), ("word" + "😀" * 30, "word"), ("a 😀" * 25 + "word", "word")):
        start = text.index(word)
        ctx, off, length = _context(text, start, start + len(word))
        assert fake_context(text, start, start + len(word)) == {"text": ctx, "offset": off, "length": length}, text


def test_a_clients_language_level_and_rules_reach_the_languagetool_server(engine, fake_languagetool):
    """What a LanguageTool client sends /v2/check (language, level, rules, categories, mother tongue)
    is what the configured LanguageTool server is asked with, unspin's own rule ids left out; a
    request that enables only unspin's rules asks the server nothing, and still reads as checked."""
    from service.engine import Engine

    fake = fake_languagetool
    settings = Settings(lm="ngram", languagetool_url=fake.url)
    eng = Engine(settings, lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon)
    text = "He ate a apple on Tuesday. " + SENTENCE
    with TestClient(create_app(settings, engine=eng)) as c:
        fake.reset()
        plain = c.post("/v2/check", data={"language": "en-US", "text": text}).json()
        assert fake.requests[-1]["params"]["language"] == "en-US" and "level" not in fake.requests[-1]["params"]
        assert "EN_A_VS_AN" in {m["rule"]["id"] for m in plain["matches"]}
        r = c.post("/v2/check", data={"language": "en-GB", "text": text, "level": "picky", "motherTongue": "de-DE",
                                      "disabledRules": "EN_A_VS_AN,UNSPIN_SPUN_PHRASE", "enabledRules": "SOME_RULE",
                                      "disabledCategories": "UNSPIN,TYPOS"}).json()
        sent = fake.requests[-1]["params"]
        assert {k: sent.get(k) for k in ("language", "level", "motherTongue", "disabledRules", "enabledRules",
                                         "disabledCategories")} == {
            "language": "en-GB", "level": "picky", "motherTongue": "de-DE", "disabledRules": "EN_A_VS_AN",
            "enabledRules": "SOME_RULE", "disabledCategories": "TYPOS"}  # fmt: skip
        assert r["language"]["code"] == "en-GB" and "EN_A_VS_AN" not in {m["rule"]["id"] for m in r["matches"]}
        assert not r["warnings"]["incompleteResults"]
        auto = c.post("/v2/check", data={"language": "auto", "preferredVariants": "de-AT,en-GB", "text": text}).json()
        assert fake.requests[-1]["params"]["language"] == "en-GB" and auto["language"]["code"] == "en-GB"
        asked = len(fake.requests)
        only = c.post("/v2/check", data={"language": "en-US", "text": text, "enabledOnly": "true",
                                         "enabledRules": "UNSPIN_SPUN_PHRASE"}).json()
        assert len(fake.requests) == asked and not only["warnings"]["incompleteResults"]
        assert {m["rule"]["id"] for m in only["matches"]} == {"UNSPIN_SPUN_PHRASE"}


@pytest.mark.parametrize("content_type", ["application/json; charset=UTF-8", "text/plain;charset=UTF-8", None,
                                          "multipart/form-data"])
def test_a_form_body_is_read_whatever_its_content_type_says(client, content_type):
    """LanguageTool reads a POST body as form fields whatever its content type: LTeX (VS Code) sends
    one labelled ``application/json``, a browser's ``fetch`` of a string says ``text/plain``, some
    clients say multipart without a boundary. All had been refused (415, or 400 "Missing boundary")."""
    from urllib.parse import urlencode

    body = urlencode({"language": "en-US", "data": json.dumps({"annotation": [{"text": SENTENCE}]})}).encode()
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/v2/check", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert [m["rule"]["id"] for m in r.json()["matches"]] == ["UNSPIN_SPUN_PHRASE"]
    # a JSON document is still refused, with the reason, whatever it is labelled
    for label in ("application/json", "text/plain"):
        r = client.post("/v2/check", content=json.dumps({"language": "en-US", "text": SENTENCE}).encode(),
                        headers={"content-type": label})
        assert r.status_code == 415 and r.text.startswith("Error: ") and "form-encoded" in r.text


def test_data_may_be_a_plain_text_object(client):
    """``data={"text": ...}``, which LanguageTool takes as well as an annotation, had been refused."""
    plain = client.post("/v2/check", data={"language": "en-US", "text": SENTENCE}).json()
    r = client.post("/v2/check", data={"language": "en-US", "data": json.dumps({"text": SENTENCE})})
    assert r.status_code == 200 and r.json()["matches"] == plain["matches"] and r.json()["matches"]


def test_mode_enabled_only_yes_and_query_over_body(client):
    """``mode=textLevelOnly`` asks for text-level rules only, none of which is unspin's; an unknown
    mode is refused as LanguageTool refuses it (both had been ignored); ``enabledOnly=yes`` is
    ``true`` as in LanguageTool (it had been false); on a POST the query string wins over the body,
    as in LanguageTool (the body had won)."""
    def rules(**extra):
        r = client.post("/v2/check", data={"language": "en-US", "text": SENTENCE, **extra})
        assert r.status_code == 200, r.text
        return [m["rule"]["id"] for m in r.json()["matches"]]

    assert rules() == rules(mode="all") == rules(mode="allButTextLevelOnly") == ["UNSPIN_SPUN_PHRASE"]
    assert rules(mode="textLevelOnly") == []
    bad = client.post("/v2/check", data={"language": "en-US", "text": SENTENCE, "mode": "bogus"})
    assert bad.status_code == 400 and bad.text.startswith("Error: Mode must be one of")
    assert rules(enabledOnly="yes", enabledRules="SOME_RULE") == []
    assert client.post("/v2/check", data={"language": "en-US", "text": "Hi.", "enabledOnly": "yes"}).status_code == 400
    r = client.post("/v2/check?language=en-GB", data={"language": "en-US", "text": SENTENCE})
    assert r.status_code == 200 and r.json()["language"]["code"] == "en-GB"


def test_healthcheck_answers_as_languagetool_does(engine):
    """``/v2/healthcheck``, which health probes written for LanguageTool ask, had been 404: it says
    ``OK`` once checks can be answered, and 503 with LanguageTool's ``Error:`` body before."""
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:
        r = c.get("/v2/healthcheck")
        assert r.status_code == 200 and r.text == "OK"
        c.app.state.unspin.engine = None  # as while the model loads
        r = c.get("/v2/healthcheck")
        assert r.status_code == 503 and r.text.startswith("Error: ")


def test_auto_asks_the_languagetool_server_in_the_language_the_answer_names(engine, fake_languagetool):
    """With ``UNSPIN_LANGUAGETOOL_LANGUAGE=auto`` (or a language that is not English), ``language=auto``
    without an English ``preferredVariants`` had asked the server with ``auto`` while the answer said
    en-US; the server is now asked in the variant the answer names. ``mode`` reaches the server too."""
    from service.engine import Engine

    fake = fake_languagetool
    for configured in ("auto", "de-DE"):
        settings = Settings(lm="ngram", languagetool_url=fake.url, languagetool_language=configured)
        eng = Engine(settings, lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon)
        with TestClient(create_app(settings, engine=eng)) as c:
            fake.reset()
            r = c.post("/v2/check", data={"language": "auto", "text": "He ate a apple on Tuesday."}).json()
            assert r["language"]["code"] == "en-US" and fake.requests[-1]["params"]["language"] == "en-US"
            c.post("/v2/check", data={"language": "en-GB", "text": "He ate a apple.", "mode": "allButTextLevelOnly"})
            assert fake.requests[-1]["params"]["mode"] == "allButTextLevelOnly"


def test_languagetools_own_incomplete_results_come_through(engine, fake_languagetool):
    """LanguageTool saying its results are incomplete (its check-time limit) is not lost: the report
    is checked but not complete, with LanguageTool's reason, and /v2/check says incompleteResults."""
    from fake_languagetool import INCOMPLETE_REASON
    from service.engine import Engine

    settings = Settings(lm="ngram", languagetool_url=fake_languagetool.url)
    eng = Engine(settings, lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon)
    text = "He ate a apple on Tuesday."
    why = "LanguageTool's results are incomplete: " + INCOMPLETE_REASON.split(": ", 1)[1]
    with TestClient(create_app(settings, engine=eng)) as c:
        whole = c.post("/v2/check", data={"language": "en-US", "text": text}).json()
        assert whole["warnings"] == {"incompleteResults": False}
        assert c.post("/v1/score", json={"text": text}).json()["grammar"]["complete"] is True
        fake_languagetool.set_mode("incomplete")
        grammar = c.post("/v1/score", json={"text": text}).json()["grammar"]
        assert (grammar["checked"], grammar["complete"], grammar["reason"], grammar["matches"]) == (True, False, why, 1)
        r = c.post("/v2/check", data={"language": "en-US", "text": text}).json()
        assert "EN_A_VS_AN" in {m["rule"]["id"] for m in r["matches"]}  # its matches are real
        assert r["warnings"] == {
            "incompleteResults": True,
            "incompleteResultsReason": f"Grammar and spelling were checked only in part: {why}.",
        }


def test_a_clients_language_the_languagetool_server_lacks_is_answered_as_before(engine, fake_languagetool):
    """A client's own language that unspin knows but the configured LanguageTool server does not
    (en-CA here) is the server's answer for that request, not unspin's configuration problem: 200,
    unspin's matches, and incompleteResults with the server's own error."""
    from service.engine import Engine

    settings = Settings(lm="ngram", languagetool_url=fake_languagetool.url)
    eng = Engine(settings, lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon)
    with TestClient(create_app(settings, engine=eng)) as c:
        r = c.post("/v2/check", data={"language": "en-CA", "text": SENTENCE})
        assert r.status_code == 200 and r.json()["language"]["code"] == "en-CA"
        assert fake_languagetool.requests[-1]["params"]["language"] == "en-CA"
        warnings = r.json()["warnings"]
        assert warnings["incompleteResults"] is True
        assert "not checked" in warnings["incompleteResultsReason"]
        assert "'en-CA' is not a language code known to LanguageTool" in warnings["incompleteResultsReason"]
        assert "UNSPIN_LANGUAGETOOL_LANGUAGE" not in warnings["incompleteResultsReason"]
        assert {m["rule"]["id"] for m in r.json()["matches"]} == {"UNSPIN_SPUN_PHRASE"}
