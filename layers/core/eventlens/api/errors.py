"""Domain errors → HTTP answers, in one place. Every error body names the field and the reason.

The answers' shapes are here too, for the OpenAPI document: a route lists the error statuses it can
answer with ``answers(...)``, so what the document promises is what the handlers below send.
"""

from __future__ import annotations

import traceback
from pathlib import PurePath
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from eventlens.errors import (
    BatchTooLarge,
    Forbidden,
    GraphError,
    InvalidParameter,
    KeyStoreUnavailable,
    NotFound,
    PayloadError,
    QueueUnavailable,
    RateLimited,
    Unauthorized,
    WarehouseError,
)
from eventlens.observability import logger


class FieldProblem(BaseModel):
    field: str
    reason: str


class FieldErrorAnswer(BaseModel):
    """The body of an error answer: the field at fault and why."""

    error: FieldProblem


class NotFoundAnswer(FieldErrorAnswer):
    """A 404: the field and why, and ``detail`` as the Reports Backend answered it."""

    detail: str


class InvalidAnswer(FieldErrorAnswer):
    """A 422: the first problem named; for a malformed parameter or body, every problem in ``detail``."""

    detail: list[dict[str, Any]] | None = None


def answer(description: str, model: type[BaseModel] | None = None) -> OpenAPIResponse:
    """One documented answer; with no model, the route's return type is its body."""
    if model is None:
        return {"description": description}
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}


ERROR_ANSWERS: dict[int, OpenAPIResponse] = {
    400: answer("The body is not JSON text (UTF-8), or its outer shape is wrong", FieldErrorAnswer),
    404: answer("What the request names does not exist", NotFoundAnswer),
    413: answer("The body is over the limit (API Gateway takes 10 MB at most)", FieldErrorAnswer),
    415: answer("The body is not of a content type this route reads (JSON)", FieldErrorAnswer),
    422: answer("A parameter or the body is not valid: the field and why", InvalidAnswer),
    503: answer("A dependency (warehouse, queue, graph) cannot answer now; retry", FieldErrorAnswer),
}


def answers(*errors: int, ok: int = 200) -> dict[int, OpenAPIResponse]:
    """A route's documented answers: ``ok`` with the route's return type as its body, 422 (every
    validated route can answer it), and each status of ``errors`` in this module's shapes."""
    chosen = {ok: answer("Successful Response"), 422: ERROR_ANSWERS[422]}
    chosen.update({status: ERROR_ANSWERS[status] for status in errors})
    return chosen


def json_response(status: int, body: Any) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _field_error(status: int, field: str, reason: str) -> Response[Any]:
    return json_response(status, {"error": {"field": field, "reason": reason}})


def _unauthorized(exc: Unauthorized) -> Response[Any]:
    return Response(
        status_code=401,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"field": exc.field, "reason": exc.reason}},
        headers={"WWW-Authenticate": 'Bearer realm="eventlens"'},
    )


def _forbidden(exc: Forbidden) -> Response[Any]:
    return _field_error(403, exc.field, exc.reason)


def _rate_limited(exc: RateLimited) -> Response[Any]:
    return Response(
        status_code=429,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"field": exc.field, "reason": exc.reason}},
        headers={"Retry-After": str(exc.retry_after)},
    )


def _keys_down(exc: KeyStoreUnavailable) -> Response[Any]:
    logger.warning("key store unavailable", extra={"reason": str(exc)})
    return _field_error(503, "keys", "API keys cannot be checked now; nothing was done, retry")


def _key_refusal(app: APIGatewayHttpResolver) -> Response[Any] | None:
    """The answer to a caller who may not use the matched route, or None.

    Powertools reads and validates a request before it resolves a route's dependencies, so a
    request it cannot read would be answered 4xx on its parameters or body before the key was
    asked for: the answers to such requests ask for the key first.
    """
    from eventlens.api.access import admit, required_access, source_ip

    route = app.context.get("_route")
    parts = app.context.get("parts")
    need = required_access(route.func) if route is not None else None
    if route is None or need is None or parts is None:
        return None
    try:
        admit(parts, app.current_event.headers, source_ip(app.current_event), need, route.openapi_path)
    except Unauthorized as exc:
        return _unauthorized(exc)
    except Forbidden as exc:
        return _forbidden(exc)
    except RateLimited as exc:
        return _rate_limited(exc)
    except KeyStoreUnavailable as exc:
        return _keys_down(exc)
    return None


def register(app: APIGatewayHttpResolver) -> None:
    """Install the exception handlers on a resolver. (The analytics SDKs' routes answer in their own
    protocols' shapes: their router brings its handler, ``eventlens.api.sdk_routes``.)"""
    _register_request_reading(app)

    @app.exception_handler(PayloadError)
    def _payload(exc: PayloadError) -> Response[Any]:
        return _field_error(400, exc.field, exc.reason)

    app.exception_handler(Unauthorized)(_unauthorized)
    app.exception_handler(Forbidden)(_forbidden)
    app.exception_handler(RateLimited)(_rate_limited)
    app.exception_handler(KeyStoreUnavailable)(_keys_down)

    @app.exception_handler(BatchTooLarge)
    def _too_large(exc: BatchTooLarge) -> Response[Any]:
        return _field_error(413, exc.field, exc.reason)

    @app.exception_handler(InvalidParameter)
    def _parameter(exc: InvalidParameter) -> Response[Any]:
        return _field_error(422, exc.field, exc.reason)

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response[Any]:
        # "detail" as the Reports Backend answered it, beside the field and reason every error names.
        return json_response(404, {"error": {"field": exc.field, "reason": exc.reason}, "detail": exc.reason})

    @app.exception_handler(QueueUnavailable)
    def _queue_down(exc: QueueUnavailable) -> Response[Any]:
        logger.warning("queue unavailable", extra={"reason": str(exc)})
        return _field_error(
            503, "queue", "the event queue cannot take events now; nothing was accepted, retry"
        )

    @app.exception_handler(WarehouseError)
    def _warehouse_down(exc: WarehouseError) -> Response[Any]:
        logger.warning("warehouse error", extra={"reason": str(exc)})
        return _field_error(503, "warehouse", "the warehouse cannot answer now; retry")

    @app.exception_handler(GraphError)
    def _graph_down(exc: GraphError) -> Response[Any]:
        logger.warning("graph error", extra={"reason": str(exc)})
        return _field_error(503, "graph", "the habits graph (Neo4j) cannot answer now; retry")


def _register_request_reading(app: APIGatewayHttpResolver) -> None:
    """The answers to a request Powertools cannot read or validate: each names the field."""

    @app.exception_handler(RequestValidationError)
    def _request_validation(exc: RequestValidationError) -> Response[Any]:
        if (refused := _key_refusal(app)) is not None:
            return refused
        # Powertools' own 422 names the location only; add the first problem in words.
        errors = exc.errors()
        first: dict[str, Any] = errors[0] if errors else {"loc": ("request",), "msg": "is not valid"}
        field = ".".join(str(part) for part in first["loc"][1:]) or str(first["loc"][0])
        reason = first.get("msg") or first.get("type", "is not valid")
        if first.get("type") == "json_invalid":  # its location is a character position, not a field
            field, reason = "body", f"is not valid JSON ({first.get('ctx', {}).get('error', reason)})"
        return json_response(422, {"error": {"field": field, "reason": reason}, "detail": errors})

    @app.exception_handler(RequestUnsupportedContentType)
    def _content_type(exc: RequestUnsupportedContentType) -> Response[Any]:
        if (refused := _key_refusal(app)) is not None:
            return refused
        return _field_error(415, "content-type", "the body must be JSON (application/json)")

    # Powertools reads a route's body itself before validating it: as UTF-8 for JSON, by its own
    # parsers for a form or multipart body. What it cannot read it raises as a bare UnicodeDecodeError
    # or ValueError (no boundary, not Latin-1): the request's fault, a 400. Raised anywhere else, they
    # are faults of ours, and stay them.

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(exc: UnicodeDecodeError) -> Response[Any]:
        if not _raised_by_powertools(exc):
            raise exc
        if (refused := _key_refusal(app)) is not None:
            return refused
        return _field_error(400, "body", f"is not UTF-8 text (byte {exc.start}: {exc.reason})")

    @app.exception_handler(ValueError)
    def _unreadable_body(exc: ValueError) -> Response[Any]:
        if not _raised_by_powertools(exc):
            raise exc
        if (refused := _key_refusal(app)) is not None:
            return refused
        return _field_error(400, "body", f"cannot be read as its content type says ({exc})")


def _raised_by_powertools(exc: BaseException) -> bool:
    """Whether ``exc`` was raised in Powertools' own code (reading the request), not in ours."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "aws_lambda_powertools" in PurePath(frames[-1].filename).parts
