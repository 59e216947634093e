"""The habits graph: where mined patterns are kept, behind one small interface.

(:Person {project_id, user_id})-[:VISITED {visits}]->(:Location {name, lat, lon}),
(:Person)-[:HAS_HABIT]->(:Habit {name, confidence, discovered_at}),
(:Person)-[:HAS_ROUTINE]->(:Routine {name, place, weekdays, hour, weeks}) and
(:Person)-[:HAS_INSIGHT]->(:Insight {kind, text, confidence, generated_by}). Locations, habits,
routines and insights belong to one person (their ``key`` starts with the user id), so saving a user's
patterns again updates them in place and removes the ones no longer found: the graph holds the latest
mining.

Whom a person met (Life Stream's ``social`` events with ``action: "meet"``) is
(:Person)-[:MET {event_id, at}]->(:Person {user_id: <the event's person_id>, name}): one relationship
per event (merged on its id, so mining again adds none), kept as long as the person is.

Projects: Neo4j Community has one database, so the tenant is a property. Every node and every
relationship carries ``project_id``, the uniqueness constraints include it (two projects may hold the
same user id), and every statement matches it as a bound parameter: a statement never reaches
another project's nodes. The miner's watermark is per project too. A graph written before projects
is moved to the ``default`` project once, by ``_ensure_schema``, the first time a store uses it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from eventlens.errors import GraphError
from eventlens.mining.history import Meeting
from eventlens.mining.patterns import Habit, Insight, Place, Routine, UserPatterns

MINER = "pattern_miner"
# Where the nodes and relationships of a graph written before projects go (as the warehouse's rows).
DEFAULT_PROJECT = "default"
_MEETINGS_PER_STATEMENT = 5_000

# (name, label, the property unique within a project); generated from our own constants only.
_UNIQUE = (
    ("person_project_user_id", "Person", "user_id"),
    ("location_project_key", "Location", "key"),
    ("habit_project_key", "Habit", "key"),
    ("routine_project_key", "Routine", "key"),
    ("insight_project_key", "Insight", "key"),
    ("miner_project_name", "MinerState", "name"),
)
_CONSTRAINTS = tuple(
    f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE (n.project_id, n.{key}) IS UNIQUE"
    for name, label, key in _UNIQUE
)
# The constraints of the graph before projects: unique user ids and keys across the whole graph.
_OLD_CONSTRAINTS = ("person_user_id", "location_key", "habit_key", "routine_key", "miner_name")
_FIND_OLD_CONSTRAINTS = "SHOW CONSTRAINTS YIELD name WHERE name IN $names RETURN name"
_DROP_OLD_CONSTRAINT = {name: f"DROP CONSTRAINT {name} IF EXISTS" for name in _OLD_CONSTRAINTS}
# The move to the default project, in batches (an auto-commit transaction each: a large graph does
# not have to fit in one transaction's memory). Only what has no project yet is touched.
_OLD_NODES_TO_DEFAULT = """
MATCH (n) WHERE (n:Person OR n:Location OR n:Habit OR n:Routine OR n:MinerState) AND n.project_id IS NULL
CALL (n) { SET n.project_id = $project_id } IN TRANSACTIONS OF 10000 ROWS
"""
_OLD_RELATIONSHIPS_TO_DEFAULT = """
MATCH ()-[r:VISITED|HAS_HABIT|HAS_ROUTINE]->() WHERE r.project_id IS NULL
CALL (r) { SET r.project_id = $project_id } IN TRANSACTIONS OF 10000 ROWS
"""

_PERSON = (
    "MERGE (p:Person {project_id: $project_id, user_id: $user_id}) SET p.patterns_mined_at = $discovered_at"
)

_PLACES = """
MATCH (p:Person {project_id: $project_id, user_id: $user_id})
UNWIND $places AS place
MERGE (l:Location {project_id: $project_id, key: $user_id + ':' + place.key})
SET l.name = place.name, l.lat = place.lat, l.lon = place.lon
MERGE (p)-[v:VISITED]->(l)
SET v.visits = place.visits, v.project_id = $project_id
"""

_HABITS = """
MATCH (p:Person {project_id: $project_id, user_id: $user_id})
UNWIND $habits AS habit
MERGE (h:Habit {project_id: $project_id, key: $user_id + ':' + habit.key})
SET h.name = habit.name, h.kind = habit.kind, h.item = habit.item, h.hour = habit.hour,
    h.days = habit.days, h.confidence = habit.confidence, h.discovered_at = $discovered_at
MERGE (p)-[r:HAS_HABIT]->(h)
SET r.project_id = $project_id
"""

_ROUTINES = """
MATCH (p:Person {project_id: $project_id, user_id: $user_id})
UNWIND $routines AS routine
MERGE (r:Routine {project_id: $project_id, key: $user_id + ':' + routine.key})
SET r.name = routine.name, r.place = routine.place, r.weekdays = routine.weekdays,
    r.hour = routine.hour, r.weeks = routine.weeks, r.discovered_at = $discovered_at
MERGE (p)-[h:HAS_ROUTINE]->(r)
SET h.project_id = $project_id
"""

_INSIGHTS = """
MATCH (p:Person {project_id: $project_id, user_id: $user_id})
UNWIND $insights AS insight
MERGE (i:Insight {project_id: $project_id, key: $user_id + ':' + insight.key})
SET i.kind = insight.kind, i.text = insight.text, i.confidence = insight.confidence,
    i.generated_by = insight.generated_by, i.position = insight.position, i.discovered_at = $discovered_at
MERGE (p)-[h:HAS_INSIGHT]->(i)
SET h.project_id = $project_id
"""

# A user's meetings: one MET per event, the person met a Person of the project (their name kept when an
# event gave one).
_MEETINGS = """
MERGE (p:Person {project_id: $project_id, user_id: $user_id})
WITH p
UNWIND $meetings AS meeting
MERGE (q:Person {project_id: $project_id, user_id: meeting.person_id})
SET q.name = coalesce(meeting.name, q.name)
MERGE (p)-[m:MET {project_id: $project_id, event_id: meeting.event_id}]->(q)
SET m.at = meeting.at
"""

# Patterns a new mining no longer finds. The label cannot be a parameter, hence three statements.
_STALE = {
    "places": "MATCH (:Person {project_id: $project_id, user_id: $user_id})-[:VISITED]->(n:Location) "
    "WHERE n.project_id = $project_id AND NOT n.key IN $keys DETACH DELETE n",
    "habits": "MATCH (:Person {project_id: $project_id, user_id: $user_id})-[:HAS_HABIT]->(n:Habit) "
    "WHERE n.project_id = $project_id AND NOT n.key IN $keys DETACH DELETE n",
    "routines": "MATCH (:Person {project_id: $project_id, user_id: $user_id})-[:HAS_ROUTINE]->(n:Routine) "
    "WHERE n.project_id = $project_id AND NOT n.key IN $keys DETACH DELETE n",
    "insights": "MATCH (:Person {project_id: $project_id, user_id: $user_id})-[:HAS_INSIGHT]->(n:Insight) "
    "WHERE n.project_id = $project_id AND NOT n.key IN $keys DETACH DELETE n",
}

_READ_PERSON = """
MATCH (p:Person {project_id: $project_id, user_id: $user_id})
RETURN p.patterns_mined_at AS discovered_at
"""
_READ_PLACES = """
MATCH (:Person {project_id: $project_id, user_id: $user_id})-[v:VISITED]->(l:Location)
WHERE l.project_id = $project_id
RETURN l.key AS key, l.name AS name, l.lat AS lat, l.lon AS lon, v.visits AS visits
ORDER BY visits DESC, name
"""
_READ_HABITS = """
MATCH (:Person {project_id: $project_id, user_id: $user_id})-[:HAS_HABIT]->(h:Habit)
WHERE h.project_id = $project_id
RETURN h.key AS key, h.name AS name, h.kind AS kind, h.item AS item, h.hour AS hour, h.days AS days,
       h.confidence AS confidence
ORDER BY confidence DESC, name
"""
_READ_ROUTINES = """
MATCH (:Person {project_id: $project_id, user_id: $user_id})-[:HAS_ROUTINE]->(r:Routine)
WHERE r.project_id = $project_id
RETURN r.key AS key, r.name AS name, r.place AS place, r.weekdays AS weekdays, r.hour AS hour,
       r.weeks AS weeks
ORDER BY hour, name
"""

_READ_INSIGHTS = """
MATCH (:Person {project_id: $project_id, user_id: $user_id})-[:HAS_INSIGHT]->(i:Insight)
WHERE i.project_id = $project_id
RETURN i.key AS key, i.kind AS kind, i.text AS text, i.confidence AS confidence,
       i.generated_by AS generated_by
ORDER BY i.position, key
"""

_READ_MEETINGS = """
MATCH (:Person {project_id: $project_id, user_id: $user_id})-[m:MET]->(q:Person)
WHERE m.project_id = $project_id AND q.project_id = $project_id AND m.at >= $start AND m.at < $end
RETURN m.event_id AS event_id, m.at AS at, q.user_id AS person_id, q.name AS name
ORDER BY at, event_id
"""

_READ_WATERMARK = (
    "MATCH (m:MinerState {project_id: $project_id, name: $name}) RETURN m.watermark AS watermark"
)
_WRITE_WATERMARK = "MERGE (m:MinerState {project_id: $project_id, name: $name}) SET m.watermark = $watermark"

# Erasure: the person and every node they own (their locations, habits and routines are theirs
# alone: keys start with their user id), with every relationship of them; then the persons they met
# that are left with nothing (no relationship, never mined): known only from the erased one's events.
_ERASE_PERSON = """
MATCH (p:Person {project_id: $project_id, user_id: $user_id})
OPTIONAL MATCH (p)-[:VISITED|HAS_HABIT|HAS_ROUTINE|HAS_INSIGHT]->(n {project_id: $project_id})
WITH p, collect(DISTINCT n) AS owned
OPTIONAL MATCH (p)-[:MET]->(c:Person {project_id: $project_id}) WHERE c <> p
WITH p, owned, collect(DISTINCT c) AS met
FOREACH (n IN owned | DETACH DELETE n)
DETACH DELETE p
WITH met
UNWIND met AS c
WITH c WHERE c.patterns_mined_at IS NULL AND NOT EXISTS { (c)--() }
DELETE c
"""


class GraphStore(Protocol):
    """The habits graph; every call names the project it reads or writes, and touches no other."""

    def save_patterns(self, project_id: str, patterns: UserPatterns) -> None:
        """Keep a user's latest patterns (updating, never duplicating, what an earlier run kept)."""

    def patterns(self, project_id: str, user_id: str) -> UserPatterns:
        """A user's kept patterns (empty lists when the user was never mined)."""

    def places(self, project_id: str, user_id: str) -> list[Place]:
        """A user's kept places, most visited first (the places of ``patterns``, read alone)."""

    def save_meetings(self, project_id: str, user_id: str, meetings: list[Meeting]) -> None:
        """Keep whom a user met (each meeting once, however often it is saved)."""

    def meetings(self, project_id: str, user_id: str, start: datetime, end: datetime) -> list[Meeting]:
        """Whom a user met in [start, end), in time order."""

    def watermark(self, project_id: str) -> datetime | None:
        """The moment the project's last mining run started, None before the first."""

    def set_watermark(self, project_id: str, moment: datetime) -> None: ...

    def erase_person(self, project_id: str, user_id: str) -> dict[str, int]:
        """Remove a person and everything mined of them; the nodes and relationships removed."""

    def ping(self) -> bool:
        """True when the graph answers."""

    def close(self) -> None: ...


def erase_person_from_graph(graph: GraphStore | None, project_id: str, user_id: str) -> dict[str, int]:
    """Erase a person of a project from the habits graph: their ``Person`` node, the locations, habits
    and routines mined of them, and every relationship of these. Returns how many nodes
    (``graph_nodes``) and relationships (``graph_relationships``) were removed: both 0 for a person
    the project's graph does not hold, or when no graph is configured."""
    if graph is None:
        return {"graph_nodes": 0, "graph_relationships": 0}
    return graph.erase_person(project_id, user_id)


class Neo4jGraphStore:
    """The habits graph in Neo4j, through the official driver (Bolt); statements take parameters only."""

    def __init__(self, uri: str, user: str = "neo4j", password: str | None = None) -> None:
        import neo4j  # only the functions that use the graph load the driver

        self._errors: tuple[type[Exception], ...] = (
            neo4j.exceptions.Neo4jError,
            neo4j.exceptions.DriverError,
        )
        auth = (user, password) if password else None
        try:
            self._driver = neo4j.GraphDatabase.driver(uri, auth=auth)
        except (*self._errors, ValueError) as exc:
            raise GraphError(f"cannot use Neo4j at {uri}: {exc}") from exc
        self._uri = uri
        self._schema_ready = False

    def save_patterns(self, project_id: str, patterns: UserPatterns) -> None:
        self._ensure_schema()
        params: dict[str, Any] = {
            "project_id": project_id,
            "user_id": patterns.user_id,
            "discovered_at": patterns.discovered_at,
        }
        lists = {
            "places": [place.model_dump() for place in patterns.places],
            "habits": [habit.model_dump() for habit in patterns.habits],
            "routines": [routine.model_dump() for routine in patterns.routines],
            # kept in the order they were written (habits, routines, places)
            "insights": [
                {**insight.model_dump(), "position": i} for i, insight in enumerate(patterns.insights)
            ],
        }
        statements = (
            ("places", _PLACES),
            ("habits", _HABITS),
            ("routines", _ROUTINES),
            ("insights", _INSIGHTS),
        )

        def write(tx: Any) -> None:
            tx.run(_PERSON, params).consume()
            for name, statement in statements:
                tx.run(statement, {**params, name: lists[name]}).consume()
                keys = [f"{patterns.user_id}:{row['key']}" for row in lists[name]]
                tx.run(
                    _STALE[name], {"project_id": project_id, "user_id": patterns.user_id, "keys": keys}
                ).consume()

        self._write(write)

    def patterns(self, project_id: str, user_id: str) -> UserPatterns:
        self._ensure_schema()
        params = {"project_id": project_id, "user_id": user_id}
        person = self._read(_READ_PERSON, params)
        prefix = len(user_id) + 1  # keys are stored as "<user_id>:<key>"

        def unkeyed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{**row, "key": row["key"][prefix:]} for row in rows]

        discovered = person[0]["discovered_at"] if person else None
        return UserPatterns(
            user_id=user_id,
            source="graph",
            discovered_at=discovered.to_native() if discovered is not None else None,
            places=[Place(**row) for row in unkeyed(self._read(_READ_PLACES, params))],
            routines=[Routine(**row) for row in unkeyed(self._read(_READ_ROUTINES, params))],
            habits=[Habit(**row) for row in unkeyed(self._read(_READ_HABITS, params))],
            insights=[Insight(**row) for row in unkeyed(self._read(_READ_INSIGHTS, params))],
        )

    def places(self, project_id: str, user_id: str) -> list[Place]:
        self._ensure_schema()
        prefix = len(user_id) + 1
        rows = self._read(_READ_PLACES, {"project_id": project_id, "user_id": user_id})
        return [Place(**{**row, "key": row["key"][prefix:]}) for row in rows]

    def save_meetings(self, project_id: str, user_id: str, meetings: list[Meeting]) -> None:
        self._ensure_schema()
        rows = [
            {"event_id": m.event_id, "at": m.at, "person_id": m.person_id, "name": m.name} for m in meetings
        ]
        params = {"project_id": project_id, "user_id": user_id}
        for first in range(0, len(rows), _MEETINGS_PER_STATEMENT):
            batch = {**params, "meetings": rows[first : first + _MEETINGS_PER_STATEMENT]}
            self._write(lambda tx, batch=batch: tx.run(_MEETINGS, batch).consume())

    def meetings(self, project_id: str, user_id: str, start: datetime, end: datetime) -> list[Meeting]:
        self._ensure_schema()
        params = {"project_id": project_id, "user_id": user_id, "start": start, "end": end}
        return [
            Meeting(row["event_id"], row["at"].to_native(), row["person_id"], row["name"])
            for row in self._read(_READ_MEETINGS, params)
        ]

    def watermark(self, project_id: str) -> datetime | None:
        self._ensure_schema()
        rows = self._read(_READ_WATERMARK, {"project_id": project_id, "name": MINER})
        moment = rows[0]["watermark"] if rows else None
        return moment.to_native() if moment is not None else None

    def set_watermark(self, project_id: str, moment: datetime) -> None:
        self._ensure_schema()
        params = {"project_id": project_id, "name": MINER, "watermark": moment}
        self._write(lambda tx: tx.run(_WRITE_WATERMARK, params).consume())

    def erase_person(self, project_id: str, user_id: str) -> dict[str, int]:
        self._ensure_schema()
        removed: dict[str, int] = {}

        def erase(tx: Any) -> None:
            counters = (
                tx.run(_ERASE_PERSON, {"project_id": project_id, "user_id": user_id}).consume().counters
            )
            removed.update(
                graph_nodes=counters.nodes_deleted, graph_relationships=counters.relationships_deleted
            )

        self._write(erase)
        return removed

    def ping(self) -> bool:
        try:
            self._driver.verify_connectivity()
        except self._errors as exc:
            raise GraphError(f"Neo4j at {self._uri}: {exc}") from exc
        return True

    def close(self) -> None:
        self._driver.close()

    def _ensure_schema(self) -> None:
        """The constraints, once per store; a graph from before projects is moved to the default
        project first (its old constraints, unique across projects, are what gives it away)."""
        if self._schema_ready:
            return
        old = [row["name"] for row in self._read(_FIND_OLD_CONSTRAINTS, {"names": list(_OLD_CONSTRAINTS)})]
        if old:
            for statement in (_OLD_NODES_TO_DEFAULT, _OLD_RELATIONSHIPS_TO_DEFAULT):
                self._run_batched(statement, {"project_id": DEFAULT_PROJECT})
            for name in old:
                self._write(lambda tx, name=name: tx.run(_DROP_OLD_CONSTRAINT[name]).consume())
        for statement in _CONSTRAINTS:
            self._write(lambda tx, statement=statement: tx.run(statement).consume())
        self._schema_ready = True

    def _run_batched(self, statement: str, params: dict[str, Any]) -> None:
        """A ``CALL { … } IN TRANSACTIONS`` statement: it must run in an auto-commit transaction."""
        try:
            with self._driver.session() as session:
                session.run(statement, params).consume()
        except self._errors as exc:
            raise GraphError(f"Neo4j at {self._uri}: {exc}") from exc

    def _write(self, work: Any) -> None:
        try:
            with self._driver.session() as session:
                session.execute_write(work)
        except self._errors as exc:
            raise GraphError(f"Neo4j at {self._uri}: {exc}") from exc

    def _read(self, statement: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            records, _, _ = self._driver.execute_query(statement, params, routing_="r")
        except self._errors as exc:
            raise GraphError(f"Neo4j at {self._uri}: {exc}") from exc
        return [record.data() for record in records]
