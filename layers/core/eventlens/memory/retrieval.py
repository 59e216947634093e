"""The events that answer a question, from the warehouse: one person's Life Stream events of one
project in ``[start, end)``, read from ``user_events`` (ordered by project, user and time: a person's
events are a few granules). Every value is a bound parameter. Times come back in the person's timezone
(the offset in force at each event, from ClickHouse's timezone database).

Amounts, durations and values are read as the JSON text the client sent and summed as decimals, so a
sum is exact to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from eventlens.memory.clock import local
from eventlens.warehouse import POINT_READ, Warehouse

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_ROWS = 10_000

_PERSON = """
WHERE project_id = {project:String} AND user_id = {user_id:String} AND source = 'lifestream'
  AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
"""

# Geo points by local day, hour and place: the place the event names, else a ~100 m cell of coordinates.
_VISITS = f"""
SELECT
    toString(toDate(toTimeZone(ts, {{tz:String}}))) AS day,
    toStartOfHour(ts) AS hour,
    if(JSONHas(properties, 'place'), JSONExtractString(properties, 'place'),
       JSONExtractString(properties, 'name')) AS place,
    round(avg(JSONExtractFloat(properties, 'lat')), 6) AS lat,
    round(avg(JSONExtractFloat(properties, 'lon')), 6) AS lon,
    round(JSONExtractFloat(properties, 'lat'), 3) AS cell_lat,
    round(JSONExtractFloat(properties, 'lon'), 3) AS cell_lon,
    count() AS points,
    min(ts) AS first,
    max(ts) AS last,
    timeZoneOffset(toTimeZone(min(ts), {{tz:String}})) AS first_offset,
    timeZoneOffset(toTimeZone(max(ts), {{tz:String}})) AS last_offset,
    argMin(toString(event_id), ts) AS event_id
FROM user_events
{_PERSON}  AND event_type = 'geo'
GROUP BY day, hour, place, cell_lat, cell_lon
ORDER BY first, place, cell_lat, cell_lon
LIMIT {{limit:UInt32}}
{POINT_READ}
"""

_MEETINGS = f"""
SELECT
    toString(event_id) AS event_id,
    ts,
    timeZoneOffset(toTimeZone(ts, {{tz:String}})) AS offset,
    JSONExtractString(properties, 'person_id') AS person_id,
    if(JSONHas(properties, 'person_name'), JSONExtractString(properties, 'person_name'),
       JSONExtractString(properties, 'name')) AS name,
    if(JSONHas(properties, 'meal'), JSONExtractString(properties, 'meal'),
       JSONExtractString(properties, 'occasion')) AS meal
FROM user_events
{_PERSON}  AND event_type = 'social' AND JSONExtractString(properties, 'action') = 'meet' AND person_id != ''
ORDER BY ts, event_id
LIMIT {{limit:UInt32}}
{POINT_READ}
"""

# Purchases whose item, place or category holds one of {terms} (all of them when {terms} is empty).
_PURCHASES = f"""
SELECT
    toString(event_id) AS event_id,
    ts,
    timeZoneOffset(toTimeZone(ts, {{tz:String}})) AS offset,
    JSONExtractString(properties, 'item') AS item,
    JSONExtractString(properties, 'place') AS place,
    JSONExtractString(properties, 'category') AS category,
    JSONExtractRaw(properties, 'amount') AS amount,
    JSONExtractString(properties, 'currency') AS currency
FROM user_events
{_PERSON}  AND event_type = 'purchase'
  AND (empty({{terms:Array(String)}})
       OR multiSearchAnyCaseInsensitiveUTF8(concat(item, ' ', place, ' ', category), {{terms:Array(String)}}))
ORDER BY ts, event_id
LIMIT {{limit:UInt32}}
{POINT_READ}
"""

_DOINGS = f"""
SELECT
    toString(event_id) AS event_id,
    event_type AS kind,
    ts,
    timeZoneOffset(toTimeZone(ts, {{tz:String}})) AS offset,
    if(event_type = 'activity', JSONExtractString(properties, 'activity'),
       JSONExtractString(properties, 'metric')) AS name,
    if(event_type = 'activity', JSONExtractRaw(properties, 'duration_minutes'),
       JSONExtractRaw(properties, 'value')) AS value
FROM user_events
{_PERSON}  AND event_type IN ('activity', 'health')
ORDER BY ts, event_id
LIMIT {{limit:UInt32}}
{POINT_READ}
"""


@dataclass(frozen=True)
class Window:
    """Whose events, from when to when (instants; ``start`` None: from the first), shown in ``timezone``."""

    project_id: str
    user_id: str
    start: datetime | None
    end: datetime
    timezone: str

    def params(self, **more: Any) -> dict[str, Any]:
        return {
            "project": self.project_id,
            "user_id": self.user_id,
            "start": self.start or EPOCH,
            "end": self.end,
            "tz": self.timezone,
            "limit": MAX_ROWS,
            **more,
        }


@dataclass(frozen=True)
class Visit:
    """A person's geo points at one place in one hour."""

    event_id: str  # the first point's
    day: date
    place: str  # as the events name it ("" when they do not)
    lat: float
    lon: float
    points: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class MetEvent:
    event_id: str
    at: datetime
    person_id: str
    name: str | None
    meal: str | None


@dataclass(frozen=True)
class Purchase:
    event_id: str
    at: datetime
    item: str
    place: str
    category: str
    amount: Decimal
    currency: str | None


@dataclass(frozen=True)
class Doing:
    """An activity (``name`` the activity, ``value`` its minutes) or a health measurement (``name`` the
    metric, ``value`` the value)."""

    event_id: str
    kind: str
    at: datetime
    name: str
    value: Decimal | None


def _rows(warehouse: Warehouse, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    table = warehouse.query(sql, params)
    return table.to_pylist() if table.num_rows else []


def decimal(raw: str | None) -> Decimal | None:
    """A JSON number (or a number in a JSON string) as the exact decimal it was written as."""
    text = (raw or "").strip().strip('"')
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def visits(warehouse: Warehouse, window: Window) -> list[Visit]:
    """Where the person's geo points fell, by hour and place, in order of arrival."""
    return [
        Visit(
            event_id=row["event_id"],
            day=date.fromisoformat(row["day"]),
            place=row["place"],
            lat=row["lat"],
            lon=row["lon"],
            points=row["points"],
            first=local(row["first"], row["first_offset"]),
            last=local(row["last"], row["last_offset"]),
        )
        for row in _rows(warehouse, _VISITS, window.params())
    ]


def met_events(warehouse: Warehouse, window: Window) -> list[MetEvent]:
    """The person's meetings (``social`` events with ``action: "meet"`` and a ``person_id``)."""
    return [
        MetEvent(
            event_id=row["event_id"],
            at=local(row["ts"], row["offset"]),
            person_id=row["person_id"],
            name=row["name"] or None,
            meal=row["meal"].lower() or None,
        )
        for row in _rows(warehouse, _MEETINGS, window.params())
    ]


def purchases(warehouse: Warehouse, window: Window, terms: tuple[str, ...]) -> list[Purchase]:
    """The person's purchases (those matching one of ``terms``, or all), with exact amounts."""
    found = []
    for row in _rows(warehouse, _PURCHASES, window.params(terms=list(terms))):
        amount = decimal(row["amount"])
        if amount is None:
            continue
        found.append(
            Purchase(
                event_id=row["event_id"],
                at=local(row["ts"], row["offset"]),
                item=row["item"],
                place=row["place"],
                category=row["category"],
                amount=amount,
                currency=row["currency"].upper() or None,
            )
        )
    return found


def doings(warehouse: Warehouse, window: Window) -> list[Doing]:
    """The person's activities and health measurements."""
    return [
        Doing(
            event_id=row["event_id"],
            kind=row["kind"],
            at=local(row["ts"], row["offset"]),
            name=row["name"],
            value=decimal(row["value"]),
        )
        for row in _rows(warehouse, _DOINGS, window.params())
    ]
