"""Versioned schema migrations: numbered ``migrations/NNNN_name.sql`` files, applied once, in order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from eventlens.cluster import ClusterRenderer
from eventlens.warehouse import Warehouse

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY version
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def available_migrations() -> list[Migration]:
    """Every migration shipped in the package, in version order."""
    found = []
    for entry in resources.files("eventlens.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], split_statements(entry.read_text())))
    return sorted(found, key=lambda m: m.version)


def split_statements(sql: str) -> tuple[str, ...]:
    """Statements of a file, split at a ``;`` that ends a line; comment-only chunks dropped."""
    chunks = re.split(r";\s*(?:\n|$)", sql)
    statements = []
    for chunk in chunks:
        code = "\n".join(line for line in chunk.splitlines() if not line.strip().startswith("--"))
        if code.strip():
            statements.append(code.strip())
    return tuple(statements)


def migrate(warehouse: Warehouse, retention_days: int | None = None, cluster: str = "") -> list[int]:
    """Apply the migrations the warehouse lacks; returns the versions applied now.

    ``retention_days`` sets (or, when None, leaves alone) a TTL on the event table. ``cluster`` (the
    setting CLICKHOUSE_CLUSTER) runs each statement as ``eventlens.cluster`` renders it for that
    cluster; empty, each runs exactly as written.
    """
    renderer = ClusterRenderer(cluster) if cluster else None

    def run(statement: str) -> None:
        for rendered in renderer.render(statement) if renderer else [statement]:
            warehouse.command(rendered)

    run(_CREATE_LEDGER)
    applied = set(warehouse.query("SELECT version FROM schema_migrations").column("version").to_pylist())
    done = []
    for migration in available_migrations():
        if migration.version in applied:
            if renderer:  # rendered, not run: later statements may need the engines it made
                renderer.render_all(migration.statements)
            continue
        for statement in migration.statements:
            run(statement)
        warehouse.command(
            "INSERT INTO schema_migrations (version, name) VALUES ({version:UInt32}, {name:String})",
            {"version": migration.version, "name": migration.name},
        )
        done.append(migration.version)
    if retention_days is not None:
        # DDL cannot take bound parameters; the value is a validated int from settings, not a request.
        days = int(retention_days)
        run(f"ALTER TABLE events MODIFY TTL toDateTime(ts) + INTERVAL {days} DAY")
    return done
