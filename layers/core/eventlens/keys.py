"""Projects and their API keys: who may send events, who may read them.

A **project** is the unit of isolation. Its **write keys** may only send events (they are public:
safe inside a web page or an app); its **secret keys** may also read reports, ask for predictions
and administer. A key is shown once, when it is made; the store keeps its SHA-256 only (keys are 256
random bits, so a fast hash is enough: there is nothing to guess), and a request's key is looked up
by its hash and then compared in constant time.

A key can be revoked (it stops working at once, in every container within ``CACHE_SECONDS``) or
rotated: a new key of the same kind is made and the old one keeps working for an overlap, so
clients can move without an outage.

Two stores behind one interface: SQLite under ``$EVENTLENS_HOME`` (embedded: several processes may
use it at once, so the command works whether or not ``eventlens local`` runs) and a DynamoDB table
(on AWS, read by the functions and the authorizer).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from eventlens.errors import Forbidden, InvalidParameter, KeyStoreUnavailable, NotFound, Unauthorized
from eventlens.settings import Settings

KeyKind = Literal["write", "secret"]
_KEY_SHAPE = re.compile(r"^el_(write|secret)_[A-Za-z0-9_-]{43}$")
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
DEFAULT_PROJECT = "default"
KEYLESS = "keyless"  # the key id of a request that came without a key on a keyless route


@dataclass(frozen=True)
class Project:
    project_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKey:
    """A key as stored: never the key itself, only its hash and the first characters to tell it by."""

    key_id: str
    project_id: str
    kind: KeyKind
    hint: str  # the key's first 14 characters, e.g. "el_write_AbC12"
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True)
class Principal:
    """Who a request is: the project its key belongs to, and what the key may do."""

    project_id: str
    kind: KeyKind
    key_id: str


class KeyStore(Protocol):
    def add_project(self, project: Project) -> None: ...

    def project(self, project_id: str) -> Project | None: ...

    def projects(self) -> list[Project]: ...

    def add_key(self, key: ApiKey) -> None: ...

    def key_by_hash(self, key_hash: str) -> ApiKey | None: ...

    def key(self, key_id: str) -> ApiKey | None: ...

    def api_keys(self, project_id: str | None = None) -> list[ApiKey]: ...

    def update_key(self, key: ApiKey) -> None: ...

    def keyless(self, kind: KeyKind) -> str | None:
        """The project that requests without a key reach on the reference systems' routes of this
        kind, if one opted in."""

    def set_keyless(self, kind: KeyKind, project_id: str | None) -> None: ...


# --- what the command and the routes call -------------------------------------------------------


def create_project(store: KeyStore, name: str, project_id: str | None = None) -> tuple[Project, str, str]:
    """A new project with one write key and one secret key; returns the keys in plain text."""
    if not _PROJECT_NAME.match(name):
        raise InvalidParameter("name", "1-64 letters, digits, spaces, '.', '_' or '-', starting with one")
    project = Project(project_id or f"prj_{uuid.uuid4().hex[:16]}", name, _now())
    if store.project(project.project_id) is not None:
        raise InvalidParameter("project_id", f"{project.project_id} exists already")
    store.add_project(project)
    _, write = create_key(store, project.project_id, "write")
    _, secret = create_key(store, project.project_id, "secret")
    return project, write, secret


def ensure_default_project(store: KeyStore) -> tuple[Project, str, str] | None:
    """The ``default`` project with its first keys when it does not exist yet; None when it does."""
    if store.project(DEFAULT_PROJECT) is not None:
        return None
    return create_project(store, DEFAULT_PROJECT, project_id=DEFAULT_PROJECT)


def create_key(
    store: KeyStore,
    project_id: str,
    kind: KeyKind,
    expires_at: datetime | None = None,
    plain: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key of ``kind`` for the project; the plain key is returned here and never again.

    ``plain`` imports a key made elsewhere (one already shipped inside an app, say); it must have
    the shape of a key of that kind, and may not be in use.
    """
    if store.project(project_id) is None:
        raise NotFound("project_id", f"no project {project_id}")
    if plain is None:
        plain = f"el_{kind}_{secrets.token_urlsafe(32)}"
    elif not _KEY_SHAPE.match(plain) or not plain.startswith(f"el_{kind}_"):
        raise InvalidParameter("key", f"must be el_{kind}_ followed by 43 characters of [A-Za-z0-9_-]")
    elif store.key_by_hash(key_hash(plain)) is not None:
        raise InvalidParameter("key", "is in use already")
    key = ApiKey(
        key_id=f"key_{uuid.uuid4().hex[:16]}",
        project_id=project_id,
        kind=kind,
        hint=plain[:14],
        key_hash=key_hash(plain),
        created_at=_now(),
        expires_at=expires_at,
    )
    store.add_key(key)
    return key, plain


def revoke_key(store: KeyStore, key_id: str) -> ApiKey:
    """Stop a key working (at once here, within ``CACHE_SECONDS`` in every running container)."""
    key = _existing(store, key_id)
    revoked = replace(key, revoked_at=key.revoked_at or _now())
    store.update_key(revoked)
    return revoked


def rotate_key(store: KeyStore, key_id: str, overlap: timedelta) -> tuple[ApiKey, str, ApiKey]:
    """A new key of the same kind; the old one keeps working for ``overlap``, then expires."""
    old = _existing(store, key_id)
    if not old.usable(_now()):
        raise InvalidParameter("key_id", f"{key_id} is revoked or expired; create a new key instead")
    new, plain = create_key(store, old.project_id, old.kind)
    ending = replace(old, expires_at=_now() + overlap)
    store.update_key(ending)
    return new, plain, ending


def open_key_store(settings: Settings) -> KeyStore:
    """DynamoDB when ``EVENTLENS_KEYS_TABLE`` is set, SQLite under ``$EVENTLENS_HOME`` otherwise."""
    if settings.keys_table:
        return DynamoKeyStore(settings.keys_table)
    return SqliteKeyStore(settings.home_dir / "keys.sqlite3")


def set_keyless_routes(store: KeyStore, project_id: str, kinds: set[KeyKind]) -> None:
    """Let requests without a key reach ``project_id`` on the reference systems' routes of ``kinds``
    (write: their ingest routes; secret: their read routes), and no other project on those kinds.
    Passing no kinds takes the project's keyless routes away."""
    if store.project(project_id) is None:
        raise NotFound("project_id", f"no project {project_id}")
    for kind in ("write", "secret"):
        if kind in kinds:
            store.set_keyless(kind, project_id)
        elif store.keyless(kind) == project_id:
            store.set_keyless(kind, None)


def key_hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


class Authenticator:
    """Turns a request's key into a ``Principal``, caching what the store said for a few seconds so
    that a warm container pays a dictionary lookup, not a store round trip, per request."""

    CACHE_SECONDS = 30.0

    def __init__(self, store: KeyStore, cache_seconds: float = CACHE_SECONDS) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._keyless_cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def principal(self, presented: str | None, need: KeyKind, keyless_route: bool = False) -> Principal:
        """Who presented this key; Unauthorized (401) or Forbidden (403) otherwise.

        A secret key may do what a write key may; a write key may only write. With no key at all, on
        one of the reference systems' routes (``keyless_route``), the caller is the project that
        opted in to keyless routes of this kind, if one did (``eventlens projects keyless``).
        """
        if not presented:
            project = self._keyless(need) if keyless_route else None
            if project is not None:
                return Principal(project, need, KEYLESS)
            raise Unauthorized("authorization", "send an API key: Authorization: Bearer <key>")
        if not _KEY_SHAPE.match(presented):
            raise Unauthorized("authorization", "the API key is not valid")
        computed = key_hash(presented)
        key = self._lookup(computed)
        if key is None or not hmac.compare_digest(key.key_hash, computed) or not key.usable(_now()):
            raise Unauthorized("authorization", "the API key is not valid, or was revoked")
        if need == "secret" and key.kind != "secret":
            raise Forbidden("authorization", "a write key may only send events; use a secret key")
        return Principal(key.project_id, key.kind, key.key_id)

    def _keyless(self, kind: KeyKind) -> str | None:
        now = time.monotonic()
        with self._lock:
            cached = self._keyless_cache.get(kind)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            project = self.store.keyless(kind)
        except Exception as exc:  # as for keys: the request may be retried
            raise KeyStoreUnavailable(f"cannot read API keys: {type(exc).__name__}") from exc
        with self._lock:
            self._keyless_cache[kind] = (now, project)
        return project

    def _lookup(self, computed: str) -> ApiKey | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(computed)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            key = self.store.key_by_hash(computed)
        except Exception as exc:  # sqlite3, OS or AWS errors alike: the request may be retried
            raise KeyStoreUnavailable(f"cannot read API keys: {type(exc).__name__}") from exc
        with self._lock:
            if len(self._cache) > 10_000:  # keys guessed at random must not grow it without bound
                self._cache.clear()
            self._cache[computed] = (now, key)
        return key


def bearer_key(headers: dict[str, str] | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header (header names in any case)."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization" and value:
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def sdk_header_key(headers: dict[str, str] | None) -> str | None:
    """The key of a request in a header, wherever an analytics SDK puts it: ``Authorization: Bearer
    <key>``, ``Authorization: Basic`` with the key as user name (an empty user name: the password),
    or ``X-Write-Key: <key>`` (header names in any case)."""
    if key := bearer_key(headers):
        return key
    for name, value in (headers or {}).items():
        lowered = name.lower()
        if lowered == "authorization" and value:
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "basic" and token.strip():
                return _basic_user(token.strip())
        elif lowered == "x-write-key" and value.strip():
            return value.strip()
    return None


def _basic_user(token: str) -> str | None:
    try:
        credentials = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = credentials.partition(":")
    return user or password or None


def _existing(store: KeyStore, key_id: str) -> ApiKey:
    key = store.key(key_id)
    if key is None:
        raise NotFound("key_id", f"no key {key_id}")
    return key


def _now() -> datetime:
    return datetime.now(UTC)


# --- SQLite (embedded) ------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    project_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keyless_routes (
    kind TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(project_id)
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects(project_id),
    kind TEXT NOT NULL, hint TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, revoked_at TEXT, expires_at TEXT
);
"""
_KEY_COLUMNS = "key_id, project_id, kind, hint, key_hash, created_at, revoked_at, expires_at"
_INSERT_KEY = f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_KEY_BY_HASH = f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?"
_KEY_BY_ID = f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_id = ?"
_KEYS = (
    f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE ? IS NULL OR project_id = ?"
    " ORDER BY project_id, created_at, key_id"
)


class SqliteKeyStore:
    """Projects and keys in one SQLite file; every call is its own short transaction."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connection() as db:
            db.executescript(_SCHEMA)

    def add_project(self, project: Project) -> None:
        with self._connection() as db:
            db.execute(
                "INSERT INTO projects (project_id, name, created_at) VALUES (?, ?, ?)",
                (project.project_id, project.name, project.created_at.isoformat()),
            )

    def project(self, project_id: str) -> Project | None:
        with self._connection() as db:
            row = db.execute("SELECT * FROM projects WHERE project_id = ?", (project_id,)).fetchone()
        return _project(row) if row else None

    def projects(self) -> list[Project]:
        with self._connection() as db:
            return [_project(r) for r in db.execute("SELECT * FROM projects ORDER BY created_at, project_id")]

    def add_key(self, key: ApiKey) -> None:
        with self._connection() as db:
            db.execute(
                f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _key_row(key)
            )

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        with self._connection() as db:
            row = db.execute(
                f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,)
            ).fetchone()
        return _key(row) if row else None

    def key(self, key_id: str) -> ApiKey | None:
        with self._connection() as db:
            row = db.execute(_KEY_BY_ID, (key_id,)).fetchone()
        return _key(row) if row else None

    def api_keys(self, project_id: str | None = None) -> list[ApiKey]:
        with self._connection() as db:
            rows = db.execute(_KEYS, (project_id, project_id)).fetchall()
        return [_key(r) for r in rows]

    def update_key(self, key: ApiKey) -> None:
        with self._connection() as db:
            db.execute(
                "UPDATE api_keys SET revoked_at = ?, expires_at = ? WHERE key_id = ?",
                (_text(key.revoked_at), _text(key.expires_at), key.key_id),
            )

    def keyless(self, kind: KeyKind) -> str | None:
        with self._connection() as db:
            row = db.execute("SELECT project_id FROM keyless_routes WHERE kind = ?", (kind,)).fetchone()
        return str(row["project_id"]) if row else None

    def set_keyless(self, kind: KeyKind, project_id: str | None) -> None:
        with self._connection() as db:
            db.execute("DELETE FROM keyless_routes WHERE kind = ?", (kind,))
            if project_id is not None:
                db.execute("INSERT INTO keyless_routes (kind, project_id) VALUES (?, ?)", (kind, project_id))

    def _connection(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_transaction(self.path)


@contextmanager
def sqlite_transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """A short transaction on the control-plane SQLite file (rows by name): commits, or rolls back
    on an exception. Shared by the key store and the privacy store (``eventlens.privacy``)."""
    db = sqlite3.connect(path, timeout=10)
    db.row_factory = sqlite3.Row
    try:
        with db:
            yield db
    finally:
        db.close()


def _project(row: Any) -> Project:
    return Project(row["project_id"], row["name"], datetime.fromisoformat(row["created_at"]))


def _key_row(key: ApiKey) -> tuple[Any, ...]:
    return (
        key.key_id,
        key.project_id,
        key.kind,
        key.hint,
        key.key_hash,
        key.created_at.isoformat(),
        _text(key.revoked_at),
        _text(key.expires_at),
    )


def _key(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row["key_id"],
        project_id=row["project_id"],
        kind=row["kind"],
        hint=row["hint"],
        key_hash=row["key_hash"],
        created_at=datetime.fromisoformat(row["created_at"]),
        revoked_at=_moment(row["revoked_at"]),
        expires_at=_moment(row["expires_at"]),
    )


def _text(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# --- DynamoDB (on AWS) ------------------------------------------------------------------------------


class DynamoKeyStore:
    """Projects and keys in one DynamoDB table (partition key ``pk``, string).

    Items: ``project#<id>`` (a project), ``key#<id>`` (a key, with its hash) and ``hash#<sha256>``
    (the lookup a request makes: one GetItem, strongly consistent, naming the key id and carrying
    the key's fields so no second read is needed). A key and its hash item are written together.
    """

    def __init__(self, table: str, client: Any | None = None) -> None:
        import boto3

        self.table = table
        self._client = client or boto3.client("dynamodb")

    def add_project(self, project: Project) -> None:
        self._client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"project#{project.project_id}"},
                "project_id": {"S": project.project_id},
                "name": {"S": project.name},
                "created_at": {"S": project.created_at.isoformat()},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def project(self, project_id: str) -> Project | None:
        item = self._get(f"project#{project_id}")
        return _dynamo_project(item) if item else None

    def projects(self) -> list[Project]:
        items = self._scan("project#")
        return sorted((_dynamo_project(i) for i in items), key=lambda p: (p.created_at, p.project_id))

    def add_key(self, key: ApiKey) -> None:
        self._client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": self.table, "Item": _dynamo_key(key, f"key#{key.key_id}")}},
                {"Put": {"TableName": self.table, "Item": _dynamo_key(key, f"hash#{key.key_hash}")}},
            ]
        )

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        item = self._get(f"hash#{key_hash}")
        return _dynamo_api_key(item) if item else None

    def key(self, key_id: str) -> ApiKey | None:
        item = self._get(f"key#{key_id}")
        return _dynamo_api_key(item) if item else None

    def api_keys(self, project_id: str | None = None) -> list[ApiKey]:
        keys = [_dynamo_api_key(i) for i in self._scan("key#")]
        chosen = [k for k in keys if project_id is None or k.project_id == project_id]
        return sorted(chosen, key=lambda k: (k.project_id, k.created_at, k.key_id))

    def update_key(self, key: ApiKey) -> None:
        self._client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": self.table, "Item": _dynamo_key(key, f"key#{key.key_id}")}},
                {"Put": {"TableName": self.table, "Item": _dynamo_key(key, f"hash#{key.key_hash}")}},
            ]
        )

    def keyless(self, kind: KeyKind) -> str | None:
        item = self._get(f"keyless#{kind}")
        return item["project_id"]["S"] if item else None

    def set_keyless(self, kind: KeyKind, project_id: str | None) -> None:
        key = {"pk": {"S": f"keyless#{kind}"}}
        if project_id is None:
            self._client.delete_item(TableName=self.table, Key=key)
        else:
            self._client.put_item(TableName=self.table, Item={**key, "project_id": {"S": project_id}})

    def _get(self, pk: str) -> dict[str, Any] | None:
        answer = self._client.get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def _scan(self, prefix: str) -> list[dict[str, Any]]:
        return dynamo_scan(self._client, self.table, prefix)


def dynamo_scan(client: Any, table: str, prefix: str) -> list[dict[str, Any]]:
    """Every item of ``table`` whose pk starts with ``prefix``, all pages (administration only:
    listing is rare). Shared by the key store and the privacy store (``eventlens.privacy``)."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(pk, :prefix)",
        "ExpressionAttributeValues": {":prefix": {"S": prefix}},
    }
    while True:
        page = client.scan(**request)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _dynamo_project(item: dict[str, Any]) -> Project:
    return Project(
        item["project_id"]["S"], item["name"]["S"], datetime.fromisoformat(item["created_at"]["S"])
    )


def _dynamo_key(key: ApiKey, pk: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": pk},
        "key_id": {"S": key.key_id},
        "project_id": {"S": key.project_id},
        "kind": {"S": key.kind},
        "hint": {"S": key.hint},
        "key_hash": {"S": key.key_hash},
        "created_at": {"S": key.created_at.isoformat()},
    }
    if key.revoked_at:
        item["revoked_at"] = {"S": key.revoked_at.isoformat()}
    if key.expires_at:
        item["expires_at"] = {"S": key.expires_at.isoformat()}
    return item


def _dynamo_api_key(item: dict[str, Any]) -> ApiKey:
    def moment(name: str) -> datetime | None:
        return datetime.fromisoformat(item[name]["S"]) if name in item else None

    kind = item["kind"]["S"]
    if kind not in ("write", "secret"):
        raise ValueError(f"stored key {item['key_id']['S']} has kind {kind!r}")
    return ApiKey(
        key_id=item["key_id"]["S"],
        project_id=item["project_id"]["S"],
        kind=kind,
        hint=item["hint"]["S"],
        key_hash=item["key_hash"]["S"],
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        revoked_at=moment("revoked_at"),
        expires_at=moment("expires_at"),
    )
