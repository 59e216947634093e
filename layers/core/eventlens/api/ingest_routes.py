"""Ingest routes: eventlens's own and each reference system's, unchanged for their clients.

Each route reads its body itself (``eventlens.wire_formats``): every event is judged on its own, so a
bad one is rejected by index and never fails the batch. Powertools therefore sees no body parameter;
the OpenAPI document takes the bodies' shapes from ``eventlens.api.ingest_bodies``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens import wire_formats
from eventlens.api.access import WriterParts, WriterProject
from eventlens.api.errors import FieldErrorAnswer, answer, json_response
from eventlens.components import Components
from eventlens.errors import PayloadError
from eventlens.ingest import IngestResult, ingest_payload
from eventlens.observability import count

router = APIGatewayHttpRouter()


# The answers of every ingest route, for the OpenAPI document.
ANSWERS: dict[int, OpenAPIResponse] = {
    202: answer("Accepted: the ids of the accepted events, and each rejected one by index", IngestResult),
    400: answer(
        "The body is not JSON text (UTF-8), or its outer shape is wrong; nothing was accepted",
        FieldErrorAnswer,
    ),
    413: answer("Over the batch's byte or event limit; nothing was accepted", FieldErrorAnswer),
    422: answer("No event of the batch is valid: each one rejected by index", IngestResult),
    503: answer("The queue cannot take events now; nothing was accepted, retry", FieldErrorAnswer),
}


def _ingest(
    request: Request, parts: Components, project: str, to_items: Callable[[Any], list[Any]]
) -> Response[dict[str, Any]]:
    result = ingest_payload(raw_body(request), to_items, parts.queue, parts.settings, project)
    count("EventsAccepted", result.accepted)
    count("EventsRejected", len(result.rejected))
    status = 202 if result.accepted else 422
    return json_response(status, result.model_dump())


def raw_body(request: Request) -> bytes:
    """The body's bytes as the client sent them, for the JSON parser to judge (orjson rejects
    text that is not UTF-8, naming the body). Powertools' ``decoded_body`` would decode them as
    UTF-8 first and fail outside any answer (a 500)."""
    event = request.resolved_event
    body = event.body or ""
    if not event.is_base64_encoded:
        # A lone surrogate (a JSON event may carry one) is kept, to be rejected by the parser.
        return body.encode("utf-8", errors="surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        raise PayloadError("body", "is marked base64-encoded but is not base64") from None


@router.post("/v1/events", responses=ANSWERS)
def post_events(request: Request, parts: WriterParts, project: WriterProject) -> Response[dict[str, Any]]:
    """A batch of events in eventlens's envelope: ``{"events": [...]}``."""
    return _ingest(request, parts, project, wire_formats.eventlens_batch)


@router.post("/events", responses=ANSWERS)
def post_analytics_api_events(
    request: Request, parts: WriterParts, project: WriterProject
) -> Response[dict[str, Any]]:
    """The Events Analytics API's batch: ``{"events": [{event_id, occurred_at, user_id, event_type, …}]}``."""
    return _ingest(request, parts, project, wire_formats.eventlens_batch)


@router.post("/collect", responses=ANSWERS)
def post_collect(request: Request, parts: WriterParts, project: WriterProject) -> Response[dict[str, Any]]:
    """AnModel's collector: one commerce behaviour event."""
    return _ingest(request, parts, project, wire_formats.anmodel_collect)


@router.post("/api/v1/stream/ingest", responses=ANSWERS)
def post_stream_ingest(
    request: Request, parts: WriterParts, project: WriterProject
) -> Response[dict[str, Any]]:
    """Life Stream's batch: ``{"user_id", "events": [{"type", "ts", …}]}``."""
    return _ingest(request, parts, project, wire_formats.lifestream_batch)


@router.post("/api/v1/stream/ingest/single", responses=ANSWERS)
def post_stream_ingest_single(
    request: Request, parts: WriterParts, project: WriterProject
) -> Response[dict[str, Any]]:
    """Life Stream's single event."""
    return _ingest(request, parts, project, wire_formats.lifestream_single)


@router.post("/api/v1/analytics/events", responses=ANSWERS)
def post_viewing_event(
    request: Request, parts: WriterParts, project: WriterProject
) -> Response[dict[str, Any]]:
    """The cinema Analytics Service's viewing event (start / progress / finish)."""
    return _ingest(request, parts, project, wire_formats.viewing_event)
