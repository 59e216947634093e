"""The Events Analytics API's CSV import: a file of events, through ingest's validation and publish,
imported once.

``python import_events.py /app/data/events.csv`` of the Events Analytics API becomes
``eventlens import-csv events.csv``. The header names the columns: ``occurred_at, user_id,
event_type, properties`` (a JSON object as text), and ``event_id`` when the file has one; any other
column refuses the file before anything is published.

What one import does:

1. **The batch key.** As the Events Analytics API: the sha256 of ``path:size:mtime`` (the resolved
   path, mtime in nanoseconds). When the ledger object ``imports/csv/<batch_key>.json`` exists,
   this very file was imported already and nothing is read again: the result says ``skipped``.
2. **Rows in chunks.** The file is streamed ``batch_size`` rows at a time (never whole); each chunk
   goes through ``ingest_events``, the same validation and all-or-nothing publish onto the queue as
   ``POST /v1/events``, so consume stores each event once. A bad row is rejected with its CSV line
   number and column; its neighbours are published.
3. **The ledger, last.** Only after every chunk was published is the ledger written (one atomic
   object put). A crashed import leaves no ledger and runs again in full; what it had published
   already is dropped downstream as duplicate event ids.

``progress``, when given, is called after each chunk with the rows read and the bytes of the file
read so far (the ``eventlens import-csv`` command draws its progress from it; the layer itself
shows nothing).

A row without an event_id gets one derived from the file's resolved path, its line number and its
text, so a re-run after a crash or of a touched but unchanged file sends the same ids again and
counts once. (The Events Analytics API's own batch key, path, size and mtime, changes on a touch;
the row's text does not.)
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from eventlens.events import EVENT_ID_NAMESPACE
from eventlens.ingest import ingest_events
from eventlens.objectstore import ObjectStore
from eventlens.queue import EventQueue
from eventlens.settings import Settings

LEDGER_PREFIX = "imports/csv/"
DEFAULT_BATCH_ROWS = 10_000

REQUIRED_COLUMNS = ("occurred_at", "user_id", "event_type", "properties")
COLUMNS = ("event_id", *REQUIRED_COLUMNS)
# Validation names the envelope's fields; a CSV rejection names the file's columns.
_COLUMN_OF_FIELD = {"timestamp": "occurred_at", "type": "event_type"}


class CsvFileError(ValueError):
    """A file that cannot be imported at all: its header, or a line the CSV reader cannot parse."""


class CsvRejection(BaseModel):
    """Why one row of the file was not imported: its line (the header is line 1), column and reason."""

    line: int
    field: str
    reason: str


class CsvImportResult(BaseModel):
    """What became of a file: rows read, events accepted, each rejected row, and whether the file
    was skipped as imported already (then nothing was read, and ``imported_at`` is the first time)."""

    path: str
    batch_key: str
    skipped: bool
    rows_read: int
    accepted: int
    rejected: list[CsvRejection]
    imported_at: datetime


def batch_key(path: Path) -> str:
    """The Events Analytics API's batch key: sha256 of ``resolved path:size:mtime_ns``; it changes
    when the file does."""
    resolved = path.resolve()
    stat = resolved.stat()
    return hashlib.sha256(f"{resolved}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()


def ledger_key(key: str, project_id: str) -> str:
    """Where the ledger of a file imported into a project is kept (one file may go to two projects)."""
    if project_id == "default":  # where the ledgers of imports before projects are
        return f"{LEDGER_PREFIX}{key}.json"
    return f"{LEDGER_PREFIX}{project_id}/{key}.json"


def import_csv_events(
    path: Path,
    queue: EventQueue,
    objects: ObjectStore,
    settings: Settings,
    batch_size: int = DEFAULT_BATCH_ROWS,
    progress: Callable[[int, int], None] | None = None,
    *,
    project_id: str,
) -> CsvImportResult:
    """Import the events of an Events Analytics API CSV file into ``project_id`` once; see the module
    doc for what each step guarantees.
    ``progress(rows_read, bytes_read)`` is called after each published chunk.

    Raises ``CsvFileError`` for a file that cannot be read as events (nothing of it is published
    when it is the header), and ``QueueUnavailable`` when the queue refuses a chunk (chunks before
    it were published; no ledger is written, so the next import runs the file again).
    """
    if not 1 <= batch_size <= settings.max_batch_events:
        raise ValueError(f"batch_size must be between 1 and {settings.max_batch_events}, not {batch_size}")
    resolved = path.resolve()
    key = batch_key(resolved)
    try:
        ledger = orjson.loads(objects.get(ledger_key(key, project_id)))
    except KeyError:
        pass
    else:  # this very file was imported already
        return CsvImportResult(
            path=str(resolved),
            batch_key=key,
            skipped=True,
            rows_read=0,
            accepted=0,
            rejected=[],
            imported_at=datetime.fromisoformat(ledger["imported_at"]),
        )

    rows_read = accepted = 0
    rejected: list[CsvRejection] = []
    pending: list[tuple[int, dict[str, Any]]] = []
    with open(resolved, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        for line, row in _csv_rows(resolved, text):
            rows_read += 1
            if isinstance(row, CsvRejection):
                rejected.append(row)
                continue
            pending.append((line, row))
            if len(pending) == batch_size:
                accepted += _publish(pending, queue, settings, rejected, project_id)
                pending = []
                if progress is not None:
                    progress(rows_read, raw.tell())
        if pending:
            accepted += _publish(pending, queue, settings, rejected, project_id)
        if progress is not None:
            progress(rows_read, raw.tell())
    if batch_key(resolved) != key:
        # The ledger would mark as done a version of the file that was not the one read.
        raise CsvFileError(f"{resolved} changed while it was imported; import it again")

    rejected.sort(key=lambda r: r.line)
    imported_at = datetime.now(UTC)
    stat = resolved.stat()
    ledger = {
        "path": str(resolved),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "rows_read": rows_read,
        "accepted": accepted,
        "rejected": len(rejected),
        "imported_at": imported_at.isoformat(),
    }
    objects.put(ledger_key(key, project_id), orjson.dumps(ledger))
    return CsvImportResult(
        path=str(resolved),
        batch_key=key,
        skipped=False,
        rows_read=rows_read,
        accepted=accepted,
        rejected=rejected,
        imported_at=imported_at,
    )


def _publish(
    chunk: list[tuple[int, dict[str, Any]]],
    queue: EventQueue,
    settings: Settings,
    rejected: list[CsvRejection],
    project_id: str,
) -> int:
    """Ingest one chunk (all its valid events or none, as HTTP ingest); adds its rejections by line."""
    result = ingest_events([item for _, item in chunk], queue, settings, project_id=project_id)
    rejected.extend(
        CsvRejection(line=chunk[r.index][0], field=_column(r.field), reason=r.reason) for r in result.rejected
    )
    return result.accepted


def _csv_rows(path: Path, handle: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, Any] | CsvRejection]]:
    """Each data row of the file at ``path``, read from ``handle`` (opened with ``newline=""``), with
    the line it starts on: an ingest item, or why it cannot be one."""
    reader = csv.reader(handle)
    try:
        header = _checked_header(next(reader, None))
        line = reader.line_num + 1
        for row in reader:
            if row:  # a blank line is no row
                yield line, _event_item(path, line, header, row)
            line = reader.line_num + 1
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CsvFileError(f"line {reader.line_num + 1}: {exc}") from None


def _checked_header(header: list[str] | None) -> list[str]:
    if not header:
        raise CsvFileError(f"the file has no header; it needs {', '.join(COLUMNS)}")
    names = [name.strip() for name in header]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise CsvFileError(f"unknown columns {', '.join(map(repr, unknown))}; the columns are {COLUMNS}")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise CsvFileError(f"missing columns {', '.join(missing)} (event_id may be left out)")
    return names


def _event_item(path: Path, line: int, header: list[str], row: list[str]) -> dict[str, Any] | CsvRejection:
    if len(row) != len(header):
        return CsvRejection(line=line, field="row", reason=f"has {len(row)} fields; the header {len(header)}")
    values = dict(zip(header, row, strict=True))
    if not values["occurred_at"].strip():
        # HTTP ingest stamps a missing moment with its own; an imported history would all land today.
        return CsvRejection(line=line, field="occurred_at", reason="is empty")
    text = values["properties"].strip()
    try:
        properties = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError as exc:
        return CsvRejection(line=line, field="properties", reason=f"is not valid JSON ({exc})")
    return {
        "event_id": values.get("event_id", "").strip() or row_event_id(path, line, row),
        "occurred_at": values["occurred_at"].strip(),
        "user_id": values["user_id"],
        "event_type": values["event_type"],
        "properties": properties,
    }


def row_event_id(path: Path, line: int, row: list[str]) -> str:
    """The id of a row without one: the same for the same file, line and text on every import."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"csv:{path}:{line}:{orjson.dumps(row).decode()}"))


def _column(field: str) -> str:
    head, dot, rest = field.partition(".")
    return _COLUMN_OF_FIELD.get(head, head) + dot + rest
