"""A consume process for the fault-injection tests, run as ``python -m tests.reliability.worker``.

``consume``: drain the embedded queue into the warehouse with the real ``store_records``, printing
``batch`` before each store and ``drained`` at the end (the test kills it with SIGKILL at random
moments). ``snapshot``: print every report and every rollup's content as one JSON document.
chDB opens a data directory in one process only, so both run apart from the test process.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from eventlens.consume import store_records
from eventlens.deadletter import DeadLetterStore
from eventlens.objectstore import LocalObjectStore
from eventlens.queue import EmbeddedQueue
from eventlens.reports import activity, lifestream, retention, viewing
from eventlens.reports.segments import parse_segments
from eventlens.schema import migrate
from eventlens.warehouse import ChdbWarehouse, Warehouse

TOPIC = "raw-events"
GROUP = "consume"
BATCH_RECORDS = 20  # ~1,000 events: many batches, so many moments inside a store to be killed at


def consume(home: Path) -> None:
    warehouse = ChdbWarehouse(home / "warehouse")
    migrate(warehouse)
    dead_letters = DeadLetterStore(LocalObjectStore(home / "objects"))
    reader = EmbeddedQueue(home / "queue", TOPIC).reader(GROUP)
    print("ready", flush=True)
    while records := reader.poll(max_records=BATCH_RECORDS, timeout_s=0):
        print("batch", flush=True)
        store_records(records, warehouse, dead_letters)
        reader.commit(records)
    print("drained", flush=True)
    warehouse.close()


def snapshot(warehouse: Warehouse, today: date, users: list[str]) -> dict[str, Any]:
    """Every report the rollups serve, and each table consume fills, in a comparable form."""
    start, year = today - timedelta(days=59), today - timedelta(days=364)
    everyone = parse_segments(None)
    reports: dict[str, Any] = {
        "dau": activity.dau(warehouse, "default", start, today, everyone),
        "dau_ua": activity.dau(warehouse, "default", start, today, parse_segments("properties.country:UA")),
        # events_by_property (migration 0011), filled by a view like the rollups
        "dau_meet": activity.dau(
            warehouse, "default", start, today, parse_segments("properties.action:meet")
        ),
        "wau": activity.wau(warehouse, "default", start, today, everyone),
        "mau": activity.mau(warehouse, "default", year, today, everyone),
        "top_events": activity.top_events(warehouse, "default", year, today, 50, everyone),
        "top_viewing": activity.top_events(
            warehouse, "default", year, today, 50, parse_segments("source:viewing")
        ),
        "retention": retention.retention_cohorts(
            warehouse, "default", today - timedelta(days=56), 6, everyone, today
        ),
        "popular": viewing.popular_content(warehouse, "default", 60, 100, today),
        "trends": viewing.trends(warehouse, "default", 60, today),
        "peak_hours": viewing.peak_hours(warehouse, "default", 60, today),
    }
    for user in users:
        reports[f"viewing:{user}"] = viewing.user_stats(warehouse, "default", user, 60, today)
        reports[f"stream_stats:{user}"] = lifestream.stream_stats(warehouse, "default", user)
        reports[f"stream_events:{user}"] = lifestream.stream_events(warehouse, "default", user, limit=1000)
        reports[f"memory:{user}"] = lifestream.memory_summary(warehouse, "default", user, year, today)
    reports["tables"] = table_contents(warehouse)
    return json.loads(json.dumps(reports, default=_plain, sort_keys=True))


# Per table, what must not change with how the batches were cut or retried: plain counts where a
# duplicate row would show (no FINAL), merged contents where parts may legitimately differ.
_TABLE_QUERIES = {
    "events": "SELECT count() AS n, uniqExact(event_id) AS ids FROM events",
    "event_ids": "SELECT count() AS n FROM event_ids",
    "user_events": "SELECT count() AS n FROM user_events",
    "telemetry_events": "SELECT count() AS n FROM telemetry_events",
    "events_by_property": "SELECT count() AS n FROM events_by_property",
}
_AGGREGATED = ("daily_rollup", "hourly_rollup", "movie_daily", "user_first", "user_periods")


def table_contents(warehouse: Warehouse) -> dict[str, Any]:
    contents: dict[str, Any] = {
        name: warehouse.query(sql).to_pylist() for name, sql in _TABLE_QUERIES.items()
    }
    for table in _AGGREGATED:
        columns = warehouse.query(
            "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}"
            " ORDER BY position",
            {"t": table},
        ).to_pylist()
        # Names come from system.columns of our own tables, not from a request.
        select = ", ".join(
            f"finalizeAggregation(`{c['name']}`)"
            if c["type"].startswith("AggregateFunction")
            else f"`{c['name']}`"
            for c in columns
        )
        rows = warehouse.query(f"SELECT {select} FROM `{table}` FINAL").to_pylist()
        contents[table] = sorted(json.dumps(row, default=_plain, sort_keys=True) for row in rows)
    return contents


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def main(argv: list[str]) -> None:
    command, home = argv[0], Path(argv[1])
    if command == "consume":
        consume(home)
    elif command == "snapshot":
        warehouse = ChdbWarehouse(home / "warehouse")
        today, users = date.fromisoformat(argv[2]), argv[3].split(",")
        print(json.dumps(snapshot(warehouse, today, users)))
        warehouse.close()
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
