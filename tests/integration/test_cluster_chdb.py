"""Cluster mode's DDL run for real in chDB, as one host of a one-shard cluster on localhost.

What runs: every rendered CREATE / DROP / EXCHANGE with its Replicated engine (chDB's in-process test
Keeper), and the whole cluster-mode schema with plain engines under the Distributed tables, where the
real consume stores a backlog and every report answers as on one server. What does not (chDB cannot):
``ON CLUSTER`` itself, writes to Replicated tables, more than one shard. docs/sizing.md says more.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eventlens.cluster import SHARDING_KEYS, VIEW_FILLED
from eventlens.ingest import ingest_events
from eventlens.queue import EmbeddedQueue
from eventlens.settings import Settings
from eventlens_tools.generator import generate_events

ROOT = Path(__file__).resolve().parents[2]


def _worker(*args: str) -> dict[str, Any]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.cluster_worker", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_replicated_cluster_ddl_of_every_migration_is_accepted_by_clickhouse(tmp_path: Path) -> None:
    # Given chDB as one host of a cluster with a Keeper; When every rendered CREATE, DROP and EXCHANGE
    # of every migration runs in order, Replicated engines and all
    result = _worker("replicated", str(tmp_path))
    # Then all ran, and the schema left is the cluster one: a Replicated local table and a Distributed
    # table per sharded table, views on the local tables, whole tables on every node
    tables = {row["name"]: row for row in result["tables"]}
    assert result["ran"] > 150
    for table in [*SHARDING_KEYS, *VIEW_FILLED]:
        assert tables[table]["engine"] == "Distributed", table
        assert tables[f"{table}_local"]["engine"].startswith("Replicated"), table
    for table in ("schema_migrations", "consume_stage", "consume_batches", "users", "cohorts"):
        assert tables[table]["engine"].startswith("Replicated"), table
    assert "cityHash64(user_id)" in tables["events"]["engine_full"]
    assert not [name for name in tables if name.endswith(("_projects", "_projects_local", "_by_person"))]


@pytest.fixture(scope="module")
def backlog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    """~12k generated events on the embedded queue, through ingest (with a client's retries)."""
    home = tmp_path_factory.mktemp("backlog")
    end = datetime.now(UTC)
    events = list(generate_events(users=300, days=60, seed=14, end=end, max_events=12_000))
    queue = EmbeddedQueue(home / "queue", "raw-events")
    settings = Settings(EVENTLENS_HOME=Path("/nonexistent"))
    for start in range(0, len(events), 2_000):
        ingest_events(events[start : start + 2_000], queue, settings, project_id="default")
    ingest_events(events[:500], queue, settings, project_id="default")  # re-sent: must count once
    users = sorted({e["user_id"] for e in events if e.get("source") in ("lifestream", "viewing")})[:4]
    return home, end.date().isoformat(), users


def test_consume_and_every_report_on_the_cluster_schema_match_one_server(
    backlog: tuple[Path, str, list[str]], tmp_path: Path
) -> None:
    # Given the same backlog in two homes
    home, today, users = backlog
    single, cluster = tmp_path / "single", tmp_path / "cluster"
    for target in (single, cluster):
        shutil.copytree(home / "queue", target / "queue")
    # When one server stores it, and chDB as a one-shard cluster stores it through the Distributed tables
    one = _worker("consume", str(single), "single", today, ",".join(users))
    many = _worker("consume", str(cluster), "cluster", today, ",".join(users))
    # Then the cluster schema is the one that ran (Distributed tables in front of local ones)
    engines = {row["name"]: row["engine"] for row in many["engines"]}
    assert engines["events"] == "Distributed" and engines["events_local"] == "ReplacingMergeTree"
    assert engines["user_periods"] == "Distributed" and engines["event_ids_local"] == "ReplacingMergeTree"
    # And every report, rollup and table count is the same as on one server
    assert many["snapshot"]["tables"]["events"][0]["n"] > 10_000
    assert many["snapshot"].keys() == one["snapshot"].keys()
    for name in one["snapshot"]:
        assert many["snapshot"][name] == one["snapshot"][name], name
