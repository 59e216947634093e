"""Migration 0002 on a warehouse that already holds events: the rollups start out filled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from eventlens.reports import activity, retention
from eventlens.schema import available_migrations, migrate
from eventlens.settings import Settings
from eventlens.warehouse import ChdbWarehouse


def test_rollups_are_backfilled_from_events_stored_before_them(settings: Settings) -> None:
    # Given a warehouse at migration 0001 holding events of three users over two weeks
    warehouse = ChdbWarehouse(settings.chdb_path, settings.clickhouse_database)
    try:
        for statement in available_migrations()[0].statements:
            warehouse.command(statement)
        today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
        moments = [today - timedelta(days=d) for d in (13, 13, 6, 1, 0)]
        users = ["a", "b", "a", "c", "a"]
        warehouse.insert_arrow(
            "events",
            pa.table(
                {
                    "event_id": [f"00000000-0000-4000-8000-{i:012d}" for i in range(5)],
                    "user_id": users,
                    "event_type": ["page_view"] * 5,
                    "ts": pa.array(moments, pa.timestamp("ms", tz="UTC")),
                    "source": ["generic"] * 5,
                    "properties": ["{}"] * 5,
                    "received_at": pa.array(moments, pa.timestamp("ms", tz="UTC")),
                }
            ),
        )
        # When the later migrations are applied
        migrate(warehouse)
        # Then the reports that read the rollups count the earlier events
        start = (today - timedelta(days=13)).date()
        daily = {r.date: r.unique_users for r in activity.dau(warehouse, "default", start, today.date(), [])}
        assert (
            daily[start] == 2 and daily[(today - timedelta(days=1)).date()] == 1 and sum(daily.values()) == 5
        )
        cohorts = retention.retention_cohorts(
            warehouse, "default", start - timedelta(days=7), 2, [], today.date()
        )
        assert sum(c["week_0"] for c in cohorts) == 3
    finally:
        warehouse.command(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
        warehouse.close()
