"""A stop works in every state: `eventlens local` and `eventlens demo` in a subprocess, sent SIGTERM
or SIGINT while starting, serving, storing a batch, with a graph configured but unreachable, or
while the demo sends; each exits 0 within STOP_S, with no traceback, and the demo says what it kept."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import orjson
import pytest

from eventlens.queue import EmbeddedQueue

STOP_S = 15.0
START_S = 120.0
EMBEDDED = ("KAFKA_BOOTSTRAP", "EVENTLENS_BUCKET", "CLICKHOUSE_URL", "EVENTLENS_CHDB_PATH", "NEO4J_URI")


class Command:
    """``eventlens …`` in a subprocess of its own home, its stdout and stderr collected as they come."""

    def __init__(self, home: Path, *args: str, **env: str) -> None:
        environ = {
            k: v for k, v in os.environ.items() if k not in EMBEDDED and k != "AWS_LAMBDA_FUNCTION_NAME"
        }
        environ.update(EVENTLENS_HOME=str(home), POWERTOOLS_LOG_LEVEL="INFO", PYTHONUNBUFFERED="1", **env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eventlens_tools.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _collect(stream: object, lines: list[str]) -> None:
        lines.extend(iter(stream.readline, ""))  # type: ignore[attr-defined]

    @property
    def output(self) -> str:
        return "".join(self.out) + "".join(self.err)

    def wait_for(self, text: str, timeout_s: float = START_S) -> str:
        """The first line holding ``text``, waiting for it while the process runs."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [line for line in self.out + self.err if text in line]
            if found:
                return found[0]
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError(f"no {text!r} from the process:\n{self.output}")

    def handles(self, sig: signal.Signals) -> bool:
        """Whether the process has installed a handler for ``sig`` (Linux: /proc/PID/status SigCgt)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE)[1], 16)  # type: ignore[index]
        return bool(caught >> (sig - 1) & 1)

    def stop(self, *signals: signal.Signals) -> tuple[int, float]:
        """Send ``signals`` back to back; the exit code and the seconds it took to exit."""
        sent = time.monotonic()
        for sig in signals:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"still running {STOP_S} s after {signals}:\n{self.output}") from None
        for reader in self._readers:
            reader.join(timeout=5)
        return code, time.monotonic() - sent


def _local(home: Path, **env: str) -> Command:
    return Command(home, "local", "--port", "0", "--log-format", "text", **env)


def _url(command: Command) -> str:
    return re.search(r"url=(http://\S+)", command.wait_for("is serving"))[1]  # type: ignore[index]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _assert_clean_stop(command: Command, code: int, seconds: float) -> None:
    assert code == 0, command.output
    assert seconds < STOP_S
    assert "Traceback" not in command.output, command.output


def test_sigterm_stops_a_serving_local_runtime(tmp_path: Path) -> None:
    # Given eventlens local serving
    command = _local(tmp_path / "home")
    _url(command)
    # When it is sent SIGTERM
    code, seconds = command.stop(signal.SIGTERM)
    # Then it exits 0, promptly, saying so
    _assert_clean_stop(command, code, seconds)
    assert "eventlens local stopped" in command.output


@pytest.mark.parametrize("after_s", [0.0, 0.3, 0.8])
def test_sigterm_while_starting_stops_it(tmp_path: Path, after_s: float) -> None:
    # Given eventlens local that installed its handlers ``after_s`` ago (it is importing, loading the
    # functions, opening and migrating the warehouse)
    command = _local(tmp_path / "home")
    deadline = time.monotonic() + START_S
    while not command.handles(signal.SIGTERM) and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(after_s)
    # When SIGTERM comes now
    code, seconds = command.stop(signal.SIGTERM)
    # Then it stops all the same
    _assert_clean_stop(command, code, seconds)


def test_two_sigterms_stop_it_with_an_unreachable_graph(tmp_path: Path) -> None:
    # Given eventlens local with a graph configured on a closed port, credentials in its URI
    secret = "graph-secret-" + uuid.uuid4().hex[:8]
    command = _local(
        tmp_path / "home",
        NEO4J_URI=f"bolt://neo4j:{secret}@127.0.0.1:{_closed_port()}",
        NEO4J_PASSWORD=secret,
    )
    url = _url(command)
    # And health asked (the graph driver is opened, and fails)
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(f"{url}/health", timeout=60)
    health = json.loads(answer.value.read())
    assert answer.value.code == 503 and health["graph"].startswith("down")
    # When it is sent SIGTERM twice, back to back (what deadlocked the old handler)
    code, seconds = command.stop(signal.SIGTERM, signal.SIGTERM)
    # Then it exits 0 promptly, and the secret was in neither the answer nor the logs
    _assert_clean_stop(command, code, seconds)
    assert secret not in json.dumps(health) and secret not in command.output


def test_sigint_while_consume_stores_a_batch_stops_it(tmp_path: Path) -> None:
    # Given eventlens local that has just accepted many events (consume is storing them)
    command = _local(tmp_path / "home")
    url = _url(command)
    events = [
        {"user_id": f"u{n % 500}", "type": "page_view", "timestamp": "2026-11-20T10:00:00Z"}
        for n in range(10_000)
    ]
    write_key = json.loads((tmp_path / "home" / "default-project.json").read_text())["write_key"]
    request = urllib.request.Request(
        f"{url}/v1/events",
        data=orjson.dumps({"events": events}),
        headers={"content-type": "application/json", "authorization": f"Bearer {write_key}"},
    )
    assert urllib.request.urlopen(request, timeout=60).status == 202
    # When Ctrl-C comes
    code, seconds = command.stop(signal.SIGINT)
    # Then it stops promptly
    _assert_clean_stop(command, code, seconds)


def _queued_events(home: Path) -> int:
    """Events on the embedded queue (a record holds one event or a user's events)."""
    reader = EmbeddedQueue(home / "queue", "raw-events").reader(f"inspect-{uuid.uuid4().hex}")
    total = 0
    while records := reader.poll(max_records=10_000, timeout_s=0):
        for record in records:
            value = orjson.loads(record.value)
            total += len(value) if isinstance(value, list) else 1
    return total


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_demo_stopped_while_sending_says_what_it_kept(tmp_path: Path, sig: signal.Signals) -> None:
    # Given the demo sending its events
    home = tmp_path / "home"
    command = Command(home, "demo", "--users", "50")
    command.wait_for("eventlens local runtime at")
    time.sleep(1.0)
    # When it is stopped
    code, seconds = command.stop(sig)
    # Then it exits 0 promptly, with one line saying what was kept
    _assert_clean_stop(command, code, seconds)
    stopped = [line for line in command.out if line.startswith("stopped")]
    assert len(stopped) == 1 and stopped[0].startswith("stopped while sending: "), command.output
    # And what it says was kept is on the queue, every event of it
    accepted = int(re.search(r"([\d,]+) events accepted", stopped[0])[1].replace(",", ""))  # type: ignore[index]
    assert accepted > 0
    assert _queued_events(home) == accepted
