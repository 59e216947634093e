"""The console's first paint from eventlens local, in headless Debian Chromium. Prints its figures.

    .venv/bin/python bench/console.py [--users 300] [--days 60] [--runs 10]

On a fresh embedded home with generated events sent through HTTP ingest: for each run, a new browser
profile (nothing cached) opens ``/`` and reports the sign-in page's first contentful paint; then,
signed in, ``/#/overview`` is loaded again and the bench reports its first contentful paint and the
moment every figure of the page is drawn (the four report calls answered). The goal is a first paint
within 1 s; the tests record it but never assert a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from eventlens.keys import DEFAULT_PROJECT  # noqa: E402
from eventlens.settings import Settings  # noqa: E402
from eventlens_tools.generator import generate_events  # noqa: E402
from eventlens_tools.http_client import EventlensClient  # noqa: E402
from eventlens_tools.local.runtime import LocalRuntime  # noqa: E402

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1300,1000",
]
PAINT = "return performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"


def _browser(profile: str) -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def _one_run(url: str, key: str) -> tuple[float, float, float]:
    profile = tempfile.mkdtemp(prefix="eventlens-bench-")
    driver = _browser(profile)
    try:
        driver.get(url + "/")
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(PAINT) is not None)
        sign_in = float(driver.execute_script(PAINT))
        driver.find_element(By.ID, "key").send_keys(key)
        driver.find_element(By.CSS_SELECTOR, "form.signin button[type=submit]").click()
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "main[data-loaded]"))
        driver.refresh()  # the overview loaded anew, signed in (the key is in the tab's session storage)
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "main[data-loaded]"))
        overview = float(driver.execute_script(PAINT))
        drawn = float(driver.execute_script("return performance.now()"))
        return sign_in, overview, drawn
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="eventlens-console-bench-"))
    runtime = LocalRuntime(Settings(EVENTLENS_HOME=home), port=0)
    runtime.start()
    try:
        assert runtime.default_keys is not None
        keys = runtime.default_keys
        events = list(generate_events(args.users, days=args.days, seed=3, end=datetime.now(UTC)))
        client = EventlensClient(runtime.url, key=keys.write_key)
        for start in range(0, len(events), 5000):
            client.post("/v1/events", {"events": events[start : start + 5000]})
        client.close()
        while True:
            stored = runtime.components.warehouse.query(
                "SELECT count() AS n FROM events WHERE project_id = {p:String}", {"p": DEFAULT_PROJECT}
            ).to_pylist()[0]["n"]
            if stored >= len({e.get("event_id") for e in events}) * 0.99:
                break
            time.sleep(0.5)
        print(
            f"eventlens local at {runtime.url}: {stored:,} events of {args.users} users over {args.days} days"
        )
        runs = [_one_run(runtime.url, keys.secret_key) for _ in range(args.runs)]
        for name, values in zip(
            ["sign-in page, first paint", "overview, first paint", "overview, every figure drawn"],
            zip(*runs, strict=True),
            strict=True,
        ):
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            median = statistics.median(values)
            print(f"{name:32} median {median:7.0f} ms   p95 {p95:7.0f} ms   ({len(values)} runs)")
    finally:
        runtime.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
