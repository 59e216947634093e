"""Viewing reports of the cinema's Analytics Service: popular content, a user's stats, daily trends,
peak hours.

Viewing events are ``source = 'viewing'`` with types start / progress / finish and the properties
movie_id, position_seconds and session_id. A period of ``days`` is the UTC days from ``today - days``
through today, as the Analytics Service counted it (``event_date >= today() - days``).

* a view is a ``start`` event; a completed view a ``finish`` event; completion_rate = finishes / views
  in percent, two decimals (0 without views);
* a viewer is a user with any viewing event (of that movie, day or hour);
* watch time is, per viewing session (session_id, or the movie when a session is not given), the
  furthest position reached; a user's total sums their sessions.

Every report is of one project, whose id leads the sort key of each table read (migration 0007).

Viewers are persons (``eventlens.identity``). The rollups keep distinct ids as uniqExact states, which
cannot be re-keyed by person: popular content and peak hours (distinct viewers over several days) read
the events, each id mapped to its person, when the project has merged persons; the daily trends do
when a person was active under several ids on one of the period's days.

Popular content, the daily trends and the peak hours take a cohort (``cohort_filter``): they then read
the events of its persons only (under any of their ids), as the rollups cannot be split by user.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel

from eventlens.errors import InvalidParameter
from eventlens.identity import has_merges, has_overlaps, person_of
from eventlens.reports.cohort_filter import CohortFilter, with_cohort
from eventlens.warehouse import POINT_READ, Warehouse

MAX_DAYS = 3 * 366
MAX_LIMIT = 100


class PopularItem(BaseModel):
    movie_id: str
    total_views: int
    unique_viewers: int
    completion_rate: float


class PopularContent(BaseModel):
    items: list[PopularItem]
    period_days: int
    total_items: int


class UserViewingStats(BaseModel):
    user_id: str
    movies_started: int
    movies_finished: int
    unique_movies_watched: int
    total_watch_time_seconds: int
    completion_rate: float
    period_days: int
    most_watched_movie_id: str | None


class DailyTrend(BaseModel):
    date: date
    total_views: int
    unique_viewers: int
    completed_views: int
    completion_rate: float


class ViewingTrends(BaseModel):
    trends: list[DailyTrend]
    period_days: int


class HourActivity(BaseModel):
    hour: int
    events_count: int
    unique_users: int


class PeakHours(BaseModel):
    hours: list[HourActivity]
    period_days: int


_POPULAR_FROM_ROLLUP = """
SELECT movie_id, toUInt64(sum(starts)) AS total_views,
       toUInt64(uniqExactMerge(viewers)) AS unique_viewers,
       if(total_views = 0, 0, round(sum(finishes) / total_views * 100, 2)) AS completion_rate
FROM movie_daily
WHERE project_id = {project:String} AND day >= {since:Date}
GROUP BY movie_id
HAVING total_views > 0
ORDER BY total_views DESC, movie_id
LIMIT {limit:UInt32}
"""
# The events variants name their days as the sort key does, toDate(ts), so ClickHouse reads only those
# days' granules (the `day` column, a copy of it, prunes nothing: see reports/activity.py).
_POPULAR_FROM_EVENTS = """
SELECT movie_id, toUInt64(countIf(event_type = 'start')) AS total_views,
       toUInt64(uniqExact({person})) AS unique_viewers,
       if(total_views = 0, 0, round(countIf(event_type = 'finish') / total_views * 100, 2)) AS completion_rate
FROM events
WHERE project_id = {project:String} AND toDate(ts) >= {since:Date}
  AND source = 'viewing' AND event_type IN ('start', 'progress', 'finish') AND {cohort}
GROUP BY movie_id
HAVING total_views > 0
ORDER BY total_views DESC, movie_id
LIMIT {limit:UInt32}
""".replace("{person}", person_of())
_TRENDS_FROM_ROLLUP = """
SELECT day AS date,
       toUInt64(sumIf(events, event_type = 'start')) AS total_views,
       toUInt64(uniqExactMerge(users)) AS unique_viewers,
       toUInt64(sumIf(events, event_type = 'finish')) AS completed_views,
       if(total_views = 0, 0, round(completed_views / total_views * 100, 2)) AS completion_rate
FROM daily_rollup
WHERE project_id = {project:String} AND source = 'viewing'
  AND day BETWEEN {since:Date} AND {until:Date}
GROUP BY day
ORDER BY day WITH FILL FROM {since:Date} TO {until:Date} + 1
"""
_TRENDS_FROM_EVENTS = """
SELECT day AS date,
       toUInt64(countIf(event_type = 'start')) AS total_views,
       toUInt64(uniqExact({person})) AS unique_viewers,
       toUInt64(countIf(event_type = 'finish')) AS completed_views,
       if(total_views = 0, 0, round(completed_views / total_views * 100, 2)) AS completion_rate
FROM events
WHERE project_id = {project:String} AND source = 'viewing'
  AND toDate(ts) BETWEEN {since:Date} AND {until:Date} AND {cohort}
GROUP BY day
ORDER BY day WITH FILL FROM {since:Date} TO {until:Date} + 1
""".replace("{person}", person_of())
_PEAK_FROM_ROLLUP = """
SELECT hour, toUInt64(sum(events)) AS events_count, toUInt64(uniqExactMerge(users)) AS unique_users
FROM hourly_rollup
WHERE project_id = {project:String} AND source = 'viewing' AND day >= {since:Date}
GROUP BY hour
ORDER BY events_count DESC, hour
"""
_PEAK_FROM_EVENTS = """
SELECT toUInt8(toHour(ts)) AS hour, toUInt64(count()) AS events_count,
       toUInt64(uniqExact({person})) AS unique_users
FROM events
WHERE project_id = {project:String} AND source = 'viewing' AND toDate(ts) >= {since:Date} AND {cohort}
GROUP BY hour
ORDER BY events_count DESC, hour
""".replace("{person}", person_of())


def check_days(days: int) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidParameter("days", f"must be between 1 and {MAX_DAYS}, got {days}")


def _since(days: int, today: date | None) -> date:
    check_days(days)
    return (today or datetime.now(UTC).date()) - timedelta(days=days)


def popular_content(
    warehouse: Warehouse,
    project_id: str,
    days: int,
    limit: int,
    today: date | None = None,
    cohort: CohortFilter | None = None,
) -> PopularContent:
    """The ``limit`` movies of ``project_id`` with the most views in the period (ties by movie_id), of
    ``cohort``'s persons when given."""
    since = _since(days, today)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}")
    by_person = cohort is not None or has_merges(warehouse, project_id)
    sql, params = with_cohort(_POPULAR_FROM_EVENTS if by_person else _POPULAR_FROM_ROLLUP, cohort)
    rows = warehouse.query(sql, {**params, "project": project_id, "since": since, "limit": limit}).to_pylist()
    items = [PopularItem(**row) for row in rows]
    return PopularContent(items=items, period_days=days, total_items=len(items))


def user_stats(
    warehouse: Warehouse, project_id: str, user_id: str, days: int, today: date | None = None
) -> UserViewingStats:
    """One user's viewing in the period, in ``project_id``: views, completions, movies and watch time."""
    since = _since(days, today)
    sessions = warehouse.query(
        """
        SELECT movie_id,
               countIf(event_type = 'start') AS starts,
               countIf(event_type = 'finish') AS finishes,
               coalesce(max(position_seconds), 0) AS watched
        FROM user_events
        WHERE project_id = {project:String} AND user_id = {user_id:String} AND source = 'viewing'
          AND toDate(ts) >= {since:Date}
        GROUP BY if(session_id = '', movie_id, session_id) AS session, movie_id
        """
        + POINT_READ,
        {"project": project_id, "user_id": user_id, "since": since},
    ).to_pylist()
    started = sum(row["starts"] for row in sessions)
    finished = sum(row["finishes"] for row in sessions)
    per_movie: dict[str, int] = {}
    for row in sessions:
        per_movie[row["movie_id"]] = per_movie.get(row["movie_id"], 0) + row["watched"]
    # The most watched movie: the longest watch time; of equals, the first movie_id.
    most_watched = min(per_movie.items(), key=lambda item: (-item[1], item[0]))[0] if per_movie else None
    return UserViewingStats(
        user_id=user_id,
        movies_started=started,
        movies_finished=finished,
        unique_movies_watched=len(per_movie),
        total_watch_time_seconds=sum(per_movie.values()),
        completion_rate=round(finished / started * 100, 2) if started else 0.0,
        period_days=days,
        most_watched_movie_id=most_watched,
    )


def trends(
    warehouse: Warehouse,
    project_id: str,
    days: int,
    today: date | None = None,
    cohort: CohortFilter | None = None,
) -> ViewingTrends:
    """Views, viewers and completions of ``project_id`` (of ``cohort``'s persons when given) for each day
    of the period (days without viewing count 0)."""
    since = _since(days, today)
    until = since + timedelta(days=days)
    by_person = cohort is not None or has_overlaps(warehouse, project_id, "day", since, until)
    sql, params = with_cohort(_TRENDS_FROM_EVENTS if by_person else _TRENDS_FROM_ROLLUP, cohort)
    rows = warehouse.query(sql, {**params, "project": project_id, "since": since, "until": until}).to_pylist()
    return ViewingTrends(trends=[DailyTrend(**row) for row in rows], period_days=days)


def peak_hours(
    warehouse: Warehouse,
    project_id: str,
    days: int,
    today: date | None = None,
    cohort: CohortFilter | None = None,
) -> PeakHours:
    """Viewing events and viewers of ``project_id`` (of ``cohort``'s persons when given) per hour of day
    (UTC) over the period, busiest hour first."""
    since = _since(days, today)
    by_person = cohort is not None or has_merges(warehouse, project_id)
    sql, params = with_cohort(_PEAK_FROM_EVENTS if by_person else _PEAK_FROM_ROLLUP, cohort)
    rows = warehouse.query(sql, {**params, "project": project_id, "since": since}).to_pylist()
    return PeakHours(hours=[HourActivity(**row) for row in rows], period_days=days)
