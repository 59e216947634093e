"""Retention: of the persons who did a start event in a period (a day, week or month of the query's
timezone), how many did a return event 1, 2, … N periods later.

* ``first_time``: a person's cohort is the period of their first start event ever (the project's
  whole history up to the range's end, with the same filters and cohort), when it falls in the range;
* ``recurring``: a person is in the cohort of every period of the range in which they did a start event.

Cohort periods are the whole periods overlapping ``from``–``to``; return events are read up to the end
of the last of them, so a cell after it cannot be observed yet and is null. ``returned[0]`` is the
cohort's size; ``returned[k]`` the persons of the cohort with a return event in the k-th period after
it (a return event in the cohort's own period does not count). ``GET /stats/retention`` (the Events
Analytics API's weekly report) stays as it is.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from eventlens.insights.filters import EventMatcher, matcher_condition
from eventlens.insights.periods import Period, bucket_sql, check_periods, date_periods, period_end
from eventlens.insights.person_key import person
from eventlens.insights.query import InsightQuery, Understood, build_scope
from eventlens.warehouse import Warehouse

MAX_PERIODS = {"day": 120, "week": 104, "month": 36}

_FIRST_TIME = """
SELECT who, cohort FROM (
    SELECT {person} AS who, indexOf({periods}, {first_bucket}) AS cohort
    FROM events
    WHERE {events} AND {until} AND {start}
    GROUP BY who
) WHERE cohort > 0
"""
_RECURRING = """
SELECT DISTINCT {person} AS who, indexOf({periods}, {bucket}) AS cohort
FROM events
WHERE {events} AND {days} AND {start}
"""
_RETENTION = """
SELECT cohort, k, count() AS persons
FROM (
    SELECT cohort,
           arrayConcat([0], arrayFilter(k -> k >= 1 AND k <= {after:UInt32},
                                        arrayMap(r -> toInt64(r) - toInt64(cohort), returns))) AS ks
    FROM ({cohorts}) AS c
    LEFT JOIN (
        SELECT {person} AS who, groupUniqArray(indexOf({periods}, {bucket})) AS returns
        FROM events
        WHERE {events} AND {days} AND {return}
        GROUP BY who
    ) AS r USING who
)
ARRAY JOIN ks AS k
GROUP BY cohort, k
"""


class RetentionQuery(InsightQuery):
    """``POST /api/v1/insights/retention``."""

    start_event: EventMatcher = Field(
        default_factory=EventMatcher, description="What puts a person in a cohort"
    )
    return_event: EventMatcher = Field(default_factory=EventMatcher, description="What counts as coming back")
    retention_type: Literal["first_time", "recurring"] = "first_time"
    period: Period = "week"
    periods: int = Field(default=8, ge=1, le=90, description="How many periods after the cohort's (N)")


class RetentionCohort(BaseModel):
    period: str = Field(description="The cohort's period, by its first day")
    persons: int
    returned: list[int | None] = Field(description="[0]: the cohort; [k]: persons back k periods later")
    rates: list[float | None] = Field(description="returned[k] / persons")


class RetentionAnswer(BaseModel):
    query: RetentionQuery
    understood: Understood
    period: Period
    cohorts: list[RetentionCohort]


def retention(warehouse: Warehouse, project_id: str, query: RetentionQuery) -> RetentionAnswer:
    """The retention of ``query`` over ``project_id``'s events (see the module doc)."""
    scope = build_scope(warehouse, project_id, query)
    days = date_periods(query.period, query.start, query.end)
    check_periods("period", len(days), MAX_PERIODS[query.period])
    b = scope.bindings
    last_day = period_end(query.period, days[-1])
    periods = b.bind([day.isoformat() for day in days], "Array(Date)")
    template = _FIRST_TIME if query.retention_type == "first_time" else _RECURRING
    cohorts = (
        template.replace("{first_bucket}", bucket_sql(query.period, "min(ts)"))
        .replace("{until}", scope.until(last_day))
        .replace("{start}", matcher_condition(query.start_event, b))
    )
    sql = (
        _RETENTION.replace("{cohorts}", cohorts)
        .replace("{return}", matcher_condition(query.return_event, b))
        .replace("{periods}", periods)
        .replace("{bucket}", bucket_sql(query.period))
        .replace("{days}", scope.days(days[0], last_day))
        .replace("{events}", scope.events)
        .replace("{person}", person(b))
    )
    counts = {
        (int(row["cohort"]), int(row["k"])): int(row["persons"])
        for row in warehouse.query(sql, {**b.params, "after": query.periods}).to_pylist()
    }
    answers = []
    for index, day in enumerate(days, start=1):
        size = counts.get((index, 0), 0)
        returned: list[int | None] = [size]
        for k in range(1, query.periods + 1):
            returned.append(counts.get((index, k), 0) if index + k <= len(days) else None)
        answers.append(
            RetentionCohort(
                period=day.isoformat(),
                persons=size,
                returned=returned,
                rates=[None if r is None or not size else r / size for r in returned],
            )
        )
    return RetentionAnswer(query=query, understood=scope.understood, period=query.period, cohorts=answers)
