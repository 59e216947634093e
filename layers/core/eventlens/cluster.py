"""Cluster mode: the migrations rendered for a ClickHouse cluster (``CLICKHOUSE_CLUSTER``, docs/sizing.md).

With no cluster named, every statement runs as written (one server, or chDB). With one, each
statement of a migration becomes what the same change means on a cluster of shards and replicas:

- A table that holds events, or rows drawn from one person's events, is *sharded*: ``x_local`` on
  every host (``ON CLUSTER``) with the ``Replicated`` form of its engine, and ``x``, a ``Distributed``
  table over the ``x_local`` of every shard, under the name every query already uses. A person's
  events stay on one shard (``cityHash64(user_id)``), so ReplacingMergeTree's merges and ``FINAL``,
  which only ever see one shard, still find an event's duplicates (same event_id, same user), and the
  rows the materialized views derive from a person's events (``user_periods``, ``user_first``, their
  identity rows) sit on that person's shard too: counting rows across shards counts each once.
- The materialized views read ``events_local`` and write the ``_local`` tables: consume inserts into
  the Distributed ``events``, which sends each row to its shard, where the views fire on that shard's
  rows only. Rollups without a user (``daily_rollup``, ``hourly_rollup``, ``movie_daily``) hold each
  shard's partial aggregate states; a read through ``Distributed`` merges them (uniqExact states
  merge by set union, sums add), which is what every report already does within one server.
- A small table that is not about one person (the migration ledger, consume's stage and batch log,
  the CRM users, cohorts, the importer's work tables) is *on every node*: one Replicated table whose
  replicas are every host of the cluster, no Distributed table. Every host reads it whole, so a
  query that joins it with a sharded table is right on each shard, and the writers' partition
  operations (``DROP``/``REPLACE PARTITION``, ``TRUNCATE``) work on it as on one server.

Replication paths use ``{uuid}`` (the table's UUID, the same on every host of an ``ON CLUSTER``
create), not the table's name: ``EXCHANGE TABLES`` carries a table's path with it, and migrations
reuse names (0007 drops ``users_next`` and creates it again), so a name-based path would collide.

DDL takes no bound parameters: the cluster name is spliced in, so it is checked as an identifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# Tables sharded by person, and the expression that picks a row's shard. Rows a view derives from an
# event land on the shard of the event's user; tables a writer fills directly (person_overrides,
# person_overlaps) are keyed on what identifies their row, so a row is always written to one shard.
# The rollups merged on read take any deterministic key: the day keeps a recomputed day in one place.
SHARDING_KEYS: dict[str, str] = {
    "events": "cityHash64(user_id)",
    "user_events": "cityHash64(user_id)",
    "telemetry_events": "cityHash64(user_id)",
    "person_edges": "cityHash64(user_id)",
    "person_properties": "cityHash64(distinct_id)",
    "group_members": "cityHash64(distinct_id)",
    "person_overrides": "cityHash64(distinct_id)",
    "person_overlaps": "cityHash64(person)",
    "daily_rollup": "cityHash64(day)",
    "hourly_rollup": "cityHash64(day)",
    "movie_daily": "cityHash64(day)",
}
# Sharded tables filled only by the views, whose rows must stay on the shard of the events they came
# from (read with FINAL, or keyed by a hash of the user that no sharding key could recompute). Their
# Distributed table has no sharding key, so an INSERT through it is refused on a cluster of more than
# one shard rather than misplacing rows; migrations' backfills write shard-locally instead.
VIEW_FILLED: frozenset[str] = frozenset(
    {"event_ids", "user_periods", "user_first", "groups", "events_by_property"}
)
# Small tables kept whole on every host.
EVERY_NODE: frozenset[str] = frozenset(
    {
        "schema_migrations",
        "users",
        "users_next",
        "telemetry_import",
        "events_removed",
        "consume_stage",
        "consume_batches",
        "cohorts",
    }
)
# The names migrations build a table under before exchanging it with the one it replaces.
REBUILT_AS: dict[str, str] = {
    **{f"{table}_projects": table for table in (*SHARDING_KEYS, *VIEW_FILLED, *EVERY_NODE)},
    "user_events_by_person": "user_events",
}

# Settings every session takes in cluster mode (warehouse.py applies them):
SESSION_SETTINGS: dict[str, str | int] = {
    # An IN or JOIN whose subquery reads a Distributed table runs that subquery once, on the host that
    # took the query, and sends its result to every shard (GLOBAL IN / GLOBAL JOIN): correct for a
    # subquery about persons on any shard (cohorts, merged ids), at the price of shipping the set.
    "distributed_product_mode": "global",
    # An INSERT into a Distributed table returns once every shard has its rows, not when they are
    # queued on the local disk: consume's 'done' must mean stored.
    "distributed_foreground_insert": 1,
    # Replicated tables drop an inserted block identical to a recent one by default; consume's
    # recovery stores a batch again after removing it (migration 0006: no silent drops).
    "insert_deduplicate": 0,
    # A read that names one person (user_id = ...) asks only that person's shard.
    "optimize_skip_unused_shards": 1,
}

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_CREATE_TABLE = re.compile(r"^CREATE TABLE (IF NOT EXISTS )?(\w+)\s*(.*)$", re.S)
_CREATE_TABLE_AS = re.compile(r"^CREATE TABLE (IF NOT EXISTS )?(\w+) AS (\w+)$")
_ENGINE = re.compile(r"\bENGINE = (\w+)(\(([^()]*)\))?", re.S)
_CREATE_MV = re.compile(r"^CREATE MATERIALIZED VIEW (IF NOT EXISTS )?(\w+) TO (\w+) AS\s+(.*)$", re.S)
_CREATE_VIEW = re.compile(r"^CREATE VIEW (IF NOT EXISTS )?(\w+) AS\s+(.*)$", re.S)
_ALTER = re.compile(r"^ALTER TABLE (\w+) (.*)$", re.S)
_DROP = re.compile(r"^DROP (TABLE|VIEW) (IF EXISTS )?(\w+)$")
_EXCHANGE = re.compile(r"^EXCHANGE TABLES (\w+) AND (\w+)$")
_INSERT_SELECT = re.compile(r"^INSERT INTO (\w+)\b(.*)\bFROM (\w+)\b(.*)$", re.S)
_READS = re.compile(r"\b(FROM|JOIN) (\w+)\b")
_COLUMN_CHANGE = re.compile(r"^(ADD|DROP|MODIFY|RENAME|CLEAR|COMMENT) COLUMN\b")


class ClusterModeError(ValueError):
    """A statement cluster mode does not know how to render (a migration it was not taught)."""


def checked_cluster(name: str) -> str:
    """The cluster name, refused unless it is a plain identifier (it is spliced into DDL)."""
    if not _IDENTIFIER.match(name):
        raise ClusterModeError(f"not a cluster name ClickHouse DDL can take unquoted: {name!r}")
    return name


def table_kind(table: str) -> str:
    """``sharded``, ``view_filled`` (sharded, no sharding key) or ``every_node``; raises if unknown."""
    base = REBUILT_AS.get(table, table)
    if base in SHARDING_KEYS:
        return "sharded"
    if base in VIEW_FILLED:
        return "view_filled"
    if base in EVERY_NODE:
        return "every_node"
    raise ClusterModeError(f"table {table!r} has no place in cluster mode: add it to eventlens.cluster")


def sharding_key(table: str) -> str | None:
    """The Distributed table's sharding expression, or None for a view-filled table."""
    return SHARDING_KEYS.get(REBUILT_AS.get(table, table))


def local_name(table: str) -> str:
    """The table a statement on one host works on: ``x_local`` for sharded tables, ``x`` otherwise."""
    return table if table_kind(table) == "every_node" else f"{table}_local"


@dataclass
class ClusterRenderer:
    """Renders statements, in migration order, for one cluster.

    It remembers each table's engine clause as it goes: ``CREATE TABLE x AS y`` and
    ``EXCHANGE TABLES`` need the engine of a table an earlier statement (or migration) made.
    """

    cluster: str
    engines: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checked_cluster(self.cluster)

    @property
    def on_cluster(self) -> str:
        return f"ON CLUSTER '{self.cluster}'"

    def render(self, statement: str) -> list[str]:
        """The statements that make ``statement``'s change on the cluster, in order."""
        sql = statement.strip()
        for pattern, method in (
            (_CREATE_TABLE_AS, self._create_table_as),
            (_CREATE_MV, self._create_view_to),
            (_CREATE_VIEW, self._create_view),
            (_CREATE_TABLE, self._create_table),
            (_ALTER, self._alter),
            (_DROP, self._drop),
            (_EXCHANGE, self._exchange),
            (_INSERT_SELECT, self._insert_select),
        ):
            match = pattern.match(sql)
            if match:
                return method(match)
        raise ClusterModeError(f"cluster mode cannot render this statement:\n{sql}")

    def render_all(self, statements: Iterable[str]) -> list[str]:
        return [rendered for statement in statements for rendered in self.render(statement)]

    # CREATE TABLE ---------------------------------------------------------------------------------

    def _create_table(self, match: re.Match[str]) -> list[str]:
        if_not_exists, table, rest = match[1] or "", match[2], match[3]
        engine = _ENGINE.search(rest)
        if engine is None:
            raise ClusterModeError(f"CREATE TABLE {table} names no engine")
        replicated = self._replicated_engine(table, engine[1], engine[3])
        tail = rest[engine.end() :]
        self.engines[table] = replicated + tail
        columns = rest[: engine.start()].rstrip()
        name = f"{if_not_exists}{local_name(table)} {self.on_cluster}"
        local = f"CREATE TABLE {name}\n{columns}\n{replicated}{tail}"
        return [local, *self._distributed(table, if_not_exists)]

    def _create_table_as(self, match: re.Match[str]) -> list[str]:
        if_not_exists, table, source = match[1] or "", match[2], match[3]
        if source not in self.engines:
            raise ClusterModeError(f"CREATE TABLE {table} AS {source}: {source} was not created before")
        if table_kind(table) != table_kind(source):
            raise ClusterModeError(f"CREATE TABLE {table} AS {source}: the two tables live differently")
        # The engine is spelt out: copied, it would carry the source's replication path.
        self.engines[table] = self.engines[source]
        local = (
            f"CREATE TABLE {if_not_exists}{local_name(table)} {self.on_cluster} AS {local_name(source)}\n"
            f"{self.engines[source].lstrip()}"
        )
        return [local, *self._distributed(table, if_not_exists)]

    def _replicated_engine(self, table: str, engine: str, arguments: str | None) -> str:
        if not engine.endswith("MergeTree") or engine.startswith("Replicated"):
            raise ClusterModeError(f"table {table}: engine {engine} has no Replicated form here")
        if table_kind(table) == "every_node":
            # One replica set across the whole cluster: the path names no shard, the replica both.
            path, replica = "/clickhouse/tables/{uuid}/all", "{shard}-{replica}"
        else:
            path, replica = "/clickhouse/tables/{uuid}/{shard}", "{replica}"
        extra = f", {arguments.strip()}" if arguments and arguments.strip() else ""
        return f"ENGINE = Replicated{engine}('{path}', '{replica}'{extra})"

    def _distributed(self, table: str, if_not_exists: str = "") -> list[str]:
        if table_kind(table) == "every_node":
            return []
        key = sharding_key(table)
        args = f"'{self.cluster}', currentDatabase(), '{local_name(table)}'" + (f", {key}" if key else "")
        return [
            f"CREATE TABLE {if_not_exists}{table} {self.on_cluster} AS {local_name(table)}\n"
            f"ENGINE = Distributed({args})"
        ]

    # Views ----------------------------------------------------------------------------------------

    def _create_view_to(self, match: re.Match[str]) -> list[str]:
        if_not_exists, view, target, select = match[1] or "", match[2], match[3], match[4]
        # A view fires on the inserts of its host's local table, so it must read and write local ones.
        return [
            f"CREATE MATERIALIZED VIEW {if_not_exists}{view} {self.on_cluster} TO {local_name(target)} AS\n"
            f"{self._reading_local(select)}"
        ]

    def _create_view(self, match: re.Match[str]) -> list[str]:
        if_not_exists, view, select = match[1] or "", match[2], match[3]
        return [f"CREATE VIEW {if_not_exists}{view} {self.on_cluster} AS\n{select}"]

    def _reading_local(self, select: str) -> str:
        def local(found: re.Match[str]) -> str:
            name = found[2]
            known = REBUILT_AS.get(name, name)
            if known in SHARDING_KEYS or known in VIEW_FILLED:
                return f"{found[1]} {local_name(name)}"
            return found[0]

        return _READS.sub(local, select)

    # ALTER, DROP, EXCHANGE ----------------------------------------------------------------------------

    def _alter(self, match: re.Match[str]) -> list[str]:
        table, operation = match[1], match[2]
        # Replicated tables de-duplicate by their own window; 0005 and 0006 set the non-replicated one.
        operation = operation.replace(
            "non_replicated_deduplication_window", "replicated_deduplication_window"
        )
        statements = [f"ALTER TABLE {local_name(table)} {self.on_cluster} {operation}"]
        if table_kind(table) != "every_node" and _COLUMN_CHANGE.match(operation):
            statements.append(f"ALTER TABLE {table} {self.on_cluster} {operation}")
        return statements

    def _drop(self, match: re.Match[str]) -> list[str]:
        kind, if_exists, name = match[1], match[2] or "", match[3]
        if kind == "VIEW":
            return [f"DROP VIEW {if_exists}{name} {self.on_cluster} SYNC"]
        self.engines.pop(name, None)
        if table_kind(name) == "every_node":
            return [f"DROP TABLE {if_exists}{name} {self.on_cluster} SYNC"]
        return [
            f"DROP TABLE {if_exists}{name} {self.on_cluster} SYNC",
            f"DROP TABLE {if_exists}{local_name(name)} {self.on_cluster} SYNC",
        ]

    def _exchange(self, match: re.Match[str]) -> list[str]:
        first, second = match[1], match[2]
        if table_kind(first) != table_kind(second):
            raise ClusterModeError(f"EXCHANGE TABLES {first} AND {second}: the two tables live differently")
        if first not in self.engines or second not in self.engines:
            raise ClusterModeError(f"EXCHANGE TABLES {first} AND {second}: one was not created before")
        self.engines[first], self.engines[second] = self.engines[second], self.engines[first]
        exchange = f"EXCHANGE TABLES {local_name(first)} AND {local_name(second)} {self.on_cluster}"
        if table_kind(first) == "every_node":
            return [exchange]
        # Each Distributed table names its local table and keeps its own copy of the columns: after the
        # local tables swap, both are made again over the columns their local table now has.
        remade = []
        for table in (first, second):
            remade += [f"DROP TABLE {table} {self.on_cluster} SYNC", *self._distributed(table)]
        return [exchange, *remade]

    # INSERT … SELECT (the migrations' backfills) ------------------------------------------------------

    def _insert_select(self, match: re.Match[str]) -> list[str]:
        target, source = match[1], match[3]
        if table_kind(target) == "every_node" and table_kind(source) == "every_node":
            return [match[0]]
        if table_kind(target) == "every_node" or table_kind(source) == "every_node":
            raise ClusterModeError(f"INSERT INTO {target} … FROM {source}: one is sharded, one is not")
        # Both Distributed over the same cluster: each shard copies its own rows into its own local
        # table, so every row derived from a person's events stays on that person's shard.
        return [f"{match[0]}\nSETTINGS parallel_distributed_insert_select = 2"]


def render_statements(statements: Iterable[str], cluster: str) -> list[str]:
    """``statements`` as they run: unchanged with no cluster, rendered for ``cluster`` otherwise."""
    if not cluster:
        return list(statements)
    return ClusterRenderer(cluster).render_all(statements)
