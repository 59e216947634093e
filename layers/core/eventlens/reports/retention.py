"""Weekly retention of the Events Analytics API: cohorts of new users by the week of their first event,
and the share of each cohort active in each following week.

* A cohort is the users whose first event (ever, or first matching event under segments) falls in
  one calendar week, Monday first. Cohorts start at the first Monday on or after ``start_date`` and
  end at the week of ``end_date`` (default today).
* ``week_0`` is the cohort's size; ``week_k`` the percentage of the cohort with an event in week
  ``k`` after it (two decimals), for k = 1 … ``windows``; ``None`` for a week after ``end_date``'s week,
  which cannot be observed yet.
* Segments filter the events considered, for both the first event and the activity.

Users are persons (``eventlens.identity``): a person's cohort is the week of their first event under
any of their distinct ids, and they are active in a week when any of their ids is.

Without segments this reads ``user_first`` and ``user_periods`` (each id's hash mapped to its person's
when the project has merged persons); with segments, the events table. Both sides of the join are of
one project (a user id of another project is another person).

Filtered to a cohort (``cohort_filter``), the cohorts hold only its persons: the rollups keep the rows
of every id of a member person (a person is in a cohort whole, so mapping those ids to persons gives
exactly the members), the events their rows. A person's first week is still that of their first event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from eventlens.errors import InvalidParameter
from eventlens.identity import PERSON_HASHES, has_merges, person_of
from eventlens.reports.bounds import check_day
from eventlens.reports.cohort_filter import CohortFilter, with_cohort
from eventlens.reports.segments import Segment, with_segments
from eventlens.warehouse import Warehouse

MAX_WINDOWS = 52
MAX_COHORTS = 157  # three years of weeks

# Per cohort week and week offset: the users of that cohort active then. Fed by one of two sources.
_FROM_ROLLUPS = """
SELECT cohort, dateDiff('week', cohort, week) AS k, count() AS users
FROM (
    SELECT user, start AS week FROM user_periods FINAL
    WHERE project_id = {project:String} AND period = 'week'
        AND start BETWEEN {first:Date} AND {last_week:Date} AND {cohort_users}
) AS active
INNER JOIN (
    SELECT user, toMonday(min(first_day)) AS cohort FROM user_first
    WHERE project_id = {project:String} AND {cohort_users}
    GROUP BY user HAVING cohort BETWEEN {first:Date} AND {last:Date}
) AS cohorts USING user
WHERE week >= cohort AND k <= {windows:UInt8}
GROUP BY cohort, k
"""

# The same with each id's hash mapped to its person's (a project with merged persons).
_FROM_ROLLUPS_BY_PERSON = """
SELECT cohort, dateDiff('week', cohort, week) AS k, count() AS users
FROM (
    SELECT DISTINCT if(p.person = 0, a.user, p.person) AS person, a.start AS week
    FROM (
        SELECT user, start FROM user_periods FINAL
        WHERE project_id = {project:String} AND period = 'week'
            AND start BETWEEN {first:Date} AND {last_week:Date} AND {cohort_users}
    ) AS a
    LEFT ANY JOIN ({person_hashes}) AS p USING user
) AS active
INNER JOIN (
    SELECT if(p.person = 0, f.user, p.person) AS person, toMonday(min(f.first_day)) AS cohort
    FROM (
        SELECT user, first_day FROM user_first WHERE project_id = {project:String} AND {cohort_users}
    ) AS f
    LEFT ANY JOIN ({person_hashes}) AS p USING user
    GROUP BY person HAVING cohort BETWEEN {first:Date} AND {last:Date}
) AS cohorts USING person
WHERE week >= cohort AND k <= {windows:UInt8}
GROUP BY cohort, k
""".replace("{person_hashes}", PERSON_HASHES)

# Days over toDate(ts), the sort key's expression, so ClickHouse reads only their granules; {events} is
# `events` or a property value's rows in events_by_property (activity.py).
_FROM_EVENTS = """
SELECT cohort, dateDiff('week', cohort, week) AS k, uniqExact(person) AS users
FROM (
    SELECT DISTINCT {person} AS person, toMonday(day) AS week FROM {events}
    WHERE project_id = {project:String} AND toDate(ts) BETWEEN {first:Date} AND {last_week:Date} + 6
        AND {segments} AND {cohort}
) AS active
INNER JOIN (
    SELECT {person} AS person, toMonday(min(day)) AS cohort FROM {events}
    WHERE project_id = {project:String} AND {segments} AND {cohort}
    GROUP BY person HAVING cohort BETWEEN {first:Date} AND {last:Date}
) AS cohorts USING person
WHERE week >= cohort AND k <= {windows:UInt8}
GROUP BY cohort, k
""".replace("{person}", person_of())


def retention_cohorts(
    warehouse: Warehouse,
    project_id: str,
    start_date: date,
    windows: int,
    segments: list[Segment],
    end_date: date | None = None,
    cohort: CohortFilter | None = None,
) -> list[dict[str, Any]]:
    """One row per cohort week of ``project_id``'s users (``cohort``'s persons when given):
    ``{"cohort_week", "week_0": size, "week_1": %, …}`` (see the module doc)."""
    check_day("start_date", start_date)
    end_date = check_day("end_date", end_date) if end_date else datetime.now(UTC).date()
    if not 1 <= windows <= MAX_WINDOWS:
        raise InvalidParameter("windows", f"must be between 1 and {MAX_WINDOWS}, got {windows}")
    first = start_date + timedelta(days=(7 - start_date.weekday()) % 7)  # first Monday on or after
    last = end_date - timedelta(days=end_date.weekday())
    if first > last:
        raise InvalidParameter("start_date", f"no cohort week starts between {start_date} and {end_date}")
    cohorts = (last - first).days // 7 + 1
    if cohorts > MAX_COHORTS:
        raise InvalidParameter("start_date", f"at most {MAX_COHORTS} cohort weeks, got {cohorts}")
    params: dict[str, Any] = {
        "project": project_id,
        "first": first,
        "last": last,
        "last_week": last,
        "windows": windows,
    }
    if segments:
        sql, segment_params = with_segments(_FROM_EVENTS, segments, from_index=cohort is None)
        params.update(segment_params)
    else:
        sql = _FROM_ROLLUPS_BY_PERSON if has_merges(warehouse, project_id) else _FROM_ROLLUPS
    sql, cohort_params = with_cohort(sql, cohort)
    params.update(cohort_params)
    counts: dict[tuple[date, int], int] = {
        (row["cohort"], row["k"]): row["users"] for row in warehouse.query(sql, params).to_pylist()
    }
    rows = []
    for i in range(cohorts):
        week = first + timedelta(weeks=i)
        size = counts.get((week, 0), 0)
        if size == 0:
            continue
        row: dict[str, Any] = {"cohort_week": week.isoformat(), "week_0": size}
        for k in range(1, windows + 1):
            observable = week + timedelta(weeks=k) <= last
            row[f"week_{k}"] = round(100 * counts.get((week, k), 0) / size, 2) if observable else None
        rows.append(row)
    return rows
