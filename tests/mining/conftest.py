"""A real Neo4j for the Pattern Miner's tests, and a Life Stream user with planted patterns.

The planted user lives eight weeks by a timetable (home at night, work on weekday days, the gym on
Tuesday and Thursday evenings, a latte on weekday mornings, a run on Monday, Wednesday and Friday
mornings) and, around it, noise: geo points scattered over the city and one-off purchases at
random hours. The tests assert the timetable comes out, and nothing of the noise.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from eventlens.mining.graph import Neo4jGraphStore
from eventlens.warehouse import Warehouse
from tests.conftest import session_server

HOME = (50.4501, 30.5234)
WORK = (50.4650, 30.4950)
GYM = (50.4300, 30.5600)
WEEKS = 8


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    """The real Neo4j: the one scripts/test.sh started, or one started here for this session."""
    with session_server("neo4j", os.environ.get("EVENTLENS_TEST_NEO4J"), "bolt://127.0.0.1:{port}") as uri:
        yield uri


@pytest.fixture
def graph(neo4j_uri: str) -> Iterator[Neo4jGraphStore]:
    store = Neo4jGraphStore(neo4j_uri)
    try:
        yield store
    finally:
        store.close()


@dataclass(frozen=True)
class PlantedUser:
    user_id: str
    now: datetime


def _at(day: datetime, hour: int, rng: random.Random) -> datetime:
    return day + timedelta(hours=hour, minutes=rng.randint(-12, 12))


def _near(place: tuple[float, float], rng: random.Random, shift: float) -> dict[str, float]:
    # GPS jitter of ~20 m around the place.
    return {"lat": place[0] + shift + rng.gauss(0, 0.0002), "lon": place[1] + rng.gauss(0, 0.0002)}


def planted_events(user_id: str, now: datetime, seed: int = 7, shift: float = 0.0) -> list[dict[str, Any]]:
    """Eight weeks of one user's Life Stream, ending yesterday: the timetable plus noise; ``shift``
    moves every place that many degrees of latitude north (another city, the same timetable)."""
    rng = random.Random(seed)
    events: list[tuple[datetime, str, dict[str, Any]]] = []
    first = (now - timedelta(days=WEEKS * 7)).replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in range(WEEKS * 7):
        day = first + timedelta(days=offset)
        weekday = day.weekday()
        events.append((_at(day, 22, rng), "geo", _near(HOME, rng, shift)))
        events.append((_at(day, 6, rng), "geo", _near(HOME, rng, shift)))
        if weekday < 5:
            events.append((_at(day, 9, rng), "geo", _near(WORK, rng, shift)))
            events.append((_at(day, 14, rng), "geo", _near(WORK, rng, shift)))
            events.append((_at(day, 9, rng), "purchase", {"item": "Latte", "amount": 4.5}))
        if weekday in (1, 3):
            events.append((_at(day, 19, rng), "geo", _near(GYM, rng, shift)))
        if weekday in (0, 2, 4):
            events.append((_at(day, 7, rng), "activity", {"activity": "running", "duration_minutes": 30}))
        # Noise: a point anywhere within ~10 km, and now and then a one-off purchase.
        noise = {"lat": HOME[0] + rng.uniform(-0.09, 0.09), "lon": HOME[1] + rng.uniform(-0.14, 0.14)}
        events.append((day + timedelta(minutes=rng.randint(0, 24 * 60 - 1)), "geo", noise))
        if offset % 5 == 0:
            item = {"item": f"Souvenir {offset}", "amount": 12.0}
            events.append((day + timedelta(minutes=rng.randint(0, 24 * 60 - 1)), "purchase", item))
    return [
        {"event_id": str(uuid.uuid4()), "user_id": user_id, "type": kind, "ts": ts, "properties": props}
        for ts, kind, props in events
    ]


def store_events(warehouse: Warehouse, events: list[dict[str, Any]], project_id: str = "default") -> None:
    """Store a project's events as consume does (one INSERT, so the user_events view sees them)."""
    now = datetime.now(UTC)
    table = pa.table(
        {
            "project_id": [project_id] * len(events),
            "event_id": [e["event_id"] for e in events],
            "user_id": [e["user_id"] for e in events],
            "event_type": [e["type"] for e in events],
            "ts": pa.array([e["ts"] for e in events], pa.timestamp("ms", tz="UTC")),
            "source": ["lifestream"] * len(events),
            "properties": [json.dumps(e["properties"]) for e in events],
            "received_at": pa.array([now] * len(events), pa.timestamp("ms", tz="UTC")),
        }
    )
    warehouse.insert_arrow("events", table)


def plant_user(
    warehouse: Warehouse,
    now: datetime | None = None,
    project_id: str = "default",
    user_id: str | None = None,
    shift: float = 0.0,
) -> PlantedUser:
    """A planted user in a project (a fresh user id unless one is given: the same id may be planted in
    two projects)."""
    user = PlantedUser(user_id=user_id or f"planted-{uuid.uuid4().hex[:10]}", now=now or datetime.now(UTC))
    store_events(warehouse, planted_events(user.user_id, user.now, shift=shift), project_id)
    return user
