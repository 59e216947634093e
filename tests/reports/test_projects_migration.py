"""Migration 0007 on a warehouse that already holds events: every row moves to the `default` project,
nothing is lost or changed, and the rollups go on filling per project."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa

from eventlens.schema import _CREATE_LEDGER as _LEDGER
from eventlens.schema import available_migrations, migrate
from eventlens.settings import Settings
from eventlens.warehouse import ChdbWarehouse, Warehouse

TABLES = (
    "events",
    "event_ids",
    "daily_rollup",
    "user_periods",
    "user_first",
    "movie_daily",
    "hourly_rollup",
    "user_events",
    "telemetry_events",
)


def _events(count: int, now: datetime) -> pa.Table:
    sources = ["generic", "lifestream", "viewing", "telemetry"]
    properties = [
        {"country": "UA"},
        {"lat": 50.4, "lon": 30.5, "amount": 3.5},
        {"movie_id": "m1", "position_seconds": 60},
        {"prosthesis_type": "arm", "muscle_group": "biceps", "signal_frequency": 50},
    ]
    moments = [now - timedelta(days=i % 40, hours=i % 24) for i in range(count)]
    return pa.table(
        {
            "event_id": [f"00000000-0000-4000-8000-{i:012d}" for i in range(count)],
            "user_id": [f"u{i % 7}" for i in range(count)],
            "event_type": [("start" if i % 4 == 2 else "page_view") for i in range(count)],
            "ts": pa.array(moments, pa.timestamp("ms", tz="UTC")),
            "source": [sources[i % 4] for i in range(count)],
            "properties": [orjson.dumps(properties[i % 4]).decode() for i in range(count)],
            "received_at": pa.array(moments, pa.timestamp("ms", tz="UTC")),
        }
    )


def _contents(warehouse: Warehouse, table: str, project: str | None = None) -> list[Any]:
    """A table's rows (aggregate states finalised), without project_id, sorted; of one project if named."""
    columns = warehouse.query(f"SELECT * FROM {table} LIMIT 0").column_names
    plain = [c for c in columns if c != "project_id"]
    finals = {
        "users": "uniqExactMerge(users)",
        "viewers": "uniqExactMerge(viewers)",
        "events": "sum(events)",
        "starts": "sum(starts)",
        "finishes": "sum(finishes)",
        "first_day": "min(first_day)",
    }
    if any(c in finals for c in plain) and table != "events":
        keys = [c for c in plain if c not in finals]
        values = ", ".join(f"{finals[c]} AS {c}" for c in plain if c in finals)
        sql = f"SELECT {', '.join(keys)}, {values} FROM {table} WHERE_PROJECT GROUP BY {', '.join(keys)}"
    else:
        sql = f"SELECT DISTINCT {', '.join(plain)} FROM {table} WHERE_PROJECT"
    where = "WHERE project_id = {project:String}" if project else ""
    rows = warehouse.query(sql.replace("WHERE_PROJECT", where), {"project": project or ""}).to_pylist()
    return sorted(rows, key=lambda row: repr(sorted(row.items())))


def test_existing_rows_move_to_the_default_project_unchanged(settings: Settings) -> None:
    # Given a warehouse at migration 0006 holding events of every family
    warehouse = ChdbWarehouse(settings.chdb_path, settings.clickhouse_database)
    try:
        migrate(warehouse)  # the ledger, then 0001-0007: take 0007 back out by re-creating the database
        warehouse.command(f"DROP DATABASE {settings.clickhouse_database}")
        warehouse.command(f"CREATE DATABASE {settings.clickhouse_database}")
        warehouse.command(f"USE {settings.clickhouse_database}")
        warehouse.command(_LEDGER)
        for migration in available_migrations():
            if migration.version <= 6:
                for statement in migration.statements:
                    warehouse.command(statement)
                warehouse.command(
                    "INSERT INTO schema_migrations (version, name) VALUES ({v:UInt32}, {n:String})",
                    {"v": migration.version, "n": migration.name},
                )
        now = datetime.now(UTC).replace(microsecond=0)
        warehouse.insert_arrow("events", _events(400, now))
        before = {table: _contents(warehouse, table) for table in TABLES}
        assert all(before[table] for table in TABLES)

        # When migration 0007 is applied
        migrate(warehouse)

        # Then every table holds the same rows, each in the default project, the project first in its key
        for table in TABLES:
            assert _contents(warehouse, table) == before[table], table
            projects = warehouse.query(f"SELECT DISTINCT project_id FROM {table}").column(0).to_pylist()
            assert projects == ["default"], table
            key = (
                warehouse.query(
                    "SELECT sorting_key FROM system.tables"
                    " WHERE database = currentDatabase() AND name = {t:String}",
                    {"t": table},
                )
                .column(0)[0]
                .as_py()
            )
            assert key.startswith("project_id,"), (table, key)

        # And the same events stored afterwards in another project fill that project's rows only
        later = _events(8, now).append_column("project_id", pa.array(["prj_x"] * 8))
        warehouse.insert_arrow("events", later)
        for table in TABLES:
            assert _contents(warehouse, table, "default") == before[table], table
            assert _contents(warehouse, table, "prj_x"), table
    finally:
        warehouse.command(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
        warehouse.close()
