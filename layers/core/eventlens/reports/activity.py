"""Activity reports of the Events Analytics API: daily, weekly and monthly active users, and the most
frequent event types.

Each report reads the cheapest exact source for its segments (see migrations/0002_report_rollups.sql):
no segment → ``user_periods`` (row counts); segments on event_type, source or properties.country →
``daily_rollup`` (merged uniqExact states); any other segment → the ``events`` table itself. Every
report is of one project: each of these tables leads its sort key with ``project_id`` (migration 0007),
so the project's condition is also what prunes the read to that project's granules.

Users are persons (``eventlens.identity``): the distinct ids an SDK said are one person count once.
``user_periods`` counts distinct ids, and ``person_overlaps`` how many ids more than one each person
had in a period, so the count without segments is one minus the other. ``daily_rollup`` keeps distinct
ids as uniqExact states, which cannot be re-keyed by person: when a person of the project was active
under several ids in one of the report's periods, the report reads ``events`` with each id's person.

Filtered to a cohort (``cohort_filter``), only its persons' events count: without segments
``user_periods`` keeps the rows of the member persons' ids (when no person had several ids active in
one of the periods, else the events are read); otherwise, and for the top events, the events of the
member persons (``daily_rollup``'s states cannot be split by user).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel

from eventlens.errors import InvalidParameter
from eventlens.identity import has_overlaps, person_of
from eventlens.reports.bounds import check_day
from eventlens.reports.cohort_filter import CohortFilter, with_cohort
from eventlens.reports.segments import Segment, on_rollup, with_segments
from eventlens.warehouse import Warehouse

MAX_RANGE_DAYS = 3 * 366
# The most days of distinct-id states one query merges, by period (_state_chunks): a month of days or
# of weeks, a quarter of months.
STATE_CHUNK_DAYS: dict[str, int] = {"day": 31, "week": 31, "month": 92}

Period = Literal["day", "week", "month"]

# Distinct users per period that has any: {first} and {last} are the first days of the first and last
# period, {last_day} the last period's last day; active_users fills the periods without users with 0.
# Without segments, user_periods: one row per (period, start, user) once merged, FINAL makes that exact
# now; less each person's ids beyond their first active in the period (person_overlaps).
_ACTIVE_USERS = """
SELECT period_start, toUInt64(sum(n)) AS users
FROM (
    SELECT start AS period_start, toInt64(count()) AS n
    FROM user_periods FINAL
    WHERE project_id = {project:String} AND period = {period:String}
        AND start BETWEEN {first:Date} AND {last:Date}
    GROUP BY period_start
    UNION ALL
    SELECT start AS period_start, -toInt64(sum(extra)) AS n
    FROM person_overlaps FINAL
    WHERE project_id = {project:String} AND period = {period:String}
        AND start BETWEEN {first:Date} AND {last:Date}
    GROUP BY period_start
)
GROUP BY period_start
"""

# Filtered to a cohort, without segments: user_periods' rows of the member persons' ids, read only when no
# person was active under several ids in the periods (person_overlaps has nothing to subtract).
_ACTIVE_USERS_IN_COHORT = """
SELECT start AS period_start, toUInt64(count()) AS users
FROM user_periods FINAL
WHERE project_id = {project:String} AND period = {period:String}
    AND start BETWEEN {first:Date} AND {last:Date} AND {cohort_users}
GROUP BY period_start
"""

# With segments: daily_rollup's merged uniqExact states when it keeps every segment's dimension, else the
# events table. {segments} is their condition (segments.with_segments); {period:String} picks the first day.
_ACTIVE_USERS_FROM_ROLLUP = """
SELECT
    multiIf({period:String} = 'week', toMonday(day), {period:String} = 'month', toStartOfMonth(day), day)
        AS period_start,
    uniqExactMerge(users) AS users
FROM daily_rollup
WHERE project_id = {project:String} AND day BETWEEN {first:Date} AND {last_day:Date}
    AND {segments}
GROUP BY period_start
"""

# The day range is written over toDate(ts), the sort key's own expression: ClickHouse prunes parts and
# granules by it, while `day` (a MATERIALIZED copy of it) made every report read the whole year (issue 14).
# {events} is `events`, or the rows of a property value in events_by_property (segments.with_segments).
_ACTIVE_USERS_FROM_EVENTS = """
SELECT
    multiIf({period:String} = 'week', toMonday(day), {period:String} = 'month', toStartOfMonth(day), day)
        AS period_start,
    uniqExact({person}) AS users
FROM {events}
WHERE project_id = {project:String} AND toDate(ts) BETWEEN {first:Date} AND {last_day:Date} AND {segments}
    AND {cohort}
GROUP BY period_start
""".replace("{person}", person_of())

# Event counts per type, from daily_rollup when it keeps every segment's dimension, else from events.
_TOP_EVENTS_FROM_ROLLUP = """
SELECT event_type, toUInt64(sum(events)) AS count
FROM daily_rollup
WHERE project_id = {project:String} AND day BETWEEN {start:Date} AND {end:Date} AND {segments}
GROUP BY event_type
ORDER BY count DESC, event_type
LIMIT {limit:UInt32}
"""

_TOP_EVENTS_FROM_EVENTS = """
SELECT event_type, toUInt64(count()) AS count
FROM {events}
WHERE project_id = {project:String} AND toDate(ts) BETWEEN {start:Date} AND {end:Date} AND {segments}
    AND {cohort}
GROUP BY event_type
ORDER BY count DESC, event_type
LIMIT {limit:UInt32}
"""


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
    """A report's day range: days the warehouse holds, ``from`` not after ``to``, at most
    ``MAX_RANGE_DAYS`` long."""
    check_day("from", start)
    check_day("to", end)
    if start > end:
        raise InvalidParameter("from", f"{start} is after to={end}")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidParameter("to", f"the range may span at most {MAX_RANGE_DAYS} days")


def dau(
    warehouse: Warehouse,
    project_id: str,
    start: date,
    end: date,
    segments: list[Segment],
    cohort: CohortFilter | None = None,
) -> list[DailyUsers]:
    """Distinct users of ``project_id`` per day from ``start`` to ``end`` inclusive (days without events
    count 0)."""
    rows = active_users(warehouse, project_id, "day", start, end, segments, cohort)
    return [DailyUsers(date=day, unique_users=users) for day, users in rows]


def wau(
    warehouse: Warehouse,
    project_id: str,
    start: date,
    end: date,
    segments: list[Segment],
    cohort: CohortFilter | None = None,
) -> list[WeeklyUsers]:
    """Distinct users of ``project_id`` per calendar week (Monday first) for every week that overlaps
    ``start``–``end``.

    Weeks are whole: the first and last week count their users on all seven days.
    """
    rows = active_users(warehouse, project_id, "week", start, end, segments, cohort)
    return [WeeklyUsers(week=week, unique_users=users) for week, users in rows]


def mau(
    warehouse: Warehouse,
    project_id: str,
    start: date,
    end: date,
    segments: list[Segment],
    cohort: CohortFilter | None = None,
) -> list[MonthlyUsers]:
    """Distinct users of ``project_id`` per calendar month for every month that overlaps ``start``–``end``
    (whole months)."""
    rows = active_users(warehouse, project_id, "month", start, end, segments, cohort)
    return [MonthlyUsers(month=month, unique_users=users) for month, users in rows]


def active_users(
    warehouse: Warehouse,
    project_id: str,
    period: Period,
    start: date,
    end: date,
    segments: list[Segment],
    cohort: CohortFilter | None = None,
) -> list[tuple[date, int]]:
    """(first day of the period, distinct users of ``project_id``, of ``cohort`` when given) for each
    day, week or month overlapping the range."""
    check_range(start, end)
    periods = period_starts(period, start, end)
    params: dict[str, object] = {"project": project_id, "period": period}
    # Rows counted (user_periods) are asked for at once; distinct-id states a few periods at a time.
    chunks = [periods]
    if not segments and cohort is None:
        sql = _ACTIVE_USERS
    else:
        # A rollup answers when it keeps what is filtered and its ids are the periods' persons.
        rollup = _ACTIVE_USERS_IN_COHORT if cohort is not None else _ACTIVE_USERS_FROM_ROLLUP
        on_it = not segments if cohort is not None else on_rollup(segments)
        if on_it and not has_overlaps(warehouse, project_id, period, periods[0], periods[-1]):
            template = rollup
        else:
            template = _ACTIVE_USERS_FROM_EVENTS
        sql, segment_params = with_segments(template, segments, from_index=cohort is None)
        sql, cohort_params = with_cohort(sql, cohort)
        params.update(segment_params | cohort_params)
        if template is not _ACTIVE_USERS_IN_COHORT:
            chunks = _state_chunks(period, periods)
    users: dict[date, int] = {}
    for chunk in chunks:
        # Whole periods: the day range widens to the first and last period's bounds.
        last_day = _next_period_start(period, chunk[-1]) - timedelta(days=1)
        bounds = {"first": chunk[0], "last": chunk[-1], "last_day": last_day}
        for row in warehouse.query(sql, params | bounds).to_pylist():
            users[row["period_start"]] = row["users"]
    return [(first_day, users.get(first_day, 0)) for first_day in periods]


def _state_chunks(period: Period, periods: list[date]) -> list[list[date]]:
    """The periods in runs of whole periods spanning at most ``STATE_CHUNK_DAYS[period]`` days (a run
    is at least one period).

    Each period's distinct ids are a uniqExact state, and a query holds every state it merges or
    builds. At 100M events (2M users, a year; bench/scale.py), a year of daily states for
    properties.country=UA in one query took 1,694 MiB of memory; in runs of 31 days, 417 MiB and
    1.5x the time. Weekly states took 942 MiB in one query and 305 in runs of four weeks, at 1.55x
    the time. Monthly states for event_type=purchase took 377 MiB in one query, 266 in quarters at
    1.2x the time, and 217 in single months at 1.7x. The runs keep ``eventlens local`` under 1 GB at
    that size (851 MiB after every report; 2,042 before). The queries together read what the one did:
    the day range prunes each to its own parts and granules.
    """
    bound = STATE_CHUNK_DAYS[period]
    chunks: list[list[date]] = []
    for first_day in periods:
        if chunks and (_next_period_start(period, first_day) - chunks[-1][0]).days <= bound:
            chunks[-1].append(first_day)
        else:
            chunks.append([first_day])
    return chunks


def period_starts(period: Period, start: date, end: date) -> list[date]:
    """The first day of each day, calendar week (Monday first) or calendar month overlapping the range."""
    first = _period_start(period, start)
    periods = []
    while first <= end:
        periods.append(first)
        first = _next_period_start(period, first)
    return periods


def _period_start(period: Period, day: date) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _next_period_start(period: Period, first: date) -> date:
    if period == "week":
        return first + timedelta(weeks=1)
    if period == "month":
        return (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first + timedelta(days=1)


def top_events(
    warehouse: Warehouse,
    project_id: str,
    start: date,
    end: date,
    limit: int,
    segments: list[Segment],
    cohort: CohortFilter | None = None,
) -> list[EventCount]:
    """The ``limit`` most frequent event types of ``project_id`` from ``start`` to ``end`` inclusive (of
    ``cohort``'s persons when given)."""
    check_range(start, end)
    if not 1 <= limit <= 1000:
        raise InvalidParameter("limit", f"must be between 1 and 1000, got {limit}")
    rollup = cohort is None and on_rollup(segments)
    template = _TOP_EVENTS_FROM_ROLLUP if rollup else _TOP_EVENTS_FROM_EVENTS
    sql, params = with_segments(template, segments, from_index=cohort is None)
    sql, cohort_params = with_cohort(sql, cohort)
    query_params = {
        **params,
        **cohort_params,
        "project": project_id,
        "start": start,
        "end": end,
        "limit": limit,
    }
    rows = warehouse.query(sql, query_params).to_pylist()
    return [EventCount(**row) for row in rows]
