"""The Pattern Miner's insights (000's "AI reasoning" step): written by rule from what was mined, the same
words for the same history, kept in the graph once, served with the patterns; an optional language
model (a fake OpenAI-compatible server here) may reword each where its wording stays grounded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventlens.components import Components
from eventlens.mining.graph import Neo4jGraphStore
from eventlens.mining.miner import MiningRequest, mine_active_users, mine_user
from eventlens.rephrase import OpenAICompatibleChat
from eventlens.settings import Settings
from tests.conftest import isolated_settings, load_event, opened_components, response_json
from tests.fake_llm import FakeChat, completion, fake_chat_server
from tests.mining.conftest import plant_user

# The planted timetable (tests/mining/conftest.py), as the insights state it: a latte on weekday
# mornings, a run on Monday, Wednesday and Friday mornings, home at night, work on weekday days, the
# gym on Tuesday and Thursday evenings, eight weeks of it.
EXPECTED = [
    "Latte: almost every weekday morning around 09:00 UTC (confidence 0.714)",
    "running: almost every Monday, Wednesday and Friday morning around 07:00 UTC (confidence 0.429)",
    "At Home every day around 06:00 UTC, in 8 weeks",
    "At Home every day around 22:00 UTC, in 8 weeks",
    "At Work on weekdays around 09:00 UTC, in 8 weeks",
    "At Work on weekdays around 14:00 UTC, in 8 weeks",
    "At Place 3 on Tuesday and Thursday around 19:00 UTC, in 8 weeks",
]


@pytest.fixture
def graph_settings(tmp_path: Path, chdb_dir: Path, neo4j_uri: str) -> Settings:
    return isolated_settings(tmp_path / "home", chdb_dir).model_copy(update={"neo4j_uri": neo4j_uri})


@pytest.fixture
def graph_components(graph_settings: Settings, functions: dict[str, Any]) -> Iterator[Components]:
    with opened_components(graph_settings, serve=functions) as parts:
        yield parts


@pytest.fixture
def fake_chat() -> Iterator[FakeChat]:
    with fake_chat_server() as chat:
        yield chat


def _texts(insights: list[Any]) -> list[str]:
    return [insight.text for insight in insights]


def test_insights_state_the_planted_timetable_in_the_same_words_every_time(components: Components) -> None:
    # Given a user who lives by a timetable (and noise around it)
    user = plant_user(components.warehouse)
    # When the user is mined twice
    first = mine_user(components.warehouse, "default", user.user_id, components.settings, user.now)
    again = mine_user(components.warehouse, "default", user.user_id, components.settings, user.now)
    # Then the insights state each habit and routine, and the places, by rule, identically
    assert _texts(first.insights)[:7] == EXPECTED
    assert (
        _texts(first.insights)[7].startswith("Most time at Home (") and "Work (" in _texts(first.insights)[7]
    )
    assert first.insights == again.insights
    assert {i.generated_by for i in first.insights} == {"rules"}
    assert [i.confidence for i in first.insights[:2]] == [h.confidence for h in first.habits]


def test_insights_are_kept_once_in_the_graph_and_served_with_the_patterns(
    graph_components: Components, graph: Neo4jGraphStore, functions: dict[str, Any]
) -> None:
    # Given a planted user mined twice into the graph
    user = plant_user(graph_components.warehouse)
    request = MiningRequest(all_users=True)
    for _ in range(2):
        mine_active_users(graph_components.warehouse, graph, graph_components.settings, request, user.now)
    # When the patterns route is asked
    event = load_event("report_stream_patterns.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/v1/stream/patterns/{user.user_id}"
    event["pathParameters"] = {"user_id": user.user_id}
    response = functions["report"].invoke(event)
    # Then it serves the insights as mined, each once
    assert response["statusCode"] == 200, response
    served = response_json(response)["insights"]
    assert [insight["text"] for insight in served][:7] == EXPECTED and len(served) == 8
    assert (
        graph.patterns("default", user.user_id).insights
        == mine_user(
            graph_components.warehouse, "default", user.user_id, graph_components.settings, user.now
        ).insights
    )


def test_a_grounded_rewording_replaces_an_insight_and_an_ungrounded_one_does_not(
    components: Components, fake_chat: FakeChat
) -> None:
    # Given a model that rewords the latte's insight faithfully and adds a number to every other one
    def reply(request: dict[str, Any]) -> tuple[int, Any]:
        sentence = request["messages"][1]["content"]
        if sentence.startswith("Latte:"):
            return completion(
                "Almost every weekday morning, around 09:00 UTC, you have a Latte (confidence 0.714)."
            )(request)
        return completion(f"{sentence} Usually 2 of them.")(request)

    fake_chat.reply = reply
    user = plant_user(components.warehouse)
    model = OpenAICompatibleChat(fake_chat.url, "test-model")
    # When the user is mined with the model
    mined = mine_user(components.warehouse, "default", user.user_id, components.settings, user.now, model)
    # Then the latte's insight is the model's, every other is as written by rule
    latte, *others = mined.insights
    assert (latte.text, latte.generated_by) == (
        "Almost every weekday morning, around 09:00 UTC, you have a Latte (confidence 0.714).",
        "language_model",
    )
    assert _texts(others)[:6] == EXPECTED[1:] and {i.generated_by for i in others} == {"rules"}
    assert len(fake_chat.asked) == len(mined.insights)
