"""Consume alone, on the embedded queue and chDB: what crash-exact storage costs. Prints its figures.

    .venv/bin/python bench/consume.py [--events 500000] [--records 1000]
    .venv/bin/python bench/consume.py --shape requests --events 1000000 --records 10000 [--preload 9000000]
    .venv/bin/python bench/consume.py --peak-memory      # the largest batch the event source mapping delivers

On the same generated events, in one process and one run: the raw insert ceiling (typed Arrow
straight into `events` with its views, as bench/pipeline.py measures it), then ``store_records``
over queue batches of ``--records`` records, in a fresh database. Figures are rows/s and the ratio
to the ceiling of the same run (absolute rates swing 2-3x on these shared machines; the ratio does not).

``--shape users``: ingest's per-user records (~150 events each, eventlens_tools' sessions);
``--shape requests``: bench/scale.py's requests of 5,000 events mixing thousands of users, so
records of 1-3 events, the fixed cost of a batch paid per ~25k events. ``--preload N`` first puts N
other events straight into the database (the raw insert path), so consume runs against a table of
that size without ingesting it. ``--profile`` prints each warehouse statement's share of the time.

``--peak-memory``: in a fresh subprocess per case, the peak RSS (VmHWM) of one ``store_records`` of
the largest batches the MSK event source mapping can hand the 2,048 MB function: 10,000 records
(the manifest's batch size) of the smallest and of the largest events, and a full 6 MB invocation
payload of the largest records ingest writes (the mapping's limit; values arrive base64-encoded).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from eventlens.components import Components  # noqa: E402
from eventlens.consume import store_records  # noqa: E402
from eventlens.ingest import ingest_events  # noqa: E402
from eventlens.queue import EmbeddedQueue, QueuedRecord  # noqa: E402
from eventlens.settings import Settings  # noqa: E402

PAYLOAD_LIMIT = 6 * 1024 * 1024  # Lambda's synchronous invocation payload, which the MSK mapping respects
FUNCTION_MEMORY_MB = 2048  # functions/manifest.toml: consume's memory


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=500_000, help="events to generate (default 500,000)")
    parser.add_argument("--records", type=int, default=1_000, help="queue records per consume batch")
    parser.add_argument("--shape", choices=("users", "requests"), default="users")
    parser.add_argument("--preload", type=int, default=0, help="events put in the database first")
    parser.add_argument("--profile", action="store_true", help="time each warehouse statement")
    parser.add_argument("--peak-memory", action="store_true", help="peak RSS of the largest batches")
    parser.add_argument("--peak-case", help=argparse.SUPPRESS)  # the subprocess of one case
    args = parser.parse_args()
    if args.peak_case:
        print(json.dumps(_peak_case(args.peak_case)))
        return
    if args.peak_memory:
        peak_memory()
        return
    with tempfile.TemporaryDirectory(prefix="eventlens-bench-consume-") as work:
        settings = Settings(EVENTLENS_HOME=Path(work), CLICKHOUSE_DATABASE="bench_consume")
        queue = EmbeddedQueue(settings.queue_path, settings.kafka_topic)
        parts = Components(settings)
        ceiling = _fill_queue(args.shape, args.events, queue, settings, parts)
        records = queue.reader("bench").poll(max_records=100_000_000, timeout_s=0)
        warehouse = parts.warehouse  # migrated, empty
        if args.preload:
            _preload(warehouse, args.preload)
        timer = _StatementTimer(warehouse) if args.profile else None
        started = time.perf_counter()
        stored = 0
        for start in range(0, len(records), args.records):
            stored += store_records(
                records[start : start + args.records], timer or warehouse, parts.dead_letters
            ).stored
        seconds = time.perf_counter() - started
        rate = stored / seconds
        mean = sum(len(r.value) for r in records) / len(records)
        print(
            f"consume: {stored:,} events in {len(records):,} records ({stored / len(records):.1f} events, "
            f"{mean:,.0f} B each), batches of {args.records:,} records"
            + (f", {args.preload:,} events stored before" if args.preload else "")
            + f": {rate:,.0f} rows/s = {rate / ceiling:.2f}x the ceiling ({ceiling:,.0f} rows/s, same run)"
        )
        if timer:
            timer.report(seconds)
        parts.close()


def _fill_queue(shape: str, n: int, queue: EmbeddedQueue, settings: Settings, parts: Components) -> float:
    """Ingest ``n`` events of the shape into the queue; returns the ceiling measured on the same rows."""
    if shape == "users":
        from bench.pipeline import _ceiling as rows_ceiling
        from eventlens_tools.generator import generate_events as session_events

        events = list(session_events(users=max(200, n // 250), days=365, max_events=n))
        for start in range(0, len(events), 10_000):
            ingest_events(events[start : start + 10_000], queue, settings, project_id="default")
        return rows_ceiling(parts, events)
    from columnar_events import generate_events
    from scale import _bodies, _ceiling

    chunk = generate_events(n, max(1000, n // 50), 365, seed=11)
    for body in _bodies(chunk):
        ingest_events(orjson.loads(body)["events"], queue, settings, project_id="default")
    return _ceiling(parts, chunk)


def _preload(warehouse: Any, n: int) -> None:
    """``n`` events of other users straight into `events` (with its views), as the ceiling inserts them."""
    from columnar_events import generate_events

    from eventlens.keys import DEFAULT_PROJECT

    started = time.perf_counter()
    for offset in range(0, n, 2_000_000):
        rows = generate_events(min(2_000_000, n - offset), max(1000, n // 50), 365, seed=1000 + offset)
        rows = rows.add_column(0, "project_id", pa.array([DEFAULT_PROJECT] * rows.num_rows, pa.string()))
        for start in range(0, rows.num_rows, 500_000):
            warehouse.insert_arrow("events", rows.slice(start, 500_000))
    print(f"preloaded {n:,} events in {time.perf_counter() - started:.0f} s", flush=True)


class _StatementTimer:
    """The warehouse, with each statement's wall time summed under its first words."""

    def __init__(self, warehouse: Any) -> None:
        self._warehouse = warehouse
        self.database = warehouse.database
        self.times: dict[str, list[float]] = defaultdict(list)

    def _timed(self, label: str, call: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.times[label].append(time.perf_counter() - started)

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        self._timed(_label(sql), self._warehouse.command, sql, parameters)

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> pa.Table:
        return self._timed(_label(sql), self._warehouse.query, sql, parameters)

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        self._timed(f"insert_arrow {table}", self._warehouse.insert_arrow, table, data)

    def ping(self) -> bool:
        return bool(self._warehouse.ping())

    def close(self) -> None:
        self._warehouse.close()

    def report(self, seconds: float) -> None:
        spent = sum(sum(t) for t in self.times.values())
        print(f"statements: {spent:.1f} s of {seconds:.1f} s (the rest: Python around them)")
        for label, times in sorted(self.times.items(), key=lambda kv: -sum(kv[1])):
            total, each = sum(times), 1000 * sum(times) / len(times)
            print(f"  {total / seconds:6.1%} {total:7.2f} s {len(times):5d}x {each:8.1f} ms  {label}")


def _label(sql: str) -> str:
    return " ".join(sql.split())[:110]


# --- peak memory of the largest batch ---------------------------------------------------------------


def peak_memory() -> None:
    """Each case in a fresh subprocess (its own VmHWM); prints them beside the function's memory."""
    print(f"consume's peak RSS, one batch in a fresh process (the function has {FUNCTION_MEMORY_MB:,} MB):")
    for case in ("idle", "records", "events", "bytes"):
        out = subprocess.run(
            [sys.executable, __file__, "--peak-case", case], capture_output=True, text=True, check=True
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        share = figures["peak_mib"] / FUNCTION_MEMORY_MB  # Lambda's "MB" of memory are MiB
        print(
            f"  {figures['label']}: {figures['records']:,} records, {figures['events']:,} events, "
            f"{figures['payload'] / 2**20:.1f} MiB as the mapping sends them: peak RSS "
            f"{figures['peak_mib']:,.0f} MiB ({share:.0%} of "
            f"{FUNCTION_MEMORY_MB:,} MB; before the batch {figures['before_mib']:,.0f} MiB)",
            flush=True,
        )


def _peak_case(case: str) -> dict[str, Any]:
    """One batch through the consume handler (as Lambda runs it) in this fresh process."""
    from eventlens.manifest import load_manifest
    from eventlens_tools.local.invoke import LocalFunction

    label, values = _case_values(case)
    event = _msk_event(values)
    payload = len(orjson.dumps(event))
    del values
    with tempfile.TemporaryDirectory(prefix="eventlens-bench-peak-") as work:
        parts = Components(Settings(EVENTLENS_HOME=Path(work), CLICKHOUSE_DATABASE="bench_peak"))
        consume = LocalFunction(load_manifest()["consume"], parts=parts)
        parts.warehouse.query("SELECT 1")  # migrated, open
        before = _vm("VmRSS")
        Path("/proc/self/clear_refs").write_text(
            "5"
        )  # the peak from here: generating the case is not consume's
        events = consume.invoke(event)["events"] if values_count(event) else 0
        peak = _vm("VmHWM")
        parts.close()
    return {
        "label": label,
        "records": values_count(event),
        "events": events,
        "payload": payload,
        "before_mib": before,
        "peak_mib": peak,
    }


def values_count(event: dict[str, Any]) -> int:
    return sum(len(records) for records in event["records"].values())


def _case_values(case: str) -> tuple[str, list[bytes]]:
    """The record values of a case, as ingest writes them (a JSON array of one user's events)."""
    from columnar_events import generate_events
    from scale import _bodies

    if case == "idle":
        return "no batch (the process, its warehouse open)", []
    rows = generate_events(40_000, 200, 30, seed=5)
    events = [e for body in _bodies(rows) for e in orjson.loads(body)["events"]]
    if case == "records":  # the most records: the manifest's batch size, one small event each
        values = [orjson.dumps([{**e, "properties": {}}]) for e in events[:10_000]]
        return "10,000 records of one small event", values
    # Records of 200 events of one user each (ingest's most), the user of each group its first's.
    groups = [
        [{**e, "user_id": events[start]["user_id"]} for e in events[start : start + 200]]
        for start in range(0, len(events), 200)
    ]
    if case == "events":  # the most events: records of 200 small events until the payload is full
        small = [[{**e, "properties": {}} for e in group] for group in groups]
        return "records of 200 small events, as many as 6 MB holds", _fill_payload(small)
    # The most bytes an event: ingest's largest records (200 events, under its 512 KB), padded properties.
    filler = "x" * 2_300
    padded = [[{**e, "properties": {**e["properties"], "note": filler}} for e in group] for group in groups]
    return "records of 200 events of 2.5 KB, as many as 6 MB holds", _fill_payload(padded)


def _fill_payload(groups: list[list[Any]]) -> list[bytes]:
    """Records of the groups, over and over, until the next would pass the 6 MB payload."""
    chosen: list[bytes] = []
    size = 0
    while len(chosen) < 10_000:
        value = orjson.dumps(groups[len(chosen) % len(groups)])
        step = len(base64.b64encode(value)) + 200  # the record's JSON around its value
        if size + step > PAYLOAD_LIMIT:
            break
        chosen.append(value)
        size += step
    return chosen


def _msk_event(values: list[bytes]) -> dict[str, Any]:
    records = [
        QueuedRecord(topic="raw-events", partition=0, offset=i, timestamp_ms=0, key=b"u%d" % i, value=v)
        for i, v in enumerate(values)
    ]
    from eventlens.msk import event_from_records

    return event_from_records(records)


def _vm(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    main()
