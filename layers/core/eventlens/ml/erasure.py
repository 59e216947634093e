"""erasure: a person's rows out of one project's exported Parquet and feature snapshots.

``erase_person_from_exports`` (called by the erasure of ``eventlens.persons``) leaves every object
as a run over the remaining events would have written it:

* **export partitions** — each day holding the person's rows is written again without them, split
  into parts as the export splits it (the part size is read off the day's first part), so the
  objects are byte-identical to what an export of the remaining events writes; parts the day no
  longer needs are deleted, and every manifest listing the day's files gets their new rows, sizes and
  checksums (or loses them);
* **snapshots** — the person's rows leave every training and daily snapshot. A user's features and
  targets are computed from that user's events only, and rows keep their order, so the result is
  the snapshot a rebuild from the erased export gives.

Crash-safe and idempotent, without a journal: a day is rewritten manifests first, then its parts
in order (each put replaces its object whole), then its surplus parts are deleted. Whatever a crash
leaves, the next call finds it from the data alone — the person's rows still in a part, or rows of a
day in two parts (a part rewritten, the next not yet) — and finishes that day: the day's parts are
read together in order and each ``event_id`` kept once, its first copy. Parts are rewritten in order
and each holds a run of the day's rows in export order, so the first copies are the day's rows in
export order again. Nothing is deleted before what replaces it is written, so no other person's row
is ever lost.
Calling it again after it finished finds nothing and changes nothing.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import date
from typing import Any

import pyarrow as pa

from eventlens.ml.contracts import ExportedFile
from eventlens.ml.export import (
    MANIFESTS,
    canonical_json,
    day_parts,
    parquet_bytes,
    partition_day,
    partition_keys,
)
from eventlens.ml.layout import ProjectObjects
from eventlens.ml.snapshot import snapshot_keys
from eventlens.objectstore import ObjectStore


def erase_person_from_exports(objects: ObjectStore, project_id: str, user_id: str) -> dict[str, int]:
    """Remove ``user_id``'s rows from ``project_id``'s exported partitions and snapshots.

    Returns the rows removed and the objects rewritten or deleted, by kind: ``export_rows``,
    ``export_files``, ``snapshot_rows``, ``snapshot_files``.
    """
    project = ProjectObjects(objects, project_id)
    manifests = _Manifests(project)
    days: dict[date, list[str]] = defaultdict(list)
    for key in partition_keys(project):
        days[partition_day(key)].append(key)
    counts = {"export_rows": 0, "export_files": 0, "snapshot_rows": 0, "snapshot_files": 0}
    for day, keys in days.items():
        rows, files = _erase_from_day(project, manifests, day, keys, user_id)
        counts["export_rows"] += rows
        counts["export_files"] += files
    for key in snapshot_keys(project):
        rows = _erase_from_snapshot(project, key, user_id)
        counts["snapshot_rows"] += rows
        counts["snapshot_files"] += rows > 0
    return counts


def _erase_from_day(
    objects: ProjectObjects, manifests: _Manifests, day: date, keys: list[str], user_id: str
) -> tuple[int, int]:
    """Rewrite one day's parts without the person; (rows removed, objects rewritten or deleted)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    stored = {key: objects.get(key) for key in keys}
    users = [
        pq.read_table(io.BytesIO(data), columns=["user_id"]).column("user_id") for data in stored.values()
    ]
    theirs = sum(pc.sum(pc.equal(column, user_id)).as_py() or 0 for column in users)
    if not theirs and not _split_twice(stored):
        return 0, 0

    tables = [pq.read_table(io.BytesIO(data)) for data in stored.values()]
    part_rows = max(tables[0].num_rows, 1)  # every part but a day's last is full
    day_rows = pa.concat_tables(tables)
    remaining = day_rows.filter(pc.not_equal(day_rows.column("user_id"), user_id))
    remaining = _first_of_each_event(remaining)
    parts = day_parts(day, remaining, part_rows)

    written = {file.key: file for file, _ in parts}
    surplus = [key for key in keys if key not in written]
    manifests.replace(written, surplus)
    changed = 0
    for file, data in parts:
        if stored.get(file.key) != data:
            objects.put(file.key, data)
            changed += 1
    for key in surplus:
        objects.delete(key)
    return theirs, changed + len(surplus)


def _split_twice(stored: dict[str, bytes]) -> bool:
    """Whether some event of the day is in two of its parts: a rewrite cut short by a crash."""
    if len(stored) < 2:
        return False
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    ids = pa.chunked_array(
        [pq.read_table(io.BytesIO(data), columns=["event_id"]).column("event_id") for data in stored.values()]
    )
    return bool(len(pc.unique(ids)) < len(ids))


def _first_of_each_event(table: pa.Table) -> pa.Table:
    """The table with each ``event_id`` once (its first row)."""
    import pyarrow.compute as pc

    ids = table.column("event_id")
    unique = pc.unique(ids)
    if len(unique) == len(ids):
        return table
    first = pc.index_in(unique, ids)  # the row of each distinct id's first copy
    return table.take(pc.take(first, pc.sort_indices(first)))


def _erase_from_snapshot(objects: ProjectObjects, key: str, user_id: str) -> int:
    """Rewrite one snapshot without the person's rows; the rows removed."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(objects.get(key)))
    keep = pc.not_equal(table.column("user_id"), user_id)
    removed = table.num_rows - (pc.sum(keep).as_py() or 0)
    if removed:
        objects.put(key, parquet_bytes(table.filter(keep)))
    return removed


class _Manifests:
    """The project's export manifests, read on first need, each rewritten when a file it lists changes."""

    def __init__(self, objects: ProjectObjects) -> None:
        self._objects = objects
        self._loaded: dict[str, dict[str, Any]] | None = None

    def replace(self, written: dict[str, ExportedFile], removed: list[str]) -> None:
        """Give the files of ``written`` their new entries and drop those of ``removed``, in every
        manifest listing them; the manifests' row counts follow."""
        if self._loaded is None:
            self._loaded = {
                key: json.loads(self._objects.get(key)) for key in self._objects.list(f"{MANIFESTS}/")
            }
        gone = set(removed)
        for key, manifest in self._loaded.items():
            files = manifest["files"]
            if not any(f["key"] in written or f["key"] in gone for f in files):
                continue
            files = [
                written[f["key"]].model_dump(mode="json") if f["key"] in written else f
                for f in files
                if f["key"] not in gone
            ]
            updated = {**manifest, "files": files, "rows": sum(f["rows"] for f in files)}
            if updated != manifest:
                self._objects.put(key, canonical_json(updated))
                self._loaded[key] = updated
