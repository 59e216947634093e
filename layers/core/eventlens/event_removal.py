"""Removing stored events without leaving the report rollups behind.

The rollups of migration 0002 are filled by materialized views at insert, and insert is all they
see: a deleted event would stay counted in them. ``remove_events`` deletes the events listed in the
``events_removed`` work table from ``events`` and every per-event copy of it (``event_ids``,
``user_events``, ``telemetry_events``, ``events_by_property``), then recomputes from ``events`` exactly
the rollup rows those events touched: their (project, day, source) in the daily and hourly rollups,
their viewing days, their users' (day, week, month) activity rows and first days.
Every row is named with its project: removing one project's events never touches another's rows.

Lightweight DELETE hides rows from readers as soon as it returns; each rollup row is deleted and
written again in two statements, so a report may see it missing between the two (milliseconds).
Events of the same (day, source) stored by consume while this runs could be counted twice in the
daily and hourly rollups; the importer's (day, 'telemetry') rows are written by the importer alone.
"""

from __future__ import annotations

from eventlens.warehouse import Warehouse

_REMOVED_IDS = "SELECT project_id, event_id FROM events_removed"
_DAY_SOURCES = "SELECT DISTINCT project_id, day, source FROM events_removed"
_VIEWING_DAYS = "SELECT DISTINCT project_id, day FROM events_removed WHERE source = 'viewing'"
_USERS = "SELECT DISTINCT project_id, user_id FROM events_removed"
_USER_HASH = "reinterpretAsUInt128(sipHash128(user_id))"
_PERIODS = "[('day', day), ('week', toMonday(day)), ('month', toStartOfMonth(day))]"
_TOUCHED_PERIODS = f"""
SELECT project_id, p.1, p.2, user
FROM (SELECT DISTINCT project_id, day, {_USER_HASH} AS user FROM events_removed)
ARRAY JOIN {_PERIODS} AS p
"""

_STATEMENTS = (
    # The events and their per-event copies.
    "DELETE FROM events WHERE (project_id, toDate(ts)) IN (SELECT project_id, day FROM events_removed)"
    f" AND (project_id, event_id) IN ({_REMOVED_IDS})",
    f"DELETE FROM event_ids WHERE (project_id, event_id) IN ({_REMOVED_IDS})",
    f"DELETE FROM user_events WHERE (project_id, event_id) IN ({_REMOVED_IDS})",
    f"DELETE FROM telemetry_events WHERE (project_id, event_id) IN ({_REMOVED_IDS})",
    f"DELETE FROM events_by_property WHERE (project_id, event_id) IN ({_REMOVED_IDS})",
    # Per project, day and source.
    f"DELETE FROM daily_rollup WHERE (project_id, day, source) IN ({_DAY_SOURCES})",
    f"""INSERT INTO daily_rollup
    SELECT project_id, toDate(ts) AS day, source, event_type, country, count(), uniqExactState(user_id)
    FROM events WHERE (project_id, toDate(ts), source) IN ({_DAY_SOURCES})
    GROUP BY project_id, day, source, event_type, country""",
    f"DELETE FROM hourly_rollup WHERE (project_id, day, source) IN ({_DAY_SOURCES})",
    f"""INSERT INTO hourly_rollup
    SELECT project_id, toDate(ts) AS day, toHour(ts) AS hour, source, count(), uniqExactState(user_id)
    FROM events WHERE (project_id, toDate(ts), source) IN ({_DAY_SOURCES})
    GROUP BY project_id, day, hour, source""",
    f"DELETE FROM movie_daily WHERE (project_id, day) IN ({_VIEWING_DAYS})",
    f"""INSERT INTO movie_daily
    SELECT project_id, toDate(ts) AS day, movie_id, countIf(event_type = 'start'),
           countIf(event_type = 'finish'), uniqExactState(user_id)
    FROM events
    WHERE source = 'viewing' AND event_type IN ('start', 'progress', 'finish')
      AND (project_id, toDate(ts)) IN ({_VIEWING_DAYS})
    GROUP BY project_id, day, movie_id""",
    # Per user: the activity periods the removed events fell in, and the first day.
    f"DELETE FROM user_periods WHERE (project_id, toString(period), start, user) IN ({_TOUCHED_PERIODS})",
    f"""INSERT INTO user_periods
    SELECT DISTINCT project_id, p.1, p.2, user
    FROM (
        SELECT DISTINCT project_id, toDate(ts) AS day, {_USER_HASH} AS user FROM events
        WHERE (project_id, user_id) IN ({_USERS})
    )
    ARRAY JOIN {_PERIODS} AS p
    WHERE (project_id, p.1, p.2, user) IN ({_TOUCHED_PERIODS})""",
    "DELETE FROM user_first"
    f" WHERE (project_id, user) IN (SELECT project_id, {_USER_HASH} FROM events_removed)",
    f"""INSERT INTO user_first
    SELECT project_id, {_USER_HASH} AS user, min(toDate(ts)) FROM events
    WHERE (project_id, user_id) IN ({_USERS})
    GROUP BY project_id, user""",
)


def remove_events(warehouse: Warehouse) -> int:
    """Delete the events listed in ``events_removed`` and recompute the rollup rows they touched.

    Returns how many were listed; the work table is emptied afterwards.
    """
    listed = int(warehouse.query("SELECT count() AS n FROM events_removed").column("n")[0].as_py())
    if listed:
        for statement in _STATEMENTS:
            warehouse.command(statement)
    warehouse.command("TRUNCATE TABLE events_removed")
    return listed
