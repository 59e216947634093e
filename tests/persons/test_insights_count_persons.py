"""The insights count persons: trends' unique persons, funnels, stickiness, lifecycle and retention
through their routes equal the insights' own plain-Python reference (tests/insights/reference.py) run
over the same events with each distinct id replaced by its person (the union-find of
tests/persons/reference.py)."""

from __future__ import annotations

from typing import Any

import pytest

from eventlens.keys import DEFAULT_PROJECT
from eventlens_tools.local.invoke import LocalFunction
from tests.insights import reference as insights
from tests.insights.conftest import ask, differences
from tests.persons.conftest import END, Dataset
from tests.persons.reference import Persons

HISTORY = {"from": "2025-09-07", "to": END.date().isoformat()}


def _world(dataset: Dataset) -> insights.World:
    """The default project's events, each under its person's id, as the insights' reference takes them."""
    events = dataset.events[DEFAULT_PROJECT]
    persons = Persons(events)
    return insights.World(
        insights.Event(e.event_id, persons.of(e.user_id), e.type, e.ts, e.source, e.properties)
        for e in events
    )


def _plain(step: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in step.items() if k != "label" and v is not None}


TRENDS: dict[str, dict[str, Any]] = {
    "unique persons a day": {
        **HISTORY,
        "series": [{"math": "unique_persons"}, {"event": "page_view", "math": "unique_persons"}],
    },
    "unique persons a week, UTC (the rollups' shape)": {
        **HISTORY,
        "interval": "week",
        "series": [{"math": "unique_persons"}],
    },
    "unique persons a month in Kyiv, by country": {
        **HISTORY,
        "interval": "month",
        "timezone": "Europe/Kyiv",
        "series": [{"math": "unique_persons"}],
        "breakdown": {"property": "properties.country"},
    },
}


@pytest.mark.parametrize("case", TRENDS)
def test_trends_count_persons(persons: Dataset, functions: dict[str, LocalFunction], case: str) -> None:
    # Given the stored events and a trends query of unique persons
    body = TRENDS[case]
    # When it is asked over HTTP
    status, answer = ask(functions, "/api/v1/insights/trends", body)
    # Then each period's unique persons are the reference's over the merged persons
    assert status == 200, answer
    want = insights.trends(_world(persons), body)
    got = [
        {k: s[k] for k in ("letter", "breakdown_value", "other", "values", "total")} for s in answer["series"]
    ]
    assert answer["periods"] == want["periods"]
    assert not differences(got, want["series"]), differences(got, want["series"])[:5]
    assert answer["read_from"] == "events"  # a project with merged persons: the rollups count ids


FUNNELS: dict[str, dict[str, Any]] = {
    "browse then check out": {
        **HISTORY,
        "steps": [{"event": "page_view"}, {"event": "checkout"}],
        "window_seconds": 40 * 86400,
    },
    "anonymous pricing, then identify, then a click": {
        **HISTORY,
        "steps": [{"event": "pricing"}, {"event": "$identify"}, {"event": "click"}],
        "window_seconds": 60 * 86400,
    },
}


@pytest.mark.parametrize("case", FUNNELS)
def test_funnels_follow_a_person_across_their_ids(
    persons: Dataset, functions: dict[str, LocalFunction], case: str
) -> None:
    # Given a funnel whose steps are taken under different ids of one person
    body = FUNNELS[case]
    # When it is asked over HTTP
    status, answer = ask(functions, "/api/v1/insights/funnel", body)
    # Then each step's persons and times are the reference's over the merged persons
    assert status == 200, answer
    want = insights.funnel(_world(persons), body)[None]
    found = differences([_plain(s) for s in answer["steps"]], [_plain(s) for s in want], "steps")
    assert not found, found[:5]
    assert answer["steps"][-1]["persons"] > 0


def test_stickiness_lifecycle_and_retention_count_persons(
    persons: Dataset, functions: dict[str, LocalFunction]
) -> None:
    world = _world(persons)
    # Given stickiness, lifecycle (UTC weeks, the rollups' shape) and retention queries
    sticky = {**HISTORY, "interval": "week", "series": [{}, {"event": "click"}]}
    life = {**HISTORY, "interval": "week"}
    kept = {**HISTORY, "period": "week", "periods": 4}
    # When each is asked over HTTP
    answers = {
        name: ask(functions, f"/api/v1/insights/{name}", body)
        for name, body in (("stickiness", sticky), ("lifecycle", life), ("retention", kept))
    }
    assert all(status == 200 for status, _ in answers.values()), answers
    # Then each equals the reference's over the merged persons
    assert [s["persons"] for s in answers["stickiness"][1]["series"]] == insights.stickiness(world, sticky)[
        "series"
    ]
    want_life = insights.lifecycle(world, life)
    assert {k: answers["lifecycle"][1][k] for k in want_life} == want_life
    assert answers["lifecycle"][1]["read_from"] == "events"  # a project with merged persons
    assert [c["returned"] for c in answers["retention"][1]["cohorts"]] == insights.retention(world, kept)
