"""Life Stream's report routes: a user's events, their statistics, and the memory summary, each of the
caller's project (a user id of another project is a user this one does not have)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from eventlens.api.access import ReaderParts, ReaderProject
from eventlens.api.errors import answers
from eventlens.api.parameters import ISO_8601, PERCENT_DECODED
from eventlens.errors import InvalidParameter
from eventlens.reports import lifestream

router = APIGatewayHttpRouter()

UserId = Annotated[str, PERCENT_DECODED, Path(min_length=1, max_length=256)]
Since = Annotated[
    datetime | None, ISO_8601, Query(alias="from", description="from this moment, ISO 8601 (UTC)")
]
Until = Annotated[datetime | None, ISO_8601, Query(alias="to", description="up to this moment, exclusive")]
_TYPE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _types(raw: str | None) -> list[str]:
    types = [part.strip() for part in (raw or "").split(",") if part.strip()]
    for name in types:
        if not _TYPE.match(name):
            raise InvalidParameter("type", f"{name!r} is not an event type ([A-Za-z0-9_.-], up to 64)")
    return types


@router.get("/api/v1/stream/events/<user_id>", responses=answers(503))
def get_stream_events(
    parts: ReaderParts,
    project: ReaderProject,
    user_id: UserId,
    start: Since = None,
    end: Until = None,
    event_type: Annotated[str | None, Query(alias="type", description="event types, comma-separated")] = None,
    limit: Annotated[int, Query(ge=1, le=lifestream.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=lifestream.MAX_OFFSET)] = 0,
) -> lifestream.StreamPage:
    """A user's Life Stream events, newest first, a page at a time."""
    return lifestream.stream_events(
        parts.warehouse, project, user_id, start, end, _types(event_type), limit, offset
    )


@router.get("/api/v1/stream/stats/<user_id>", responses=answers(503))
def get_stream_stats(
    parts: ReaderParts, project: ReaderProject, user_id: UserId, start: Since = None, end: Until = None
) -> lifestream.StreamStats:
    """How many events a user has, by type, with the first and last of each."""
    return lifestream.stream_stats(parts.warehouse, project, user_id, start, end)


@router.get("/api/v1/search/memory/<user_id>/summary", responses=answers(503))
def get_memory_summary(
    parts: ReaderParts,
    project: ReaderProject,
    user_id: UserId,
    period: Annotated[lifestream.SummaryPeriod | None, Query(description="day, week, month or year")] = None,
    start: Annotated[date | None, ISO_8601, Query(alias="from", description="first day (with to)")] = None,
    end: Annotated[
        date | None, ISO_8601, Query(alias="to", description="last day, inclusive (with from)")
    ] = None,
) -> lifestream.MemorySummary:
    """What happened in a period: places, purchases and spend, people, activity and health."""
    first, last = lifestream.summary_range(period, start, end)
    return lifestream.memory_summary(parts.warehouse, project, user_id, first, last)
