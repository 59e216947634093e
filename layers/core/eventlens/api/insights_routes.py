"""Insights and cohorts of the caller's project (``eventlens.insights``): ``POST /api/v1/insights/{kind}``
for kind trends, funnel, paths, stickiness, lifecycle and retention (one route each, so each documents
its own body), ``POST /api/v1/cohorts`` and ``GET /api/v1/cohorts``. Each takes the project's secret
key; none is a reference system's route, so none may be keyless."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens.api.access import ReaderParts, ReaderProject
from eventlens.api.errors import answer, answers, json_response
from eventlens.insights import cohorts, funnel, lifecycle, paths, retention, stickiness, trends

router = APIGatewayHttpRouter()

# A body that is not UTF-8 (400), a cohort the project does not have (404), too large a body (413), not
# JSON (415), a field that is not valid (422), the warehouse down (503).
ANSWERS = answers(400, 404, 413, 415, 503)
_RANGE = {"from": "2026-01-05", "to": "2026-02-01", "timezone": "Europe/Kyiv"}


def _examples(**named: dict[str, Any]) -> dict[str, Any]:
    return {name: {"summary": name.replace("_", " "), "value": value} for name, value in named.items()}


TRENDS_EXAMPLES = _examples(
    purchases_per_day_by_country={
        **_RANGE,
        "series": [{"event": "purchase"}, {"event": "purchase", "math": "unique_persons"}],
        "breakdown": {"property": "properties.country", "limit": 5},
        "formula": "A / B",
    },
    revenue_p95_per_week={
        **_RANGE,
        "interval": "week",
        "series": [
            {"event": "purchase", "math": "sum", "property": "properties.amount", "name": "revenue"},
            {"event": "purchase", "math": "p95", "property": "properties.amount"},
        ],
        "filters": [{"property": "properties.amount", "operator": "gt", "value": 0}],
    },
)
FUNNEL_EXAMPLES = _examples(
    checkout={
        **_RANGE,
        "steps": [
            {"event": "view_item"},
            {"event": "add_to_cart"},
            {
                "event": "purchase",
                "filters": [{"property": "properties.amount", "operator": "gte", "value": 10}],
            },
        ],
        "order": "ordered",
        "window_seconds": 86400,
        "breakdown": {"property": "properties.country", "limit": 3},
        "dropped": {"after_step": 2, "limit": 20},
    },
    strict_two_steps={**_RANGE, "steps": [{"event": "search"}, {"event": "view_item"}], "order": "strict"},
)
PATHS_EXAMPLES = _examples(
    after_session_start={**_RANGE, "start_event": {"event": "session_start"}, "depth": 5},
    before_purchase={**_RANGE, "end_event": {"event": "purchase"}, "depth": 3, "collapse_repeats": True},
)
STICKINESS_EXAMPLES = _examples(
    days_with_a_purchase={**_RANGE, "series": [{"event": "purchase"}, {"event": "view_item"}]}
)
LIFECYCLE_EXAMPLES = _examples(
    weekly_buyers={**_RANGE, "activity": {"event": "purchase"}, "interval": "week"},
    daily_any_event={**_RANGE, "segment": "properties.country:UA"},
)
RETENTION_EXAMPLES = _examples(
    weekly_first_time={**_RANGE, "start_event": {"event": "signup"}, "return_event": {"event": "purchase"}},
    daily_recurring={**_RANGE, "retention_type": "recurring", "period": "day", "periods": 14},
)
COHORT_EXAMPLES = _examples(
    frequent_buyers={
        "name": "frequent buyers",
        "behavioural": {"event": "purchase", "min_count": 3, "days": 30},
    },
    ukraine={
        "name": "in Ukraine",
        "properties": [{"property": "person.country", "operator": "equals", "value": "UA"}],
    },
)


@router.post("/api/v1/insights/trends", responses=ANSWERS)
def post_trends(
    parts: ReaderParts,
    project: ReaderProject,
    query: Annotated[trends.TrendsQuery, Body(openapi_examples=TRENDS_EXAMPLES)],
) -> trends.TrendsAnswer:
    """Series over time (total, unique persons, or sum … p99 of a property), per hour, day, week or
    month of a timezone, broken down by a property (top N + other), with a formula over the series."""
    return trends.trends(parts.warehouse, project, query)


@router.post("/api/v1/insights/funnel", responses=ANSWERS)
def post_funnel(
    parts: ReaderParts,
    project: ReaderProject,
    query: Annotated[funnel.FunnelQuery, Body(openapi_examples=FUNNEL_EXAMPLES)],
) -> funnel.FunnelAnswer:
    """2–30 steps (ordered, strict or unordered) within a conversion window: persons per step,
    conversion from the first and previous step, median and average time to convert, by breakdown; the
    persons who dropped after a step, paged."""
    return funnel.funnel(parts.warehouse, project, query)


@router.post("/api/v1/insights/paths", responses=ANSWERS)
def post_paths(
    parts: ReaderParts,
    project: ReaderProject,
    query: Annotated[paths.PathsQuery, Body(openapi_examples=PATHS_EXAMPLES)],
) -> paths.PathsAnswer:
    """The most frequent next events from a start event (or previous ones to an end event), up to 10
    steps deep, as edges weighted by persons."""
    return paths.paths(parts.warehouse, project, query)


@router.post("/api/v1/insights/stickiness", responses=ANSWERS)
def post_stickiness(
    parts: ReaderParts,
    project: ReaderProject,
    query: Annotated[stickiness.StickinessQuery, Body(openapi_examples=STICKINESS_EXAMPLES)],
) -> stickiness.StickinessAnswer:
    """How many persons did each event on exactly 1, 2, … N intervals of the range."""
    return stickiness.stickiness(parts.warehouse, project, query)


@router.post("/api/v1/insights/lifecycle", responses=ANSWERS)
def post_lifecycle(
    parts: ReaderParts,
    project: ReaderProject,
    query: Annotated[lifecycle.LifecycleQuery, Body(openapi_examples=LIFECYCLE_EXAMPLES)],
) -> lifecycle.LifecycleAnswer:
    """Per interval: new, returning, resurrecting and dormant persons of an activity."""
    return lifecycle.lifecycle(parts.warehouse, project, query)


@router.post("/api/v1/insights/retention", responses=ANSWERS)
def post_retention(
    parts: ReaderParts,
    project: ReaderProject,
    query: Annotated[retention.RetentionQuery, Body(openapi_examples=RETENTION_EXAMPLES)],
) -> retention.RetentionAnswer:
    """Cohorts by their first (or every) start event's day, week or month, and how many came back with
    a return event each period after."""
    return retention.retention(parts.warehouse, project, query)


@router.post(
    "/api/v1/cohorts",
    responses={
        **answers(400, 413, 415, 503, ok=201),
        201: answer("Saved: the cohort, with how many persons it holds now", cohorts.Cohort),
    },
)
def post_cohort(
    parts: ReaderParts,
    project: ReaderProject,
    request: Annotated[cohorts.CohortRequest, Body(openapi_examples=COHORT_EXAMPLES)],
) -> Response[dict[str, Any]]:
    """Save a cohort: behavioural (did an event at least N times in the last D days) or by person
    properties. Insights take its id as ``cohort``."""
    cohort = cohorts.create_cohort(parts.warehouse, project, request)
    return json_response(201, cohort.model_dump(mode="json"))


@router.get("/api/v1/cohorts", responses=answers(503))
def get_cohorts(parts: ReaderParts, project: ReaderProject) -> cohorts.CohortList:
    """The project's cohorts, oldest first."""
    return cohorts.list_cohorts(parts.warehouse, project)
