"""Every ingest route through the ingest handler, as API Gateway invokes it, onto the embedded queue."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from eventlens.components import Components
from eventlens.queue import EmbeddedQueue, QueuedRecord
from eventlens.settings import Settings
from tests.conftest import http_event, load_event, opened_components, response_json


def _queued(settings: Settings) -> list[QueuedRecord]:
    queue = EmbeddedQueue(settings.queue_path, settings.kafka_topic, settings.kafka_partitions)
    return queue.reader("inspect").poll(max_records=100_000, timeout_s=0)


def _values(settings: Settings) -> list[dict[str, Any]]:
    """Every queued event: ingest writes one record per user, holding that user's events."""
    return [event for record in _queued(settings) for event in orjson.loads(record.value)]


@pytest.mark.parametrize(
    ("fixture", "accepted", "source"),
    [
        ("ingest_v1_events.json", 5, None),
        ("ingest_events_analytics_api.json", 1, "generic"),
        ("ingest_anmodel_collect.json", 1, "commerce"),
        ("ingest_lifestream_batch.json", 3, "lifestream"),
        ("ingest_lifestream_single.json", 1, "lifestream"),
        ("ingest_cinema_viewing.json", 1, "viewing"),
    ],
)
def test_reference_route_accepts_its_documented_payload(
    functions: dict, components: Components, fixture: str, accepted: int, source: str | None
) -> None:
    # Given the documented payload of a reference system's ingest route
    event = load_event(fixture)
    # When API Gateway invokes the ingest function with it
    response = functions["ingest"].invoke(event)
    # Then every event is accepted, and each is on the queue with its id, in a record keyed by its user
    body = response_json(response)
    assert response["statusCode"] == 202, body
    assert body["accepted"] == accepted and body["rejected"] == []
    queued = _queued(components.settings)
    values = _values(components.settings)
    assert sorted(v["event_id"] for v in values) == sorted(body["event_ids"])
    for record in queued:
        assert {event["user_id"].encode() for event in orjson.loads(record.value)} == {record.key}
    if source:
        assert {v["source"] for v in values} == {source}


def test_reference_payloads_map_to_the_envelope(functions: dict, components: Components) -> None:
    for fixture in (
        "ingest_anmodel_collect.json",
        "ingest_lifestream_batch.json",
        "ingest_cinema_viewing.json",
    ):
        functions["ingest"].invoke(load_event(fixture))
    by_type = {v["type"]: v for v in _values(components.settings)}
    # AnModel: session_id and region join the properties; "1" becomes a stable UUID
    assert by_type["click"]["properties"] == {
        "item_id": "item_1",
        "price": 10.0,
        "session_id": "s",
        "region": "UA-30",
    }
    # Life Stream: flat fields become properties, ts the timestamp (no zone → UTC)
    assert by_type["geo"]["properties"] == {"lat": 55.75, "lon": 37.61}
    assert by_type["geo"]["timestamp"] == "2023-10-10T10:00:00Z"
    assert by_type["purchase"]["properties"]["place"] == "Starbucks"
    # the cinema Analytics Service: movie and position are properties of a viewing event
    assert by_type["start"]["properties"]["movie_id"] == "4f9e2c1a-0000-4000-8000-0000000000aa"


@pytest.mark.parametrize(
    "action,expected", [("stream.start", "start"), ("progress_update", "progress"), ("stream_stop", "finish")]
)
def test_cinema_kafka_action_names_map_to_viewing_types(
    functions: dict, components: Components, action: str, expected: str
) -> None:
    body = {
        "user_id": "v1",
        "movie_id": "m1",
        "action": action,
        "position_seconds": 60,
        "timestamp": "2026-11-20T10:30:00Z",
        "session_id": "s1",
    }
    response = functions["ingest"].invoke(http_event("ingest_cinema_viewing.json", body))
    assert response["statusCode"] == 202, response["body"]
    assert _values(components.settings)[0]["type"] == expected


def test_partially_bad_batch_keeps_the_good_events_and_names_the_bad(
    functions: dict, components: Components
) -> None:
    # Given a batch with two good events and two bad ones
    batch = {
        "events": [
            {"user_id": "a", "type": "page_view"},
            {"user_id": "b", "type": "geo", "source": "lifestream", "properties": {"lat": 123, "lon": 0}},
            {"user_id": "c", "type": "click", "source": "commerce", "properties": {"price": 3}},
            {"type": "page_view"},
        ]
    }
    # When it is posted
    response = functions["ingest"].invoke(http_event("ingest_v1_events.json", batch))
    body = response_json(response)
    # Then the good ones are queued and the bad ones named by index, field and reason
    assert response["statusCode"] == 202
    assert body["accepted"] == 2
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "properties.lat"), (3, "user_id")]
    assert sorted(v["user_id"] for v in _values(components.settings)) == ["a", "c"]


def test_two_events_with_one_id_in_a_batch_are_one_accepted_and_one_duplicate(
    functions: dict, components: Components
) -> None:
    # Given a batch in which two different events carry the same UUID, and one other event
    shared = "123e4567-e89b-12d3-a456-426614174000"
    batch = {
        "events": [
            {"user_id": "a", "type": "page_view", "event_id": shared},
            {"user_id": "b", "type": "click"},
            {"user_id": "a", "type": "purchase", "event_id": shared},
        ]
    }
    # When it is posted
    body = response_json(functions["ingest"].invoke(http_event("ingest_v1_events.json", batch)))
    # Then the answer counts two accepted and names the repeat, which is not queued
    assert body["accepted"] == 2
    assert body["duplicates"] == [{"index": 2, "event_id": shared, "first_index": 0}]
    assert sorted(v["type"] for v in _values(components.settings)) == ["click", "page_view"]


def test_batch_with_no_good_event_is_422(functions: dict, components: Components) -> None:
    response = functions["ingest"].invoke(http_event("ingest_v1_events.json", {"events": [{"type": "x"}]}))
    assert response["statusCode"] == 422
    assert response_json(response)["rejected"][0]["field"] == "user_id"
    assert _queued(components.settings) == []


@pytest.mark.parametrize("raw", [b'{"events": [{"user_id": "u", "type": "x"}', b"", b"\xff\xfe", b"[1, 2"])
def test_malformed_json_is_400_and_nothing_is_queued(
    functions: dict, components: Components, raw: bytes
) -> None:
    event = http_event("ingest_v1_events.json")
    event["body"] = raw.decode("latin-1")
    response = functions["ingest"].invoke(event)
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["field"] == "body"
    assert _queued(components.settings) == []


@pytest.mark.parametrize("body", [{"events": "x"}, {"events": []}, {"evnts": []}, [1, 2]])
def test_wrong_outer_shape_is_400_naming_the_field(
    functions: dict, components: Components, body: Any
) -> None:
    response = functions["ingest"].invoke(http_event("ingest_v1_events.json", body))
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["field"] in ("events", "body")


def test_batch_over_the_event_limit_is_413_and_nothing_is_queued(functions: dict, settings: Settings) -> None:
    limited = settings.model_copy(update={"max_batch_events": 5})
    with opened_components(limited, serve=functions):
        events = [{"user_id": f"u{i}", "type": "x"} for i in range(6)]
        response = functions["ingest"].invoke(http_event("ingest_v1_events.json", {"events": events}))
        assert response["statusCode"] == 413
        assert response_json(response)["error"] == {
            "field": "events",
            "reason": "holds 6 events; the limit is 5",
        }
        assert _queued(limited) == []


def test_batch_over_the_byte_limit_is_413(functions: dict, settings: Settings) -> None:
    limited = settings.model_copy(update={"max_batch_bytes": 2048})
    with opened_components(limited, serve=functions):
        events = [{"user_id": "u", "type": "x", "properties": {"pad": "y" * 500}} for _ in range(5)]
        response = functions["ingest"].invoke(http_event("ingest_v1_events.json", {"events": events}))
        assert response["statusCode"] == 413
        assert response_json(response)["error"]["field"] == "body"
        assert _queued(limited) == []
