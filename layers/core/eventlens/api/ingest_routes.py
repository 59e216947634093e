"""Ingest routes: eventlens's own and each reference system's, unchanged for their clients.

Each route reads its body itself (``eventlens.wire_formats``): every event is judged on its own, so a
bad one is rejected by index and never fails the batch. Powertools therefore sees no body parameter;
the OpenAPI document takes the bodies' shapes from ``eventlens.api.ingest_bodies``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from eventlens import wire_formats
from eventlens.api.errors import json_response
from eventlens.api.parts import Parts
from eventlens.components import Components
from eventlens.ingest import IngestResult, ingest_payload
from eventlens.observability import count

router = APIGatewayHttpRouter()


class FieldProblem(BaseModel):
    field: str
    reason: str


class FieldErrorAnswer(BaseModel):
    """The body of an error answer (``eventlens.api.errors``): the field at fault and why."""

    error: FieldProblem


def _answer(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


# The answers of every ingest route, for the OpenAPI document.
ANSWERS: dict[int, OpenAPIResponse] = {
    202: _answer("Accepted: the ids of the accepted events, and each rejected one by index", IngestResult),
    400: _answer("The body is not JSON, or its outer shape is wrong; nothing was accepted", FieldErrorAnswer),
    413: _answer("Over the batch's byte or event limit; nothing was accepted", FieldErrorAnswer),
    422: _answer("No event of the batch is valid: each one rejected by index", IngestResult),
    503: _answer("The queue cannot take events now; nothing was accepted, retry", FieldErrorAnswer),
}


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


@router.post("/v1/events", responses=ANSWERS)
def post_events(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """A batch of events in eventlens's envelope: ``{"events": [...]}``."""
    return _ingest(request, parts, wire_formats.eventlens_batch)


@router.post("/events", responses=ANSWERS)
def post_analytics_api_events(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """The Events Analytics API's batch: ``{"events": [{event_id, occurred_at, user_id, event_type, …}]}``."""
    return _ingest(request, parts, wire_formats.eventlens_batch)


@router.post("/collect", responses=ANSWERS)
def post_collect(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """AnModel's collector: one commerce behaviour event."""
    return _ingest(request, parts, wire_formats.anmodel_collect)


@router.post("/api/v1/stream/ingest", responses=ANSWERS)
def post_stream_ingest(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """Life Stream's batch: ``{"user_id", "events": [{"type", "ts", …}]}``."""
    return _ingest(request, parts, wire_formats.lifestream_batch)


@router.post("/api/v1/stream/ingest/single", responses=ANSWERS)
def post_stream_ingest_single(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """Life Stream's single event."""
    return _ingest(request, parts, wire_formats.lifestream_single)


@router.post("/api/v1/analytics/events", responses=ANSWERS)
def post_viewing_event(request: Request, parts: Parts) -> Response[dict[str, Any]]:
    """The cinema Analytics Service's viewing event (start / progress / finish)."""
    return _ingest(request, parts, wire_formats.viewing_event)
