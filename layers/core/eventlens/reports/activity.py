"""Activity reports of 003: daily, weekly and monthly active users, and the most frequent event types.

Each report reads the cheapest exact source for its segments (see migrations/0002_report_rollups.sql):
no segment → ``user_periods`` (row counts); segments on event_type, source or properties.country →
``daily_rollup`` (merged uniqExact states); any other segment → the ``events`` table itself.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel

from eventlens.errors import InvalidParameter
from eventlens.reports.segments import Segment, on_rollup, segment_sql
from eventlens.warehouse import Warehouse

MAX_RANGE_DAYS = 3 * 366

Period = Literal["day", "week", "month"]
# How each period's first day is computed from a day, in ClickHouse.
_PERIOD_START = {"day": "toDate({col})", "week": "toMonday({col})", "month": "toStartOfMonth({col})"}
_PERIOD_STEP = {"day": "INTERVAL 1 DAY", "week": "INTERVAL 1 WEEK", "month": "INTERVAL 1 MONTH"}


class DailyUsers(BaseModel):
    date: date
    unique_users: int


class WeeklyUsers(BaseModel):
    week: date
    unique_users: int


class MonthlyUsers(BaseModel):
    month: date
    unique_users: int


class EventCount(BaseModel):
    event_type: str
    count: int


def check_range(start: date, end: date) -> None:
    """A report's day range: ``from`` not after ``to``, at most ``MAX_RANGE_DAYS`` long."""
    if start > end:
        raise InvalidParameter("from", f"{start} is after to={end}")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidParameter("to", f"the range may span at most {MAX_RANGE_DAYS} days")


def dau(warehouse: Warehouse, start: date, end: date, segments: list[Segment]) -> list[DailyUsers]:
    """Distinct users per day from ``start`` to ``end`` inclusive (days without events count 0)."""
    rows = active_users(warehouse, "day", start, end, segments)
    return [DailyUsers(date=day, unique_users=users) for day, users in rows]


def wau(warehouse: Warehouse, start: date, end: date, segments: list[Segment]) -> list[WeeklyUsers]:
    """Distinct users per calendar week (Monday first) for every week that overlaps ``start``–``end``.

    Weeks are whole: the first and last week count their users on all seven days.
    """
    rows = active_users(warehouse, "week", start, end, segments)
    return [WeeklyUsers(week=week, unique_users=users) for week, users in rows]


def mau(warehouse: Warehouse, start: date, end: date, segments: list[Segment]) -> list[MonthlyUsers]:
    """Distinct users per calendar month for every month that overlaps ``start``–``end`` (whole months)."""
    rows = active_users(warehouse, "month", start, end, segments)
    return [MonthlyUsers(month=month, unique_users=users) for month, users in rows]


def active_users(
    warehouse: Warehouse, period: Period, start: date, end: date, segments: list[Segment]
) -> list[tuple[date, int]]:
    """(first day of the period, distinct users) for each day, week or month overlapping the range."""
    check_range(start, end)
    first = _PERIOD_START[period].format(col="{start:Date}")
    last = _PERIOD_START[period].format(col="{end:Date}")
    step = _PERIOD_STEP[period]
    fill = f"ORDER BY period_start WITH FILL FROM {first} TO {last} + {step} STEP {step}"
    params: dict[str, object] = {"start": start, "end": end, "period": period}
    if not segments:
        # user_periods holds one row per (period, start, user) once merged; FINAL makes that exact now.
        sql = f"""
            SELECT start AS period_start, count() AS users
            FROM user_periods FINAL
            WHERE period = {{period:String}} AND start BETWEEN {first} AND {last}
            GROUP BY period_start
            {fill}
        """
    else:
        where, segment_params = segment_sql(segments)
        params.update(segment_params)
        # Whole periods: widen the day range to the first and last period's bounds.
        day_range = f"day BETWEEN {first} AND {last} + {_PERIOD_STEP[period]} - INTERVAL 1 DAY"
        grouped = _PERIOD_START[period].format(col="day")
        if on_rollup(segments):
            source = f"SELECT {grouped} AS period_start, uniqExactMerge(users) AS users FROM daily_rollup"
        else:
            source = f"SELECT {grouped} AS period_start, uniqExact(user_id) AS users FROM events"
        sql = f"{source} WHERE {day_range} AND {where} GROUP BY period_start {fill}"
    rows = warehouse.query(sql, params)
    return list(zip(rows.column("period_start").to_pylist(), rows.column("users").to_pylist(), strict=True))


def top_events(
    warehouse: Warehouse, start: date, end: date, limit: int, segments: list[Segment]
) -> list[EventCount]:
    """The ``limit`` most frequent event types from ``start`` to ``end`` inclusive."""
    check_range(start, end)
    if not 1 <= limit <= 1000:
        raise InvalidParameter("limit", f"must be between 1 and 1000, got {limit}")
    where, params = segment_sql(segments)
    counted = "sum(events)" if on_rollup(segments) else "count()"
    table = "daily_rollup" if on_rollup(segments) else "events"
    sql = f"""
        SELECT event_type, toUInt64({counted}) AS count
        FROM {table}
        WHERE day BETWEEN {{start:Date}} AND {{end:Date}} AND {where}
        GROUP BY event_type
        ORDER BY count DESC, event_type
        LIMIT {{limit:UInt32}}
    """
    rows = warehouse.query(sql, {**params, "start": start, "end": end, "limit": limit}).to_pylist()
    return [EventCount(**row) for row in rows]
