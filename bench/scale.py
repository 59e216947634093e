"""The scale curve: the whole pipeline at 1M and 10M events, 100M loaded raw, one table.

    .venv/bin/python bench/scale.py [--sizes 1M,10M] [--kafka HOST:PORT] [--repeat 20]
    .venv/bin/python bench/scale.py --sizes 1M,10M,100M      # 100M loaded raw: ~1.5 h, ~40 GB of disk
    .venv/bin/python bench/scale.py --sizes 100M --raw-from 1M --work /big/disk

Sizes at or above ``--raw-from`` (default 100M) skip the handlers: through them 100M events took
~3 h and ~60 GB here. They are loaded through the ceiling's path instead (typed Arrow straight into
``events`` with its views, 1M rows an insert), and the table says so; everything after is the same.

For each size, in a fresh home (chDB, embedded queue or the given Kafka topic, local objects), in
one process, generated events (bench/columnar_events.py: every family, a year, N/50 users; past 10M
in chunks of 10M with users of their own) go through:

1. ceiling   the raw chDB insert of the same rows: typed Arrow straight into ``events`` with its views,
             1M rows of each chunk, in a database of its own (what consume's rate is held to);
2. ingest    API Gateway requests of 5,000 events through the ingest handler into the queue;
3. consume   the queue in batches of the manifest's batch size (10,000 records, as the event source
             mapping hands them) through the consume handler into ClickHouse;
4. reports   every report of bench/reports.py, p50 and p95 over ``--repeat`` runs after a warm-up;
5. export    the project's export to Parquet, against the engine's own Parquet write of the same
             rows, measured right after (``SELECT … FORMAT Parquet``, no FINAL, no order);

then the warehouse's size on disk and each phase's peak memory (the process's peak RSS, reset
before each phase through /proc/self/clear_refs); last, ``eventlens local`` started on the same home
as a real subprocess, every report asked of it over HTTP (``--http-repeat`` times) and its peak RSS
(VmHWM) read after them: what the local runtime needs at that size. Rates are quoted as ratios to
the ceiling of the same run, the absolute rate beside it: absolute rates swing 2-3x on shared
machines, the ratios less.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from columnar_events import generate_events  # noqa: E402
from pipeline import raw_insert_rate  # noqa: E402
from reports import report_cases  # noqa: E402

from eventlens.components import Components  # noqa: E402
from eventlens.keys import DEFAULT_PROJECT  # noqa: E402
from eventlens.manifest import HttpRoute, load_manifest  # noqa: E402
from eventlens.msk import event_from_records  # noqa: E402
from eventlens.queue import KafkaQueueReader, QueueReader  # noqa: E402
from eventlens.settings import Settings  # noqa: E402
from eventlens_tools.local.apigw import http_api_event  # noqa: E402
from eventlens_tools.local.invoke import LocalFunction  # noqa: E402

CHUNK = 10_000_000  # events generated at once (a 10M table is ~3 GB in memory)
REQUEST = 5_000  # events per ingest request
CEILING_ROWS = 1_000_000  # rows of each chunk the ceiling inserts
RAW_INSERT = 1_000_000  # rows an insert when a size is loaded raw


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1M,10M", help="comma-separated event counts: 1M,10M,100M")
    parser.add_argument("--kafka", help="bootstrap of a running broker (default: the embedded queue)")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each report")
    parser.add_argument("--http-repeat", type=int, default=5, help="runs of each report over HTTP")
    parser.add_argument(
        "--raw-from", default="100M", help="sizes from this one up are loaded raw, not through the handlers"
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="where the homes go (default: a temporary dir)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep each size's home (its path is printed) for later runs"
    )
    args = parser.parse_args()
    sizes = [_count(size) for size in args.sizes.split(",")]
    raw_from = _count(args.raw_from)
    results = []
    for size in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"eventlens-scale-{size}-", dir=args.work))
        try:
            results.append(run(size, work, args.kafka, args.repeat, size >= raw_from, args.http_repeat))
        finally:
            if args.keep:
                print(f"{size:,}: the home is kept in {work}", flush=True)
            else:
                shutil.rmtree(work, ignore_errors=True)
        print_table(sizes[: len(results)], results, args.kafka)


def run(
    size: int, work: Path, kafka: str | None, repeat: int, raw: bool = False, http_repeat: int = 5
) -> dict[str, Any]:
    """Every phase at one size (``raw``: loaded through the raw insert, no handlers); returns what the
    table shows."""
    end = datetime.now(UTC).replace(microsecond=0)
    queue: dict[str, Any] = {"KAFKA_BOOTSTRAP": kafka, "KAFKA_TOPIC": f"scale-{uuid.uuid4().hex[:8]}"}
    settings = Settings(
        EVENTLENS_HOME=work,
        EVENTLENS_RATE_LIMIT_PER_IP=0,
        EVENTLENS_RATE_LIMIT_PER_KEY=0,
        **(queue if kafka else {}),
    )
    from eventlens.keys import open_key_store
    from eventlens_tools.local.projects import default_project_keys

    write_key = default_project_keys(open_key_store(settings), settings.home_dir).write_key
    parts = Components(settings)
    manifest = load_manifest()
    ingest = LocalFunction(manifest["ingest"], parts=parts)
    consume = LocalFunction(manifest["consume"], parts=parts)
    reader: QueueReader = (
        KafkaQueueReader(kafka, settings.kafka_topic, f"scale-{uuid.uuid4().hex[:8]}")
        if kafka
        else parts.queue.reader(settings.kafka_consumer_group)  # type: ignore[attr-defined]
    )
    out: dict[str, Any] = {"ceiling": [], "ingest": [0.0, 0], "consume": [0.0, 0], "peak": {}, "raw": raw}
    busiest: dict[str, tuple[str, int]] = {}
    if raw:
        reader.close()
        with _peak(out["peak"], "load"):
            _load_raw(parts, size, end, busiest, out)
    for index, chunk_size in enumerate([] if raw else _chunks(size)):
        started = time.perf_counter()
        chunk = generate_events(chunk_size, max(1000, chunk_size // 50), 365, seed=11 + index, end=end)
        print(
            f"{size:,}: chunk {index + 1}, {chunk.num_rows:,} events generated in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        out["ceiling"].append(_ceiling(parts, chunk))
        _note_busiest(chunk, busiest)
        with _peak(out["peak"], "ingest"):
            _ingest(ingest, _bodies(chunk), write_key, out["ingest"])
        del chunk
        with _peak(out["peak"], "consume"):
            _consume(consume, reader, manifest["consume"].kafka[0].batch_size, out["consume"])
        print(
            f"  ingest {out['ingest'][1] / out['ingest'][0]:,.0f}/s, consume "
            f"{out['consume'][1] / out['consume'][0]:,.0f}/s so far",
            flush=True,
        )
    warehouse = parts.warehouse
    stored = warehouse.query("SELECT count() AS n FROM events").column("n")[0].as_py()
    assert stored == size, f"stored {stored:,} of {size:,}"
    with _peak(out["peak"], "reports"):
        out["reports"] = _reports(warehouse, busiest, end.date(), repeat)
    with _peak(out["peak"], "export"):
        out["export"] = _export(parts, end.date())
    out["disk"] = _disk(settings.chdb_path)
    if not raw:
        reader.close()
    parts.close()
    out["local"] = _local_runtime(work, settings, busiest, end.date(), http_repeat)
    return out


def _load_raw(
    parts: Components, size: int, end: datetime, busiest: dict[str, tuple[str, int]], out: dict[str, Any]
) -> None:
    """The size through the ceiling's path: typed Arrow into `events` (its views filling the rollups),
    RAW_INSERT rows an insert, chunk after chunk; its rate is this size's ceiling."""
    warehouse = parts.warehouse
    seconds = 0.0
    for index, chunk_size in enumerate(_chunks(size)):
        started = time.perf_counter()
        chunk = generate_events(chunk_size, max(1000, chunk_size // 50), 365, seed=11 + index, end=end)
        _note_busiest(chunk, busiest)
        chunk = chunk.add_column(0, "project_id", pa.array([DEFAULT_PROJECT] * chunk.num_rows, pa.string()))
        generated = time.perf_counter() - started
        started = time.perf_counter()
        for offset in range(0, chunk.num_rows, RAW_INSERT):
            warehouse.insert_arrow("events", chunk.slice(offset, RAW_INSERT))
        seconds += time.perf_counter() - started
        done = (index * CHUNK) + chunk.num_rows
        del chunk
        print(
            f"{size:,}: chunk {index + 1} generated in {generated:.0f} s; {done:,} events loaded raw, "
            f"{done / seconds:,.0f} rows/s so far",
            flush=True,
        )
    out["ceiling"].append(size / seconds)


def _chunks(size: int) -> Iterator[int]:
    for start in range(0, size, CHUNK):
        yield min(CHUNK, size - start)


def _ceiling(parts: Components, chunk: pa.Table) -> float:
    """Rows/s of typed Arrow straight into `events` (its views included) of a database of its own."""
    rows = chunk.slice(0, CEILING_ROWS)
    rows = rows.add_column(0, "project_id", pa.array([DEFAULT_PROJECT] * rows.num_rows, pa.string()))
    rate = raw_insert_rate(parts, rows, "scale_ceiling")
    print(f"  ceiling {rate:,.0f} rows/s", flush=True)
    return rate


def _bodies(chunk: pa.Table) -> Iterator[bytes]:
    """The chunk as ``POST /v1/events`` bodies, each event's JSON built column-wise (no dict per event)."""
    stamps = pc.strftime(chunk["ts"], "%Y-%m-%dT%H:%M:%S.%f")  # ms resolution: "…:SS.mmm"
    stamps = pc.binary_join_element_wise(pc.utf8_slice_codeunits(stamps, 0, 23), pa.scalar("Z"), "")
    pieces: list[Any] = [
        '{"event_id":"',
        chunk["event_id"],
        '","user_id":"',
        chunk["user_id"],
        '","type":"',
        chunk["event_type"],
        '","timestamp":"',
        stamps,
        '","source":"',
        chunk["source"],
        '","properties":',
        chunk["properties"],
        "}",
    ]
    n = chunk.num_rows
    arrays = [pa.array([p] * n, pa.string()) if isinstance(p, str) else p for p in pieces]
    texts = pc.binary_join_element_wise(*arrays, "").to_pylist()
    for start in range(0, n, REQUEST):
        yield ('{"events":[' + ",".join(texts[start : start + REQUEST]) + "]}").encode()


def _ingest(ingest: LocalFunction, bodies: Iterator[bytes], key: str, total: list[Any]) -> None:
    route = HttpRoute("POST", "/v1/events")
    headers = [("content-type", "application/json"), ("authorization", f"Bearer {key}")]
    for body in bodies:
        event = http_api_event("POST", route.path, "", headers, body, route, {})
        started = time.perf_counter()
        response = ingest.invoke(event)
        total[0] += time.perf_counter() - started
        assert response["statusCode"] == 202, response["body"][:300]
        total[1] += orjson.loads(response["body"])["accepted"]


def _consume(consume: LocalFunction, reader: QueueReader, batch: int, total: list[Any]) -> None:
    """Until the queue runs dry: batches of records through the consume handler (its time only)."""
    while True:
        records = reader.poll(max_records=batch, timeout_s=2.0)
        if not records:
            return
        event = event_from_records(records)
        started = time.perf_counter()
        result = consume.invoke(event)
        total[0] += time.perf_counter() - started
        reader.commit(records)
        total[1] += result["events"]


def _note_busiest(chunk: pa.Table, busiest: dict[str, tuple[str, int]]) -> None:
    """The user with most events of each per-person source, over all chunks (the per-person reports
    ask for the busiest person: the worst case of a person-facing screen)."""
    for source in ("viewing", "lifestream"):
        counts = pc.value_counts(chunk.filter(pc.equal(chunk["source"], source))["user_id"])
        top = int(pc.index(counts.field("counts"), pc.max(counts.field("counts"))).as_py())
        user, n = str(counts.field("values")[top]), int(counts.field("counts")[top].as_py())
        if n > busiest.get(source, ("", 0))[1]:
            busiest[source] = (user, n)


def _reports(warehouse: Any, busiest: dict[str, tuple[str, int]], today: date, repeat: int) -> list[Any]:
    people = [busiest["viewing"][0], busiest["lifestream"][0]]  # whose reads report_cases measures
    rows = []
    for name, run_report, _ in report_cases(warehouse, people, today):
        rows.append((name, *_timed(run_report, repeat)))
        print(f"  {name}: p50 {rows[-1][1]:.1f} ms", flush=True)
    return rows


def _report_paths(busiest: dict[str, tuple[str, int]], today: date) -> list[tuple[str, str]]:
    """The routes answering bench/reports.py's reports (same ranges), for ``eventlens local``."""
    viewer, life = busiest["viewing"][0], busiest["lifestream"][0]
    y0, d30, month = today - timedelta(days=364), today - timedelta(days=30), today - timedelta(days=29)
    r0 = today - timedelta(weeks=13)
    year, recent = f"from={y0}&to={today}", f"from={d30}&to={today}"
    return [
        ("dau 365 d", f"/stats/dau?{year}"),
        ("dau 365 d, country=UA", f"/stats/dau?{year}&segment=properties.country:UA"),
        ("dau 30 d, a JSON property", f"/stats/dau?{recent}&segment=properties.page:/page/7"),
        ("wau 365 d", f"/stats/wau?{year}"),
        ("mau 365 d", f"/stats/mau?{year}"),
        ("mau 365 d, type=purchase", f"/stats/mau?{year}&segment=event_type:purchase"),
        ("top events 30 d", f"/stats/top-events?{recent}"),
        ("top events 365 d", f"/stats/top-events?{year}"),
        ("retention 12 w", f"/stats/retention?start_date={r0}&windows=12&end_date={today}"),
        (
            "retention 12 w, type=purchase",
            f"/stats/retention?start_date={r0}&windows=12&end_date={today}&segment=event_type:purchase",
        ),
        ("popular content 30 d", "/api/v1/analytics/content/popular?days=30"),
        ("one viewer's stats 30 d", f"/api/v1/analytics/user/{viewer}/stats?days=30"),
        ("viewing trends 30 d", "/api/v1/analytics/trends?days=30"),
        ("peak hours 7 d", "/api/v1/analytics/peak-hours?days=7"),
        ("peak hours 30 d", "/api/v1/analytics/peak-hours?days=30"),
        ("stream events (100)", f"/api/v1/stream/events/{life}?limit=100"),
        ("stream stats", f"/api/v1/stream/stats/{life}"),
        ("memory summary, a month", f"/api/v1/search/memory/{life}/summary?from={month}&to={today}"),
    ]


def _local_runtime(
    work: Path, settings: Settings, busiest: dict[str, tuple[str, int]], today: date, repeat: int
) -> dict[str, Any]:
    """``eventlens local`` on this home as a subprocess: every report route ``repeat`` times over HTTP,
    then its peak RSS (VmHWM) — the local runtime's own memory at this size, not the bench's."""
    from eventlens.keys import open_key_store
    from eventlens_tools.local.projects import default_project_keys

    key = default_project_keys(open_key_store(settings), settings.home_dir).secret_key
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "EVENTLENS_HOME": str(work),
        "EVENTLENS_RATE_LIMIT_PER_IP": "0",
        "EVENTLENS_RATE_LIMIT_PER_KEY": "0",
        "EVENTLENS_LOG_FORMAT": "json",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).with_name("eventlens")), "local", "--port", str(port)]
    local = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=30) as answer:
                    answer.read()
                break
            except urllib.error.HTTPError:  # it answers (a 503 names what is not ready): it serves
                break
            except OSError as exc:
                if local.poll() is not None or time.monotonic() > deadline:
                    stderr = local.stderr.read()[-2000:] if local.stderr else b""
                    raise RuntimeError(f"eventlens local did not start: {stderr!r}") from exc
                time.sleep(1)
        started_mib = _status_mib(local.pid, "VmRSS")
        rows = []
        for name, path in _report_paths(busiest, today):
            request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {key}"})

            def ask(request: urllib.request.Request = request) -> None:
                with urllib.request.urlopen(request, timeout=120) as answer:
                    assert answer.status == 200, answer.status
                    answer.read()

            rows.append((name, *_timed(ask, repeat)))
            # The peak so far after each route: which report raises it (a query's own working set).
            print(
                f"  over HTTP {name}: p50 {rows[-1][1]:.1f} ms, peak RSS so far "
                f"{_status_mib(local.pid, 'VmHWM'):,.0f} MiB",
                flush=True,
            )
        peak = _status_mib(local.pid, "VmHWM")
        print(f"  eventlens local: {started_mib:,.0f} MiB started, peak RSS {peak:,.0f} MiB", flush=True)
        return {"started": started_mib, "peak": peak, "reports": rows}
    finally:
        local.send_signal(signal.SIGINT)
        try:
            local.wait(timeout=120)
        except subprocess.TimeoutExpired:
            local.kill()
            local.wait()


def _slowest(rows: list[tuple[str, float, float]]) -> str:
    return f"{max(row[1] for row in rows):.1f} / {max(row[2] for row in rows):.1f}"


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return math.nan


def _timed(run_report: Callable[[], Any], repeat: int) -> tuple[float, float]:
    run_report()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run_report()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def _export(parts: Components, today: date) -> tuple[float, float]:
    """(the export's rows/s, the engine's own Parquet write of the same rows, rows/s)."""
    from eventlens.ml.contracts import ProjectRun
    from eventlens.ml.export import export_events

    started = time.perf_counter()
    result = export_events(
        parts.warehouse, parts.objects, ProjectRun(project_id=DEFAULT_PROJECT, until=today)
    )
    export_rate = result.rows / (time.perf_counter() - started)
    shutil.rmtree(parts.settings.objects_path, ignore_errors=True)  # 100M events' Parquet: disk we need
    # The engine's own Parquet of the same rows, to a file beside the home (held in memory, 100M
    # events' Parquet would not fit): a bench's path, not input.
    target = parts.settings.home_dir / "engine-export.parquet"
    sql = (
        "SELECT toString(event_id) AS event_id, user_id, toString(event_type) AS event_type, ts, "
        "toString(source) AS source, properties, received_at, toString(country) AS country, "
        f"session_id, item, amount FROM events WHERE project_id = 'default' INTO OUTFILE '{target}' "
        "TRUNCATE FORMAT Parquet SETTINGS output_format_parquet_compression_method = 'zstd'"
    )
    started = time.perf_counter()
    parts.warehouse.command(sql)
    engine_rate = result.rows / (time.perf_counter() - started)
    written = target.stat().st_size
    target.unlink()
    print(f"  export {export_rate:,.0f} rows/s, engine {engine_rate:,.0f} rows/s ({written / 1e6:.0f} MB)")
    return export_rate, engine_rate


class _peak:
    """Records the process's peak RSS (MiB) while the block runs, under ``name``."""

    def __init__(self, peaks: dict[str, float], name: str) -> None:
        self.peaks, self.name = peaks, name

    def __enter__(self) -> None:
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS

    def __exit__(self, *_: Any) -> None:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                mib = int(line.split()[1]) / 1024
                self.peaks[self.name] = max(self.peaks.get(self.name, 0.0), mib)


def _disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _count(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KMG")) * scale)


def print_table(sizes: list[int], results: list[dict[str, Any]], kafka: str | None) -> None:
    """One table: a column per size, each rate as a ratio to its ceiling with the absolute beside it."""
    heads = [f"{size / 1e6:g}M events" for size in sizes]
    lines: list[tuple[str, list[str]]] = []
    ceilings = [statistics.median(r["ceiling"]) for r in results]
    lines.append(
        (
            "raw chDB insert (ceiling), rows/s",
            [
                f"1.00 ({c:,.0f}){' all, raw' if r['raw'] else ''}"
                for r, c in zip(results, ceilings, strict=True)
            ],
        )
    )
    queue = "Kafka" if kafka else "embedded queue"
    for phase, label in (
        ("ingest", f"ingest handler → {queue}"),
        ("consume", "consume handler → ClickHouse"),
    ):
        cells = []
        for r, c in zip(results, ceilings, strict=True):
            if r["raw"]:
                cells.append("— (loaded raw)")
                continue
            rate = r[phase][1] / r[phase][0]
            cells.append(f"{rate / c:.2f} ({rate:,.0f})")
        lines.append((f"{label}, ×ceiling (events/s)", cells))
    lines.append(
        (
            "export, ×engine's Parquet write (rows/s)",
            [
                f"{r['export'][0] / r['export'][1]:.2f} ({r['export'][0]:,.0f} of {r['export'][1]:,.0f})"
                for r in results
            ],
        )
    )
    for index, (name, *_) in enumerate(results[0]["reports"]):
        lines.append(
            (
                f"{name}, p50 / p95 ms",
                [f"{r['reports'][index][1]:.1f} / {r['reports'][index][2]:.1f}" for r in results],
            )
        )
    lines.append(
        (
            "warehouse on disk",
            [
                f"{r['disk'] / 2**20:,.0f} MiB ({r['disk'] / s:.0f} B/event)"
                for r, s in zip(results, sizes, strict=True)
            ],
        )
    )
    for phase in ("load", "ingest", "consume", "reports", "export"):
        if any(phase in r["peak"] for r in results):
            lines.append(
                (
                    f"peak RSS of the bench during {phase}",
                    [f"{r['peak'][phase]:,.0f} MiB" if phase in r["peak"] else "—" for r in results],
                )
            )
    lines.append(
        (
            "reports over HTTP from `eventlens local`: slowest p50 / p95 ms",
            [_slowest(r["local"]["reports"]) for r in results],
        )
    )
    lines.append(
        (
            "`eventlens local` RSS: started / peak after them",
            [f"{r['local']['started']:,.0f} / {r['local']['peak']:,.0f} MiB" for r in results],
        )
    )
    width = max(len(label) for label, _ in lines)
    cell = max(len(c) for _, cells in lines for c in cells + heads)
    print(f"\n| {'':{width}} | " + " | ".join(f"{h:>{cell}}" for h in heads) + " |")
    print(f"|{'-' * (width + 2)}|" + "|".join("-" * (cell + 1) + ":" for _ in heads) + "|")
    for label, cells in lines:
        print(f"| {label:{width}} | " + " | ".join(f"{c:>{cell}}" for c in cells) + " |")


if __name__ == "__main__":
    main()
