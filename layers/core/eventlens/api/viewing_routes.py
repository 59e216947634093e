"""The cinema Analytics Service's viewing reports (``/api/v1/analytics/*``), in its parameters and shapes,
each of the caller's project."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens.api.access import ReaderParts, ReaderProject
from eventlens.api.errors import answers
from eventlens.api.parameters import PERCENT_DECODED, CohortParameter
from eventlens.reports import viewing
from eventlens.reports.cohort_filter import cohort_filter

router = APIGatewayHttpRouter()


Days = Annotated[int, Query(ge=1, le=viewing.MAX_DAYS, description="the last N days through today (UTC)")]


@router.get("/api/v1/analytics/content/popular", responses=answers(404, 503))
def get_popular_content(
    parts: ReaderParts,
    project: ReaderProject,
    days: Days = 7,
    limit: Annotated[int, Query(ge=1, le=viewing.MAX_LIMIT)] = 10,
    cohort: CohortParameter = None,
) -> viewing.PopularContent:
    """The most viewed movies: views (starts), distinct viewers and completion rate."""
    in_cohort = cohort_filter(parts.warehouse, project, cohort)
    return viewing.popular_content(parts.warehouse, project, days, limit, cohort=in_cohort)


@router.get("/api/v1/analytics/user/<user_id>/stats", responses=answers(503))
def get_user_stats(
    parts: ReaderParts,
    project: ReaderProject,
    user_id: Annotated[str, PERCENT_DECODED, Path(min_length=1, max_length=256)],
    days: Days = 30,
) -> viewing.UserViewingStats:
    """One user's viewing: movies started and finished, distinct movies, watch time."""
    return viewing.user_stats(parts.warehouse, project, user_id, days)


@router.get("/api/v1/analytics/trends", responses=answers(404, 503))
def get_trends(
    parts: ReaderParts, project: ReaderProject, days: Days = 7, cohort: CohortParameter = None
) -> viewing.ViewingTrends:
    """Views, viewers and completions per day."""
    in_cohort = cohort_filter(parts.warehouse, project, cohort)
    return viewing.trends(parts.warehouse, project, days, cohort=in_cohort)


@router.get("/api/v1/analytics/peak-hours", responses=answers(404, 503))
def get_peak_hours(
    parts: ReaderParts, project: ReaderProject, days: Days = 7, cohort: CohortParameter = None
) -> viewing.PeakHours:
    """Viewing events and viewers per hour of day (UTC), busiest first."""
    in_cohort = cohort_filter(parts.warehouse, project, cohort)
    return viewing.peak_hours(parts.warehouse, project, days, cohort=in_cohort)
