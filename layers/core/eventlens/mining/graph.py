"""The habits graph: where mined patterns are kept, behind one small interface.

(:Person {user_id})-[:VISITED {visits}]->(:Location {name, lat, lon}),
(:Person)-[:HAS_HABIT]->(:Habit {name, confidence, discovered_at}) and
(:Person)-[:HAS_ROUTINE]->(:Routine {name, place, weekdays, hour, weeks}). Locations, habits and
routines belong to one person (their ``key`` starts with the user id), so saving a user's patterns
again updates them in place and removes the ones no longer found: the graph holds the latest mining.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from eventlens.errors import GraphError
from eventlens.mining.patterns import Habit, Place, Routine, UserPatterns

MINER = "pattern_miner"

_CONSTRAINTS = (
    "CREATE CONSTRAINT person_user_id IF NOT EXISTS FOR (n:Person) REQUIRE n.user_id IS UNIQUE",
    "CREATE CONSTRAINT location_key IF NOT EXISTS FOR (n:Location) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT habit_key IF NOT EXISTS FOR (n:Habit) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT routine_key IF NOT EXISTS FOR (n:Routine) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT miner_name IF NOT EXISTS FOR (n:MinerState) REQUIRE n.name IS UNIQUE",
)

_PERSON = "MERGE (p:Person {user_id: $user_id}) SET p.patterns_mined_at = $discovered_at"

_PLACES = """
MATCH (p:Person {user_id: $user_id})
UNWIND $places AS place
MERGE (l:Location {key: $user_id + ':' + place.key})
SET l.name = place.name, l.lat = place.lat, l.lon = place.lon
MERGE (p)-[v:VISITED]->(l)
SET v.visits = place.visits
"""

_HABITS = """
MATCH (p:Person {user_id: $user_id})
UNWIND $habits AS habit
MERGE (h:Habit {key: $user_id + ':' + habit.key})
SET h.name = habit.name, h.kind = habit.kind, h.item = habit.item, h.hour = habit.hour,
    h.days = habit.days, h.confidence = habit.confidence, h.discovered_at = $discovered_at
MERGE (p)-[:HAS_HABIT]->(h)
"""

_ROUTINES = """
MATCH (p:Person {user_id: $user_id})
UNWIND $routines AS routine
MERGE (r:Routine {key: $user_id + ':' + routine.key})
SET r.name = routine.name, r.place = routine.place, r.weekdays = routine.weekdays,
    r.hour = routine.hour, r.weeks = routine.weeks, r.discovered_at = $discovered_at
MERGE (p)-[:HAS_ROUTINE]->(r)
"""

# Patterns a new mining no longer finds. The label cannot be a parameter, hence three statements.
_STALE = {
    "places": "MATCH (:Person {user_id: $user_id})-[:VISITED]->(n:Location) "
    "WHERE NOT n.key IN $keys DETACH DELETE n",
    "habits": "MATCH (:Person {user_id: $user_id})-[:HAS_HABIT]->(n:Habit) "
    "WHERE NOT n.key IN $keys DETACH DELETE n",
    "routines": "MATCH (:Person {user_id: $user_id})-[:HAS_ROUTINE]->(n:Routine) "
    "WHERE NOT n.key IN $keys DETACH DELETE n",
}

_READ_PERSON = "MATCH (p:Person {user_id: $user_id}) RETURN p.patterns_mined_at AS discovered_at"
_READ_PLACES = """
MATCH (:Person {user_id: $user_id})-[v:VISITED]->(l:Location)
RETURN l.key AS key, l.name AS name, l.lat AS lat, l.lon AS lon, v.visits AS visits
ORDER BY visits DESC, name
"""
_READ_HABITS = """
MATCH (:Person {user_id: $user_id})-[:HAS_HABIT]->(h:Habit)
RETURN h.key AS key, h.name AS name, h.kind AS kind, h.item AS item, h.hour AS hour, h.days AS days,
       h.confidence AS confidence
ORDER BY confidence DESC, name
"""
_READ_ROUTINES = """
MATCH (:Person {user_id: $user_id})-[:HAS_ROUTINE]->(r:Routine)
RETURN r.key AS key, r.name AS name, r.place AS place, r.weekdays AS weekdays, r.hour AS hour,
       r.weeks AS weeks
ORDER BY hour, name
"""

_READ_WATERMARK = "MATCH (m:MinerState {name: $name}) RETURN m.watermark AS watermark"
_WRITE_WATERMARK = "MERGE (m:MinerState {name: $name}) SET m.watermark = $watermark"


class GraphStore(Protocol):
    def save_patterns(self, patterns: UserPatterns) -> None:
        """Keep a user's latest patterns (updating, never duplicating, what an earlier run kept)."""

    def patterns(self, user_id: str) -> UserPatterns:
        """A user's kept patterns (empty lists when the user was never mined)."""

    def watermark(self) -> datetime | None:
        """The moment the last mining run started, None before the first."""

    def set_watermark(self, moment: datetime) -> None: ...

    def ping(self) -> bool:
        """True when the graph answers."""

    def close(self) -> None: ...


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

    def save_patterns(self, patterns: UserPatterns) -> None:
        self._ensure_schema()
        params: dict[str, Any] = {"user_id": patterns.user_id, "discovered_at": patterns.discovered_at}
        lists = {
            "places": [place.model_dump() for place in patterns.places],
            "habits": [habit.model_dump() for habit in patterns.habits],
            "routines": [routine.model_dump() for routine in patterns.routines],
        }

        def write(tx: Any) -> None:
            tx.run(_PERSON, params).consume()
            for name, statement in (("places", _PLACES), ("habits", _HABITS), ("routines", _ROUTINES)):
                tx.run(statement, {**params, name: lists[name]}).consume()
                keys = [f"{patterns.user_id}:{row['key']}" for row in lists[name]]
                tx.run(_STALE[name], {"user_id": patterns.user_id, "keys": keys}).consume()

        self._write(write)

    def patterns(self, user_id: str) -> UserPatterns:
        params = {"user_id": user_id}
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
        )

    def watermark(self) -> datetime | None:
        rows = self._read(_READ_WATERMARK, {"name": MINER})
        moment = rows[0]["watermark"] if rows else None
        return moment.to_native() if moment is not None else None

    def set_watermark(self, moment: datetime) -> None:
        self._write(lambda tx: tx.run(_WRITE_WATERMARK, {"name": MINER, "watermark": moment}).consume())

    def ping(self) -> bool:
        try:
            self._driver.verify_connectivity()
        except self._errors as exc:
            raise GraphError(f"Neo4j at {self._uri}: {exc}") from exc
        return True

    def close(self) -> None:
        self._driver.close()

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        for statement in _CONSTRAINTS:
            self._write(lambda tx, statement=statement: tx.run(statement).consume())
        self._schema_ready = True

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
