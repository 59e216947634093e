"""Fixtures of the console tests: ``eventlens local`` on a free port with an isolated home, holding
generated events sent through its HTTP ingest and a model trained by the ML pipeline's state
machine; and headless Chromium from Debian (driven by selenium through chromedriver).

The runtime and its data are shared by the package (session scope: sending ~50k events and training
take ~30 s); each browser test gets a new browser with a new profile, closed after it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from eventlens.keys import DEFAULT_PROJECT
from eventlens.ml.contracts import PipelineInput
from eventlens_tools.generator import generate_events
from eventlens_tools.http_client import EventlensClient
from eventlens_tools.local.pipeline import run_pipeline
from eventlens_tools.local.runtime import LocalRuntime
from eventlens_tools.shoppers import generate_shopper_events
from tests.conftest import TEST_SECRET_KEY, TEST_WRITE_KEY, isolated_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# As the machine notes say for headless Chromium as root on a closed network: no sandbox, no GPU, and
# none of its own connections to Google's hosts.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1300,1800",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@dataclass
class Served:
    runtime: LocalRuntime
    client: EventlensClient
    today: str
    user_ids: list[str]

    @property
    def url(self) -> str:
        return self.runtime.url

    def get(self, path: str, **params: Any) -> Any:
        status, body = self.client.get(path, **params)
        assert status == 200, (path, status, body)
        return body

    def post(self, path: str, body: Any) -> Any:
        status, answer = self.client.post(path, body)
        assert status == 200, (path, status, answer)
        return answer


def _send(client: EventlensClient, events: list[dict[str, Any]]) -> set[str]:
    """The ids of the events accepted (an id sent twice is stored once)."""
    accepted: set[str] = set()
    for start in range(0, len(events), 5000):
        status, body = client.post("/v1/events", {"events": events[start : start + 5000]})
        assert status == 202, body
        accepted.update(body["event_ids"])
    return accepted


def _wait_until_stored(runtime: LocalRuntime, expected: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = runtime.components.warehouse.query(
            "SELECT count() AS n FROM events WHERE project_id = {p:String}", {"p": DEFAULT_PROJECT}
        ).to_pylist()
        if rows and rows[0]["n"] >= expected:
            return
        time.sleep(0.3)
    raise AssertionError(f"consume did not store {expected} events in {timeout_s} s")


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, chdb_dir: Path) -> Iterator[Served]:
    """eventlens local with two months of mixed events and 250 shoppers' events, sent through its HTTP
    ingest (so they are the last events received), and the pipeline's promoted model."""
    settings = isolated_settings(tmp_path_factory.mktemp("console-home"), chdb_dir, prefix="console")
    runtime = LocalRuntime(settings, port=0)
    runtime.start()
    client = EventlensClient(runtime.url, key=TEST_SECRET_KEY)
    try:
        now = datetime.now(UTC)
        mixed = list(generate_events(150, days=60, seed=5, end=now))
        shoppers = list(generate_shopper_events(250, 90, seed=5, end=now - timedelta(days=1)))
        writer = EventlensClient(runtime.url, key=TEST_WRITE_KEY)
        try:
            accepted = _send(writer, mixed) | _send(writer, shoppers)
        finally:
            writer.close()
        _wait_until_stored(runtime, len(accepted))
        yesterday = (now - timedelta(days=1)).date()
        run = run_pipeline(
            settings, PipelineInput(project_id=DEFAULT_PROJECT, until=yesterday), parts=runtime.components
        )
        assert run.states[-1] == "PipelineDone", run.states
        user_ids = sorted({e["user_id"] for e in islice(mixed, 0, None) if e.get("source") == "lifestream"})
        yield Served(runtime, client, now.date().isoformat(), user_ids)
    finally:
        client.close()
        runtime.stop()


@pytest.fixture
def browser(served: Served) -> Iterator[Any]:
    """Headless Debian Chromium with a new profile, its console messages kept; closed afterwards."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing = "Debian's chromium and chromium-driver are not installed (scripts/browser.sh installs them)"
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI runs as root and installs them: never let it skip silently
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="eventlens-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
