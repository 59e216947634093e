"""export: warehouse → Parquet partitions; incremental, idempotent, crash-safe (chDB, files, moto S3)."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from eventlens.components import Components
from eventlens.keys import DEFAULT_PROJECT
from eventlens.ml.contracts import ProjectRun
from eventlens.ml.export import (
    MANIFESTS,
    PREFIX,
    WATERMARK_KEY,
    export_events,
    partition_keys,
)
from eventlens.ml.export import read_watermark as project_watermark
from eventlens.ml.layout import ProjectObjects
from eventlens.objectstore import LocalObjectStore, ObjectStore
from tests.ml.conftest import LAST_DAY, in_project

FIRST = LAST_DAY - timedelta(days=20)


def default_run(**fields: object) -> ProjectRun:
    """An export request of the default project."""
    return ProjectRun.model_validate({"project_id": DEFAULT_PROJECT, **fields})


def read_watermark(objects: ObjectStore) -> date | None:
    return project_watermark(ProjectObjects(objects, DEFAULT_PROJECT))


@pytest.fixture
def loaded(components: Components, shopper_rows: pa.Table) -> Components:
    """The last three weeks of the shoppers' events in this test's warehouse (the default project)."""
    days = pc.cast(shopper_rows.column("ts"), pa.date32())
    recent = shopper_rows.filter(pc.greater_equal(days, pa.scalar(FIRST, pa.date32())))
    components.warehouse.insert_arrow("events", in_project(recent))
    return components


def snapshot_of(objects: ObjectStore) -> dict[str, bytes]:
    return {key: objects.get(key) for key in objects.list(PREFIX)}


class CrashingStore:
    """A store that dies (like a killed Lambda) on its n-th put, before writing anything of it."""

    def __init__(self, inner: ObjectStore, crash_on_put: int) -> None:
        self.inner, self.left = inner, crash_on_put

    def put(self, key: str, data: bytes) -> None:
        self.left -= 1
        if self.left == 0:
            raise SystemExit("killed mid-export")
        self.inner.put(key, data)

    def __getattr__(self, name: str):  # get, list, delete, ping
        return getattr(self.inner, name)


def test_export_writes_one_partition_per_day_with_a_manifest(loaded: Components) -> None:
    # Given three weeks of events in the warehouse
    stored = loaded.warehouse.query("SELECT count() AS n FROM events").column("n")[0].as_py()

    # When they are exported through the last day
    result = export_events(loaded.warehouse, loaded.objects, default_run(until=LAST_DAY))

    # Then every event is in exactly one day partition, and the manifest says what the run holds
    keys = partition_keys(ProjectObjects(loaded.objects, DEFAULT_PROJECT))
    assert result.rows == stored
    assert {k.split("/")[2] for k in keys} == {f"date={FIRST + timedelta(days=i)}" for i in range(21)}
    table = pa.concat_tables(pq.read_table(io.BytesIO(loaded.objects.get(k))) for k in keys)
    assert table.num_rows == stored and len(set(table.column("event_id").to_pylist())) == stored
    manifest = json.loads(loaded.objects.get(f"{MANIFESTS}/{FIRST}_{LAST_DAY}.json"))
    assert manifest["rows"] == stored and manifest["watermark"] == LAST_DAY.isoformat()
    assert [f["key"] for f in manifest["files"]] == keys
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert read_watermark(loaded.objects) == LAST_DAY


def test_rerun_over_the_same_range_writes_byte_identical_objects(loaded: Components) -> None:
    # Given a finished export of a range
    request = default_run(start=FIRST, until=LAST_DAY)
    export_events(loaded.warehouse, loaded.objects, request)
    first = snapshot_of(loaded.objects)

    # When the same range is exported again (a retried task, a manual backfill)
    export_events(loaded.warehouse, loaded.objects, request)

    # Then every object, manifest and watermark included, has the same bytes
    assert snapshot_of(loaded.objects) == first


@pytest.mark.parametrize("window_rows", [900, 2500])
def test_windows_of_a_few_rows_write_the_same_objects_as_one_window(
    loaded: Components, tmp_path_factory: pytest.TempPathFactory, window_rows: int
) -> None:
    # Given the same range exported in one window, and in windows of a few hundred rows: at 900 some
    # days are larger than a window (alone in theirs), at 2500 windows hold two or three days; each
    # window read while the one before is written
    request = default_run(start=FIRST, until=LAST_DAY)
    whole = LocalObjectStore(tmp_path_factory.mktemp("whole"))
    small = LocalObjectStore(tmp_path_factory.mktemp("small"))
    per_day = (
        loaded.warehouse.query("SELECT toDate(ts) AS d, count() AS n FROM events GROUP BY d ORDER BY d")
        .column("n")
        .to_pylist()
    )
    assert min(per_day) < 900 < max(per_day) and 2 * max(per_day) < 2500  # both kinds of window
    one = export_events(loaded.warehouse, whole, request, window_rows=10_000_000)
    many = export_events(loaded.warehouse, small, request, window_rows=window_rows)
    # Then both wrote the same objects, byte for byte, and the same manifest
    assert snapshot_of(small) == snapshot_of(whole)
    assert many == one


def test_duplicates_in_the_warehouse_are_exported_once(loaded: Components, shopper_rows: pa.Table) -> None:
    # Given a day whose events were stored twice (ReplacingMergeTree keeps them until a merge)
    one_day = {"d": LAST_DAY}
    day_rows = loaded.warehouse.query("SELECT count() AS n FROM events FINAL WHERE day = {d:Date}", one_day)
    again = loaded.warehouse.query(
        "SELECT project_id, event_id, user_id, event_type, ts, source, properties, received_at FROM events "
        "WHERE day = {d:Date}",
        one_day,
    )
    loaded.warehouse.insert_arrow("events", again)

    # When that day is exported
    result = export_events(loaded.warehouse, loaded.objects, default_run(start=LAST_DAY, until=LAST_DAY))

    # Then each event is in the partition once
    assert result.rows == day_rows.column("n")[0].as_py()


def test_incremental_export_starts_after_the_watermark(loaded: Components) -> None:
    # Given an export through the middle of the range
    middle = FIRST + timedelta(days=10)
    export_events(loaded.warehouse, loaded.objects, default_run(until=middle))
    before = snapshot_of(loaded.objects)

    # When the next (scheduled) run exports through the last day, and one more runs after it
    result = export_events(loaded.warehouse, loaded.objects, default_run(until=LAST_DAY))
    idle = export_events(loaded.warehouse, loaded.objects, default_run(until=LAST_DAY))

    # Then the second run wrote only the days after the watermark, and the third nothing
    assert (result.start, result.end, result.watermark) == (middle + timedelta(days=1), LAST_DAY, LAST_DAY)
    assert {f.day for f in result.files} == {middle + timedelta(days=i) for i in range(1, 11)}
    after = snapshot_of(loaded.objects)
    assert all(after[k] == v for k, v in before.items() if k != WATERMARK_KEY)
    assert idle.rows == 0 and idle.files == [] and idle.watermark == LAST_DAY


@pytest.mark.parametrize("crash_on_put", [1, 7, 22])  # the first part, a middle part, the manifest
def test_crashed_export_leaves_only_whole_objects_and_a_rerun_completes_it(
    loaded: Components, tmp_path, crash_on_put: int
) -> None:
    # Given the objects a clean export writes
    clean = LocalObjectStore(tmp_path / "clean")
    export_events(loaded.warehouse, clean, default_run(until=LAST_DAY))
    expected = snapshot_of(clean)

    # When an export dies on its n-th object write
    with pytest.raises(SystemExit):
        crashing = CrashingStore(loaded.objects, crash_on_put)
        export_events(loaded.warehouse, crashing, default_run(until=LAST_DAY))

    # Then what is visible is whole (each part identical to the clean run's), and no manifest or
    # watermark claims the run happened
    left = snapshot_of(loaded.objects)
    assert len(left) == crash_on_put - 1
    assert all(expected[key] == data for key, data in left.items())
    assert read_watermark(loaded.objects) is None
    assert not list(loaded.objects.list(MANIFESTS))
    assert not [p for p in (loaded.settings.objects_path).rglob(".tmp-*")]

    # And the next run writes exactly what the clean run wrote
    export_events(loaded.warehouse, loaded.objects, default_run(until=LAST_DAY))
    assert snapshot_of(loaded.objects) == expected


def test_export_to_an_s3_bucket(loaded: Components) -> None:
    # Given an S3 bucket (moto)
    import boto3
    from moto import mock_aws

    from eventlens.objectstore import S3ObjectStore

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="eventlens-data")
        bucket = S3ObjectStore("eventlens-data", client=s3)

        # When the export writes there, twice over the same range
        export_events(loaded.warehouse, bucket, default_run(start=FIRST, until=LAST_DAY))
        first = snapshot_of(bucket)
        export_events(loaded.warehouse, bucket, default_run(start=FIRST, until=LAST_DAY))

        # Then the bucket holds the same partitions, byte for byte, and the watermark
        assert len([k for k in first if k.endswith(".parquet")]) == 21
        assert snapshot_of(bucket) == first
        assert read_watermark(bucket) == LAST_DAY
        assert date.fromisoformat(json.loads(first[WATERMARK_KEY])["last_day"]) == LAST_DAY


def test_a_large_object_goes_up_as_a_multipart_upload_and_reads_back_whole() -> None:
    # Given an S3 bucket (moto) and an object of 2.5 parts (an export part of a busy day)
    import os

    import boto3
    from moto import mock_aws

    from eventlens.objectstore import MULTIPART_BYTES, S3ObjectStore

    data = os.urandom(MULTIPART_BYTES * 5 // 2)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="eventlens-data")
        bucket = S3ObjectStore("eventlens-data", client=s3)

        # When it is put, and a small one beside it
        bucket.put("exports/big.parquet", data)
        bucket.put("exports/small.json", b"{}")

        # Then the large one went up in 3 parts (its ETag says so), the small one in one PUT, and both
        # read back whole
        assert s3.head_object(Bucket="eventlens-data", Key="exports/big.parquet")["ETag"].endswith('-3"')
        assert "-" not in s3.head_object(Bucket="eventlens-data", Key="exports/small.json")["ETag"]
        assert bucket.get("exports/big.parquet") == data
