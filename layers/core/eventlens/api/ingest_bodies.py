"""What each ingest route accepts, as models for the OpenAPI document (``eventlens.api.docs_routes``).

The ingest routes read their bodies themselves (``eventlens.wire_formats``, then every event judged
on its own), so Powertools sees no body parameter to document; these models say, route by route,
what those functions take. Only the document imports this module, never the ingest function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from eventlens.events import EventIn

# The body of events/ingest_v1_events.json: one event of each family (a test keeps them equal).
EVENTS_EXAMPLE: dict[str, Any] = {
    "events": [
        {
            "event_id": "0b6f3f8e-3c1d-4c9a-9a57-5b1c2d3e4f50",
            "user_id": "user_123",
            "type": "page_view",
            "timestamp": "2026-11-20T12:00:00Z",
            "properties": {"page": "/home", "country": "UA"},
        },
        {
            "user_id": "550e8400-e29b-41d4-a716-446655440000",
            "type": "geo",
            "source": "lifestream",
            "timestamp": "2026-11-20T08:00:00+02:00",
            "properties": {"lat": 50.45, "lon": 30.52},
        },
        {
            "user_id": "7d3f1c2a-0000-4000-8000-000000000001",
            "type": "start",
            "source": "viewing",
            "timestamp": "2026-11-20T20:00:00Z",
            "properties": {
                "movie_id": "4f9e2c1a-0000-4000-8000-0000000000aa",
                "position_seconds": 0,
                "session_id": "s-1",
            },
        },
        {
            "user_id": "u-42",
            "type": "add_to_cart",
            "source": "commerce",
            "timestamp": "2026-11-20T13:00:00Z",
            "properties": {"item_id": "item_1", "price": 10, "session_id": "s", "region": "UA-30"},
        },
        {
            "user_id": 512,
            "type": "signal",
            "source": "telemetry",
            "timestamp": "2026-01-15T10:00:00",
            "properties": {
                "prosthesis_type": "hand",
                "muscle_group": "forearm",
                "signal_frequency": 175,
                "signal_duration": 1200,
                "signal_amplitude": 2.31,
            },
        },
    ]
}


class EventlensEvent(EventIn):
    """One event of eventlens's envelope, as ``EventIn`` validates it; an integer user_id (the
    Reports Backend's) is taken and kept as text."""

    user_id: Annotated[StrictStr, Field(min_length=1, max_length=256)] | StrictInt  # type: ignore[assignment]


class EventBatch(BaseModel):
    """eventlens's envelope: events of any family, each validated on its own."""

    events: list[EventlensEvent] = Field(min_length=1)


class AnalyticsApiEvent(BaseModel):
    """The Events Analytics API's event (eventlens's field names are taken too)."""

    event_id: str | None = None
    occurred_at: datetime | None = None
    user_id: str
    event_type: str
    properties: dict[str, Any] = Field(default_factory=dict)


class AnalyticsApiBatch(BaseModel):
    """The Events Analytics API's batch."""

    events: list[AnalyticsApiEvent] = Field(min_length=1)


class AnModelEvent(BaseModel):
    """AnModel's commerce behaviour event (a list of them is taken too); session_id and region are
    kept among the properties, a non-UUID event_id is mapped to a stable UUID."""

    event_id: str | None = None
    event_type: str
    timestamp: datetime | None = None
    session_id: str | None = None
    user_id: str
    region: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class LifeStreamEvent(BaseModel):
    """Life Stream's event: its type's fields beside ``type`` (geo: lat, lon; purchase: item, amount;
    social: action; health: metric, value; activity: activity, duration_minutes)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["geo", "purchase", "social", "health", "activity"]
    ts: datetime | None = None
    event_id: str | None = None


class LifeStreamBatch(BaseModel):
    """Life Stream's batch: one user's events."""

    user_id: str
    events: list[LifeStreamEvent] = Field(min_length=1)


class LifeStreamSingle(LifeStreamEvent):
    """Life Stream's single event, flat (``{"user_id": …, "event": {…}}`` is taken too)."""

    user_id: str


class ViewingEvent(BaseModel):
    """The cinema Analytics Service's viewing event (a list of them is taken too)."""

    user_id: str
    movie_id: str
    event_type: str = Field(description="start, progress or finish (the service's Kafka action names too)")
    position_seconds: int = Field(ge=0)
    session_id: str | None = None
    metadata: dict[str, Any] | None = None
    timestamp: datetime | None = None


# Each ingest route's path and the body it takes, as documented.
REQUEST_BODIES: dict[str, type[BaseModel]] = {
    "/v1/events": EventBatch,
    "/events": AnalyticsApiBatch,
    "/collect": AnModelEvent,
    "/api/v1/stream/ingest": LifeStreamBatch,
    "/api/v1/stream/ingest/single": LifeStreamSingle,
    "/api/v1/analytics/events": ViewingEvent,
}
EXAMPLES: dict[str, dict[str, Any]] = {"/v1/events": EVENTS_EXAMPLE}
