"""GET /metrics of a running eventlens local: Prometheus series that move by exactly what was sent,
rejected, stored, found stored already and dead-lettered."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from eventlens.queue import open_queue
from eventlens.settings import Settings
from eventlens_tools.http_client import EventlensClient
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import TEST_SECRET_KEY

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

GOOD = [
    {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"metrics-{n}")),  # a resend carries the same ids
        "user_id": f"user-{n % 7}",
        "type": "page_view",
        "timestamp": f"2026-11-20T10:{n:02d}:00Z",
    }
    for n in range(40)
]
BAD = [{"user_id": "no-type"}, {"type": "page_view"}, "not an event"]


@pytest.fixture
def runtime(settings: Settings) -> Iterator[LocalRuntime]:
    served = LocalRuntime(settings, port=0)
    served.start()
    try:
        yield served
    finally:
        served.stop()


def scrape(runtime: LocalRuntime) -> Samples:
    """Every sample of ``GET /metrics``, by name and labels."""
    with urllib.request.urlopen(f"{runtime.url}/metrics", timeout=30) as answer:
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("text/plain")
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def settled(runtime: LocalRuntime, name: str, expected: float, timeout_s: float = 60) -> Samples:
    """Scrape until ``name`` reaches ``expected`` and consume has nothing left (consume runs beside)."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples = scrape(runtime)
        if samples.get((name, ()), 0.0) >= expected and samples.get(("consume_lag_records", ()), 1) == 0:
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} stayed at {samples.get((name, ()))}, expected {expected}")
        time.sleep(0.1)


def test_counters_move_by_exactly_what_was_sent_and_stored(runtime: LocalRuntime) -> None:
    client = EventlensClient(runtime.url, key=TEST_SECRET_KEY)
    before = scrape(runtime)

    # When 40 good events and 3 bad ones are sent in one batch
    status, body = client.post("/v1/events", {"events": GOOD + BAD})
    assert status == 202 and body["accepted"] == len(GOOD) and len(body["rejected"]) == len(BAD)
    after = settled(runtime, "events_stored_total", len(GOOD))

    # Then received, failed at ingest and stored moved by exactly those numbers
    assert moved(before, after, "events_received_total") == len(GOOD)
    assert moved(before, after, "events_failed_total", stage="ingest") == len(BAD)
    assert moved(before, after, "events_stored_total") == len(GOOD)
    assert moved(before, after, "events_failed_total", stage="consume") == 0
    assert moved(before, after, "events_duplicates_total") == 0
    # And the request and consume's batches were timed
    request = {"method": "POST", "route": "/v1/events", "status": "202"}
    assert moved(before, after, "api_request_duration_seconds_count", **request) == 1
    assert moved(before, after, "api_request_duration_seconds_sum", **request) > 0
    assert moved(before, after, "events_processing_seconds_count") >= 1
    assert after[("consume_lag_records", ())] == 0

    # When the same batch is sent again
    client.post("/v1/events", {"events": GOOD})
    again = settled(runtime, "events_duplicates_total", len(GOOD))
    client.close()

    # Then it was received again, and found stored already: nothing more stored
    assert moved(after, again, "events_received_total") == len(GOOD)
    assert moved(after, again, "events_duplicates_total") == len(GOOD)
    assert moved(after, again, "events_stored_total") == 0


def test_dead_letters_and_failed_requests_are_counted(runtime: LocalRuntime, settings: Settings) -> None:
    before = scrape(runtime)
    # Given a record on the queue that is no event, beside a good one
    queue = open_queue(settings)
    good = {**GOOD[0], "source": "generic", "properties": {}, "received_at": "2026-11-20T12:00:01.000Z"}
    queue.publish([(b"u", b'{"broken json'), (b"v", orjson.dumps(good))])
    after = settled(runtime, "events_stored_total", 1)
    # Then consume dead-lettered one event and stored the other; the pending dead letter is shown
    assert moved(before, after, "events_failed_total", stage="consume") == 1
    assert moved(before, after, "events_stored_total") == 1
    assert after[("dead_letters_pending", ())] == 1

    # When a request is refused whole (not JSON) and another asks for no route
    client = EventlensClient(runtime.url, key=TEST_SECRET_KEY)
    assert client.post("/v1/events", None, raw=b"{not json")[0] == 400
    assert client.get("/nowhere")[0] == 404
    client.close()
    later = scrape(runtime)
    # Then the refusal is a request with its status, and no event was received or failed
    refused = {"method": "POST", "route": "/v1/events", "status": "400"}
    assert moved(after, later, "api_request_duration_seconds_count", **refused) == 1
    assert moved(after, later, "events_received_total") == 0
    assert moved(after, later, "events_failed_total", stage="ingest") == 0
