"""Domain errors → HTTP answers, in one place. Every error body names the field and the reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from eventlens.errors import (
    BatchTooLarge,
    Forbidden,
    GraphError,
    InvalidParameter,
    NotFound,
    PayloadError,
    QueueUnavailable,
    Unauthorized,
    WarehouseError,
)
from eventlens.observability import logger


def json_response(status: int, body: Any) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _field_error(status: int, field: str, reason: str) -> Response[Any]:
    return json_response(status, {"error": {"field": field, "reason": reason}})


def register(app: APIGatewayHttpResolver) -> None:
    """Install the exception handlers on a resolver."""

    @app.exception_handler(RequestValidationError)
    def _request_validation(exc: RequestValidationError) -> Response[Any]:
        # Powertools' own 422 names the location only; add the first problem in words.
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("request",), "msg": "is not valid"}
        field = ".".join(str(part) for part in first["loc"][1:]) or str(first["loc"][0])
        reason = first.get("msg") or first.get("type", "is not valid")
        return json_response(422, {"error": {"field": field, "reason": reason}, "detail": errors})

    @app.exception_handler(PayloadError)
    def _payload(exc: PayloadError) -> Response[Any]:
        return _field_error(400, exc.field, exc.reason)

    @app.exception_handler(Unauthorized)
    def _unauthorized(exc: Unauthorized) -> Response[Any]:
        return Response(
            status_code=401,
            content_type=content_types.APPLICATION_JSON,
            body={"error": {"field": exc.field, "reason": exc.reason}},
            headers={"WWW-Authenticate": 'Bearer realm="eventlens"'},
        )

    @app.exception_handler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response[Any]:
        return _field_error(403, exc.field, exc.reason)

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
