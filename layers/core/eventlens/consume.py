"""Consume: queue records → ClickHouse, in large batches, each event_id stored once, at any kill point.

A record holds one event (a JSON object) or a user's events (a JSON array, as ingest writes them).

A batch of records is loaded into the session's ``incoming`` table in one insert and parsed there by
ClickHouse. Then, in this order (migration 0005 explains the tables), nine statements for a batch
without identity events, since each is a fixed cost paid per batch (records of 1-3 events make
batches of ~15-25k events):

1. **decide**: the batch's new events — valid, not in ``event_ids``, first of their id in the batch —
   are written to ``consume_stage`` under a fresh batch id (an event is new when its project does not
   hold its id yet; the events of a person erased and suppressed are dropped here), and a ``staged`` row in
   ``consume_batches`` seals that decision;
2. **store**: ``INSERT INTO events … FROM consume_stage``, which also fills the report rollups
   (materialized views);
3. **persons**: the identity pairs the batch's events said are stitched into persons, and the
   overlaps its merged persons' events touched are recomputed (``identity.after_store``); a batch
   with no event that can carry a pair, in projects without merged persons, skips the step;
4. **finish**: a ``done`` row, and the stage partition is dropped.

``events`` and each rollup commit on their own, so a process killed (or a warehouse that fails) inside
step 2 can leave some of them with the batch and some without. Before anything else, every consume
finishes the batches that were sealed but not done on the partitions it now holds (Kafka gives a
partition to one consumer at a time, so their consumer is gone): it removes the sealed batch's events
from ``events`` and every copy of them, recomputes the rollup rows they touch from ``events``
(``event_removal.py``, as the importer does), and stores the batch again. A stage that was never
sealed is dropped and decided again. Redelivery is then harmless: the redelivered events are in
``event_ids`` and count as duplicates.

The persons step is idempotent (it computes persons and overlaps from what is stored, so doing it
again changes nothing) and runs before the ``done`` row: a batch killed inside it is recovered like
one killed inside step 2, and recovery checks every identity pair of the batch's projects.

Why not ClickHouse's insert de-duplication tokens (``deduplicate_blocks_in_dependent_materialized_views``),
tried first: killed at random moments, a rollup sometimes lost a batch for good — the token's entry
in a table's de-duplication log can outlive the part it names, and the retry is then dropped as a
duplicate. A rebuild from ``events`` depends on nothing but what is stored. Its limit: while one
partition's batch is rebuilt, a consumer of another partition storing events of the same day and
source could be counted twice in the daily and hourly rollups (one consumer — ``eventlens local`` —
never races with itself).

Records that cannot be events go to the dead-letter store with their reason (keyed by topic,
partition and offset, so a retry rewrites the same objects); they never hold back the rest. A
warehouse failure raises, so the whole batch is redelivered.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from importlib import resources

import pyarrow as pa

from eventlens import hot_properties, identity
from eventlens.deadletter import DeadLetter, DeadLetterStore
from eventlens.event_removal import remove_events
from eventlens.events import SOURCES
from eventlens.queue import QueuedRecord
from eventlens.warehouse import Warehouse

# The hot property parts are generated from the one list of them (our own constants, no input).
_PARSE = (
    resources.files("eventlens.sql")
    .joinpath("parse_incoming.sql")
    .read_text()
    .replace("/*HOT_TUPLE_TYPE*/", hot_properties.parse_tuple_type())
    .replace("/*HOT_COLUMNS*/", hot_properties.parse_expressions("hot"))
)

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

_CREATE_PARSED = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS incoming_parsed
(
    topic       String,
    partition   Int32,
    offset      Int64,
    item_index  UInt32,
    key         String,
    raw         String,
    project_id  String,
    event_id    Nullable(UUID),
    user_id     String,
    event_type  String,
    ts          Nullable(DateTime64(3, 'UTC')),
    source      String,
    properties  String,
    received_at DateTime64(3, 'UTC'),
    {hot_properties.column_definitions()},
    reason      String
)
ENGINE = Memory
"""

# Parsed once per batch; every later statement reads the parsed rows.
_PARSE_INTO = "INSERT INTO incoming_parsed " + _PARSE

_REJECTED = (
    "SELECT topic, partition, offset, item_index, key, raw, project_id, reason FROM incoming_parsed"
    " WHERE reason != ''"
)

_COLUMNS = "project_id, event_id, user_id, event_type, ts, source, properties, received_at, " + (
    hot_properties.COLUMNS
)

# Step 1: the decision, sealed in the stage. Valid events whose id is not stored yet in their project,
# once each, except those of persons erased and suppressed (DELETE /v1/persons/{user_id}).
_SUPPRESSED = (
    "has(arrayZip({suppressed_projects:Array(String)}, {suppressed_users:Array(String)}),"
    " (project_id, user_id))"
)
_STAGE = f"""
INSERT INTO consume_stage (batch_id, topic, partition, offset, item_index, {_COLUMNS})
SELECT {{batch:String}}, topic, partition, offset, item_index,
       project_id, assumeNotNull(event_id) AS event_id, user_id, event_type, assumeNotNull(ts) AS ts, source,
       properties, received_at, {hot_properties.COLUMNS}
FROM incoming_parsed
WHERE reason = ''
  AND (project_id, assumeNotNull(event_id)) NOT IN (
      SELECT project_id, event_id FROM event_ids
      WHERE event_id IN (SELECT assumeNotNull(event_id) FROM incoming_parsed WHERE reason = '')
  )
  /*NOT_SUPPRESSED*/
ORDER BY partition, offset, item_index
LIMIT 1 BY project_id, event_id
"""
# Without erased persons to drop (nearly always), the filter is left out rather than bound empty.
_STAGE_SUPPRESSING = _STAGE.replace("/*NOT_SUPPRESSED*/", f"AND NOT {_SUPPRESSED}")
_STAGE = _STAGE.replace("/*NOT_SUPPRESSED*/", "")
_STAGED_ROWS = "SELECT count() AS n FROM consume_stage WHERE batch_id = {batch:String}"
# After staging, in one statement (one pass over the parsed batch, in memory): the batch's events,
# those rejected, those of erased persons, those staged, and what the persons step has to do
# (identity.after_store): whether a valid event can say that two ids are one person (a superset of
# what migration 0009's view keeps as pairs), and whether the batch's projects have merged persons.
_COUNTS = f"""
SELECT
    count() AS events,
    countIf(reason != '') AS rejected,
    countIf(reason = '' AND /*SUPPRESSED*/) AS dropped,
    (SELECT count() FROM consume_stage WHERE batch_id = {{batch:String}}) AS staged,
    countIf(reason = '' AND {identity.PAIR_CANDIDATE}) > 0 AS has_pairs,
    (SELECT count() > 0 FROM (
        SELECT 1 FROM person_overrides
        WHERE project_id IN (SELECT DISTINCT project_id FROM incoming_parsed WHERE reason = '')
        LIMIT 1
    )) AS has_merges
FROM incoming_parsed
"""
_COUNTS_SUPPRESSING = _COUNTS.replace("/*SUPPRESSED*/", _SUPPRESSED)
_COUNTS = _COUNTS.replace("/*SUPPRESSED*/", "0")
_MARK = (
    "INSERT INTO consume_batches (batch_id, topic_partitions, rows, state)"
    " VALUES ({batch:String}, {topic_partitions:Array(String)}, {rows:UInt64}, {state:String})"
)

# Step 2: the stage into `events`, filling the rollups. Never de-duplicated by the engine: a retried
# store first takes out whatever the killed one left (see recover_batches), so each row goes in once.
_STORE = f"""
INSERT INTO events ({_COLUMNS})
SELECT {_COLUMNS} FROM consume_stage
WHERE batch_id = {{batch:String}}
SETTINGS insert_deduplicate = 0, deduplicate_blocks_in_dependent_materialized_views = 0,
         parallel_view_processing = 1
"""
# Recovery lists the batch's events for removal (event_removal.py deletes them wherever they landed
# and recomputes the rollup rows they touch from `events`), then stores the batch again.
_LIST_FOR_REMOVAL = """
INSERT INTO events_removed (project_id, event_id, user_id, day, source)
SELECT project_id, event_id, user_id, toDate(ts), source FROM consume_stage WHERE batch_id = {batch:String}
"""
_DROP_STAGE = "ALTER TABLE consume_stage DROP PARTITION {batch:String}"

# Recovery, limited to the partitions this batch holds, in one statement (every batch asks it):
# - unfinished: batches sealed ('staged') but not 'done', oldest first;
# - stale: stages never sealed (killed while staging) or left behind by a batch killed after its
#   'done' row.
_LEFT_BEHIND = """
SELECT 'unfinished' AS kind, batch_id, min(at) AS since FROM consume_batches
WHERE hasAny(topic_partitions, {topic_partitions:Array(String)})
GROUP BY batch_id
HAVING countIf(state = 'done') = 0
UNION ALL
SELECT DISTINCT 'stale' AS kind, batch_id, toDateTime64(0, 3, 'UTC') AS since FROM consume_stage
WHERE concat(topic, ':', toString(partition)) IN {topic_partitions:Array(String)}
  AND batch_id NOT IN (
      SELECT batch_id FROM consume_batches GROUP BY batch_id
      HAVING countIf(state = 'staged') > 0 AND countIf(state = 'done') = 0
  )
"""


@dataclass(frozen=True)
class ConsumeResult:
    records: int
    events: int
    stored: int
    duplicates: int
    dead_lettered: int
    suppressed: int = 0  # events of erased persons, dropped


def store_records(
    records: Sequence[QueuedRecord],
    warehouse: Warehouse,
    dead_letters: DeadLetterStore,
    suppressed: Collection[tuple[str, str]] = (),
) -> ConsumeResult:
    """Store a batch of queue records as events; see the module doc for the guarantees. The events of
    the ``suppressed`` (project_id, user_id) persons are dropped (``eventlens.privacy``)."""
    if not records:
        return ConsumeResult(0, 0, 0, 0, 0)
    held = sorted({f"{r.topic}:{r.partition}" for r in records})
    recover_batches(warehouse, held)
    for create in (_CREATE_INCOMING, _CREATE_PARSED):
        warehouse.command(create)
    _clear(warehouse)
    warehouse.insert_arrow("incoming", _incoming_table(records))
    warehouse.command(_PARSE_INTO, {"sources": list(SOURCES)})

    persons = sorted(suppressed)
    erased = {"suppressed_projects": [p for p, _ in persons], "suppressed_users": [u for _, u in persons]}
    batch = uuid.uuid4().hex
    warehouse.command(_STAGE_SUPPRESSING if persons else _STAGE, {"batch": batch, **erased})
    counts = warehouse.query(_COUNTS_SUPPRESSING if persons else _COUNTS, {"batch": batch, **erased})
    found = {name: int(counts.column(name)[0].as_py()) for name in counts.column_names}
    stored = found["staged"]
    # Dead letters before the stage is sealed (a retry writes the same objects again); read only when
    # the counts say there are some.
    rejected = warehouse.query(_REJECTED).to_pylist() if found["rejected"] else []
    dead_letters.put_many([DeadLetter.from_row(row) for row in rejected])
    _clear(warehouse)
    if stored:
        _mark(warehouse, batch, held, stored, "staged")
        work = identity.PersonsWork(pairs=bool(found["has_pairs"]), merges=bool(found["has_merges"]))
        _finish(warehouse, batch, held, stored, work=work)
    else:  # nothing new (all duplicates or dead letters): still a batch handled, which /health reads
        _mark(warehouse, batch, held, 0, "done")
    return ConsumeResult(
        records=len(records),
        events=found["events"],
        stored=stored,
        duplicates=found["events"] - len(rejected) - stored - found["dropped"],
        dead_lettered=len(rejected),
        suppressed=found["dropped"],
    )


def recover_batches(warehouse: Warehouse, topic_partitions: Sequence[str]) -> int:
    """Finish the sealed batches of these partitions that a killed consume left; returns how many.

    Call it only while holding the partitions (their earlier consumer is gone).
    """
    left = warehouse.query(_LEFT_BEHIND, {"topic_partitions": list(topic_partitions)}).to_pylist()
    for row in left:
        if row["kind"] == "stale":
            warehouse.command(_DROP_STAGE, {"batch": row["batch_id"]})
    oldest_first = sorted(left, key=lambda row: row["since"])
    unfinished = [row["batch_id"] for row in oldest_first if row["kind"] == "unfinished"]
    for batch in unfinished:
        rows = int(warehouse.query(_STAGED_ROWS, {"batch": batch}).column("n")[0].as_py())
        warehouse.command(_LIST_FOR_REMOVAL, {"batch": batch})
        remove_events(warehouse)
        _finish(warehouse, batch, list(topic_partitions), rows, recovering=True)
    return len(unfinished)


def _finish(
    warehouse: Warehouse,
    batch: str,
    held: Sequence[str],
    rows: int,
    recovering: bool = False,
    work: identity.PersonsWork = identity.ALL_PERSONS_WORK,
) -> None:
    warehouse.command(_STORE, {"batch": batch})
    identity.after_store(warehouse, batch, recovering, work)
    _mark(warehouse, batch, held, rows, "done")
    warehouse.command(_DROP_STAGE, {"batch": batch})


def _mark(warehouse: Warehouse, batch: str, held: Sequence[str], rows: int, state: str) -> None:
    warehouse.command(_MARK, {"batch": batch, "topic_partitions": list(held), "rows": rows, "state": state})


def _clear(warehouse: Warehouse) -> None:
    for table in ("incoming", "incoming_parsed"):
        warehouse.command(f"TRUNCATE TABLE {table}")


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
