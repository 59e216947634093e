"""Trends: one or more series over time, each a math over events of one type (or any) that pass its
filters, per hour, day, week or month of the query's timezone; optionally broken down by a property
(the most frequent values, then "other"), and a formula over the series.

Maths: ``total`` (events), ``unique_persons`` (distinct persons, ``person_key``), and over a numeric
event property (a JSON number; other values are skipped) ``sum``, ``avg``, ``min``, ``max``, ``median``,
``p90``, ``p95``, ``p99``. The quantiles are exact, interpolated between the two nearest values as
numpy's default (linear) does. A period without events has 0 for total, unique persons and sum, and
no value (null) for the others. Each series also has its ``total``: the math over the whole range
(distinct persons over the range, not the sum of the periods').

The first and last periods hold only the range's days (a week from a Wednesday counts from Wednesday).
A breakdown ranks values by the number of events of all series over the range (ties: by value).

All of it is one scan of the range: per period and value, each series' aggregate state; the values
ranked over the range by a window; the states of the values beyond the limit merged into "other", and
every group's states merged once more for its total (GROUPING SETS).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from eventlens.insights.breakdown import Breakdown, breakdown_sql
from eventlens.insights.filters import (
    EventMatcher,
    PropertyName,
    event_number,
    event_types_condition,
    invalid,
    matcher_condition,
    parse_property,
)
from eventlens.insights.formula import evaluate, parse_formula
from eventlens.insights.periods import (
    Interval,
    bucket_sql,
    check_periods,
    date_periods,
    hour_periods,
)
from eventlens.insights.person_key import person
from eventlens.insights.query import InsightQuery, Scope, Understood, build_scope
from eventlens.insights.rollups import COLUMNS as ROLLUP_COLUMNS
from eventlens.insights.rollups import rollup_condition, rollups_apply
from eventlens.warehouse import Warehouse

Math = Literal["total", "unique_persons", "sum", "avg", "min", "max", "median", "p90", "p95", "p99"]
QUANTILES = {"median": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
PROPERTY_MATHS = {"sum", "avg", "min", "max", *QUANTILES}
ADDITIVE = {"total", "unique_persons", "sum"}  # a period without events is 0, not null
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_PERIODS = {"hour": 24 * 31 + 1, "day": 3 * 366 + 1, "week": 160, "month": 40}

_TRENDS = """
SELECT bucket, g, is_top, grouping(bucket) AS whole, min(value_rank) AS group_rank, {merges}
FROM (
    SELECT *, value_rank <= {top:UInt32} AS is_top, if(is_top, bv, '') AS g
    FROM (
        SELECT *, dense_rank() OVER (ORDER BY bv_events DESC, bv) AS value_rank
        FROM (
            SELECT bucket, bv, {states}, sum(sum(events)) OVER (PARTITION BY bv) AS bv_events
            FROM ({rows})
            GROUP BY bucket, bv
        )
    )
)
GROUP BY GROUPING SETS ((bucket, g, is_top), (g, is_top))
"""
# The rows: each event of a series (``events`` is 1), or each daily_rollup row of one (its count).
_EVENT_ROWS = """
SELECT {bucket} AS bucket, {value} AS bv, {person} AS who, toUInt64(1) AS events, {row_columns}
FROM events{join}
WHERE {where}{types} AND ({any_series})
"""
_ROLLUP_ROWS = """
SELECT {bucket} AS bucket, {value} AS bv, events, users, {row_columns}
FROM daily_rollup
WHERE project_id = {project:String} AND day BETWEEN {from:Date} AND {to:Date} AND {filters} AND ({any_series})
"""
# On the rollup the values rank by a cheap sum first; then one pass aggregates per period and value
# (merging the day's uniqExact states) and per value over the range.
_ROLLUP_TOP = """
SELECT bv, sum(events) AS n FROM ({rows}) GROUP BY bv ORDER BY n DESC, bv LIMIT {top:UInt32}
"""
_ROLLUP_TRENDS = """
SELECT bucket, g, is_top, grouping(bucket) AS whole,
       if(is_top, indexOf({values:Array(String)}, g), {top:UInt32} + 1) AS group_rank, {aggregates}
FROM (SELECT *, has({values:Array(String)}, bv) AS is_top, if(is_top, bv, '') AS g FROM ({rows}))
GROUP BY GROUPING SETS ((bucket, g, is_top), (g, is_top))
"""
_ROLLUP_AGGREGATES = {"total": "sumIf(events, ", "unique_persons": "uniqExactMergeIf(users, "}
_ROLLUP_BUCKETS = {"day": "day", "week": "toMonday(day)", "month": "toStartOfMonth(day)"}


class TrendSeries(EventMatcher):
    """One series: the events it counts, and its math."""

    math: Math = "total"
    property: PropertyName | None = Field(
        default=None, description="The numeric event property (properties.<key>) of sum, avg, … p99"
    )
    name: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="The series' label (default: its event)"
    )

    @model_validator(mode="after")
    def _property_fits_math(self) -> TrendSeries:
        if self.math in PROPERTY_MATHS:
            if self.property is None:
                raise invalid(f"math {self.math} needs a property")
            if parse_property(self.property).kind != "event":
                raise invalid(f"math {self.math} reads an event property (properties.<key>)")
        elif self.property is not None:
            raise invalid(f"math {self.math} takes no property")
        return self


class TrendsQuery(InsightQuery):
    """``POST /api/v1/insights/trends``."""

    series: list[TrendSeries] = Field(min_length=1, max_length=len(LETTERS))
    interval: Interval = "day"
    breakdown: Breakdown | None = None
    formula: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="Over the series by letter (A = the first): A / B * 100"
    )


Value = int | float | None


class SeriesResult(BaseModel):
    """A series' values, one per period, for one breakdown value (or "other", or all events)."""

    letter: str = Field(description="A, B, …: how the formula names it; 'formula' for the formula")
    label: str
    breakdown_value: str | None = Field(description="The value; null for other or without a breakdown")
    other: bool = Field(default=False, description="Every value beyond the breakdown's limit, together")
    values: list[Value]
    total: Value = Field(description="The math over the whole range")


class TrendsAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    query: TrendsQuery
    understood: Understood
    read_from: Literal["events", "daily_rollup"] = Field(
        description="The source read: the events, or the per-day rollup when it answers exactly (UTC, "
        "totals and unique persons, conditions on event type, source and country)"
    )
    interval: Interval
    periods: list[str] = Field(description="Each period's first day (an hour: its local start with offset)")
    series: list[SeriesResult]
    formula: list[SeriesResult] | None = None


def trends(warehouse: Warehouse, project_id: str, query: TrendsQuery) -> TrendsAnswer:
    """The trends of ``query`` over ``project_id``'s events (see the module doc)."""
    letters = {LETTERS[i] for i in range(len(query.series))}
    formula = parse_formula(query.formula, letters) if query.formula is not None else None
    scope = build_scope(warehouse, project_id, query)
    periods, labels = _periods(warehouse, query)
    b = scope.bindings
    top = query.breakdown.limit if query.breakdown else 1
    rollup_rows = _rollup_rows(query, scope)
    if rollup_rows is not None:
        params = {**b.params, "top": top, "from": query.start, "to": query.end}
        ranked = warehouse.query(_ROLLUP_TOP.replace("{rows}", rollup_rows), params).to_pylist()
        aggregates = [
            f"{_ROLLUP_AGGREGATES[asked.math]}c_{LETTERS[i]}) AS v_{LETTERS[i]}"
            for i, asked in enumerate(query.series)
        ]
        sql = _ROLLUP_TRENDS.replace("{aggregates}", ", ".join(aggregates)).replace("{rows}", rollup_rows)
        params["values"] = [row["bv"] for row in ranked]
    else:
        states, merges = [], []
        for i, asked in enumerate(query.series):
            state, merge = _aggregate(asked.math, LETTERS[i])
            states.append(f"{state} AS s_{LETTERS[i]}")
            merges.append(f"{merge}(s_{LETTERS[i]}) AS v_{LETTERS[i]}")
        sql = (
            _TRENDS.replace("{merges}", ", ".join(merges))
            .replace("{states}", ", ".join(states))
            .replace("{rows}", _event_rows(query, scope))
        )
        params = {**b.params, "top": top}
    rows = warehouse.query(sql, params).to_pylist()
    series = _series(query, rows, periods)
    answer = TrendsAnswer(
        query=query,
        understood=scope.understood,
        read_from="daily_rollup" if rollup_rows is not None else "events",
        interval=query.interval,
        periods=labels,
        series=series,
    )
    if formula is not None:
        answer.formula = _formula(formula, query, series)
    return answer


def _event_rows(query: TrendsQuery, scope: Scope) -> str:
    """Each event of a series, with its period, breakdown value, person and each series' condition."""
    b = scope.bindings
    breakdown = breakdown_sql(query.breakdown, b)
    row_columns, conditions = [], []
    for i, asked in enumerate(query.series):
        letter = LETTERS[i]
        conditions.append(f"c_{letter}")
        row_columns.append(f"{matcher_condition(asked, b)} AS c_{letter}")
        if asked.property is not None:
            row_columns.append(f"{event_number(parse_property(asked.property), b)} AS n_{letter}")
    return (
        _EVENT_ROWS.replace("{row_columns}", ", ".join(row_columns))
        .replace("{any_series}", " OR ".join(conditions))
        .replace("{types}", event_types_condition(query.series, b))
        .replace("{bucket}", bucket_sql(query.interval))
        .replace("{value}", breakdown.value)
        .replace("{person}", person(b))
        .replace("{join}", breakdown.join)
        .replace("{where}", scope.where)
    )


def _rollup_rows(query: TrendsQuery, scope: Scope) -> str | None:
    """The daily_rollup rows of the series, when it answers the query exactly (``insights.rollups``):
    UTC days, weeks or months; totals and unique persons; conditions and breakdown on its columns."""
    if not rollups_apply(query.timezone, query.interval, query.cohort, scope.bindings.ids_are_persons):
        return None
    if any(asked.math not in ("total", "unique_persons") for asked in query.series):
        return None
    value = "''"
    if query.breakdown is not None:
        if query.breakdown.property not in ROLLUP_COLUMNS:
            return None
        value = ROLLUP_COLUMNS[query.breakdown.property]
    b = scope.bindings
    filters = rollup_condition(scope.understood.filters, b)
    if filters is None:
        return None
    row_columns, conditions = [], []
    for i, asked in enumerate(query.series):
        condition = rollup_condition(asked.filters, b)
        if condition is None:
            return None
        if asked.event is not None:
            condition += f" AND event_type = {b.text(asked.event)}"
        conditions.append(f"c_{LETTERS[i]}")
        row_columns.append(f"({condition}) AS c_{LETTERS[i]}")
    return (
        _ROLLUP_ROWS.replace("{row_columns}", ", ".join(row_columns))
        .replace("{any_series}", " OR ".join(conditions))
        .replace("{filters}", filters)
        .replace("{bucket}", _ROLLUP_BUCKETS[query.interval])
        .replace("{value}", value)
    )


def _aggregate(math: str, letter: str) -> tuple[str, str]:
    """(the -State aggregate of a series over its rows, the -Merge function that finishes it)."""
    if math == "total":
        return f"countIfState(c_{letter})", "countIfMerge"
    if math == "unique_persons":
        return f"uniqExactIfState(who, c_{letter})", "uniqExactIfMerge"
    if math in QUANTILES:
        level = QUANTILES[math]
        return (
            f"quantileExactInclusiveIfState({level})(n_{letter}, c_{letter})",
            f"quantileExactInclusiveIfMerge({level})",
        )
    return f"{math}IfState(n_{letter}, c_{letter})", f"{math}IfMerge"


def _periods(warehouse: Warehouse, query: TrendsQuery) -> tuple[list[Any], list[str]]:
    """The periods' keys (as the query's bucket gives them) and labels."""
    if query.interval == "hour":
        check_periods("interval", (query.end - query.start).days * 24 + 24, MAX_PERIODS["hour"])
        hours = hour_periods(warehouse, query.timezone, query.start, query.end)
        return [start for start, _ in hours], [label for _, label in hours]
    days: list[date] = date_periods(query.interval, query.start, query.end)
    check_periods("interval", len(days), MAX_PERIODS[query.interval])
    return list(days), [day.isoformat() for day in days]


def _series(query: TrendsQuery, rows: list[dict[str, Any]], periods: list[Any]) -> list[SeriesResult]:
    index = {period: i for i, period in enumerate(periods)}
    groups: dict[tuple[bool, str], dict[str, Any]] = {}
    for row in rows:
        group = groups.setdefault((bool(row["is_top"]), row["g"]), {"rank": row["group_rank"], "values": {}})
        group["rank"] = min(group["rank"], row["group_rank"])
        key = "total" if row["whole"] else index.get(row["bucket"])
        if key is not None:
            group["values"][key] = row
    results = []
    for (is_top, value), group in sorted(groups.items(), key=lambda item: item[1]["rank"]):
        for i, series in enumerate(query.series):
            letter = LETTERS[i]
            cells = group["values"]
            values = [_value(series.math, cells.get(p, {}).get(f"v_{letter}")) for p in range(len(periods))]
            results.append(
                SeriesResult(
                    letter=letter,
                    label=series.name or series.event or "any event",
                    breakdown_value=value if is_top and query.breakdown else None,
                    other=not is_top,
                    values=values,
                    total=_value(series.math, cells.get("total", {}).get(f"v_{letter}")),
                )
            )
    if not results:  # no event at all: each series, all zero
        results = [
            SeriesResult(
                letter=LETTERS[i],
                label=series.name or series.event or "any event",
                breakdown_value=None,
                values=[_value(series.math, None)] * len(periods),
                total=_value(series.math, None),
            )
            for i, series in enumerate(query.series)
        ]
    return results


def _value(math: str, value: Any) -> Value:
    if value is None:
        return (0.0 if math == "sum" else 0) if math in ADDITIVE else None
    if math in ("total", "unique_persons"):
        return int(value)
    return float(value)


def _formula(formula: Any, query: TrendsQuery, series: list[SeriesResult]) -> list[SeriesResult]:
    """The formula per group (breakdown value, other, or all) and period, over that group's series."""
    per_group: dict[tuple[str | None, bool], dict[str, SeriesResult]] = {}
    for result in series:
        per_group.setdefault((result.breakdown_value, result.other), {})[result.letter] = result
    answers = []
    for (value, other), by_letter in per_group.items():
        width = len(next(iter(by_letter.values())).values)

        def at(i: int | None, by_letter: dict[str, SeriesResult] = by_letter) -> dict[str, float | None]:
            return {
                letter: (None if (v := (r.total if i is None else r.values[i])) is None else float(v))
                for letter, r in by_letter.items()
            }

        answers.append(
            SeriesResult(
                letter="formula",
                label=query.formula or "",
                breakdown_value=value,
                other=other,
                values=[evaluate(formula, at(i)) for i in range(width)],
                total=evaluate(formula, at(None)),
            )
        )
    return answers
