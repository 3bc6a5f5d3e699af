"""The HTTP door: every endpoint, every error case, and the same answer as the engine and the CLI."""

from __future__ import annotations

import json
import logging
import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.config import Settings

SEED_SPUN = "002_2ef1442c87ee1781.txt"
SEED_CLEAN = "000_37063bd84aa4b837.txt"


def _strip(report: dict) -> dict:
    """A report without what legitimately differs between two runs (timing, id, path)."""
    r = json.loads(json.dumps(report))
    r["stats"].pop("seconds", None)
    r.pop("id", None)
    r.pop("path", None)
    return r


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:
        yield c


def test_healthz_and_readyz(client, engine):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["ready"] is True and body["lm"] == engine.lm_name
    assert body["grammar"]["configured"] is False
    assert "not checked" in body["grammar"]["detail"]


def test_score_json_is_the_engines_report(client, engine, seeds):
    text = seeds[SEED_SPUN]
    r = client.post("/v1/score", json={"text": text, "id": "doc-1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "doc-1"
    assert _strip(body) == _strip(engine.score(text).model_dump(mode="json"))
    assert body["spans"], "the spun seed must have spans"
    for s in body["spans"]:
        assert text[s["start"] : s["end"]] == s["text"]


def test_score_plain_text_with_query_options(client, seeds):
    text = seeds[SEED_SPUN]
    plain = client.post("/v1/score?threshold=0.99&id=x", content=text.encode(), headers={"content-type": "text/plain; charset=utf-8"})
    assert plain.status_code == 200, plain.text
    as_json = client.post("/v1/score", json={"text": text, "id": "x", "options": {"threshold": 0.99}})
    assert _strip(plain.json()) == _strip(as_json.json())
    assert plain.json()["id"] == "x"
    assert all(s["score"] >= 0.99 or "lexicon" in s["sources"] for s in plain.json()["spans"] if s["kind"] == "spun")


def test_options_change_the_answer(client, seeds):
    text = seeds[SEED_SPUN]
    low = client.post("/v1/score", json={"text": text, "options": {"threshold": 0.05, "max_suggestions": 1}}).json()
    high = client.post("/v1/score", json={"text": text, "options": {"threshold": 0.9}}).json()
    assert len(low["spans"]) > len(high["spans"])
    assert all(len(s["suggestions"]) <= 1 for s in low["spans"] if s["kind"] == "spun")


@pytest.mark.parametrize(
    "kwargs, status, reason",
    [
        ({"json": {"text": ""}}, 422, "empty"),
        ({"json": {"text": " \n\t "}}, 422, "whitespace"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "json"),
        ({"json": {"txt": "hello"}}, 422, "text"),
        ({"json": {"text": "hello", "options": {"threshold": 3}}}, 422, "threshold"),
        ({"content": b"<doc/>", "headers": {"content-type": "application/xml"}}, 415, "application/xml"),
        ({"content": b"hello"}, 415, "content type"),
        ({"content": b"caf\xe9 au lait", "headers": {"content-type": "text/plain"}}, 400, "UTF-8"),
        ({"content": b'{"text": "caf\xe9"}', "headers": {"content-type": "application/json"}}, 400, "UTF-8"),
        ({"content": b"", "headers": {"content-type": "text/plain"}}, 422, "empty"),
        ({"content": b"hello", "headers": {"content-type": "text/plain; charset=rot13"}}, 415, "not a text encoding"),
        ({"content": b"hello", "headers": {"content-type": "text/plain; charset=no-such"}}, 415, "unknown"),
        ({"content": b"Hi +2AA- there", "headers": {"content-type": "text/plain; charset=utf-7"}}, 422, "surrogate"),
        ({"content": b'{"text": "Hi \\ud800 there"}', "headers": {"content-type": "application/json"}}, 422,
         "the text holds a lone surrogate (U+D800) at character offset 3"),
        ({"json": {"text": "hello", "options": {"threshold": True}}}, 422, "boolean"),
        ({"json": {"text": "hello", "options": {"max_suggestions": True}}}, 422, "boolean"),
    ],
)
def test_bad_input_gets_a_4xx_with_a_reason(client, kwargs, status, reason):
    r = client.post("/v1/score", **kwargs)
    assert r.status_code == status, r.text
    assert reason.lower() in json.dumps(r.json()["detail"]).lower()


def test_a_json_body_takes_no_query_options(client):
    """Options beside a JSON body would be left unread (``?min_score=0`` had answered at the default,
    200): refused with where they go; a number that is not finite is named as such."""
    for path, body in [("/v1/score", {"text": "Hello there."}), ("/v1/restore", {"text": "Hello there."}),
                       ("/v1/score/batch", {"documents": [{"text": "Hello there."}]})]:
        r = client.post(path + "?threshold=0.3&id=x", json=body)
        assert r.status_code == 422 and '"options"' in r.json()["detail"] and "id, threshold" in r.json()["detail"], r.text
    for path, field in [("/v1/score", "threshold"), ("/v1/restore", "min_score")]:
        r = client.post(path, content=b'{"text": "Hello there.", "options": {"%s": NaN}}' % field.encode(),
                        headers={"content-type": "application/json"})
        assert r.status_code == 422 and "finite" in json.dumps(r.json()["detail"]), r.text
        r = client.post(f"{path}?{field}=nan", content=b"Hello there.", headers={"content-type": "text/plain"})
        assert r.status_code == 422 and "finite" in json.dumps(r.json()["detail"]), r.text


def test_query_options_must_be_utf8(client):
    r = client.post("/v1/score?id=%FF%FE", content=b"Hello there.", headers={"content-type": "text/plain"})
    assert r.status_code == 400 and "UTF-8" in r.json()["detail"]
    ok = client.post("/v1/score?id=caf%C3%A9&threshold=0.3", content=b"Hello there.", headers={"content-type": "text/plain"})
    assert ok.status_code == 200 and ok.json()["id"] == "café"


def test_limits_are_configurable(engine):
    settings = Settings(lm="ngram", max_chars=50, max_body_bytes=500, max_batch_documents=2)
    with TestClient(create_app(settings, engine=engine)) as c:
        r = c.post("/v1/score", json={"text": "word " * 20})
        assert r.status_code == 413 and "limit is 50" in r.json()["detail"]
        r = c.post("/v1/score", content=b"x" * 600, headers={"content-type": "text/plain"})
        assert r.status_code == 413 and "UNSPIN_MAX_BODY_BYTES" in r.json()["detail"]
        r = c.post("/v1/score/batch", json={"documents": [{"text": "a b"}] * 3})
        assert r.status_code == 413 and "limit is 2" in r.json()["detail"]
        r = c.post("/v1/score/batch", json={"documents": [{"text": "word " * 6}, {"text": "more " * 6}]})
        assert r.status_code == 413 and "60 characters together; the limit is 50" in r.json()["detail"]  # one request's work
        r = c.post("/v1/score/batch", json={"documents": [{"text": "word " * 20}, {"text": "The cat sat."}]})
        assert r.status_code == 200 and r.json()["results"][0]["status"] == 413  # answered in its slot, unscored
        assert r.json()["results"][1]["stats"]["words"] == 3
        r = c.post("/v2/check", data={"language": "en-US", "text": "word " * 20})
        assert r.status_code == 413 and r.text.startswith("Error:")


def test_batch_keeps_order_and_reports_failures_in_place(client, engine, seeds):
    docs = [
        {"id": "spun", "text": seeds[SEED_SPUN]},
        {"id": "empty", "text": "   "},
        {"id": "clean", "text": seeds[SEED_CLEAN]},
    ]
    r = client.post("/v1/score/batch", json={"documents": docs})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["id"] for x in results] == ["spun", "empty", "clean"]
    assert results[1] == {"id": "empty", "index": 1, "status": 422, "error": "the text contains only whitespace"}
    assert _strip(results[0]) == _strip(engine.score(seeds[SEED_SPUN]).model_dump(mode="json"))
    assert _strip(results[2]) == _strip(engine.score(seeds[SEED_CLEAN]).model_dump(mode="json"))


@pytest.mark.parametrize(
    "body, status",
    [({"documents": []}, 422), ({"docs": [{"text": "a"}]}, 422), ({"documents": [{"id": "a"}]}, 422)],
)
def test_batch_bad_requests(client, body, status):
    assert client.post("/v1/score/batch", json=body).status_code == status


def test_batch_wrong_content_type(client):
    r = client.post("/v1/score/batch", content=b"hello", headers={"content-type": "text/plain"})
    assert r.status_code == 415


def test_api_keys(engine):
    with TestClient(create_app(Settings(lm="ngram", api_keys="k1, k2"), engine=engine)) as c:
        r = c.post("/v1/score", json={"text": "The cat sat."})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.post("/v1/score", json={"text": "The cat sat."}, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.post("/v1/score", json={"text": "The cat sat."}, headers={"Authorization": "Bearer k2"}).status_code == 200
        assert c.post("/v1/score/batch", json={"documents": [{"text": "a b"}]}).status_code == 401
        assert c.post("/v2/check", data={"language": "en-US", "text": "The cat sat."}).status_code == 401
        ok = c.post("/v2/check", data={"language": "en-US", "text": "The cat sat.", "apiKey": "k1"})
        assert ok.status_code == 200
        # health, readiness, metrics, docs and the page stay open
        for path in ("/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/docs-static/swagger-ui.css", "/",
                     "/v2/languages", "/v2/healthcheck"):
            assert c.get(path).status_code == 200, path


def test_cors(engine):
    with TestClient(create_app(Settings(lm="ngram", cors_origins="https://editor.example"), engine=engine)) as c:
        pre = c.options("/v1/score", headers={"Origin": "https://editor.example", "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": "content-type"})
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "https://editor.example"
        other = c.options("/v1/score", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert other.headers.get("access-control-allow-origin") is None
        # a script on the page may read when to ask again and why a key was refused (it could not)
        r = c.post("/v1/score", json={"text": ""}, headers={"Origin": "https://editor.example"})
        assert {"Retry-After", "WWW-Authenticate"} <= set(r.headers["access-control-expose-headers"].split(", "))
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:  # off by default
        r = c.post("/v1/score", json={"text": "The cat sat."}, headers={"Origin": "https://editor.example"})
        assert "access-control-allow-origin" not in r.headers


def test_metrics_count_requests_words_and_errors(engine):
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:
        c.post("/v1/score", json={"text": "The two terrific powers met in the city."})
        c.post("/v1/score", json={"text": ""})
        text = c.get("/metrics").text
    assert 'unspin_requests_total{method="POST",route="/v1/score",status="200"} 1.0' in text
    assert 'unspin_errors_total{route="/v1/score",status="422"} 1.0' in text
    assert "unspin_words_scored_total 8.0" in text
    assert 'unspin_request_seconds_count{route="/v1/score"} 2.0' in text


def test_docs_openapi_and_static_files_are_counted_under_their_routes(engine):
    """FastAPI's own pages and the page's files had been counted as ``unmatched``, with unknown paths;
    each is counted under its route (every static file under one template: no label per file name)."""
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:
        for path in ("/docs", "/openapi.json", "/redoc", "/static/app.js", "/static/app.css", "/static/nope.js",
                     "/nope", "/v1/score/"):
            c.get(path, follow_redirects=False)
        text = c.get("/metrics").text
    for label in ('method="GET",route="/docs",status="200"} 1.0', 'method="GET",route="/openapi.json",status="200"} 1.0',
                  'method="GET",route="/redoc",status="200"} 1.0', 'method="GET",route="/static/{path}",status="200"} 2.0',
                  'method="GET",route="/static/{path}",status="404"} 1.0', 'method="GET",route="unmatched",status="404"} 1.0',
                  'method="GET",route="unmatched",status="307"} 1.0'):
        assert "unspin_requests_total{" + label in text, label
    assert "app.js" not in text and "nope" not in text


def test_docs_pages_load_nothing_from_another_host(engine):
    """``/docs`` and ``/redoc`` had loaded Swagger UI and ReDoc from a CDN, so that on a machine
    without the internet (the Docker image in a closed network) they were blank. Every script,
    style and icon they name is now served by the app, and answers; the pages answer ``HEAD`` as
    FastAPI's own did."""
    import re

    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:
        for page in ("/docs", "/redoc"):
            html = c.get(page)
            assert html.status_code == 200 and c.head(page).status_code == 200
            urls = re.findall(r'(?:src|href)="([^"]+)"', html.text)
            assert urls and not [u for u in urls if not u.startswith("/docs-static/")], urls
            assert "http" not in html.text.replace("http-equiv", ""), page
            for u in urls:
                r = c.get(u)
                assert r.status_code == 200 and r.headers["content-type"].split(";")[0] in (
                    "text/javascript", "text/css", "image/png"), u
        bundle = c.get("/docs-static/swagger-ui-bundle.js").text
        # Swagger UI 5 or later: version 4 cannot read the OpenAPI 3.1 description FastAPI writes
        assert int(re.search(r'PACKAGE_VERSION:"(\d+)\.\d+\.\d+"', bundle).group(1)) >= 5
        assert c.get("/openapi.json").json()["openapi"].startswith("3.1")
        assert 'route="/docs-static/{path}",status="200"} ' in c.get("/metrics").text


def test_openapi_documents_both_body_types(client):
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/score"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/plain"}
    assert "ScoreRequest" in spec["components"]["schemas"]
    assert "/v2/check" in spec["paths"] and "/readyz" in spec["paths"]
    assert client.get("/docs").status_code == 200


class _BlockingEngine:
    """An engine stand-in whose ``score`` waits until released (to fill the queue)."""

    def __init__(self, real):
        self.real, self.lm, self.grammar = real, real.lm, None
        self.lm_name = real.lm_name
        self.release = threading.Event()
        self.started = threading.Semaphore(0)
        self.texts: list[str] = []

    def score(self, text, **kw):
        self.texts.append(text)
        self.started.release()
        self.release.wait(30)
        return self.real.score(text, **kw)


def test_full_queue_answers_503_with_retry_after(engine):
    from live_server import serve

    blocking = _BlockingEngine(engine)
    app = create_app(Settings(lm="ngram", concurrency=1, queue_size=1), engine=blocking)  # type: ignore[arg-type]
    results: list[int] = []
    with serve(app) as url:
        def call():
            results.append(httpx.post(url + "/v1/score", json={"text": "The cat sat."}, timeout=60).status_code)

        first = threading.Thread(target=call)
        first.start()
        assert blocking.started.acquire(timeout=10)  # the first request is running
        second = threading.Thread(target=call)
        second.start()
        deadline = __import__("time").monotonic() + 10
        while app.state.unspin.gate.pending < 2 and __import__("time").monotonic() < deadline:
            __import__("time").sleep(0.01)
        third = httpx.post(url + "/v1/score", json={"text": "The cat sat."}, timeout=10)
        assert third.status_code == 503
        assert int(third.headers["retry-after"]) >= 1
        assert "busy" in third.json()["detail"]
        # LanguageTool's protocol: the same refusal as its "Error: ..." text
        lt = httpx.post(url + "/v2/check", data={"text": "The cat sat.", "language": "en-US"}, timeout=10)
        assert lt.status_code == 503 and int(lt.headers["retry-after"]) >= 1
        assert lt.headers["content-type"].startswith("text/plain") and lt.text.startswith("Error: ") and "busy" in lt.text
        blocking.release.set()
        first.join(30)
        second.join(30)
        assert results == [200, 200]
        assert "unspin_rejected_busy_total 2.0" in httpx.get(url + "/metrics").text


@pytest.mark.parametrize("path, body", [
    ("/v1/score", lambda text: {"json": {"text": text}}),
    ("/v1/score/batch", lambda text: {"json": {"documents": [{"text": text}]}}),
    ("/v2/check", lambda text: {"data": {"text": text, "language": "en-US"}}),
])
def test_a_queued_request_whose_client_went_away_gives_up_its_place(engine, path, body):
    """A request waiting for a scoring slot whose client had gone away (a timeout, a closed tab) had
    kept its place in the queue, so that others were refused as busy, and was scored for nobody."""
    import time

    from live_server import serve

    blocking = _BlockingEngine(engine)
    app = create_app(Settings(lm="ngram", concurrency=1, queue_size=1), engine=blocking)  # type: ignore[arg-type]
    gate = app.state.unspin.gate
    results: list[int] = []
    with serve(app) as url:
        def call(text: str) -> None:
            results.append(httpx.post(url + path, **body(text), timeout=60).status_code)

        first = threading.Thread(target=call, args=("The cat sat.",))
        first.start()
        assert blocking.started.acquire(timeout=10)  # the first request is running
        with pytest.raises(httpx.ReadTimeout):  # the second waits in the queue; its client gives up
            httpx.post(url + path, **body("The dog ran away."), timeout=httpx.Timeout(10, read=0.5))
        deadline = time.monotonic() + 10
        while gate.pending > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gate.pending == 1  # its place is free: the next request waits instead of being refused
        third = threading.Thread(target=call, args=("The bird sang.",))
        third.start()
        while gate.pending < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        blocking.release.set()
        first.join(30)
        third.join(30)
        assert results == [200, 200]
        assert blocking.texts == ["The cat sat.", "The bird sang."]  # the abandoned text was never scored
        metrics = httpx.get(url + "/metrics").text
    assert f'unspin_requests_total{{method="POST",route="{path}",status="499"}} 1.0' in metrics


@pytest.mark.parametrize("path, body", [
    ("/v1/score", lambda text: {"json": {"text": text}}),
    ("/v1/score/batch", lambda text: {"json": {"documents": [{"text": text}]}}),
    ("/v2/check", lambda text: {"data": {"text": text, "language": "en-US"}}),
])
def test_a_running_request_whose_client_went_away_is_not_counted_as_answered(engine, path, body):
    """A request being scored when its client went away was answered all the same and counted as a
    200 (and as a document scored): the result of the worker thread came back through the cancelled
    scope. It is dropped and counted as 499; the next request is answered as usual."""
    import time

    from live_server import serve

    blocking = _BlockingEngine(engine)
    app = create_app(Settings(lm="ngram", concurrency=1, queue_size=1), engine=blocking)  # type: ignore[arg-type]
    with serve(app) as url:
        gone = threading.Thread(target=lambda: pytest.raises(
            httpx.ReadTimeout, httpx.post, url + path, **body("The cat sat."), timeout=httpx.Timeout(10, read=0.5)))
        gone.start()
        assert blocking.started.acquire(timeout=10)  # it is being scored
        gone.join(10)  # and its client has given up
        time.sleep(0.2)  # the server has seen the disconnect
        blocking.release.set()
        deadline = time.monotonic() + 10
        while app.state.unspin.gate.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        assert httpx.post(url + path, **body("The dog ran."), timeout=30).status_code == 200
        metrics = httpx.get(url + "/metrics").text
    assert f'unspin_requests_total{{method="POST",route="{path}",status="499"}} 1.0' in metrics
    assert f'unspin_requests_total{{method="POST",route="{path}",status="200"}} 1.0' in metrics
    assert "unspin_documents_scored_total 1.0" in metrics


@pytest.mark.parametrize("path, body", [
    ("/v1/score", lambda text: {"json": {"text": text}}),
    ("/v1/restore", lambda text: {"json": {"text": text}}),
    ("/v1/score/batch", lambda text: {"json": {"documents": [{"text": text}, {"text": text}]}}),
    ("/v2/check", lambda text: {"data": {"text": text, "language": "en-US"}}),
])
def test_the_scoring_of_a_request_whose_client_went_away_stops(engine, path, body):
    """A request being scored when its client went away had been scored to the end for nobody (the
    second look: minutes for a long text), holding a scoring slot all the while, so that an editor
    checking again as its user typed kept the service busy. It now stops at the next slot, and the
    slot is free for the next request."""
    import time

    from live_server import serve
    from slow_engine import SlowSecondLook

    slow = SlowSecondLook(engine)  # ten seconds read whole
    app = create_app(Settings(lm="ngram", concurrency=1, queue_size=1), engine=slow)  # type: ignore[arg-type]
    with serve(app) as url:
        t0 = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(url + path, **body("The cat sat."), timeout=httpx.Timeout(10, read=0.5))
        assert slow.started.acquire(timeout=10)
        deadline = time.monotonic() + 8
        while not slow.ended and time.monotonic() < deadline:
            time.sleep(0.02)
        assert slow.ended == ["Abandoned"], slow.ended  # stopped, not read to the end
        assert slow.read[0] < 200 and time.monotonic() - t0 < 8
        while app.state.unspin.gate.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        assert app.state.unspin.gate.pending == 0  # its place is free
        answered = httpx.post(url + path, **body("The dog ran."), timeout=60)
        assert answered.status_code == 200
        assert slow.ended[1:] == ["done"] * (2 if path == "/v1/score/batch" else 1)  # the next is read whole
        metrics = httpx.get(url + "/metrics").text
    assert f'unspin_requests_total{{method="POST",route="{path}",status="499"}} 1.0' in metrics
    assert f'unspin_requests_total{{method="POST",route="{path}",status="200"}} 1.0' in metrics


def test_every_get_answers_head_and_a_405_names_every_method(client, seeds):
    """HEAD answers as GET does, without the body, on every GET route (monitors and link checkers
    probe with it: the page and /v2/check had answered 405); a 405's Allow header names every
    method of the path (PUT /v2/check had been told POST alone); HEAD stays out of the OpenAPI."""
    text = seeds[SEED_SPUN][:300]
    for path, params in [("/", None), ("/healthz", None), ("/readyz", None), ("/metrics", None),
                         ("/v2/languages", None), ("/v2/check", {"text": text, "language": "en-US"})]:
        get, head = client.get(path, params=params), client.head(path, params=params)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"], path
    assert client.head("/v2/check", params={"text": text, "language": "xx"}).status_code == 400  # the same checks as GET
    for method, path, allowed in [("PUT", "/v2/check", "GET, HEAD, POST"), ("DELETE", "/healthz", "GET, HEAD"),
                                  ("GET", "/v1/score", "POST"), ("PUT", "/", "GET, HEAD")]:
        r = client.request(method, path)
        assert r.status_code == 405 and r.headers["allow"] == allowed, (method, path, r.headers.get("allow"))
        # under /v2 errors are LanguageTool's plain "Error: ..." text (they had been JSON)
        v2 = path.startswith("/v2/")
        assert r.headers["content-type"].startswith("text/plain" if v2 else "application/json"), (method, path)
        assert r.text.startswith("Error: ") == v2, (method, path, r.text)
    assert client.get("/nowhere").status_code == 404
    for method, path in [("GET", "/v2/chek"), ("POST", "/v2/languages")]:
        r = client.request(method, path)
        assert r.status_code in (404, 405) and r.text.startswith("Error: "), (method, path, r.text)
        assert r.headers["content-type"].startswith("text/plain"), (method, path)
    paths = client.get("/openapi.json").json()["paths"]
    assert not any("head" in ops for ops in paths.values()) and set(paths["/v2/check"]) == {"get", "post"}


def test_readyz_while_loading_and_after_a_failed_load(monkeypatch, engine):
    import service.api.app as app_module

    gate = threading.Event()

    def slow(settings):
        gate.wait(30)
        return engine

    monkeypatch.setattr(app_module, "get_engine", slow)
    with TestClient(create_app(Settings(lm="ngram"))) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["ready"] is False and "loading" in r.json()["detail"]
        assert c.get("/healthz").status_code == 200
        assert c.head("/readyz").status_code == 503 and c.head("/healthz").status_code == 200  # monitors' HEAD
        busy = c.post("/v1/score", json={"text": "The cat sat."})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
        gate.set()
        c.app.state.unspin.loaded.wait(10)
        assert c.get("/readyz").status_code == 200 and c.head("/readyz").status_code == 200
        assert c.post("/v1/score", json={"text": "The cat sat."}).status_code == 200

    def broken(settings):
        raise RuntimeError("no model here")

    monkeypatch.setattr(app_module, "get_engine", broken)
    with TestClient(create_app(Settings(lm="ngram"))) as c:
        c.app.state.unspin.loaded.wait(10)
        r = c.get("/readyz")
        assert r.status_code == 503 and "no model here" in r.json()["detail"]
        assert c.post("/v1/score", json={"text": "The cat sat."}).status_code == 503


class _BrokenEngine:
    def __init__(self, real):
        self.lm, self.grammar = real.lm, None

    def score(self, text, **kw):
        raise RuntimeError(f"exploded on {text}")


def test_nothing_the_user_sent_is_logged(engine, caplog):
    secret = "Zyxwvut confidential manuscript sentence"
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:
        assert c.post("/v1/score", json={"text": secret}).status_code == 200
        assert c.post("/v1/score", content=b"\xff" + secret.encode(), headers={"content-type": "text/plain"}).status_code == 400
    with TestClient(create_app(Settings(lm="ngram"), engine=_BrokenEngine(engine)), raise_server_exceptions=False) as c:  # type: ignore[arg-type]
        r = c.post("/v1/score", json={"text": secret})
        assert r.status_code == 500 and r.json() == {"detail": "internal error"}
        batch = c.post("/v1/score/batch", json={"documents": [{"text": secret}]}).json()
        assert batch["results"][0]["status"] == 500 and secret not in json.dumps(batch)
    assert "Zyxwvut" not in caplog.text


def test_an_internal_error_is_counted_and_carries_cors_headers(engine):
    """A 500 had been left out of the metrics (an alert on errors never fired) and answered outside
    the CORS middleware (a browser page saw a CORS failure, not the error)."""
    settings = Settings(lm="ngram", cors_origins="https://editor.example")
    with TestClient(create_app(settings, engine=_BrokenEngine(engine)), raise_server_exceptions=False) as c:  # type: ignore[arg-type]
        origin = {"Origin": "https://editor.example"}
        r = c.post("/v1/score", json={"text": "The cat sat."}, headers=origin)
        assert r.status_code == 500 and r.json() == {"detail": "internal error"}
        assert r.headers["access-control-allow-origin"] == "https://editor.example"
        v2 = c.post("/v2/check", data={"text": "The cat sat.", "language": "en-US"}, headers=origin)
        assert v2.status_code == 500 and v2.text == "Error: internal error"
        assert v2.headers["access-control-allow-origin"] == "https://editor.example"
        text = c.get("/metrics").text
    assert 'unspin_errors_total{route="/v1/score",status="500"} 1.0' in text
    assert 'unspin_errors_total{route="/v2/check",status="500"} 1.0' in text


@pytest.mark.parametrize("path", ["/v1/score", "/v2/check"])
def test_a_compressed_body_is_refused_with_the_reason(client, path):
    """Its bytes had been read as text: "not valid UTF-8 (byte offset 1)"."""
    import gzip

    body = gzip.compress(b"text=The+cat+sat.&language=en-US" if path == "/v2/check" else b'{"text": "The cat sat."}')
    kind = "application/x-www-form-urlencoded" if path == "/v2/check" else "application/json"
    r = client.post(path, content=body, headers={"content-type": kind, "content-encoding": "gzip"})
    assert r.status_code == 415 and "Content-Encoding: gzip" in r.text and "uncompressed" in r.text
    assert r.headers["accept-encoding"] == "identity"


def test_serve_lets_requests_in_flight_finish_for_a_while_only(monkeypatch):
    """A client stalled in the middle of its body had kept a stopping server up for as long as it
    stalled, refusing every new connection meanwhile."""
    import uvicorn
    from click.testing import CliRunner

    from service.cli import GRACEFUL_SHUTDOWN_SECONDS, main

    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: ran.update(kw))
    monkeypatch.setattr("service.cli._check_listen", lambda host, port: None)
    res = CliRunner().invoke(main, ["serve", "--port", "18099"])
    assert res.exit_code == 0, res.output
    assert ran["timeout_graceful_shutdown"] == GRACEFUL_SHUTDOWN_SECONDS == 30


def test_serve_takes_the_path_prefix_a_proxy_strips(monkeypatch, engine):
    """Behind a proxy that strips a path prefix, ``/docs`` loaded its description from the root and a
    slash redirect left the prefix out: ``unspin serve`` had no way to be told it. ``--root-path``
    is passed to the server, which gives it to the app."""
    import uvicorn
    from click.testing import CliRunner

    from service.cli import main

    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: ran.update(kw))
    monkeypatch.setattr("service.cli._check_listen", lambda host, port: None)
    for given, passed in ((None, ""), ("/unspin", "/unspin"), (" /tools/unspin/ ", "/tools/unspin")):
        res = CliRunner().invoke(main, ["serve", *(["--root-path", given] if given is not None else [])])
        assert res.exit_code == 0, res.output
        assert ran["root_path"] == passed
    for bad in ("unspin", "/a b", "/a?b"):
        res = CliRunner().invoke(main, ["serve", "--root-path", bad])
        assert res.exit_code == 2 and "is not a path prefix" in res.output, res.output
    from live_server import serve

    with serve(create_app(Settings(lm="ngram"), engine=engine), root_path="/unspin") as url:
        docs = httpx.get(url + "/docs").text
        assert "'/unspin/openapi.json'" in docs  # the proxy has stripped /unspin
        assert '"/unspin/docs-static/swagger-ui-bundle.js"' in docs  # and the page's script is under it too
        assert '"/unspin/docs-static/redoc.standalone.js"' in httpx.get(url + "/redoc").text
        assert httpx.get(url + "/docs-static/swagger-ui-bundle.js").status_code == 200
        assert httpx.get(url + "/openapi.json").status_code == 200
        moved = httpx.get(url + "/v1/score/", follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"] == url + "/unspin/v1/score"


def test_serve_believes_the_proxies_it_is_told_of(monkeypatch, engine):
    """Behind a proxy on another address (another container), ``/v1/score/`` was redirected to
    ``http://`` for a client of ``https://``: uvicorn believes X-Forwarded-Proto from the loopback
    only, and ``unspin serve`` had no way to be told the proxy. ``--forwarded-allow-ips`` (or
    ``FORWARDED_ALLOW_IPS``) names it; an item that is not an address is a usage error (uvicorn
    would take it for a name and trust nobody)."""
    import uvicorn
    from click.testing import CliRunner

    from service.cli import main

    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: ran.update(kw))
    monkeypatch.setattr("service.cli._check_listen", lambda host, port: None)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    cases = ((None, None, "127.0.0.1,::1"), (" 10.0.0.5, 172.16.0.0/12 ", None, "10.0.0.5,172.16.0.0/12"),
             ("*", None, "*"), (None, "10.1.2.3", "10.1.2.3"), ("::1", "10.1.2.3", "::1"))
    for given, env, passed in cases:
        res = CliRunner().invoke(main, ["serve", *(["--forwarded-allow-ips", given] if given else [])],
                                 env={"FORWARDED_ALLOW_IPS": env})
        assert res.exit_code == 0, res.output
        assert ran["forwarded_allow_ips"] == passed
    for bad in ("10.0.0.300", "10.0.0.1/8", "proxy", "*,10.0.0.1", ","):
        res = CliRunner().invoke(main, ["serve", "--forwarded-allow-ips", bad])
        assert res.exit_code == 2 and "--forwarded-allow-ips" in res.output, res.output
    res = CliRunner().invoke(main, ["serve"], env={"FORWARDED_ALLOW_IPS": "10.0.0.300"})
    assert res.exit_code == 2 and "10.0.0.300" in res.output, res.output
    from live_server import serve

    forwarded = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7"}
    app = create_app(Settings(lm="ngram"), engine=engine)
    with serve(app, forwarded_allow_ips="10.1.2.3") as url:  # the proxy is elsewhere; this client is not it
        moved = httpx.get(url + "/v1/score/", headers=forwarded, follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"].startswith("http://")  # not believed
    with serve(app, forwarded_allow_ips="127.0.0.1") as url:
        moved = httpx.get(url + "/v1/score/", headers=forwarded, follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"] == "https" + url[4:] + "/v1/score"


def test_api_and_cli_give_the_same_answer(client, ngram_env):
    """The CLI and the API are doors onto one engine: the same text gets the same report."""
    from pathlib import Path

    from click.testing import CliRunner

    from service.cli import main

    seed = Path(__file__).resolve().parents[1] / "seeds" / SEED_SPUN
    out = CliRunner().invoke(main, ["score", "--format", "jsonl", str(seed)], catch_exceptions=False)
    assert out.exit_code == 0
    cli_report = json.loads(out.stdout.splitlines()[0])
    api_report = client.post("/v1/score", content=seed.read_bytes(), headers={"content-type": "text/plain"}).json()
    assert _strip(cli_report) == _strip(api_report)


def test_unspin_serve_runs_the_service(tmp_path):
    """``unspin serve`` in its own process: health at once, ready once the model is loaded, then it scores."""
    import subprocess
    import sys
    import time

    from live_server import free_port
    from unspin_env import child_environ

    port = free_port()
    env = child_environ(lm="ngram")
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(base + "/readyz", timeout=5)
                if ready.status_code == 200:
                    break
                assert ready.status_code == 503 and ready.json()["ready"] is False
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.5)
        assert ready is not None and ready.status_code == 200, "the service never became ready"
        assert httpx.get(base + "/healthz").json() == {"status": "ok"}
        r = httpx.post(base + "/v1/score", json={"text": "Both Moscow and Beijing have actually voiced support."}, timeout=60)
        assert r.status_code == 200 and r.json()["lm"].startswith("ngram:cmu-en-us")
    finally:
        proc.terminate()
        proc.wait(20)


def test_unspin_serve_on_a_port_in_use_fails_at_once(monkeypatch):
    """A port another socket listens on is a usage error (exit 2) naming the address, before the
    server starts and any model loads."""
    import socket

    import uvicorn
    from click.testing import CliRunner

    from service.cli import main

    def started(*args, **kwargs):
        raise AssertionError("the server was started")

    monkeypatch.setattr(uvicorn, "run", started)
    monkeypatch.setattr("service.engine.get_engine", started)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = CliRunner().invoke(main, ["serve", "--port", str(port)])
        assert res.exit_code == 2, res.output
        assert f"cannot listen on 127.0.0.1:{port}" in res.output and "in use" in res.output
    res = CliRunner().invoke(main, ["serve", "--host", "no-such-host.invalid", "--port", "8000"])
    assert res.exit_code == 2 and "cannot listen on no-such-host.invalid:8000" in res.output


@pytest.mark.parametrize("path, kind", [("/v1/score", "application/json"),
                                        ("/v2/check", "application/x-www-form-urlencoded")])
def test_a_body_that_stops_arriving_is_408_and_the_connection_closed(engine, path, kind):
    """A client that sent its headers and part of its body, then nothing, had held its connection
    (and the coroutine reading it) for as long as it stayed silent."""
    import socket
    import time

    from live_server import serve

    app = create_app(Settings(lm="ngram", body_timeout=0.5), engine=engine)
    with serve(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=20) as s:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n"
                      f"Content-Length: 100\r\n\r\n".encode() + b"text=The")
            t0 = time.monotonic()
            answer = b""
            while chunk := s.recv(4096):  # read until the server closes the connection
                answer += chunk
            waited = time.monotonic() - t0
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer
        assert b"connection: close" in head.lower()
        assert b"stopped arriving" in body and b"UNSPIN_BODY_TIMEOUT" in body
        assert waited > 0.4  # the body's time to arrive was given (a silent client is cut by recv's 20 s)
        assert httpx.post(url + "/v1/score", json={"text": "The cat sat."}, timeout=30).status_code == 200


def test_a_made_up_method_is_counted_as_other(engine):
    """Any method token reaches the app (uvicorn takes them all); each had become a metrics series of
    its own, so that a client could grow ``/metrics`` without bound."""
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:
        for i in range(3):
            assert c.request(f"M{i:05d}", "/healthz").status_code == 405
        text = c.get("/metrics").text
    assert 'unspin_requests_total{method="other",route="/healthz",status="405"} 3.0' in text
    assert "M00000" not in text


def test_readiness_checks_share_one_ping(engine):
    """A burst of /readyz against a LanguageTool server that does not answer had sent one ping each,
    each holding a worker thread for up to the ping timeout; they now wait for the one ping running."""
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from service.report import GrammarStatus

    calls: list[int] = []
    release = threading.Event()

    class Silent:
        def ping(self) -> GrammarStatus:
            calls.append(1)
            release.wait(30)
            return GrammarStatus(checked=True, reason="")

    app = create_app(Settings(lm="ngram"), engine=engine)
    try:
        with TestClient(app) as c:
            app.state.unspin.engine = SimpleNamespace(grammar=Silent(), lm_name=engine.lm_name, lm_fallback=None)
            with ThreadPoolExecutor(12) as pool:
                answers = list(pool.map(lambda _: c.get("/readyz"), range(12)))
            assert len(calls) == 1
            assert all(r.status_code == 200 and r.json()["grammar"]["reachable"] is False for r in answers)
            assert "did not answer within" in answers[0].json()["grammar"]["detail"]
            release.set()
            app.state.unspin.grammar_ping._running.result(5)  # the ping answers; the next check asks anew
            assert c.get("/readyz").json()["grammar"]["reachable"] is True and len(calls) == 2
    finally:
        release.set()
