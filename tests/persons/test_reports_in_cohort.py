"""Every aggregate report filtered to a saved cohort (``cohort=<id>``, issue 12) answers over the cohort's
persons' events only: the plain-Python reference (tests/persons/reference.py) over exactly those events,
with merged persons in or out whole, through the report function's HTTP routes. A cohort is of the
project whose key saved it: any other key gets 404 naming ``cohort``."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from eventlens.keys import DEFAULT_PROJECT
from eventlens.manifest import HttpRoute
from eventlens_tools.local.apigw import http_api_event
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import OTHER_SECRET_KEY, TEST_SECRET_KEY
from tests.persons import reference
from tests.persons.conftest import DAYS, END, Dataset
from tests.persons.reference import Event, Persons

LAST = END.date()
FIRST = LAST.fromordinal(LAST.toordinal() - DAYS + 1)
RANGE = f"from={FIRST}&to={LAST}"
PRO = {"name": "pro plan", "properties": [{"property": "person.plan", "operator": "equals", "value": "pro"}]}
BROWSERS = {"name": "browsed 3+ pages", "behavioural": {"event": "page_view", "min_count": 3, "days": 3660}}
# Every aggregate route that takes a cohort, with a query that covers the dataset.
ROUTES = [
    "/stats/dau",
    "/stats/wau",
    "/stats/mau",
    "/stats/top-events",
    "/stats/retention",
    "/stats/groups",
    "/api/v1/analytics/content/popular",
    "/api/v1/analytics/trends",
    "/api/v1/analytics/peak-hours",
]


def _request(
    functions: dict[str, LocalFunction], method: str, path: str, query: str, key: str, body: Any = None
) -> tuple[int, Any]:
    headers = [("authorization", f"Bearer {key}"), ("content-type", "application/json")]
    payload = b"" if body is None else json.dumps(body).encode()
    event = http_api_event(method, path, query, headers, payload, HttpRoute(method, path), {})
    response = functions["report"].invoke(event)
    return response["statusCode"], json.loads(response.get("body") or "null")


def _get(functions: dict[str, LocalFunction], path: str, query: str, key: str = TEST_SECRET_KEY) -> Any:
    status, body = _request(functions, "GET", path, query, key)
    assert status == 200, (path, query, body)
    return body


def _save(functions: dict[str, LocalFunction], definition: dict[str, Any], key: str = TEST_SECRET_KEY) -> str:
    status, cohort = _request(functions, "POST", "/api/v1/cohorts", "", key, definition)
    assert status == 201, cohort
    return str(cohort["cohort_id"])


def _members(events: list[Event], people: Persons, definition: dict[str, Any]) -> set[str]:
    """The persons a cohort definition holds, worked out from the events in plain Python."""
    if "properties" in definition:
        plans = reference.person_property(events, people, ["plan"])
        return {person for person, plan in plans.items() if plan == "pro"}
    views = Counter(people.of(e.user_id) for e in events if e.type == "page_view")
    return {person for person, n in views.items() if n >= 3}


def _viewing_days() -> int:
    """A period of the viewing reports (the last N days through today) that holds the whole dataset."""
    return (datetime.now(UTC).date() - FIRST).days + 1


def _expected(route: str, events: list[Event], people: Persons) -> Any:
    """The route's answer over ``events`` (the cohort's persons' events only)."""
    if route in ("/stats/dau", "/stats/wau", "/stats/mau"):
        period = {"/stats/dau": "day", "/stats/wau": "week", "/stats/mau": "month"}[route]
        return reference.active_persons(events, people, period, FIRST, LAST)
    if route == "/stats/top-events":
        counts = Counter(e.type for e in events if FIRST <= e.day <= LAST)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
    if route == "/stats/retention":
        return reference.retention(events, people, FIRST, 4, LAST)
    if route == "/stats/groups":
        return reference.active_groups(events, people, "group", "week", FIRST, LAST)
    want = reference.viewing(events, people, _viewing_days(), datetime.now(UTC).date())
    key = {"/api/v1/analytics/content/popular": "popular", "/api/v1/analytics/trends": "trends"}
    return want[key.get(route, "peak")]


def _answer(functions: dict[str, LocalFunction], route: str, cohort: str, key: str = TEST_SECRET_KEY) -> Any:
    """The route's answer filtered to ``cohort``, in ``_expected``'s shape."""
    days = _viewing_days()
    query = {
        "/stats/top-events": f"{RANGE}&limit=50",
        "/stats/retention": f"start_date={FIRST}&windows=4&end_date={LAST}",
        "/stats/groups": f"{RANGE}&group_type=group&period=week",
        "/api/v1/analytics/content/popular": f"days={days}&limit=100",
        "/api/v1/analytics/trends": f"days={days}",
        "/api/v1/analytics/peak-hours": f"days={days}",
    }.get(route, RANGE)
    body = _get(functions, route, f"{query}&cohort={cohort}", key)
    if route in ("/stats/dau", "/stats/wau", "/stats/mau"):
        return [row["unique_users"] for row in body]
    if route == "/stats/top-events":
        return [(row["event_type"], row["count"]) for row in body]
    if route == "/stats/groups":
        return [row["unique_groups"] for row in body]
    if route.startswith("/api/"):
        return body[
            {"/api/v1/analytics/content/popular": "items", "/api/v1/analytics/trends": "trends"}.get(
                route, "hours"
            )
        ]
    return body


@pytest.mark.parametrize("definition", [PRO, BROWSERS], ids=["properties", "behavioural"])
def test_every_aggregate_report_in_a_cohort_counts_only_its_persons(
    persons: Dataset, functions: dict[str, LocalFunction], definition: dict[str, Any]
) -> None:
    # Given the default project's events, its merged persons, and a cohort saved with its key
    events = persons.events[DEFAULT_PROJECT]
    people = Persons(events)
    members = _members(events, people, definition)
    everyone = {people.of(e.user_id) for e in events}
    assert 0 < len(members) < len(everyone)
    assert any(people.of(x) != x for x in people.parent if people.of(x) in members)  # merged ids among them
    cohort = _save(functions, definition)
    # When each aggregate report is asked for, filtered to the cohort
    in_cohort = [e for e in events if people.of(e.user_id) in members]
    for route in ROUTES:
        got = _answer(functions, route, cohort)
        # Then it equals the reference over the cohort's persons' events only (every id of theirs)
        assert got == _expected(route, in_cohort, people), route
    # And the unfiltered report still counts everyone (the filter is not the default)
    assert _answer(functions, "/stats/mau", cohort) != reference.active_persons(
        events, people, "month", FIRST, LAST
    )


@pytest.mark.parametrize("segment", ["event_type:page_view", "properties.country:UA", "source:viewing"])
def test_a_cohort_and_segments_combine(
    persons: Dataset, functions: dict[str, LocalFunction], segment: str
) -> None:
    # Given a cohort of the persons on the pro plan
    events = persons.events[DEFAULT_PROJECT]
    people = Persons(events)
    members = _members(events, people, PRO)
    cohort = _save(functions, PRO)
    in_cohort = reference.select([e for e in events if people.of(e.user_id) in members], people, segment)
    # When DAU, WAU and retention are asked for with a segment and the cohort
    for route, period in (("/stats/dau", "day"), ("/stats/wau", "week")):
        body = _get(functions, route, f"{RANGE}&segment={quote(segment)}&cohort={cohort}")
        # Then only the cohort's events that pass the segment count
        want = reference.active_persons(in_cohort, people, period, FIRST, LAST)
        assert [row["unique_users"] for row in body] == want, route
    query = f"start_date={FIRST}&windows=4&end_date={LAST}&segment={quote(segment)}&cohort={cohort}"
    assert _get(functions, "/stats/retention", query) == reference.retention(
        in_cohort, people, FIRST, 4, LAST
    )


def test_a_cohort_of_another_project_is_not_found(
    persons: Dataset, functions: dict[str, LocalFunction]
) -> None:
    # Given a cohort saved with the default project's key, and one saved with the other project's
    ours = _save(functions, PRO)
    theirs = _save(functions, PRO, key=OTHER_SECRET_KEY)
    for route in ROUTES:
        query = "days=7" if route.startswith("/api/") else RANGE
        if route == "/stats/retention":
            query = f"start_date={FIRST}"
        for cohort, key in (
            (ours, OTHER_SECRET_KEY),
            (theirs, TEST_SECRET_KEY),
            ("coh_0000000000000000", TEST_SECRET_KEY),
        ):
            # When a report is asked for with a cohort the key's project does not have
            status, body = _request(functions, "GET", route, f"{query}&cohort={cohort}", key)
            # Then it is 404 naming the parameter, and nothing of the cohort is shown
            assert status == 404, (route, body)
            assert body["error"]["field"] == "cohort", body
    # And with its own key each project's cohort answers
    assert _request(functions, "GET", "/stats/dau", f"{RANGE}&cohort={theirs}", OTHER_SECRET_KEY)[0] == 200
