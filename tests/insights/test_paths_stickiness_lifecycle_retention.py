"""Paths, stickiness, lifecycle and retention through their routes equal the reference computation."""

from __future__ import annotations

from typing import Any

import pytest

from eventlens.keys import DEFAULT_PROJECT
from eventlens_tools.local.invoke import LocalFunction
from tests.insights import reference
from tests.insights.conftest import Dataset, ask, differences

OCTOBER = {"from": "2025-10-01", "to": "2025-10-31"}

PATHS: dict[str, dict[str, Any]] = {
    "after page_view, 4 deep": {**OCTOBER, "start_event": {"event": "page_view"}, "depth": 4},
    "before purchase, repeats collapsed": {
        **OCTOBER,
        "end_event": {"event": "purchase"},
        "depth": 3,
        "collapse_repeats": True,
    },
    "from the first event, progress left out": {
        **OCTOBER,
        "depth": 10,
        "exclude_events": ["progress"],
        "edge_limit": 200,
    },
    "only some events, from a filtered start, in Kyiv": {
        **OCTOBER,
        "timezone": "Europe/Kyiv",
        "start_event": {
            "event": "view_item",
            "filters": [{"property": "properties.price", "operator": "gt", "value": 100}],
        },
        "include_events": ["view_item", "add_to_cart", "purchase", "page_view"],
        "depth": 5,
        "edge_limit": 1000,
    },
    "the planted sign-ups": {"from": "2025-10-20", "to": "2025-10-20", "start_event": {"event": "f_signup"}},
}


@pytest.mark.parametrize("case", PATHS)
def test_paths_equal_the_reference(insights: Dataset, functions: dict[str, LocalFunction], case: str) -> None:
    # Given the stored events and a paths query
    body = PATHS[case]
    # When it is asked over HTTP
    status, answer = ask(functions, "/api/v1/insights/paths", body)
    # Then the heaviest edges, their weights and the persons with a path are the reference's
    assert status == 200, answer
    want = reference.paths(insights.worlds[DEFAULT_PROJECT], body)
    assert answer["persons"] == want["persons"] and want["persons"] > 0
    assert not differences(answer["edges"], want["edges"]), differences(answer["edges"], want["edges"])[:10]


STICKINESS: dict[str, dict[str, Any]] = {
    "days of October": {**OCTOBER, "series": [{"event": "page_view"}, {"event": "purchase"}, {}]},
    "weeks in Kyiv": {**OCTOBER, "timezone": "Europe/Kyiv", "interval": "week", "series": [{"event": "geo"}]},
    "hours around the DST change": {
        "from": "2025-10-25",
        "to": "2025-10-27",
        "timezone": "Europe/Kyiv",
        "interval": "hour",
        "series": [{"event": "progress"}, {"event": "dst_ping"}],
    },
    "months, filtered": {
        "from": "2025-09-01",
        "to": "2025-11-15",
        "interval": "month",
        "filters": [{"property": "properties.country", "operator": "equals", "value": "UA"}],
        "series": [{"event": "view_item"}],
    },
}


@pytest.mark.parametrize("case", STICKINESS)
def test_stickiness_equals_the_reference(
    insights: Dataset, functions: dict[str, LocalFunction], case: str
) -> None:
    body = STICKINESS[case]
    status, answer = ask(functions, "/api/v1/insights/stickiness", body)
    assert status == 200, answer
    want = reference.stickiness(insights.worlds[DEFAULT_PROJECT], body)
    assert answer["intervals"] == want["intervals"]
    assert [s["persons"] for s in answer["series"]] == want["series"]
    assert sum(map(sum, want["series"])) > 0


LIFECYCLE: dict[str, dict[str, Any]] = {
    "page views per day": {**OCTOBER, "activity": {"event": "page_view"}},
    "any event per day, UTC": {**OCTOBER},
    "any event per week, UTC": {"from": "2025-09-10", "to": "2025-11-15", "interval": "week"},
    "any event per month, UTC": {"from": "2025-09-10", "to": "2025-11-15", "interval": "month"},
    "any event per week in Kyiv": {**OCTOBER, "timezone": "Europe/Kyiv", "interval": "week"},
    "purchases per month, from mid-month": {
        "from": "2025-09-15",
        "to": "2025-11-15",
        "interval": "month",
        "activity": {"event": "purchase"},
    },
    "hours around the DST change": {
        "from": "2025-10-26",
        "to": "2025-10-26",
        "timezone": "Europe/Kyiv",
        "interval": "hour",
        "activity": {"event": "progress"},
    },
    "a filtered activity and a segment": {
        **OCTOBER,
        "segment": "source:commerce",
        "activity": {"filters": [{"property": "properties.price", "operator": "gte", "value": 100}]},
    },
}


@pytest.mark.parametrize("case", LIFECYCLE)
def test_lifecycle_equals_the_reference(
    insights: Dataset, functions: dict[str, LocalFunction], case: str
) -> None:
    body = LIFECYCLE[case]
    status, answer = ask(functions, "/api/v1/insights/lifecycle", body)
    assert status == 200, answer
    assert answer["read_from"] == ("user_periods" if case.endswith(", UTC") else "events")
    want = reference.lifecycle(insights.worlds[DEFAULT_PROJECT], body)
    got = {status: answer[status] for status in want}
    assert got == want
    assert sum(want["new"]) and sum(want["returning"]) + sum(want["resurrecting"]) + sum(want["dormant"])


RETENTION: dict[str, dict[str, Any]] = {
    "first session to purchase, weekly": {
        "from": "2025-09-01",
        "to": "2025-11-15",
        "start_event": {"event": "session_start"},
        "return_event": {"event": "purchase"},
    },
    "any event, recurring, daily in Kyiv": {
        **OCTOBER,
        "timezone": "Europe/Kyiv",
        "retention_type": "recurring",
        "period": "day",
        "periods": 10,
    },
    "monthly, filtered": {
        "from": "2025-09-01",
        "to": "2025-11-15",
        "period": "month",
        "periods": 3,
        "filters": [{"property": "properties.country", "operator": "not_equals", "value": "UA"}],
        "start_event": {"event": "start"},
        "return_event": {"event": "finish"},
    },
    "recurring, weekly, a cohort of late starters": {
        "from": "2025-10-15",
        "to": "2025-11-15",
        "retention_type": "recurring",
        "start_event": {"event": "geo"},
        "return_event": {"event": "geo"},
        "periods": 3,
    },
}


@pytest.mark.parametrize("case", RETENTION)
def test_retention_equals_the_reference(
    insights: Dataset, functions: dict[str, LocalFunction], case: str
) -> None:
    body = RETENTION[case]
    status, answer = ask(functions, "/api/v1/insights/retention", body)
    assert status == 200, answer
    want = reference.retention(insights.worlds[DEFAULT_PROJECT], body)
    got = [cohort["returned"] for cohort in answer["cohorts"]]
    assert got == want
    assert sum(row[0] or 0 for row in want) and sum(v or 0 for row in want for v in row[1:])
    for cohort in answer["cohorts"]:
        size = cohort["persons"]
        assert cohort["rates"] == [
            None if r is None or not size else pytest.approx(r / size) for r in cohort["returned"]
        ]
