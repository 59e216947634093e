"""The Pattern Miner's two entry points: a scheduled run over every project's active users, and one
user's patterns. A project's users are mined from its own events into its own part of the graph."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from eventlens.errors import GraphError
from eventlens.mining.graph import GraphStore
from eventlens.mining.history import active_users, projects_with_events, user_history, user_meetings
from eventlens.mining.insights import reword_insights, write_insights
from eventlens.mining.patterns import UserPatterns, mine_patterns
from eventlens.rephrase import ChatModel
from eventlens.settings import Settings
from eventlens.warehouse import Warehouse

# How far back a user's history is mined: long enough for weekly routines to recur.
LOOKBACK_DAYS = 90


class MiningRequest(BaseModel):
    """What a run mines: in each project, the users active since ``since`` (default: the project's last
    run's start), or all of them."""

    model_config = ConfigDict(extra="ignore")  # the scheduler adds its own keys

    since: datetime | None = None
    all_users: bool = False


class ProjectMining(BaseModel):
    """What a run mined in one project."""

    project_id: str
    since: datetime | None
    users: int
    places: int
    routines: int
    habits: int
    meetings: int = 0


class MiningRun(BaseModel):
    """A run: the totals over its projects, and each project's part."""

    watermark: datetime
    users: int
    places: int
    routines: int
    habits: int
    meetings: int = 0
    projects: list[ProjectMining]


def mine_user(
    warehouse: Warehouse,
    project_id: str,
    user_id: str,
    settings: Settings,
    now: datetime,
    chat: ChatModel | None = None,
) -> UserPatterns:
    """A project's user's patterns over the last ``LOOKBACK_DAYS`` days, computed from the warehouse,
    with the insights written from them (reworded by ``chat`` where grounded)."""
    history = user_history(warehouse, project_id, user_id, now - timedelta(days=LOOKBACK_DAYS), now)
    patterns = mine_patterns(history, settings.pattern_miner_min_cluster_size, now)
    insights = write_insights(history, patterns.places, patterns.routines, patterns.habits)
    return patterns.model_copy(update={"insights": reword_insights(chat, insights)})


def mine_project(
    warehouse: Warehouse,
    graph: GraphStore,
    settings: Settings,
    project_id: str,
    request: MiningRequest,
    started: datetime,
    chat: ChatModel | None = None,
) -> ProjectMining:
    """Mine a project's Life Stream users active since its watermark into the graph, then move its
    watermark to ``started`` (a user with new events is mined again over the whole lookback). Whom
    each met goes into the graph too: their whole history on a project's first run (or ``all_users``),
    the lookback's after (a meeting is kept once, however often it is seen)."""
    since = None if request.all_users else (request.since or graph.watermark(project_id))
    met_since = None if since is None else started - timedelta(days=LOOKBACK_DAYS)
    totals = {"users": 0, "places": 0, "routines": 0, "habits": 0, "meetings": 0}
    for user_id in active_users(warehouse, project_id, since):
        patterns = mine_user(warehouse, project_id, user_id, settings, started, chat)
        graph.save_patterns(project_id, patterns)
        meetings = user_meetings(warehouse, project_id, user_id, met_since, started)
        graph.save_meetings(project_id, user_id, meetings)
        totals["users"] += 1
        totals["places"] += len(patterns.places)
        totals["routines"] += len(patterns.routines)
        totals["habits"] += len(patterns.habits)
        totals["meetings"] += len(meetings)
    graph.set_watermark(project_id, started)
    return ProjectMining(project_id=project_id, since=since, **totals)


def mine_active_users(
    warehouse: Warehouse,
    graph: GraphStore | None,
    settings: Settings,
    request: MiningRequest,
    now: datetime | None = None,
    chat: ChatModel | None = None,
) -> MiningRun:
    """The scheduled run: every project with Life Stream events, one after the other, each from its
    own watermark (a project mined for the first time: all its users). ``chat``, the optional language
    model, rewords the insights where its wording is grounded."""
    if graph is None:
        raise GraphError("the habits graph is not configured (NEO4J_URI is not set)")
    started = now or datetime.now(UTC)
    projects = [
        mine_project(warehouse, graph, settings, project_id, request, started, chat)
        for project_id in projects_with_events(warehouse)
    ]
    return MiningRun(
        watermark=started,
        users=sum(p.users for p in projects),
        places=sum(p.places for p in projects),
        routines=sum(p.routines for p in projects),
        habits=sum(p.habits for p in projects),
        meetings=sum(p.meetings for p in projects),
        projects=projects,
    )


def user_patterns(
    warehouse: Warehouse, graph: GraphStore | None, project_id: str, user_id: str, settings: Settings
) -> UserPatterns:
    """A project's user's patterns: as kept in the habits graph, or, with no graph configured, mined now.
    A user the project does not hold has none, whether another project holds that user id or not."""
    if graph is not None:
        return graph.patterns(project_id, user_id)
    return mine_user(warehouse, project_id, user_id, settings, datetime.now(UTC))
