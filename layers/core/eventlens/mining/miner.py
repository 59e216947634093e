"""The Pattern Miner's two entry points: a scheduled run over active users, and one user's patterns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from eventlens.errors import GraphError
from eventlens.mining.graph import GraphStore
from eventlens.mining.history import active_users, user_history
from eventlens.mining.patterns import UserPatterns, mine_patterns
from eventlens.settings import Settings
from eventlens.warehouse import Warehouse

# How far back a user's history is mined: long enough for weekly routines to recur.
LOOKBACK_DAYS = 90


class MiningRequest(BaseModel):
    """What a run mines: users active since ``since`` (default: the last run's start), or all."""

    model_config = ConfigDict(extra="ignore")  # the scheduler adds its own keys

    since: datetime | None = None
    all_users: bool = False


class MiningRun(BaseModel):
    since: datetime | None
    watermark: datetime
    users: int
    places: int
    routines: int
    habits: int


def mine_user(warehouse: Warehouse, user_id: str, settings: Settings, now: datetime) -> UserPatterns:
    """One user's patterns over the last ``LOOKBACK_DAYS`` days, computed from the warehouse."""
    history = user_history(warehouse, user_id, now - timedelta(days=LOOKBACK_DAYS), now)
    return mine_patterns(history, settings.pattern_miner_min_cluster_size, now)


def mine_active_users(
    warehouse: Warehouse,
    graph: GraphStore | None,
    settings: Settings,
    request: MiningRequest,
    now: datetime | None = None,
) -> MiningRun:
    """Mine every Life Stream user active since the watermark into the graph, then move the watermark
    to this run's start (a user with new events is mined again over the whole lookback)."""
    if graph is None:
        raise GraphError("the habits graph is not configured (NEO4J_URI is not set)")
    started = now or datetime.now(UTC)
    since = None if request.all_users else (request.since or graph.watermark())
    totals = {"users": 0, "places": 0, "routines": 0, "habits": 0}
    for user_id in active_users(warehouse, since):
        patterns = mine_user(warehouse, user_id, settings, started)
        graph.save_patterns(patterns)
        totals["users"] += 1
        totals["places"] += len(patterns.places)
        totals["routines"] += len(patterns.routines)
        totals["habits"] += len(patterns.habits)
    graph.set_watermark(started)
    return MiningRun(since=since, watermark=started, **totals)


def user_patterns(
    warehouse: Warehouse, graph: GraphStore | None, user_id: str, settings: Settings
) -> UserPatterns:
    """A user's patterns: as kept in the habits graph, or, with no graph configured, mined now."""
    if graph is not None:
        return graph.patterns(user_id)
    return mine_user(warehouse, user_id, settings, datetime.now(UTC))
