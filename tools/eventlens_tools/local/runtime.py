"""``eventlens local``: every HTTP route of the manifest on one port, and its Kafka triggers fed.

HTTP requests become API Gateway HTTP API (2.0) events for the function that owns the route. The
consume function gets MSK-shaped events from Kafka (``KAFKA_BOOTSTRAP``) or the embedded queue,
and the offsets are committed only after it returns; when it raises, the batch is delivered again.
``GET /metrics`` answers Prometheus's text format (``eventlens_tools.local.metrics``); ``GET /`` and
``/console/*`` the web console's static files (``eventlens_tools.console``).

``stop`` works from any state (started or not, half started, a batch in consume) and in bounded
time: the feeders finish the batch in hand, and a feeder still busy after ``STOP_WAIT_S`` is left to
the process's exit (its uncommitted batch is delivered again next time, and stored once).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from eventlens.components import Components
from eventlens.deadletter import PENDING
from eventlens.errors import QueueUnavailable
from eventlens.health import queue_lag
from eventlens.keys import open_key_store
from eventlens.manifest import Function, HttpRoute, load_manifest
from eventlens.msk import event_from_records
from eventlens.observability import counting_into, logger
from eventlens.queue import QueueReader, open_reader
from eventlens.settings import Settings
from eventlens_tools.console import console_file
from eventlens_tools.local.apigw import http_api_event, http_response, routed_path
from eventlens_tools.local.invoke import LocalFunction
from eventlens_tools.local.metrics import CONTENT_TYPE, RuntimeMetrics
from eventlens_tools.local.projects import DefaultKeys, default_project_keys

HTTP_CONCURRENCY = 4
# The HTTP server's limits: a thread per open connection, so each connection is bounded in time and
# their number is capped; a body is refused by its Content-Length before any of it is read.
REQUEST_TIMEOUT_S = 30.0  # for each read or write; a body must arrive whole within it (else 408)
MAX_CONNECTIONS = 64  # open at once; the next is answered 503 and closed
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API's payload limit (more when ingest takes more)
LINGER_S = 2.0  # after refusing a body, how long its bytes are read and dropped so the client sees why
STOP_WAIT_S = 10.0  # how long stop waits for a feeder's batch in hand


@dataclass(frozen=True)
class RouteTarget:
    route: HttpRoute
    function: LocalFunction


class LocalRuntime:
    """The functions of the manifest, served and fed in this process."""

    def __init__(
        self, settings: Settings, port: int = 8000, host: str = "127.0.0.1", only: set[str] | None = None
    ) -> None:
        """``only`` names the functions to run here (all by default): as on Lambda, ingest can run in
        one process while consume and report, which share the warehouse, run in another."""
        self.settings = settings
        self.components = Components(settings)  # one for every function: chDB allows one per process
        manifest = load_manifest()
        unknown = (only or set()) - set(manifest)
        if unknown:
            raise ValueError(f"not in the manifest: {sorted(unknown)}")
        self.manifest: dict[str, Function] = {n: f for n, f in manifest.items() if only is None or n in only}
        # HTTP functions get a few containers each (Lambda scales them out); a Kafka-fed one gets one
        # per feeder, as the event source mapping invokes one batch at a time per partition set.
        self.functions = {
            name: LocalFunction(fn, HTTP_CONCURRENCY if fn.http else 1, parts=self.components)
            for name, fn in self.manifest.items()
        }
        self.routes = [
            RouteTarget(route, self.functions[name])
            for name, fn in self.manifest.items()
            for route in fn.http
        ]
        self._server = ThreadingHTTPServer((host, port), _handler_class(self))
        self._server.daemon_threads = True
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._serving = False
        self.consumed_batches = 0
        self.default_keys: DefaultKeys | None = None  # set by start() when HTTP routes are served
        self.metrics = RuntimeMetrics(
            lag=lambda: queue_lag(settings),
            dead_letters=lambda: sum(1 for _ in self.components.objects.list(PENDING)),
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Open every dependency (migrating the warehouse), start the feeders, then serve HTTP.
        A directory of $EVENTLENS_HOME it cannot write ends the process with one line saying which."""
        _check_writable(_embedded_directories(self.settings, set(self.manifest)))
        _ = self.components.queue, self.components.objects
        if set(self.manifest) - {"ingest"}:  # every function but ingest reads or writes the warehouse
            _ = self.components.warehouse
        for name, fn in self.manifest.items():
            for trigger in fn.kafka:
                if self._stop.is_set():
                    return
                thread = threading.Thread(
                    target=self._feed,
                    args=(self.functions[name], trigger.batch_size, trigger.maximum_batching_window_s),
                    name=f"feed-{name}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
        if self._stop.is_set():
            return
        if any(fn.http for fn in self.manifest.values()):
            self.default_keys = default_project_keys(open_key_store(self.settings), self.settings.home_dir)
            logger.info(
                "project default: made now" if self.default_keys.created else "project default",
                extra={"keys": str(self.default_keys.path)},
            )
        server_thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)
        self._serving = True
        server_thread.start()
        self._threads.append(server_thread)
        logger.info("eventlens local is serving", extra={"url": self.url})

    def stop(self) -> bool:
        """Stop serving and feeding, and close the dependencies; from any state, in bounded time.
        Returns False when a feeder was still busy after ``STOP_WAIT_S`` (its batch is delivered
        again on the next start); the dependencies are then left open for the process's exit."""
        if self._stop.is_set() and not self._threads and not self._serving:
            return True
        self._stop.set()
        if self._serving:  # shutdown() waits for serve_forever, forever if it never ran
            self._server.shutdown()
            self._serving = False
        self._server.server_close()
        deadline = time.monotonic() + STOP_WAIT_S
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        busy = [thread.name for thread in self._threads if thread.is_alive()]
        self._threads = []
        if busy:
            logger.warning("stopped without waiting for a batch in hand", extra={"feeders": busy})
            return False
        self.components.close()
        return True

    def route(self, method: str, path: str) -> tuple[RouteTarget, dict[str, str]] | None:
        for target in self.routes:
            if target.route.method == method:
                match = target.route.pattern.match(path)
                if match:
                    return target, match.groupdict()
        return None

    def _feed(self, function: LocalFunction, batch_size: int, window_s: float) -> None:
        """Poll the queue, invoke the function with MSK events, commit only after it succeeds.
        Every wait (the poll, the back-off after a failure) ends when the runtime stops."""
        reader: QueueReader | None = None
        backoff = 0.5
        while not self._stop.is_set():
            try:
                reader = reader or open_reader(self.settings)
                records = reader.poll(max_records=batch_size, timeout_s=min(window_s, 1.0))
                if not records or self._stop.is_set():
                    continue  # stopping: the records polled are not committed, so they come again
                started = time.perf_counter()
                with counting_into(self.metrics.count):
                    result = function.invoke(
                        event_from_records(records, bootstrap=self.settings.kafka_bootstrap or "embedded")
                    )
                self.metrics.consume_batch(time.perf_counter() - started, result)
                reader.commit(records)
                self.consumed_batches += 1
                backoff = 0.5
            except QueueUnavailable as exc:
                logger.warning("queue unavailable; retrying", extra={"reason": str(exc)})
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10)
            except Exception as exc:  # noqa: BLE001 - the batch is redelivered, never dropped
                self.metrics.batches_failed.inc()
                logger.exception(
                    "consume failed; the batch will be delivered again", extra={"reason": str(exc)}
                )
                if reader is not None:
                    reader.rewind()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10)
        if reader is not None:
            reader.close()

    def answer(
        self, method: str, target: RouteTarget, event: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        """The function's HTTP answer to ``event`` (500 when it raises, as API Gateway answers),
        its counts and its latency recorded for ``/metrics``."""
        started = time.perf_counter()
        try:
            with counting_into(self.metrics.count):
                answer = http_response(target.function.invoke(event))
        except Exception as exc:  # noqa: BLE001 - API Gateway answers 500 for a crashed function
            logger.exception("function failed", extra={"reason": str(exc)})
            answer = 500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
        self.metrics.request(method, target.route.path, answer[0], time.perf_counter() - started)
        return answer

    def metrics_answer(self) -> tuple[int, dict[str, str], bytes]:
        """``GET /metrics``: the Prometheus text exposition."""
        return 200, {"content-type": CONTENT_TYPE}, self.metrics.exposition()

    def lag(self) -> int:
        """Records in the queue not yet committed by the consume function."""
        reader = open_reader(self.settings)
        try:
            return reader.lag()
        finally:
            reader.close()


def _embedded_directories(settings: Settings, functions: set[str]) -> list[Path]:
    """The directories the embedded parts these functions use write to."""
    directories = []
    if not settings.kafka_bootstrap:
        directories.append(settings.queue_path)
    if not settings.bucket:
        directories.append(settings.objects_path)
    if not settings.clickhouse_url and functions - {"ingest"}:
        directories.append(settings.chdb_path)
    return directories


def _check_writable(directories: list[Path]) -> None:
    """Create and write a file in each directory; SystemExit naming the first that fails, and why
    (chDB's own failure on a read-only directory names neither)."""
    for directory in directories:
        probe = directory / f".eventlens-write-probe-{os.getpid()}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise SystemExit(
                f"eventlens local: cannot write {directory} ($EVENTLENS_HOME): {exc.strerror or exc}"
            ) from None


def _error_body(field: str, reason: str) -> bytes:
    return orjson.dumps({"error": {"field": field, "reason": reason}})


class _RouteHandler(BaseHTTPRequestHandler):
    """One connection to the runtime: each request an API Gateway event for its route's function.

    A thread serves each connection, so each is bounded: ``timeout`` for every read and write (set
    on the socket by socketserver), ``REQUEST_TIMEOUT_S`` for a whole body, at most ``connections``
    open at once, and a body over ``max_body`` refused by its Content-Length before it is read.
    """

    protocol_version = "HTTP/1.1"
    runtime: LocalRuntime
    connections: threading.BoundedSemaphore
    max_body: int

    def handle(self) -> None:
        if not self.connections.acquire(blocking=False):
            self.request_version, self.command, self.requestline = self.protocol_version, "", ""
            self._refuse(503, "connection", "the server has as many connections open as it serves; retry")
            return
        try:
            super().handle()
        finally:
            self.connections.release()

    def __getattr__(self, name: str) -> Any:
        # Every method reaches _serve (the stdlib answers 501 for one without a do_ method):
        # a method the path has no route for is answered 405 with Allow.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        body = self._body()
        if body is None:
            return  # refused: a bad or too large Content-Length, or a body that did not arrive
        if self.command == "GET" and parts.path == "/metrics":
            self._answer(*self.runtime.metrics_answer())
            return
        # The web console's files (eventlens_tools.console): / and /console/*, none an API route.
        static = console_file(parts.path) if self.command in ("GET", "HEAD") else None
        if static is not None:
            self._answer(200, static.headers, static.data)
            return
        path = routed_path(parts.path)
        if path is None:
            self._error(400, "path", "is not UTF-8 once percent-decoded")
            return
        found = self.runtime.route(self.command, path)
        if found is None:
            allowed = sorted({t.route.method for t in self.runtime.routes if t.route.pattern.match(path)})
            if allowed:
                self._error(
                    405,
                    "method",
                    f"{self.command} is not served here; {', '.join(allowed)} is",
                    {"allow": ", ".join(allowed)},
                )
            else:
                self._error(404, "path", "no such route")
            return
        target, path_parameters = found
        event = http_api_event(
            self.command,
            parts.path,
            parts.query,
            list(self.headers.items()),
            body,
            target.route,
            path_parameters,
            self.client_address[0],
        )
        self._answer(*self.runtime.answer(self.command, target, event))

    def _declared_length(self) -> int | None:
        """The body's length from Content-Length; None when refused (answered here)."""
        if self.headers.get("transfer-encoding"):
            self._refuse(411, "transfer-encoding", "is not read here: send the body with a Content-Length")
            return None
        values = set(self.headers.get_all("content-length") or ["0"])
        value = values.pop().strip()
        if values or not (value.isascii() and value.isdigit()):
            self._refuse(400, "content-length", "must be one whole number of bytes")
            return None
        if len(value) > 18 or int(value) > self.max_body:
            self._refuse(413, "body", f"is {value} bytes; the limit is {self.max_body}")
            return None
        return int(value)

    def handle_expect_100(self) -> bool:
        # A body that would be refused is refused before the client sends it.
        return self._declared_length() is not None and super().handle_expect_100()

    def _body(self) -> bytes | None:
        """The whole body, within REQUEST_TIMEOUT_S; None when refused (answered here)."""
        length = self._declared_length()
        if length is None:
            return None
        chunks: list[bytes] = []
        received = 0
        deadline = time.monotonic() + REQUEST_TIMEOUT_S
        try:
            while received < length:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = self.rfile.read1(min(length - received, 1024 * 1024))
                if not chunk:
                    self._refuse(400, "body", f"ended after {received} of its {length} bytes")
                    return None
                chunks.append(chunk)
                received += len(chunk)
        except TimeoutError:
            self._refuse(408, "body", f"did not arrive within {REQUEST_TIMEOUT_S:g} s")
            return None
        return b"".join(chunks)

    def _error(
        self, status: int, field: str, reason: str, headers: dict[str, str] | None = None, close: bool = False
    ) -> None:
        headers = {"content-type": "application/json", **(headers or {})}
        self._answer(status, headers, _error_body(field, reason), close)

    def _refuse(self, status: int, field: str, reason: str) -> None:
        """Answer an error and close the connection, unread bytes of the request dropped first:
        closing with them unread would reset the connection, and the client could lose the answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self._error(status, field, reason, close=True)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_S)
            deadline = time.monotonic() + LINGER_S
            while time.monotonic() < deadline and self.connection.recv(64 * 1024):
                pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The stdlib's own refusals (a malformed request line or header), as this API's errors, in
        # HTTP/1.1 even when the request line was too garbled to say its version.
        if self.request_version == "HTTP/0.9":
            self.request_version = self.protocol_version
        self._refuse(code, "request", message or HTTPStatus(code).phrase)

    def _answer(self, status: int, headers: dict[str, str], payload: bytes, close: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        if close:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


def _handler_class(runtime: LocalRuntime) -> type[BaseHTTPRequestHandler]:
    """The request handler of ``runtime``'s server, with the limits as they are now."""
    namespace = {
        "runtime": runtime,
        "timeout": REQUEST_TIMEOUT_S,
        "connections": threading.BoundedSemaphore(MAX_CONNECTIONS),
        "max_body": max(MAX_BODY_BYTES, runtime.settings.max_batch_bytes + 64 * 1024),
    }
    return type("Handler", (_RouteHandler,), namespace)
