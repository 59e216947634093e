"""Every consumed batch leaves a 'done' row (what /health reads), whether or not it stored anything."""

from __future__ import annotations

import orjson

from eventlens.components import Components
from eventlens.consume import store_records
from eventlens.queue import QueuedRecord


def _done(components: Components) -> list[int]:
    rows = components.warehouse.query("SELECT rows FROM consume_batches WHERE state = 'done' ORDER BY at")
    return [int(n) for n in rows.column("rows").to_pylist()]


def test_a_batch_of_duplicates_is_recorded_as_handled(components: Components) -> None:
    # Given a batch stored once
    event = {
        "event_id": "123e4567-e89b-12d3-a456-426614174000",
        "user_id": "u",
        "type": "x",
        "timestamp": "2026-11-30T12:00:00Z",
        "source": "generic",
        "properties": {},
    }
    records = [QueuedRecord("t", 0, 0, 0, b"u", orjson.dumps(event))]
    store_records(records, components.warehouse, components.dead_letters)
    # When it is delivered again, and nothing new is in it
    again = store_records(records, components.warehouse, components.dead_letters)
    # Then the second delivery stored nothing and still left a 'done' row
    assert again.stored == 0 and again.duplicates == 1
    assert _done(components) == [1, 0]
