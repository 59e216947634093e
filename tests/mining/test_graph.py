"""The habits graph in a real Neo4j: mined patterns kept once and per project, served by the route to the
caller's project only, erased per person, moved from before projects; health pings it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eventlens.components import Components
from eventlens.mining.graph import Neo4jGraphStore, erase_person_from_graph
from eventlens.mining.miner import MiningRequest, mine_active_users
from eventlens.settings import Settings
from tests.conftest import (
    OTHER_PROJECT,
    OTHER_SECRET_KEY,
    isolated_settings,
    load_event,
    opened_components,
    response_json,
)
from tests.mining.conftest import HOME, plant_user

_COUNTS = """
MATCH (p:Person {project_id: $project_id, user_id: $user_id})
RETURN count { (p)-[:VISITED]->(:Location) } AS places,
       count { (p)-[:HAS_HABIT]->(:Habit) } AS habits,
       count { (p)-[:HAS_ROUTINE]->(:Routine) } AS routines,
       count { (p)-[:HAS_INSIGHT]->(:Insight) } AS insights,
       count { MATCH (q:Person {project_id: $project_id, user_id: $user_id}) RETURN q } AS persons
"""
# Everything reachable from a person, and whether any of it (a node or a relationship) is not of the
# person's project.
_FOREIGN = """
MATCH (p:Person {user_id: $user_id})-[r]-(n)
RETURN count(*) AS reached,
       count(CASE WHEN r.project_id <> p.project_id OR n.project_id <> p.project_id THEN 1 END) AS foreign
"""
# An insight per habit and routine, and one on the places.
MINED = {"persons": 1, "places": 3, "habits": 2, "routines": 5, "insights": 8}


@pytest.fixture
def graph_settings(tmp_path: Path, chdb_dir: Path, neo4j_uri: str) -> Settings:
    return isolated_settings(tmp_path / "home", chdb_dir).model_copy(update={"neo4j_uri": neo4j_uri})


@pytest.fixture
def graph_components(graph_settings: Settings, functions: dict[str, Any]) -> Iterator[Components]:
    with opened_components(graph_settings, serve=functions) as parts:
        yield parts


def _query(graph: Neo4jGraphStore, statement: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = graph._driver.execute_query(statement, params)
    return [record.data() for record in records]


def _counts(graph: Neo4jGraphStore, user_id: str, project_id: str = "default") -> dict[str, Any]:
    rows = _query(graph, _COUNTS, project_id=project_id, user_id=user_id)
    return rows[0] if rows else {}


def _patterns_request(user_id: str, key: str = "") -> dict[str, Any]:
    event = load_event("report_stream_patterns.json", key)
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/v1/stream/patterns/{user_id}"
    event["pathParameters"] = {"user_id": user_id}
    return event


def test_mining_twice_keeps_each_pattern_once_in_the_graph(
    graph_components: Components, graph: Neo4jGraphStore
) -> None:
    # Given a planted user in the warehouse
    user = plant_user(graph_components.warehouse)
    request = MiningRequest(all_users=True)

    # When every user is mined into the graph, twice
    first = mine_active_users(graph_components.warehouse, graph, graph_components.settings, request, user.now)
    second = mine_active_users(
        graph_components.warehouse, graph, graph_components.settings, request, user.now
    )

    # Then both runs found the same patterns, and the graph holds each exactly once
    assert first == second
    assert (first.users, first.places, first.habits, first.routines) == (1, 3, 2, 5)
    assert [p.project_id for p in first.projects] == ["default"]
    assert _counts(graph, user.user_id) == MINED
    kept = graph.patterns("default", user.user_id)
    assert {place.name for place in kept.places} == {"Home", "Work", "Place 3"}
    assert {habit.name for habit in kept.habits} == {"Latte around 09:00", "running around 07:00"}
    assert kept.discovered_at == user.now


def test_patterns_route_answers_from_the_graph(
    graph_components: Components, graph: Neo4jGraphStore, functions: dict[str, Any]
) -> None:
    # Given a planted user mined by the scheduled mining function
    user = plant_user(graph_components.warehouse)
    run = functions["mining"].invoke({"source": "eventlens.scheduler", "all_users": True})
    assert run["users"] == 1

    # When the patterns route is asked through the report function (API Gateway HTTP API event)
    response = functions["report"].invoke(_patterns_request(user.user_id))

    # Then it answers 200 with what the graph holds
    assert response["statusCode"] == 200, response
    body = response_json(response)
    assert body["source"] == "graph" and body["user_id"] == user.user_id
    assert {place["name"] for place in body["places"]} == {"Home", "Work", "Place 3"}
    assert {habit["name"] for habit in body["habits"]} == {"Latte around 09:00", "running around 07:00"}
    assert "Work on weekdays around 09:00" in {routine["name"] for routine in body["routines"]}


def test_two_projects_holding_one_user_id_are_mined_and_served_apart(
    graph_components: Components, graph: Neo4jGraphStore, functions: dict[str, Any]
) -> None:
    # Given one user id in two projects, living in two cities, and a user of the default project only
    shared = plant_user(graph_components.warehouse)
    plant_user(graph_components.warehouse, project_id=OTHER_PROJECT, user_id=shared.user_id, shift=0.5)
    only_default = plant_user(graph_components.warehouse)

    # When the scheduled mining runs
    run = functions["mining"].invoke({"source": "eventlens.scheduler", "all_users": True})

    # Then it mined each project that has events, each from its own events
    assert {p["project_id"]: p["users"] for p in run["projects"]} == {"default": 2, OTHER_PROJECT: 1}
    assert _counts(graph, shared.user_id, "default") == _counts(graph, shared.user_id, OTHER_PROJECT) == MINED
    # and no node or relationship of one project is linked to the other's
    assert _query(graph, _FOREIGN, user_id=shared.user_id) == [{"reached": 2 * 18, "foreign": 0}]
    # and each project's key reads its own project's patterns of the shared user
    homes = {}
    for key, project in (("", "default"), (OTHER_SECRET_KEY, OTHER_PROJECT)):
        response = functions["report"].invoke(_patterns_request(shared.user_id, key))
        assert response["statusCode"] == 200, response
        homes[project] = next(p for p in response_json(response)["places"] if p["name"] == "Home")
    assert abs(homes["default"]["lat"] - HOME[0]) < 0.001
    assert abs(homes[OTHER_PROJECT]["lat"] - (HOME[0] + 0.5)) < 0.001
    # and the other project's key asking for a user of the default project gets what an unknown user gets
    asked = functions["report"].invoke(_patterns_request(only_default.user_id, OTHER_SECRET_KEY))
    unknown = functions["report"].invoke(_patterns_request("nobody-at-all", OTHER_SECRET_KEY))
    assert asked["statusCode"] == unknown["statusCode"] == 200
    assert response_json(asked) | {"user_id": ""} == response_json(unknown) | {"user_id": ""}
    assert response_json(asked)["places"] == []


def test_erasing_a_person_removes_them_from_their_project_only(
    graph_components: Components, graph: Neo4jGraphStore
) -> None:
    # Given one user id mined in two projects
    shared = plant_user(graph_components.warehouse)
    plant_user(graph_components.warehouse, project_id=OTHER_PROJECT, user_id=shared.user_id)
    mine_active_users(
        graph_components.warehouse,
        graph,
        graph_components.settings,
        MiningRequest(all_users=True),
        shared.now,
    )

    # When the person is erased from the default project, twice
    first = erase_person_from_graph(graph, "default", shared.user_id)
    again = erase_person_from_graph(graph, "default", shared.user_id)

    # Then the person, their 3 places, 2 habits, 5 routines and 8 insights went, with their 18
    # relationships
    assert first == {"graph_nodes": 19, "graph_relationships": 18}
    assert again == {"graph_nodes": 0, "graph_relationships": 0}
    assert _counts(graph, shared.user_id, "default") == {}
    kept = graph.patterns("default", shared.user_id)
    assert (kept.discovered_at, kept.places, kept.habits, kept.routines) == (None, [], [], [])
    # and the other project's person of the same id is untouched
    assert _counts(graph, shared.user_id, OTHER_PROJECT) == MINED
    # and with no graph configured there is nothing to erase
    assert erase_person_from_graph(None, "default", shared.user_id) == {
        "graph_nodes": 0,
        "graph_relationships": 0,
    }


# The graph as the Pattern Miner wrote it before projects: keys unique across the whole graph, and no
# project_id anywhere.
_OLD_CONSTRAINTS = (
    "CREATE CONSTRAINT person_user_id FOR (n:Person) REQUIRE n.user_id IS UNIQUE",
    "CREATE CONSTRAINT location_key FOR (n:Location) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT habit_key FOR (n:Habit) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT routine_key FOR (n:Routine) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT miner_name FOR (n:MinerState) REQUIRE n.name IS UNIQUE",
)
_OLD_GRAPH = """
CREATE (p:Person {user_id: $user_id, patterns_mined_at: $at}),
       (p)-[:VISITED {visits: 12}]->(:Location {key: $user_id + ':50.4501,30.5234', name: 'Home',
                                                lat: 50.4501, lon: 30.5234}),
       (p)-[:HAS_HABIT]->(:Habit {key: $user_id + ':purchase:Latte:9', name: 'Latte around 09:00',
                                  kind: 'purchase', item: 'Latte', hour: 9, days: 40, confidence: 0.7,
                                  discovered_at: $at}),
       (p)-[:HAS_ROUTINE]->(:Routine {key: $user_id + ':50.4501,30.5234:22:0123456',
                                      name: 'Home daily around 22:00', place: 'Home',
                                      weekdays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
                                      hour: 22, weeks: 8, discovered_at: $at}),
       (:MinerState {name: 'pattern_miner', watermark: $at})
"""
_WITHOUT_PROJECT = """
RETURN count { MATCH (n) WHERE n.project_id IS NULL RETURN n } AS nodes,
       count { MATCH ()-[r]->() WHERE r.project_id IS NULL RETURN r } AS relationships
"""


def test_a_graph_from_before_projects_moves_to_the_default_project(neo4j_uri: str) -> None:
    # Given the session's graph replaced by one written before projects (this test empties the shared
    # test graph: every other test plants its own users)
    old = Neo4jGraphStore(neo4j_uri)
    try:
        _query(old, "MATCH (n) DETACH DELETE n")
        for row in _query(old, "SHOW CONSTRAINTS YIELD name RETURN name"):
            _query(old, f"DROP CONSTRAINT {row['name']}")  # names the server just listed
        for statement in _OLD_CONSTRAINTS:
            _query(old, statement)
        at = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
        _query(old, _OLD_GRAPH, user_id="u1", at=at)
    finally:
        old.close()

    # When a store of this version first uses it
    graph = Neo4jGraphStore(neo4j_uri)
    try:
        kept = graph.patterns("default", "u1")

        # Then what was kept is the default project's, as it was
        assert kept.discovered_at == at and graph.watermark("default") == at
        assert [(p.key, p.name, p.visits) for p in kept.places] == [("50.4501,30.5234", "Home", 12)]
        assert [h.name for h in kept.habits] == ["Latte around 09:00"]
        assert [r.name for r in kept.routines] == ["Home daily around 22:00"]
        assert _query(graph, _WITHOUT_PROJECT) == [{"nodes": 0, "relationships": 0}]
        # and the constraints include the project, so another project may hold the same user id
        constraints = _query(graph, "SHOW CONSTRAINTS YIELD name, properties RETURN name, properties")
        assert {c["name"] for c in constraints} == {
            "person_project_user_id",
            "location_project_key",
            "habit_project_key",
            "routine_project_key",
            "insight_project_key",
            "miner_project_name",
        }
        assert all(c["properties"][0] == "project_id" for c in constraints)
        graph.save_patterns(OTHER_PROJECT, kept)
        assert graph.patterns(OTHER_PROJECT, "u1").places == kept.places
        assert graph.watermark(OTHER_PROJECT) is None
    finally:
        graph.close()


def test_mining_function_mines_only_users_active_since_the_last_run(
    graph_components: Components, functions: dict[str, Any]
) -> None:
    # Given a user mined once by the schedule
    plant_user(graph_components.warehouse)
    functions["mining"].invoke({"source": "eventlens.scheduler", "all_users": True})

    # When the schedule runs again with no new events
    again = functions["mining"].invoke({"source": "eventlens.scheduler", "schedule": "cron(0 3 * * ? *)"})

    # Then it starts from the first run's watermark and mines nobody
    assert again["users"] == 0
    assert [(p["project_id"], p["since"] is not None) for p in again["projects"]] == [("default", True)]


def test_patterns_route_mines_the_warehouse_when_no_graph_is_configured(
    components: Components, functions: dict[str, Any]
) -> None:
    # Given a planted user and no NEO4J_URI
    user = plant_user(components.warehouse)

    # When the patterns route is asked
    response = functions["report"].invoke(_patterns_request(user.user_id))

    # Then the patterns are mined from the warehouse for the request
    assert response["statusCode"] == 200, response
    body = response_json(response)
    assert body["source"] == "warehouse"
    assert {habit["name"] for habit in body["habits"]} == {"Latte around 09:00", "running around 07:00"}


def test_health_pings_the_configured_graph(graph_components: Components, settings: Settings) -> None:
    # Given one process with Neo4j configured and running, one whose Neo4j answers nothing, one without
    unreachable = settings.model_copy(update={"neo4j_uri": "bolt://127.0.0.1:1"})

    # When each is asked for its health
    # Then the graph is connected, down with the reason, and not configured
    assert graph_components.health()["graph"] == "connected"
    with opened_components(unreachable) as parts:
        assert parts.health()["graph"].startswith("down: ")
    with opened_components(settings) as parts:
        assert parts.health()["graph"] == "not configured"
