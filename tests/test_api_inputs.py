"""Inputs at the edges of the HTTP door and of the grammar settings: LanguageTool's incomplete-results
warning, JSON lone-surrogate escapes, grammar settings that cannot work, and /v2/check form bodies
(declared charsets, large multipart fields, text sent as a file part)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.api import create_app
from service.config import Settings, settings_error

#: a sentence the engine flags on its own ("have actually" -> "have")
SENTENCE = "Both Moscow and Beijing have actually increasingly voiced support for reducing sanctions."
NO_SERVER = "no LanguageTool server configured (UNSPIN_LANGUAGETOOL_URL)"


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:
        yield c


def _engine_with(engine, settings):
    """An engine with other (grammar) settings around the session engine's models (cheap)."""
    from service.engine import Engine

    return Engine(settings, lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon,
                  garble=engine.garble)


def _spun_rules(answer: dict) -> list[str]:
    return [m["rule"]["id"] for m in answer["matches"] if m["rule"]["id"] == "UNSPIN_SPUN_PHRASE"]


# --------------------------------------------------------------------------- /v2/check: incomplete results


def test_v2_check_says_results_are_incomplete_without_a_grammar_server(client):
    r = client.post("/v2/check", data={"language": "en-US", "text": SENTENCE})
    assert r.status_code == 200
    body = r.json()
    assert body["warnings"]["incompleteResults"] is True
    reason = body["warnings"]["incompleteResultsReason"]
    assert "not checked" in reason and NO_SERVER in reason and "UNSPIN_SPUN_PHRASE" in reason
    assert _spun_rules(body), "unspin's own matches are still there"
    # an empty text leaves nothing unchecked
    empty = client.post("/v2/check", data={"language": "en-US", "text": "  "}).json()
    assert empty["warnings"] == {"incompleteResults": False}


@pytest.mark.parametrize("mode", ["down", "500", "garbage"])
def test_v2_check_says_results_are_incomplete_when_the_grammar_server_fails(engine, fake_languagetool, mode):
    settings = Settings(lm="ngram", languagetool_url=fake_languagetool.url, languagetool_timeout=3)
    with TestClient(create_app(settings, engine=_engine_with(engine, settings))) as c:
        ok = c.post("/v2/check", data={"language": "en-US", "text": SENTENCE}).json()
        assert ok["warnings"] == {"incompleteResults": False}  # checked: as LanguageTool answers
        fake_languagetool.set_mode(mode)
        v1 = c.post("/v1/score", json={"text": SENTENCE}).json()["grammar"]
        assert v1["checked"] is False and v1["reason"]
        body = c.post("/v2/check", data={"language": "en-US", "text": SENTENCE}).json()
    assert body["warnings"]["incompleteResults"] is True
    reason = body["warnings"]["incompleteResultsReason"]
    assert "not checked" in reason and v1["reason"] in reason
    assert _spun_rules(body)


# --------------------------------------------------------------------------- /v1: lone surrogates in JSON


def _post_json(client, path: str, raw: str):
    return client.post(path, content=raw.encode("ascii"), headers={"content-type": "application/json"})


def test_a_lone_surrogate_escape_gets_the_engines_message(client):
    r = _post_json(client, "/v1/score", '{"text": "Hello \\ud800 there."}')
    assert r.status_code == 422
    assert r.json()["detail"].startswith("the text holds a lone surrogate (U+D800) at character offset 6")
    # a pair of surrogate escapes is one character, scored as usual
    ok = _post_json(client, "/v1/score", '{"text": "Hello \\ud83d\\ude00 there. ' + SENTENCE + '"}')
    assert ok.status_code == 200 and ok.json()["spans"]


def test_a_lone_surrogate_in_one_batch_document_fails_only_that_document(client):
    raw = json.dumps({"documents": [{"id": "a", "text": "Hello \udc00 there"}, {"id": "b", "text": SENTENCE}]})
    assert "\\udc00" in raw
    r = _post_json(client, "/v1/score/batch", raw)
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    assert first == {"id": "a", "index": 0, "status": 422,
                     "error": "the text holds a lone surrogate (U+DC00) at character offset 6: not a Unicode character"}
    assert second["id"] == "b" and second["spans"]


@pytest.mark.parametrize(
    "path, raw, needle",
    [
        ("/v1/score", '{"text": "Hi", "id": "x\\udc00"}', "lone surrogate"),  # an id is echoed back: refused
        ("/v1/score/batch", '{"documents": [{"id": "\\ud800", "text": "Hi"}]}', "lone surrogate"),
        ("/v1/score", '{"text": "Hi", "\\ud800": 1}', "extra inputs are not permitted (the name holds a lone"),
        ("/v1/score", '{"text": "Hi", "options": {"\\ud800": 1}}', '"loc": ["options", "\\\\ud800"]'),
        ("/v1/score", '{"text": "Hi \\ud800", oops}', "invalid json"),  # still pydantic's message
        ("/v1/score", '{"text": "Hi \\ud800", "options": {"threshold": 3}}', "less than or equal"),
    ],
)
def test_other_surrogate_escapes_are_a_plain_422(client, path, raw, needle):
    r = _post_json(client, path, raw)
    assert r.status_code == 422, r.text
    assert needle in json.dumps(r.json()["detail"]).lower()


def test_a_surrogate_decoded_from_a_declared_charset_is_named(client):
    """A body in UTF-7 decodes to surrogate characters, not escapes: the text's is refused with the
    engine's message, a key's as an unknown field (before: pydantic's "unable to parse raw data")."""
    def post(obj: str):
        return client.post("/v1/score", content=obj.encode("utf-7"),
                           headers={"content-type": "application/json; charset=utf-7"})

    r = post('{"text": "Hello \ud800 world."}')
    assert r.status_code == 422 and r.json()["detail"].startswith("the text holds a lone surrogate (U+D800)")
    r = post('{"text": "Hello world.", "\ud800": 1}')
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["\\ud800"]


# --------------------------------------------------------------------------- grammar settings


@pytest.mark.parametrize("url", ["not a url", "localhost:8081", "ftp://lt.example.com/", "http://", "http://host:abc",
                                 "http://local host:8081"])
def test_a_languagetool_url_that_is_not_http_is_a_configuration_error(url):
    with pytest.raises(ValidationError) as err:
        Settings(languagetool_url=url)
    assert f"UNSPIN_LANGUAGETOOL_URL={url!r}" in settings_error(err.value)


@pytest.mark.parametrize("url", ["http://localhost:8081", "https://lt.example.com/api/", "http://[::1]:8081/"])
def test_http_languagetool_urls_are_taken(url):
    assert Settings(languagetool_url=url).languagetool_url == url
    assert Settings(languagetool_url="").languagetool_url is None  # empty: unset


def test_a_bad_languagetool_url_stops_the_cli_with_exit_2(runner, ngram_env, monkeypatch, tmp_path):
    from service.cli import main

    doc = tmp_path / "a.txt"
    doc.write_text(SENTENCE, encoding="utf-8")
    monkeypatch.setenv("UNSPIN_LANGUAGETOOL_URL", "localhost:8081")
    res = runner.invoke(main, ["score", str(doc)])
    assert res.exit_code == 2 and "UNSPIN_LANGUAGETOOL_URL='localhost:8081'" in res.stderr


@pytest.mark.parametrize("case", ["missing", "empty", "no-java"])
def test_an_unusable_ltp_path_is_named_in_the_reason(engine, monkeypatch, tmp_path, case):
    import service.grammar as grammar

    folder = tmp_path / "nothing-here"
    if case != "missing":
        folder.mkdir()
    if case == "no-java":
        (folder / "LanguageTool-6.3").mkdir()
        (folder / "LanguageTool-6.3" / "languagetool-server.jar").write_bytes(b"")
        monkeypatch.setattr(grammar.shutil, "which", lambda name: None)
    monkeypatch.delenv("UNSPIN_LANGUAGETOOL_URL", raising=False)
    monkeypatch.setenv("LTP_PATH", str(folder))
    settings = Settings(lm="ngram")
    assert settings.ltp_path == folder
    eng = _engine_with(engine, settings)
    why = {"missing": "is not a folder", "empty": "no unpacked LanguageTool", "no-java": "java"}[case]
    report = eng.score(SENTENCE)
    assert report.grammar.checked is False
    assert "LTP_PATH" in report.grammar.reason and str(folder) in report.grammar.reason and why in report.grammar.reason
    assert NO_SERVER not in report.grammar.reason
    with TestClient(create_app(settings, engine=eng)) as c:
        lt = c.post("/v2/check", data={"language": "en-US", "text": SENTENCE}).json()
        ready = c.get("/readyz").json()["grammar"]
    assert lt["warnings"]["incompleteResults"] is True and report.grammar.reason in lt["warnings"]["incompleteResultsReason"]
    assert ready == {"configured": True, "reachable": False, "detail": report.grammar.reason}


# --------------------------------------------------------------------------- /v2/check form bodies


def test_v2_form_bodies_honour_their_charset(client):
    form = "application/x-www-form-urlencoded; charset=ISO-8859-1"
    for body in ("text=caf\xe9 au lait&language=en-US".encode("latin-1"), b"text=caf%E9+au+lait&language=en-US"):
        r = client.post("/v2/check", content=body, headers={"content-type": form})
        assert r.status_code == 200, r.text
        assert r.json()["sentenceRanges"] == [[0, 12]]
    utf8 = client.post("/v2/check", content=b"text=caf%C3%A9+au+lait&language=en-US",
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert utf8.status_code == 200 and utf8.json()["sentenceRanges"] == [[0, 12]]
    spun = client.post("/v2/check", content=f"text={SENTENCE} Caf\xe9.&language=en-US".encode("latin-1"),
                       headers={"content-type": form})
    assert _spun_rules(spun.json())
    bad = client.post("/v2/check", content=b"text=x&language=en-US",
                      headers={"content-type": "application/x-www-form-urlencoded; charset=rot13"})
    assert bad.status_code == 415 and bad.text.startswith("Error: ")
    # a charset that yields a lone surrogate (UTF-7) in a quoted parameter: a 400, never a 500
    odd = client.post("/v2/check", content=b"text=Hi&language=+2AA-",
                      headers={"content-type": "application/x-www-form-urlencoded; charset=utf-7"})
    assert odd.status_code == 400 and odd.text.startswith("Error: ")


def test_v2_multipart_text_over_a_mebibyte_is_413_with_the_documented_limit(client):
    r = client.post("/v2/check", files={"text": (None, "word " * 300_000), "language": (None, "en-US")})
    assert r.status_code == 413, r.text
    assert r.text.startswith("Error: ") and "limit of 200000 characters" in r.text


def test_v2_text_sent_as_a_multipart_file_part_is_read(client):
    as_form = client.post("/v2/check", data={"language": "en-US", "text": SENTENCE}).json()
    r = client.post("/v2/check", files={"text": ("a.txt", SENTENCE.encode("utf-8"), "text/plain")},
                    data={"language": "en-US"})
    assert r.status_code == 200, r.text
    assert r.json()["matches"] == as_form["matches"] and _spun_rules(r.json())
    latin = client.post("/v2/check", files={"text": ("a.txt", "caf\xe9 au lait".encode("latin-1"),
                                                     "text/plain; charset=latin-1")}, data={"language": "en-US"})
    assert latin.status_code == 200 and latin.json()["sentenceRanges"] == [[0, 12]]
    bad = client.post("/v2/check", files={"text": ("a.txt", b"caf\xe9", "text/plain")}, data={"language": "en-US"})
    assert bad.status_code == 400 and "'text' file part is not valid UTF-8" in bad.text


def test_v2_markup_holding_a_lone_surrogate_is_a_400(client):
    data = json.dumps({"annotation": [{"markup": "<\ud800>"}, {"text": SENTENCE}]})
    r = client.post("/v2/check", data={"language": "en-US", "data": data})
    assert r.status_code == 400 and "lone surrogate" in r.text


# --------------------------------------------------------------------------- /v1 text/plain bodies


def test_a_binary_text_plain_body_is_refused(client):
    """A text/plain body is a file's bytes: the command line's rule for binary files applies (it had
    been scored, 'clean')."""
    for body in (b"hello\0\0\0world. The cat sat on the mat.", bytes(range(1, 32)) * 20 + b"The cat sat."):
        for path in ("/v1/score", "/v1/restore"):
            r = client.post(path, content=body, headers={"content-type": "text/plain; charset=latin-1"})
            assert r.status_code == 415 and "binary" in r.json()["detail"], (path, r.text)
    ok = client.post("/v1/score", content="Tabs\tand\r\nline ends are text.".encode(), headers={"content-type": "text/plain"})
    assert ok.status_code == 200


def test_binary_json_text_is_refused_as_a_text_plain_body_is(client):
    """A JSON string can carry what makes a text/plain body binary (``"\\u0000"``, control characters):
    such text had been scored ('clean'); it is refused with 422, as other text that cannot be scored
    (in a batch, in its own slot)."""
    for text in ("hello\0\0\0world. The cat sat on the mat.", "".join(map(chr, range(1, 32))) * 20 + "The cat sat."):
        for path in ("/v1/score", "/v1/restore"):
            r = client.post(path, json={"text": text})
            assert r.status_code == 422 and "binary" in r.json()["detail"], (path, r.text)
        r = client.post("/v1/score/batch", json={"documents": [{"id": "a", "text": text}, {"id": "b", "text": SENTENCE}]})
        assert r.status_code == 200, r.text
        first, second = r.json()["results"]
        assert first["status"] == 422 and "binary" in first["error"] and second["id"] == "b" and second["spans"]
    ok = client.post("/v1/score", json={"text": "Tabs\tand\r\nline ends are text."})
    assert ok.status_code == 200


def test_utf16_without_a_byte_order_mark_names_its_order(client):
    """``charset=utf-16`` with no byte-order mark had been read in this machine's byte order (big-endian
    text came out as CJK letters, scored 'clean'); the byte order must be said."""
    text = "The cat sat on the mat."
    r = client.post("/v1/score", content=text.encode("utf-16-be"), headers={"content-type": "text/plain; charset=utf-16"})
    assert r.status_code == 400 and "byte-order mark" in r.json()["detail"] and "utf-16be" in r.json()["detail"]
    for charset, body in (("utf-16", text.encode("utf-16")), ("utf-16be", text.encode("utf-16-be")),
                          ("UTF-32", text.encode("utf-32"))):
        r = client.post("/v1/restore", content=body, headers={"content-type": f"text/plain; charset={charset}"})
        assert r.status_code == 200 and r.json()["text"] == text, charset


def test_a_body_without_a_charset_is_read_as_its_byte_order_mark_says(client):
    """A text/plain body in UTF-16 or UTF-32 with its byte-order mark and no charset had been refused
    as invalid UTF-8, although the command line scores such a file and the page reads it; the mark
    says how to read it, and the report is the one of the same text in UTF-8."""
    text = "Reporting by Josh Smith; Modifying by Lincoln Banquet"
    want = client.post("/v1/score", content=text.encode("utf-8"), headers={"content-type": "text/plain"}).json()
    for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        body = ("\ufeff" + text).encode(codec) if codec[-3:] in ("-le", "-be") else text.encode(codec)
        assert body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:4] == b"\x00\x00\xfe\xff", codec
        r = client.post("/v1/score", content=body, headers={"content-type": "text/plain"})
        assert r.status_code == 200, (codec, r.text)
        got = r.json()
        assert got["spans"] == want["spans"] and got["label"] == want["label"], codec
    # a charset the body declares still rules (a mark that disagrees is not valid in it)
    r = client.post("/v1/score", content=text.encode("utf-16"), headers={"content-type": "text/plain; charset=utf-8"})
    assert r.status_code == 400 and "UTF-8" in r.json()["detail"]


def test_binary_text_on_the_languagetool_endpoint_is_refused_as_on_v1(client):
    """/v2/check had scored what /v1 and the command line refuse as binary, and answered it with no
    matches (a NUL inside "Modifying by Lincoln Banquet" hid both of its matches): a 400 naming it."""
    for text in ("Reporting by Josh Smith; Modifying by\x00 Lincoln Banquet", "Prices rose \x01\x02\x03\x04\x05 sharply. " * 3):
        for field in ("text", "data"):
            value = text if field == "text" else json.dumps({"annotation": [{"text": text}]})
            r = client.post("/v2/check", data={field: value, "language": "en-US"})
            assert r.status_code == 400 and "binary" in r.text and r.text.startswith("Error: "), (field, r.text)
    assert client.post("/v2/check", data={"text": "Tabs\tand\r\nline ends are text.", "language": "en-US"}).status_code == 200


@pytest.mark.parametrize("options", [{"second_look": 0}, {"grammar": "off"}, {"grammar": "yes"},
                                     {"threshold": "0.99"}, {"max_suggestions": "2"}, {"max_suggestions": 2.0}])
def test_json_options_of_another_type_are_refused(client, options):
    """A JSON option of another type than the schema's had been converted ("off" read as false,
    "0.99" as 0.99), although ``true`` for a number was refused; each is refused and named."""
    for path in ("/v1/score", "/v1/restore"):
        r = client.post(path, json={"text": "The cat sat on the mat.", "options": options})
        assert r.status_code == 422 and next(iter(options)) in r.text, (path, r.text)
    batch = client.post("/v1/score/batch", json={"documents": [{"id": "a", "text": "The cat sat."}], "options": options})
    assert batch.status_code == 422
    ok = client.post("/v1/score", json={"text": "The cat sat on the mat.", "options": {"threshold": 1, "grammar": False}})
    assert ok.status_code == 200  # a whole number is a number
