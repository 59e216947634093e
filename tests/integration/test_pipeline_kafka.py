"""ingest → a real Kafka broker (KRaft) → consume → ClickHouse (chDB) → reports."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import orjson
import pytest

from eventlens.components import Components
from eventlens.msk import event_from_records
from eventlens.queue import KafkaQueueReader, QueuedRecord
from eventlens.settings import Settings
from eventlens_tools.http_client import EventlensClient
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import (
    TEST_SECRET_KEY,
    free_port_pair,
    http_event,
    opened_components,
    response_json,
    server_script,
)

pytestmark = pytest.mark.kafka


@pytest.fixture
def kafka_settings(settings: Settings, kafka_bootstrap: str) -> Settings:
    return settings.model_copy(
        update={
            "kafka_bootstrap": kafka_bootstrap,
            "kafka_topic": f"events-{uuid.uuid4().hex[:10]}",
            "kafka_consumer_group": f"consume-{uuid.uuid4().hex[:10]}",
            "kafka_send_timeout_s": 5.0,
        }
    )


@pytest.fixture
def kafka_components(kafka_settings: Settings, functions: dict) -> Iterator[Components]:
    with opened_components(kafka_settings, serve=functions) as parts:
        yield parts


def _consume_all(
    functions: dict, settings: Settings, expected_events: int, timeout_s: float = 60
) -> tuple[list[QueuedRecord], int]:
    """Poll the topic like the event source mapping, invoke consume, commit after success.

    Returns the records read and the events they held (ingest writes one record per user)."""
    reader = KafkaQueueReader(
        settings.kafka_bootstrap or "", settings.kafka_topic, settings.kafka_consumer_group
    )
    seen: list[QueuedRecord] = []
    events = 0
    deadline = time.monotonic() + timeout_s
    try:
        while events < expected_events and time.monotonic() < deadline:
            records = reader.poll(max_records=10_000, timeout_s=1.0)
            if records:
                result = functions["consume"].invoke(
                    event_from_records(records, bootstrap=settings.kafka_bootstrap or "")
                )
                reader.commit(records)
                seen.extend(records)
                events += result["events"]
        # Nothing more arrives than was sent.
        seen.extend(reader.poll(max_records=10_000, timeout_s=1.0))
    finally:
        reader.close()
    return seen, events


def _batch(n: int, prefix: str) -> dict:
    return {
        "events": [
            {
                "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}-{i}")),
                "user_id": f"{prefix}-user-{i % 7}",
                "type": ["page_view", "click", "purchase"][i % 3],
                "timestamp": "2026-11-15T10:00:00Z",
            }
            for i in range(n)
        ]
    }


def _stored(functions: dict) -> int:
    event = http_event("report_dau.json", query="from=2026-11-15&to=2026-11-15&limit=100")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/stats/top-events"
    return sum(row["count"] for row in response_json(functions["report"].invoke(event)))


def test_events_reach_reports_through_kafka_keyed_by_user(
    functions: dict, kafka_components: Components
) -> None:
    # Given a batch ingested through the handler into a real broker
    response = functions["ingest"].invoke(http_event("ingest_v1_events.json", _batch(300, "k1")))
    assert response["statusCode"] == 202, response["body"]
    # When consume reads the topic as the MSK event source mapping would
    records, events = _consume_all(functions, kafka_components.settings, expected_events=300)
    # Then all 300 are stored once, in records keyed by user_id that hold only that user's events
    assert events == 300
    assert len({record.key for record in records}) == len(records) == 7
    for record in records:
        assert {event["user_id"].encode() for event in orjson.loads(record.value)} == {record.key}
    assert _stored(functions) == 300


def test_resent_batch_through_kafka_counts_once(functions: dict, kafka_components: Components) -> None:
    batch = _batch(120, "k2")
    for _ in range(2):
        assert functions["ingest"].invoke(http_event("ingest_v1_events.json", batch))["statusCode"] == 202
    _, events = _consume_all(functions, kafka_components.settings, expected_events=240)
    assert events == 240  # the broker holds both copies…
    assert _stored(functions) == 120  # …and the warehouse counts each event once


def test_broker_down_answers_503_then_recovers_with_nothing_lost(functions: dict, settings: Settings) -> None:
    # Given ingest pointed at a broker that is not running
    port = free_port_pair()
    down = settings.model_copy(
        update={
            "kafka_bootstrap": f"127.0.0.1:{port}",
            "kafka_topic": "raw-events",
            "kafka_send_timeout_s": 3.0,
        }
    )
    batch = _batch(50, "k3")
    with opened_components(down, serve=functions):
        try:
            # When a batch arrives, the caller is told 503 and that nothing was accepted
            response = functions["ingest"].invoke(http_event("ingest_v1_events.json", batch))
            assert response["statusCode"] == 503
            assert response_json(response)["error"]["field"] == "queue"
            # When the broker comes up and the client retries the same batch
            server_script("kafka", "start", port)
            response = functions["ingest"].invoke(http_event("ingest_v1_events.json", batch))
            assert response["statusCode"] == 202, response["body"]
            # Then every event of the batch is stored, exactly once
            recovery = down.model_copy(update={"kafka_consumer_group": "recovery"})
            _, events = _consume_all(functions, recovery, expected_events=50)
            assert events == 50
            assert _stored(functions) == 50
        finally:
            server_script("kafka", "stop", port)
            server_script("kafka", "clean", port)


def test_local_runtime_feeds_consume_from_kafka(kafka_settings: Settings) -> None:
    runtime = LocalRuntime(kafka_settings, port=0)
    runtime.start()
    client = EventlensClient(runtime.url, key=TEST_SECRET_KEY)
    try:
        status, body = client.post("/v1/events", _batch(200, "k4"))
        assert status == 202 and body["accepted"] == 200
        deadline = time.monotonic() + 60
        total = 0
        while time.monotonic() < deadline and total < 200:
            _, top = client.get("/stats/top-events", **{"from": "2026-11-15", "to": "2026-11-15"})
            total = sum(row["count"] for row in top)
            time.sleep(0.2)
        assert total == 200
    finally:
        client.close()
        runtime.stop()
