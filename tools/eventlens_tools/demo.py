"""``eventlens demo``: the main job end to end on the embedded defaults.

Generates a year of mixed events for many users, sends them through the HTTP ingest of a local
runtime, waits until the consume function has stored them in ClickHouse (chDB), and prints what the
report routes answer.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from eventlens.settings import Settings
from eventlens_tools.generator import generate_events
from eventlens_tools.http_client import EventlensClient
from eventlens_tools.local.pipeline import run_ml_pipeline
from eventlens_tools.local.runtime import LocalRuntime
from eventlens_tools.shoppers import generate_shopper_events

BATCH = 2_000
SENDERS = 2


def run_demo(
    settings: Settings, users: int, days: int, seed: int, out: TextIO, shoppers: int = 1500
) -> dict[str, Any]:
    """Run the demo; returns the figures it printed."""
    figures = _ingest_and_report(settings, users, days, seed, out, shoppers)
    out.write("\n")
    figures["ml"] = run_ml_pipeline(settings, out)
    return figures


def _ingest_and_report(
    settings: Settings, users: int, days: int, seed: int, out: TextIO, shoppers: int
) -> dict[str, Any]:
    runtime = LocalRuntime(settings, port=0)
    runtime.start()
    try:
        out.write(f"eventlens local runtime at {runtime.url} (state in {settings.home_dir})\n")
        end = datetime.now(UTC)
        started = time.perf_counter()
        # The mixed stream of all four families, and AnModel's shoppers (cohorts, promo windows,
        # bursts before a purchase) whose behaviour the ML pipeline learns.
        stream = itertools.chain(
            generate_events(users, days, seed, end=end),
            generate_shopper_events(shoppers, days, seed + 1_000_003, end=end),  # its own random stream
        )
        accepted, distinct, rejected = _send_all(runtime.url, stream)
        sent_s = time.perf_counter() - started
        out.write(
            f"sent {accepted:,} events for {users + shoppers:,} users over {days} days in {sent_s:.1f} s "
            f"({accepted / sent_s:,.0f} events/s through HTTP ingest); {rejected} rejected\n"
        )
        client = EventlensClient(runtime.url)
        first_day, last_day = (end - timedelta(days=days)).date(), end.date()
        stored = _wait_until_stored(runtime, client, first_day, last_day, distinct)
        total_s = time.perf_counter() - started
        out.write(
            f"{stored:,} events visible in reports after {total_s:.1f} s "
            f"({stored / total_s:,.0f} events/s end to end)\n\n"
        )
        _, dau = client.get("/stats/dau", **{"from": str(last_day - timedelta(days=13)), "to": str(last_day)})
        out.write("Daily active users, last 14 days (GET /stats/dau):\n")
        for row in dau:
            out.write(
                f"  {row['date']}  {row['unique_users']:>7,}  {'#' * max(1, row['unique_users'] // 20)}\n"
            )
        _, top = client.get("/stats/top-events", **{"from": str(first_day), "to": str(last_day), "limit": 10})
        out.write("\nTop events over the year (GET /stats/top-events):\n")
        for row in top:
            out.write(f"  {row['event_type']:<16} {row['count']:>10,}\n")
        _, ua = client.get(
            "/stats/top-events",
            **{
                "from": str(first_day),
                "to": str(last_day),
                "limit": 3,
                "segment": "properties.country:UA,source:commerce",
            },
        )
        out.write("\nTop commerce events in UA (segment=properties.country:UA,source:commerce):\n")
        for row in ua:
            out.write(f"  {row['event_type']:<16} {row['count']:>10,}\n")
        client.close()
        return {"accepted": accepted, "stored": stored, "seconds": total_s, "dau": dau, "top": top}
    finally:
        runtime.stop()


def _send_all(url: str, events: Iterator[dict[str, Any]]) -> tuple[int, int, int]:
    """POST the events in batches from a few keep-alive connections.

    Returns (accepted, distinct event ids accepted, rejected): each id counts once in the reports."""
    lock = threading.Lock()
    totals = [0, 0]
    ids: set[str] = set()
    failures: list[str] = []

    def sender() -> None:
        client = EventlensClient(url)
        while True:
            with lock:
                batch = list(itertools.islice(events, BATCH))
            if not batch:
                break
            status, body = client.post("/v1/events", {"events": batch})
            if status not in (202, 422):
                failures.append(f"HTTP {status}: {body}")
                break
            with lock:
                totals[0] += body["accepted"]
                totals[1] += len(body["rejected"])
                ids.update(body["event_ids"])
        client.close()

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"ingest failed: {failures[0]}")
    return totals[0], len(ids), totals[1]


def _wait_until_stored(
    runtime: LocalRuntime,
    client: EventlensClient,
    first: Any,
    last: Any,
    expected: int,
    timeout_s: float = 600,
) -> int:
    """Wait until the report counts every accepted event, or, when this home already held some of
    them from an earlier run (each id counts once), until the queue is drained and the count settles."""
    deadline = time.monotonic() + timeout_s
    stored, settled_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        _, top = client.get("/stats/top-events", **{"from": str(first), "to": str(last), "limit": 1000})
        now_stored = sum(row["count"] for row in top)
        if now_stored >= expected:
            return now_stored
        if now_stored != stored:
            stored, settled_since = now_stored, time.monotonic()
        elif time.monotonic() - settled_since > 3 and runtime.lag() == 0:
            return stored
        time.sleep(0.2)
    raise TimeoutError(f"only {stored} of {expected} events were stored within {timeout_s} s")
