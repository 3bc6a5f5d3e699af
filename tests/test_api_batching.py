"""Concurrent requests are batched for a model that gains from it, and only for such a model."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from live_server import serve
from service.api import create_app
from service.config import Settings


class _BatchingEngine:
    """A stand-in whose language model batches across texts; ``score_many`` records batch sizes and
    holds the first batch until told, so later requests pile up behind it."""

    def __init__(self, real):
        self.real, self.grammar = real, None
        self.lm = type("LM", (), {"name": real.lm.name, "batches_across_texts": True})()
        self.lm_name = real.lm_name
        self.sizes: list[int] = []
        self.texts: list[str] = []
        self.release = threading.Event()

    def score(self, text, **kw):  # pragma: no cover - must not be used for a batching model
        raise AssertionError("requests should have been batched")

    def score_many(self, texts, options):
        self.sizes.append(len(texts))
        self.texts.extend(texts)
        if len(self.sizes) == 1:
            self.release.wait(30)
        return self.real.score_many(texts, options)


def test_concurrent_requests_are_batched_for_a_batching_model(engine):
    stub = _BatchingEngine(engine)
    app = create_app(Settings(lm="ngram", concurrency=1, queue_size=16, batch_window_ms=20, max_batch=8), engine=stub)  # type: ignore[arg-type]
    texts = [f"Both Moscow and Beijing have actually voiced support number {i}." for i in range(7)] + [" "]
    answers: dict[int, httpx.Response] = {}
    with serve(app) as url:
        def call(i):
            answers[i] = httpx.post(url + "/v1/score", json={"text": texts[i], "id": str(i)}, timeout=60)

        first = threading.Thread(target=call, args=(0,))
        first.start()
        deadline = time.monotonic() + 30
        while not stub.sizes and time.monotonic() < deadline:  # the first request is being scored
            threading.Event().wait(0.01)
        rest = [threading.Thread(target=call, args=(i,)) for i in range(1, len(texts))]
        for t in rest:
            t.start()
        deadline = time.monotonic() + 30
        while app.state.unspin.gate.pending < len(texts) - 1 and time.monotonic() < deadline:
            threading.Event().wait(0.01)  # all but the blank one (refused before the queue) are waiting
        stub.release.set()
        for t in [first, *rest]:
            t.join(60)
    assert stub.sizes[0] == 1 and max(stub.sizes[1:]) > 1 and sum(stub.sizes) == len(texts) - 1
    for i, text in enumerate(texts[:-1]):
        r = answers[i]
        assert r.status_code == 200 and r.json()["id"] == str(i)
        want = engine.score(text, id=str(i)).model_dump(mode="json")
        got = r.json()
        got["stats"].pop("seconds"), want["stats"].pop("seconds")
        assert got == want
    assert answers[len(texts) - 1].status_code == 422  # refused at the door, before the queue


def test_a_queued_request_whose_client_went_away_leaves_the_batch(engine):
    """A request waiting to join a batch whose client had gone away kept its place in the queue and
    was scored with the next batch, for nobody; it now leaves the queue, and the others are scored."""
    stub = _BatchingEngine(engine)
    app = create_app(Settings(lm="ngram", concurrency=1, queue_size=4, batch_window_ms=20, max_batch=8), engine=stub)  # type: ignore[arg-type]
    gate = app.state.unspin.gate
    answers: list[int] = []
    with serve(app) as url:
        def call(text: str) -> None:
            answers.append(httpx.post(url + "/v1/score", json={"text": text}, timeout=60).status_code)

        first = threading.Thread(target=call, args=("The cat sat.",))
        first.start()
        deadline = time.monotonic() + 30
        while not stub.sizes and time.monotonic() < deadline:  # the first request is being scored
            threading.Event().wait(0.01)
        with pytest.raises(httpx.ReadTimeout):  # the second waits in the queue; its client gives up
            httpx.post(url + "/v1/score", json={"text": "The dog ran away."}, timeout=httpx.Timeout(10, read=0.5))
        deadline = time.monotonic() + 10
        while gate.pending > 1 and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        assert gate.pending == 1  # its place is free
        third = threading.Thread(target=call, args=("The bird sang.",))
        third.start()
        while gate.pending < 2 and time.monotonic() < deadline:
            threading.Event().wait(0.01)
        stub.release.set()
        first.join(60)
        third.join(60)
    assert answers == [200, 200]
    assert stub.texts == ["The cat sat.", "The bird sang."] and stub.sizes == [1, 1]
    assert gate.pending == 0


def test_the_ngram_model_is_not_batched(engine):
    app = create_app(Settings(lm="ngram"), engine=engine)
    with serve(app) as url:
        threads = [threading.Thread(target=httpx.post, args=(url + "/v1/score",),
                                    kwargs={"json": {"text": "The cat sat on the mat."}, "timeout": 60}) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert list(app.state.unspin.scorer.batches) == []


def test_a_failed_batched_call_is_logged_and_each_document_scored_alone(engine, caplog):
    """When the one batched call for a whole ``/v1/score/batch`` request fails, the documents are
    scored one by one; the failure had left no trace (``except: pass``), hiding an engine bug that
    made every such request cost twice. It is now logged with its traceback."""
    from fastapi.testclient import TestClient

    class _Failing(_BatchingEngine):
        def score(self, text, **kw):
            return self.real.score(text, **kw)

        def score_many(self, texts, options):
            raise RuntimeError("batched scoring broke")

    stub = _Failing(engine)
    docs = [{"text": "Both Moscow and Beijing have voiced support.", "id": "a"},
            {"text": "The cat sat on the mat.", "id": "b"}]
    with caplog.at_level("WARNING", logger="unspin.api"):
        with TestClient(create_app(Settings(lm="ngram"), engine=stub)) as c:  # type: ignore[arg-type]
            r = c.post("/v1/score/batch", json={"documents": docs, "options": {"grammar": False}})
    assert r.status_code == 200
    assert [d["id"] for d in r.json()["results"]] == ["a", "b"]
    failed = [rec for rec in caplog.records if rec.name == "unspin.api" and rec.exc_info]
    assert failed and "batched scoring broke" in str(failed[0].exc_info[1])
