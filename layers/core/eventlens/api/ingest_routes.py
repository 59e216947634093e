"""Ingest routes: eventlens's own and each reference system's, unchanged for their clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens import wire_formats
from eventlens.api.errors import json_response
from eventlens.api.parts import Parts
from eventlens.components import Components
from eventlens.ingest import ingest_payload
from eventlens.observability import count

router = APIGatewayHttpRouter()


def _ingest(
    request: Request, parts: Components, to_items: Callable[[Any], list[Any]]
) -> Response[dict[str, Any]]:
    body = request.resolved_event.decoded_body or ""
    result = ingest_payload(
        body.encode() if isinstance(body, str) else body, to_items, parts.queue, parts.settings
    )
    count("EventsAccepted", result.accepted)
    count("EventsRejected", len(result.rejected))
    status = 202 if result.accepted else 422
    return json_response(status, result.model_dump())


@router.post("/v1/events")
def post_events(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """A batch of events in eventlens's envelope: ``{"events": [...]}``."""
    return _ingest(request, parts, wire_formats.eventlens_batch)


@router.post("/events")
def post_events_003(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """003 Events Analytics API: ``{"events": [{event_id, occurred_at, user_id, event_type, …}]}``."""
    return _ingest(request, parts, wire_formats.eventlens_batch)


@router.post("/collect")
def post_collect(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """001 AnModel collector: one commerce behaviour event."""
    return _ingest(request, parts, wire_formats.anmodel_collect)


@router.post("/api/v1/stream/ingest")
def post_stream_ingest(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """000 Life Stream: ``{"user_id", "events": [{"type", "ts", …}]}``."""
    return _ingest(request, parts, wire_formats.lifestream_batch)


@router.post("/api/v1/stream/ingest/single")
def post_stream_ingest_single(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """000 Life Stream: one event."""
    return _ingest(request, parts, wire_formats.lifestream_single)


@router.post("/api/v1/analytics/events")
def post_viewing_event(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """002 Analytics Service: one viewing event (start / progress / finish)."""
    return _ingest(request, parts, wire_formats.viewing_event)
