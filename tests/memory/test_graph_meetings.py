"""Whom a person met, in the habits graph: Life Stream's social "meet" events become
(:Person)-[:MET {event_id, at}]->(:Person), once each, in the person's project only, gone with an
erasure; the memory search answers from them beside the warehouse."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventlens.components import Components
from eventlens.memory.findings import Sources
from eventlens.memory.models import MemoryQuestion
from eventlens.memory.search import search_memory
from eventlens.mining.graph import Neo4jGraphStore, erase_person_from_graph
from eventlens.mining.miner import MiningRequest, mine_active_users
from eventlens_tools.lifestories import PLANS, LifeStory, plant_story, warehouse_rows
from eventlens_tools.memory_eval import NOW
from tests.conftest import isolated_settings, opened_components

_MET = """
MATCH (p:Person {project_id: $project_id, user_id: $user_id})-[m:MET]->(q:Person)
RETURN m.event_id AS event_id, m.project_id AS project, q.user_id AS person_id, q.name AS name,
       q.project_id AS person_project
ORDER BY event_id
"""
_PERSONS = "MATCH (q:Person {project_id: $project_id}) RETURN q.user_id AS user_id ORDER BY user_id"


@pytest.fixture
def graph_components(tmp_path: Path, chdb_dir: Path, neo4j_uri: str) -> Iterator[Components]:
    settings = isolated_settings(tmp_path / "home", chdb_dir).model_copy(update={"neo4j_uri": neo4j_uri})
    with opened_components(settings) as parts:
        yield parts


def _graph(parts: Components) -> Neo4jGraphStore:
    assert isinstance(parts.graph, Neo4jGraphStore)
    return parts.graph


def _query(graph: Neo4jGraphStore, statement: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = graph._driver.execute_query(statement, params)
    return [record.data() for record in records]


def _meets(story: LifeStory) -> dict[str, str]:
    return {
        e.event_id: str(e.properties["person_id"])
        for e in story.events
        if e.type == "social" and e.properties["action"] == "meet"
    }


def _plant(parts: Components, plan_index: int, project_id: str, user_id: str) -> LifeStory:
    story = plant_story(PLANS[plan_index], NOW, user_id=user_id)
    parts.warehouse.insert_arrow("events", warehouse_rows([story], project_id))
    return story


def test_each_meeting_is_one_met_relationship_however_often_mined(graph_components: Components) -> None:
    # Given a person with lunches, dinners and calls, in a project of their own
    project = f"prj_met{uuid.uuid4().hex[:10]}"
    story = _plant(graph_components, 0, project, "met-kyiv")
    graph = _graph(graph_components)
    # When the project is mined twice
    request = MiningRequest(all_users=True)
    first = mine_active_users(graph_components.warehouse, graph, graph_components.settings, request, NOW)
    mine_active_users(graph_components.warehouse, graph, graph_components.settings, request, NOW)
    # Then each "meet" event is one MET, to the person met (named), in the project; calls are none
    kept = _query(graph, _MET, project_id=project, user_id=story.user_id)
    assert {row["event_id"]: row["person_id"] for row in kept} == _meets(story)
    assert first.meetings == len(_meets(story))
    assert {row["project"] for row in kept} == {row["person_project"] for row in kept} == {project}
    names = {friend.person_id: friend.name for friend in PLANS[0].friends}
    assert all(row["name"] == names[row["person_id"]] for row in kept)
    assert PLANS[0].friends[4].person_id not in {row["person_id"] for row in kept}  # only ever called


def test_a_meeting_only_the_graph_keeps_is_still_answered(graph_components: Components) -> None:
    # Given a mined person, one of whose lunches is then no longer in the warehouse
    project = f"prj_met{uuid.uuid4().hex[:10]}"
    story = _plant(graph_components, 0, project, "met-kyiv-gone")
    graph = _graph(graph_components)
    mine_active_users(
        graph_components.warehouse, graph, graph_components.settings, MiningRequest(all_users=True), NOW
    )
    friday = next(e for e in story.events if e.type == "social" and e.at.date().isoformat() == "2026-03-13")
    graph_components.warehouse.command(
        "DELETE FROM user_events WHERE project_id = {project:String} AND event_id = {id:UUID}",
        {"project": project, "id": friday.event_id},
    )
    # When they ask whom they had lunch with that Friday
    sources = Sources(graph_components.warehouse, graph, graph_components.settings)
    question = MemoryQuestion(user_id=story.user_id, question="З ким я обідав минулої п'ятниці?")
    answer = search_memory(sources, project, question, now=NOW)
    # Then the graph's MET answers it, as a graph fact at the event's time, in the person's timezone
    assert "Olena (" in answer.answer and answer.graph == "used"
    [fact] = answer.evidence
    assert (fact.id, fact.kind, fact.sources) == (friday.event_id, "MET", ["graph"])
    assert (
        fact.at == friday.at
        and fact.at is not None
        and fact.at.utcoffset() == story.local(friday.at).utcoffset()
    )


def test_erasing_a_person_takes_their_meetings_and_contacts_known_only_through_them(
    graph_components: Components,
) -> None:
    # Given two persons of a project who both met their shared friends
    project = f"prj_met{uuid.uuid4().hex[:10]}"
    erased = _plant(graph_components, 0, project, "met-erased")
    kept = _plant(graph_components, 0, project, "met-kept")
    graph = _graph(graph_components)
    mine_active_users(
        graph_components.warehouse, graph, graph_components.settings, MiningRequest(all_users=True), NOW
    )
    # When one is erased, and the other after
    first = erase_person_from_graph(graph, project, erased.user_id)
    # Then the first's meetings went, and the friends stayed: the other met them too
    assert _query(graph, _MET, project_id=project, user_id=erased.user_id) == []
    assert first["graph_relationships"] >= len(_meets(erased))
    friends = {friend.person_id for friend in PLANS[0].friends[:4]}
    assert friends <= {row["user_id"] for row in _query(graph, _PERSONS, project_id=project)}
    erase_person_from_graph(graph, project, kept.user_id)
    # and once nobody who met them is left, neither are they
    assert _query(graph, _PERSONS, project_id=project) == []
