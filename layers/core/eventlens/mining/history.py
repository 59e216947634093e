"""What the miner reads from the warehouse: which projects have Life Stream events, who in a project was
active, one user's Life Stream history and whom they met. Every read but the first names one project."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eventlens.warehouse import Warehouse

# The daily rollup is a few rows per project and day: the projects are found without reading events.
_PROJECTS = """
SELECT project_id FROM daily_rollup
WHERE source = 'lifestream'
GROUP BY project_id
HAVING sum(events) > 0
ORDER BY project_id
"""

# Reads user_events (ordered by project, user and time): one user's history is a few granules.
_ACTIVE_USERS = """
SELECT DISTINCT user_id FROM user_events
WHERE project_id = {project:String} AND source = 'lifestream' AND ts >= {since:DateTime64(3, 'UTC')}
ORDER BY user_id
"""

_ALL_USERS = """
SELECT DISTINCT user_id FROM user_events
WHERE project_id = {project:String} AND source = 'lifestream'
ORDER BY user_id
"""

_HISTORY = """
SELECT
    ts,
    event_type,
    JSONExtract(properties, 'lat', 'Nullable(Float64)') AS lat,
    JSONExtract(properties, 'lon', 'Nullable(Float64)') AS lon,
    multiIf(event_type = 'purchase', JSONExtractString(properties, 'item'),
            event_type = 'activity', JSONExtractString(properties, 'activity'), '') AS name
FROM user_events
WHERE project_id = {project:String} AND user_id = {user_id:String} AND source = 'lifestream'
  AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
ORDER BY ts
"""


# 000's social events: {"action": "meet", "person_id": …}, with the person's name when the client
# sends one (person_name, else name).
_MEETINGS = """
SELECT
    toString(event_id) AS event_id,
    ts,
    JSONExtractString(properties, 'person_id') AS person_id,
    if(JSONHas(properties, 'person_name'), JSONExtractString(properties, 'person_name'),
       JSONExtractString(properties, 'name')) AS name
FROM user_events
WHERE project_id = {project:String} AND user_id = {user_id:String} AND source = 'lifestream'
  AND event_type = 'social' AND JSONExtractString(properties, 'action') = 'meet' AND person_id != ''
  AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
ORDER BY ts, event_id
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class GeoPoint:
    ts: datetime
    lat: float
    lon: float


@dataclass(frozen=True)
class Occurrence:
    """One purchase (of ``name``, the item) or activity (``name``, the activity)."""

    ts: datetime
    kind: str
    name: str


@dataclass(frozen=True)
class Meeting:
    """One ``social`` event with ``action: "meet"``: whom (``person_id``, ``name`` if sent), when."""

    event_id: str
    at: datetime
    person_id: str
    name: str | None


@dataclass(frozen=True)
class History:
    user_id: str
    points: list[GeoPoint]
    occurrences: list[Occurrence]
    active_days: int  # days with any Life Stream event


def projects_with_events(warehouse: Warehouse) -> list[str]:
    """The projects that hold Life Stream events, in order."""
    table = warehouse.query(_PROJECTS)
    return [str(project) for project in table.column("project_id").to_pylist()] if table.num_rows else []


def active_users(warehouse: Warehouse, project_id: str, since: datetime | None) -> list[str]:
    """A project's Life Stream users with an event at or after ``since`` (all of them when None)."""
    if since:
        table = warehouse.query(_ACTIVE_USERS, {"project": project_id, "since": since})
    else:
        table = warehouse.query(_ALL_USERS, {"project": project_id})
    return [str(user) for user in table.column("user_id").to_pylist()] if table.num_rows else []


def user_history(
    warehouse: Warehouse, project_id: str, user_id: str, start: datetime, end: datetime
) -> History:
    """A project's user's geo points, purchases and activities in [start, end)."""
    params = {"project": project_id, "user_id": user_id, "start": start, "end": end}
    table = warehouse.query(_HISTORY, params)
    points: list[GeoPoint] = []
    occurrences: list[Occurrence] = []
    days: set[object] = set()
    for row in table.to_pylist() if table.num_rows else []:
        ts: datetime = row["ts"]
        days.add(ts.date())
        if row["event_type"] == "geo" and row["lat"] is not None and row["lon"] is not None:
            points.append(GeoPoint(ts, float(row["lat"]), float(row["lon"])))
        elif row["event_type"] in ("purchase", "activity") and row["name"]:
            occurrences.append(Occurrence(ts, row["event_type"], row["name"]))
    return History(user_id, points, occurrences, len(days))


def user_meetings(
    warehouse: Warehouse, project_id: str, user_id: str, start: datetime | None, end: datetime
) -> list[Meeting]:
    """A project's user's meetings in [start, end) (from their first event when ``start`` is None)."""
    params = {"project": project_id, "user_id": user_id, "start": start or _EPOCH, "end": end}
    table = warehouse.query(_MEETINGS, params)
    return [
        Meeting(row["event_id"], row["ts"], row["person_id"], row["name"] or None)
        for row in (table.to_pylist() if table.num_rows else [])
    ]
