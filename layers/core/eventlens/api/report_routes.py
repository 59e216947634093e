"""Report routes of the Events Analytics API (``/stats/*``), each of the caller's project, and the health
check (public and global: it shows no data)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens.api.access import ReaderParts, ReaderProject
from eventlens.api.errors import answer, answers, json_response
from eventlens.api.parameters import ISO_8601, CohortParameter
from eventlens.api.parts import Parts
from eventlens.health import HealthReport, check_health
from eventlens.observability import on_lambda
from eventlens.reports import activity, arrivals, groups, retention
from eventlens.reports.cohort_filter import cohort_filter
from eventlens.reports.segments import parse_segments

router = APIGatewayHttpRouter()

Segment = Annotated[
    str | None,
    Query(description="column:value or properties.key:value; several comma-separated, combined with AND"),
]
From = Annotated[date, ISO_8601, Query(alias="from", description="first day, YYYY-MM-DD (UTC)")]
To = Annotated[date, ISO_8601, Query(alias="to", description="last day, inclusive")]
HEALTH_ANSWERS = {
    **answers(),
    200: answer("Healthy (or degraded): each dependency and its state"),
    503: answer("Unhealthy: a configured dependency is down; each one and its state"),
}


@router.get("/stats/dau", responses=answers(404, 503))
def get_dau(
    parts: ReaderParts,
    project: ReaderProject,
    start: From,
    end: To,
    segment: Segment = None,
    cohort: CohortParameter = None,
) -> list[activity.DailyUsers]:
    """Daily active users, each day from ``from`` to ``to`` inclusive."""
    in_cohort = cohort_filter(parts.warehouse, project, cohort)
    return activity.dau(parts.warehouse, project, start, end, parse_segments(segment), in_cohort)


@router.get("/stats/wau", responses=answers(404, 503))
def get_wau(
    parts: ReaderParts,
    project: ReaderProject,
    start: From,
    end: To,
    segment: Segment = None,
    cohort: CohortParameter = None,
) -> list[activity.WeeklyUsers]:
    """Weekly active users, each calendar week (Monday first) overlapping ``from``–``to``."""
    in_cohort = cohort_filter(parts.warehouse, project, cohort)
    return activity.wau(parts.warehouse, project, start, end, parse_segments(segment), in_cohort)


@router.get("/stats/mau", responses=answers(404, 503))
def get_mau(
    parts: ReaderParts,
    project: ReaderProject,
    start: From,
    end: To,
    segment: Segment = None,
    cohort: CohortParameter = None,
) -> list[activity.MonthlyUsers]:
    """Monthly active users, each calendar month overlapping ``from``–``to``."""
    in_cohort = cohort_filter(parts.warehouse, project, cohort)
    return activity.mau(parts.warehouse, project, start, end, parse_segments(segment), in_cohort)


@router.get("/stats/top-events", responses=answers(404, 503))
def get_top_events(
    parts: ReaderParts,
    project: ReaderProject,
    start: From,
    end: To,
    limit: Annotated[int, Query(ge=1, le=1000)] = 10,
    segment: Segment = None,
    cohort: CohortParameter = None,
) -> list[activity.EventCount]:
    """The most frequent event types in the range."""
    in_cohort = cohort_filter(parts.warehouse, project, cohort)
    return activity.top_events(
        parts.warehouse, project, start, end, limit, parse_segments(segment), in_cohort
    )


@router.get("/stats/groups", responses=answers(404, 503))
def get_active_groups(
    parts: ReaderParts,
    project: ReaderProject,
    start: From,
    end: To,
    group_type: Annotated[
        str,
        Query(
            min_length=1,
            max_length=groups.MAX_GROUP_TYPE,
            description="the groups' type: PostHog's $group_type (e.g. company); group for Segment's calls",
        ),
    ] = "group",
    period: Annotated[activity.Period, Query(description="day, week (Monday first) or month")] = "day",
    cohort: CohortParameter = None,
) -> list[groups.ActiveGroups]:
    """Active groups: distinct groups of ``group_type`` with a member person active in each period
    overlapping ``from``–``to``."""
    in_cohort = cohort_filter(parts.warehouse, project, cohort)
    return groups.active_groups(parts.warehouse, project, period, start, end, group_type, in_cohort)


@router.get("/stats/retention", responses=answers(404, 503))
def get_retention(
    parts: ReaderParts,
    project: ReaderProject,
    start_date: Annotated[
        date, ISO_8601, Query(description="cohorts start at the first Monday on or after this day")
    ],
    windows: Annotated[int, Query(ge=1, le=retention.MAX_WINDOWS, description="weeks after the cohort")] = 4,
    end_date: Annotated[
        date | None, ISO_8601, Query(description="the last cohort: this day's week (today)")
    ] = None,
    segment: Segment = None,
    cohort: CohortParameter = None,
) -> list[dict[str, Any]]:
    """Weekly retention: per cohort week, week_0 = new users, week_k = % of them active k weeks later."""
    in_cohort = cohort_filter(parts.warehouse, project, cohort)
    return retention.retention_cohorts(
        parts.warehouse, project, start_date, windows, parse_segments(segment), end_date, in_cohort
    )


@router.get("/v1/events/latest", responses=answers(503))
def get_latest_events(
    parts: ReaderParts,
    project: ReaderProject,
    limit: Annotated[int, Query(ge=1, le=arrivals.MAX_LIMIT)] = 20,
) -> arrivals.Arrivals:
    """The events the project received last (by the moment ingest took them, stored since) and the
    events per second received over the last minute: the console's live view."""
    return arrivals.latest_arrivals(parts.warehouse, project, limit)


@router.get("/health", responses=HEALTH_ANSWERS)
def get_health(parts: Parts) -> Response[HealthReport]:
    """Whether events are being stored: each dependency, consume (last batch stored, records waiting),
    the embedded mode's free disk and the last hour's dead letters. 503 when events are not being
    stored or a configured dependency is down; ``degraded`` (200) when consume lags or dead letters
    pile up. Never a credential (see ``eventlens.health``)."""
    report = check_health(parts, on_lambda=on_lambda())
    return json_response(report.http_status, report.model_dump(mode="json"))
