"""Cluster mode's DDL (eventlens.cluster): every shipped migration, rendered for one server and for a cluster.

No ClickHouse cluster runs here; these check the rendered text's structure. tests/integration/
test_cluster_chdb.py runs the rendered DDL in chDB.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eventlens import schema
from eventlens.cluster import (
    EVERY_NODE,
    SHARDING_KEYS,
    VIEW_FILLED,
    ClusterModeError,
    ClusterRenderer,
    render_statements,
    table_kind,
)
from eventlens.settings import Settings
from eventlens.warehouse import open_warehouse

CLUSTER = "analytics"
ON_CLUSTER = f"ON CLUSTER '{CLUSTER}'"
_CREATE = re.compile(r"^CREATE TABLE (?:IF NOT EXISTS )?(\w+) ON CLUSTER")
_MV = re.compile(
    r"^CREATE MATERIALIZED VIEW (?:IF NOT EXISTS )?\w+ ON CLUSTER '\w+' TO (\w+) AS\n(.*)$", re.S
)
_DISTRIBUTED = re.compile(r"ENGINE = Distributed\('(\w+)', currentDatabase\(\), '(\w+)'(?:, (.+))?\)$")


def _shipped_statements() -> list[str]:
    return [schema._CREATE_LEDGER] + [s for m in schema.available_migrations() for s in m.statements]


def _rendered() -> list[str]:
    return ClusterRenderer(CLUSTER).render_all(_shipped_statements())


def test_single_node_statements_are_the_migrations_byte_for_byte() -> None:
    # Given every shipped statement; When rendered with no cluster; Then each is unchanged.
    statements = _shipped_statements()
    assert render_statements(statements, "") == statements


def test_every_shipped_migration_renders_for_a_cluster_and_every_statement_runs_on_it() -> None:
    # Given each migration in turn; When rendered for a cluster; Then every statement names the cluster.
    renderer = ClusterRenderer(CLUSTER)
    for migration in schema.available_migrations():
        rendered = renderer.render_all(migration.statements)
        assert rendered, migration.name
        for statement in rendered:
            if statement.startswith("INSERT INTO"):  # a backfill runs on the shards through Distributed
                continue
            assert ON_CLUSTER in statement, statement


def test_every_table_created_has_a_place_in_cluster_mode() -> None:
    # A new migration's table must be classified (sharded, view-filled or on every node), or rendering
    # refuses it: this test then names it.
    for statement in _shipped_statements():
        created = re.match(r"^CREATE TABLE (?:IF NOT EXISTS )?(\w+)", statement)
        if created:
            assert table_kind(created[1]) in {"sharded", "view_filled", "every_node"}


def test_every_stored_table_is_replicated_and_every_sharded_one_has_a_distributed_table() -> None:
    rendered = _rendered()
    created: dict[str, str] = {}
    for statement in rendered:
        match = _CREATE.match(statement)
        if match:
            created[match[1]] = statement
    for name, statement in created.items():
        if "ENGINE = Distributed" in statement:
            distributed = _DISTRIBUTED.search(statement)
            assert distributed and distributed[1] == CLUSTER and distributed[2] == f"{name}_local", statement
            assert f"AS {name}_local" in statement
            continue
        assert re.search(r"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{uuid\}/", statement), (
            statement
        )
        if name.endswith("_local"):
            assert "{shard}', '{replica}'" in statement, statement  # one replica set per shard
            base = name.removesuffix("_local")
            assert re.search(rf"^CREATE TABLE (IF NOT EXISTS )?{base} ON CLUSTER", "\n".join(rendered), re.M)
        else:
            assert table_kind(name) == "every_node", name
            assert "/all', '{shard}-{replica}'" in statement, statement  # every host, one replica set


def test_per_person_tables_are_sharded_by_the_person_and_view_filled_ones_by_nothing() -> None:
    for statement in _rendered():
        distributed = _DISTRIBUTED.search(statement)
        if not distributed:
            continue
        table = distributed[2].removesuffix("_local")
        base = (
            table.removesuffix("_projects")
            .removesuffix("_by_person")
            .replace("user_events_by", "user_events")
        )
        key = distributed[3]
        if base in VIEW_FILLED:
            assert key is None, statement
        else:
            assert key == SHARDING_KEYS[base], statement
    # The tables of a person's events and identity: by the person's distinct id, as `events` is.
    for table in ("events", "user_events", "telemetry_events", "person_edges"):
        assert SHARDING_KEYS[table] == "cityHash64(user_id)"
    for table in ("person_properties", "group_members", "person_overrides"):
        assert SHARDING_KEYS[table] == "cityHash64(distinct_id)"


def test_no_materialized_view_reads_or_writes_a_distributed_table() -> None:
    views = [_MV.match(s) for s in _rendered()]
    views_found = [v for v in views if v]
    assert len(views_found) >= 12
    distributed = set(SHARDING_KEYS) | set(VIEW_FILLED)
    for view in views_found:
        target, select = view[1], view[2]
        assert target.endswith("_local") or target in EVERY_NODE, target
        for read in re.findall(r"\b(?:FROM|JOIN) (\w+)\b", select):
            assert read not in distributed, (read, select)
        assert "FROM events_local" in select


def test_exchange_swaps_local_tables_then_remakes_both_distributed_tables() -> None:
    # Given the migrations as shipped; When 0007's exchange of the event table is rendered
    renderer = ClusterRenderer(CLUSTER)
    found = []
    for statement in _shipped_statements():
        rendered = renderer.render(statement)
        if statement == "EXCHANGE TABLES events AND events_projects":
            found.append(rendered)
    assert len(found) == 1
    rendered = found[0]
    # Then the local tables swap and both Distributed tables are made again over their new columns
    assert rendered[0] == f"EXCHANGE TABLES events_local AND events_projects_local {ON_CLUSTER}"
    assert rendered[1:] == [
        f"DROP TABLE events {ON_CLUSTER} SYNC",
        f"CREATE TABLE events {ON_CLUSTER} AS events_local\n"
        f"ENGINE = Distributed('{CLUSTER}', currentDatabase(), 'events_local', cityHash64(user_id))",
        f"DROP TABLE events_projects {ON_CLUSTER} SYNC",
        f"CREATE TABLE events_projects {ON_CLUSTER} AS events_projects_local\n"
        f"ENGINE = Distributed('{CLUSTER}', currentDatabase(), 'events_projects_local', cityHash64(user_id))",
    ]


def test_create_as_spells_out_a_fresh_replicated_engine() -> None:
    # users_next AS users: copying users' engine would copy its replication path.
    rendered = [s for s in _rendered() if s.startswith("CREATE TABLE users_next ")]
    assert rendered, "0007 creates users_next AS users"
    assert "AS users\nENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/all'" in rendered[-1]
    assert "PARTITION BY project_id" in rendered[-1]


def test_backfills_run_shard_locally_and_dedup_windows_become_replicated_ones() -> None:
    rendered = _rendered()
    backfills = [s for s in rendered if s.startswith("INSERT INTO")]
    every_node = [s for s in backfills if s.startswith("INSERT INTO users_projects")]
    assert every_node and all("parallel_distributed_insert_select" not in s for s in every_node)
    for statement in set(backfills) - set(every_node):
        assert statement.endswith("SETTINGS parallel_distributed_insert_select = 2"), statement
    windows = [s for s in rendered if "deduplication_window" in s]
    assert windows and all("non_replicated" not in s and "_local ON CLUSTER" in s for s in windows)


def test_retention_ttl_goes_to_the_local_event_tables() -> None:
    renderer = ClusterRenderer(CLUSTER)
    statement = "ALTER TABLE events MODIFY TTL toDateTime(ts) + INTERVAL 30 DAY"
    assert renderer.render(statement) == [
        f"ALTER TABLE events_local {ON_CLUSTER} MODIFY TTL toDateTime(ts) + INTERVAL 30 DAY"
    ]


def test_a_column_added_to_a_sharded_table_reaches_its_distributed_table_too() -> None:
    rendered = ClusterRenderer(CLUSTER).render("ALTER TABLE events ADD COLUMN IF NOT EXISTS x String")
    assert rendered == [
        f"ALTER TABLE events_local {ON_CLUSTER} ADD COLUMN IF NOT EXISTS x String",
        f"ALTER TABLE events {ON_CLUSTER} ADD COLUMN IF NOT EXISTS x String",
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE unknown_table (a UInt8) ENGINE = MergeTree ORDER BY a",
        "TRUNCATE TABLE events",
        "RENAME TABLE events TO events_old",
        "INSERT INTO users SELECT * FROM events",
    ],
)
def test_a_statement_cluster_mode_was_not_taught_is_refused(statement: str) -> None:
    with pytest.raises(ClusterModeError):
        ClusterRenderer(CLUSTER).render(statement)


@pytest.mark.parametrize("name", ["a b", "x'; DROP TABLE events; --", "1abc", "", "a" * 65])
def test_a_cluster_name_that_is_not_an_identifier_is_refused(name: str) -> None:
    with pytest.raises(ClusterModeError):
        ClusterRenderer(name)
    if name:
        with pytest.raises(ValueError):
            Settings(CLICKHOUSE_CLUSTER=name)


def test_a_cluster_without_a_server_url_is_refused_at_open(tmp_path: Path) -> None:
    from eventlens.errors import WarehouseError

    settings = Settings(EVENTLENS_HOME=tmp_path, CLICKHOUSE_CLUSTER=CLUSTER)
    with pytest.raises(WarehouseError, match="CLICKHOUSE_URL"):
        open_warehouse(settings)
