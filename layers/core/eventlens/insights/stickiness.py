"""Stickiness: how many persons did an event on exactly 1, 2, … N of the range's intervals (hours,
days, weeks or months of the query's timezone; N is how many the range has: the first and last week or
month count even when the range holds only part of them).

One scan for every series: per person, the distinct intervals of each series' events; then persons
per count.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from eventlens.insights.filters import EventMatcher, matcher_condition
from eventlens.insights.periods import Interval, bucket_sql, check_periods, date_periods, hour_periods
from eventlens.insights.person_key import person
from eventlens.insights.query import InsightQuery, Understood, build_scope
from eventlens.warehouse import Warehouse

LETTERS = "ABCDEFGHIJ"
MAX_INTERVALS = {"hour": 24 * 31 + 1, "day": 3 * 366 + 1, "week": 160, "month": 40}

_STICKINESS = """
SELECT series, intervals, count() AS persons
FROM (
    SELECT [{counts}] AS per_series
    FROM (
        SELECT {person} AS who, {distinct}
        FROM events
        WHERE {where} AND ({any_series})
        GROUP BY who
    )
)
ARRAY JOIN per_series AS intervals, arrayEnumerate(per_series) AS series
WHERE intervals > 0
GROUP BY series, intervals
"""


class StickySeries(EventMatcher):
    name: Annotated[str, StringConstraints(max_length=200)] | None = None


class StickinessQuery(InsightQuery):
    """``POST /api/v1/insights/stickiness``."""

    series: list[StickySeries] = Field(min_length=1, max_length=len(LETTERS))
    interval: Interval = "day"


class StickinessSeries(BaseModel):
    letter: str
    label: str
    persons: list[int] = Field(description="[i]: persons who did it on exactly i + 1 intervals")
    total: int = Field(description="Persons who did it at all")


class StickinessAnswer(BaseModel):
    query: StickinessQuery
    understood: Understood
    interval: Interval
    intervals: int = Field(description="How many intervals the range has (N)")
    series: list[StickinessSeries]


def stickiness(warehouse: Warehouse, project_id: str, query: StickinessQuery) -> StickinessAnswer:
    """The stickiness of each of ``query``'s series over ``project_id``'s events."""
    scope = build_scope(warehouse, project_id, query)
    if query.interval == "hour":
        check_periods("interval", (query.end - query.start).days * 24 + 24, MAX_INTERVALS["hour"])
        count = len(hour_periods(warehouse, query.timezone, query.start, query.end))
    else:
        count = len(date_periods(query.interval, query.start, query.end))
        check_periods("interval", count, MAX_INTERVALS[query.interval])
    b = scope.bindings
    bucket = bucket_sql(query.interval)
    letters = LETTERS[: len(query.series)]
    conditions = [matcher_condition(series, b) for series in query.series]
    sql = (
        _STICKINESS.replace("{counts}", ", ".join(f"n_{letter}" for letter in letters))
        .replace(
            "{distinct}",
            ", ".join(
                f"uniqExactIf({bucket}, {condition}) AS n_{letter}"
                for letter, condition in zip(letters, conditions, strict=True)
            ),
        )
        .replace("{any_series}", " OR ".join(conditions))
        .replace("{person}", person(b))
        .replace("{where}", scope.where)
    )
    counts: dict[tuple[int, int], int] = {
        (int(row["series"]), int(row["intervals"])): int(row["persons"])
        for row in warehouse.query(sql, b.params).to_pylist()
    }
    series = []
    for i, matcher in enumerate(query.series, start=1):
        persons = [counts.get((i, n), 0) for n in range(1, count + 1)]
        series.append(
            StickinessSeries(
                letter=letters[i - 1],
                label=matcher.name or matcher.event or "any event",
                persons=persons,
                total=sum(persons),
            )
        )
    return StickinessAnswer(
        query=query, understood=scope.understood, interval=query.interval, intervals=count, series=series
    )
