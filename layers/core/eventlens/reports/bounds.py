"""The days and moments a report can be asked about: what the warehouse's Date type holds.

ClickHouse's ``Date`` runs from 1970-01-01 to 2149-06-06; outside it a bound parameter fails in the
engine (a 503) or wraps to 1970. A request naming a day outside is answered 422 on its field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from eventlens.errors import InvalidParameter

FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2149, 6, 6)


def check_day(field: str, day: date) -> date:
    """``day`` when the warehouse can hold it; InvalidParameter naming ``field`` otherwise."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidParameter(field, f"must be between {FIRST_DAY} and {LAST_DAY}, got {day}")
    return day


def check_moment(field: str, moment: datetime) -> datetime:
    """``moment`` in UTC (naive means UTC) when its day is one the warehouse can hold."""
    try:
        utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the first moment in UTC
        raise InvalidParameter(field, f"must be between {FIRST_DAY} and {LAST_DAY}") from None
    check_day(field, utc.date())
    return utc
