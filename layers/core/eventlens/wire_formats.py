"""The reference systems' own ingest payloads, turned into eventlens event items.

Each function takes a decoded JSON body and returns the list of items ``events.validate_events``
judges, so every route shares one validation and one answer. A body whose outer shape is wrong
(not an object, ``events`` not a list) raises ``PayloadError``, naming the field; a wrong field inside
one event is left for validation, so only that event is rejected.
"""

from __future__ import annotations

from typing import Any

from eventlens.errors import PayloadError
from eventlens.events import VIEWING_ACTIONS


def eventlens_batch(body: Any) -> list[Any]:
    """``POST /v1/events`` and the Events Analytics API's ``POST /events``: ``{"events": [event, …]}``."""
    return _event_list(_object(body), "events")


def anmodel_collect(body: Any) -> list[Any]:
    """AnModel's ``POST /collect``: one commerce event (or a list of them).

    ``{"event_id", "event_type", "timestamp", "session_id", "user_id", "region", "properties"}``;
    session_id and region are kept among the properties.
    """
    events = _events_or_one(body)
    items = []
    for event in events:
        if not isinstance(event, dict):
            items.append(event)
            continue
        known = {
            "event_id",
            "event_type",
            "type",
            "timestamp",
            "user_id",
            "properties",
            "session_id",
            "region",
        }
        raw_properties = event.get("properties", {})
        properties = dict(raw_properties) if isinstance(raw_properties, dict) else raw_properties
        if isinstance(properties, dict):
            properties.update({f: event[f] for f in ("session_id", "region") if event.get(f) is not None})
        item = {k: event[k] for k in ("event_id", "user_id", "timestamp") if k in event}
        item["type"] = event.get("event_type", event.get("type"))
        item["properties"] = properties
        item["source"] = "commerce"
        item.update({k: v for k, v in event.items() if k not in known})  # unknown fields: rejected by name
        items.append(item)
    return items


def lifestream_batch(body: Any) -> list[Any]:
    """Life Stream's ``POST /api/v1/stream/ingest``: ``{"user_id", "events": [{"type", "ts", …fields}]}``."""
    envelope = _object(body)
    return [_lifestream_item(envelope.get("user_id"), event) for event in _event_list(envelope, "events")]


def lifestream_single(body: Any) -> list[Any]:
    """Life Stream's ``POST /api/v1/stream/ingest/single``: ``{"user_id", "event": {…}}`` or a flat event."""
    envelope = _object(body)
    if "event" in envelope:
        return [_lifestream_item(envelope.get("user_id"), envelope["event"])]
    flat = {k: v for k, v in envelope.items() if k != "user_id"}
    return [_lifestream_item(envelope.get("user_id"), flat)]


def viewing_event(body: Any) -> list[Any]:
    """The cinema Analytics Service's ``POST /api/v1/analytics/events`` (and its Kafka format, ``action``).

    ``{"user_id", "movie_id", "event_type", "position_seconds", "session_id", "metadata", "timestamp"}``.
    """
    return [_viewing_item(event) for event in _events_or_one(body)]


def _viewing_item(event: Any) -> Any:
    if not isinstance(event, dict):
        return event
    action = event.get("event_type", event.get("action"))
    properties = {
        k: event[k] for k in ("movie_id", "position_seconds", "session_id", "metadata") if k in event
    }
    item = {k: event[k] for k in ("event_id", "user_id", "timestamp") if k in event}
    item["type"] = VIEWING_ACTIONS.get(action, action) if isinstance(action, str) else action
    item["properties"] = properties
    item["source"] = "viewing"
    return item


def _lifestream_item(user_id: Any, event: Any) -> Any:
    if not isinstance(event, dict):
        return event
    item: dict[str, Any] = {"user_id": user_id, "source": "lifestream"}
    properties = {}
    for field, value in event.items():
        if field == "type":
            item["type"] = value
        elif field in ("ts", "timestamp"):
            item["timestamp"] = value
        elif field == "event_id":
            item["event_id"] = value
        else:
            properties[field] = value
    item["properties"] = properties
    return item


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise PayloadError("body", "must be a JSON object")
    return body


def _events_or_one(body: Any) -> list[Any]:
    """A list of events, or one event (an object) as a list of one."""
    if not isinstance(body, list):
        return [_object(body)]
    if not body:
        raise PayloadError("body", "must hold at least one event")
    return body


def _event_list(envelope: dict[str, Any], field: str) -> list[Any]:
    events = envelope.get(field)
    if not isinstance(events, list):
        raise PayloadError(field, "must be a list of events")
    if not events:
        raise PayloadError(field, "must hold at least one event")
    return events
