"""The analytics SDKs, unchanged, against a real ``eventlens local``; what they stored, read back.

``served`` is ``LocalRuntime`` with every function of the manifest on a free port, with its own home
(the test keys in it) and its own database: ingest, the queue, consume and the warehouse are the
real ones. Each test uses user ids of its own, so tests share the runtime without seeing each
other's events. ``LossyProxy`` is a real TCP hop in front of it that loses the answers to the first
requests it forwards, after the server stored them: the SDK sees a network error and sends again,
as it would on a flaky network, and what it sent must still be stored once.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import isolated_settings

STORED_TIMEOUT_S = 60.0


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path) -> Iterator[LocalRuntime]:
    """``eventlens local`` with every function, serving on a free port (rate limits of its own
    tests aside, off: the SDKs' tests are not about them)."""
    settings = isolated_settings(tmp_path_factory.mktemp("sdk-home"), chdb_dir, prefix="sdk")
    settings = settings.model_copy(update={"rate_limit_per_ip": 0, "rate_limit_per_key": 0})
    runtime = LocalRuntime(settings, port=0)
    runtime.start()
    yield runtime
    runtime.stop()


def unique(name: str) -> str:
    """An id no other test uses."""
    return f"{name}-{uuid.uuid4().hex[:10]}"


@dataclass
class Forwarded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None  # None: the answer was lost on the way back


@dataclass
class LossyProxy:
    """Forwards HTTP requests to ``upstream`` and their answers back, losing the answers to the
    first ``lose`` requests (the connection is closed after the server answered)."""

    upstream_port: int
    lose: int = 0
    forwarded: list[Forwarded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def address(self) -> str:
        """host:port, as Snowplow's emitter takes its endpoint."""
        return f"127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def pass_on(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        try:
            upstream.request(method, path, body=body or None, headers=headers)
            response = upstream.getresponse()
            answer = (response.status, response.getheaders(), response.read())
        finally:
            upstream.close()
        with self._lock:
            lost = self.lose > 0
            self.lose -= 1 if lost else 0
            self.forwarded.append(Forwarded(method, path, headers, body, None if lost else answer[0]))
        return None if lost else answer


def _proxy_handler(proxy: LossyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            answer = proxy.pass_on(self.command, self.path, headers, body)
            if answer is None:  # lost: the client sees the connection close without an answer
                self.close_connection = True
                return
            status, answer_headers, payload = answer
            self.send_response(status)
            for name, value in answer_headers:
                if name.lower() not in ("content-length", "connection", "date", "server"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _forward

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass

    return Handler


@pytest.fixture
def lossy(served: LocalRuntime) -> Iterator[LossyProxy]:
    """A proxy in front of ``served`` that loses the answer to the first request."""
    proxy = LossyProxy(served.port, lose=1)
    yield proxy
    proxy.close()


@pytest.fixture
def faithful(served: LocalRuntime) -> Iterator[LossyProxy]:
    """A proxy in front of ``served`` that loses nothing (to see what an SDK sent)."""
    proxy = LossyProxy(served.port)
    yield proxy
    proxy.close()


STORED_SQL = """
SELECT project_id, toString(event_id) AS event_id, user_id, event_type, ts, source, properties
FROM events
WHERE user_id IN {users:Array(String)}
ORDER BY ts, event_type
"""


def stored(runtime: LocalRuntime, users: list[str], expected: int) -> list[dict[str, Any]]:
    """Every stored event of ``users`` (any project), once ``expected`` of them were stored and the
    queue was drained (so a duplicate would have been stored too); properties parsed."""
    deadline = time.monotonic() + STORED_TIMEOUT_S
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = runtime.components.warehouse.query(STORED_SQL, {"users": users}).to_pylist()
        if len(rows) >= expected and runtime.lag() == 0:
            time.sleep(0.5)  # a last consume of what the lag just counted out
            rows = runtime.components.warehouse.query(STORED_SQL, {"users": users}).to_pylist()
            break
        time.sleep(0.2)
    for row in rows:
        row["properties"] = orjson.loads(row["properties"])
    return rows


def own(properties: dict[str, Any]) -> dict[str, Any]:
    """The properties the caller set: those not named with a leading ``$`` by a protocol or an SDK."""
    return {name: value for name, value in properties.items() if not name.startswith("$")}
