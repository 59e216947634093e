"""The events a project received last, and how many a second it is receiving: the console's live view.

"Received" is ``received_at``, the moment ingest took the event (its ``ts`` may be any time before),
so an import of last year's events shows here as it arrives. Only stored events are seen: an event
still in the queue arrives here when consume has stored it. Both queries read the project's
``received_at`` column (no sort key leads with it); a column scan is a few ms per million events.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from eventlens.warehouse import Warehouse

MAX_LIMIT = 100
RATE_WINDOW_S = 60

_LATEST = """
SELECT toString(event_id) AS event_id, user_id, event_type AS type, source, ts, received_at
FROM events
WHERE project_id = {project:String}
ORDER BY received_at DESC, event_id
LIMIT {limit:UInt32}
"""

_RECEIVED_SINCE = """
SELECT count() AS n
FROM events
WHERE project_id = {project:String} AND received_at >= {since:DateTime64(3, 'UTC')}
"""


class Arrival(BaseModel):
    event_id: str
    user_id: str
    type: str
    source: str
    ts: datetime
    received_at: datetime


class Arrivals(BaseModel):
    events: list[Arrival] = Field(description="The last events received, the latest first")
    received_last_minute: int = Field(description="Events received (and stored) in the last 60 s")
    events_per_second: float = Field(description="received_last_minute / 60")
    as_of: datetime = Field(description="The moment the minute ends")


def latest_arrivals(warehouse: Warehouse, project: str, limit: int, now: datetime | None = None) -> Arrivals:
    """The project's ``limit`` most recently received events and its events per second over the
    last minute."""
    now = now or datetime.now(UTC)
    rows = warehouse.query(_LATEST, {"project": project, "limit": min(limit, MAX_LIMIT)}).to_pylist()
    since = now.timestamp() - RATE_WINDOW_S
    counted = warehouse.query(
        _RECEIVED_SINCE, {"project": project, "since": datetime.fromtimestamp(since, UTC)}
    ).to_pylist()
    received = int(counted[0]["n"]) if counted else 0
    return Arrivals(
        events=[Arrival(**_utc(row)) for row in rows],
        received_last_minute=received,
        events_per_second=round(received / RATE_WINDOW_S, 3),
        as_of=now,
    )


def _utc(row: dict) -> dict:
    """Arrow's timestamps carry UTC; chDB's may come naive (they are UTC)."""
    for name in ("ts", "received_at"):
        value = row[name]
        if isinstance(value, datetime) and value.tzinfo is None:
            row[name] = value.replace(tzinfo=UTC)
    return row
