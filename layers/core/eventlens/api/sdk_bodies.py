"""What the analytics SDKs' routes take, as models for the OpenAPI document (``docs_routes``).

The routes read their bodies and queries themselves (``eventlens.sdk_formats``, every message judged
on its own), so Powertools sees no parameter to document; these models say, route by route, what
they take. Only the document imports this module, never the ingest function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from eventlens.sdk_formats import SEGMENT_CALLS


class SegmentMessage(BaseModel):
    """A message of Segment's spec; the key may be its ``writeKey`` (or HTTP Basic, X-Write-Key)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["track", "identify", "page", "screen", "group", "alias"] | None = Field(
        default=None, description="implied by the path on /v1/<call>"
    )
    messageId: str | None = Field(default=None, description="the event's id: a retry counts once")
    userId: str | int | None = None
    anonymousId: str | int | None = None
    event: str | None = Field(default=None, description="track: the event's name")
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = Field(default=None, description="identify, group")
    groupId: str | int | None = None
    previousId: str | int | None = Field(default=None, description="alias")
    name: str | None = None
    category: str | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    timestamp: datetime | None = None
    sentAt: datetime | None = None
    writeKey: str | None = None


class SegmentBatch(BaseModel):
    """Segment's batch: at most 500 KB, 32 KB a message; gzip optional."""

    model_config = ConfigDict(extra="allow")

    batch: list[SegmentMessage] = Field(min_length=1)
    sentAt: datetime | None = Field(default=None, description="the sender's clock: corrects its skew")
    context: dict[str, Any] | None = None
    writeKey: str | None = None


class PostHogEvent(BaseModel):
    """An event of PostHog's capture."""

    model_config = ConfigDict(extra="allow")

    event: str
    distinct_id: str | int | None = Field(
        default=None, description="or $distinct_id, or properties.distinct_id"
    )
    uuid: str | None = Field(default=None, description="the event's id: a retry counts once")
    properties: dict[str, Any] | None = None
    timestamp: datetime | None = None
    offset: int | None = Field(
        default=None, description="ms before sending: the timestamp from the server's clock"
    )
    set: dict[str, Any] | None = Field(default=None, alias="$set")
    set_once: dict[str, Any] | None = Field(default=None, alias="$set_once")


class PostHogBatch(BaseModel):
    """PostHog's batch (posthog-python, posthog-node …); ``/e/``, ``/capture/``, ``/i/v0/e/`` and
    ``/track/`` take one event or a list of them too, and every path a URL-encoded form whose field
    ``data`` holds them as base64 JSON (posthog-js); gzip by Content-Encoding or by its magic bytes."""

    model_config = ConfigDict(extra="allow")

    batch: list[PostHogEvent] = Field(min_length=1)
    api_key: str | None = Field(default=None, description="the project's write key (or token)")
    sent_at: datetime | None = Field(default=None, description="the sender's clock: corrects its skew")
    historical_migration: bool | None = None


class SnowplowPayload(BaseModel):
    """Snowplow's ``payload_data``: tracker protocol events (e, eid, dtm, stm, uid, duid, ue_pr/ue_px,
    cx/co, se_*, url …)."""

    schema_: str = Field(alias="schema", pattern=r"^iglu:com\.snowplowanalytics\.snowplow/payload_data/")
    data: list[dict[str, Any]] = Field(min_length=1)


# The Snowplow GET's query parameters, as the tracker protocol names them (any other is kept too).
SNOWPLOW_QUERY = {
    "e": "the event: pv (page view), pp (page ping), se (structured), ue (self-describing), tr, ti",
    "eid": "the event's id (a UUID): a retry counts once",
    "uid": "the user's id",
    "duid": "the domain user id (the user when there is no uid)",
    "dtm": "when the device created the event, ms since the epoch",
    "stm": "when the device sent it, ms since the epoch (corrects its clock's skew)",
    "ttm": "the true timestamp, ms since the epoch (taken as it is)",
    "url": "the page's URL",
    "page": "the page's title",
    "se_ca": "a structured event's category",
    "se_ac": "a structured event's action (its type)",
    "ue_px": "a self-describing event, base64url JSON (ue_pr: as JSON text)",
    "cx": "contexts, base64url JSON (co: as JSON text)",
    "aid": "the application id",
    "p": "the platform",
}

# Each route's path and the body it takes, as documented (form bodies beside JSON for PostHog's).
REQUEST_BODIES: dict[str, type[BaseModel]] = {
    "/v1/batch": SegmentBatch,
    **{f"/v1/{call}": SegmentMessage for call in SEGMENT_CALLS},
    **{
        f"{path}{slash}": PostHogBatch
        for path in ("/batch", "/e", "/capture", "/i/v0/e", "/track")
        for slash in ("/", "")
    },
    "/com.snowplowanalytics.snowplow/tp2": SnowplowPayload,
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "/v1/batch": {
        "batch": [
            {
                "type": "track",
                "messageId": "0b6f3f8e-3c1d-4c9a-9a57-5b1c2d3e4f51",
                "userId": "user_123",
                "event": "Signed Up",
                "properties": {"plan": "pro"},
                "timestamp": "2026-11-20T12:00:00Z",
            },
            {"type": "identify", "userId": "user_123", "anonymousId": "anon-9", "traits": {"plan": "pro"}},
        ],
        "sentAt": "2026-11-20T12:00:01Z",
    },
    "/batch/": {
        "api_key": "el_write_…",
        "batch": [
            {
                "event": "$pageview",
                "distinct_id": "user_123",
                "uuid": "0b6f3f8e-3c1d-4c9a-9a57-5b1c2d3e4f52",
                "properties": {"$current_url": "https://example.com/"},
                "timestamp": "2026-11-20T12:00:00Z",
            }
        ],
        "sent_at": "2026-11-20T12:00:01Z",
    },
}
