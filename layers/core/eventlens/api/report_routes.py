"""Report routes of the Events Analytics API (``/stats/*``) and the health check."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens.api.errors import json_response
from eventlens.api.parts import Parts
from eventlens.reports import activity, retention
from eventlens.reports.segments import parse_segments

router = APIGatewayHttpRouter()

Segment = Annotated[
    str | None,
    Query(description="column:value or properties.key:value; several comma-separated, combined with AND"),
]
From = Annotated[date, Query(alias="from", description="first day, YYYY-MM-DD (UTC)")]
To = Annotated[date, Query(alias="to", description="last day, inclusive")]


@router.get("/stats/dau")
def get_dau(parts: Parts, start: From, end: To, segment: Segment = None) -> list[activity.DailyUsers]:
    """Daily active users, each day from ``from`` to ``to`` inclusive."""
    return activity.dau(parts.warehouse, start, end, parse_segments(segment))


@router.get("/stats/wau")
def get_wau(parts: Parts, start: From, end: To, segment: Segment = None) -> list[activity.WeeklyUsers]:
    """Weekly active users, each calendar week (Monday first) overlapping ``from``–``to``."""
    return activity.wau(parts.warehouse, start, end, parse_segments(segment))


@router.get("/stats/mau")
def get_mau(parts: Parts, start: From, end: To, segment: Segment = None) -> list[activity.MonthlyUsers]:
    """Monthly active users, each calendar month overlapping ``from``–``to``."""
    return activity.mau(parts.warehouse, start, end, parse_segments(segment))


@router.get("/stats/top-events")
def get_top_events(
    parts: Parts,
    start: From,
    end: To,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    segment: Segment = None,
) -> list[activity.EventCount]:
    """The most frequent event types in the range."""
    return activity.top_events(parts.warehouse, start, end, limit, parse_segments(segment))


@router.get("/stats/retention")
def get_retention(
    parts: Parts,
    start_date: Annotated[date, Query(description="cohorts start at the first Monday on or after this day")],
    windows: Annotated[int, Query(ge=1, le=retention.MAX_WINDOWS, description="weeks after the cohort")] = 4,
    end_date: Annotated[date | None, Query(description="the last cohort: this day's week (today)")] = None,
    segment: Segment = None,
) -> list[dict[str, Any]]:
    """Weekly retention: per cohort week, week_0 = new users, week_k = % of them active k weeks later."""
    return retention.retention_cohorts(
        parts.warehouse, start_date, windows, parse_segments(segment), end_date
    )


@router.get("/health")
def get_health(parts: Parts) -> Response[dict[str, Any]]:
    """Each dependency and its state; 503 when a configured one is down."""
    states = parts.health()
    healthy = all(state in ("connected", "not configured") for state in states.values())
    return json_response(200 if healthy else 503, {"status": "healthy" if healthy else "unhealthy", **states})
