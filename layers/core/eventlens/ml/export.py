"""export: one project's events in the warehouse → Parquet in object storage, one partition per day.

Layout under the project's root (``eventlens.ml.layout``: ``projects/<project_id>/``, or the store's
root for the ``default`` project, whose objects stayed where they were before projects — the reasons
are in that module), after Hive partitioning, so Athena, DuckDB or ClickHouse's ``s3()`` read it as a
table::

    exports/events/date=2026-01-31/part-00000.parquet
    exports/events/_manifests/2026-01-01_2026-01-31.json   what one run wrote: rows, files, checksums
    exports/events/_watermark.json                         the last day exported

Each project has its own watermark and manifests; a run reads only its project's rows
(``project_id = {project:String}``, the leading key of ``events``), and the Parquet holds no project
column (the object's place names its project, and the default project's bytes stay those it had).
The pipeline's first state asks :func:`projects_to_train` which projects to run for.

Guarantees:

* incremental: a run starts the day after the watermark and ends at ``until`` (default yesterday,
  UTC: a day is exported once it is over);
* idempotent: a day's rows are read with ``FINAL`` (each event once) in a total order and written
  with fixed Parquet options and fixed names, so a re-run over the same range writes byte-identical
  objects, and a day that shrank loses its surplus parts;
* crash-safe: each object appears whole (``ObjectStore.put`` is atomic); the manifest is written
  after the parts and the watermark last, so a crashed run leaves complete, re-writable parts, no
  manifest and the old watermark — the next run writes the same days again.
"""

from __future__ import annotations

import hashlib
import io
import json
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from eventlens.ml.contracts import (
    ExportedFile,
    ExportRequest,
    ExportResult,
    ExportSummary,
    PipelineInput,
    ProjectRun,
    ProjectsRequest,
    ProjectsResult,
)
from eventlens.ml.layout import ProjectObjects
from eventlens.objectstore import ObjectStore
from eventlens.settings import Settings
from eventlens.warehouse import Warehouse

PREFIX = "exports/events"
WATERMARK_KEY = f"{PREFIX}/_watermark.json"
MANIFESTS = f"{PREFIX}/_manifests"
# A query reads whole days, at most this many rows together (or one day alone, if it has more), and
# the next window is read while this one is written: two windows in memory at most. Month-sized windows
# (before) held a month of events at once: at 100M events a year, ~8M rows, ~3 GB of Arrow, in a
# function given 2 GB (bench/scale.py: the bench's export peaked at 9,063 MiB).
WINDOW_ROWS = 500_000

_DAY_ROWS = """
SELECT toString(event_id) AS event_id, user_id, toString(event_type) AS event_type, ts,
       toString(source) AS source, properties, received_at, day, toString(country) AS country,
       session_id, item, amount
FROM events FINAL
WHERE project_id = {project:String} AND toDate(ts) >= {start:Date} AND toDate(ts) <= {end:Date}
ORDER BY day, ts, event_id
SETTINGS do_not_merge_across_partitions_select_final = 1
"""
# FINAL: each event once, even before merges. An event's key holds its day, so duplicates never
# span monthly partitions, and FINAL may skip merging across them (2–3× cheaper here). The days are
# named as the sort key has them (toDate(ts), not the `day` column), so a window reads its own
# months' partitions and granules only, not the whole table (a year's export: 12 scans before).
# Each day's rows, to cut windows (no FINAL: duplicates a merge has not removed yet only make a window
# smaller); the same pruning by toDate(ts), reading that one column.
_DAY_COUNTS = """
SELECT toDate(ts) AS day, count() AS n
FROM events
WHERE project_id = {project:String} AND toDate(ts) >= {start:Date} AND toDate(ts) <= {end:Date}
GROUP BY day
ORDER BY day
"""
_FIRST_DAY = "SELECT min(day) AS first FROM events WHERE project_id = {project:String}"
# The projects with events the model learns from (project_id leads the sort key: a cheap read).
_PROJECTS = """
SELECT DISTINCT project_id FROM events
WHERE source = {source:String} AND day <= {end:Date}
ORDER BY project_id
"""


def run_step(
    warehouse: Warehouse,
    objects: ObjectStore,
    step: ProjectsRequest | ExportRequest,
    settings: Settings,
    today: date | None = None,
) -> ProjectsResult | ExportSummary:
    """The export function's two steps, chosen by the state machine's ``action``."""
    if isinstance(step, ProjectsRequest):
        return projects_to_train(warehouse, step.request, settings, today)
    return export_events(warehouse, objects, step, settings.export_part_rows, today).summary()


def projects_to_train(
    warehouse: Warehouse, request: PipelineInput, settings: Settings, today: date | None = None
) -> ProjectsResult:
    """The execution's projects: the one it names, or every project with events of
    ``settings.ml_source`` (what the model learns from) up to the last day, in id order.

    The last day is fixed here, once (yesterday when the input gives none), so every project of a
    nightly run exports through the same day even when the run crosses midnight.
    """
    end = request.until or last_complete_day(today)
    if request.project_id is not None:
        names = [request.project_id]
    else:
        found = warehouse.query(_PROJECTS, {"source": settings.ml_source, "end": end})
        names = [str(name) for name in found.column("project_id").to_pylist()] if found.num_rows else []
    return ProjectsResult(
        projects=[ProjectRun(project_id=name, until=end, start=request.start) for name in names]
    )


def last_complete_day(today: date | None = None) -> date:
    """Yesterday (UTC): a day is exported once it is over."""
    return (today or datetime.now(UTC).date()) - timedelta(days=1)


def export_events(
    warehouse: Warehouse,
    store: ObjectStore,
    request: ProjectRun,
    part_rows: int = 1_000_000,
    today: date | None = None,
    window_rows: int = WINDOW_ROWS,
) -> ExportResult:
    """Export the project's days after its watermark (or from ``request.start``) through
    ``request.until``, into its part of ``store``."""
    objects = ProjectObjects(store, request.project_id)
    project = {"project": request.project_id}
    watermark = read_watermark(objects)
    end = request.until or last_complete_day(today)
    start = request.start or (watermark + timedelta(days=1) if watermark else _first_day(warehouse, project))
    if start is None or start > end:
        return ExportResult(start=None, end=None, rows=0, files=[], manifest_key=None, watermark=watermark)

    # Parts already there for these days: any the new run does not write again are surplus.
    existing = set(partition_keys(objects, start, end))
    files: list[ExportedFile] = []
    windows = _windows(warehouse, project, start, end, window_rows)
    # The warehouse reads the next window (in the engine, without Python's lock) while this one's
    # Parquet is written: one query at a time still, so a server client's session is never shared.
    with ThreadPoolExecutor(max_workers=1) as reader:

        def read(window: tuple[date, date]) -> Future[pa.Table]:
            first, last = window
            return reader.submit(warehouse.query, _DAY_ROWS, {**project, "start": first, "end": last})

        pending = read(windows[0]) if windows else None
        for index in range(len(windows)):
            assert pending is not None
            table = pending.result()
            pending = read(windows[index + 1]) if index + 1 < len(windows) else None
            for day, rows in _split_by_day(table):
                files.extend(_write_day(objects, day, rows, part_rows))
            del table
    for stale in sorted(existing - {f.key for f in files}):
        objects.delete(stale)

    manifest_key = f"{MANIFESTS}/{start.isoformat()}_{end.isoformat()}.json"
    new_watermark = max(end, watermark) if watermark else end
    result = ExportResult(
        start=start,
        end=end,
        rows=sum(f.rows for f in files),
        files=files,
        manifest_key=manifest_key,
        watermark=new_watermark,
    )
    objects.put(manifest_key, canonical_json(result.model_dump(mode="json", exclude={"manifest_key"})))
    objects.put(WATERMARK_KEY, canonical_json({"last_day": new_watermark.isoformat()}))
    return result


def read_watermark(objects: ProjectObjects) -> date | None:
    """The project's last day exported, or None before its first export."""
    try:
        return date.fromisoformat(json.loads(objects.get(WATERMARK_KEY))["last_day"])
    except KeyError:
        return None


def partition_keys(objects: ProjectObjects, first: date | None = None, last: date | None = None) -> list[str]:
    """The project's Parquet objects of the days in [first, last], in day order."""
    keys = []
    for key in objects.list(f"{PREFIX}/date="):
        if not key.endswith(".parquet"):
            continue
        day = partition_day(key)
        if (first is None or day >= first) and (last is None or day <= last):
            keys.append(key)
    return keys


def partition_day(key: str) -> date:
    """The day of a partition's object (``exports/events/date=D/part-N.parquet``)."""
    return date.fromisoformat(key[len(PREFIX) + len("/date=") :].split("/", 1)[0])


def _windows(
    warehouse: Warehouse, project: dict[str, str], start: date, end: date, window_rows: int
) -> list[tuple[date, date]]:
    """[first, last] day ranges covering the days with events from ``start`` to ``end``, in order, each
    of whole days holding at most ``window_rows`` rows together, or of one day that alone has more."""
    counts = warehouse.query(_DAY_COUNTS, {**project, "start": start, "end": end}).to_pylist()
    windows: list[tuple[date, date]] = []
    rows = 0
    for row in counts:
        day, count = row["day"], int(row["n"])
        if windows and rows + count <= window_rows:
            windows[-1] = (windows[-1][0], day)
            rows += count
        else:
            windows.append((day, day))
            rows = count
    return windows


def _first_day(warehouse: Warehouse, project: dict[str, str]) -> date | None:
    first = warehouse.query(_FIRST_DAY, project).column("first")[0].as_py()
    # min() over an empty table is the Date epoch, not NULL.
    return first if first and first > date(1970, 1, 1) else None


def _split_by_day(table: pa.Table) -> list[tuple[date, pa.Table]]:
    """Rows sorted by day → one slice per day (no copying)."""
    if table.num_rows == 0:
        return []
    import numpy as np

    days = table.column("day").cast(pa.int32()).to_numpy()
    bounds = np.flatnonzero(np.diff(days)) + 1
    starts = [0, *bounds.tolist()]
    ends = [*bounds.tolist(), table.num_rows]
    data = table.drop_columns(["day"])
    epoch = date(1970, 1, 1).toordinal()
    return [
        (date.fromordinal(int(days[s]) + epoch), data.slice(s, e - s))
        for s, e in zip(starts, ends, strict=True)
    ]


def _write_day(objects: ProjectObjects, day: date, rows: pa.Table, part_rows: int) -> list[ExportedFile]:
    written = []
    for file, data in day_parts(day, rows, part_rows):
        objects.put(file.key, data)
        written.append(file)
    return written


def day_parts(day: date, rows: pa.Table, part_rows: int) -> list[tuple[ExportedFile, bytes]]:
    """A day's rows (in export order) as the export writes them: parts of ``part_rows`` rows, named
    by their index, each with its manifest entry."""
    prefix = f"{PREFIX}/date={day.isoformat()}/"
    parts = []
    for index, offset in enumerate(range(0, rows.num_rows, part_rows)):
        part = rows.slice(offset, part_rows)
        data = events_parquet_bytes(part)
        file = ExportedFile(
            key=f"{prefix}part-{index:05d}.parquet",
            day=day,
            rows=part.num_rows,
            bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        parts.append((file, data))
    return parts


def parquet_bytes(table: pa.Table) -> bytes:
    """Parquet with fixed options: the same rows always give the same bytes."""
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(
        table.combine_chunks(),
        sink,
        compression="zstd",
        compression_level=3,
        row_group_size=256 * 1024,
        write_statistics=True,
        use_dictionary=True,
    )
    return sink.getvalue()


# Dictionary pages where values repeat; min/max statistics where readers filter (a reader skips a
# row group by ts or type). Trying a dictionary on ids and properties, and statistics on properties,
# were half of the export's time (py-spy, bench/scale.py), and bought nothing.
_DICTIONARY_COLUMNS = ("event_type", "source", "country")
_STATISTICS_COLUMNS = ("ts", "received_at", "event_type", "source", "country", "amount")


def events_parquet_bytes(table: pa.Table) -> bytes:
    """An export part's Parquet, with fixed options: the same rows always give the same bytes."""
    import pyarrow.parquet as pq

    names = set(table.column_names)
    sink = io.BytesIO()
    pq.write_table(
        table.combine_chunks(),
        sink,
        compression="zstd",
        compression_level=1,
        row_group_size=256 * 1024,
        use_dictionary=[name for name in _DICTIONARY_COLUMNS if name in names],
        write_statistics=[name for name in _STATISTICS_COLUMNS if name in names],
    )
    return sink.getvalue()


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
