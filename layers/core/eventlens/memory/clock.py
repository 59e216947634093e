"""The person's clock: their timezone, their local time, and local times as instants.

The timezone is the one the request names, else the person's ``timezone`` property (as on their latest
event that has one), else UTC. Conversions use ClickHouse's timezone database, the one the warehouse
cuts days with (Lambda's Python runtime has none of its own): local times go in as text, instants come
back as milliseconds with the offset in force then, so no Python timezone database is needed either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from eventlens.errors import InvalidParameter
from eventlens.warehouse import POINT_READ, Warehouse

_TIMEZONES = "SELECT time_zone FROM system.time_zones"
# The engine's timezone names: the same for the process's lifetime, read once.
_known_timezones: frozenset[str] | None = None
# A person property is the value on the person's latest event that has it (as for insights).
_PERSON_TIMEZONE = (
    """
SELECT argMax(JSONExtractString(properties, 'timezone'), ts) AS tz
FROM user_events
WHERE project_id = {project:String} AND user_id = {user_id:String} AND JSONHas(properties, 'timezone')
"""
    + POINT_READ
)
_LOCAL_NOW = "SELECT toString(toTimeZone({now:DateTime64(3, 'UTC')}, {tz:String})) AS local"
_INSTANTS = """
SELECT toUnixTimestamp64Milli(toDateTime64(local, 3, {tz:String})) AS ms,
       timeZoneOffset(toDateTime64(local, 3, {tz:String})) AS offset
FROM (SELECT arrayJoin(arrayEnumerate({locals:Array(String)})) AS i, {locals:Array(String)}[i] AS local)
ORDER BY i
"""
_LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class PersonClock:
    timezone: str
    now: datetime  # the instant (UTC)
    local_now: datetime  # the person's wall clock then, naive


def known_timezone(warehouse: Warehouse, name: str) -> bool:
    """Whether the warehouse's timezone database has ``name`` (an IANA name, e.g. Europe/Kyiv)."""
    global _known_timezones
    if _known_timezones is None:
        _known_timezones = frozenset(warehouse.query(_TIMEZONES).column("time_zone").to_pylist())
    return name in _known_timezones


def person_clock(
    warehouse: Warehouse, project_id: str, user_id: str, requested: str | None, now: datetime
) -> PersonClock:
    """The person's clock at ``now``: in the ``requested`` timezone (InvalidParameter when the
    warehouse does not know it), else their ``timezone`` property's when it is a known one, else UTC."""
    if requested is not None:
        if not known_timezone(warehouse, requested):
            raise InvalidParameter(
                "timezone", f"{requested!r} is not a known IANA timezone (e.g. Europe/Kyiv)"
            )
        zone = requested
    else:
        rows = warehouse.query(_PERSON_TIMEZONE, {"project": project_id, "user_id": user_id}).to_pylist()
        stated = str(rows[0]["tz"] or "") if rows else ""
        zone = stated if stated and known_timezone(warehouse, stated) else "UTC"
    local = warehouse.query(_LOCAL_NOW, {"now": now, "tz": zone}).column("local")[0].as_py()
    return PersonClock(zone, now, datetime.strptime(local[:19], _LOCAL_FORMAT))


def instants(warehouse: Warehouse, zone: str, local_times: list[datetime]) -> list[datetime]:
    """Each local (naive) time of ``zone`` as an aware datetime with the offset in force then (a time
    in a gap the clocks skip moves on, as ClickHouse moves it)."""
    if not local_times:
        return []
    texts = [moment.strftime(_LOCAL_FORMAT) for moment in local_times]
    rows = warehouse.query(_INSTANTS, {"tz": zone, "locals": texts}).to_pylist()
    return [_aware(row["ms"], row["offset"]) for row in rows]


_OFFSETS = """
SELECT timeZoneOffset(toTimeZone(fromUnixTimestamp64Milli(ms, 'UTC'), {tz:String})) AS offset
FROM (SELECT arrayJoin(arrayEnumerate({ms:Array(Int64)})) AS i, {ms:Array(Int64)}[i] AS ms)
ORDER BY i
"""


def local_times(warehouse: Warehouse, zone: str, moments: list[datetime]) -> list[datetime]:
    """Each instant as the wall-clock time of ``zone`` then (aware, at the offset in force)."""
    if not moments:
        return []
    milliseconds = [round(moment.timestamp() * 1000) for moment in moments]
    rows = warehouse.query(_OFFSETS, {"tz": zone, "ms": milliseconds}).to_pylist()
    return [local(moment, row["offset"]) for moment, row in zip(moments, rows, strict=True)]


def _aware(ms: int, offset: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(timezone(timedelta(seconds=offset)))


def local(moment: datetime, offset_s: int) -> datetime:
    """An instant as the wall-clock time at ``offset_s`` seconds from UTC (aware)."""
    return moment.astimezone(timezone(timedelta(seconds=offset_s)))
