"""The envelope and its families: what is accepted, and how each bad event is named."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from eventlens.events import EVENT_ID_NAMESPACE, SOURCES, TimestampRule, validate_events

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _only_rejection(item: dict) -> tuple[str, str]:
    accepted, rejected = validate_events([item], NOW, project_id="default")
    assert accepted == [], f"expected a rejection, got {accepted}"
    assert len(rejected) == 1 and rejected[0].index == 0
    return rejected[0].field, rejected[0].reason


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (
            {"user_id": "u", "type": "geo", "source": "lifestream", "properties": {"lon": 1.0}},
            "properties.lat",
        ),
        (
            {"user_id": "u", "type": "geo", "source": "lifestream", "properties": {"lat": "55", "lon": 1}},
            "properties.lat",
        ),
        (
            {"user_id": "u", "type": "purchase", "source": "lifestream", "properties": {"item": "Latte"}},
            "properties.amount",
        ),
        (
            {
                "user_id": "u",
                "type": "purchase",
                "source": "lifestream",
                "properties": {"item": "x", "amount": -1},
            },
            "properties.amount",
        ),
        (
            {"user_id": "u", "type": "social", "source": "lifestream", "properties": {"action": 5}},
            "properties.action",
        ),
        (
            {"user_id": "u", "type": "health", "source": "lifestream", "properties": {"metric": "hr"}},
            "properties.value",
        ),
        (
            {
                "user_id": "u",
                "type": "activity",
                "source": "lifestream",
                "properties": {"activity": "run", "duration_minutes": "ten"},
            },
            "properties.duration_minutes",
        ),
        ({"user_id": "u", "type": "teleport", "source": "lifestream", "properties": {}}, "type"),
        (
            {"user_id": "u", "type": "start", "source": "viewing", "properties": {"position_seconds": 0}},
            "properties.movie_id",
        ),
        (
            {
                "user_id": "u",
                "type": "progress",
                "source": "viewing",
                "properties": {"movie_id": "m", "position_seconds": 1.5},
            },
            "properties.position_seconds",
        ),
        (
            {
                "user_id": "u",
                "type": "rewind",
                "source": "viewing",
                "properties": {"movie_id": "m", "position_seconds": 1},
            },
            "type",
        ),
        (
            {"user_id": "u", "type": "click", "source": "commerce", "properties": {"price": "ten"}},
            "properties.price",
        ),
        (
            {"user_id": "u", "type": "click", "source": "commerce", "properties": {"item_id": 7}},
            "properties.item_id",
        ),
        (
            {
                "user_id": "u",
                "type": "signal",
                "source": "telemetry",
                "properties": {
                    "prosthesis_type": "arm",
                    "muscle_group": "biceps",
                    "signal_frequency": 0,
                    "signal_duration": 1,
                    "signal_amplitude": 1.0,
                },
            },
            "properties.signal_frequency",
        ),
        (
            {
                "user_id": "u",
                "type": "signal",
                "source": "telemetry",
                "properties": {"prosthesis_type": "arm"},
            },
            "properties.muscle_group",
        ),
        ({"type": "page_view"}, "user_id"),
        ({"user_id": "", "type": "page_view"}, "user_id"),
        ({"user_id": ["u"], "type": "page_view"}, "user_id"),
        ({"user_id": "u"}, "type"),
        ({"user_id": "u", "type": "x", "properties": "not an object"}, "properties"),
        ({"user_id": "u", "type": "x", "source": "mainframe"}, "source"),
        ({"user_id": "u", "type": "x", "timestamp": "yesterday"}, "timestamp"),
        ({"user_id": "u", "type": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_event_is_rejected_naming_its_field(item: dict, field: str) -> None:
    # Given one event with a missing or wrong-typed field; When it is validated
    rejected_field, reason = _only_rejection(item)
    # Then the rejection names exactly that field, with a reason in words
    assert rejected_field == field
    assert len(reason) > 5


def test_good_events_survive_bad_neighbours() -> None:
    # Given a batch with good events around bad ones
    items = [
        {"user_id": "a", "type": "page_view"},
        {"user_id": "b"},
        "not an object",
        {"user_id": "c", "type": "geo", "source": "lifestream", "properties": {"lat": 1, "lon": 2}},
    ]
    # When it is validated
    accepted, rejected = validate_events(items, NOW, project_id="default")
    # Then the good ones pass with their indexes and each bad one is named by index
    assert [index for index, _ in accepted] == [0, 3]
    assert [(r.index, r.field) for r in rejected] == [(1, "type"), (2, "event")]


def test_timestamps_are_normalised_to_utc_and_missing_ones_take_the_receive_time() -> None:
    items = [
        {"user_id": "u", "type": "x", "timestamp": "2026-11-20T10:00:00+02:00"},
        {"user_id": "u", "type": "x", "timestamp": "2026-11-20T10:00:00"},
        {"user_id": "u", "type": "x"},
    ]
    accepted, _ = validate_events(items, NOW, project_id="default")
    stamps = [event.timestamp for _, event in accepted]
    assert stamps == [datetime(2026, 11, 20, 8, tzinfo=UTC), datetime(2026, 11, 20, 10, tzinfo=UTC), NOW]
    assert orjson.loads(accepted[0][1].to_json())["timestamp"] == "2026-11-20T08:00:00Z"


def test_future_and_too_old_timestamps_are_rejected_by_the_stated_rule() -> None:
    rule = TimestampRule(max_future_skew=timedelta(seconds=300), max_age=timedelta(days=30))
    items = [
        {"user_id": "u", "type": "x", "timestamp": (NOW + timedelta(seconds=299)).isoformat()},
        {"user_id": "u", "type": "x", "timestamp": (NOW + timedelta(seconds=301)).isoformat()},
        {"user_id": "u", "type": "x", "timestamp": (NOW - timedelta(days=31)).isoformat()},
    ]
    accepted, rejected = validate_events(items, NOW, rule, project_id="default")
    assert [index for index, _ in accepted] == [0]
    assert [(r.index, r.field) for r in rejected] == [(1, "timestamp"), (2, "timestamp")]
    assert "future" in rejected[0].reason and "older than 30 days" in rejected[1].reason


def test_event_ids_are_kept_generated_or_mapped_stably() -> None:
    given = "123e4567-e89b-12d3-a456-426614174000"
    items = [
        {"user_id": "u", "type": "x", "event_id": given},
        {"user_id": "u", "type": "x"},
        {"user_id": "u", "type": "click", "source": "commerce", "event_id": "1"},
    ]
    accepted, _ = validate_events(items, NOW, project_id="default")
    ids = [event.event_id for _, event in accepted]
    assert ids[0] == given
    assert uuid.UUID(ids[1]).version == 4
    assert ids[2] == str(uuid.uuid5(EVENT_ID_NAMESPACE, "commerce:u:1"))
    again, _ = validate_events(items[2:], NOW, project_id="default")
    assert again[0][1].event_id == ids[2]


def test_two_users_sending_the_same_non_uuid_id_get_two_events() -> None:
    # Given two AnModel-style clients that both number their events from "1", and one re-send
    items = [
        {"user_id": "alice", "type": "click", "source": "commerce", "event_id": "1"},
        {"user_id": "bob", "type": "click", "source": "commerce", "event_id": "1"},
        {"user_id": "alice", "type": "click", "source": "commerce", "event_id": "1"},
    ]
    # When they are validated
    accepted, _ = validate_events(items, NOW, project_id="default")
    ids = [event.event_id for _, event in accepted]
    # Then the two users' events differ, and the re-sent one keeps its identity
    assert ids[0] != ids[1] and ids[0] == ids[2]


def test_events_analytics_api_field_names_and_integer_user_ids_are_accepted() -> None:
    items = [{"occurred_at": "2025-01-15T12:00:00Z", "user_id": 512, "event_type": "page_view"}]
    accepted, rejected = validate_events(items, NOW, project_id="default")
    assert rejected == []
    event = accepted[0][1]
    assert (event.user_id, event.type, event.timestamp.year) == ("512", "page_view", 2025)


# One good event of each source's family: (type, properties).
GOOD_EVENT_OF = {
    "generic": ("page_view", {}),
    "lifestream": ("geo", {"lat": 50.45, "lon": 30.52}),
    "viewing": ("start", {"movie_id": "m1", "position_seconds": 0}),
    "commerce": ("view", {"item_id": "i1"}),
    "telemetry": (
        "signal",
        {
            "prosthesis_type": "hand",
            "muscle_group": "flexor",
            "signal_frequency": 200,
            "signal_duration": 30,
            "signal_amplitude": 0.7,
        },
    ),
    # The analytics SDKs' events (eventlens.sdk_formats), whose properties are any object
    "segment": ("Signed Up", {"plan": "pro", "$context": {"ip": "1.2.3.4"}}),
    "posthog": ("$pageview", {"$current_url": "https://example.com"}),
    "snowplow": ("$pageview", {"$page_url": "https://example.com"}),
}


def test_every_source_the_envelope_accepts_is_one_consume_parses() -> None:
    # Given a good event of each source consume parses, and one of a source nobody knows
    items = [
        {
            "user_id": "u",
            "type": GOOD_EVENT_OF[source][0],
            "properties": GOOD_EVENT_OF[source][1],
            "source": source,
        }
        for source in SOURCES
    ]
    # When the envelope judges them
    accepted, rejected = validate_events(items, NOW, project_id="default")
    # Then each is accepted as sent, and the unknown source is named as the bad field
    assert rejected == []
    assert [event.source for _, event in accepted] == list(SOURCES)
    assert _only_rejection({"user_id": "u", "type": "page_view", "source": "fax"})[0] == "source"
