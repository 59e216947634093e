"""GET /health tells the truth: 503 when events are not being stored (consume failing, the disk
nearly full, a dependency down), 'degraded' when consume lags or dead letters pile up, and never a
credential. Each case on real embedded components, through the report function's handler."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from eventlens.components import Components
from eventlens.deadletter import DeadLetter
from eventlens.health import check_health
from eventlens.manifest import HttpRoute
from eventlens.msk import event_from_records
from eventlens.queue import open_reader
from eventlens.settings import Settings
from eventlens_tools.local.apigw import http_api_event
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import http_event, opened_components

BATCH = {
    "events": [
        {"user_id": f"user-{n}", "type": "page_view", "timestamp": "2026-11-20T10:00:00Z"} for n in range(5)
    ]
}
RECORDS = 5  # ingest writes a record per user


def _health(functions: dict[str, LocalFunction]) -> tuple[int, dict[str, Any]]:
    """``GET /health`` through the report handler, as API Gateway sends it."""
    response = functions["report"].invoke(
        http_api_event("GET", "/health", "", [], b"", HttpRoute("GET", "/health"), {})
    )
    return response["statusCode"], json.loads(response["body"])


def _ingest(functions: dict[str, LocalFunction]) -> None:
    response = functions["ingest"].invoke(http_event("ingest_v1_events.json", BATCH))
    assert response["statusCode"] == 202, response


def _consume(parts: Components, functions: dict[str, LocalFunction]) -> None:
    """What the consume function's feeder does: every waiting record, one batch, committed after."""
    reader = open_reader(parts.settings)
    records = reader.poll(max_records=100_000, timeout_s=0)
    if records:
        functions["consume"].invoke(event_from_records(records))
        reader.commit(records)
    reader.close()


@contextmanager
def _served(settings: Settings, functions: dict[str, LocalFunction], **changes: Any) -> Iterator[Components]:
    """Components for ``settings`` with ``changes`` (by field name), handed to the functions."""
    with opened_components(settings.model_copy(update=changes), serve=functions) as parts:
        yield parts


def test_a_fresh_home_is_healthy(components: Components, functions: dict[str, LocalFunction]) -> None:
    # When a fresh embedded home is asked for its health
    status, health = _health(functions)
    # Then it is healthy and says so fact by fact
    assert status == 200, health
    assert (health["status"], health["storing"], health["problems"]) == ("healthy", True, [])
    assert health["warehouse"] == health["queue"] == health["object_store"] == "connected"
    assert health["consume"]["state"] == "ok" and health["consume"]["lag_records"] == 0
    assert health["consume"]["last_stored_at"] is None
    assert health["disk"]["state"] == "ok" and health["disk"]["free_mb"] > 0
    assert health["dead_letters"] == {"state": "ok", "last_hour": 0, "max_per_hour": 100}


def test_records_waiting_and_nothing_stored_is_a_failing_consume(
    settings: Settings, functions: dict[str, LocalFunction]
) -> None:
    with _served(settings, functions, health_consume_stall_s=0.5) as parts:
        # Given events accepted onto the queue and a consume that stores nothing
        _ingest(functions)
        # When health is asked
        status, health = _health(functions)
        # Then events are not being stored: 503, naming consume
        assert status == 503, health
        assert (health["status"], health["storing"]) == ("unhealthy", False)
        assert health["consume"]["state"] == "failing" and health["consume"]["lag_records"] == RECORDS
        assert any(problem.startswith("consume: failing") for problem in health["problems"])

        # When consume stores them
        _consume(parts, functions)
        # Then it is healthy again, with the moment the batch was stored
        status, health = _health(functions)
        assert status == 200 and health["consume"]["state"] == "ok", health
        assert health["consume"]["last_stored_at"] is not None
        assert 0 <= health["consume"]["seconds_since_stored"] < 60


def test_a_consume_that_stopped_storing_fails_after_the_stall_limit(
    settings: Settings, functions: dict[str, LocalFunction]
) -> None:
    with _served(settings, functions, health_consume_stall_s=0.5) as parts:
        # Given a consume that stored a batch, then nothing more while records arrive
        _ingest(functions)
        _consume(parts, functions)
        _ingest(functions)
        assert _health(functions)[0] == 200  # within the stall limit: still storing, as far as we know
        # When the stall limit passes
        time.sleep(1.0)
        status, health = _health(functions)
        # Then it is a failing consume
        assert status == 503 and health["consume"]["state"] == "failing", health
        assert "no batch stored for" in health["consume"]["reason"]


def test_more_records_waiting_than_the_limit_is_a_lagging_consume(
    settings: Settings, functions: dict[str, LocalFunction]
) -> None:
    with _served(settings, functions, health_max_lag_records=0) as parts:
        # Given a consume storing batches while more records than the limit wait
        _ingest(functions)
        _consume(parts, functions)
        _ingest(functions)
        # When health is asked
        status, health = _health(functions)
        # Then events are still being stored: degraded, not unhealthy
        assert status == 200, health
        assert (health["status"], health["storing"]) == ("degraded", True)
        assert health["consume"]["state"] == "lagging" and health["consume"]["lag_records"] == RECORDS


def test_a_nearly_full_disk_is_unhealthy(settings: Settings, functions: dict[str, LocalFunction]) -> None:
    # Given a disk with less free space than the minimum (a minimum no disk has)
    with _served(settings, functions, health_min_free_mb=10**12):
        status, health = _health(functions)
    # Then events are not being stored
    assert status == 503, health
    assert (health["status"], health["storing"], health["disk"]["state"]) == ("unhealthy", False, "low")
    assert health["disk"]["free_mb"] < health["disk"]["min_free_mb"]


def test_dead_letters_of_the_last_hour_pile_up(
    settings: Settings, functions: dict[str, LocalFunction]
) -> None:
    now = datetime.now(UTC)

    def letter(offset: int, failed_at: datetime) -> DeadLetter:
        return DeadLetter(
            "raw-events", 1, offset, 1, b"u", b"{broken", "value: not valid JSON", failed_at.isoformat()
        )

    with _served(settings, functions, health_max_dead_letters_per_hour=2) as parts:
        # Given five dead letters from yesterday and three from the last minutes
        parts.dead_letters.put_many([letter(n, now - timedelta(days=1)) for n in range(5)])
        parts.dead_letters.put_many([letter(n, now - timedelta(minutes=5)) for n in range(5, 8)])
        # When health is asked, with a limit of two an hour
        status, health = _health(functions)
    # Then they pile up (counted to one past the limit), while events are still stored
    assert status == 200, health
    assert health["status"] == "degraded" and health["storing"] is True
    assert health["dead_letters"] == {"state": "piling up", "last_hour": 3, "max_per_hour": 2}

    with _served(settings, functions, health_max_dead_letters_per_hour=5):
        status, health = _health(functions)
    # And with a limit of five, the last hour's three are counted exactly, yesterday's not at all
    assert health["dead_letters"] == {"state": "ok", "last_hour": 3, "max_per_hour": 5}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_health_answer_never_shows_a_credential(
    settings: Settings, functions: dict[str, LocalFunction]
) -> None:
    # Given a graph configured with credentials in its URI and a password, on a port nobody listens on
    uri = f"bolt://neo4j:uri-secret-41@127.0.0.1:{_closed_port()}"
    with _served(settings, functions, neo4j_uri=uri, neo4j_password="password-secret-42"):
        # When health is asked
        status, health = _health(functions)
    # Then the graph is down (503: a configured dependency), events are still being stored,
    # and neither secret is anywhere in the answer
    assert status == 503, health
    assert health["graph"].startswith("down: ") and health["storing"] is True
    body = json.dumps(health)
    assert "uri-secret-41" not in body and "password-secret-42" not in body
    assert "bolt://neo4j:***@127.0.0.1" in body


def test_on_lambda_what_the_function_cannot_see_is_not_configured(components: Components) -> None:
    # Given the report function on Lambda, which has no queue nor bucket settings
    report = check_health(components, on_lambda=True)
    # Then the queue, the dead letters and the lag are not configured there, and nothing fails for it
    assert report.queue == report.object_store == "not configured"
    assert report.dead_letters.state == "not configured"
    assert report.consume.state == "ok" and report.consume.lag_records is None
    assert report.status == "healthy" and report.http_status == 200
