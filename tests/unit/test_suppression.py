"""Suppressed persons (an erasure's second half): consume drops their events, in their project only,
until the suppression is lifted; the store behaves the same embedded (SQLite) and on AWS (DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from eventlens.components import Components
from eventlens.consume import store_records
from eventlens.privacy import (
    DynamoPrivacyStore,
    ErasureRecord,
    PrivacyStore,
    SqlitePrivacyStore,
    Suppressions,
    person_hash,
)
from eventlens.queue import QueuedRecord
from tests.conftest import OTHER_PROJECT, moto_keys_table


@pytest.fixture(params=["sqlite", "dynamodb"])
def privacy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PrivacyStore]:
    if request.param == "sqlite":
        yield SqlitePrivacyStore(tmp_path / "keys.sqlite3")
        return
    with moto_keys_table() as client:
        yield DynamoPrivacyStore("keys", client)


def _record(offset: int, project: str, user: str, event_id: str) -> QueuedRecord:
    event: dict[str, Any] = {
        "project_id": project,
        "event_id": event_id,
        "user_id": user,
        "type": "view",
        "timestamp": "2026-11-30T12:00:00Z",
        "source": "generic",
        "properties": {},
    }
    return QueuedRecord("t", 0, offset, 0, user.encode(), orjson.dumps(event))


def _stored(components: Components) -> list[tuple[str, str]]:
    rows = components.warehouse.query("SELECT project_id, user_id FROM events ORDER BY project_id, user_id")
    return [(r["project_id"], r["user_id"]) for r in rows.to_pylist()]


def test_consume_drops_a_suppressed_persons_events_in_their_project_only(components: Components) -> None:
    # Given the same person id (and the same event id) in two projects, and a second person
    same_id = "123e4567-e89b-12d3-a456-426614174000"
    records = [
        _record(0, "default", "alice", same_id),
        _record(1, OTHER_PROJECT, "alice", same_id),
        _record(2, "default", "bob", "123e4567-e89b-12d3-a456-426614174001"),
    ]
    # When alice is suppressed in the default project and the batch is consumed
    components.privacy.set_suppressed("default", "alice", True)
    result = store_records(
        records, components.warehouse, components.dead_letters, components.suppressions.current()
    )
    # Then her event there is dropped; the other project's alice (same event id) and bob are stored
    assert _stored(components) == [("default", "bob"), (OTHER_PROJECT, "alice")]
    assert (result.stored, result.suppressed, result.duplicates) == (2, 1, 0)
    # And once lifted, the redelivered batch stores her event (it was never stored, so no duplicate)
    components.privacy.set_suppressed("default", "alice", False)
    again = store_records(
        records, components.warehouse, components.dead_letters, components.suppressions.current()
    )
    assert (again.stored, again.suppressed, again.duplicates) == (1, 0, 2)
    assert _stored(components) == [("default", "alice"), ("default", "bob"), (OTHER_PROJECT, "alice")]


def test_suppressions_are_read_again_only_when_they_changed(privacy: PrivacyStore) -> None:
    seen = Suppressions(privacy)
    assert seen.current() == frozenset()
    # Suppressing twice changes the set once; a person id holding '#' stays whole
    assert privacy.set_suppressed("p1", "user#1", True) is True
    assert privacy.set_suppressed("p1", "user#1", True) is False
    version = privacy.version()
    assert seen.current() == {("p1", "user#1")}
    privacy.set_suppressed("p2", "u", True)
    assert privacy.version() > version and seen.current() == {("p1", "user#1"), ("p2", "u")}
    # Lifting one leaves the other; lifting what is not suppressed changes nothing
    assert privacy.set_suppressed("p1", "user#1", False) is True
    assert privacy.set_suppressed("p1", "user#1", False) is False
    assert seen.current() == {("p2", "u")}


def test_the_audit_log_keeps_each_projects_erasures_without_the_person_id(privacy: PrivacyStore) -> None:
    at = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for job, project in (("j1", "p1"), ("j2", "p2"), ("j3", "p1")):
        record = ErasureRecord(job, project, person_hash(project, "alice"), "key_1", at, {"events": 3})
        privacy.add_erasure(record)
    logged = privacy.erasures("p1")
    assert [r.job_id for r in logged] == ["j1", "j3"]
    assert logged[0].removed == {"events": 3} and logged[0].key_id == "key_1"
    assert logged[0].person_hash == person_hash("p1", "alice") != person_hash("p2", "alice")
    assert "alice" not in repr(logged)
