"""Log lines: readable text on a terminal, JSON when asked and always on Lambda; metrics (EMF JSON)
only with JSON logs that were asked for, or on Lambda. `eventlens local` says it started once."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

LOG_ONE_LINE = (
    "from eventlens.observability import logger\n"
    "logger.append_keys(function_name='consume')\n"
    "logger.info('batch stored', extra={'stored': 2000, 'dead_lettered': 0})\n"
)
PRINT_STATE = (
    "from eventlens.observability import current_log_format, metrics_printed\n"
    "print(current_log_format(), metrics_printed())\n"
)


def _env(**changes: str) -> dict[str, str]:
    """This process's environment without the test session's and Lambda's logging settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AWS_LAMBDA_FUNCTION_NAME", "EVENTLENS_LOG_FORMAT", "POWERTOOLS_METRICS_DISABLED")
    }
    env["POWERTOOLS_LOG_LEVEL"] = "INFO"
    env.update(changes)
    return env


def _run_on_terminal(code: str, env: dict[str, str]) -> str:
    """Run ``code`` with its stdout on a pseudo-terminal, as a developer's shell runs it."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=follower, stderr=follower, env=env)
    os.close(follower)
    output = b""
    poller = select.poll()  # not select.select: it fails on descriptors past 1024
    poller.register(leader, select.POLLIN)
    while True:
        if not poller.poll(30_000):
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is closed once the process has ended
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=30)
    os.close(leader)
    return output.decode().replace("\r\n", "\n")


def _run_piped(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return done.stdout


def test_on_a_terminal_a_log_record_is_one_readable_line() -> None:
    # When a function logs with its output on a terminal
    output = _run_on_terminal(LOG_ONE_LINE, _env())
    # Then the line is text: level, function, message and its keys, no JSON and no Lambda context
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "INFO" in lines[0] and "[consume] batch stored" in lines[0]
    assert "stored=2000 dead_lettered=0" in lines[0]
    assert not lines[0].lstrip().startswith("{")


def test_on_lambda_the_log_is_json_even_on_a_terminal_and_when_text_is_asked() -> None:
    # Given the Lambda runtime's environment, and text asked for
    env = _env(AWS_LAMBDA_FUNCTION_NAME="consume", EVENTLENS_LOG_FORMAT="text")
    # When a function logs on a terminal
    output = _run_on_terminal(LOG_ONE_LINE, env)
    # Then the line is Powertools' JSON
    record = json.loads(output.strip().splitlines()[-1])
    assert record["message"] == "batch stored" and record["stored"] == 2000
    assert record["function_name"] == "consume" and record["level"] == "INFO"


def test_off_a_terminal_the_log_is_json_unless_text_is_asked() -> None:
    assert json.loads(_run_piped(LOG_ONE_LINE, _env()))["message"] == "batch stored"
    text = _run_piped(LOG_ONE_LINE, _env(EVENTLENS_LOG_FORMAT="text"))
    assert "[consume] batch stored  stored=2000" in text


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "json False"),  # JSON because no terminal reads it; metrics were not asked for
        ({"EVENTLENS_LOG_FORMAT": "text"}, "text False"),
        ({"EVENTLENS_LOG_FORMAT": "json"}, "json True"),
        ({"AWS_LAMBDA_FUNCTION_NAME": "ingest", "EVENTLENS_LOG_FORMAT": "text"}, "json True"),
    ],
)
def test_metrics_are_printed_on_lambda_and_when_json_is_asked(changes: dict[str, str], expected: str) -> None:
    assert _run_piped(PRINT_STATE, _env(**changes)).strip() == expected


def test_use_log_format_switches_the_logger_and_lambda_keeps_json() -> None:
    code = (
        "import os\n"
        "from eventlens.observability import logger, use_log_format\n"
        "print(use_log_format('text'))\n"
        "logger.info('as text', extra={'n': 1})\n"
        "print(use_log_format('json'))\n"
        "logger.info('as json', extra={'n': 2})\n"
        "os.environ['AWS_LAMBDA_FUNCTION_NAME'] = 'x'\n"
        "print(use_log_format('text'))\n"
    )
    lines = _run_piped(code, _env()).splitlines()
    assert lines[0] == "text" and "as text  n=1" in lines[1]
    assert lines[2] == "json" and json.loads(lines[3])["message"] == "as json"
    assert lines[4] == "json"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_eventlens_local_says_once_that_it_serves(tmp_path: Path, log_format: str) -> None:
    # Given `eventlens local` started on any free port, in a home of its own
    env = _env(EVENTLENS_HOME=str(tmp_path / "home"))
    for embedded_default in ("KAFKA_BOOTSTRAP", "EVENTLENS_BUCKET", "CLICKHOUSE_URL"):
        env.pop(embedded_default, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "eventlens_tools.cli", "local", "--port", "0", "--log-format", log_format],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        # When it has started (its start message is out) and is stopped
        deadline = time.monotonic() + 120
        first = ""
        while time.monotonic() < deadline and "serving" not in first:
            first = process.stdout.readline()
            if not first and process.poll() is not None:
                break
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    output = first + rest
    # Then the start message came once, in the asked format
    serving = [line for line in output.splitlines() if "serving" in line]
    assert len(serving) == 1, output
    if log_format == "json":
        record = json.loads(serving[0])
        assert record["message"] == "eventlens local is serving" and record["url"].startswith("http://")
    else:
        assert "eventlens local is serving  url=http://127.0.0.1:" in serving[0]
        assert not serving[0].startswith("{")
