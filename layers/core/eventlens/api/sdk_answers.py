"""The analytics SDKs' routes answer in their protocols' own shapes and codes, so each SDK's retry
logic does the right thing (as read from the SDKs' code):

========  ==============================  ===============================  ==========================
protocol  success                         error body                       the SDK retries
========  ==============================  ===============================  ==========================
segment   200 ``{"success": true}``       ``{"code", "message"}``          408, 429, 5xx (not 501,
                                                                           505); never 400, 401, 413
posthog   200 ``{"status": 1}``           ``{"type", "code", "detail",     408, 429, 5xx; never
                                          "attr"}``                        another 4xx
snowplow  200 (``/i``: a 1×1 GIF)         ``{"error": {field, reason}}``   all but 400, 401, 403,
                                                                           410, 422
========  ==============================  ===============================  ==========================

So a body too large is 400 to Segment's and Snowplow's SDKs (Snowplow's would retry a 413 forever)
and 413 to PostHog's; a wrong key is 401 everywhere (none retries it); a full queue or an unreadable
key store is 503 (all retry, and nothing of the request was accepted); a rate limit is 429 with
Retry-After. A success names the accepted events and each rejected one too (the SDKs read only the
status): a batch with some good messages is a success, one with none a 400.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from eventlens.api.errors import FieldErrorAnswer, answer, json_response
from eventlens.errors import (
    BatchTooLarge,
    Forbidden,
    KeyStoreUnavailable,
    PayloadError,
    QueueUnavailable,
    RateLimited,
    Unauthorized,
)
from eventlens.events import Rejection
from eventlens.ingest import Duplicate, IngestResult

Protocol = Literal["segment", "posthog", "snowplow"]

# A 1×1 transparent GIF: what Snowplow's collector answers a GET /i (a browser's image beacon).
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


class Refused(Exception):
    """A request an SDK's route refuses, answered in that SDK's protocol (see ``refusal``)."""

    def __init__(
        self, protocol: Protocol, status: int, field: str, reason: str, retry_after: int | None = None
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.protocol = protocol
        self.status = status
        self.field = field
        self.reason = reason
        self.retry_after = retry_after


@contextmanager
def answered_as(protocol: Protocol) -> Iterator[None]:
    """Domain errors raised inside become ``Refused`` in ``protocol``, with their statuses."""
    try:
        yield
    except PayloadError as exc:
        raise Refused(protocol, 400, exc.field, exc.reason) from exc
    except BatchTooLarge as exc:
        raise Refused(protocol, 413 if protocol == "posthog" else 400, exc.field, exc.reason) from exc
    except Unauthorized as exc:
        raise Refused(protocol, 401, exc.field, exc.reason) from exc
    except Forbidden as exc:
        raise Refused(protocol, 403, exc.field, exc.reason) from exc
    except RateLimited as exc:
        raise Refused(protocol, 429, exc.field, exc.reason, exc.retry_after) from exc
    except KeyStoreUnavailable as exc:
        _log_unavailable("key store unavailable", exc)
        raise Refused(
            protocol, 503, "keys", "API keys cannot be checked now; nothing was done, retry"
        ) from exc
    except QueueUnavailable as exc:
        _log_unavailable("queue unavailable", exc)
        reason = "the event queue cannot take events now; nothing was accepted, retry"
        raise Refused(protocol, 503, "queue", reason) from exc


def _log_unavailable(message: str, exc: Exception) -> None:
    from eventlens.observability import logger

    logger.warning(message, extra={"reason": str(exc)})


_SEGMENT_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 429: "rate_limited"}
_POSTHOG_CODES = {
    400: ("validation_error", "invalid_payload"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("authentication_error", "permission_denied"),
    413: ("validation_error", "payload_too_large"),
    429: ("throttled", "rate_limited"),
}


def refusal(exc: Refused) -> Response[Any]:
    """The answer to a refused request, in its protocol's shape."""
    headers: dict[str, str] = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="eventlens"'
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return Response(
        status_code=exc.status,
        content_type=content_types.APPLICATION_JSON,
        body=_error_body(exc.protocol, exc.status, exc.field, exc.reason),
        headers=headers,
    )


def _error_body(protocol: Protocol, status: int, field: str, reason: str) -> dict[str, Any]:
    if protocol == "segment":
        return {"code": _SEGMENT_CODES.get(status, "unavailable"), "message": f"{field}: {reason}"}
    if protocol == "posthog":
        kind, code = _POSTHOG_CODES.get(status, ("server_error", "unavailable"))
        return {"type": kind, "code": code, "detail": f"{field}: {reason}", "attr": field}
    return {"error": {"field": field, "reason": reason}}


def accepted(protocol: Protocol, result: IngestResult, pixel: bool = False) -> Response[Any]:
    """The answer to a batch that was read: 200 when any event was accepted (the rejected ones
    named beside them), 400 naming the first rejection when none was."""
    details = result.model_dump()
    if not result.accepted:
        first = result.rejected[0]
        reason = f"no event was accepted; message {first.index}: {first.reason}"
        return json_response(
            400, {**_error_body(protocol, 400, first.field, reason), "rejected": details["rejected"]}
        )
    if pixel:
        headers = {"Cache-Control": "no-cache, no-store, must-revalidate"}
        return Response(200, "image/gif", PIXEL, headers=headers)
    if protocol == "segment":
        return json_response(200, {"success": True, **details})
    if protocol == "posthog":
        return json_response(200, {"status": 1, **details})
    return json_response(200, details)


# --- the answers' shapes, for the OpenAPI document ---------------------------------------------------


class SegmentSuccess(BaseModel):
    """Segment's success, with what became of each message."""

    success: bool
    accepted: int
    rejected: list[Rejection]
    event_ids: list[str]
    duplicates: list[Duplicate] = []


class SegmentError(BaseModel):
    """Segment's error body (its SDKs read ``code`` and ``message``)."""

    code: str
    message: str
    rejected: list[Rejection] | None = None


class PostHogSuccess(BaseModel):
    """PostHog's success, with what became of each event."""

    status: int
    accepted: int
    rejected: list[Rejection]
    event_ids: list[str]
    duplicates: list[Duplicate] = []


class PostHogError(BaseModel):
    """PostHog's error body (its SDK reads ``detail``)."""

    type: str
    code: str
    detail: str
    attr: str | None = None
    rejected: list[Rejection] | None = None


class SnowplowError(FieldErrorAnswer):
    """An error: the field and why; when no event of the request was accepted, each by index."""

    rejected: list[Rejection] | None = None


def _statuses(error: type[BaseModel], too_large: int, what: str) -> dict[int, OpenAPIResponse]:
    return {
        400: answer(f"The body is not {what}, over a limit, or none of its events is valid", error),
        401: answer("No write key where the SDK sends it, or one that is unknown or revoked", error),
        403: answer("The key may not send events", error),
        429: answer("Over the rate limit, per IP or per key; Retry-After says when to come back", error),
        503: answer("The queue or the key store cannot answer now; nothing was accepted, retry", error),
        **(
            {413: answer("Over the body's byte limit (decompressed) or the event limit", error)}
            if too_large
            else {}
        ),
    }


SEGMENT_ANSWERS: dict[int, OpenAPIResponse] = {
    200: answer("Read: the accepted messages' ids, and each rejected one by index", SegmentSuccess),
    **_statuses(SegmentError, 0, "Segment's JSON (gzip optional)"),
}
POSTHOG_ANSWERS: dict[int, OpenAPIResponse] = {
    200: answer("Read: the accepted events' ids, and each rejected one by index", PostHogSuccess),
    **_statuses(PostHogError, 413, "PostHog's JSON (gzip or a base64 data= form optional)"),
}
SNOWPLOW_ANSWERS: dict[int, OpenAPIResponse] = {
    200: answer("Read: the accepted events' ids, and each rejected one by index", IngestResult),
    **_statuses(SnowplowError, 0, "a payload_data self-describing JSON"),
}
SNOWPLOW_PIXEL_ANSWERS: dict[int, OpenAPIResponse] = {
    200: {"description": "The event was accepted: a 1×1 GIF", "content": {"image/gif": {}}},
    **_statuses(SnowplowError, 0, "an event of the tracker protocol"),
}
