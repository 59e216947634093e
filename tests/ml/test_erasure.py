"""erase_person_from_exports: a person's rows out of one project's exports and snapshots, leaving what an
export of the remaining events writes — crash-safe, idempotent, the other project untouched (chDB, files)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from eventlens.components import Components
from eventlens.keys import DEFAULT_PROJECT
from eventlens.ml import predict
from eventlens.ml.contracts import ProjectRun, SnapshotRequest
from eventlens.ml.erasure import erase_person_from_exports
from eventlens.ml.export import PREFIX, export_events, partition_keys
from eventlens.ml.layout import ProjectObjects
from eventlens.ml.snapshot import build_snapshots, snapshot_keys
from eventlens.objectstore import LocalObjectStore, ObjectStore
from tests.conftest import OTHER_PROJECT, isolated_settings, opened_components
from tests.ml.conftest import LAST_DAY, in_project

FIRST = LAST_DAY - timedelta(days=20)


@pytest.fixture(scope="module")
def recent(shopper_rows: pa.Table) -> pa.Table:
    """Three weeks of the shoppers' events."""
    days = pc.cast(shopper_rows.column("ts"), pa.date32())
    return shopper_rows.filter(pc.greater_equal(days, pa.scalar(FIRST, pa.date32())))


@pytest.fixture(scope="module")
def busiest(recent: pa.Table) -> dict:
    """The shopper with the most events on a single day (so erasing them shrinks that day): user_id,
    day, count."""
    days = pc.cast(recent.column("ts"), pa.date32())
    counts = pa.table({"user_id": recent.column("user_id"), "day": days}).group_by(["user_id", "day"])
    ranked = counts.aggregate([([], "count_all")]).sort_by(
        [("count_all", "descending"), ("user_id", "ascending")]
    )
    return ranked.slice(0, 1).to_pylist()[0]


@pytest.fixture(scope="module")
def person(busiest: dict) -> str:
    return str(busiest["user_id"])


@pytest.fixture(scope="module")
def part_rows(recent: pa.Table, busiest: dict) -> int:
    """A part size that splits the person's busiest day in parts, and in one once they are gone."""
    days = pc.cast(recent.column("ts"), pa.date32())
    day_total = pc.sum(pc.equal(days, pa.scalar(busiest["day"], pa.date32()))).as_py()
    return int(day_total - busiest["count_all"])


@pytest.fixture(scope="module")
def without_person(
    tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path, recent: pa.Table, person: str, part_rows: int
) -> Iterator[dict[str, bytes]]:
    """What exporting (and snapshotting) the default project writes when the person was never there."""
    settings = isolated_settings(tmp_path_factory.mktemp("erasure-reference"), chdb_dir)
    with opened_components(settings) as parts:
        rest = recent.filter(pc.not_equal(recent.column("user_id"), person))
        parts.warehouse.insert_arrow("events", in_project(rest))
        export_and_snapshot(parts, parts.objects, part_rows)
        yield everything(parts.objects)


@pytest.fixture
def both_projects(components: Components, recent: pa.Table) -> Components:
    """The three weeks in the default project and the same rows (same users) in the other project."""
    components.warehouse.insert_arrow("events", in_project(recent))
    components.warehouse.insert_arrow("events", in_project(recent, OTHER_PROJECT))
    return components


def export_and_snapshot(
    parts: Components, objects: ObjectStore, part_rows: int, project: str = DEFAULT_PROJECT
) -> None:
    run = ProjectRun(project_id=project, start=FIRST, until=LAST_DAY)
    export_events(parts.warehouse, objects, run, part_rows=part_rows)
    build_snapshots(objects, SnapshotRequest(project_id=project, as_of=LAST_DAY), parts.settings)


def everything(objects: ObjectStore, project: str = DEFAULT_PROJECT) -> dict[str, bytes]:
    """Every object of the project's part of the store, by its key there."""
    view = ProjectObjects(objects, project)
    return {key: view.get(key) for key in view.list()}


def rows_of(objects: ObjectStore, person: str, project: str = DEFAULT_PROJECT) -> int:
    view = ProjectObjects(objects, project)
    keys = partition_keys(view) + snapshot_keys(view)
    columns = [
        pq.read_table(io.BytesIO(view.get(key)), columns=["user_id"]).column("user_id") for key in keys
    ]
    return sum(pc.sum(pc.equal(column, person)).as_py() or 0 for column in columns)


class CrashingStore:
    """A store that dies (like a killed Lambda) on its n-th write or delete, before doing it."""

    def __init__(self, inner: ObjectStore, crash_on: int) -> None:
        self.inner, self.left = inner, crash_on

    def _step(self) -> None:
        self.left -= 1
        if self.left == 0:
            raise SystemExit("killed mid-erasure")

    def put(self, key: str, data: bytes) -> None:
        self._step()
        self.inner.put(key, data)

    def delete(self, key: str) -> None:
        self._step()
        self.inner.delete(key)

    def __getattr__(self, name: str):  # get, list, ping
        return getattr(self.inner, name)


class CountingStore(CrashingStore):
    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner, crash_on=0)
        self.writes = 0

    def _step(self) -> None:
        self.writes += 1


def test_erasure_leaves_what_an_export_without_the_person_writes(
    both_projects: Components, person: str, part_rows: int, without_person: dict[str, bytes]
) -> None:
    # Given the default project exported and snapshotted with the person in it, days in several parts,
    # and the other project, where the same user id has the same rows
    parts = both_projects
    export_and_snapshot(parts, parts.objects, part_rows)
    export_and_snapshot(parts, parts.objects, part_rows, OTHER_PROJECT)
    theirs = rows_of(parts.objects, person)
    other_before = everything(parts.objects, OTHER_PROJECT)
    before = everything(parts.objects)

    # When the person is erased from the default project's exports
    counts = erase_person_from_exports(parts.objects, DEFAULT_PROJECT, person)

    # Then every object (parts, manifest, watermark, snapshots) is byte for byte what an export and
    # snapshot of the remaining events write: a day that needed fewer parts lost its surplus one
    after = everything(parts.objects)
    assert after == without_person
    assert set(before) - set(after), "no day lost a part: the test's part size splits nothing"
    # and the counts say what went
    exported = [k for k in before if k.startswith(f"{PREFIX}/date=")]
    assert counts["export_rows"] + counts["snapshot_rows"] == theirs > 0
    assert counts["export_files"] == sum(before[k] != after.get(k) for k in exported)
    assert counts["snapshot_files"] == 2 and counts["snapshot_rows"] > 0
    assert rows_of(parts.objects, person) == 0
    # And the other project, where the same user id lives, is untouched
    assert everything(parts.objects, OTHER_PROJECT) == other_before
    assert rows_of(parts.objects, person, OTHER_PROJECT) == theirs


def test_erasing_again_finds_nothing_and_writes_nothing(
    both_projects: Components, person: str, part_rows: int
) -> None:
    # Given an erasure that finished
    parts = both_projects
    export_and_snapshot(parts, parts.objects, part_rows)
    erase_person_from_exports(parts.objects, DEFAULT_PROJECT, person)

    # When it is asked again
    store = CountingStore(parts.objects)
    counts = erase_person_from_exports(store, DEFAULT_PROJECT, person)

    # Then nothing is removed and no object is written
    assert counts == {"export_rows": 0, "export_files": 0, "snapshot_rows": 0, "snapshot_files": 0}
    assert store.writes == 0


def test_snapshots_rebuilt_from_the_erased_export_equal_the_erased_snapshots(
    both_projects: Components, person: str, part_rows: int
) -> None:
    # Given an erased project
    parts = both_projects
    export_and_snapshot(parts, parts.objects, part_rows)
    erase_person_from_exports(parts.objects, DEFAULT_PROJECT, person)
    view = ProjectObjects(parts.objects, DEFAULT_PROJECT)
    erased = {key: view.get(key) for key in snapshot_keys(view)}

    # When the snapshots are built again from the erased export
    build_snapshots(
        parts.objects, SnapshotRequest(project_id=DEFAULT_PROJECT, as_of=LAST_DAY), parts.settings
    )

    # Then they are the same bytes
    assert {key: view.get(key) for key in snapshot_keys(view)} == erased


@pytest.mark.parametrize("crash_on", ["first", "middle", "last"])
def test_an_erasure_cut_short_loses_no_other_row_and_asking_again_finishes_it(
    both_projects: Components,
    tmp_path: Path,
    person: str,
    part_rows: int,
    without_person: dict[str, bytes],
    crash_on: str,
) -> None:
    # Given an exported project, and how many writes and deletes its erasure makes
    parts = both_projects
    export_and_snapshot(parts, parts.objects, part_rows)
    rehearsal = LocalObjectStore(tmp_path / "rehearsal")
    for key, data in everything(parts.objects).items():
        rehearsal.put(key, data)
    counting = CountingStore(rehearsal)
    erase_person_from_exports(counting, DEFAULT_PROJECT, person)
    step = {"first": 1, "middle": counting.writes // 2, "last": counting.writes}[crash_on]
    events_kept = set(
        pa.concat_tables(
            [
                pq.read_table(io.BytesIO(data))
                for key, data in without_person.items()
                if key.endswith(".parquet") and key.startswith(f"{PREFIX}/date=")
            ]
        )
        .column("event_id")
        .to_pylist()
    )

    # When an erasure dies at its first, a middle or its last write or delete
    with pytest.raises(SystemExit):
        erase_person_from_exports(CrashingStore(parts.objects, step), DEFAULT_PROJECT, person)

    # Then every remaining event is still exported (some maybe twice, for now)
    view = ProjectObjects(parts.objects, DEFAULT_PROJECT)
    left = pa.concat_tables([pq.read_table(io.BytesIO(view.get(key))) for key in partition_keys(view)])
    assert events_kept <= set(left.column("event_id").to_pylist())

    # And asking again finishes it: the objects are what an export without the person writes
    erase_person_from_exports(parts.objects, DEFAULT_PROJECT, person)
    assert everything(parts.objects) == without_person


def test_served_predictions_lose_an_erased_person_once_the_cache_has_aged(
    served: Components, tmp_path: Path
) -> None:
    # Given a copy of an install with a promoted model, and two warm predict caches: one that keeps a
    # project's predictions for an hour, one that loads them again on every request
    store = LocalObjectStore(tmp_path / "objects")
    for key in served.objects.list():
        store.put(key, served.objects.get(key))
    hourly, always = predict.PredictorCache(max_age_s=3600), predict.PredictorCache(max_age_s=0)
    person = hourly.get(store, DEFAULT_PROJECT).user_ids[0]
    always.get(store, DEFAULT_PROJECT)

    # When the person is erased from the project's exports and snapshots
    erase_person_from_exports(store, DEFAULT_PROJECT, person)

    # Then predictions leave them out once a cache's predictions are older than its age (or forgotten)
    assert person not in always.get(store, DEFAULT_PROJECT).rows
    assert person in hourly.get(store, DEFAULT_PROJECT).rows  # a warm container, within the hour
    hourly.forget(store, DEFAULT_PROJECT)
    assert person not in hourly.get(store, DEFAULT_PROJECT).rows
    assert predict.users_page(hourly.get(store, DEFAULT_PROJECT), 0, 10_000).total == len(
        always.get(store, DEFAULT_PROJECT).user_ids
    )
