"""POST /api/v1/search/memory through the report function, as API Gateway hands it a request: Life
Stream's body answered with the evidence, the caller's project only, every bad field a 422 naming it."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eventlens.components import Components
from eventlens.keys import open_key_store, set_keyless_routes
from eventlens.manifest import load_manifest
from eventlens.memory.findings import Sources
from eventlens.memory.models import MemoryQuestion
from eventlens.memory.search import search_memory
from eventlens_tools.lifestories import PLANS, LifeStory, plant_story, warehouse_rows
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import OTHER_SECRET_KEY, TEST_WRITE_KEY, load_event, response_json


def _ask(report: LocalFunction, body: dict[str, Any], key: str | None = "") -> tuple[int, Any]:
    event = load_event("report_memory_search.json", key)
    event["body"] = json.dumps(body)
    response = report.invoke(event)
    return response["statusCode"], response_json(response)


@pytest.fixture
def story(components: Components) -> LifeStory:
    """The Kyiv person, living up to now, in the default project."""
    planted = plant_story(PLANS[0], datetime.now(UTC), user_id="memory-route-kyiv")
    components.warehouse.insert_arrow("events", warehouse_rows([planted]))
    return planted


def test_life_streams_body_is_answered_with_its_evidence(
    components: Components, functions: dict[str, LocalFunction], story: LifeStory
) -> None:
    # Given the fixture's request: Life Stream's body, its example question, the person's user id
    body = {**json.loads(load_event("report_memory_search.json")["body"]), "user_id": story.user_id}
    # When the report function answers it
    status, answer = _ask(functions["report"], body)
    # Then it is Life Stream's answer, with the intent, period, language and evidence beside it
    assert status == 200, answer
    assert answer["intent"] == "meet" and answer["language"] == "ru" and answer["timezone"] == "Europe/Kyiv"
    assert answer["answer"].startswith("С кем вы встречались в обед")
    assert answer["graph"] == "not_configured" and "граф привычек не настроен" in answer["answer"]
    friday = datetime.fromisoformat(answer["time_range"]["from"])
    assert friday.weekday() == 4 and friday.utcoffset() is not None
    planted = {event.event_id: event for event in story.events}
    assert answer["evidence"] and answer["evidence_total"] == len(answer["evidence"])
    for item in answer["evidence"]:
        event = planted[item["id"]]
        assert item["kind"] == "social" and item["facts"]["name"] == event.properties["person_name"]
        assert datetime.fromisoformat(item["at"]) == event.at
    # and it is what the domain function answers
    expected = search_memory(
        Sources(components.warehouse, None, components.settings), "default", MemoryQuestion(**body)
    )
    assert answer["answer"] == expected.answer


def test_a_named_timezone_sets_the_days_and_an_unknown_one_is_a_422(
    functions: dict[str, LocalFunction], story: LifeStory
) -> None:
    asked = {"user_id": story.user_id, "question": "Where was I today?"}
    status, answer = _ask(functions["report"], {**asked, "timezone": "Asia/Tokyo"})
    assert status == 200 and answer["timezone"] == "Asia/Tokyo"
    assert datetime.fromisoformat(answer["time_range"]["from"]).utcoffset() == timedelta(hours=9)
    status, answer = _ask(functions["report"], {**asked, "timezone": "Mars/Olympus_Mons"})
    assert status == 422 and answer["error"]["field"] == "timezone"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": "Где я был?"}, "user_id"),
        ({"user_id": "u1"}, "question"),
        ({"user_id": "u1", "question": ""}, "question"),
        ({"user_id": "u1", "question": "x" * 1001}, "question"),
        ({"user_id": "", "question": "Где я был?"}, "user_id"),
    ],
)
def test_each_bad_field_is_a_422_naming_it(
    components: Components, functions: dict[str, LocalFunction], body: dict[str, Any], field: str
) -> None:
    status, answer = _ask(functions["report"], body)
    assert status == 422 and answer["error"]["field"].endswith(field), answer


def test_another_projects_key_finds_nothing_of_this_projects_person(
    functions: dict[str, LocalFunction], story: LifeStory
) -> None:
    # Given a person of the default project
    asked = {"user_id": story.user_id, "question": "How much did I spend on coffee this month?"}
    # When the other project's key asks about the same user id
    own_status, own = _ask(functions["report"], asked)
    other_status, other = _ask(functions["report"], asked, OTHER_SECRET_KEY)
    # Then it gets what an unknown person gets: nothing found, no evidence, UTC days
    assert own_status == other_status == 200
    assert own["evidence"] and own["answer"].startswith("You spent")
    assert (
        other["evidence"] == [] and other["answer"].startswith("Nothing found") and other["timezone"] == "UTC"
    )


def test_it_takes_a_secret_key_unless_the_project_opted_in_to_keyless_reads(
    components: Components, functions: dict[str, LocalFunction], story: LifeStory
) -> None:
    asked = {"user_id": story.user_id, "question": "Какие у меня привычки?"}
    assert _ask(functions["report"], asked, None)[0] == 401
    assert _ask(functions["report"], asked, TEST_WRITE_KEY)[0] == 403
    # Life Stream's clients send no key: a project may take its reference routes keyless
    set_keyless_routes(open_key_store(components.settings), "default", {"secret"})
    with closing(Components(components.settings)) as parts:
        report = LocalFunction(load_manifest()["report"])
        report.bind(parts)
        status, answer = _ask(report, asked, None)
    assert status == 200 and answer["intent"] == "habits"
    assert "Latte около" in answer["answer"] and "Ваш распорядок" in answer["answer"]
