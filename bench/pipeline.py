"""Benchmark of the event pipeline on N generated events (default 1M). Prints its figures.

    .venv/bin/python bench/pipeline.py [--events 1000000] [--kafka HOST:PORT]

Phases, each on the same events:
1. ceiling  the raw chDB insert rate of the same rows, typed Arrow batches straight into `events`
2. ingest   API Gateway events through the ingest handler into Kafka (events/s)
3. consume  Kafka → MSK events → the consume handler → ClickHouse (rows/s), vs the ceiling
4. e2e      real HTTP into `eventlens local --functions ingest` while another process runs
            consume and report (as Lambda would: separate containers); from the first request
            until every event is counted by GET /stats/top-events; once through Kafka, once
            through the embedded queue.
Without --kafka a broker is started with scripts/servers/kafka.sh on a free port.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from eventlens.manifest import HttpRoute, load_manifest  # noqa: E402
from eventlens.msk import event_from_records  # noqa: E402
from eventlens.queue import KafkaQueueReader  # noqa: E402
from eventlens.settings import Settings  # noqa: E402
from eventlens_tools.generator import generate_events  # noqa: E402
from eventlens_tools.http_client import EventlensClient  # noqa: E402
from eventlens_tools.local.apigw import http_api_event  # noqa: E402
from eventlens_tools.local.invoke import LocalFunction  # noqa: E402

BATCH = 5_000
# Records per consume invocation: ingest writes one record per user of a request (up to 200 events),
# so 1,000 records hold some 100k–200k events, the batch size chDB inserts well.
CONSUME_BATCH = 1_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--kafka", help="bootstrap of a running broker (default: start one)")
    args = parser.parse_args()

    broker_port = None
    bootstrap = args.kafka
    if bootstrap is None:
        broker_port = _free_port()
        _kafka("start", broker_port)
        bootstrap = f"127.0.0.1:{broker_port}"
    work = Path(tempfile.mkdtemp(prefix="eventlens-bench-"))
    try:
        run(args.events, bootstrap, work)
    finally:
        if broker_port is not None:
            _kafka("stop", broker_port)
            _kafka("clean", broker_port)


def run(n: int, bootstrap: str, work: Path) -> None:
    end = datetime.now(UTC)
    print(f"generating {n:,} events …", flush=True)
    events = list(generate_events(users=max(50, n // 360), days=365, seed=11, end=end, max_events=n))
    n = len(events)
    bodies = [orjson.dumps({"events": events[i : i + BATCH]}) for i in range(0, n, BATCH)]
    print(f"{n:,} events, {len(bodies)} batches of {BATCH:,}, {sum(map(len, bodies)) / n:.0f} bytes/event\n")

    settings = Settings(
        EVENTLENS_HOME=work / "inproc",
        KAFKA_BOOTSTRAP=bootstrap,
        KAFKA_TOPIC=f"bench-{uuid.uuid4().hex[:8]}",
        KAFKA_CONSUMER_GROUP="bench",
        EVENTLENS_RATE_LIMIT_PER_IP=0,
        EVENTLENS_RATE_LIMIT_PER_KEY=0,
    )
    from eventlens.components import Components

    parts = Components(settings)
    write_key = _keys(work / "inproc")[0]
    manifest = load_manifest()
    ingest, consume = (
        LocalFunction(manifest["ingest"], parts=parts),
        LocalFunction(manifest["consume"], parts=parts),
    )

    ceiling = _ceiling(parts, events)
    ingest_rate, ingest_batches = _ingest(ingest, bodies, n, write_key)
    consume_rate, consume_handler_rate, consume_batches = _consume(consume, settings, n)
    stored = parts.warehouse.query("SELECT count() AS n FROM events").column("n")[0].as_py()
    assert stored == n, f"consume stored {stored} of {n}"
    parts.close()

    e2e_kafka = _end_to_end(
        bodies,
        n,
        work / "e2e-kafka",
        {"KAFKA_BOOTSTRAP": bootstrap, "KAFKA_TOPIC": f"e2e-{uuid.uuid4().hex[:8]}"},
    )
    e2e_embedded = _end_to_end(bodies, n, work / "e2e-embedded", {})

    rows = [
        ("raw chDB insert of the same rows (ceiling)", f"{ceiling:,.0f} rows/s", "1.00× ceiling"),
        (
            "ingest handler → Kafka",
            f"{ingest_rate:,.0f} events/s",
            f"{ingest_rate / ceiling:.2f}× ceiling; median batch {statistics.median(ingest_batches):,.0f}/s",
        ),
        (
            "Kafka → consume handler → ClickHouse",
            f"{consume_rate:,.0f} rows/s",
            f"{consume_rate / ceiling:.2f}× ceiling, with the local Kafka poller",
        ),
        (
            "  of which inside the consume handler",
            f"{consume_handler_rate:,.0f} rows/s",
            f"{consume_handler_rate / ceiling:.2f}× ceiling; "
            f"median batch {statistics.median(consume_batches):,.0f}/s",
        ),
        (
            "end to end, HTTP → Kafka → ClickHouse → report",
            f"{e2e_kafka:,.0f} events/s",
            f"{e2e_kafka / ceiling:.2f}× ceiling; {e2e_kafka / 2380:.1f}× the Analytics API's 2,380/s",
        ),
        (
            "end to end, HTTP → embedded queue → … → report",
            f"{e2e_embedded:,.0f} events/s",
            f"{e2e_embedded / ceiling:.2f}× ceiling; {e2e_embedded / 2380:.1f}× the Analytics API's 2,380/s",
        ),
    ]
    print(f"\n{'phase':<50} {'rate':>18}  note")
    for name, rate, note in rows:
        print(f"{name:<50} {rate:>18}  {note}")


def _ceiling(parts: Any, events: list[dict[str, Any]]) -> float:
    """Typed Arrow batches of the same rows straight into `events` (with its views), in 200k rows."""
    received = datetime.now(UTC)
    table = pa.table(
        {
            "event_id": pa.array([e["event_id"] for e in events]),
            "user_id": pa.array([e["user_id"] for e in events]),
            "event_type": pa.array([e["type"] for e in events]),
            "ts": pa.array(
                [datetime.fromisoformat(e["timestamp"]) for e in events], pa.timestamp("ms", tz="UTC")
            ),
            "source": pa.array([e["source"] for e in events]),
            "properties": pa.array([orjson.dumps(e["properties"]).decode() for e in events]),
            "received_at": pa.array([received] * len(events), pa.timestamp("ms", tz="UTC")),
        }
    )
    rate = raw_insert_rate(parts, table, "bench_ceiling")
    print(f"ceiling: {rate:,.0f} rows/s", flush=True)
    return rate


def raw_insert_rate(parts: Any, table: pa.Table, database: str) -> float:
    """Rows/s of typed Arrow ``table`` inserted straight into `events` (with its views), 200k rows an
    insert, in ``database``: made and migrated first, dropped after (the home's database is used again)."""
    warehouse = parts.warehouse
    warehouse.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    warehouse.command(f"USE {database}")
    from eventlens.schema import migrate

    migrate(warehouse)
    started = time.perf_counter()
    for offset in range(0, table.num_rows, 200_000):
        warehouse.insert_arrow("events", table.slice(offset, 200_000))
    rate = table.num_rows / (time.perf_counter() - started)
    warehouse.command(f"DROP DATABASE {database}")
    warehouse.command(f"USE {parts.settings.clickhouse_database}")
    return rate


def _keys(home: Path) -> tuple[str, str]:
    """The default project's (write, secret) keys of a home, made on first use as `eventlens local` does."""
    from eventlens.keys import open_key_store
    from eventlens_tools.local.projects import default_project_keys

    keys = default_project_keys(open_key_store(Settings(EVENTLENS_HOME=home)), home)
    return keys.write_key, keys.secret_key


def _ingest(ingest: LocalFunction, bodies: list[bytes], n: int, key: str) -> tuple[float, list[float]]:
    route = HttpRoute("POST", "/v1/events")
    headers = [("content-type", "application/json"), ("authorization", f"Bearer {key}")]
    rates = []
    started = time.perf_counter()
    for body in bodies:
        event = http_api_event("POST", route.path, "", headers, body, route, {})
        t = time.perf_counter()
        response = ingest.invoke(event)
        assert response["statusCode"] == 202, response["body"][:300]
        rates.append(orjson.loads(response["body"])["accepted"] / (time.perf_counter() - t))
    rate = n / (time.perf_counter() - started)
    print(f"ingest: {rate:,.0f} events/s", flush=True)
    return rate, rates


def _consume(consume: LocalFunction, settings: Settings, n: int) -> tuple[float, float, list[float]]:
    """Read the topic in batches of records, as the event source mapping would, until all n events
    are stored. Returns the overall rate (with the local Kafka poller's work), the rate inside the
    consume handler alone (what a Lambda invocation spends), and each batch's rate."""
    reader = KafkaQueueReader(
        settings.kafka_bootstrap or "", settings.kafka_topic, settings.kafka_consumer_group
    )
    done, rates, in_handler = 0, [], 0.0
    started = None
    while done < n:
        records = reader.poll(max_records=CONSUME_BATCH, timeout_s=5.0)
        if not records:
            raise RuntimeError(f"the topic ran dry after {done:,} of {n:,} events")
        started = started or time.perf_counter()
        event = event_from_records(records)
        t = time.perf_counter()
        result = consume.invoke(event)
        spent = time.perf_counter() - t
        reader.commit(records)
        in_handler += spent
        rates.append(result["events"] / spent)
        done += result["events"]
    rate = n / (time.perf_counter() - (started or time.perf_counter()))
    reader.close()
    print(f"consume: {rate:,.0f} rows/s overall, {n / in_handler:,.0f} rows/s in the handler", flush=True)
    return rate, n / in_handler, rates


def _end_to_end(bodies: list[bytes], n: int, home: Path, env: dict[str, str]) -> float:
    environment = {
        **os.environ,
        "EVENTLENS_HOME": str(home),
        "EVENTLENS_RATE_LIMIT_PER_IP": "0",
        "EVENTLENS_RATE_LIMIT_PER_KEY": "0",
        **env,
    }
    write_key, secret_key = _keys(home)
    ingest_port, report_port = _free_port(), _free_port()
    servers = [
        _start(["--functions", "consume,report", "--port", str(report_port)], environment),
        _start(["--functions", "ingest", "--port", str(ingest_port)], environment),
    ]
    try:
        _wait_ready(report_port, "/health")
        _wait_ready(ingest_port, "/v1/events", method="POST")
        batches: Iterator[bytes] = iter(bodies)
        lock = threading.Lock()

        def sender() -> None:
            client = EventlensClient(f"http://127.0.0.1:{ingest_port}", key=write_key)
            while True:
                with lock:
                    body = next(batches, None)
                if body is None:
                    break
                status, answer = client.post("/v1/events", None, raw=body)
                assert status == 202, answer
            client.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        reports = EventlensClient(f"http://127.0.0.1:{report_port}", key=secret_key)
        today = datetime.now(UTC).date()
        window = {
            "from": str(today - timedelta(days=400)),
            "to": str(today + timedelta(days=1)),
            "limit": 1000,
        }
        total = 0
        while total < n:
            time.sleep(0.25)
            status, top = reports.get("/stats/top-events", **window)
            assert status == 200, top
            total = sum(row["count"] for row in top)
        elapsed = time.perf_counter() - started
        for thread in threads:
            thread.join()
        reports.close()
        rate = n / elapsed
        print(
            f"end to end ({'kafka' if env else 'embedded'}): {rate:,.0f} events/s ({elapsed:.1f} s)",
            flush=True,
        )
        return rate
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=60)


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "eventlens_tools.cli", "local", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_ready(port: int, path: str, method: str = "GET", timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            client = EventlensClient(f"http://127.0.0.1:{port}", timeout_s=2)
            status, _ = client.get(path) if method == "GET" else client.post(path, {"events": [{"x": 1}]})
            client.close()
            if status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answered on port {port}")


def _free_port() -> int:
    from eventlens_tools.local.ports import free_port_pair

    return free_port_pair()


def _kafka(action: str, port: int) -> None:
    subprocess.run(
        ["bash", str(ROOT / "scripts/servers/kafka.sh"), action, str(port)],
        check=True,
        capture_output=True,
        timeout=300,
    )


if __name__ == "__main__":
    main()
