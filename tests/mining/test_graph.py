"""The habits graph in a real Neo4j: mined patterns kept once, served by the route, health pings it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventlens.components import Components
from eventlens.mining.graph import Neo4jGraphStore
from eventlens.mining.miner import MiningRequest, mine_active_users
from eventlens.settings import Settings
from tests.conftest import isolated_settings, load_event, opened_components, response_json
from tests.mining.conftest import plant_user

_COUNTS = """
MATCH (p:Person {user_id: $user_id})
RETURN count { (p)-[:VISITED]->(:Location) } AS places,
       count { (p)-[:HAS_HABIT]->(:Habit) } AS habits,
       count { (p)-[:HAS_ROUTINE]->(:Routine) } AS routines,
       count { MATCH (q:Person {user_id: $user_id}) RETURN q } AS persons
"""


@pytest.fixture
def graph_settings(tmp_path: Path, chdb_dir: Path, neo4j_uri: str) -> Settings:
    return isolated_settings(tmp_path / "home", chdb_dir).model_copy(update={"neo4j_uri": neo4j_uri})


@pytest.fixture
def graph_components(graph_settings: Settings, functions: dict[str, Any]) -> Iterator[Components]:
    with opened_components(graph_settings, serve=functions) as parts:
        yield parts


def _counts(graph: Neo4jGraphStore, user_id: str) -> dict[str, Any]:
    records, _, _ = graph._driver.execute_query(_COUNTS, {"user_id": user_id})
    return records[0].data() if records else {}


def _patterns_request(user_id: str) -> dict[str, Any]:
    event = load_event("report_stream_patterns.json")
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
    assert first.model_dump(exclude={"since"}) == second.model_dump(exclude={"since"})
    assert (first.users, first.places, first.habits, first.routines) == (1, 3, 2, 5)
    assert _counts(graph, user.user_id) == {"persons": 1, "places": 3, "habits": 2, "routines": 5}
    kept = graph.patterns(user.user_id)
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


def test_mining_function_mines_only_users_active_since_the_last_run(
    graph_components: Components, functions: dict[str, Any]
) -> None:
    # Given a user mined once by the schedule
    plant_user(graph_components.warehouse)
    functions["mining"].invoke({"source": "eventlens.scheduler", "all_users": True})

    # When the schedule runs again with no new events
    again = functions["mining"].invoke({"source": "eventlens.scheduler", "schedule": "cron(0 3 * * ? *)"})

    # Then it starts from the first run's watermark and mines nobody
    assert again["since"] is not None and again["users"] == 0


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
