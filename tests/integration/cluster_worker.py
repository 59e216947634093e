"""chDB as one host of a one-shard ClickHouse cluster, for tests/integration/test_cluster_chdb.py.

Run as ``python -m tests.integration.cluster_worker <command> <home> [<config>]``; chDB opens one
session per process, and a session configured with a cluster ends badly at exit (its Keeper threads),
so each command runs in a process of its own and leaves it with ``os._exit``.

chDB has no distributed DDL queue (``ON CLUSTER`` is refused) and its Replicated tables stay read-only
(no replication threads), so the rendered DDL is run as one host of the cluster would run it:
``ON CLUSTER`` left out, the table's UUID given (what the initiator of ``ON CLUSTER`` does for
``{uuid}``), and, for ``consume``, the Replicated engines replaced by their plain forms.

- ``replicated``: every rendered CREATE, DROP and EXCHANGE with its Replicated engine, in order;
  prints the engines of the tables left.
- ``consume`` (with ``single`` or ``cluster``): the migrations (rendered for the cluster or not), the
  queue stored by the real ``store_records``, then every report and table as one JSON document.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import uuid
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from eventlens.cluster import SESSION_SETTINGS, ClusterRenderer
from eventlens.consume import store_records
from eventlens.deadletter import DeadLetterStore
from eventlens.objectstore import LocalObjectStore
from eventlens.queue import EmbeddedQueue
from eventlens.schema import _CREATE_LEDGER, available_migrations, migrate
from eventlens.warehouse import ChdbWarehouse
from tests.reliability.worker import snapshot

CLUSTER = "eventlens_test"
TOPIC = "raw-events"
CONFIG = f"""<clickhouse>
  <tcp_port>9000</tcp_port>
  <remote_servers><{CLUSTER}><shard><replica><host>localhost</host><port>9000</port></replica></shard></{CLUSTER}>
  </remote_servers>
  <macros><shard>01</shard><replica>r1</replica></macros>
  <zookeeper><implementation>testkeeper</implementation></zookeeper>
</clickhouse>
"""
_REPLICATED = re.compile(r"ENGINE = Replicated(\w+)\('[^']*', '[^']*'(?:, ([^)]*))?\)")


def one_host(statement: str, replicated: bool) -> str:
    """A rendered statement as one host runs it, without the distributed DDL queue chDB lacks."""
    statement = statement.replace(f" ON CLUSTER '{CLUSTER}'", "")
    if not replicated:
        return _REPLICATED.sub(lambda m: f"ENGINE = {m[1]}" + (f"({m[2]})" if m[2] else ""), statement)
    if "{uuid}" in statement:
        name = re.compile(r"^(CREATE TABLE (?:IF NOT EXISTS )?\w+)")
        return name.sub(lambda m: f"{m[1]} UUID '{uuid.uuid4()}'", statement)
    return statement


class OneHostCluster(ChdbWarehouse):
    """chDB configured with a one-shard cluster on localhost, taking statements as one host would."""

    def __init__(self, path: Path, config: Path, replicated: bool = False) -> None:
        from chdb import session as chdb_session

        path.mkdir(parents=True, exist_ok=True)
        self.database = "eventlens"
        self.replicated = replicated
        self._session = chdb_session.Session(f"file:{path}?config-file={config}")
        self._lock = threading.Lock()
        self.command("CREATE DATABASE IF NOT EXISTS eventlens")
        self.command("USE eventlens")
        for name, value in SESSION_SETTINGS.items():  # our own constants: names and plain values
            self.command(f"SET {name} = " + (f"'{value}'" if isinstance(value, str) else str(value)))

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        super().command(one_host(sql, self.replicated), parameters)


def _consume(home: Path, warehouse: ChdbWarehouse) -> None:
    dead_letters = DeadLetterStore(LocalObjectStore(home / "objects"))
    reader = EmbeddedQueue(home / "queue", TOPIC).reader("consume")
    while records := reader.poll(max_records=50, timeout_s=0):
        store_records(records, warehouse, dead_letters)
        reader.commit(records)


def main(argv: list[str]) -> None:
    command, home = argv[0], Path(argv[1])
    config = home / "cluster.xml"
    config.write_text(CONFIG)
    if command == "replicated":
        host = OneHostCluster(home / "warehouse", config, replicated=True)
        renderer = ClusterRenderer(CLUSTER)
        statements = [_CREATE_LEDGER] + [s for m in available_migrations() for s in m.statements]
        ran = 0
        for statement in renderer.render_all(statements):
            if statement.startswith(("CREATE", "DROP", "EXCHANGE")):
                host.command(statement)
                ran += 1
        tables = host.query(
            "SELECT name, engine, engine_full FROM system.tables WHERE database = 'eventlens' ORDER BY name"
        ).to_pylist()
        print(json.dumps({"ran": ran, "tables": tables}), flush=True)
    elif command == "consume":
        mode, today, users = argv[2], date.fromisoformat(argv[3]), argv[4].split(",")
        if mode == "cluster":
            warehouse: ChdbWarehouse = OneHostCluster(home / "warehouse", config)
            migrate(warehouse, cluster=CLUSTER)
        else:
            warehouse = ChdbWarehouse(home / "warehouse")
            migrate(warehouse)
        _consume(home, warehouse)
        engines = warehouse.query(
            "SELECT name, engine FROM system.tables WHERE database = 'eventlens' ORDER BY name"
        ).to_pylist()
        print(json.dumps({"engines": engines, "snapshot": snapshot(warehouse, today, users)}), flush=True)
    else:
        raise SystemExit(f"unknown command {command!r}")
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
