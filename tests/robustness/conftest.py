"""A real ``eventlens local`` for the robustness tests, and a client that sends exactly what it is told.

The runtime is ``LocalRuntime`` on a free port with its own home and its own database in the
session's chDB directory, as ``eventlens local`` runs it; requests go over real sockets, with a
client-side timeout so that a hang fails the test instead of stalling it.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eventlens.settings import Settings
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import TEST_SECRET_KEY, isolated_settings

INGEST_ROUTES = [
    "/v1/events",
    "/events",
    "/collect",
    "/api/v1/stream/ingest",
    "/api/v1/stream/ingest/single",
    "/api/v1/analytics/events",
]
CLIENT_TIMEOUT_S = 10.0


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(
    port: int, method: str, path: str, body: bytes = b"", headers: Mapping[str, str | None] | None = None
) -> Answer:
    """One request with exactly these headers (Content-Length added for a body; the test secret key
    unless ``headers`` names an authorization, None for none), one answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_S)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {
            **({"content-length": str(len(body))} if body else {}),
            "authorization": f"Bearer {TEST_SECRET_KEY}",
            **(headers or {}),
        }.items():
            if value is not None:
                connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def send_raw(port: int, request: bytes) -> Answer:
    """These bytes as the request (headers and all, a body short or absent), then one answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT_S) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())


def field_of(answer: Answer) -> str:
    """The field an error answer names (every error body does)."""
    problem = answer.json()["error"]
    assert problem["reason"], answer
    return str(problem["field"])


def runtime_settings(home: Path, chdb_dir: Path) -> Settings:
    """A test home's settings without rate limits: the fuzzers send thousands of requests a minute
    from one address (rate limits have tests of their own)."""
    settings = isolated_settings(home, chdb_dir, prefix="robust")
    return settings.model_copy(update={"rate_limit_per_ip": 0, "rate_limit_per_key": 0})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path) -> Iterator[LocalRuntime]:
    """``eventlens local`` with every function of the manifest, serving on a free port."""
    settings = runtime_settings(tmp_path_factory.mktemp("robust-home"), chdb_dir)
    runtime = LocalRuntime(settings, port=0)
    runtime.start()
    yield runtime
    runtime.stop()  # its database stays in the session's temporary chDB directory


@pytest.fixture(scope="module")
def served_ingest(tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path) -> Iterator[LocalRuntime]:
    """``eventlens local --functions ingest``: the ingest routes alone, on a free port."""
    settings = runtime_settings(tmp_path_factory.mktemp("robust-ingest-home"), chdb_dir)
    runtime = LocalRuntime(settings, port=0, only={"ingest"})
    runtime.start()
    yield runtime
    runtime.stop()
