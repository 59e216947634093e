"""Consume: queue records → ClickHouse, in large batches, each event_id stored once.

A batch of records is loaded into the session's ``incoming`` table in one insert, parsed there by
ClickHouse, and moved into ``events`` by one ``INSERT … SELECT`` that skips event_ids already stored
(and repeats inside the batch). Delivery is at-least-once; this makes storage exactly-once per
event_id, so a redelivered batch or a re-sent event counts once in every report, including the
materialized views fed by that insert.

Records that cannot be events go to the dead-letter store with their reason; they never hold back
the rest. A warehouse failure raises, so the whole batch is redelivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import pyarrow as pa

from eventlens.deadletter import DeadLetter, DeadLetterStore
from eventlens.events import SOURCES
from eventlens.queue import QueuedRecord
from eventlens.warehouse import Warehouse

_PARSE = resources.files("eventlens.sql").joinpath("parse_incoming.sql").read_text()

_CREATE_INCOMING = """
CREATE TEMPORARY TABLE IF NOT EXISTS incoming
(
    topic     String,
    partition Int32,
    offset    Int64,
    key       String,
    raw       String
)
ENGINE = Memory
"""

_REJECTED = f"SELECT topic, partition, offset, key, raw, reason FROM ({_PARSE}) WHERE reason != ''"

_NEW_EVENTS = f"""
SELECT event_id, user_id, event_type, ts, source, properties, received_at
FROM ({_PARSE})
WHERE reason = ''
  AND event_id NOT IN (
      SELECT event_id FROM event_ids
      WHERE event_id IN (SELECT toUUIDOrNull(JSONExtractString(raw, 'event_id')) FROM incoming)
  )
ORDER BY partition, offset
LIMIT 1 BY event_id
"""

_STORE = (
    "INSERT INTO events (event_id, user_id, event_type, ts, source, properties, received_at) " + _NEW_EVENTS
)
_COUNT_NEW = f"SELECT count() AS n FROM ({_NEW_EVENTS})"


@dataclass(frozen=True)
class ConsumeResult:
    records: int
    stored: int
    duplicates: int
    dead_lettered: int


def store_records(
    records: Sequence[QueuedRecord], warehouse: Warehouse, dead_letters: DeadLetterStore
) -> ConsumeResult:
    """Store a batch of queue records as events; see the module doc for the guarantees."""
    if not records:
        return ConsumeResult(0, 0, 0, 0)
    parameters = {"sources": list(SOURCES)}
    warehouse.command(_CREATE_INCOMING)
    warehouse.command("TRUNCATE TABLE incoming")
    warehouse.insert_arrow("incoming", _incoming_table(records))

    rejected = warehouse.query(_REJECTED, parameters).to_pylist()
    dead_letters.put_many([DeadLetter.from_row(row) for row in rejected])

    stored = int(warehouse.query(_COUNT_NEW, parameters).column("n")[0].as_py())
    if stored:
        warehouse.command(_STORE, parameters)
    warehouse.command("TRUNCATE TABLE incoming")
    return ConsumeResult(
        records=len(records),
        stored=stored,
        duplicates=len(records) - len(rejected) - stored,
        dead_lettered=len(rejected),
    )


def _incoming_table(records: Sequence[QueuedRecord]) -> pa.Table:
    return pa.table(
        {
            "topic": pa.array([r.topic for r in records], pa.string()),
            "partition": pa.array([r.partition for r in records], pa.int32()),
            "offset": pa.array([r.offset for r in records], pa.int64()),
            "key": pa.array([r.key for r in records], pa.binary()),
            "raw": pa.array([r.value for r in records], pa.binary()),
        }
    )
