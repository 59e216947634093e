"""Events/s through the analytics SDKs' routes against eventlens's own, in one run. Prints its figures.

    .venv/bin/python bench/sdk.py [--events 200000] [--batch 100] [--clients 4] [--rounds 3]

On a fresh embedded home, ``eventlens local --functions ingest`` (rate limits off: bench/auth.py
measures those) takes the same generated events over real HTTP as eventlens's ``POST /v1/events``,
as Segment's ``POST /v1/batch`` and as PostHog's ``POST /batch/``, each also gzip-compressed as the
SDKs send it with gzip on. Bodies hold ``--batch`` events (the SDKs' default batch is 100) and are
built before the clock starts; ``--clients`` threads send them on kept-alive connections. The routes
take turns, ``--rounds`` times each, and a route's figure is its median round, so drift of the
machine falls on all alike. Every request must be answered 2xx with every event accepted.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from eventlens.keys import create_project, open_key_store  # noqa: E402
from eventlens.settings import Settings  # noqa: E402
from eventlens_tools.local.runtime import LocalRuntime  # noqa: E402

Event = dict[str, Any]


def generated(n: int) -> list[Event]:
    """``n`` page and product events of 2,000 users over the last day, each with its own id."""
    now = datetime.now(UTC)
    return [
        {
            "id": str(uuid.uuid4()),
            "user": f"user-{i % 2000}",
            "type": ("page_view", "view_item", "add_to_cart")[i % 3],
            "at": (now - timedelta(seconds=i % 86_400)).isoformat(),
            "properties": {
                "page": f"/p/{i % 50}",
                "country": "UA",
                "item_id": f"item_{i % 300}",
                "price": 9.5,
            },
        }
        for i in range(n)
    ]


def eventlens_body(events: list[Event], key: str) -> bytes:
    return orjson.dumps(
        {
            "events": [
                {
                    "event_id": e["id"],
                    "user_id": e["user"],
                    "type": e["type"],
                    "timestamp": e["at"],
                    "properties": e["properties"],
                }
                for e in events
            ]
        }
    )


def segment_body(events: list[Event], key: str) -> bytes:
    context = {"library": {"name": "analytics-python", "version": "2.4.0"}}
    batch = [
        {
            "type": "track",
            "messageId": e["id"],
            "userId": e["user"],
            "event": e["type"],
            "timestamp": e["at"],
            "properties": e["properties"],
            "context": context,
            "integrations": {},
        }
        for e in events
    ]
    return orjson.dumps({"batch": batch, "sentAt": datetime.now(UTC).isoformat(), "writeKey": key})


def posthog_body(events: list[Event], key: str) -> bytes:
    batch = [
        {
            "event": e["type"],
            "distinct_id": e["user"],
            "uuid": e["id"],
            "timestamp": e["at"],
            "properties": {**e["properties"], "$lib": "posthog-python", "$lib_version": "7.0.0"},
        }
        for e in events
    ]
    return orjson.dumps({"api_key": key, "batch": batch, "sent_at": datetime.now(UTC).isoformat()})


# name → (path, body builder, gzip, the key as a header as well: /v1/events takes it as Bearer only)
ROUTES: dict[str, tuple[str, Callable[[list[Event], str], bytes], bool]] = {
    "POST /v1/events": ("/v1/events", eventlens_body, False),
    "Segment POST /v1/batch": ("/v1/batch", segment_body, False),
    "PostHog POST /batch/": ("/batch/", posthog_body, False),
    "Segment /v1/batch, gzip": ("/v1/batch", segment_body, True),
    "PostHog /batch/, gzip": ("/batch/", posthog_body, True),
}


def bodies(route: str, events: list[Event], batch: int, key: str) -> list[bytes]:
    """The request bodies of ``route`` for ``events`` (fresh ids each round, so nothing repeats)."""
    _, build, compress = ROUTES[route]
    fresh = [{**event, "id": str(uuid.uuid4())} for event in events]
    built = [build(fresh[i : i + batch], key) for i in range(0, len(fresh), batch)]
    return [gzip.compress(body, compresslevel=6) for body in built] if compress else built


def send_all(port: int, path: str, payloads: list[bytes], headers: dict[str, str], clients: int) -> float:
    """Seconds to send every payload over ``clients`` kept-alive connections; each must be 2xx."""
    chunks = [payloads[i::clients] for i in range(clients)]
    failures: list[str] = []

    def client(chunk: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            for payload in chunk:
                connection.request("POST", path, body=payload, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status >= 300 or b'"rejected":[]' not in answer:
                    failures.append(f"{response.status} {answer[:200]!r}")
                    return
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{path}: {failures[0]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events per route and round")
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=3, help="turns each route takes")
    args = parser.parse_args()
    events = generated(args.events)
    with tempfile.TemporaryDirectory(prefix="eventlens-bench-sdk-") as home:
        settings = Settings(
            EVENTLENS_HOME=Path(home), EVENTLENS_RATE_LIMIT_PER_IP=0, EVENTLENS_RATE_LIMIT_PER_KEY=0
        )
        _, key, _ = create_project(open_key_store(settings), "bench")
        runtime = LocalRuntime(settings, port=0, only={"ingest"})
        runtime.start()
        try:
            rates: dict[str, list[float]] = {route: [] for route in ROUTES}
            for round_ in range(args.rounds + 1):  # round 0 warms every route up, and is not counted
                for route, (path, _, compress) in ROUTES.items():
                    payloads = bodies(
                        route, events[: args.batch * 20] if round_ == 0 else events, args.batch, key
                    )
                    headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
                    if path != "/v1/events":
                        headers.pop("authorization")  # the SDKs send the key in the body
                    if compress:
                        headers["content-encoding"] = "gzip"
                    elapsed = send_all(runtime.port, path, payloads, headers, args.clients)
                    if round_:
                        rates[route].append(args.events / elapsed)
        finally:
            runtime.stop()
    base = statistics.median(rates["POST /v1/events"])
    print(
        f"{args.events:,} events per route and round, {args.batch} per request, {args.clients} clients, "
        f"median of {args.rounds} rounds"
    )
    for route, samples in rates.items():
        rate = statistics.median(samples)
        print(f"{route:26} {rate:10,.0f} events/s  = {rate / base:5.2f}x POST /v1/events")


if __name__ == "__main__":
    main()
