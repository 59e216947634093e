"""The warehouse: one small interface, two backends that run the same ClickHouse SQL.

- ``ChdbWarehouse``: the ClickHouse engine in-process (chDB), persisted in a directory. The
  embedded default. One process may hold a data directory at a time (chDB's own lock).
- ``ClickHouseServerWarehouse``: a ClickHouse server through clickhouse-connect, as in production.

SQL takes user input only as bound parameters in ClickHouse's ``{name:Type}`` syntax, which both
backends bind server-side.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from eventlens.errors import WarehouseError
from eventlens.settings import DEFAULT_CHDB_SPILL_MB, Settings

if TYPE_CHECKING:  # pyarrow is imported by the backends on first query (a cold start without it)
    import pyarrow as pa


# The settings of one person's reads (issue 14): a few granules of `user_events`, where chDB's fixed
# cost per query is nearly all the time. One thread: a few granules are nothing to split, and there is
# no pool of readers to start and join. No PREWHERE: the primary key has already picked the granules,
# and reading the filter's columns first, then the rest, is a second pass over the same few rows.
# Together 3-16% off the p50 of each per-person route at 10M events (bench/reports.py's persons, 60
# interleaved runs each); ClickHouse's defaults are kept for everything else. Appended to the SQL
# text, so both backends take them.
POINT_READ = "SETTINGS max_threads = 1, optimize_move_to_prewhere = 0"


class Warehouse(Protocol):
    database: str

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns nothing (DDL, INSERT … SELECT)."""

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> pa.Table:
        """Run a SELECT and return its rows as an Arrow table."""

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        """Insert an Arrow table whose column names match the target's columns."""

    def ping(self) -> bool:
        """True when the warehouse answers."""

    def close(self) -> None: ...


class ChdbWarehouse:
    """ClickHouse in-process through chDB, its data kept in ``path``."""

    def __init__(
        self, path: Path, database: str = "eventlens", spill_mb: int = DEFAULT_CHDB_SPILL_MB
    ) -> None:
        from chdb import session as chdb_session  # heavy import: only where the embedded mode runs

        path.mkdir(parents=True, exist_ok=True)
        self.database = database
        self._session = chdb_session.Session(str(path))
        # One chDB session runs one query at a time; callers on several threads take turns here.
        self._lock = threading.Lock()
        self.command(f"CREATE DATABASE IF NOT EXISTS {_identifier(database)}")
        self.command(f"USE {_identifier(database)}")
        # The embedded engine shares its process (``eventlens local``, a Lambda) with Python, so one
        # query may not take what a dedicated server would: past ``spill_mb`` a GROUP BY, ORDER BY or
        # DISTINCT goes on in temporary files under the data directory rather than in memory
        # (ClickHouse's own default: half of all the memory the process may use). At 10M events,
        # grouping a year of 200k persons' events peaked the process at 699 MiB without it and 567
        # with 100 MiB, that query 1.5x slower; docs/sizing.md has the figures at scale. Set for the
        # session: every query after this one.
        if spill_mb:
            spill = int(spill_mb) * 1024 * 1024
            self.command(
                f"SET max_bytes_before_external_group_by = {spill}, "
                f"max_bytes_before_external_sort = {spill}, max_bytes_before_external_distinct = {spill}"
            )

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        self._run(sql, "CSV", parameters)

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> pa.Table:
        import pyarrow as pa

        result = self._run(sql, "ArrowTable", parameters)
        return result if isinstance(result, pa.Table) else pa.table({})

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        columns = ", ".join(_identifier(name) for name in data.column_names)
        target = _identifier(table)
        arrow_rows = data  # chDB's Python() table function reads this local by name
        sql = f"INSERT INTO {target} ({columns}) SELECT {columns} FROM Python(arrow_rows)"
        with self._lock:
            try:
                self._session.query(sql, "CSV")
            except Exception as exc:  # chDB raises its own RuntimeError subclasses
                raise WarehouseError(str(exc)) from exc
        del arrow_rows

    def ping(self) -> bool:
        try:
            self.query("SELECT 1")
        except WarehouseError:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._session.close()

    def _run(self, sql: str, fmt: str, parameters: Mapping[str, Any] | None) -> Any:
        with self._lock:
            try:
                params = {name: _chdb_literal(value) for name, value in (parameters or {}).items()}
                return self._session.query(sql, fmt, params=params)
            except Exception as exc:
                raise WarehouseError(str(exc)) from exc


class ClickHouseServerWarehouse:
    """A ClickHouse server through clickhouse-connect (HTTP interface)."""

    def __init__(
        self, url: str, database: str = "eventlens", session_settings: Mapping[str, Any] | None = None
    ) -> None:
        """``session_settings`` go with every query (cluster mode's, see eventlens.cluster)."""
        import clickhouse_connect

        parts = urlparse(url)
        self.database = database
        try:
            bootstrap = clickhouse_connect.get_client(
                host=parts.hostname or "localhost",
                port=parts.port or 8123,
                username=parts.username or "default",
                password=parts.password or "",
                secure=parts.scheme == "https",
            )
            bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {_identifier(database)}")
            bootstrap.close()
            self._client = clickhouse_connect.get_client(
                host=parts.hostname or "localhost",
                port=parts.port or 8123,
                username=parts.username or "default",
                password=parts.password or "",
                secure=parts.scheme == "https",
                database=database,
                settings=dict(session_settings or {}),
            )
        except Exception as exc:
            raise WarehouseError(f"cannot reach ClickHouse at {parts.hostname}:{parts.port}: {exc}") from exc

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        try:
            self._client.command(sql, parameters=dict(parameters or {}))
        except Exception as exc:
            raise WarehouseError(str(exc)) from exc

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> pa.Table:
        try:
            return self._client.query_arrow(sql, parameters=dict(parameters or {}))
        except Exception as exc:
            raise WarehouseError(str(exc)) from exc

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        try:
            self._client.insert_arrow(table, data)
        except Exception as exc:
            raise WarehouseError(str(exc)) from exc

    def ping(self) -> bool:
        return bool(self._client.ping())

    def close(self) -> None:
        self._client.close()


def open_warehouse(settings: Settings) -> Warehouse:
    """The warehouse the settings name: a ClickHouse server by URL, chDB in $EVENTLENS_HOME otherwise.

    With CLICKHOUSE_CLUSTER, every session takes cluster mode's settings (eventlens.cluster); chDB is
    one process, never a cluster, so the two together are refused.
    """
    if settings.clickhouse_cluster:
        from eventlens.cluster import SESSION_SETTINGS

        if not settings.clickhouse_url:
            raise WarehouseError(
                "CLICKHOUSE_CLUSTER needs CLICKHOUSE_URL: a cluster is reached through a server"
            )
        return ClickHouseServerWarehouse(
            settings.clickhouse_url, settings.clickhouse_database, SESSION_SETTINGS
        )
    if settings.clickhouse_url:
        return ClickHouseServerWarehouse(settings.clickhouse_url, settings.clickhouse_database)
    return ChdbWarehouse(settings.chdb_path, settings.clickhouse_database, settings.chdb_spill_mb)


def _chdb_literal(value: Any) -> str:
    """A bound parameter in the text form chDB parses for ``{name:Type}`` (it takes strings only).

    chDB reads a parameter value in ClickHouse's escaped text format, so a backslash, a tab or a
    newline in a value must be escaped, or ``DOMAIN\\alice`` would be read as ``DOMAINalice`` (or
    refused outright, for a trailing backslash).
    """
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if value.tzinfo else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_quoted(item) for item in value) + "]"
    return str(value)


def _quoted(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return _chdb_literal(value)


def _identifier(name: str) -> str:
    """Quote an identifier that comes from our own code or configuration, never from a request."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a safe identifier: {name!r}")
    return f"`{name}`"
