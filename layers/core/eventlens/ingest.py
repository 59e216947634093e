"""Ingest: validate a batch, publish the good events to the queue keyed by user, report the rest."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel

from eventlens.errors import BatchTooLarge, PayloadError
from eventlens.events import Event, Rejection, TimestampRule, validate_events
from eventlens.queue import EventQueue
from eventlens.settings import Settings


class Duplicate(BaseModel):
    """An event of the batch whose id an earlier event of the same batch already has."""

    index: int
    event_id: str
    first_index: int


class IngestResult(BaseModel):
    """What became of a batch: the ids of the accepted events, each rejected one by index, and
    each repeat of an id within the batch (not published: the first event with the id was)."""

    accepted: int
    rejected: list[Rejection]
    event_ids: list[str]
    duplicates: list[Duplicate] = []


# Kafka's (and MSK's) default message.max.bytes is 1 MB; records stay well under it.
MAX_EVENTS_PER_RECORD = 200
MAX_RECORD_BYTES = 512 * 1024


def user_records(events: list[Event]) -> list[tuple[bytes, bytes]]:
    """Queue records keyed by user_id, each the JSON array of up to 200 of that user's events, in order
    (a batch's events are all of one project, which each event names).

    Kafka keeps a user's events in order on one partition either way; grouping them makes one
    record of many events, which the producer, the broker and consume all handle far faster.
    """
    by_user: dict[str, list[Event]] = {}
    for event in events:
        by_user.setdefault(event.user_id, []).append(event)
    records: list[tuple[bytes, bytes]] = []
    for user, group in by_user.items():
        key = user.encode()
        for start in range(0, len(group), MAX_EVENTS_PER_RECORD):
            records.extend(
                (key, value) for value in _bounded_values(group[start : start + MAX_EVENTS_PER_RECORD])
            )
    return records


def _bounded_values(group: list[Event]) -> list[bytes]:
    """The group as JSON, halved until each part is under MAX_RECORD_BYTES (or is one event)."""
    value = orjson.dumps(group, option=orjson.OPT_UTC_Z)
    if len(value) <= MAX_RECORD_BYTES or len(group) == 1:
        return [value]
    middle = len(group) // 2
    return _bounded_values(group[:middle]) + _bounded_values(group[middle:])


def decode_batch(body: bytes, settings: Settings) -> Any:
    """The JSON of a request body, within the byte limit (413) and well-formed (400)."""
    if len(body) > settings.max_batch_bytes:
        raise BatchTooLarge("body", f"is {len(body)} bytes; the limit is {settings.max_batch_bytes}")
    if not body.strip():
        raise PayloadError("body", "is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError("body", f"is not valid JSON ({exc})") from None


def ingest_events(
    items: list[Any],
    queue: EventQueue,
    settings: Settings,
    *,
    project_id: str,
    received_at: datetime | None = None,
) -> IngestResult:
    """Publish the valid events of ``items`` into ``project_id`` and name every invalid one.

    All valid events are published in one all-or-nothing batch: when the queue refuses it,
    ``QueueUnavailable`` propagates and none of them was accepted.
    """
    if len(items) > settings.max_batch_events:
        raise BatchTooLarge("events", f"holds {len(items)} events; the limit is {settings.max_batch_events}")
    received_at = received_at or datetime.now(UTC)
    rule = TimestampRule(
        max_future_skew=timedelta(seconds=settings.max_future_skew_s),
        max_age=timedelta(days=settings.max_event_age_days),
    )
    valid, rejected = validate_events(items, received_at, rule, project_id=project_id)
    accepted, duplicates, first_of = _first_of_each_id(valid)
    if accepted:
        try:
            records = user_records(accepted)
        except orjson.JSONEncodeError:  # properties nested past orjson's limit (254 levels)
            accepted, records = _without_unserialisable(accepted, first_of, rejected)
        if records:
            queue.publish(records)
    rejected.sort(key=lambda r: r.index)
    return IngestResult(
        accepted=len(accepted),
        rejected=rejected,
        event_ids=[event.event_id for event in accepted],
        duplicates=duplicates,
    )


def _first_of_each_id(
    valid: list[tuple[int, Event]],
) -> tuple[list[Event], list[Duplicate], dict[str, int]]:
    """The first event of each id, each repeat of an id, and the index each id was first seen at."""
    first_of = {event.event_id: index for index, event in reversed(valid)}
    if len(first_of) == len(valid):  # no repeats: the usual batch, no loop in Python
        return [event for _, event in valid], [], first_of
    accepted: list[Event] = []
    duplicates: list[Duplicate] = []
    for index, event in valid:
        first = first_of[event.event_id]
        if first == index:
            accepted.append(event)
        else:
            duplicates.append(Duplicate(index=index, event_id=event.event_id, first_index=first))
    return accepted, duplicates, first_of


def ingest_judged(
    judged: Sequence[dict[str, Any] | Rejection],
    queue: EventQueue,
    settings: Settings,
    *,
    project_id: str,
    received_at: datetime,
    field_names: Mapping[str, str] | None = None,
) -> IngestResult:
    """``ingest_events`` for a batch some of whose messages a wire format refused already (the
    ``Rejection`` among ``judged``, by the message's index): the others are validated and published,
    and every index of the answer is the message's. ``field_names`` renames the envelope's fields
    in rejections to the protocol's own (``{"user_id": "userId"}``)."""
    if len(judged) > settings.max_batch_events:
        raise BatchTooLarge(
            "batch", f"holds {len(judged)} messages; the limit is {settings.max_batch_events}"
        )
    positions = [index for index, item in enumerate(judged) if not isinstance(item, Rejection)]
    refused = [item for item in judged if isinstance(item, Rejection)]
    if not positions:
        return IngestResult(accepted=0, rejected=refused, event_ids=[])
    result = ingest_events(
        [judged[index] for index in positions],
        queue,
        settings,
        project_id=project_id,
        received_at=received_at,
    )
    names = field_names or {}
    for rejection in result.rejected:
        head, dot, rest = rejection.field.partition(".")
        refused.append(
            Rejection(
                index=positions[rejection.index],
                field=names.get(head, head) + dot + rest,
                reason=rejection.reason,
            )
        )
    refused.sort(key=lambda r: r.index)
    duplicates = [
        Duplicate(index=positions[d.index], event_id=d.event_id, first_index=positions[d.first_index])
        for d in result.duplicates
    ]
    return IngestResult(
        accepted=result.accepted, rejected=refused, event_ids=result.event_ids, duplicates=duplicates
    )


def _without_unserialisable(
    events: list[Event], index_of: dict[str, int], rejected: list[Rejection]
) -> tuple[list[Event], list[tuple[bytes, bytes]]]:
    """The events that serialise, with their records; each that does not is added to ``rejected``."""
    kept = []
    for event in events:
        try:
            orjson.dumps(event, option=orjson.OPT_UTC_Z)
        except orjson.JSONEncodeError:
            reason = "cannot be stored as JSON: nested past about 250 levels, or an integer beyond 64 bits"
            rejected.append(Rejection(index=index_of[event.event_id], field="properties", reason=reason))
        else:
            kept.append(event)
    return kept, user_records(kept) if kept else []


def ingest_payload(
    body: bytes,
    to_items: Callable[[Any], list[Any]],
    queue: EventQueue,
    settings: Settings,
    project_id: str,
) -> IngestResult:
    """Decode a request body in one of the accepted formats (``wire_formats``) and ingest it."""
    return ingest_events(to_items(decode_batch(body, settings)), queue, settings, project_id=project_id)
