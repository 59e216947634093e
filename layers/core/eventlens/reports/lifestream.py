"""Life Stream reports: a user's event stream, its statistics, and the memory summary.

They read ``user_events`` (ordered by project, user and time, filled with the Life Stream and viewing
events by a materialized view), keeping to the caller's project and ``source = 'lifestream'``: one
user's events are a few granules.
Times are UTC; a summary period covers whole days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from eventlens.errors import InvalidParameter
from eventlens.reports.bounds import check_day, check_moment
from eventlens.warehouse import POINT_READ, Warehouse

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
MAX_TYPES = 16
MAX_SUMMARY_DAYS = 3 * 366
TOP = 10
SummaryPeriod = Literal["day", "week", "month", "year"]
PERIOD_DAYS: dict[str, int] = {"day": 1, "week": 7, "month": 30, "year": 365}

# A user's Life Stream events in [start, end); an empty {types} means every type.
_STREAM_COUNT = (
    """
SELECT count() AS n
FROM user_events
WHERE project_id = {project:String} AND user_id = {user_id:String} AND source = 'lifestream'
    AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
    AND (empty({types:Array(String)}) OR event_type IN {types:Array(String)})
"""
    + POINT_READ
)

# The page and the count of all the matching events in one read (a person's read costs a few ms of
# fixed cost per query; bench/reports.py): the window counts the rows before LIMIT takes the page.
_STREAM_PAGE = (
    """
SELECT toString(event_id) AS event_id, event_type AS type, ts, properties, count() OVER () AS total
FROM user_events
WHERE project_id = {project:String} AND user_id = {user_id:String} AND source = 'lifestream'
    AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
    AND (empty({types:Array(String)}) OR event_type IN {types:Array(String)})
ORDER BY ts DESC, event_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
"""
    + POINT_READ
)

_STREAM_STATS = (
    """
SELECT event_type AS type, count() AS count, min(ts) AS first, max(ts) AS last
FROM user_events
WHERE project_id = {project:String} AND user_id = {user_id:String} AND source = 'lifestream'
    AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
GROUP BY type
ORDER BY count DESC, type
"""
    + POINT_READ
)

# The memory summary in one read of a person's Life Stream events on the days {start}-{end} (issue 14:
# nine queries cost nine times chDB's fixed cost per query, and most of a person's read is that cost).
# One row per type and key: a geo cell (lat, lon), a purchase's item and place, a person met, an
# activity, a health metric. The sections are these rows (places, people, activities, health) or their
# sums (counts by type, purchases by item and by place, the totals), summed here: a plain GROUP BY
# plans in about half the time of grouping sets with LIMIT BY (bench/reports.py). Properties are parsed
# only for the types that use them (`if` evaluates its branches only for the rows that take them).
# Amounts and durations are decimals parsed from the JSON text and summed exactly, here as there, then
# rounded to cents as ClickHouse rounds a decimal (half away from zero); so a report does not change
# with the order rows are added in (float sums do, in the last digit, which rounding can then show).
_SUMMARY = (
    """
SELECT
    event_type AS type, lat, lon, name, place,
    count() AS n,
    min(ts) AS first,
    max(ts) AS last,
    sum(amount) AS total,
    toFloat64(round(avg(amount), 2)) AS mean,
    min(value) AS low,
    max(value) AS high,
    CAST(sumMap(map(action, toUInt64(1))), 'Map(String, UInt64)') AS actions
FROM
(
    SELECT
        event_type,
        ts,
        if(event_type = 'geo', round(JSONExtractFloat(properties, 'lat'), 3), 0) AS lat,
        if(event_type = 'geo', round(JSONExtractFloat(properties, 'lon'), 3), 0) AS lon,
        multiIf(event_type = 'purchase', JSONExtractString(properties, 'item'),
                event_type = 'social', JSONExtractString(properties, 'person_id'),
                event_type = 'activity', JSONExtractString(properties, 'activity'),
                event_type = 'health', JSONExtractString(properties, 'metric'), '') AS name,
        if(event_type = 'purchase', JSONExtractString(properties, 'place'), '') AS place,
        multiIf(event_type = 'purchase', JSONExtract(properties, 'amount', 'Decimal128(6)'),
                event_type = 'activity', JSONExtract(properties, 'duration_minutes', 'Decimal128(6)'),
                event_type = 'health', JSONExtract(properties, 'value', 'Decimal128(6)'),
                toDecimal128(0, 6)) AS amount,
        if(event_type = 'health', JSONExtractFloat(properties, 'value'), 0) AS value,
        if(event_type = 'social', JSONExtractString(properties, 'action'), '') AS action
    FROM user_events
    WHERE project_id = {project:String} AND user_id = {user_id:String} AND source = 'lifestream'
        AND toDate(ts) BETWEEN {start:Date} AND {end:Date}
)
GROUP BY event_type, lat, lon, name, place
"""
    + POINT_READ
)
_CENT = Decimal("0.01")
_EXACT = Context(prec=100)  # sums of Decimal128 values without rounding


class StreamEvent(BaseModel):
    event_id: str
    type: str
    ts: datetime
    properties: dict[str, Any]


class StreamPage(BaseModel):
    user_id: str
    events: list[StreamEvent]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class TypeStats(BaseModel):
    type: str
    count: int
    first: datetime
    last: datetime


class StreamStats(BaseModel):
    user_id: str
    total_events: int
    first_event: datetime | None
    last_event: datetime | None
    by_type: list[TypeStats]


class Place(BaseModel):
    lat: float
    lon: float
    visits: int
    first_visit: datetime
    last_visit: datetime


class Spend(BaseModel):
    name: str
    count: int
    spent: float


class Purchases(BaseModel):
    count: int
    total_spent: float
    by_item: list[Spend]
    by_place: list[Spend]


class Person(BaseModel):
    person_id: str
    interactions: int
    actions: dict[str, int]


class ActivityKind(BaseModel):
    activity: str
    sessions: int
    minutes: float


class Activity(BaseModel):
    sessions: int
    total_minutes: float
    by_activity: list[ActivityKind]


class HealthMetric(BaseModel):
    metric: str
    count: int
    avg: float
    min: float
    max: float


class MemorySummary(BaseModel):
    user_id: str
    start: date
    end: date
    total_events: int
    events_by_type: dict[str, int]
    places: list[Place]
    purchases: Purchases
    people: list[Person]
    activity: Activity
    health: list[HealthMetric]


def _time_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    start = check_moment("from", start) if start else datetime(1970, 1, 1, tzinfo=UTC)
    end = check_moment("to", end) if end else datetime(2149, 6, 7, tzinfo=UTC)
    if start >= end:
        raise InvalidParameter("from", f"{start.isoformat()} is not before to={end.isoformat()}")
    return start, end


def stream_events(
    warehouse: Warehouse,
    project_id: str,
    user_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    types: list[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> StreamPage:
    """A user's Life Stream events in ``project_id`` in ``[start, end)``, newest first: ``limit`` of them
    from ``offset``."""
    start, end = _time_range(start, end)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidParameter("offset", f"must be between 0 and {MAX_OFFSET}, got {offset}")
    types = types or []
    if len(types) > MAX_TYPES:
        raise InvalidParameter("type", f"at most {MAX_TYPES} types, got {len(types)}")
    params = {
        "project": project_id,
        "user_id": user_id,
        "start": start,
        "end": end,
        "types": types,
        "limit": limit,
        "offset": offset,
    }
    rows = warehouse.query(_STREAM_PAGE, params).to_pylist()
    if rows:
        total = int(rows[0].pop("total"))
        for row in rows[1:]:
            del row["total"]
    else:  # an offset past the end (or no events): the count alone
        total = int(warehouse.query(_STREAM_COUNT, params).column("n")[0].as_py())
    events = [StreamEvent(**{**row, "properties": orjson.loads(row["properties"])}) for row in rows]
    following = offset + len(events)
    return StreamPage(
        user_id=user_id,
        events=events,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=following if following < total else None,
    )


def stream_stats(
    warehouse: Warehouse,
    project_id: str,
    user_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> StreamStats:
    """How many Life Stream events a user of ``project_id`` has in ``[start, end)``, by type, with the
    first and last."""
    start, end = _time_range(start, end)
    params = {"project": project_id, "user_id": user_id, "start": start, "end": end}
    rows = warehouse.query(_STREAM_STATS, params).to_pylist()
    by_type = [TypeStats(**row) for row in rows]
    return StreamStats(
        user_id=user_id,
        total_events=sum(t.count for t in by_type),
        first_event=min((t.first for t in by_type), default=None),
        last_event=max((t.last for t in by_type), default=None),
        by_type=by_type,
    )


def summary_range(
    period: SummaryPeriod | None, start: date | None, end: date | None, today: date | None = None
) -> tuple[date, date]:
    """The days a summary covers: ``from``–``to`` when given, else the ``period`` ending today."""
    today = today or datetime.now(UTC).date()
    if start is None and end is None:
        return today - timedelta(days=PERIOD_DAYS[period or "week"] - 1), today
    if period is not None:
        raise InvalidParameter("period", "give either period or from/to, not both")
    if start is None or end is None:
        raise InvalidParameter("from" if start is None else "to", "from and to go together")
    check_day("from", start)
    check_day("to", end)
    if start > end:
        raise InvalidParameter("from", f"{start} is after to={end}")
    if (end - start).days >= MAX_SUMMARY_DAYS:
        raise InvalidParameter("to", f"the range may span at most {MAX_SUMMARY_DAYS} days")
    return start, end


def memory_summary(
    warehouse: Warehouse, project_id: str, user_id: str, start: date, end: date
) -> MemorySummary:
    """What happened in the life of ``project_id``'s user from ``start`` to ``end`` (whole UTC days):
    places, purchases and spend, people, activity and health."""
    params = {"project": project_id, "user_id": user_id, "start": start, "end": end}
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in warehouse.query(_SUMMARY, params).to_pylist():
        groups.setdefault(row["type"], []).append(row)
    purchases, activities = groups.get("purchase", []), groups.get("activity", [])
    by_type = {kind: sum(row["n"] for row in rows) for kind, rows in groups.items()}
    places = sorted(groups.get("geo", []), key=lambda r: (-r["n"], r["lat"], r["lon"]))[:TOP]
    people = sorted((r for r in groups.get("social", []) if r["name"]), key=lambda r: (-r["n"], r["name"]))
    return MemorySummary(
        user_id=user_id,
        start=start,
        end=end,
        total_events=sum(by_type.values()),
        events_by_type=by_type,
        places=[
            Place(lat=r["lat"], lon=r["lon"], visits=r["n"], first_visit=r["first"], last_visit=r["last"])
            for r in places
        ],
        purchases=Purchases(
            count=sum(r["n"] for r in purchases),
            total_spent=_cents(r["total"] for r in purchases),
            by_item=_spend(purchases, "name"),
            by_place=_spend([r for r in purchases if r["place"]], "place"),
        ),
        people=[
            Person(person_id=r["name"], interactions=r["n"], actions=dict(r["actions"])) for r in people[:TOP]
        ],
        activity=Activity(
            sessions=sum(r["n"] for r in activities),
            total_minutes=_cents(r["total"] for r in activities),
            by_activity=sorted(
                (
                    ActivityKind(activity=r["name"], sessions=r["n"], minutes=_cents([r["total"]]))
                    for r in activities
                ),
                key=lambda a: (-a.sessions, a.activity),
            ),
        ),
        health=sorted(
            (
                HealthMetric(metric=r["name"], count=r["n"], avg=r["mean"], min=r["low"], max=r["high"])
                for r in groups.get("health", [])
            ),
            key=lambda h: h.metric,
        ),
    )


def _cents(totals: Iterable[Decimal]) -> float:
    """The exact sum of decimal ``totals`` rounded to cents as ClickHouse rounds a decimal: halves away
    from zero."""
    with localcontext(_EXACT):
        return float(sum(totals, Decimal(0)).quantize(_CENT, ROUND_HALF_UP))


def _spend(purchases: list[dict[str, Any]], key: str) -> list[Spend]:
    """Purchases summed by ``key`` (the item or the place), the most spent first (ties by name), ten."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in purchases:
        by_key.setdefault(row[key], []).append(row)
    spent = [
        Spend(name=name, count=sum(r["n"] for r in rows), spent=_cents(r["total"] for r in rows))
        for name, rows in by_key.items()
    ]
    return sorted(spent, key=lambda s: (-s.spent, s.name))[:TOP]
