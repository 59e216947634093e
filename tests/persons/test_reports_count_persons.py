"""Every "unique users" figure of the reports counts persons: it equals a plain-Python computation over
the same events with the merges applied (tests/persons/reference.py), however the merges arrived."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from eventlens.identity import LABELS
from eventlens.keys import DEFAULT_PROJECT
from eventlens.manifest import HttpRoute
from eventlens.reports import activity, retention, viewing
from eventlens.reports.segments import parse_segments
from eventlens_tools.local.apigw import http_api_event
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import OTHER_PROJECT, OTHER_SECRET_KEY, TEST_SECRET_KEY
from tests.persons import reference
from tests.persons.conftest import DAYS, END, Dataset
from tests.persons.reference import Persons

PROJECTS = [DEFAULT_PROJECT, OTHER_PROJECT]
LAST = END.date()
FIRST = LAST - timedelta(days=DAYS - 1)
SEGMENTS = [
    None,
    "event_type:page_view",
    "properties.country:UA",
    "source:viewing",
    "properties.page:/p/2",
    "person.plan:pro",
    "person.plan:free,properties.country:PL",
    "person.seen:true",
    "person.first_plan:free",
]


def _persons(dataset: Dataset, project: str) -> Persons:
    return Persons(dataset.events[project])


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.model_dump(mode="json")))


def test_the_stored_events_are_the_sent_events(persons: Dataset) -> None:
    # Given events sent through /v1/events, Segment's and PostHog's routes, with duplicates and re-sends
    # When the default project's events are read back
    rows = persons.components.warehouse.query(
        "SELECT toString(event_id) AS id, user_id, event_type, properties FROM events"
        " WHERE project_id = {project:String}",
        {"project": DEFAULT_PROJECT},
    ).to_pylist()
    # Then each is stored once, as the reference has it (ids, type and properties)
    stored = {r["id"]: (r["user_id"], r["event_type"], json.loads(r["properties"])) for r in rows}
    sent = {e.event_id: (e.user_id, e.type, e.properties) for e in persons.events[DEFAULT_PROJECT]}
    assert len(rows) == len(stored) == len(sent)
    assert stored == sent


@pytest.mark.parametrize("project", PROJECTS)
def test_every_merged_id_maps_to_its_person(persons: Dataset, project: str) -> None:
    # Given the pairs each project's events said (chains, late and reordered merges, refused ids)
    want = _persons(persons, project).merged()
    # When the mapping is read
    rows = persons.components.warehouse.query(LABELS, {"project": project}).to_pylist()
    # Then every id of a person with several ids maps to the person's smallest id, and no other id does
    assert {r["distinct_id"]: r["person_id"] for r in rows} == want
    assert len(set(want.values())) > (10 if project == DEFAULT_PROJECT else 0)


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize("segment", SEGMENTS)
def test_dau_wau_mau_count_persons(persons: Dataset, project: str, segment: str | None) -> None:
    # Given each project's events, its persons, and a segment
    people = _persons(persons, project)
    events = reference.select(persons.events[project], people, segment)
    warehouse = persons.components.warehouse
    for period, report in (("day", activity.dau), ("week", activity.wau), ("month", activity.mau)):
        # When the report is asked for the whole history
        got = report(warehouse, project, FIRST, LAST, parse_segments(segment))
        # Then each period counts the persons active in it, once however many of their ids were
        want = reference.active_persons(events, people, period, FIRST, LAST)
        assert [row.unique_users for row in got] == want, period


def test_persons_count_once_where_their_ids_counted_apart(persons: Dataset) -> None:
    # Given the default project's persons
    people = _persons(persons, DEFAULT_PROJECT)
    events = persons.events[DEFAULT_PROJECT]
    # When ids are counted as persons and as ids, month by month
    ids = [len({e.user_id for e in events if e.day.replace(day=1) == m}) for m in (date(2025, 10, 1),)]
    got = activity.mau(
        persons.components.warehouse, DEFAULT_PROJECT, date(2025, 10, 1), date(2025, 10, 31), []
    )
    # Then the persons are fewer (visitors who signed up count once), and equal the reference's
    assert got[0].unique_users < ids[0]
    want = reference.active_persons(events, people, "month", date(2025, 10, 1), date(2025, 10, 31))
    assert [got[0].unique_users] == want


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize("segment", [None, "event_type:page_view", "person.plan:pro"])
def test_retention_counts_persons_from_their_first_id(
    persons: Dataset, project: str, segment: str | None
) -> None:
    # Given each project's events and persons
    people = _persons(persons, project)
    events = reference.select(persons.events[project], people, segment)
    # When weekly retention is asked for from the first week
    got = retention.retention_cohorts(
        persons.components.warehouse, project, FIRST, 4, parse_segments(segment), LAST
    )
    # Then a person's cohort is their earliest week under any id, and they count once a week
    assert got == reference.retention(events, people, FIRST, 4, LAST)


@pytest.mark.parametrize("project", PROJECTS)
def test_viewing_counts_viewers_as_persons(persons: Dataset, project: str) -> None:
    # Given each project's viewing events and persons
    people = _persons(persons, project)
    want = reference.viewing(persons.events[project], people, 30, LAST)
    warehouse = persons.components.warehouse
    # When popular content, the daily trends and the peak hours are asked for
    popular = viewing.popular_content(warehouse, project, 30, 100, LAST)
    trends = viewing.trends(warehouse, project, 30, LAST)
    peak = viewing.peak_hours(warehouse, project, 30, LAST)
    # Then their viewers are persons
    assert _plain(popular.items) == want["popular"]
    assert _plain(trends.trends) == want["trends"]
    assert _plain(peak.hours) == want["peak"]


def test_top_events_still_count_events(persons: Dataset) -> None:
    # Given the default project's events
    events = persons.events[DEFAULT_PROJECT]
    counts: dict[str, int] = {}
    for e in events:
        counts[e.type] = counts.get(e.type, 0) + 1
    want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    # When the top event types are asked for
    got = activity.top_events(persons.components.warehouse, DEFAULT_PROJECT, FIRST, LAST, 20, [])
    # Then each event counts once (identity calls are events too)
    assert [(r.event_type, r.count) for r in got] == want


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize(
    ("group_type", "period"), [("group", "day"), ("group", "week"), ("company", "month")]
)
def test_active_groups_count_groups_of_active_members(
    persons: Dataset, functions: dict[str, LocalFunction], project: str, group_type: str, period: str
) -> None:
    # Given group calls (Segment's, type group) and PostHog events carrying $groups (type company)
    events = persons.events[project]
    want = reference.active_groups(events, Persons(events), group_type, period, FIRST, LAST)
    # When the active groups are asked for over HTTP, with the project's key
    key = TEST_SECRET_KEY if project == DEFAULT_PROJECT else OTHER_SECRET_KEY
    query = f"from={FIRST}&to={LAST}&group_type={group_type}&period={period}"
    headers = [("authorization", f"Bearer {key}")]
    request = http_api_event(
        "GET", "/stats/groups", query, headers, b"", HttpRoute("GET", "/stats/groups"), {}
    )
    response = functions["report"].invoke(request)
    # Then each period counts the groups one of whose member persons (under any id) was active
    assert response["statusCode"] == 200, response
    assert [row["unique_groups"] for row in json.loads(response["body"])] == want
    assert sum(want) > 0 or project == OTHER_PROJECT
