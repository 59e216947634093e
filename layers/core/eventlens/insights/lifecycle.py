"""Lifecycle: per interval, the persons who did the activity (an event with filters, or any event) for
the first time ever (new), again after the previous interval (returning), again after a gap
(resurrecting), and the persons of the previous interval who did not come back (dormant).

Intervals are whole (hours, days, weeks or months of the query's timezone overlapping ``from``–``to``),
and the one before the first is read too, to judge it. "First time ever" looks at the project's whole
history up to the range's end (with the same filters and cohort): a person whose first activity lies
before the range is returning or resurrecting, never new.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from eventlens.insights.filters import EventMatcher, PropertyFilter, matcher_condition
from eventlens.insights.periods import (
    Interval,
    bucket_sql,
    check_periods,
    date_periods,
    hour_periods,
    period_end,
    period_start,
    previous_period,
)
from eventlens.insights.person_key import person
from eventlens.insights.query import InsightQuery, Understood, build_scope
from eventlens.insights.rollups import rollups_apply
from eventlens.warehouse import Warehouse

STATUSES = ("new", "returning", "resurrecting", "dormant")
MAX_INTERVALS = {"hour": 24 * 31 + 1, "day": 3 * 366 + 1, "week": 160, "month": 40}

# Per person: the intervals (their index in {periods}: 1 is the one before the range) with activity,
# and the interval of their first activity ever (0: before the list). Then each active interval's
# status, and a dormant one after each active interval that the next does not follow.
_LIFECYCLE = """
SELECT status.1 AS period, status.2 AS kind, count() AS persons
FROM (SELECT active, first_index FROM ({active}) AS a INNER JOIN ({first}) AS f USING who)
ARRAY JOIN arrayConcat(
    arrayMap(i -> (i, multiIf(i = first_index, 'new', has(active, i - 1), 'returning', 'resurrecting')),
             arrayFilter(i -> i >= 2, active)),
    arrayMap(i -> (i + 1, 'dormant'),
             arrayFilter(i -> i >= 1 AND i < {count:UInt32} AND NOT has(active, i + 1), active))
) AS status
GROUP BY period, kind
"""
_ACTIVE = """
SELECT {person} AS who, groupUniqArray(indexOf({periods}, {bucket})) AS active
FROM events
WHERE {events} AND {days} AND {activity}
GROUP BY who
"""
_FIRST = """
SELECT {person} AS who, indexOf({periods}, {first_bucket}) AS first_index
FROM events
WHERE {events} AND {until} AND {activity}
GROUP BY who
"""
# Any event, UTC: the rollups hold each person's periods with an event and their first day.
_ACTIVE_ROLLUP = """
SELECT user AS who, groupUniqArray(indexOf({periods}, start)) AS active
FROM user_periods
WHERE project_id = {project:String} AND period = {period:String}
    AND start BETWEEN {first:Date} AND {last:Date}
GROUP BY who
"""
_FIRST_ROLLUP = """
SELECT user AS who, indexOf({periods}, {first_period}) AS first_index
FROM user_first
WHERE project_id = {project:String} AND user IN (
    SELECT user FROM user_periods
    WHERE project_id = {project:String} AND period = {period:String}
        AND start BETWEEN {first:Date} AND {last:Date}
)
GROUP BY who
"""
_FIRST_PERIOD = {
    "day": "min(first_day)",
    "week": "toMonday(min(first_day))",
    "month": "toStartOfMonth(min(first_day))",
}


class LifecycleQuery(InsightQuery):
    """``POST /api/v1/insights/lifecycle``."""

    activity: EventMatcher = Field(default_factory=EventMatcher, description="What counts as active")
    interval: Interval = "day"


class LifecycleAnswer(BaseModel):
    query: LifecycleQuery
    understood: Understood
    read_from: Literal["events", "user_periods"] = Field(
        description="The source read: the events, or (any event, UTC) the rollups of persons' periods"
    )
    interval: Interval
    periods: list[str]
    new: list[int]
    returning: list[int]
    resurrecting: list[int]
    dormant: list[int] = Field(description="Persons active in the previous interval and not in this one")


def _on_rollup(query: LifecycleQuery, filters: list[PropertyFilter]) -> bool:
    """Whether user_periods and user_first answer it: any event, no filter, UTC days, weeks or months."""
    activity = query.activity
    plain = activity.event is None and not activity.filters and not filters
    return plain and rollups_apply(query.timezone, query.interval, query.cohort)


def lifecycle(warehouse: Warehouse, project_id: str, query: LifecycleQuery) -> LifecycleAnswer:
    """The lifecycle of ``query``'s activity over ``project_id``'s events (see the module doc)."""
    scope = build_scope(warehouse, project_id, query)
    first_day, last_day = query.start, query.end
    periods: list[Any]
    if query.interval == "hour":
        check_periods("interval", (query.end - query.start).days * 24 + 24, MAX_INTERVALS["hour"])
        first_day = query.start - timedelta(days=1)
        hours = hour_periods(warehouse, query.timezone, first_day, query.end)
        start = next(i for i, (_, label) in enumerate(hours) if label.startswith(query.start.isoformat()))
        hours = hours[start - 1 :]
        periods = [hour for hour, _ in hours]
        labels = [label for _, label in hours[1:]]
        array_type = "Array(UInt32)"
    else:
        days = date_periods(query.interval, query.start, query.end)
        check_periods("interval", len(days), MAX_INTERVALS[query.interval])
        days.insert(0, previous_period(query.interval, days[0]))
        first_day, last_day = days[0], period_end(query.interval, period_start(query.interval, query.end))
        periods = [day.isoformat() for day in days]
        labels = periods[1:]
        array_type = "Array(Date)"
    b = scope.bindings
    bound_periods = b.bind(periods, array_type)
    on_rollup = _on_rollup(query, scope.understood.filters)
    if on_rollup:
        active, first = _ACTIVE_ROLLUP, _FIRST_ROLLUP.replace("{first_period}", _FIRST_PERIOD[query.interval])
        b.params.update(period=query.interval, first=periods[0], last=periods[-1])
    else:
        active, first = _ACTIVE, _FIRST
    sql = (
        _LIFECYCLE.replace("{active}", active)
        .replace("{first}", first)
        .replace("{periods}", bound_periods)
        .replace("{bucket}", bucket_sql(query.interval))
        .replace("{first_bucket}", bucket_sql(query.interval, "min(ts)"))
        .replace("{days}", scope.days(first_day, last_day))
        .replace("{until}", scope.until(last_day))
        .replace("{activity}", matcher_condition(query.activity, b))
        .replace("{events}", scope.events)
        .replace("{person}", person())
    )
    counts = {status: [0] * len(labels) for status in STATUSES}
    for row in warehouse.query(sql, {**b.params, "count": len(periods)}).to_pylist():
        counts[row["kind"]][int(row["period"]) - 2] += int(row["persons"])
    return LifecycleAnswer(
        query=query,
        understood=scope.understood,
        read_from="user_periods" if on_rollup else "events",
        interval=query.interval,
        periods=labels,
        new=counts["new"],
        returning=counts["returning"],
        resurrecting=counts["resurrecting"],
        dormant=counts["dormant"],
    )
