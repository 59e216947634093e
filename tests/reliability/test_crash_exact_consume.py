"""Consume stays exact under faults: killed with SIGKILL at random moments of a 100k-event backlog,
and with the warehouse failing before or after any one of its statements. After recovery every
report and every table consume fills equals those of an uninterrupted run, whose figures are in
turn checked against pandas over the distinct events."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from eventlens.components import Components
from eventlens.consume import store_records
from eventlens.errors import WarehouseError
from eventlens.hot_properties import SEGMENT_COLUMNS
from eventlens.ingest import ingest_events
from eventlens.queue import EmbeddedQueue, QueuedRecord
from eventlens.settings import Settings
from eventlens.warehouse import Warehouse
from eventlens_tools.generator import generate_events
from tests.conftest import ROOT, isolated_settings, opened_components
from tests.reliability.worker import GROUP, TOPIC, snapshot

KILLS = 12
EVENTS = 110_000


def _events(count: int, seed: int) -> list[dict[str, Any]]:
    return list(generate_events(users=4_000, days=90, seed=seed, end=datetime.now(UTC), max_events=count))


def _publish(queue: EmbeddedQueue, events: list[dict[str, Any]], seed: int) -> None:
    """Through ingest, as clients send: batches of 5,000, a tenth of them sent again later."""
    settings = Settings(EVENTLENS_HOME=Path("/nonexistent"))
    rng = random.Random(seed)
    for start in range(0, len(events), 5_000):
        batch = events[start : start + 5_000]
        ingest_events(
            batch + batch[:2], queue, settings, project_id="default"
        )  # a duplicate inside the batch
    ingest_events(
        rng.sample(events, len(events) // 10)[:10_000], queue, settings, project_id="default"
    )  # client retries


def _worker(*args: str) -> subprocess.Popen[str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _snapshot(home: Path, today: str, users: list[str]) -> dict[str, Any]:
    worker = _worker("snapshot", str(home), today, ",".join(users))
    out, _ = worker.communicate(timeout=300)
    assert worker.returncode == 0
    return dict(json.loads(out))


def _drain(home: Path) -> None:
    worker = _worker("consume", str(home))
    out, _ = worker.communicate(timeout=600)
    assert worker.returncode == 0 and out.rstrip().endswith("drained"), out[-300:]


def _kill_while_consuming(home: Path, rng: random.Random) -> bool:
    """Start a consume, SIGKILL it at a random moment after its first batch; True if it was killed."""
    worker = _worker("consume", str(home))
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.strip() in ("batch", "drained"):
            break
    if worker.poll() is not None or line.strip() == "drained":
        worker.communicate(timeout=60)
        return False
    try:
        worker.communicate(timeout=rng.uniform(0.05, 0.6))
        return False  # it drained before the moment came
    except subprocess.TimeoutExpired:
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=60)
        return True


@pytest.fixture(scope="module")
def backlog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """A queue holding 110k generated events (with in-batch and re-sent duplicates), unconsumed."""
    home = tmp_path_factory.mktemp("backlog")
    events = _events(EVENTS, seed=31)
    queue = EmbeddedQueue(home / "queue", TOPIC)
    _publish(queue, events, seed=32)
    queue.close()
    return home, events


def test_consume_killed_at_random_moments_stores_every_event_once(
    backlog: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    # Given the same backlog twice: one to consume without trouble, one to consume while being killed
    source, events = backlog
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    shutil.copytree(source, clean)
    shutil.copytree(source, crashed)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)

    # When the one is drained in one go, and the other is killed with SIGKILL again and again
    _drain(clean)
    kills = attempts = 0
    while kills < KILLS and attempts < 4 * KILLS:
        attempts += 1
        kills += _kill_while_consuming(crashed, rng)
    _drain(crashed)

    # Then the kills happened (seed printed on failure), and every report and table is the same
    assert kills == KILLS, f"only {kills} kills landed in {attempts} attempts (seed {seed})"
    today = datetime.now(UTC).date().isoformat()
    frame = pd.DataFrame(events).drop_duplicates("event_id")
    users = sorted(frame["user_id"].unique())[:: max(1, frame["user_id"].nunique() // 25)]
    expected, got = _snapshot(clean, today, users), _snapshot(crashed, today, users)
    assert got == expected, f"reports differ after {kills} kills (seed {seed})"
    # And the uninterrupted run itself counts each distinct event once, as pandas does
    distinct = len(frame)
    assert expected["tables"]["events"] == [{"n": distinct, "ids": distinct}]
    assert expected["tables"]["event_ids"] == [{"n": distinct}]
    frame["day"] = pd.to_datetime(frame["timestamp"], utc=True).dt.date.map(lambda d: d.isoformat())
    dau = frame.groupby("day")["user_id"].nunique()
    assert {r["date"]: r["unique_users"] for r in expected["dau"] if r["unique_users"]} == {
        day: int(n) for day, n in dau.items() if day >= expected["dau"][0]["date"]
    }
    meet = frame[frame["properties"].map(lambda p: p.get("action") == "meet")]
    assert {r["date"]: r["unique_users"] for r in expected["dau_meet"] if r["unique_users"]} == {
        day: int(n)
        for day, n in meet.groupby("day")["user_id"].nunique().items()
        if day >= expected["dau_meet"][0]["date"]
    }
    # (events_by_property lists every key of an event's properties but those with a column of their own)
    listed = sum(sum(key not in SEGMENT_COLUMNS for key in p) for p in frame["properties"])
    assert expected["tables"]["events_by_property"] == [{"n": listed}]
    top = frame[frame["day"] >= expected["mau"][0]["month"]].groupby("type").size()
    assert {r["event_type"]: r["count"] for r in expected["top_events"]} == {
        k: int(v) for k, v in top.items()
    }


class FailingWarehouse:
    """The real warehouse, made to fail at its ``fail_at``-th statement: before running it, or after
    it ran (the answer lost, as when the process dies right after the warehouse committed)."""

    def __init__(self, inner: Warehouse, fail_at: int, after: bool) -> None:
        self.inner, self.fail_at, self.after, self.calls = inner, fail_at, after, 0
        self.database = inner.database

    def _step(self, run: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_at and not self.after:
            raise WarehouseError(f"injected before statement {self.calls}")
        result = run()
        if self.calls == self.fail_at:
            raise WarehouseError(f"injected after statement {self.calls}")
        return result

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        self._step(lambda: self.inner.command(sql, parameters))

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> pa.Table:
        result: pa.Table = self._step(lambda: self.inner.query(sql, parameters))
        return result

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        self._step(lambda: self.inner.insert_arrow(table, data))

    def ping(self) -> bool:
        return self.inner.ping()

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def two_warehouses(tmp_path: Path, chdb_dir: Path) -> Iterator[tuple[Components, Components]]:
    with (
        opened_components(isolated_settings(tmp_path / "a", chdb_dir, "clean")) as clean,
        opened_components(isolated_settings(tmp_path / "b", chdb_dir, "faulty")) as faulty,
    ):
        yield clean, faulty


def _batches(events: list[dict[str, Any]], home: Path) -> list[list[QueuedRecord]]:
    queue = EmbeddedQueue(home / "queue", TOPIC)
    _publish(queue, events, seed=41)
    reader = queue.reader(GROUP)
    records = reader.poll(max_records=1_000_000, timeout_s=0)
    queue.close()
    size = max(1, len(records) // 45)
    return [records[start : start + size] for start in range(0, len(records), size)]


def test_a_warehouse_failure_before_or_after_any_statement_loses_and_doubles_nothing(
    two_warehouses: tuple[Components, Components], tmp_path: Path
) -> None:
    # Given batches of events, and how many statements a store of one batch takes
    clean, faulty = two_warehouses
    events = _events(12_000, seed=40)
    batches = _batches(events, tmp_path)
    counter = FailingWarehouse(clean.warehouse, fail_at=0, after=False)
    store_records(batches[0], counter, clean.dead_letters)
    for records in batches[1:]:
        store_records(records, clean.warehouse, clean.dead_letters)
    statements = counter.calls
    assert statements >= 10

    # When each batch is stored with the warehouse failing at one statement (every statement, before
    # and after, in turn), and the batch is then delivered again as Kafka would
    faults = [(k, after) for k in range(1, statements + 1) for after in (False, True)]
    failed = 0
    for index, records in enumerate(batches):
        fail_at, after = faults[index % len(faults)]
        try:
            store_records(records, FailingWarehouse(faulty.warehouse, fail_at, after), faulty.dead_letters)
        except WarehouseError:
            failed += 1
        store_records(records, faulty.warehouse, faulty.dead_letters)

    # Then every fault was tried, and every report and table equals the clean run's
    assert len(batches) >= len(faults) and failed >= len(faults) - 2
    today = datetime.now(UTC).date()
    users = sorted({e["user_id"] for e in events})[::40]
    assert snapshot(faulty.warehouse, today, users) == snapshot(clean.warehouse, today, users)
    distinct = len({e["event_id"] for e in events})
    assert snapshot(clean.warehouse, today, [])["tables"]["events"] == [{"n": distinct, "ids": distinct}]
