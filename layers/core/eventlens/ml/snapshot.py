"""snapshot: a project's exported Parquet → a training snapshot (with targets) and a daily snapshot.

Both live under the project's root (``eventlens.ml.layout``) and are built from its export only.

* training snapshot — ``snapshots/training/date=<as_of>/snapshot.parquet``: one row per active user
  at each of ``ml_training_dates`` dates, ``ml_date_step_days`` apart, the last one ``horizon`` days
  before ``as_of`` (so every target window is complete), with the targets of ``features.TARGETS``;
* daily snapshot — ``snapshots/daily/date=<as_of>/features.parquet``: the same features on
  ``as_of`` itself, without targets; the predict function scores it.

Both are pure functions of the export, written with fixed Parquet options: a re-run gives the same
bytes.
"""

from __future__ import annotations

import io
import time
from datetime import date, timedelta

import pyarrow as pa

from eventlens.ml import features
from eventlens.ml.contracts import SnapshotRequest, SnapshotResult
from eventlens.ml.export import parquet_bytes, partition_keys, read_watermark
from eventlens.ml.layout import ProjectObjects
from eventlens.objectstore import ObjectStore
from eventlens.settings import Settings

TRAINING_PREFIX = "snapshots/training"
DAILY_PREFIX = "snapshots/daily"
EVENT_COLUMNS = ["user_id", "event_type", "ts", "amount", "item"]


class NotEnoughHistory(ValueError):
    """The export does not reach far enough back (or forward) for a snapshot."""


def build_snapshots(store: ObjectStore, request: SnapshotRequest, settings: Settings) -> SnapshotResult:
    """Build and store the project's training and daily snapshots as of ``request.as_of`` (default:
    its watermark)."""
    started = time.perf_counter()
    objects = ProjectObjects(store, request.project_id)
    as_of = request.as_of or read_watermark(objects)
    if as_of is None:
        raise NotEnoughHistory(f"nothing of project {request.project_id} has been exported yet")
    dates = training_dates(
        as_of, settings.ml_horizon_days, settings.ml_training_dates, settings.ml_date_step_days
    )
    events = load_events(objects, dates[0] - timedelta(days=features.HISTORY_DAYS), as_of, settings.ml_source)
    if events.size == 0:
        raise NotEnoughHistory(
            f"no {settings.ml_source} events of project {request.project_id} exported up to {as_of}"
        )

    training = pa.concat_tables(
        [features.snapshot_table(events, day, settings.ml_horizon_days) for day in dates]
    )
    daily = features.snapshot_table(events, as_of)
    training_key = f"{TRAINING_PREFIX}/date={as_of.isoformat()}/snapshot.parquet"
    daily_key = f"{DAILY_PREFIX}/date={as_of.isoformat()}/features.parquet"
    objects.put(training_key, parquet_bytes(training))
    objects.put(daily_key, parquet_bytes(daily))
    positives = training.column("will_purchase").to_numpy().sum() if training.num_rows else 0
    return SnapshotResult(
        as_of=as_of,
        training_key=training_key,
        daily_key=daily_key,
        training_rows=training.num_rows,
        training_dates=dates,
        positive_rate=round(float(positives) / max(training.num_rows, 1), 4),
        daily_users=daily.num_rows,
        seconds=round(time.perf_counter() - started, 3),
    )


def training_dates(as_of: date, horizon_days: int, count: int, step_days: int) -> list[date]:
    """``count`` dates ``step_days`` apart, the last one ``horizon_days`` before ``as_of``."""
    last = as_of - timedelta(days=horizon_days)
    return [last - timedelta(days=step_days * k) for k in reversed(range(count))]


def load_events(objects: ProjectObjects, first: date, last: date, source: str) -> features.EventArrays:
    """The source's exported events of the days in [first, last], as sorted columns."""
    import pyarrow.parquet as pq

    tables = [
        pq.read_table(
            io.BytesIO(objects.get(key)),
            columns=[*EVENT_COLUMNS, "source"],
            filters=[("source", "=", source)],
        ).drop_columns(["source"])
        for key in partition_keys(objects, first, last)
    ]
    if not tables:
        return features.event_arrays(pa.table({c: pa.array([], pa.string()) for c in EVENT_COLUMNS}))
    return features.event_arrays(pa.concat_tables(tables))


def snapshot_keys(objects: ProjectObjects) -> list[str]:
    """Every snapshot of the project, training and daily."""
    return [
        key
        for prefix in (TRAINING_PREFIX, DAILY_PREFIX)
        for key in objects.list(f"{prefix}/date=")
        if key.endswith(".parquet")
    ]


def latest_daily_key(objects: ProjectObjects) -> str | None:
    """The project's newest daily snapshot, or None."""
    keys = [key for key in objects.list(f"{DAILY_PREFIX}/date=") if key.endswith("/features.parquet")]
    return keys[-1] if keys else None


def read_table(objects: ProjectObjects, key: str) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(objects.get(key)))
