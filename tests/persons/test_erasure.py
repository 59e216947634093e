"""Erasing a person erases every distinct id of theirs: asked by any one id, the events of all, their
mapping, pairs, properties and overlaps go, and the reports equal the reference over what remains; the
other project's person of the same ids is untouched."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from eventlens.identity import LABELS
from eventlens.keys import DEFAULT_PROJECT
from eventlens.reports import activity, retention
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import OTHER_PROJECT, TEST_WRITE_KEY, load_event
from tests.persons import reference
from tests.persons.conftest import DAYS, END, Dataset, consume, send
from tests.persons.reference import Event, Persons

LAST = END.date()
FIRST = LAST - timedelta(days=DAYS - 1)


def _erase(functions: dict[str, LocalFunction], user: str) -> dict[str, Any]:
    event = load_event("persons_erase.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/persons/{user}"
    event["pathParameters"] = {"user_id": user}
    response = functions["persons"].invoke(event)
    assert response["statusCode"] == 200, response
    return dict(json.loads(response["body"]))


def _count(persons: Dataset, table: str, column: str, project: str, ids: list[str]) -> int:
    """Rows of ``table`` (our own names) in ``project`` whose ``column`` is one of ``ids``."""
    sql = (
        f"SELECT count() AS n FROM {table}"
        f" WHERE project_id = {{project:String}} AND {column} IN {{ids:Array(String)}}"
    )
    answer = persons.components.warehouse.query(sql, {"project": project, "ids": ids})
    return int(answer.column("n")[0].as_py())


def test_erasing_one_id_erases_the_whole_person(
    persons: Dataset, functions: dict[str, LocalFunction]
) -> None:
    # Given u017's anonymous id, of a person who is also u017, u008 (merged late) and u008's anonymous id
    events = persons.events[DEFAULT_PROJECT]
    people = Persons(events)
    person = people.of("anon-017-a")
    ids = sorted(x for x in people.parent if people.of(x) == person)
    assert {"u008", "u017", "anon-008-a", "anon-017-a"} <= set(ids)
    theirs = len([e for e in persons.events[OTHER_PROJECT] if e.user_id in ids])
    # When that one id is erased
    answer = _erase(functions, "anon-017-a")
    # Then every id's events, and what identity kept of them, are gone
    assert answer["removed"]["events"] == len([e for e in events if e.user_id in ids])
    assert answer["removed"]["merged_ids"] == len(ids)
    for table, column in (
        ("events", "user_id"),
        ("person_overrides", "distinct_id"),
        ("person_edges", "user_id"),
        ("person_edges", "other_id"),
        ("person_properties", "distinct_id"),
        ("group_members", "distinct_id"),
    ):
        assert _count(persons, table, column, DEFAULT_PROJECT, ids) == 0, table
    # And the reports equal the reference over the remaining events, persons and overlaps alike
    remaining = [e for e in events if e.user_id not in ids]
    left = Persons(remaining)
    warehouse = persons.components.warehouse
    labels = warehouse.query(LABELS, {"project": DEFAULT_PROJECT}).to_pylist()
    assert {r["distinct_id"]: r["person_id"] for r in labels} == left.merged()
    for period, report in (("day", activity.dau), ("week", activity.wau), ("month", activity.mau)):
        got = [row.unique_users for row in report(warehouse, DEFAULT_PROJECT, FIRST, LAST, [])]
        assert got == reference.active_persons(remaining, left, period, FIRST, LAST), period
    got_retention = retention.retention_cohorts(warehouse, DEFAULT_PROJECT, FIRST, 4, [], LAST)
    assert got_retention == reference.retention(remaining, left, FIRST, 4, LAST)
    # And the other project's events under the same ids are all still there
    assert _count(persons, "events", "user_id", OTHER_PROJECT, ids) == theirs > 0


def test_an_erased_persons_other_ids_stay_out(persons: Dataset, functions: dict[str, LocalFunction]) -> None:
    # Given a person of two ids, erased by one of them
    events = persons.events[DEFAULT_PROJECT]
    people = Persons(events)
    ids = sorted(x for x in people.parent if people.of(x) == people.of("u002"))
    assert len(ids) > 1
    _erase(functions, "u002")
    # When an event of their other id is sent again, later
    other = next(x for x in ids if x != "u002")
    late = Event("6f0c1a52-0000-4000-8000-00000000e2a5", other, "click", END, "generic", {})
    send(functions, "v1", [late], TEST_WRITE_KEY)
    consume(functions, persons.settings, "persons-test")
    # Then it is dropped: every id of the person is suppressed
    assert _count(persons, "events", "user_id", DEFAULT_PROJECT, ids) == 0
