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
    period_index,
    previous_period,
)
from eventlens.insights.person_key import person
from eventlens.insights.query import InsightQuery, Understood, build_scope
from eventlens.insights.rollups import rollups_apply
from eventlens.warehouse import Warehouse

STATUSES = ("new", "returning", "resurrecting", "dormant")  # in the order of their codes in SQL
MAX_INTERVALS = {"hour": 24 * 31 + 1, "day": 3 * 366 + 1, "week": 160, "month": 40}

# Per person, in one pass over their rows: the intervals with activity (their index among the
# intervals: 1 is the one before the range) and the interval of their first activity ever (0 or less:
# before the list). Then each active interval's status, and a dormant one after each active interval
# that the next does not follow. Up to 63 intervals (a year of weeks, three of months) the active ones
# are the bits of one UInt64 per person (groupBitOr): far cheaper than an array per person.
#
# Each (interval, status) is one number, interval * 4 + the status' place in STATUSES: the rows the
# ARRAY JOIN makes (one per person and active interval) group by a number, not a (number, text) tuple.
_LIFECYCLE = """
SELECT intDiv(status, 4) AS period, status % 4 AS kind, count() AS persons
FROM (
    SELECT {active} AS active, {first_index} AS first_index
    FROM ({rows})
    GROUP BY who
    HAVING active != {none}
)
ARRAY JOIN arrayConcat(
    arrayMap(i -> toUInt32(i * 4 + multiIf(i = first_index, 0, {was_active}, 1, 2)),
             arrayFilter(i -> i >= 2, {positions})),
    arrayMap(i -> toUInt32((i + 1) * 4 + 3),
             arrayFilter(i -> i < {count:UInt32} AND NOT {stays_active}, {positions}))
) AS status
GROUP BY status
"""
_AS_BITS = {
    "none": "0",
    # (shifting 0 for an index outside: a shift is computed for every row, and must be in 0..63)
    "active": "groupBitOr(bitShiftLeft(toUInt64(i BETWEEN 1 AND {count:UInt32}), toUInt8(clamp(i, 0, 63))))",
    "positions": "bitPositionsToArray(active)",
    "was_active": "bitTest(active, i - 1)",
    "stays_active": "bitTest(active, i + 1)",
}
_AS_ARRAY = {
    "none": "[]",
    "active": "arrayDistinct(groupArrayIf(i, i >= 1 AND i <= {count:UInt32}))",
    "positions": "active",
    "was_active": "has(active, i - 1)",
    "stays_active": "has(active, i + 1)",
}
# The activity's events up to the range's end (its whole history, for the first activity).
_EVENT_ROWS = """
SELECT {person} AS who, {index} AS i, ts
FROM events
WHERE {events} AND {until} AND {activity}
"""
# Any event, UTC: the rollups hold each person's periods with an event, and their first day.
_ROLLUP_ROWS = """
SELECT user AS who, {rollup_index} AS i, toDate('2149-06-06') AS first_day
FROM user_periods
WHERE project_id = {project:String} AND period = {period:String}
    AND start BETWEEN {first:Date} AND {last:Date}
UNION ALL
SELECT user AS who, 0 AS i, first_day
FROM user_first
WHERE project_id = {project:String} AND first_day <= {last_day:Date}
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


def _on_rollup(query: LifecycleQuery, filters: list[PropertyFilter], ids_are_persons: bool) -> bool:
    """Whether user_periods and user_first answer it: any event, no filter, UTC days, weeks or months,
    ids that are persons."""
    activity = query.activity
    plain = activity.event is None and not activity.filters and not filters
    return plain and rollups_apply(query.timezone, query.interval, query.cohort, ids_are_persons)


def lifecycle(warehouse: Warehouse, project_id: str, query: LifecycleQuery) -> LifecycleAnswer:
    """The lifecycle of ``query``'s activity over ``project_id``'s events (see the module doc)."""
    scope = build_scope(warehouse, project_id, query)
    b = scope.bindings
    periods: list[Any]
    if query.interval == "hour":
        check_periods("interval", (query.end - query.start).days * 24 + 24, MAX_INTERVALS["hour"])
        hours = hour_periods(warehouse, query.timezone, query.start - timedelta(days=1), query.end)
        start = next(i for i, (_, label) in enumerate(hours) if label.startswith(query.start.isoformat()))
        periods = [hour for hour, _ in hours[start - 1 :]]
        labels = [label for _, label in hours[start:]]
        last_day = query.end
        bound = b.bind(periods, "Array(UInt32)")

        def index(period: str) -> str:  # an hour's index among the intervals, by lookup
            return f"indexOf({bound}, {period})"

    else:
        days = date_periods(query.interval, query.start, query.end)
        check_periods("interval", len(days), MAX_INTERVALS[query.interval])
        days.insert(0, previous_period(query.interval, days[0]))
        last_day = period_end(query.interval, days[-1])
        periods = [day.isoformat() for day in days]
        labels = periods[1:]
        first = b.bind(days[0], "Date")

        def index(period: str) -> str:  # a day's, week's or month's index among the intervals
            return period_index(query.interval, period, first)

    on_rollup = _on_rollup(query, scope.understood.filters, b.ids_are_persons)
    if on_rollup:
        rows = _ROLLUP_ROWS.replace("{rollup_index}", index("start"))
        first_index = index(_FIRST_PERIOD[query.interval])
        b.params.update(period=query.interval, first=periods[0], last=periods[-1], last_day=last_day)
    else:
        rows = (
            _EVENT_ROWS.replace("{index}", index(bucket_sql(query.interval)))
            .replace("{until}", scope.until(last_day))
            .replace("{activity}", matcher_condition(query.activity, b))
            .replace("{events}", scope.events)
            .replace("{person}", person(b))
        )
        first_index = index(bucket_sql(query.interval, "min(ts)"))
    sql = _LIFECYCLE
    for name, piece in (_AS_BITS if len(periods) <= 63 else _AS_ARRAY).items():
        sql = sql.replace(f"{{{name}}}", piece)
    sql = sql.replace("{rows}", rows).replace("{first_index}", first_index)
    counts = {status: [0] * len(labels) for status in STATUSES}
    for row in warehouse.query(sql, {**b.params, "count": len(periods)}).to_pylist():
        counts[STATUSES[int(row["kind"])]][int(row["period"]) - 2] += int(row["persons"])
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
