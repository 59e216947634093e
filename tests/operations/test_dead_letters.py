"""Dead letters belong to a project: the one their record names (default when it names none), and
listing, replay and a person's erasure keep to it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from eventlens.components import Components
from eventlens.consume import store_records
from eventlens.deadletter import PENDING, REPLAYED, DeadLetter, erase_person_from_dead_letters
from eventlens.queue import QueuedRecord
from eventlens_tools import cli
from tests.conftest import OTHER_PROJECT

TOPIC = "raw-events"


def _event(user_id: str, project_id: str | None = None, **changes: Any) -> bytes:
    """An event as ingest writes it (with its project), or as another producer may (without one)."""
    event = {
        "event_id": "123e4567-e89b-12d3-a456-426614174000",
        "user_id": user_id,
        "type": "page_view",
        "timestamp": "2026-11-30T12:00:00Z",
        "source": "generic",
        "properties": {},
    }
    if project_id is not None:
        event["project_id"] = project_id
    return orjson.dumps(event | changes)


def _consume(components: Components, *values: tuple[bytes, bytes]) -> None:
    """Consume records of (key, value), one per offset from 0."""
    records = [QueuedRecord(TOPIC, 0, offset, 0, key, value) for offset, (key, value) in enumerate(values)]
    store_records(records, components.warehouse, components.dead_letters)


def _projects(components: Components, project_id: str | None = None) -> dict[int, str | None]:
    """The pending dead letters (of one project, or all), by offset: their project."""
    return {letter.offset: letter.project_id for _, letter in components.dead_letters.pending(project_id)}


def test_a_dead_letter_belongs_to_the_project_its_record_names(components: Components) -> None:
    # Given records that cannot be stored: one naming the other project, one naming none, one that is
    # not JSON, and one naming an empty project
    _consume(
        components,
        (b"u1", _event("u1", OTHER_PROJECT, type="")),
        (b"u1", _event("u1", timestamp="yesterday")),
        (b"u1", b"{not json"),
        (b"u1", _event("u1", "")),
    )
    # When the dead letters are read, all and per project
    # Then each has its record's project (default for none, no project for an empty one)
    assert _projects(components) == {0: OTHER_PROJECT, 1: "default", 2: "default", 3: None}
    assert _projects(components, OTHER_PROJECT) == {0: OTHER_PROJECT}
    assert _projects(components, "default") == {1: "default", 2: "default"}


def test_a_dead_letter_written_before_projects_is_its_records_project() -> None:
    # Given dead letters stored before they recorded a project
    def old(value: bytes) -> bytes:
        body = orjson.loads(DeadLetter(TOPIC, 0, 1, 1, b"u1", value, "type: missing or empty").to_json())
        del body["project_id"]
        return orjson.dumps(body)

    # When they are read / Then each is of the project its record names, default when it names none
    assert DeadLetter.from_json(old(_event("u1", OTHER_PROJECT, type=""))).project_id == OTHER_PROJECT
    assert DeadLetter.from_json(old(_event("u1", type=""))).project_id == "default"
    assert DeadLetter.from_json(old(b"[oops")).project_id == "default"


@pytest.fixture
def cli_environment(components: Components, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``eventlens`` command on this test's home and warehouse."""
    monkeypatch.setenv("EVENTLENS_HOME", str(components.settings.home_dir))
    monkeypatch.setenv("EVENTLENS_CHDB_PATH", str(components.settings.chdb_path))
    monkeypatch.setenv("CLICKHOUSE_DATABASE", components.settings.clickhouse_database)


def test_the_command_lists_and_replays_one_projects_dead_letters(
    components: Components, cli_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given dead letters of two projects
    _consume(
        components,
        (b"u1", _event("u1", OTHER_PROJECT, type="")),
        (b"u2", _event("u2", OTHER_PROJECT, type="")),
        (b"u1", _event("u1", "default", type="")),
    )
    capsys.readouterr()

    # When the other project's are listed, then replayed
    assert cli.main(["dead-letters", "list", "--project", OTHER_PROJECT]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert cli.main(["dead-letters", "replay", "--project", OTHER_PROJECT]) == 0
    replayed = capsys.readouterr().out

    # Then only the other project's were listed and replayed; the default project's is still pending
    assert [line.split("\t")[1:3] for line in listed] == [[OTHER_PROJECT, "type: missing or empty"]] * 2
    assert replayed.strip() == "replayed 2 dead letters"
    assert _projects(components) == {2: "default"}
    assert len(list(components.objects.list(REPLAYED))) == 2


def test_erasing_a_person_removes_their_dead_letters_in_their_project_only(components: Components) -> None:
    # Given dead letters naming u1 in the default project (by field, and by key for a record that is
    # not JSON), one of them replayed already, and others: u1's in the other project, u2's in default
    _consume(
        components,
        (b"u1", _event("u1", "default", type="")),
        (b"u1", _event("u1", type="", event_id="123e4567-e89b-12d3-a456-426614174001")),
        (b"u1", b"u1 ate the JSON"),
        (b"u1", _event("u1", OTHER_PROJECT, type="")),
        (b"u2", _event("u2", "default", type="")),
    )
    first = next(key for key, letter in components.dead_letters.pending() if letter.offset == 1)
    assert components.dead_letters.replay(components.queue, [first]) == 1

    # When u1 is erased from the default project's dead letters, twice
    erased = erase_person_from_dead_letters(components.dead_letters, "default", "u1")
    again = erase_person_from_dead_letters(components.dead_letters, "default", "u1")

    # Then the three letters of u1 there went, the replayed one too, and nothing else
    assert (erased, again) == (3, 0)
    assert _projects(components) == {3: OTHER_PROJECT, 4: "default"}
    assert list(components.objects.list(REPLAYED)) == []
    assert all(key.startswith(PENDING) for key, _ in components.dead_letters.pending())
