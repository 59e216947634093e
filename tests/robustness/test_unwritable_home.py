"""An $EVENTLENS_HOME that cannot be written: eventlens local says so in one line at start, and
ingest answers 503 (the queue cannot take events), not 500, when its queue cannot write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eventlens.settings import Settings
from eventlens_tools.local.invoke import LocalFunction
from eventlens_tools.local.runtime import LocalRuntime
from tests.conftest import http_event, isolated_settings, opened_components
from tests.robustness.conftest import field_of, send

ROOT = Path(__file__).resolve().parents[2]


def _unwritable_home(tmp_path: Path) -> Path:
    """A home no one can write: under a regular file (root too can write a read-only directory)."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    return blocker / "home"


@pytest.mark.parametrize("functions", [None, "ingest"])
def test_start_fails_with_one_line_naming_the_directory(
    tmp_path: Path, chdb_dir: Path, functions: str | None
) -> None:
    # Given an EVENTLENS_HOME that cannot be written
    home = _unwritable_home(tmp_path)
    environment = {
        **os.environ,
        "EVENTLENS_HOME": str(home),
        "EVENTLENS_CHDB_PATH": str(home / "warehouse"),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "eventlens_tools.cli", "local", "--port", "0"]
    # When eventlens local starts (all functions, or ingest alone)
    done = subprocess.run(
        command + (["--functions", functions] if functions else []),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    # Then it exits at once with one line naming the directory and why, and no traceback
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(home) in lines[0] and "Not a directory" in lines[0], lines[0]


def test_ingest_answers_503_when_its_home_cannot_be_opened(
    tmp_path: Path, chdb_dir: Path, functions: dict[str, LocalFunction]
) -> None:
    # Given the ingest function handed components whose home cannot be written (nor its key store,
    # which lives there too)
    settings = Settings(EVENTLENS_HOME=_unwritable_home(tmp_path), EVENTLENS_CHDB_PATH=chdb_dir)
    with opened_components(settings, serve=functions):
        # When a good batch is posted
        response = functions["ingest"].invoke(http_event("ingest_v1_events.json"))
    # Then it is 503 naming what is down first, the keys: nothing was accepted, a retry may succeed
    assert response["statusCode"] == 503, response
    assert json.loads(response["body"])["error"]["field"] == "keys"


def test_ingest_answers_503_when_the_queue_stops_taking_writes(tmp_path: Path, chdb_dir: Path) -> None:
    # Given eventlens local serving ingest, whose queue directory then stops being a directory
    settings: Settings = isolated_settings(tmp_path / "home", chdb_dir)
    runtime = LocalRuntime(settings, port=0, only={"ingest"})
    runtime.start()
    try:
        topic = settings.queue_path / settings.kafka_topic
        shutil.rmtree(topic)
        topic.write_text("")
        # When a good batch is posted
        body = json.dumps({"events": [{"user_id": "u", "type": "page_view"}]}).encode()
        answer = send(runtime.port, "POST", "/v1/events", body, {"content-type": "application/json"})
        # Then it is 503 naming the queue, not a 500
        assert (answer.status, field_of(answer)) == (503, "queue")
    finally:
        runtime.stop()
