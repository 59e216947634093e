"""Person properties and the mapping itself: what a person is said to be equals the reference's rules,
and delivering every batch again (at-least-once) changes nothing."""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from eventlens.components import PERSONS_MIGRATION
from eventlens.identity import ILLEGAL_IDS, LABELS, stitch
from eventlens.keys import DEFAULT_PROJECT
from eventlens.person_properties import person_property_values
from eventlens.reports import activity, retention
from eventlens.schema import available_migrations
from eventlens.warehouse import Warehouse, open_warehouse
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import OTHER_PROJECT, isolated_settings, opened_components
from tests.persons import reference
from tests.persons.conftest import DAYS, END, Dataset, consume
from tests.persons.reference import Persons

LAST = END.date()
FIRST = LAST - timedelta(days=DAYS - 1)


def _values(warehouse: Warehouse, project: str, path: list[str]) -> dict[str, Any]:
    keys = {f"k{i}": key for i, key in enumerate(path)}
    sql = person_property_values(", ".join(f"{{{name}:String}}" for name in keys))
    rows = warehouse.query(sql, {"project": project, **keys}).to_pylist()
    return {row["holder"]: json.loads(row["value"]) for row in rows}


@pytest.mark.parametrize("project", [DEFAULT_PROJECT, OTHER_PROJECT])
@pytest.mark.parametrize("path", [["plan"], ["first_plan"], ["seen"], ["country"], ["name"], ["nowhere"]])
def test_person_properties_follow_set_then_set_once_then_the_events(
    persons: Dataset, project: str, path: list[str]
) -> None:
    # Given traits sent as $set (some from the anonymous id before the merge, older), $set_once, and
    # event properties of persons never told a trait
    events = persons.events[project]
    # When each person's property is read
    got = _values(persons.components.warehouse, project, path)
    # Then it is the latest $set across their ids, else the first $set_once, else their latest event's
    assert got == reference.person_property(events, Persons(events), path)


def test_a_trait_set_before_signing_up_is_the_persons_until_a_later_one(persons: Dataset) -> None:
    # Given PostHog persons whose anonymous id said plan=trial (and seen=true) before they identified
    events = persons.events[DEFAULT_PROJECT]
    people = Persons(events)
    plans = _values(persons.components.warehouse, DEFAULT_PROJECT, ["plan"])
    seen = _values(persons.components.warehouse, DEFAULT_PROJECT, ["seen"])
    told = {e.user_id for e in events if e.type == "$identify" and "$anon_distinct_id" in e.properties}
    # Then the later identify's plan is the person's, and seen (told only before) stays theirs
    assert told
    for known in told:
        person = people.of(known)
        if people.of(f"anon-{known[1:]}-a") == person:
            assert plans[person] in ("free", "pro") and seen[person] is True


def _snapshot(warehouse: Warehouse) -> dict[str, Any]:
    def plain(rows: Any) -> Any:
        return json.loads(json.dumps(rows, default=lambda v: getattr(v, "model_dump", lambda: str(v))()))

    out: dict[str, Any] = {}
    for project in (DEFAULT_PROJECT, OTHER_PROJECT):
        out[project] = {
            "labels": sorted(map(str, warehouse.query(LABELS, {"project": project}).to_pylist())),
            "overlaps": warehouse.query(
                "SELECT period, start, toString(person) AS p, extra FROM person_overlaps FINAL"
                " WHERE project_id = {project:String} AND extra > 0 ORDER BY ALL",
                {"project": project},
            ).to_pylist(),
            "dau": plain(activity.dau(warehouse, project, FIRST, LAST, [])),
            "wau": plain(activity.wau(warehouse, project, FIRST, LAST, [])),
            "mau": plain(activity.mau(warehouse, project, FIRST, LAST, [])),
            "retention": retention.retention_cohorts(warehouse, project, FIRST, 4, [], LAST),
        }
    return plain(out)


def test_every_batch_delivered_again_changes_nothing(
    persons: Dataset, functions: dict[str, LocalFunction]
) -> None:
    # Given the stored events, persons and overlaps
    warehouse = persons.components.warehouse
    before = _snapshot(warehouse)
    assert before[DEFAULT_PROJECT]["overlaps"], "some person must have several ids active in one period"
    # When every record of the queue is consumed again (a consumer group that starts from the beginning)
    consume(functions, persons.settings, "persons-test-again")
    # Then nothing changed, and it is still the reference's
    assert _snapshot(warehouse) == before
    events = persons.events[DEFAULT_PROJECT]
    want = reference.active_persons(events, Persons(events), "day", FIRST, LAST)
    assert [row["unique_users"] for row in before[DEFAULT_PROJECT]["dau"]] == want


def test_events_stored_before_persons_existed_are_stitched_by_the_migration(
    tmp_path: Path, chdb_dir: Path
) -> None:
    # Given a warehouse at migration 8 holding SDK events that chain three ids (stored before 0009)
    settings = isolated_settings(tmp_path / "home", chdb_dir, prefix="premerge")
    old = open_warehouse(settings)
    old.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String,"
        " applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version"
    )
    for migration in available_migrations():
        if migration.version < PERSONS_MIGRATION:
            for statement in migration.statements:
                old.command(statement)
            old.command(
                "INSERT INTO schema_migrations (version, name) VALUES ({v:UInt32}, {n:String})",
                {"v": migration.version, "n": migration.name},
            )
    chain = [("u1", "$identify", {"$anon_distinct_id": "a1"}), ("a1", "$create_alias", {"alias": "a0"})]
    for user, kind, properties in chain:
        old.command(
            "INSERT INTO events (project_id, event_id, user_id, event_type, ts, source, properties,"
            " received_at) VALUES ('default', generateUUIDv4(), {u:String}, {k:String}, now64(3), 'posthog',"
            " {p:String}, now64(3))",
            {"u": user, "k": kind, "p": json.dumps(properties)},
        )
    old.close()
    # When eventlens opens it (and migrates it)
    with opened_components(settings) as parts:
        rows = parts.warehouse.query(LABELS, {"project": DEFAULT_PROJECT}).to_pylist()
    # Then the three ids are one person, named by the smallest
    assert {r["distinct_id"]: r["person_id"] for r in rows} == {"a0": "a0", "a1": "a0", "u1": "a0"}


def test_a_mapping_left_half_written_is_repaired_by_the_full_check(tmp_path: Path, chdb_dir: Path) -> None:
    # Given components of ids (pairs stored as events would store them), and mappings as writers cut
    # short or racing leave them: each id pointed at some smaller id of its component, or at none
    rng = random.Random(4)
    ids = [f"id{i:02d}" for i in range(40)]
    pairs = [(ids[i], ids[rng.randrange(40)]) for i in range(40) if rng.random() < 0.7]
    pairs = [(a, b) for a, b in pairs if a != b]
    people = Persons(
        reference.Event(
            f"00000000-0000-4000-8000-{i:012d}", a, "$merge_dangerously", END, "posthog", {"alias": b}
        )
        for i, (a, b) in enumerate(pairs)
    )
    settings = isolated_settings(tmp_path / "home", chdb_dir, prefix="halfway")
    with opened_components(settings) as parts:
        warehouse = parts.warehouse
        edges = pa.table(
            {
                "project_id": [DEFAULT_PROJECT] * len(pairs),
                "user_id": [a for a, _ in pairs],
                "other_id": [b for _, b in pairs],
            }
        )
        warehouse.insert_arrow("person_edges", edges)
        for _ in range(5):
            warehouse.command("TRUNCATE TABLE person_overrides")
            members = {
                x: sorted(y for y in people.parent if people.of(y) == people.of(x)) for x in people.parent
            }
            stale = {
                x: rng.choice([y for y in members[x] if y <= x]) for x in people.parent if rng.random() < 0.6
            }
            rows = pa.table(
                {
                    "project_id": [DEFAULT_PROJECT] * len(stale),
                    "distinct_id": list(stale),
                    "person_id": list(stale.values()),
                }
            )
            warehouse.insert_arrow("person_overrides", rows)
            # When every pair of the project is checked (what recovery does)
            stitch(warehouse, DEFAULT_PROJECT)
            # Then each component maps to its smallest id, whatever the mapping was
            got = warehouse.query(LABELS, {"project": DEFAULT_PROJECT}).to_pylist()
            assert {r["distinct_id"]: r["person_id"] for r in got} == people.merged()


def test_the_view_refuses_the_ids_identity_names() -> None:
    # Given the ids identity documents as never merging, and the materialized view of migration 0009
    sql = next(m for m in available_migrations() if m.version == PERSONS_MIGRATION).statements
    view = next(s for s in sql if "person_edges_mv" in s)
    # Then the view refuses exactly those (the same list at both places it names them) and the reference too
    lists = re.findall(r"NOT IN \(([^)]*)\)", view)
    assert len(lists) == 2
    for found in lists:
        assert set(re.findall(r"'([^']*)'", found)) == ILLEGAL_IDS == reference.ILLEGAL
