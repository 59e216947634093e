"""The local HTTP server's limits: every connection bounded in time and number, every body in size,
every request answered with a JSON error naming what is wrong, never a hang."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventlens_tools.local import runtime as runtime_module
from eventlens_tools.local.runtime import LocalRuntime
from tests.robustness.conftest import Answer, field_of, runtime_settings, send, send_raw

POST_HEAD = "POST /v1/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chdb_dir: Path) -> Iterator[LocalRuntime]:
    """Ingest alone on eventlens local, with a 1 s request timeout and room for 4 connections."""
    monkeypatch.setattr(runtime_module, "REQUEST_TIMEOUT_S", 1.0)
    monkeypatch.setattr(runtime_module, "MAX_CONNECTIONS", 4)
    runtime = LocalRuntime(runtime_settings(tmp_path / "home", chdb_dir), port=0, only={"ingest"})
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("TRACE", "/health", "GET"), ("GET", "/v1/events", "POST"), ("FOO", "/predict/x", "POST")],
)
def test_a_method_a_route_does_not_take_is_405_with_allow(
    served: LocalRuntime, method: str, path: str, allowed: str
) -> None:
    answer = send(served.port, method, path)
    assert answer.status == 405, answer
    assert answer.headers["allow"] == allowed
    assert field_of(answer) == "method"


def test_an_unknown_path_is_404_whatever_the_method(served: LocalRuntime) -> None:
    for method in ("GET", "TRACE", "DELETE"):
        answer = send(served.port, method, "/no/such/route")
        assert (answer.status, field_of(answer)) == (404, "path")


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "0x10", "5, 7"])
def test_a_content_length_that_is_not_a_byte_count_is_400(served_ingest: LocalRuntime, length: str) -> None:
    answer = send_raw(served_ingest.port, f"{POST_HEAD}content-length: {length}\r\n\r\n{{}}".encode())
    assert answer.status == 400, answer
    assert field_of(answer) == "content-length"
    assert answer.headers["connection"] == "close"


@pytest.mark.parametrize("length", [2 * 1024**3, 50 * 1024**2, 10**30])
def test_a_body_over_the_limit_is_413_before_it_is_sent(served_ingest: LocalRuntime, length: int) -> None:
    # Given a request declaring a body far over the limit, of which not a byte is sent
    started = time.monotonic()
    answer = send_raw(served_ingest.port, f"{POST_HEAD}content-length: {length}\r\n\r\n".encode())
    # Then it is refused at once (the client's timeout would fail a server waiting for the body)
    assert answer.status == 413, answer
    assert field_of(answer) == "body"
    assert time.monotonic() - started < 5


def test_a_large_body_sent_whole_gets_its_413(served_ingest: LocalRuntime) -> None:
    body = b"[" + b"0," * (6 * 1024 * 1024) + b"0]"  # 12 MB: over API Gateway's 10 MB
    answer = send(served_ingest.port, "POST", "/v1/events", body, {"content-type": "application/json"})
    assert (answer.status, field_of(answer)) == (413, "body")


def test_a_client_expecting_100_continue_gets_the_413_instead(served_ingest: LocalRuntime) -> None:
    answer = send_raw(
        served_ingest.port, f"{POST_HEAD}content-length: 60000000\r\nexpect: 100-continue\r\n\r\n".encode()
    )
    assert (answer.status, field_of(answer)) == (413, "body")


def test_a_body_shorter_than_its_length_is_408_after_the_timeout(strict: LocalRuntime) -> None:
    # Given a request whose body stops 90 bytes short of its Content-Length
    started = time.monotonic()
    answer = send_raw(strict.port, f"{POST_HEAD}content-length: 100\r\n\r\n{{}}12345678".encode())
    # Then once the request timeout has passed it is answered 408 and closed
    assert answer.status == 408, answer
    assert field_of(answer) == "body"
    assert time.monotonic() - started < 5


def test_stalled_connections_are_capped_then_closed(strict: LocalRuntime) -> None:
    # Given as many connections as the server serves, each stalled halfway through its headers
    threads_before = threading.active_count()
    stalled = [socket.create_connection(("127.0.0.1", strict.port), timeout=10) for _ in range(4)]
    for sock in stalled:
        sock.sendall(b"POST /v1/events HTTP/1.1\r\nhost: x\r\n")
    time.sleep(0.3)

    # When one more client connects, it is told to retry at once, not queued behind them
    crowded = send(strict.port, "GET", "/v1/events")
    assert (crowded.status, field_of(crowded)) == (503, "connection")

    # Then after the request timeout the stalled connections are closed, their threads gone
    for sock in stalled:
        assert sock.recv(1024) == b""  # closed by the server (the socket's own timeout is 10 s)
        sock.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads_before
    # And the server serves again
    assert send(strict.port, "POST", "/v1/events", b"{}", {"content-type": "application/json"}).status == 400


def test_a_malformed_request_line_is_a_json_error(served_ingest: LocalRuntime) -> None:
    answer: Answer = send_raw(served_ingest.port, b"POST /v1/events HTTP/9.9\r\n\r\n")
    assert answer.status in (400, 505), answer
    assert field_of(answer) == "request"
