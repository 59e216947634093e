"""Activity reports of 003: daily active users and the most frequent event types."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel

from eventlens.errors import InvalidParameter
from eventlens.reports.segments import Segment, segment_sql
from eventlens.warehouse import Warehouse

MAX_RANGE_DAYS = 3 * 366


class DailyUsers(BaseModel):
    date: date
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
    check_range(start, end)
    where, params = segment_sql(segments)
    sql = f"""
        SELECT day AS date, toUInt64(uniqExact(user_id)) AS unique_users
        FROM events
        WHERE day BETWEEN {{start:Date}} AND {{end:Date}} AND {where}
        GROUP BY day
        ORDER BY day WITH FILL FROM {{start:Date}} TO {{end:Date}} + 1
    """
    rows = warehouse.query(sql, {**params, "start": start, "end": end}).to_pylist()
    return [DailyUsers(**row) for row in rows]


def top_events(
    warehouse: Warehouse, start: date, end: date, limit: int, segments: list[Segment]
) -> list[EventCount]:
    """The ``limit`` most frequent event types from ``start`` to ``end`` inclusive."""
    check_range(start, end)
    if not 1 <= limit <= 1000:
        raise InvalidParameter("limit", f"must be between 1 and 1000, got {limit}")
    where, params = segment_sql(segments)
    sql = f"""
        SELECT event_type, count() AS count
        FROM events
        WHERE day BETWEEN {{start:Date}} AND {{end:Date}} AND {where}
        GROUP BY event_type
        ORDER BY count DESC, event_type
        LIMIT {{limit:UInt32}}
    """
    rows = warehouse.query(sql, {**params, "start": start, "end": end, "limit": limit}).to_pylist()
    return [EventCount(**row) for row in rows]
