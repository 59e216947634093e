"""Reports Backend (telemetry): one user's telemetry report, ``POST /report``.

It reads ``telemetry_events`` (one user's events by primary key) and the CRM ``users`` dimension, both
of the caller's project: a user of another project's CRM is a user this one does not have.
The bounds are inclusive at whole seconds, as the Reports Backend compared them with DateTime columns:
an end of ``23:59:59`` takes every event up to ``23:59:59.999``. Times without a zone are UTC. Averages
are rounded to two decimals; prosthesis types come in name order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from eventlens.errors import InvalidParameter, NotFound
from eventlens.warehouse import Warehouse

_USER = """
SELECT name, email FROM users FINAL
WHERE project_id = {project:String} AND user_id = {user_id:Int64}
LIMIT 1
"""
_BY_PROSTHESIS = """
SELECT prosthesis_type,
       count() AS events_count,
       sum(signal_duration) AS total_duration,
       avg(signal_amplitude) AS avg_amplitude,
       avg(signal_frequency) AS avg_frequency
FROM telemetry_events
WHERE project_id = {project:String} AND user_id = {user_id:String}
  AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
GROUP BY prosthesis_type
ORDER BY prosthesis_type
"""
# Beyond any stored event: the bounds when the request gives none.
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2299, 12, 31, tzinfo=UTC)


class TelemetryReportRequest(BaseModel):
    """The Reports Backend's request: a user and an optional period."""

    user_id: int
    start_ts: datetime | None = None
    end_ts: datetime | None = None


class ProsthesisStats(BaseModel):
    prosthesis_type: str
    events_count: int
    total_duration: int
    avg_amplitude: float
    avg_frequency: float


class TelemetryReport(BaseModel):
    user_name: str
    user_email: str
    total_events: int
    total_duration: int
    prosthesis_stats: list[ProsthesisStats]


def user_report(
    warehouse: Warehouse,
    project_id: str,
    user_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> TelemetryReport:
    """A user's telemetry in ``project_id`` between ``start`` and ``end`` (inclusive, whole seconds), by
    prosthesis type.

    Raises InvalidParameter when start is after end, NotFound when the project's CRM has no such user.
    """
    if start and end and _utc(start) > _utc(end):
        raise InvalidParameter("start_ts", "must not be after end_ts")
    user = warehouse.query(_USER, {"project": project_id, "user_id": user_id}).to_pylist()
    if not user:
        raise NotFound("user_id", f"user {user_id} not found")
    first = _utc(start).replace(microsecond=0) if start else _EARLIEST
    after = _utc(end).replace(microsecond=0) + timedelta(seconds=1) if end else _LATEST
    rows = warehouse.query(
        _BY_PROSTHESIS, {"project": project_id, "user_id": str(user_id), "start": first, "end": after}
    ).to_pylist()
    stats = [
        ProsthesisStats(
            prosthesis_type=row["prosthesis_type"],
            events_count=row["events_count"],
            total_duration=row["total_duration"],
            avg_amplitude=round(row["avg_amplitude"], 2),
            avg_frequency=round(row["avg_frequency"], 2),
        )
        for row in rows
    ]
    return TelemetryReport(
        user_name=user[0]["name"],
        user_email=user[0]["email"],
        total_events=sum(s.events_count for s in stats),
        total_duration=sum(s.total_duration for s in stats),
        prosthesis_stats=stats,
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
