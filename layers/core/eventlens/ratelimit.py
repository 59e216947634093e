"""Rate limits: at most N requests per window for a client (an IP address, or an API key).

The Events Analytics API counted ``rate_limit:{ip}:{minute}`` in Redis with a 60 s expiry and
answered 429 past 1,000 a minute. The same fixed window here, in a store every process (and every
Lambda container) shares, so the limit holds at any concurrency: a counter per (client, window)
that is raised only while it is under the limit, in one atomic statement, so no more than the limit
ever pass in a window however many requests race.

Two stores behind one interface: SQLite under ``$EVENTLENS_HOME`` (embedded) and the keys' DynamoDB
table (a conditional UpdateItem per request, items expiring by DynamoDB's TTL).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eventlens.errors import RateLimited
from eventlens.settings import Settings


@dataclass(frozen=True)
class Limit:
    requests: int
    window_s: int = 60


class CounterStore(Protocol):
    def take(self, client: str, window_start: int, limit: int, expires_at: int) -> bool:
        """Count one request of ``client`` in the window starting at ``window_start`` if fewer than
        ``limit`` were counted there; True when it was counted (the request may pass)."""


class RateLimiter:
    def __init__(self, store: CounterStore) -> None:
        self.store = store

    def check(self, client: str, limit: Limit, now: float | None = None) -> None:
        """Pass, or raise ``RateLimited`` with the seconds until the window ends. When the store of
        counters fails, the request passes (and a warning is logged): an outage of the counters
        must not become an outage of ingest; API Gateway's throttling still stands in front."""
        now = time.time() if now is None else now
        window_start = int(now // limit.window_s * limit.window_s)
        window_end = window_start + limit.window_s
        try:
            taken = self.store.take(client, window_start, limit.requests, window_end + limit.window_s)
        except Exception as exc:  # the counters are down: let the request through rather than refuse all
            from eventlens.observability import logger

            logger.warning("rate limit not checked: its store failed", extra={"reason": type(exc).__name__})
            return
        if not taken:
            retry_after = max(1, int(window_end - now + 0.999))
            raise RateLimited(
                "rate_limit",
                f"more than {limit.requests} requests in {limit.window_s} s; retry in {retry_after} s",
                retry_after,
            )


def open_rate_limiter(settings: Settings) -> RateLimiter:
    """Counters in the keys' DynamoDB table when one is set, SQLite under $EVENTLENS_HOME otherwise."""
    if settings.keys_table:
        return RateLimiter(DynamoCounterStore(settings.keys_table))
    return RateLimiter(SqliteCounterStore(settings.home_dir / "rate-limits.sqlite3"))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    client TEXT NOT NULL, window_start INTEGER NOT NULL, count INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    PRIMARY KEY (client, window_start)
)
"""
# Raised only while under the limit: the WHERE makes a full window's upsert change nothing.
_TAKE = """
INSERT INTO counters (client, window_start, count, expires_at) VALUES (?, ?, 1, ?)
ON CONFLICT (client, window_start) DO UPDATE SET count = count + 1 WHERE count < ?
"""
_FORGET = "DELETE FROM counters WHERE expires_at < ?"


class SqliteCounterStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._forgotten_at = 0.0
        setup = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            setup.execute("PRAGMA journal_mode = WAL")  # readers and the one writer do not block
            setup.execute(_SCHEMA)
        finally:
            setup.close()

    def take(self, client: str, window_start: int, limit: int, expires_at: int) -> bool:
        with self._connection() as db:
            changed = db.execute(_TAKE, (client, window_start, expires_at, limit)).rowcount
            if time.monotonic() - self._forgotten_at > 60:
                db.execute(_FORGET, (int(time.time()),))
                self._forgotten_at = time.monotonic()
        return changed == 1

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        # Counters need no fsync: a crash may forget the last increments of a window, never more.
        db.execute("PRAGMA synchronous = OFF")
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()


class DynamoCounterStore:
    """Items ``rl#<client>#<window start>`` with a count, raised by a conditional UpdateItem."""

    def __init__(self, table: str, client: Any | None = None) -> None:
        import boto3

        self.table = table
        self._client = client or boto3.client("dynamodb")

    def take(self, client: str, window_start: int, limit: int, expires_at: int) -> bool:
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"rl#{client}#{window_start}"}},
                UpdateExpression="ADD #count :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(#count) OR #count < :limit",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(limit)},
                    ":expires": {"N": str(expires_at)},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True
