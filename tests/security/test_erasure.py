"""Erasure through the real path: events in over the ingest handler, stored by the consume function,
erased by ``DELETE /v1/persons/{user_id}`` on the persons function, then read back over the report
routes. The same person id lives in a second project, which an erasure never touches."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson
import pyarrow.parquet as pq

from eventlens.components import Components
from eventlens.ml.contracts import ProjectRun
from eventlens.ml.export import export_events, partition_keys
from eventlens.ml.layout import ProjectObjects
from eventlens.msk import event_from_records
from eventlens.privacy import person_hash
from eventlens.queue import EmbeddedQueue
from eventlens_tools.cli import main as eventlens
from eventlens_tools.local.invoke import LocalFunction
from tests.conftest import (
    OTHER_PROJECT,
    OTHER_SECRET_KEY,
    OTHER_WRITE_KEY,
    TEST_SECRET_KEY,
    TEST_WRITE_KEY,
    http_event,
    load_event,
    response_json,
)

NOW = datetime.now(UTC).replace(microsecond=0)


def _events(user: str, count: int, tag: str) -> list[dict[str, Any]]:
    """Life Stream purchases and places of ``user``, a minute apart, ids unique per ``tag``."""
    events = []
    for i in range(count):
        kind = "purchase" if i % 2 else "geo"
        properties = (
            {"amount": 10.0 + i, "currency": "EUR", "item": f"coffee-{i}"}
            if kind == "purchase"
            else {"lat": 50.45 + i / 1000, "lon": 30.52, "place": "Kyiv"}
        )
        events.append(
            {
                "event_id": f"{tag}-{user}-{i}",
                "user_id": user,
                "type": kind,
                "source": "lifestream",
                "timestamp": (NOW - timedelta(minutes=count - i)).isoformat(),
                "properties": properties,
            }
        )
    return events


def _send(functions: dict[str, LocalFunction], key: str, events: list[dict[str, Any]]) -> None:
    response = functions["ingest"].invoke(http_event("ingest_v1_events.json", {"events": events}, key=key))
    assert response["statusCode"] == 202, response


def _consume(functions: dict[str, LocalFunction], components: Components) -> dict[str, int]:
    settings = components.settings
    reader = EmbeddedQueue(settings.queue_path, settings.kafka_topic).reader("erasure-test")
    totals = {"stored": 0, "suppressed": 0}
    while records := reader.poll(max_records=1_000, timeout_s=0):
        result = functions["consume"].invoke(event_from_records(records))
        for name in totals:
            totals[name] += result[name]
        reader.commit(records)
    return totals


def _erase(functions: dict[str, LocalFunction], user: str, key: str | None) -> tuple[int, Any]:
    event = load_event("persons_erase.json", key=key)
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/persons/{quote(user, safe='')}"
    event["pathParameters"] = {"user_id": quote(user, safe="")}
    response = functions["persons"].invoke(event)
    return response["statusCode"], response_json(response)


def _stream(functions: dict[str, LocalFunction], user: str, key: str) -> tuple[int, Any]:
    event = load_event("report_stream_events.json", key=key)
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/v1/stream/events/{user}"
    event["pathParameters"] = {"user_id": user}
    event["rawQueryString"], event["queryStringParameters"] = "limit=1000", {"limit": "1000"}
    response = functions["report"].invoke(event)
    return response["statusCode"], response_json(response)


def _broken(project: str, user: str) -> tuple[bytes, bytes]:
    """A queue record consume cannot store (no timestamp): it becomes a dead letter naming ``user``."""
    event = {
        "project_id": project,
        "event_id": str(uuid.uuid4()),
        "user_id": user,
        "type": "x",
        "properties": {},
    }
    return user.encode(), orjson.dumps(event)


def _exported(components: Components, project: str) -> dict[str, int]:
    """Rows per user in the project's exported Parquet partitions."""
    objects = ProjectObjects(components.objects, project)
    users: dict[str, int] = {}
    for key in partition_keys(objects):
        for user in pq.read_table(io.BytesIO(objects.get(key))).column("user_id").to_pylist():
            users[user] = users.get(user, 0) + 1
    return users


def _dead_letters(components: Components, project: str) -> list[str]:
    return [orjson.loads(letter.value)["user_id"] for _, letter in components.dead_letters.pending(project)]


def _rows(components: Components, table: str, project: str, user: str) -> int:
    sql = f"SELECT count() AS n FROM {table} WHERE project_id = {{p:String}} AND user_id = {{u:String}}"
    return int(components.warehouse.query(sql, {"p": project, "u": user}).column("n")[0].as_py())


def _indexed(components: Components, project: str) -> int:
    """Rows of the project in ``events_by_property`` (migration 0011), which names events, not users."""
    sql = "SELECT count() AS n FROM events_by_property WHERE project_id = {p:String}"
    return int(components.warehouse.query(sql, {"p": project}).column("n")[0].as_py())


def test_erasure_removes_a_person_from_their_project_only_and_keeps_them_out(
    components: Components, functions: dict[str, LocalFunction], capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("EVENTLENS_HOME", str(components.settings.home_dir))  # for the command
    # Given alice and bob in the default project, and another alice in a second project
    _send(functions, TEST_WRITE_KEY, _events("alice", 12, "a") + _events("bob", 8, "a"))
    _send(functions, OTHER_WRITE_KEY, _events("alice", 6, "a"))  # the same event ids, too
    components.queue.publish([_broken("default", "alice"), _broken(OTHER_PROJECT, "alice")])
    assert _consume(functions, components)["stored"] == 26
    # ... exported to Parquet, and with a dead letter each
    for project in ("default", OTHER_PROJECT):
        export_events(
            components.warehouse, components.objects, ProjectRun(project_id=project, until=NOW.date())
        )
    assert _exported(components, "default") == {"alice": 12, "bob": 8}
    assert _dead_letters(components, "default") == _dead_letters(components, OTHER_PROJECT) == ["alice"]
    _, bob_before = _stream(functions, "bob", TEST_SECRET_KEY)
    _, unknown = _stream(functions, "nobody", TEST_SECRET_KEY)

    # When the default project erases alice
    status, answer = _erase(functions, "alice", TEST_SECRET_KEY)

    # Then her twelve events are gone from it, everywhere the warehouse keeps events of her
    assert status == 200, answer
    assert answer["user_id"] == "alice" and answer["suppressed"] is True
    assert answer["removed"]["events"] == 12
    for table in ("events", "user_events"):
        assert _rows(components, table, "default", "alice") == 0
    # ... the property index included: it lists bob's 8 events only (amount and currency of a purchase,
    # lat, lon and place of a geo; item has a column of its own)
    assert _indexed(components, "default") == 4 * 2 + 4 * 3
    # And from the exported partitions (bob's rows kept), and her dead letter with them
    assert (answer["removed"]["export_rows"], answer["removed"]["dead_letters"]) == (12, 1)
    assert _exported(components, "default") == {"bob": 8}
    assert _dead_letters(components, "default") == []
    # And her stream answers as an unknown person's does; bob's is as it was
    assert _stream(functions, "alice", TEST_SECRET_KEY) == (200, {**unknown, "user_id": "alice"})
    assert _stream(functions, "bob", TEST_SECRET_KEY) == (200, bob_before)
    # And the second project's alice is untouched
    status, theirs = _stream(functions, "alice", OTHER_SECRET_KEY)
    assert status == 200 and len(theirs["events"]) == 6
    assert _rows(components, "events", OTHER_PROJECT, "alice") == 6
    assert _indexed(components, OTHER_PROJECT) == 3 * 2 + 3 * 3
    assert _exported(components, OTHER_PROJECT) == {"alice": 6}
    assert _dead_letters(components, OTHER_PROJECT) == ["alice"]

    # When alice's events arrive again (a retrying client, an old queue), they are dropped at consume
    _send(functions, TEST_WRITE_KEY, _events("alice", 4, "b"))
    assert _consume(functions, components) == {"stored": 0, "suppressed": 4}
    assert _rows(components, "events", "default", "alice") == 0

    # And the audit log holds the erasure: when, which key, the counts, the person only as a hash
    assert eventlens(["persons", "erasures", "--project", "default"]) == 0
    (logged,) = json.loads(capsys.readouterr().out)
    assert logged["job_id"] == answer["job_id"] and logged["removed"] == answer["removed"]
    assert logged["person_hash"] == person_hash("default", "alice")
    assert logged["key_id"].startswith("key_") and "alice" not in json.dumps(logged)

    # When the suppression is lifted, her new events are stored again (the erased ones stay erased)
    assert eventlens(["persons", "unsuppress", "--project", "default", "alice"]) == 0
    assert json.loads(capsys.readouterr().out)["was_suppressed"] is True
    _send(functions, TEST_WRITE_KEY, _events("alice", 2, "c"))
    assert _consume(functions, components) == {"stored": 2, "suppressed": 0}


def test_erasure_takes_a_secret_key_and_repeats_harmlessly(
    components: Components, functions: dict[str, LocalFunction]
) -> None:
    _send(functions, TEST_WRITE_KEY, _events("carol", 4, "a"))
    _consume(functions, components)
    # A request without a key, or with a write key, erases nothing
    assert _erase(functions, "carol", None)[0] == 401
    assert _erase(functions, "carol", TEST_WRITE_KEY)[0] == 403
    assert _rows(components, "events", "default", "carol") == 4
    # Asked twice, the second finds nothing left; an unknown person answers the same way
    first, second = _erase(functions, "carol", TEST_SECRET_KEY), _erase(functions, "carol", TEST_SECRET_KEY)
    assert (first[0], first[1]["removed"]["events"]) == (200, 4)
    assert (second[0], second[1]["removed"]["events"]) == (200, 0)
    unknown = _erase(functions, "never-seen", TEST_SECRET_KEY)
    assert unknown[0] == 200 and set(unknown[1]["removed"].values()) == {0}
