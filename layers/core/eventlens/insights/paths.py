"""Paths: the most frequent next events after a start event (or previous events before an end event),
up to 10 steps deep, as weighted edges.

Each person of the scope contributes one path: ``next`` from their first start event (without one:
from their first event), the start and the ``depth`` events after it; ``previous`` up to their last end
event, it and the ``depth`` events before it. Events at the same moment go in event-type order (a
start event before another of its type at that moment). ``collapse_repeats`` makes a run of the same
event one step; ``include_events`` / ``exclude_events`` keep or drop event types before the path is
taken (so a dropped type neither counts as a step nor breaks one).

An edge is (step, event) → (step + 1, event) with the number of persons whose path has it. Steps
count from 1 (the start event) for ``next``, and up to 0 (the end event) for ``previous``, e.g. -2 → -1
→ 0. The ``edge_limit`` heaviest edges are answered (ties: earlier step, then event names).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from eventlens.insights.filters import EventMatcher, invalid, matcher_condition
from eventlens.insights.person_key import person
from eventlens.insights.query import InsightQuery, Understood, build_scope
from eventlens.warehouse import Warehouse

MAX_DEPTH = 10
MAX_EVENT_TYPES = 100

_PATHS = """
SELECT from_step, source, target, persons, walkers
FROM (
    SELECT from_step, source, target, persons, sumIf(persons, from_step = -100) OVER () AS walkers
    FROM (
        SELECT edge.1 AS from_step, edge.2 AS source, edge.3 AS target, count() AS persons
        FROM (
            SELECT arrayJoin(arrayConcat(
                       [(toInt32(-100), '', path[1])],
                       arrayMap(i -> (toInt32(i) - {offset}, path[i], path[i + 1]), range(1, length(path)))
                   )) AS edge
            FROM (
                SELECT {path} AS path
                FROM (
                    SELECT arraySort(x -> (x.1, x.2, x.3), groupArray((t, event_type, 1 - anchor))) AS evs,
                           arrayMap(x -> toString(x.2), evs) AS types,
                           arrayMap(x -> x.3 = 0, evs) AS anchors
                    FROM (
                        SELECT {person} AS who, toUnixTimestamp64Milli(ts) AS t, event_type,
                               toUInt8({anchor}) AS anchor
                        FROM events
                        WHERE {where}{types}{walkers}
                    )
                    GROUP BY who
                )
                WHERE length(path) > 0
            )
        )
        GROUP BY from_step, source, target
    )
)
WHERE from_step != -100
ORDER BY persons DESC, from_step, source, target
LIMIT {limit:UInt32}
"""
# Consecutive repeats of one event as one step.
_COLLAPSED = "arrayFilter((e, i) -> i = 1 OR e != {seq}[i - 1], {seq}, arrayEnumerate({seq}))"

EventType = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PathsQuery(InsightQuery):
    """``POST /api/v1/insights/paths``: ``start_event`` (next events) or ``end_event`` (previous ones)."""

    start_event: EventMatcher | None = Field(default=None, description="Paths from a person's first one")
    end_event: EventMatcher | None = Field(default=None, description="Paths to a person's last one")
    depth: int = Field(default=5, ge=1, le=MAX_DEPTH, description="Steps after the start (before the end)")
    include_events: list[EventType] | None = Field(default=None, min_length=1, max_length=MAX_EVENT_TYPES)
    exclude_events: list[EventType] = Field(default_factory=list, max_length=MAX_EVENT_TYPES)
    collapse_repeats: bool = False
    edge_limit: int = Field(default=50, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_direction(self) -> PathsQuery:
        if self.start_event is not None and self.end_event is not None:
            raise invalid("give start_event (next events) or end_event (previous events), not both")
        return self

    @property
    def direction(self) -> Literal["next", "previous"]:
        return "previous" if self.end_event is not None else "next"


class PathEdge(BaseModel):
    from_step: int
    from_event: str
    to_step: int
    to_event: str
    persons: int


class PathsAnswer(BaseModel):
    query: PathsQuery
    understood: Understood
    direction: Literal["next", "previous"]
    persons: int = Field(description="Persons with a path (who did the start / end event)")
    edges: list[PathEdge]


def paths(warehouse: Warehouse, project_id: str, query: PathsQuery) -> PathsAnswer:
    """The paths of ``query`` over ``project_id``'s events (see the module doc)."""
    scope = build_scope(warehouse, project_id, query)
    b = scope.bindings
    anchor = query.end_event or query.start_event
    types = ""
    if query.include_events is not None:
        types += f" AND event_type IN {b.bind(query.include_events, 'Array(String)')}"
    if query.exclude_events:
        types += f" AND event_type NOT IN {b.bind(query.exclude_events, 'Array(String)')}"
    depth = query.depth
    if query.direction == "next":
        index = "arrayFirstIndex(x -> x, anchors)" if anchor is not None else "least(length(types), 1)"
        walk = _collapse(f"arraySlice(types, {index})", query.collapse_repeats)
        path = f"if({index} = 0, emptyArrayString(), arraySlice({walk}, 1, {depth + 1}))"
        offset = "0"
    else:
        index = "arrayLastIndex(x -> x, anchors)"
        walk = _collapse(f"arraySlice(types, 1, {index})", query.collapse_repeats)
        path = f"if({index} = 0, emptyArrayString(), arraySlice({walk}, -{depth + 1}))"
        offset = "length(path)"
    anchor_sql = matcher_condition(anchor, b) if anchor is not None else "0"
    # Only the persons with a start (end) event have a path: their ids first, from that event's rows.
    only_walkers = (
        ""
        if anchor is None
        else f" AND {{person}} IN (SELECT {{person}} FROM events WHERE {{where}} AND {anchor_sql})"
    )
    sql = (
        _PATHS.replace("{path}", path)
        .replace("{offset}", offset)
        .replace("{walkers}", only_walkers)
        .replace("{anchor}", anchor_sql)
        .replace("{types}", types)
        .replace("{person}", person(b))
        .replace("{where}", scope.where)
    )
    rows = warehouse.query(sql, {**b.params, "limit": query.edge_limit}).to_pylist()
    walkers = int(rows[0]["walkers"]) if rows else _walkers(warehouse, sql, b.params)
    return PathsAnswer(
        query=query,
        understood=scope.understood,
        direction=query.direction,
        persons=walkers,
        edges=[
            PathEdge(
                from_step=int(row["from_step"]),
                from_event=row["source"],
                to_step=int(row["from_step"]) + 1,
                to_event=row["target"],
                persons=int(row["persons"]),
            )
            for row in rows
        ],
    )


def _collapse(sequence: str, collapse: bool) -> str:
    return _COLLAPSED.replace("{seq}", sequence) if collapse else sequence


def _walkers(warehouse: Warehouse, sql: str, params: dict[str, object]) -> int:
    """The persons with a path when no path has an edge (each is its start event alone)."""
    counted = sql.replace("WHERE from_step != -100", "WHERE from_step = -100")
    rows = warehouse.query(counted, {**params, "limit": 1}).to_pylist()
    return int(rows[0]["walkers"]) if rows else 0
