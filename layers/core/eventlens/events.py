"""The event envelope, its typed families, and batch validation.

Every event, whatever route it came by, becomes one envelope:
``event_id, user_id, type, timestamp, properties, source`` (+ ``received_at``, set by ingest).

``source`` names the family that validates ``properties``:

========== ===================================================== ===============================
source     types and their required properties                  reference system
========== ===================================================== ===============================
lifestream geo (lat, lon), purchase (item, amount), social        Life Stream
           (action), health (metric, value), activity
           (activity, duration_minutes)
viewing    start / progress / finish (movie_id, position_seconds) the cinema's Analytics Service
commerce   any type; item_id (str) and price (>= 0) when present   AnModel
telemetry  any type; prosthesis_type, muscle_group,               Reports Backend
           signal_frequency, signal_duration, signal_amplitude
generic    any type, any JSON object of properties                Events Analytics API
segment    any type, any JSON object (``eventlens.sdk_formats``)   Segment / RudderStack / Jitsu SDKs
posthog    any type, any JSON object (``eventlens.sdk_formats``)   PostHog SDKs
snowplow   any type, any JSON object (``eventlens.sdk_formats``)   Snowplow trackers
========== ===================================================== ===============================

The timestamp rule: a missing timestamp is the moment ingest received the event; a timestamp
without a zone is UTC; every timestamp is stored in UTC. One more than ``max_future_skew_s``
ahead of the server clock, or older than ``max_event_age_days``, is rejected, naming the field.

A missing event_id is generated (UUID4). An event_id that is not a UUID (AnModel sends "1") is mapped
to a stable UUID5 of source, user and id, so a re-sent event keeps its identity and counts once, and
two users whose clients both number their events from "1" never collide.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any, Literal, NotRequired, get_args

import orjson
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    with_config,
)
from typing_extensions import TypedDict

from eventlens.errors import FieldError

Source = Literal[
    "generic", "lifestream", "viewing", "commerce", "telemetry", "segment", "posthog", "snowplow"
]
# The sources consume parses, read from the one list above: a source the envelope accepted but
# consume did not know would dead-letter every event of it.
SOURCES: tuple[Source, ...] = get_args(Source)

# Namespace for ids derived from a client's non-UUID event_id (stable across releases: never change).
EVENT_ID_NAMESPACE = uuid.UUID("6f1c6d1e-2b7a-4c55-9a57-0c3f3b0e7a11")

Number = StrictFloat  # strict: ints are taken (as floats), numeric strings and booleans are not
NonNegative = Annotated[Number, Field(ge=0)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=256)]


# Family properties are TypedDicts validated a whole family at a time (one pydantic call per batch,
# no model objects): the named fields are checked, any others are kept as sent.
_KEEP_OTHERS = ConfigDict(extra="allow")


# --- Life Stream ---------------------------------------------------------------------------------
@with_config(_KEEP_OTHERS)
class GeoProperties(TypedDict):
    lat: Annotated[Number, Field(ge=-90, le=90)]
    lon: Annotated[Number, Field(ge=-180, le=180)]


@with_config(_KEEP_OTHERS)
class PurchaseProperties(TypedDict):
    item: Name
    amount: NonNegative


@with_config(_KEEP_OTHERS)
class SocialProperties(TypedDict):
    action: Name


@with_config(_KEEP_OTHERS)
class HealthProperties(TypedDict):
    metric: Name
    value: Number


@with_config(_KEEP_OTHERS)
class ActivityProperties(TypedDict):
    activity: Name
    duration_minutes: NonNegative


# --- Viewing (the cinema's Analytics Service) ----------------------------------------------------
@with_config(_KEEP_OTHERS)
class ViewingProperties(TypedDict):
    movie_id: Name
    position_seconds: Annotated[StrictInt, Field(ge=0, le=4_294_967_295)]
    session_id: NotRequired[Name | None]


# --- Commerce behaviour (AnModel) ----------------------------------------------------------------
@with_config(_KEEP_OTHERS)
class CommerceProperties(TypedDict):
    item_id: NotRequired[Name | None]
    price: NotRequired[NonNegative | None]
    session_id: NotRequired[Name | None]
    region: NotRequired[Name | None]


# --- Telemetry (Reports Backend) -----------------------------------------------------------------
@with_config(_KEEP_OTHERS)
class TelemetryProperties(TypedDict):
    prosthesis_type: Name
    muscle_group: Name
    signal_frequency: Annotated[StrictInt, Field(gt=0)]
    signal_duration: Annotated[StrictInt, Field(ge=0)]
    signal_amplitude: Number


LIFESTREAM_TYPES: dict[str, type] = {
    "geo": GeoProperties,
    "purchase": PurchaseProperties,
    "social": SocialProperties,
    "health": HealthProperties,
    "activity": ActivityProperties,
}
VIEWING_TYPES = ("start", "progress", "finish")

# The cinema Analytics Service's Kafka action names and their event types.
VIEWING_ACTIONS: dict[str, str] = {
    "stream.start": "start",
    "stream_start": "start",
    "start": "start",
    "stream.progress": "progress",
    "stream_progress": "progress",
    "progress_update": "progress",
    "progress": "progress",
    "stream.stop": "finish",
    "stream_stop": "finish",
    "stream.finish": "finish",
    "finish": "finish",
}


def properties_model(source: str, event_type: str) -> type | None:
    """The TypedDict that checks ``properties`` for an event of this source and type (None: any object).

    Raises ValueError when the type does not belong to the source's family.
    """
    if source == "lifestream":
        model = LIFESTREAM_TYPES.get(event_type)
        if model is None:
            raise ValueError(f"lifestream events are one of {sorted(LIFESTREAM_TYPES)}, not {event_type!r}")
        return model
    if source == "viewing":
        if event_type not in VIEWING_TYPES:
            raise ValueError(f"viewing events are one of {list(VIEWING_TYPES)}, not {event_type!r}")
        return ViewingProperties
    if source == "commerce":
        return CommerceProperties
    if source == "telemetry":
        return TelemetryProperties
    return None


class EventIn(BaseModel):
    """One event as a client sends it to ``POST /v1/events`` (the Events Analytics API's field names are
    accepted too)."""

    model_config = ConfigDict(extra="forbid")

    event_id: Annotated[StrictStr, Field(min_length=1, max_length=128)] | None = None
    user_id: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    type: Annotated[
        StrictStr, Field(min_length=1, max_length=128, validation_alias=AliasChoices("type", "event_type"))
    ]
    timestamp: datetime | None = Field(
        default=None, validation_alias=AliasChoices("timestamp", "occurred_at", "ts")
    )
    properties: dict[str, Any] = Field(default_factory=dict)
    source: Source = "generic"

    @field_validator("user_id", mode="before")
    @classmethod
    def _user_id_as_text(cls, value: Any) -> Any:
        # The Reports Backend identifies users by integer; every id is kept as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("timestamp", mode="before")
    @classmethod
    def _iso_timestamp(cls, value: Any) -> Any:
        # The stdlib parses ISO-8601 into datetime.timezone, which later arithmetic handles several
        # times faster than pydantic's own tzinfo; anything else is left to pydantic's parser.
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                return value
        return value


# Neither frozen nor slotted: a frozen dataclass takes 5x as long to make, and orjson writes one with
# slots 5x slower than one with a __dict__ (ingest makes and writes millions; bench/pipeline.py).
@dataclass
class Event:
    """A validated event, normalised: UTC timestamps, a UUID event_id."""

    event_id: str  # canonical UUID text
    project_id: str  # from the caller's key, never from the event
    user_id: str
    type: str
    timestamp: datetime
    properties: dict[str, Any]
    source: str
    received_at: datetime

    def to_json(self) -> bytes:
        """The JSON that travels through the queue (orjson writes the dataclass in Rust)."""
        return orjson.dumps(self, option=orjson.OPT_UTC_Z)


class Rejection(BaseModel):
    """Why one event of a batch was not accepted."""

    index: int
    field: str
    reason: str


@dataclass(frozen=True)
class TimestampRule:
    max_future_skew: timedelta = timedelta(seconds=300)
    max_age: timedelta = timedelta(days=3650)


_EVENT_LIST = TypeAdapter(list[EventIn])


def validate_events(
    items: list[Any],
    received_at: datetime,
    rule: TimestampRule = TimestampRule(),
    *,
    project_id: str,
) -> tuple[list[tuple[int, Event]], list[Rejection]]:
    """Validate a batch: the events that pass (with their index), and why each other one failed.

    The events belong to ``project_id`` (the caller's, from its key); a ``project_id`` inside an item
    is not a field of the envelope and is rejected with the rest of the unknown fields' rules.

    Good events are never lost to a bad neighbour: each item is judged on its own.

    Plainly valid events are accepted by plain checks (``eventlens.plain_events``, the common case and
    the fast one); the pydantic models judge the others, as the only path that rejects.
    """
    from eventlens.plain_events import plainly_valid

    accepted, unsure = plainly_valid(items, received_at, rule, project_id)
    if not unsure:
        return accepted, []
    judged, rejected = _validated_by_models([items[i] for i in unsure], received_at, rule, project_id)
    accepted.extend((unsure[position], event) for position, event in judged)
    for rejection in rejected:
        rejection.index = unsure[rejection.index]
    accepted.sort(key=lambda pair: pair[0])
    return accepted, rejected


def _validated_by_models(
    items: list[Any], received_at: datetime, rule: TimestampRule, project_id: str
) -> tuple[list[tuple[int, Event]], list[Rejection]]:
    """``validate_events`` by the pydantic models alone, each item judged on its own."""
    try:
        parsed: list[EventIn | None] = list(_EVENT_LIST.validate_python(items))
        envelope_errors: dict[int, Rejection] = {}
    except ValidationError as exc:
        envelope_errors = _first_error_per_index(exc)
        parsed = [
            None if i in envelope_errors else EventIn.model_validate(item) for i, item in enumerate(items)
        ]

    rejected = list(envelope_errors.values())
    # Envelope checks per event, then each family's properties in one call for the whole batch.
    by_model: dict[type | None, list[tuple[int, EventIn, datetime]]] = {}
    for index, event_in in enumerate(parsed):
        if event_in is None:
            continue
        try:
            timestamp = _checked_timestamp(event_in.timestamp, received_at, rule)
            model = properties_model(event_in.source, event_in.type)
        except FieldError as exc:
            rejected.append(Rejection(index=index, field=exc.field, reason=exc.reason))
            continue
        except ValueError as exc:
            rejected.append(Rejection(index=index, field="type", reason=str(exc)))
            continue
        by_model.setdefault(model, []).append((index, event_in, timestamp))

    accepted: list[tuple[int, Event]] = []
    for model, group in by_model.items():
        properties, errors = _checked_properties(model, [event_in.properties for _, event_in, _ in group])
        for position, (index, event_in, timestamp) in enumerate(group):
            if position in errors:
                field, reason = errors[position]
                rejected.append(Rejection(index=index, field=field, reason=reason))
                continue
            event = Event(
                event_id=event_id_for(event_in.event_id, event_in.source, event_in.user_id),
                project_id=project_id,
                user_id=event_in.user_id,
                type=event_in.type,
                timestamp=timestamp,
                properties=properties[position],
                source=event_in.source,
                received_at=received_at,
            )
            accepted.append((index, event))
    accepted.sort(key=lambda pair: pair[0])
    rejected.sort(key=lambda r: r.index)
    return accepted, rejected


def _checked_timestamp(timestamp: datetime | None, received_at: datetime, rule: TimestampRule) -> datetime:
    if timestamp is None:
        return received_at
    try:
        timestamp = _utc(timestamp)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past the last representable moment in UTC
        raise FieldError("timestamp", "is outside the representable range of dates") from None
    if timestamp > received_at + rule.max_future_skew:
        raise FieldError(
            "timestamp", f"is more than {int(rule.max_future_skew.total_seconds())} s in the future"
        )
    if timestamp < received_at - rule.max_age:
        raise FieldError("timestamp", f"is older than {rule.max_age.days} days")
    return timestamp


def _checked_properties(
    model: type | None, batch: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[int, tuple[str, str]]]:
    """The batch's properties as checked by ``model``, and (field, reason) by position for each bad one."""
    if model is None:
        return batch, {}  # any JSON object: nothing to check, nothing to copy
    adapter = _list_adapter(model)
    try:
        return adapter.validate_python(batch), {}
    except ValidationError as exc:
        errors: dict[int, tuple[str, str]] = {}
        for error in exc.errors():
            position, *field = error["loc"]
            if isinstance(position, int) and position not in errors:
                errors[position] = (_dotted(("properties", *field)), error["msg"])
        good = [i for i in range(len(batch)) if i not in errors]
        checked = dict(zip(good, adapter.validate_python([batch[i] for i in good]), strict=True))
        return [checked.get(i, {}) for i in range(len(batch))], errors


@cache
def _list_adapter(model: type) -> TypeAdapter[list[dict[str, Any]]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def event_id_for(raw: str | None, source: str, user_id: str | None = None) -> str:
    """The stored id, as canonical UUID text: the client's UUID, a stable UUID5 of a non-UUID id,
    or a new UUID4.

    A client's non-UUID id is scoped by ``user_id`` when given (ids that clients number per device
    or per user); without it (an importer's primary keys, unique in their table) by source alone.
    """
    if raw is None:
        return str(uuid.uuid4())
    if _CANONICAL_UUID.fullmatch(raw):
        return raw
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        scope = source if user_id is None else f"{source}:{user_id}"
        return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{scope}:{raw}"))


def _first_error_per_index(exc: ValidationError) -> dict[int, Rejection]:
    errors: dict[int, Rejection] = {}
    for error in exc.errors():
        index, *field = error["loc"]
        if isinstance(index, int) and index not in errors:
            errors[index] = Rejection(index=index, field=_dotted(field) or "event", reason=error["msg"])
    return errors


def _dotted(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _utc(moment: datetime) -> datetime:
    """The moment in UTC, at millisecond precision (what the warehouse stores)."""
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    # Subtracting the offset is several times faster than astimezone() with pydantic's TzInfo.
    offset = moment.utcoffset() or timedelta(0)
    return (moment - offset).replace(tzinfo=UTC)


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
