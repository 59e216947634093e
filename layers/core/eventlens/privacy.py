"""Who must not be stored again, and the log of erasures: the privacy side of the control plane.

An erased person (``DELETE /v1/persons/{user_id}``) is **suppressed** in their project: consume drops
their events — still in the queue, or sent later — until an operator lifts it (``eventlens persons
unsuppress``). Each erasure leaves an **audit record**: when, by which key, what was removed. The
person appears there as the SHA-256 of project and user id, never as the id: the log can confirm
that a given person was erased without keeping who they were.

Both live beside the projects and keys (the same SQLite file under ``$EVENTLENS_HOME``, the same
DynamoDB table on AWS), not in the warehouse: the command works whether or not ``eventlens local``
holds the embedded warehouse, and consume reads them as cheaply as a request reads its key.

Consume asks for the suppressed persons on every batch. ``Suppressions`` keeps them per container
and re-reads them only when the store's change counter moved (one read per batch), so a suppression
takes effect at the next batch, everywhere.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from eventlens.keys import dynamo_scan, sqlite_transaction
from eventlens.settings import Settings


@dataclass(frozen=True)
class ErasureRecord:
    """One erasure, as the audit log keeps it."""

    job_id: str
    project_id: str
    person_hash: str
    key_id: str
    at: datetime
    removed: dict[str, int]


def person_hash(project_id: str, user_id: str) -> str:
    """How the audit log names a person: SHA-256 of ``project_id``, NUL, ``user_id`` (hex)."""
    return hashlib.sha256(f"{project_id}\x00{user_id}".encode()).hexdigest()


class PrivacyStore(Protocol):
    def set_suppressed(self, project_id: str, user_id: str, suppressed: bool) -> bool:
        """Suppress or lift; True when that changed anything."""

    def suppressed(self) -> frozenset[tuple[str, str]]:
        """Every suppressed (project_id, user_id)."""

    def version(self) -> int:
        """A counter that moves on every change of the suppressed set."""

    def add_erasure(self, record: ErasureRecord) -> None: ...

    def erasures(self, project_id: str) -> list[ErasureRecord]:
        """The project's erasures, oldest first."""


class Suppressions:
    """The suppressed set, re-read only when the store's counter moved (see the module doc)."""

    def __init__(self, store: PrivacyStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._version: int | None = None
        self._persons: frozenset[tuple[str, str]] = frozenset()

    def current(self) -> frozenset[tuple[str, str]]:
        with self._lock:
            version = self.store.version()
            if version != self._version:
                self._persons = self.store.suppressed()
                self._version = version
            return self._persons


def open_privacy_store(settings: Settings) -> PrivacyStore:
    """DynamoDB when ``EVENTLENS_KEYS_TABLE`` is set, SQLite under ``$EVENTLENS_HOME`` otherwise."""
    if settings.keys_table:
        return DynamoPrivacyStore(settings.keys_table)
    return SqlitePrivacyStore(settings.home_dir / "keys.sqlite3")


# --- SQLite (embedded) ------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS suppressed_persons (
    project_id TEXT NOT NULL, user_id TEXT NOT NULL, since TEXT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE TABLE IF NOT EXISTS privacy_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT OR IGNORE INTO privacy_version (id, version) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS erasures (
    job_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, person_hash TEXT NOT NULL, key_id TEXT NOT NULL,
    at TEXT NOT NULL, removed TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS erasures_by_project ON erasures (project_id, at);
"""


class SqlitePrivacyStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connection() as db:
            db.executescript(_SCHEMA)

    def set_suppressed(self, project_id: str, user_id: str, suppressed: bool) -> bool:
        with self._connection() as db:
            if suppressed:
                changed = db.execute(
                    "INSERT OR IGNORE INTO suppressed_persons (project_id, user_id, since)"
                    " VALUES (?, ?, datetime('now'))",
                    (project_id, user_id),
                ).rowcount
            else:
                changed = db.execute(
                    "DELETE FROM suppressed_persons WHERE project_id = ? AND user_id = ?",
                    (project_id, user_id),
                ).rowcount
            if changed:
                db.execute("UPDATE privacy_version SET version = version + 1 WHERE id = 1")
        return bool(changed)

    def suppressed(self) -> frozenset[tuple[str, str]]:
        with self._connection() as db:
            rows = db.execute("SELECT project_id, user_id FROM suppressed_persons").fetchall()
        return frozenset((row["project_id"], row["user_id"]) for row in rows)

    def version(self) -> int:
        with self._connection() as db:
            return int(db.execute("SELECT version FROM privacy_version WHERE id = 1").fetchone()["version"])

    def add_erasure(self, record: ErasureRecord) -> None:
        with self._connection() as db:
            db.execute(
                "INSERT INTO erasures (job_id, project_id, person_hash, key_id, at, removed)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.job_id,
                    record.project_id,
                    record.person_hash,
                    record.key_id,
                    record.at.isoformat(),
                    orjson.dumps(record.removed).decode(),
                ),
            )

    def erasures(self, project_id: str) -> list[ErasureRecord]:
        with self._connection() as db:
            rows = db.execute(
                "SELECT * FROM erasures WHERE project_id = ? ORDER BY at, job_id", (project_id,)
            ).fetchall()
        return [
            ErasureRecord(
                job_id=row["job_id"],
                project_id=row["project_id"],
                person_hash=row["person_hash"],
                key_id=row["key_id"],
                at=datetime.fromisoformat(row["at"]),
                removed=orjson.loads(row["removed"]),
            )
            for row in rows
        ]

    def _connection(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_transaction(self.path)


# --- DynamoDB (on AWS) ------------------------------------------------------------------------------

SUPPRESSED_ITEM = "suppressed"


class DynamoPrivacyStore:
    """Items in the keys table: ``suppressed`` (every suppressed person as ``<project>#<user>`` in one
    string set, and the change counter, both changed by one atomic UpdateItem: consume reads one
    item, and the functions' IAM policies can name it) and ``erasure#<project>#<at>#<job>`` (the
    audit log). Limit: an item holds 400 KB, some 8,000 suppressed persons of 50-byte ids.
    """

    def __init__(self, table: str, client: Any | None = None) -> None:
        import boto3

        self.table = table
        self._client = client or boto3.client("dynamodb")

    def set_suppressed(self, project_id: str, user_id: str, suppressed: bool) -> bool:
        entry = f"{project_id}#{user_id}"
        holds = entry in self._persons()
        if holds == suppressed:
            return False
        self._client.update_item(
            TableName=self.table,
            Key={"pk": {"S": SUPPRESSED_ITEM}},
            UpdateExpression=("ADD" if suppressed else "DELETE")
            + " persons :entry SET version = if_not_exists(version, :zero) + :one",
            ExpressionAttributeValues={":entry": {"SS": [entry]}, ":one": {"N": "1"}, ":zero": {"N": "0"}},
        )
        return True

    def suppressed(self) -> frozenset[tuple[str, str]]:
        pairs = (entry.split("#", 1) for entry in self._persons())
        return frozenset((project, user) for project, user in pairs)

    def version(self) -> int:
        item = self._item("version")
        return int(item["version"]["N"]) if item and "version" in item else 0

    def _persons(self) -> set[str]:
        item = self._item("persons")
        return set(item["persons"]["SS"]) if item and "persons" in item else set()

    def _item(self, attribute: str) -> dict[str, Any] | None:
        answer = self._client.get_item(
            TableName=self.table,
            Key={"pk": {"S": SUPPRESSED_ITEM}},
            ConsistentRead=True,
            ProjectionExpression=attribute,
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def add_erasure(self, record: ErasureRecord) -> None:
        self._client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"erasure#{record.project_id}#{record.at.isoformat()}#{record.job_id}"},
                "job_id": {"S": record.job_id},
                "project_id": {"S": record.project_id},
                "person_hash": {"S": record.person_hash},
                "key_id": {"S": record.key_id},
                "at": {"S": record.at.isoformat()},
                "removed": {"S": orjson.dumps(record.removed).decode()},
            },
        )

    def erasures(self, project_id: str) -> list[ErasureRecord]:
        records = [
            ErasureRecord(
                job_id=i["job_id"]["S"],
                project_id=i["project_id"]["S"],
                person_hash=i["person_hash"]["S"],
                key_id=i["key_id"]["S"],
                at=datetime.fromisoformat(i["at"]["S"]),
                removed=orjson.loads(i["removed"]["S"]),
            )
            for i in self._scan(f"erasure#{project_id}#")
        ]
        return sorted(records, key=lambda r: (r.at, r.job_id))

    def _scan(self, prefix: str) -> list[dict[str, Any]]:
        return dynamo_scan(self._client, self.table, prefix)
