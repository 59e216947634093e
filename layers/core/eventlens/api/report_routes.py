"""Report routes of 003 (``/stats/*``) and the health check."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens import components
from eventlens.api.errors import json_response
from eventlens.reports import activity
from eventlens.reports.segments import parse_segments

router = APIGatewayHttpRouter()

Segment = Annotated[
    str | None,
    Query(description="column:value or properties.key:value; several comma-separated, combined with AND"),
]


@router.get("/stats/dau")
def get_dau(
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    segment: Segment = None,
) -> list[activity.DailyUsers]:
    """Daily active users, each day from ``from`` to ``to`` inclusive."""
    return activity.dau(components.current().warehouse, start, end, parse_segments(segment))


@router.get("/stats/top-events")
def get_top_events(
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    segment: Segment = None,
) -> list[activity.EventCount]:
    """The most frequent event types in the range."""
    return activity.top_events(components.current().warehouse, start, end, limit, parse_segments(segment))


@router.get("/health")
def get_health() -> Response[dict[str, Any]]:
    """Each dependency and its state; 503 when a configured one is down."""
    states = components.current().health()
    healthy = all(state in ("connected", "not configured") for state in states.values())
    return json_response(200 if healthy else 503, {"status": "healthy" if healthy else "unhealthy", **states})
