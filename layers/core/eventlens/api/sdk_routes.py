"""The analytics SDKs' ingest routes: Segment's HTTP Tracking API (Segment, RudderStack, Jitsu),
PostHog's capture and Snowplow's tracker protocol, for their SDKs unchanged.

Each route takes its protocol's admitted call (``SegmentCall``, ``PostHogCall``, ``SnowplowCall``):
the caller passed ``access.admit`` with the write key wherever its SDK sends it (the body is read for
it only after the per-IP limit), and the body is decoded once. The route turns the messages into
events (``eventlens.sdk_formats``), ingests them and answers in the protocol's shape
(``eventlens.api.sdk_answers``). Powertools sees no body or query parameter: the OpenAPI document
takes their shapes from ``eventlens.api.sdk_bodies``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens import sdk_formats
from eventlens.api.access import admit, admitting, source_ip
from eventlens.api.ingest_routes import raw_body
from eventlens.api.parts import handed_parts
from eventlens.api.sdk_answers import (
    POSTHOG_ANSWERS,
    SEGMENT_ANSWERS,
    SNOWPLOW_ANSWERS,
    SNOWPLOW_PIXEL_ANSWERS,
    Protocol,
    Refused,
    accepted,
    answered_as,
    refusal,
)
from eventlens.components import Components
from eventlens.ingest import IngestResult, ingest_judged
from eventlens.observability import count
from eventlens.sdk_formats import Decoded, Judged
from eventlens.settings import Settings

router = APIGatewayHttpRouter()
# Refusals in each SDK's protocol (eventlens.api.sdk_answers): installed with these routes, so the
# functions without them do not load the SDKs' answers.
router.exception_handler(Refused)(refusal)

SEGMENT_CALLS = {f"/v1/{call}": call for call in sdk_formats.SEGMENT_CALLS}
POSTHOG_PATHS = [
    f"{path}{slash}" for path in ("/batch", "/e", "/capture", "/i/v0/e", "/track") for slash in ("/", "")
]
SNOWPLOW_POST = "/com.snowplowanalytics.snowplow/tp2"
SNOWPLOW_GET = "/i"


@dataclass(frozen=True)
class SdkCall:
    """An SDK's request, admitted: the function's parts, the caller's project, the decoded body."""

    parts: Components
    project_id: str
    body: Decoded
    received_at: datetime


def _admitted(
    request: Request,
    protocol: Protocol,
    decode: Callable[[Request, Settings], Decoded],
    key_in: Callable[[Decoded], str | None],
) -> SdkCall:
    """The call, once its caller passed ``admit``, the key taken where ``protocol``'s SDKs send it."""
    parts = handed_parts(request)
    received_at = datetime.now(UTC)
    decoded: list[Decoded] = []

    def body() -> Decoded:
        if not decoded:
            decoded.append(decode(request, parts.settings))
        return decoded[0]

    def key_in_body() -> str | None:
        # A request without a body carries no key there (it is told to send one, not that its body is empty).
        return key_in(body()) if request.body else None

    with answered_as(protocol):
        principal = admit(
            parts,
            request.headers,
            source_ip(request.resolved_event),
            "write",
            request.route,
            key_in_body=key_in_body,
        )
        request.context["principal"] = principal
        return SdkCall(parts, principal.project_id, body(), received_at)


def _header(request: Request, name: str) -> str:
    return next((value for key, value in request.headers.items() if key.lower() == name), "")


def _segment_body(request: Request, settings: Settings) -> Decoded:
    return sdk_formats.segment_body(
        raw_body(request), _header(request, "content-encoding"), batch=request.route == "/v1/batch"
    )


def _posthog_body(request: Request, settings: Settings) -> Decoded:
    return sdk_formats.posthog_body(
        raw_body(request),
        _header(request, "content-type"),
        _header(request, "content-encoding"),
        request.query_parameters or {},
        settings.max_batch_bytes,
    )


def _snowplow_body(request: Request, settings: Settings) -> Decoded:
    if request.method == "GET":
        return Decoded(dict(request.query_parameters or {}), 0)
    body = sdk_formats.decompressed(
        raw_body(request), _header(request, "content-encoding"), settings.max_batch_bytes
    )
    return sdk_formats.json_body(body)


@admitting("write")
def segment_call(request: Request) -> SdkCall:
    return _admitted(request, "segment", _segment_body, sdk_formats.segment_write_key)


@admitting("write")
def posthog_call(request: Request) -> SdkCall:
    return _admitted(request, "posthog", _posthog_body, sdk_formats.posthog_key)


@admitting("write")
def snowplow_call(request: Request) -> SdkCall:
    return _admitted(request, "snowplow", _snowplow_body, lambda body: None)


SegmentCall = Annotated[SdkCall, Depends(segment_call)]
PostHogCall = Annotated[SdkCall, Depends(posthog_call)]
SnowplowCall = Annotated[SdkCall, Depends(snowplow_call)]


def _ingest(call: SdkCall, protocol: Protocol, judged: list[Judged], fields: dict[str, str]) -> IngestResult:
    with answered_as(protocol):
        result = ingest_judged(
            judged,
            call.parts.queue,
            call.parts.settings,
            project_id=call.project_id,
            received_at=call.received_at,
            field_names=fields,
        )
    count("EventsAccepted", result.accepted)
    count("EventsRejected", len(result.rejected))
    return result


# --- Segment's HTTP Tracking API ---------------------------------------------------------------------


def _segment(call: SdkCall, kind: str | None) -> Response[Any]:
    with answered_as("segment"):
        judged = sdk_formats.segment_messages(call.body, kind, call.received_at)
    return accepted("segment", _ingest(call, "segment", judged, sdk_formats.SEGMENT_FIELDS))


@router.post("/v1/batch", responses=SEGMENT_ANSWERS)
def post_segment_batch(call: SegmentCall) -> Response[Any]:
    """Segment's batch (Segment's, RudderStack's and Jitsu's SDKs): ``{"batch": [message…], "sentAt"}``."""
    return _segment(call, None)


def _segment_call_route(path: str, kind: str) -> None:
    def post_segment_call(call: SegmentCall) -> Response[Any]:
        return _segment(call, kind)

    post_segment_call.__name__ = f"post_segment_{kind}"
    post_segment_call.__doc__ = f"Segment's {kind} call: one message, its type implied by the path."
    router.post(path, responses=SEGMENT_ANSWERS)(post_segment_call)


for _path, _kind in SEGMENT_CALLS.items():
    _segment_call_route(_path, _kind)


# --- PostHog's capture ------------------------------------------------------------------------------


def post_posthog_capture(request: Request, call: PostHogCall) -> Response[Any]:
    """PostHog's capture: ``{"api_key", "batch": [event…], "sent_at"}``, one event or a list of them;
    gzip, or a form field ``data=`` of base64 JSON."""
    query = request.query_parameters or {}
    with answered_as("posthog"):
        judged = sdk_formats.posthog_events(call.body, call.received_at, query.get("_"))
    return accepted("posthog", _ingest(call, "posthog", judged, sdk_formats.POSTHOG_FIELDS))


for _path in POSTHOG_PATHS:
    router.post(_path, responses=POSTHOG_ANSWERS)(post_posthog_capture)


# --- Snowplow's tracker protocol ---------------------------------------------------------------------


@router.post(SNOWPLOW_POST, responses=SNOWPLOW_ANSWERS)
def post_snowplow(call: SnowplowCall) -> Response[Any]:
    """Snowplow's POST: a ``payload_data`` self-describing JSON of tracker protocol events."""
    with answered_as("snowplow"):
        judged = sdk_formats.snowplow_events(call.body, call.received_at)
    return accepted("snowplow", _ingest(call, "snowplow", judged, sdk_formats.SNOWPLOW_FIELDS))


@router.get(SNOWPLOW_GET, responses=SNOWPLOW_PIXEL_ANSWERS)
def get_snowplow_pixel(call: SnowplowCall):
    """Snowplow's GET: one tracker protocol event as query parameters; a 1×1 GIF when accepted."""
    # No return annotation: with one, Powertools would serialize the GIF's bytes as JSON text.
    with answered_as("snowplow"):
        judged = sdk_formats.snowplow_query_event(call.body.json, call.received_at)
    return accepted("snowplow", _ingest(call, "snowplow", judged, sdk_formats.SNOWPLOW_FIELDS), pixel=True)
