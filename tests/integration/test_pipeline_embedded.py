"""ingest → embedded queue → consume → ClickHouse (chDB) → reports, through the real handlers."""

from __future__ import annotations

import time
from datetime import date, timedelta

import orjson

from eventlens.components import Components
from eventlens.deadletter import PENDING, REPLAYED
from eventlens.msk import event_from_records
from eventlens.queue import EmbeddedQueue, QueuedRecord
from eventlens.settings import Settings
from eventlens_tools.http_client import EventlensClient
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import TEST_SECRET_KEY, http_event, load_event, response_json


def _drain(components: Components, functions: dict, group: str = "consume") -> list[QueuedRecord]:
    """Hand everything on the queue to the consume function as one MSK event; commit after success."""
    queue = EmbeddedQueue(components.settings.queue_path, components.settings.kafka_topic)
    reader = queue.reader(group)
    records = reader.poll(max_records=100_000, timeout_s=0)
    if records:
        result = functions["consume"].invoke(event_from_records(records))
        assert result["batchItemFailures"] == []
        reader.commit(records)
    return records


def _top_events(functions: dict, start: str, end: str, segment: str | None = None) -> dict[str, int]:
    query = f"from={start}&to={end}&limit=100" + (f"&segment={segment}" if segment else "")
    event = http_event("report_dau.json", query=query)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/stats/top-events"
    response = functions["report"].invoke(event)
    assert response["statusCode"] == 200, response["body"]
    return {row["event_type"]: row["count"] for row in response_json(response)}


def _dau(functions: dict, start: str, end: str, segment: str | None = None) -> dict[str, int]:
    query = f"from={start}&to={end}" + (f"&segment={segment}" if segment else "")
    response = functions["report"].invoke(http_event("report_dau.json", query=query))
    assert response["statusCode"] == 200, response["body"]
    return {row["date"]: row["unique_users"] for row in response_json(response)}


BATCH = {
    "events": [
        {
            "event_id": f"00000000-0000-4000-8000-{i:012d}",
            "user_id": f"user_{i % 3}",
            "type": t,
            "timestamp": f"2026-11-{10 + i % 2:02d}T12:00:00Z",
            "properties": {"country": "UA" if i % 2 else "PL"},
        }
        for i, t in enumerate(["page_view", "page_view", "click", "purchase", "page_view", "click"])
    ]
}


def test_events_flow_from_ingest_to_reports(functions: dict, components: Components) -> None:
    # Given a batch ingested through the HTTP handler
    response = functions["ingest"].invoke(http_event("ingest_v1_events.json", BATCH))
    assert response["statusCode"] == 202
    # When consume is fed what is on the queue
    _drain(components, functions)
    # Then the reports count it exactly
    assert _top_events(functions, "2026-11-01", "2026-11-30") == {"page_view": 3, "click": 2, "purchase": 1}
    dau = _dau(functions, "2026-11-09", "2026-11-12")
    assert dau == {"2026-11-09": 0, "2026-11-10": 3, "2026-11-11": 3, "2026-11-12": 0}
    assert _dau(functions, "2026-11-10", "2026-11-11", "properties.country:UA") == {
        "2026-11-10": 0,
        "2026-11-11": 3,
    }
    assert _top_events(functions, "2026-11-01", "2026-11-30", "event_type:click,properties.country:UA") == {
        "click": 1
    }


def test_resent_batch_counts_once(functions: dict, components: Components) -> None:
    # Given a batch that was ingested and stored
    functions["ingest"].invoke(http_event("ingest_v1_events.json", BATCH))
    _drain(components, functions)
    # When the client sends the very same batch again
    again = functions["ingest"].invoke(http_event("ingest_v1_events.json", BATCH))
    assert again["statusCode"] == 202
    _drain(components, functions)
    # Then every report counts each event once
    assert sum(_top_events(functions, "2026-11-01", "2026-11-30").values()) == 6


def test_redelivered_kafka_batch_counts_once(functions: dict, components: Components) -> None:
    # Given a batch consumed once
    functions["ingest"].invoke(http_event("ingest_v1_events.json", BATCH))
    records = _drain(components, functions)
    # When the event source mapping delivers it again (a crash before the offset commit), twice over
    for _ in range(2):
        result = functions["consume"].invoke(event_from_records(records))
        assert (result["events"], result["stored"], result["duplicates"]) == (6, 0, 6)
    # Then nothing is counted twice
    assert sum(_top_events(functions, "2026-11-01", "2026-11-30").values()) == 6


def test_duplicates_inside_one_batch_count_once(functions: dict, components: Components) -> None:
    doubled = {"events": BATCH["events"] + BATCH["events"][:2]}
    functions["ingest"].invoke(http_event("ingest_v1_events.json", doubled))
    _drain(components, functions)
    assert sum(_top_events(functions, "2026-11-01", "2026-11-30").values()) == 6


def test_bad_records_are_dead_lettered_without_blocking_the_rest(
    functions: dict, components: Components
) -> None:
    # Given an MSK batch with a good record and one that is not an event (the events/ fixture)
    result = functions["consume"].invoke(load_event("consume_msk.json"))
    # Then the good one is stored and the bad one is in the dead-letter store with its reason
    assert (result["stored"], result["dead_lettered"]) == (1, 1)
    assert _top_events(functions, "2026-11-20", "2026-11-20") == {"page_view": 1}
    letters = list(components.dead_letters.pending())
    assert len(letters) == 1
    key, letter = letters[0]
    assert key == f"{PENDING}raw-events/00001/{7:020d}-00001.json"
    assert letter.reason == "value: not valid JSON" and letter.value == b'{"broken json'


def test_replayed_dead_letter_is_published_again_and_moved(functions: dict, components: Components) -> None:
    functions["consume"].invoke(load_event("consume_msk.json"))
    # When an operator replays the dead letters
    replayed = components.dead_letters.replay(components.queue)
    # Then the record is on the queue again, and the dead letter is filed as replayed
    assert replayed == 1
    queue = EmbeddedQueue(components.settings.queue_path, components.settings.kafka_topic)
    values = [r.value for r in queue.reader("inspect").poll(100, 0)]
    assert values == [b'{"broken json']
    assert list(components.dead_letters.pending()) == []
    assert [k for k in components.objects.list(REPLAYED)] == [
        f"{REPLAYED}raw-events/00001/{7:020d}-00001.json"
    ]


def test_late_event_lands_in_its_own_day(functions: dict, components: Components) -> None:
    functions["ingest"].invoke(http_event("ingest_v1_events.json", BATCH))
    _drain(components, functions)
    late = {"events": [{"user_id": "late_user", "type": "page_view", "timestamp": "2026-11-01T23:59:59Z"}]}
    functions["ingest"].invoke(http_event("ingest_v1_events.json", late))
    _drain(components, functions)
    assert _dau(functions, "2026-11-01", "2026-11-01") == {"2026-11-01": 1}


def test_local_runtime_serves_http_and_feeds_consume(settings: Settings) -> None:
    # Given eventlens local on the embedded defaults
    runtime = LocalRuntime(settings, port=0)
    runtime.start()
    client = EventlensClient(runtime.url, key=TEST_SECRET_KEY)
    try:
        # Then it reports healthy, naming each dependency
        status, health = client.get("/health")
        assert status == 200 and health["warehouse"] == health["queue"] == "connected"
        # When an Events Analytics API client posts its documented batch to /events over real HTTP
        status, body = client.post(
            "/events", orjson.loads(load_event("ingest_events_analytics_api.json")["body"])
        )
        assert status == 202 and body["accepted"] == 1
        # Then the event shows up in the DAU report, through the consume feeder
        deadline = time.monotonic() + 30
        dau: list = []
        while time.monotonic() < deadline:
            status, dau = client.get("/stats/dau", **{"from": "2025-01-15", "to": "2025-01-15"})
            if dau and dau[0]["unique_users"] == 1:
                break
            time.sleep(0.1)
        assert dau == [{"date": "2025-01-15", "unique_users": 1}]
        assert client.get("/nope")[0] == 404
        status, error = client.get("/stats/dau", **{"from": "2025-01-15"})
        assert status == 422 and error["error"]["field"] == "to"
    finally:
        client.close()
        runtime.stop()


def test_report_parameters_are_validated_with_the_field_named(
    functions: dict, components: Components
) -> None:
    cases = {
        "from=2026-02-01&to=2026-01-01": "from",
        "from=2020-01-01&to=2026-01-01": "to",
        "from=2026-01-01&to=2026-01-31&segment=nonsense": "segment",
        "from=2026-01-01&to=2026-01-31&segment=colour:red": "segment",
        "from=2026-01-01&to=2026-01-31&segment=properties.a%27b:x": "segment",
        "from=not-a-date&to=2026-01-31": "from",
    }
    for query, field in cases.items():
        response = functions["report"].invoke(http_event("report_dau.json", query=query))
        assert response["statusCode"] == 422, query
        assert response_json(response)["error"]["field"] == field, query
    today = date.today()
    ok = functions["report"].invoke(
        http_event("report_dau.json", query=f"from={today - timedelta(days=1)}&to={today}")
    )
    assert ok["statusCode"] == 200


def test_one_bad_event_in_a_users_record_is_dead_lettered_alone(
    functions: dict, components: Components
) -> None:
    # Given a record holding three events of one user, the second without a timestamp
    good = {
        "event_id": "00000000-0000-4000-8000-0000000000a1",
        "user_id": "u",
        "type": "click",
        "timestamp": "2026-11-20T10:00:00Z",
        "properties": {},
        "source": "generic",
    }
    bad = {**good, "event_id": "00000000-0000-4000-8000-0000000000a2", "timestamp": None}
    third = {**good, "event_id": "00000000-0000-4000-8000-0000000000a3"}
    record = QueuedRecord("raw-events", 2, 40, 0, b"u", orjson.dumps([good, bad, third]))
    # When consume gets it
    result = functions["consume"].invoke(event_from_records([record]))
    # Then the two good events are stored and the bad one alone is dead-lettered, by its place
    assert (result["events"], result["stored"], result["dead_lettered"]) == (3, 2, 1)
    [(key, letter)] = list(components.dead_letters.pending())
    assert key.endswith(f"/00002/{40:020d}-00002.json")
    assert letter.reason == "timestamp: missing or not a date-time"
    assert orjson.loads(letter.value)["event_id"] == bad["event_id"]


def test_a_broken_array_record_is_dead_lettered_whole(functions: dict, components: Components) -> None:
    record = QueuedRecord("raw-events", 0, 9, 0, b"u", b'[{"event_id": "x"}, {"broken')
    result = functions["consume"].invoke(event_from_records([record]))
    assert (result["events"], result["dead_lettered"]) == (1, 1)
    [(key, letter)] = list(components.dead_letters.pending())
    assert key.endswith(f"/00000/{9:020d}-00001.json") and letter.reason == "value: not valid JSON"
