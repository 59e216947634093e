"""Bad events are named and rejected; the good events beside them are queued (never a 500)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from eventlens.ingest import ingest_events
from eventlens.queue import EmbeddedQueue
from eventlens.settings import Settings


def _nested(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


def _ingest(tmp_path: Path, items: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    queue = EmbeddedQueue(tmp_path / "queue", "events")
    result = ingest_events(items, queue, Settings(EVENTLENS_HOME=tmp_path), project_id="default")
    queued = [e for r in queue.reader("inspect").poll(1000, 0) for e in orjson.loads(r.value)]
    return result, queued


def test_a_timestamp_past_the_last_utc_moment_is_rejected_and_its_neighbours_kept(tmp_path: Path) -> None:
    # Given a timestamp that would fall after 9999-12-31 in UTC, beside a good event
    items = [
        {"user_id": "u", "type": "x", "timestamp": "9999-12-31T23:59:59-01:00"},
        {"user_id": "u", "type": "y"},
    ]
    # When the batch is ingested
    result, queued = _ingest(tmp_path, items)
    # Then the one is rejected, naming the field, and the other is queued
    assert [(r.index, r.field) for r in result.rejected] == [(0, "timestamp")]
    assert [e["type"] for e in queued] == ["y"]


def test_properties_nested_past_what_can_be_stored_are_rejected_and_the_rest_kept(tmp_path: Path) -> None:
    # Given properties nested 300 levels deep between two good events of the same user
    items: list[dict[str, Any]] = [
        {"user_id": "u", "type": "before", "properties": _nested(200)},
        {"user_id": "u", "type": "deep", "properties": _nested(300)},
        {"user_id": "u", "type": "after"},
    ]
    # When the batch is ingested
    result, queued = _ingest(tmp_path, items)
    # Then only the deep one is rejected, on its properties, and the others are queued in order
    assert [(r.index, r.field) for r in result.rejected] == [(1, "properties")]
    assert result.accepted == 2
    assert [e["type"] for e in queued] == ["before", "after"]
