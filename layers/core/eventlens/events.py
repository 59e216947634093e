"""The event envelope, its typed families, and batch validation.

Every event, whatever route it came by, becomes one envelope:
``event_id, user_id, type, timestamp, properties, source`` (+ ``received_at``, set by ingest).

``source`` names the family that validates ``properties``:

========== ===================================================== ==========================
source     types and their required properties                  reference system
========== ===================================================== ==========================
lifestream geo (lat, lon), purchase (item, amount), social        000 Life Stream
           (action), health (metric, value), activity
           (activity, duration_minutes)
viewing    start / progress / finish (movie_id, position_seconds) 002 Analytics Service
commerce   any type; item_id (str) and price (>= 0) when present   001 AnModel
telemetry  any type; prosthesis_type, muscle_group,               004 Reports Backend
           signal_frequency, signal_duration, signal_amplitude
generic    any type, any JSON object of properties                003 Events Analytics API
========== ===================================================== ==========================

The timestamp rule: a missing timestamp is the moment ingest received the event; a timestamp
without a zone is UTC; every timestamp is stored in UTC. One more than ``max_future_skew_s``
ahead of the server clock, or older than ``max_event_age_days``, is rejected, naming the field.

A missing event_id is generated (UUID4). An event_id that is not a UUID (001 sends "1") is mapped
to a stable UUID5 of source and id, so a re-sent event keeps its identity and counts once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

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
)

Source = Literal["generic", "lifestream", "viewing", "commerce", "telemetry"]
SOURCES: tuple[str, ...] = ("generic", "lifestream", "viewing", "commerce", "telemetry")

# Namespace for ids derived from a client's non-UUID event_id (stable across releases: never change).
EVENT_ID_NAMESPACE = uuid.UUID("6f1c6d1e-2b7a-4c55-9a57-0c3f3b0e7a11")

Number = StrictFloat  # strict: ints are taken (as floats), numeric strings and booleans are not
NonNegative = Annotated[Number, Field(ge=0)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=256)]


class _Properties(BaseModel):
    """Family properties: the named fields are checked, any others are kept as sent."""

    model_config = ConfigDict(extra="allow")


# --- Life Stream (000) ---------------------------------------------------------------------------
class GeoProperties(_Properties):
    lat: Annotated[Number, Field(ge=-90, le=90)]
    lon: Annotated[Number, Field(ge=-180, le=180)]


class PurchaseProperties(_Properties):
    item: Name
    amount: NonNegative


class SocialProperties(_Properties):
    action: Name


class HealthProperties(_Properties):
    metric: Name
    value: Number


class ActivityProperties(_Properties):
    activity: Name
    duration_minutes: NonNegative


# --- Viewing (002) -------------------------------------------------------------------------------
class ViewingProperties(_Properties):
    movie_id: Name
    position_seconds: Annotated[StrictInt, Field(ge=0, le=4_294_967_295)]
    session_id: Name | None = None


# --- Commerce behaviour (001) --------------------------------------------------------------------
class CommerceProperties(_Properties):
    item_id: Name | None = None
    price: NonNegative | None = None
    session_id: Name | None = None
    region: Name | None = None


# --- Telemetry (004) -----------------------------------------------------------------------------
class TelemetryProperties(_Properties):
    prosthesis_type: Name
    muscle_group: Name
    signal_frequency: Annotated[StrictInt, Field(gt=0)]
    signal_duration: Annotated[StrictInt, Field(ge=0)]
    signal_amplitude: Number


class GenericProperties(_Properties):
    pass


LIFESTREAM_TYPES: dict[str, type[_Properties]] = {
    "geo": GeoProperties,
    "purchase": PurchaseProperties,
    "social": SocialProperties,
    "health": HealthProperties,
    "activity": ActivityProperties,
}
VIEWING_TYPES = ("start", "progress", "finish")

# 002's Kafka action names and their event types.
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


def properties_model(source: str, event_type: str) -> type[_Properties]:
    """The model that checks ``properties`` for an event of this source and type.

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
    return GenericProperties


class EventIn(BaseModel):
    """One event as a client sends it to ``POST /v1/events`` (003's field names are accepted too)."""

    model_config = ConfigDict(extra="forbid")

    event_id: Annotated[StrictStr, Field(min_length=1, max_length=128)] | None = None
    user_id: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    type: Annotated[StrictStr, Field(min_length=1, max_length=128, validation_alias=AliasChoices("type", "event_type"))]
    timestamp: datetime | None = Field(
        default=None, validation_alias=AliasChoices("timestamp", "occurred_at", "ts")
    )
    properties: dict[str, Any] = Field(default_factory=dict)
    source: Source = "generic"

    @field_validator("user_id", mode="before")
    @classmethod
    def _user_id_as_text(cls, value: Any) -> Any:
        # 004 identifies users by integer; every id is kept as text.
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


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event, normalised: UTC timestamps, a UUID event_id."""

    event_id: str  # canonical UUID text
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
    default_source: str = "generic",
) -> tuple[list[tuple[int, Event]], list[Rejection]]:
    """Validate a batch: the events that pass (with their index), and why each other one failed.

    Good events are never lost to a bad neighbour: each item is judged on its own.
    """
    items = [_with_default_source(item, default_source) for item in items]
    try:
        parsed: list[EventIn | None] = list(_EVENT_LIST.validate_python(items))
        envelope_errors: dict[int, Rejection] = {}
    except ValidationError as exc:
        envelope_errors = _first_error_per_index(exc)
        parsed = [None if i in envelope_errors else EventIn.model_validate(item) for i, item in enumerate(items)]

    accepted: list[tuple[int, Event]] = []
    rejected = list(envelope_errors.values())
    for index, event_in in enumerate(parsed):
        if event_in is None:
            continue
        try:
            accepted.append((index, _normalise(event_in, received_at, rule)))
        except _FieldError as exc:
            rejected.append(Rejection(index=index, field=exc.field, reason=exc.reason))
    rejected.sort(key=lambda r: r.index)
    return accepted, rejected


class _FieldError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _normalise(event_in: EventIn, received_at: datetime, rule: TimestampRule) -> Event:
    timestamp = _utc(event_in.timestamp) if event_in.timestamp is not None else received_at
    if timestamp > received_at + rule.max_future_skew:
        raise _FieldError(
            "timestamp", f"is more than {int(rule.max_future_skew.total_seconds())} s in the future"
        )
    if timestamp < received_at - rule.max_age:
        raise _FieldError("timestamp", f"is older than {rule.max_age.days} days")
    try:
        model = properties_model(event_in.source, event_in.type)
    except ValueError as exc:
        raise _FieldError("type", str(exc)) from None
    if model is GenericProperties:
        properties = event_in.properties  # any JSON object: nothing to check, nothing to copy
    else:
        properties = _checked_properties(model, event_in.properties)
    return Event(
        event_id=event_id_for(event_in.event_id, event_in.source),
        user_id=event_in.user_id,
        type=event_in.type,
        timestamp=timestamp,
        properties=properties,
        source=event_in.source,
        received_at=received_at,
    )


def _checked_properties(model: type[_Properties], properties: dict[str, Any]) -> dict[str, Any]:
    try:
        return model.model_validate(properties).model_dump(exclude_none=True)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise _FieldError(_dotted(("properties", *error["loc"])), error["msg"]) from None


def event_id_for(raw: str | None, source: str) -> str:
    """The stored id, as canonical UUID text: the client's UUID, a stable UUID5 of a non-UUID id,
    or a new UUID4."""
    if raw is None:
        return str(uuid.uuid4())
    if _CANONICAL_UUID.fullmatch(raw):
        return raw
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}:{raw}"))


def _first_error_per_index(exc: ValidationError) -> dict[int, Rejection]:
    errors: dict[int, Rejection] = {}
    for error in exc.errors():
        index, *field = error["loc"]
        if isinstance(index, int) and index not in errors:
            errors[index] = Rejection(index=index, field=_dotted(field) or "event", reason=error["msg"])
    return errors


def _with_default_source(item: Any, default_source: str) -> Any:
    if isinstance(item, Mapping) and "source" not in item and default_source != "generic":
        return {**item, "source": default_source}
    return item


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

