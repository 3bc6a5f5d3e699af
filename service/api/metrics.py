"""Prometheus metrics of one app: requests, latencies, words scored, errors, queue depth.

Each app owns its registry (no process-global collectors), so tests and several apps in one
process never collide. With ``unspin serve --workers N`` each worker reports its own numbers.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST

__all__ = ["Metrics", "CONTENT_TYPE_LATEST"]


#: The methods counted by name; any other (a client may send any token) is counted as ``other``,
#: so that made-up method names cannot grow the metrics without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """The service's collectors, registered in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "unspin_requests", "HTTP requests answered.", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "unspin_request_seconds",
            "Time to answer a request.",
            ["route"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.words = Counter("unspin_words_scored", "Words scored by the engine.", registry=self.registry)
        self.documents = Counter("unspin_documents_scored", "Documents scored by the engine.", registry=self.registry)
        self.errors = Counter(
            "unspin_errors", "Requests answered with an error status.", ["route", "status"], registry=self.registry
        )
        self.rejected = Counter(
            "unspin_rejected_busy", "Requests refused with 503 because the queue was full.", registry=self.registry
        )
        self.pending = Gauge("unspin_pending_requests", "Scoring requests running or waiting.", registry=self.registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Record one answered request (a method not in :data:`METHODS` as ``other``)."""
        self.requests.labels(route, method if method in METHODS else "other", str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if status >= 400:
            self.errors.labels(route, str(status)).inc()

    def exposition(self) -> bytes:
        """The Prometheus text exposition of every collector."""
        return generate_latest(self.registry)
