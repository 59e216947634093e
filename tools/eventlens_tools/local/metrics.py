"""``GET /metrics`` of ``eventlens local``: Prometheus series in the Events Analytics API's names.

The functions count what they do with ``eventlens.observability.count`` (the figures Lambda prints
as EMF metrics); the runtime hands each invocation's counts here (``counting_into``), times each
request and each consume batch, and reads the queue's lag and the pending dead letters when scraped.

* ``events_received_total`` — events ingest accepted onto the queue;
* ``events_failed_total{stage}`` — events rejected by ingest (``ingest``) or dead-lettered by
  consume (``consume``);
* ``events_stored_total``, ``events_duplicates_total`` — events consume stored, and those it found
  stored already (a resent event counts once);
* ``events_processing_seconds`` — time consume took per batch (histogram);
* ``consume_batches_failed_total`` — batches consume raised on (each is delivered again);
* ``api_request_duration_seconds{method,route,status}`` — HTTP latency (histogram); a request the
  API refused for its rate is one with ``status="429"``: eventlens has no limiter of its own
  (API Gateway throttles on AWS), so no separate series counts nothing;
* ``consume_lag_records``, ``dead_letters_pending`` — gauges read at each scrape.

Each runtime has its own registry, so two runtimes in one process (tests) count apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

CONTENT_TYPE = CONTENT_TYPE_LATEST

# eventlens.observability.count names → (counter, its labels)
_COUNTS = {
    "EventsAccepted": ("received", {}),
    "EventsRejected": ("failed", {"stage": "ingest"}),
    "EventsStored": ("stored", {}),
    "DeadLettered": ("failed", {"stage": "consume"}),
}
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class RuntimeMetrics:
    """The series above, in a registry of their own. ``lag`` and ``dead_letters`` are read at each
    scrape; when one raises, its gauge shows NaN (unknown) rather than failing the scrape."""

    def __init__(self, lag: Callable[[], int], dead_letters: Callable[[], int]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = Counter(
            "events_received", "Events ingest accepted onto the queue", registry=self.registry
        )
        self.failed = Counter(
            "events_failed",
            "Events rejected by ingest (stage=ingest) or dead-lettered by consume (stage=consume)",
            ["stage"],
            registry=self.registry,
        )
        for stage in ("ingest", "consume"):
            self.failed.labels(stage=stage)
        self.stored = Counter(
            "events_stored", "Events consume stored in the warehouse", registry=self.registry
        )
        self.duplicates = Counter(
            "events_duplicates", "Events consume found stored already (counted once)", registry=self.registry
        )
        self.processing = Histogram(
            "events_processing_seconds",
            "Time consume took per batch of queue records",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batches_failed = Counter(
            "consume_batches_failed",
            "Batches consume failed on; each is delivered again",
            registry=self.registry,
        )
        self.requests = Histogram(
            "api_request_duration_seconds",
            "HTTP request latency by method, route and status",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        Gauge(
            "consume_lag_records",
            "Queue records the consume function has not committed",
            registry=self.registry,
        ).set_function(_or_nan(lag))
        Gauge("dead_letters_pending", "Dead letters not replayed yet", registry=self.registry).set_function(
            _or_nan(dead_letters)
        )

    def count(self, name: str, value: float) -> None:
        """A function's ``count(name, value)``; names without a series here are left out."""
        if name not in _COUNTS or value <= 0:
            return
        which, labels = _COUNTS[name]
        counter = getattr(self, which)
        (counter.labels(**labels) if labels else counter).inc(value)

    def consume_batch(self, seconds: float, result: object) -> None:
        """A consume batch done in ``seconds``, with the function's answer (its ``duplicates``)."""
        self.processing.observe(seconds)
        duplicates = result.get("duplicates", 0) if isinstance(result, dict) else 0
        if duplicates:
            self.duplicates.inc(duplicates)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method=method, route=route, status=str(status)).observe(seconds)

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)


def _or_nan(read: Callable[[], int]) -> Callable[[], float]:
    def value() -> float:
        try:
            return float(read())
        except Exception:  # noqa: BLE001 - a scrape shows an unknown gauge as NaN, never fails
            return math.nan

    return value
