"""Shared fixtures: real components on temporary state.

chDB opens one data directory per process, so the whole test session shares one, and each test
gets its own database in it (and its own $EVENTLENS_HOME for the queue and object storage).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from eventlens.components import Components  # noqa: E402
from eventlens.settings import Settings  # noqa: E402
from eventlens_tools.local.invoke import LocalFunction  # noqa: E402
from eventlens_tools.local.ports import free_port_pair  # noqa: E402,F401 - tests import it from here

ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = ROOT / "events"


def load_event(name: str, key: str | None = "") -> dict[str, Any]:
    """An event fixture from events/ (the same files drive the local runtime and the docs). An API
    Gateway event gets ``key`` as its bearer key (None: none; by default the fixture's own, else the
    test secret key)."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    if "routeKey" in event:
        headers = event.setdefault("headers", {})
        if key is None:
            headers.pop("authorization", None)
        elif key or "authorization" not in headers:
            headers["authorization"] = f"Bearer {key or TEST_SECRET_KEY}"
    return event


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


# Every test home's default project has these keys too (imported as a team would import keys it
# already shipped), so a test's requests can carry a key: http_event sends the secret one.
TEST_WRITE_KEY = "el_write_" + "w" * 43
TEST_SECRET_KEY = "el_secret_" + "s" * 43
# A second project in every test home, for isolation tests: same user ids and event ids as the
# default project's, and none of its data must ever show through the other's keys.
OTHER_PROJECT = "prj_other0000000000"
OTHER_WRITE_KEY = "el_write_" + "o" * 43
OTHER_SECRET_KEY = "el_secret_" + "o" * 43


def isolated_settings(home: Path, chdb_dir: Path, prefix: str = "t") -> Settings:
    """Embedded settings with their own home and their own database in the shared chDB directory,
    and the test keys in the home's default project."""
    settings = Settings(
        EVENTLENS_HOME=home,
        EVENTLENS_CHDB_PATH=chdb_dir,
        CLICKHOUSE_DATABASE=f"{prefix}_{uuid.uuid4().hex[:12]}",
    )
    provision_test_keys(settings)
    return settings


def provision_test_keys(settings: Settings) -> None:
    """Give the home's default project ``TEST_WRITE_KEY`` and ``TEST_SECRET_KEY``, and ``OTHER_PROJECT``
    ``OTHER_WRITE_KEY`` and ``OTHER_SECRET_KEY`` (once)."""
    from eventlens.keys import (
        DEFAULT_PROJECT,
        create_key,
        create_project,
        ensure_default_project,
        key_hash,
        open_key_store,
    )

    store = open_key_store(settings)
    ensure_default_project(store)
    if store.project(OTHER_PROJECT) is None:
        create_project(store, "other", project_id=OTHER_PROJECT)
    keys = (
        (DEFAULT_PROJECT, "write", TEST_WRITE_KEY),
        (DEFAULT_PROJECT, "secret", TEST_SECRET_KEY),
        (OTHER_PROJECT, "write", OTHER_WRITE_KEY),
        (OTHER_PROJECT, "secret", OTHER_SECRET_KEY),
    )
    for project, kind, plain in keys:
        if store.key_by_hash(key_hash(plain)) is None:
            create_key(store, project, kind, plain=plain)  # type: ignore[arg-type]


def hand(parts: Components, functions: dict[str, LocalFunction]) -> None:
    """Hand ``parts`` to each of ``functions``: what their handlers use from then on."""
    for function in functions.values():
        function.bind(parts)


@contextmanager
def opened_components(
    settings: Settings, serve: dict[str, LocalFunction] | None = None
) -> Iterator[Components]:
    """Components for ``settings``, handed to the functions of ``serve`` (as the local runtime hands its
    own to every function it runs); afterwards their database is dropped and they are closed."""
    parts = Components(settings)
    hand(parts, serve or {})
    try:
        yield parts
    finally:
        if "warehouse" in parts.__dict__:
            parts.warehouse.command(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
        parts.close()


@pytest.fixture
def settings(tmp_path: Path, chdb_dir: Path) -> Settings:
    """Embedded settings: a fresh home and a fresh warehouse database for this test."""
    return isolated_settings(tmp_path / "home", chdb_dir)


@pytest.fixture(scope="session")
def functions() -> dict[str, LocalFunction]:
    """The manifest's functions, each loaded once as a warm local 'container'; a test hands them its
    components (``components``, ``opened_components(…, serve=functions)`` or ``bind``)."""
    from eventlens.manifest import load_manifest

    return {name: LocalFunction(function) for name, function in load_manifest().items()}


@pytest.fixture
def components(settings: Settings, functions: dict[str, LocalFunction]) -> Iterator[Components]:
    """This test's components, handed to the manifest's functions (what their handlers use)."""
    with opened_components(settings, serve=functions) as parts:
        yield parts


def http_event(
    name: str,
    body: Any = None,
    raw_body: bytes | None = None,
    query: str | None = None,
    key: str | None = TEST_SECRET_KEY,
) -> dict[str, Any]:
    """An API Gateway fixture from events/, with its body (JSON or raw bytes) or query replaced, and
    ``key`` as its bearer key (None: no Authorization header)."""
    event = load_event(name, key)
    if raw_body is not None:
        event["body"] = raw_body.decode()
    elif body is not None:
        event["body"] = json.dumps(body)
    if query is not None:
        from urllib.parse import parse_qsl

        event["rawQueryString"] = query
        event["queryStringParameters"] = dict(parse_qsl(query))
    return event


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


SERVERS = ROOT / "scripts" / "servers"


def server_script(server: str, action: str, port: int | str, timeout_s: float = 600) -> None:
    """Run ``scripts/servers/<server>.sh <action> <port>`` (install, start, stop, clean …)."""
    import subprocess

    script = SERVERS / f"{server}.sh"
    subprocess.run(
        ["bash", str(script), action, str(port)], check=True, capture_output=True, timeout=timeout_s
    )


@contextmanager
def session_server(server: str, configured: str | None, address: str) -> Iterator[str]:
    """The server scripts/test.sh started (``configured``, its address), or one started here on a free
    port and removed afterwards; ``address`` is formatted with that ``port``."""
    if configured:
        yield configured
        return
    port = free_port_pair()
    server_script(server, "start", port)
    try:
        yield address.format(port=port)
    finally:
        server_script(server, "stop", port)
        server_script(server, "clean", port)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The real Kafka broker: the one scripts/test.sh started, or one started here for this session."""
    with session_server("kafka", os.environ.get("EVENTLENS_TEST_KAFKA"), "127.0.0.1:{port}") as bootstrap:
        yield bootstrap


@contextmanager
def moto_keys_table(name: str = "keys") -> Iterator[Any]:
    """A DynamoDB client under moto with the keys table as infra/ makes it (partition key pk)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture(params=["sqlite", "dynamodb"])
def key_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The keys' store, once embedded (SQLite) and once as on AWS (DynamoDB under moto)."""
    from eventlens.keys import DynamoKeyStore, SqliteKeyStore

    if request.param == "sqlite":
        yield SqliteKeyStore(tmp_path / "keys.sqlite3")
        return
    with moto_keys_table() as client:
        yield DynamoKeyStore("keys", client)
