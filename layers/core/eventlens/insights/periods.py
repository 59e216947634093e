"""Days, weeks and months cut in the query's timezone, and hours of it.

A query names local days (``from``–``to``, inclusive) in an IANA timezone; an event belongs to the
local day ``toDate(ts, tz)``, so a day of 23 or 25 hours (a DST change) is one day, as its people lived
it. Weeks start on Monday; a period is labelled by its first day (an hour: by its local start, with
the UTC offset, ``2026-03-29T03:00:00+03:00``).

ClickHouse does the cutting (its timezone database is the one that counts), so this module needs no
timezone database of Python's: day, week and month periods are calendar arithmetic on dates, and hour
periods are listed by the warehouse.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from eventlens.errors import InvalidParameter
from eventlens.warehouse import Warehouse

Interval = Literal["hour", "day", "week", "month"]
Period = Literal["day", "week", "month"]

# A period of a row's ``ts`` in the query's timezone (bound as {tz:String}): a Date, or for hours the
# Unix time of the local hour's start.
_BUCKETS: dict[str, str] = {
    "hour": "toUnixTimestamp(toStartOfHour({ts}, {{tz:String}}))",
    "day": "toDate({ts}, {{tz:String}})",
    "week": "toMonday(toDate({ts}, {{tz:String}}))",
    "month": "toStartOfMonth(toDate({ts}, {{tz:String}}))",
}
BUCKET_TYPES = {"hour": "UInt32", "day": "Date", "week": "Date", "month": "Date"}

_TIMEZONES = "SELECT time_zone FROM system.time_zones"
_SPAN = """
SELECT toUnixTimestamp(toDateTime({from:Date}, {tz:String})) AS start,
       toUnixTimestamp(toDateTime({after:Date}, {tz:String})) AS end
"""
# Every local hour of the days from..to: the hour starts of instants 15 minutes apart (a zone's offset
# is a multiple of 15 minutes), each with its label.
_HOURS = """
SELECT DISTINCT toUnixTimestamp(h) AS start, formatDateTime(h, '%Y-%m-%dT%H:%i:%S%z', {tz:String}) AS label
FROM (
    SELECT toStartOfHour(toDateTime(x, 'UTC'), {tz:String}) AS h
    FROM (SELECT arrayJoin(range(toUInt32(toDateTime({from:Date}, {tz:String})),
                                 toUInt32(toDateTime({after:Date}, {tz:String})), 900)) AS x)
)
ORDER BY start
"""
_known_timezones: frozenset[str] | None = None


def bucket_sql(interval: str, ts: str = "ts") -> str:
    """The SQL of the period (of ``interval``) a row's ``ts`` falls in; ``interval`` one of Interval."""
    return _BUCKETS[interval].format(ts=ts)


def period_index(period: str, day_sql: str, first_sql: str) -> str:
    """The SQL of the index of the day, week or month starting ``day_sql`` among the periods starting
    ``first_sql`` (1 for it, 0 or less before it): arithmetic, not a lookup."""
    if period == "week":
        return f"(intDiv(toInt64({day_sql} - {first_sql}), 7) + 1)"
    if period == "month":
        years = f"(toYear({day_sql}) - toYear({first_sql}))"
        return f"({years} * 12 + toMonth({day_sql}) - toMonth({first_sql}) + 1)"
    return f"(toInt64({day_sql} - {first_sql}) + 1)"


def check_timezone(warehouse: Warehouse, timezone: str) -> str:
    """``timezone`` when the warehouse knows it (its IANA database); InvalidParameter otherwise."""
    global _known_timezones
    if timezone == "UTC":
        return timezone
    if _known_timezones is None:  # the engine's own list: the same for the process's lifetime
        _known_timezones = frozenset(warehouse.query(_TIMEZONES).column("time_zone").to_pylist())
    if timezone not in _known_timezones or timezone == "localtime":
        raise InvalidParameter("timezone", f"{timezone!r} is not an IANA timezone name (e.g. Europe/Kyiv)")
    return timezone


def local_span(warehouse: Warehouse, timezone: str, start: date, end: date) -> tuple[int, int]:
    """The Unix times of the first local day's start and of the day after the last one's start."""
    row = warehouse.query(_SPAN, {"from": start, "after": end + timedelta(days=1), "tz": timezone})
    return int(row.column("start")[0].as_py()), int(row.column("end")[0].as_py())


def period_start(period: str, day: date) -> date:
    """The first day of the day, week (Monday) or month ``day`` is in."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_period(period: str, first: date) -> date:
    if period == "week":
        return first + timedelta(weeks=1)
    if period == "month":
        return (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first + timedelta(days=1)


def previous_period(period: str, first: date) -> date:
    if period == "week":
        return first - timedelta(weeks=1)
    if period == "month":
        return (first - timedelta(days=1)).replace(day=1)
    return first - timedelta(days=1)


def period_end(period: str, first: date) -> date:
    """The last day of the period starting ``first``."""
    return next_period(period, first) - timedelta(days=1)


def date_periods(period: str, start: date, end: date) -> list[date]:
    """The first day of each day, week or month overlapping ``start``–``end``."""
    first, periods = period_start(period, start), []
    while first <= end:
        periods.append(first)
        first = next_period(period, first)
    return periods


def hour_periods(warehouse: Warehouse, timezone: str, start: date, end: date) -> list[tuple[int, str]]:
    """(Unix time, label) of each local hour of the days ``start``–``end``."""
    rows = warehouse.query(_HOURS, {"from": start, "after": end + timedelta(days=1), "tz": timezone})
    return [(int(row["start"]), _iso_offset(row["label"])) for row in rows.to_pylist()]


def _iso_offset(label: str) -> str:
    """``…+0530`` → ``…+05:30``: ISO 8601's extended offset."""
    return f"{label[:-2]}:{label[-2:]}"


def check_periods(field: str, count: int, most: int) -> None:
    if count > most:
        raise InvalidParameter(field, f"at most {most} periods, got {count}")
