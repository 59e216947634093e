"""The Reports Backend's import: users from a CRM PostgreSQL, telemetry from a Telemetry PostgreSQL,
into ClickHouse, for one project.

What one import does, in this order (everything it reads, removes or writes is of its project):

1. **Users, reloaded whole.** Every CRM user is copied into ``users_next`` under the project, and the
   project's partition of ``users`` (partitioned by project) is replaced from it in one
   ``REPLACE PARTITION``: readers see the project's old users or the new, never a partition half
   loaded, and no other project's users are touched.
2. **Telemetry of a window staged.** The Telemetry DB's rows with ``telemetry_start_ts <=
   event_timestamp < telemetry_end_ts`` (all rows without a window) land in ``telemetry_import``.
3. **What the window no longer holds, removed.** Stored imported telemetry in the window that the
   source no longer has or has changed, any stored row whose source row has changed (even when it
   moved out of the window), and every imported row of a user the CRM no longer has (orphans) are
   deleted, with the rollups they touched recomputed (``event_removal``).
4. **What is new, inserted.** Each row becomes a ``telemetry`` event of the project whose event_id is
   the UUID5 of its telemetry id, inserted unless the project stores that id already (``event_ids``,
   as consume does).

Persons erased and suppressed in the project (``DELETE /v1/persons/{user_id}``) are left out, as
consume drops their events: their CRM rows are not loaded, their telemetry is not inserted, and any
of it still stored is removed. One import runs at a time (``users_next`` and ``telemetry_import``
are work tables shared by every project).

Why this and not the Reports Backend's delete-the-window-then-insert: rows that did not change are
never deleted, so a report over the window never sees it emptied while an import runs, and a
re-import of the same data deletes and inserts nothing (deterministic ids + the event table's dedup
make it idempotent); the rollups stay exact because only really removed rows go through a delete.
Only a changed row is missing for the moment between its delete and its insert. Telemetry sent over HTTP (no
telemetry id) is never touched by an import.

PostgreSQL is read with ``COPY … TO STDOUT (FORMAT CSV)`` streamed into pyarrow's CSV reader, so
rows become Arrow columns without a Python object each; inserts go to ClickHouse in batches of
``batch_rows`` (200,000 by default). ``progress``, when given, is called with a stage (``users``,
``telemetry``) and the rows read from PostgreSQL for it so far, as they stream in, and once with
``removed`` and ``inserted`` and their counts (the ``eventlens import-postgres`` command draws its
progress from it; the layer itself shows nothing).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from eventlens.event_removal import remove_events
from eventlens.warehouse import Warehouse

DEFAULT_BATCH_ROWS = 200_000
# A project id as it may appear in DDL, which takes no bound parameters (REPLACE PARTITION): checked
# against this before it is written into a statement.
PROJECT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
Progress = Callable[[str, int], None]  # (stage, rows so far)
# Beyond any event timestamp: the window's ends when none is given.
_EARLIEST = datetime(1970, 1, 1)
_LATEST = datetime(2200, 1, 1)

# Timestamps leave PostgreSQL as microseconds since the epoch: exact, and the same for timestamp
# and timestamptz columns (a timestamp without zone is read as UTC, as the Reports Backend did).
_MICROS = "(extract(epoch FROM {column}) * 1000000)::bigint"

_USERS_COPY = (
    "COPY (SELECT user_id, user_uuid::text, name, email, age, gender, country, address, phone, "
    + _MICROS.format(column="registration_ts")
    + ", "
    + _MICROS.format(column="registered_at")
    + " FROM users) TO STDOUT (FORMAT CSV)"
)
_USER_COLUMNS: dict[str, pa.DataType] = {
    "user_id": pa.int64(),
    "user_uuid": pa.string(),
    "name": pa.string(),
    "email": pa.string(),
    "age": pa.int32(),
    "gender": pa.string(),
    "country": pa.string(),
    "address": pa.string(),
    "phone": pa.string(),
    "registration_ts": pa.int64(),
    "registered_at": pa.int64(),
}

_TELEMETRY_COPY = (
    "COPY (SELECT id, user_id, prosthesis_type, muscle_group, signal_frequency, signal_duration, "
    "signal_amplitude, "
    + _MICROS.format(column="event_timestamp")
    + ", "
    + _MICROS.format(column="saved_ts")
    + " FROM telemetry_events WHERE event_timestamp >= %(start)s AND event_timestamp < %(end)s)"
    " TO STDOUT (FORMAT CSV)"
)
_TELEMETRY_COLUMNS: dict[str, pa.DataType] = {
    "telemetry_id": pa.int64(),
    "user_id": pa.int64(),
    "prosthesis_type": pa.string(),
    "muscle_group": pa.string(),
    "signal_frequency": pa.int64(),
    "signal_duration": pa.int64(),
    "signal_amplitude": pa.float64(),
    "event_us": pa.int64(),
    "saved_us": pa.int64(),
}

_IN_WINDOW = "ts >= {start:DateTime64(6, 'UTC')} AND ts < {end:DateTime64(6, 'UTC')}"
_FIELDS = (
    "event_id, user_id, ts, prosthesis_type, muscle_group, "
    "signal_frequency, signal_duration, signal_amplitude"
)
_KNOWN_USERS = "SELECT toString(user_id) FROM users WHERE project_id = {project:String}"

# The project's stored imported rows the import removes: gone from or changed in the window, changed
# anywhere (a row that moved out of the window), of a user the project's CRM no longer has, or of a
# suppressed person.
_STALE = f"""
INSERT INTO events_removed (project_id, event_id, user_id, day, source)
SELECT project_id, event_id, user_id, toDate(ts), 'telemetry'
FROM telemetry_events
WHERE project_id = {{project:String}}
  AND telemetry_id IS NOT NULL
  AND (
      (({_IN_WINDOW}) OR event_id IN (SELECT event_id FROM telemetry_import_events))
      AND ({_FIELDS}) NOT IN (SELECT {_FIELDS} FROM telemetry_import_events)
      OR user_id NOT IN ({_KNOWN_USERS})
      OR has({{suppressed:Array(String)}}, user_id)
  )
"""

_PROPERTIES = """toJSONString(CAST(
    (prosthesis_type, muscle_group, signal_frequency, signal_duration, signal_amplitude, telemetry_id,
     toString(saved_ts)),
    'Tuple(prosthesis_type String, muscle_group String, signal_frequency Int64, signal_duration Int64,
           signal_amplitude Float64, telemetry_id Int64, saved_ts String)'
))"""

_NEW_EVENTS = f"""
SELECT {{project:String}} AS project_id, event_id, user_id, 'signal' AS event_type, ts, 'telemetry' AS source,
       {_PROPERTIES} AS properties, now64(3, 'UTC') AS received_at
FROM telemetry_import_events
WHERE user_id IN ({_KNOWN_USERS})
  AND NOT has({{suppressed:Array(String)}}, user_id)
  AND event_id NOT IN (
      SELECT event_id FROM event_ids
      WHERE project_id = {{project:String}}
        AND event_id IN (SELECT event_id FROM telemetry_import_events)
  )
"""
_INSERT_NEW = (
    "INSERT INTO events (project_id, event_id, user_id, event_type, ts, source, properties, received_at) "
    + _NEW_EVENTS
    + " SETTINGS parallel_view_processing = 1"
)

# A person's CRM rows: named by either of the CRM's ids (the numeric one is what their telemetry
# events carry as user_id).
_CRM_PERSON = (
    "project_id = {project:String} AND (toString(user_id) = {user_id:String} OR user_uuid = {user_id:String})"
)
_COUNT_CRM_PERSON = f"SELECT count() AS n FROM users FINAL WHERE {_CRM_PERSON}"
_ERASE_CRM_PERSON = (f"DELETE FROM users WHERE {_CRM_PERSON}", f"DELETE FROM users_next WHERE {_CRM_PERSON}")


@dataclass(frozen=True)
class ImportResult:
    users: int
    telemetry_read: int
    removed: int
    inserted: int


def import_postgres(
    warehouse: Warehouse,
    crm_dsn: str,
    telemetry_dsn: str,
    telemetry_start_ts: datetime | None = None,
    telemetry_end_ts: datetime | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
    *,
    project_id: str,
    suppressed: Collection[str] = (),
) -> ImportResult:
    """Import users and a window of telemetry (the whole table when no bound is given) into
    ``project_id``, leaving out the project's ``suppressed`` persons (user ids); see the module doc
    for what each step guarantees. Naive datetimes are UTC; the end is exclusive."""
    check_project_id(project_id)
    start = _naive_utc(telemetry_start_ts) or _EARLIEST
    end = _naive_utc(telemetry_end_ts) or _LATEST
    if start >= end:
        raise ValueError("telemetry_start_ts must be before telemetry_end_ts")
    left_out = sorted(suppressed)
    users = reload_users(warehouse, crm_dsn, batch_rows, progress, project_id=project_id, suppressed=left_out)
    read = stage_telemetry(warehouse, telemetry_dsn, start, end, batch_rows, progress)
    scope = {"project": project_id, "suppressed": left_out}
    warehouse.command(_STALE, {**scope, "start": start, "end": end})
    removed = remove_events(warehouse)
    if progress is not None:
        progress("removed", removed)
    counted = warehouse.query(f"SELECT count() AS n FROM ({_NEW_EVENTS})", scope)
    inserted = int(counted.column("n")[0].as_py())
    if inserted:
        warehouse.command(_INSERT_NEW, scope)
    if progress is not None:
        progress("inserted", inserted)
    warehouse.command("TRUNCATE TABLE telemetry_import")
    return ImportResult(users=users, telemetry_read=read, removed=removed, inserted=inserted)


def check_project_id(project_id: str) -> str:
    """``project_id`` when it may be written into DDL (``PROJECT_ID``); ValueError otherwise."""
    if not PROJECT_ID.fullmatch(project_id):
        raise ValueError("project id: 1 to 64 letters, digits, '_' or '-'")
    return project_id


def reload_users(
    warehouse: Warehouse,
    crm_dsn: str,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
    *,
    project_id: str,
    suppressed: Collection[str] = (),
) -> int:
    """Replace the project's partition of ``users`` with the CRM's users (but the ``suppressed``) in
    one atomic step; returns how many there are now."""
    partition = _partition_literal(project_id)
    warehouse.command("TRUNCATE TABLE users_next")
    loaded = 0
    read = _stage_progress("users", progress)
    left_out = pa.array(sorted(suppressed), pa.string())
    for batch in _copy_batches(crm_dsn, _USERS_COPY, None, _USER_COLUMNS, batch_rows, read, newlines=True):
        for column in ("registration_ts", "registered_at"):
            moments = pc.cast(batch.column(column), pa.timestamp("us", tz="UTC"))
            batch = batch.set_column(batch.schema.get_field_index(column), column, moments)
        if len(left_out):
            named = pc.or_(
                pc.is_in(pc.cast(batch.column("user_id"), pa.string()), value_set=left_out),
                pc.is_in(batch.column("user_uuid"), value_set=left_out),
            )
            batch = batch.filter(pc.invert(named))
        batch = batch.append_column("project_id", pa.array([project_id] * batch.num_rows, pa.string()))
        warehouse.insert_arrow("users_next", batch)
        loaded += batch.num_rows
    if loaded:
        warehouse.command(f"ALTER TABLE users REPLACE PARTITION {partition} FROM users_next")
    else:  # REPLACE PARTITION refuses an empty source; no users (left) in the CRM, none in the project
        warehouse.command(f"ALTER TABLE users DROP PARTITION {partition}")
    warehouse.command("TRUNCATE TABLE users_next")
    return loaded


def erase_person_from_crm(warehouse: Warehouse, project_id: str, user_id: str) -> int:
    """Erase a person's imported CRM rows from a project (named by the CRM's numeric user id, as their
    telemetry events name them, or by its user UUID); returns how many users were removed. Another
    project's CRM rows, of the same ids or not, are never touched. A re-import leaves the person out
    while they are suppressed (``import_postgres``'s ``suppressed``)."""
    params = {"project": project_id, "user_id": user_id}
    removed = int(warehouse.query(_COUNT_CRM_PERSON, params).column("n")[0].as_py())
    for statement in _ERASE_CRM_PERSON:  # users_next too: it holds a CRM copy while an import runs
        warehouse.command(statement, params)
    return removed


def stage_telemetry(
    warehouse: Warehouse,
    telemetry_dsn: str,
    start: datetime,
    end: datetime,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
) -> int:
    """Copy the Telemetry DB's rows of [start, end) into ``telemetry_import``; returns how many."""
    warehouse.command("TRUNCATE TABLE telemetry_import")
    staged = 0
    window = {"start": start, "end": end}
    read = _stage_progress("telemetry", progress)
    for batch in _copy_batches(telemetry_dsn, _TELEMETRY_COPY, window, _TELEMETRY_COLUMNS, batch_rows, read):
        warehouse.insert_arrow("telemetry_import", batch)
        staged += batch.num_rows
    return staged


def _copy_batches(
    dsn: str,
    statement: str,
    params: dict[str, Any] | None,
    columns: dict[str, pa.DataType],
    batch_rows: int,
    on_read: Callable[[int], None] | None = None,
    newlines: bool = False,
) -> Iterator[pa.Table]:
    """The rows of a ``COPY … TO STDOUT (FORMAT CSV)`` as Arrow tables of at least ``batch_rows``
    rows (the last one fewer), parsed by pyarrow as they stream in; ``on_read`` is told the rows
    read so far after each parsed block, and once more at the end."""
    import psycopg

    with (
        psycopg.connect(dsn, options="-c TimeZone=UTC") as connection,
        connection.cursor() as cursor,
        cursor.copy(statement, params) as copy,
    ):
        reader = pa_csv.open_csv(
            io.BufferedReader(_CopyStream(copy), buffer_size=1 << 20),
            read_options=pa_csv.ReadOptions(column_names=list(columns), block_size=16 << 20),
            # In PostgreSQL's CSV an unquoted empty field is NULL and "" an empty string.
            parse_options=pa_csv.ParseOptions(newlines_in_values=newlines),
            convert_options=pa_csv.ConvertOptions(
                column_types=columns, strings_can_be_null=True, quoted_strings_can_be_null=False
            ),
        )
        pending: list[pa.RecordBatch] = []
        rows = read = 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            read += batch.num_rows
            if on_read is not None:
                on_read(read)
            if rows >= batch_rows:
                yield pa.Table.from_batches(pending)
                pending, rows = [], 0
        if rows:
            yield pa.Table.from_batches(pending)
        if on_read is not None:
            on_read(read)


def _partition_literal(project_id: str) -> str:
    """The project's partition of ``users`` as a DDL literal (``PARTITION BY project_id``). DDL takes no
    bound parameters; the id is checked against ``PROJECT_ID`` (no quote or backslash can pass)."""
    return f"'{check_project_id(project_id)}'"


def _stage_progress(stage: str, progress: Progress | None) -> Callable[[int], None] | None:
    return None if progress is None else (lambda rows: progress(stage, rows))


class _CopyStream(io.RawIOBase):
    """A readable byte stream over psycopg's COPY data, which arrives a row or so at a time."""

    def __init__(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(target):
            if not self._pending:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending = memoryview(chunk).cast("B")
                continue
            n = min(len(target) - filled, len(self._pending))
            target[filled : filled + n] = self._pending[:n]
            self._pending = self._pending[n:]
            filled += n
        return filled


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
