"""Concurrent requests are batched for a model that gains from it, and only for such a model."""

from __future__ import annotations

import threading
import time

import httpx

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
        self.release = threading.Event()

    def score(self, text, **kw):  # pragma: no cover - must not be used for a batching model
        raise AssertionError("requests should have been batched")

    def score_many(self, texts, options):
        self.sizes.append(len(texts))
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
