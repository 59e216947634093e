"""Report latency at scale: every report on chDB (eventlens's own code) beside PostgreSQL 18.

    bash scripts/servers/postgres.sh start            # once, as root (Debian's postgresql-15)
    .venv/bin/python bench/reports.py --events 10000000

Generates ``--events`` events over ``--days`` days for ``--users`` users (columnar, bench/columnar_events.py),
inserts them into chDB in 1M-row Arrow batches through the migrations' materialized views, and the
same rows into PostgreSQL with COPY and indexes. The last 100k rows, drawn at random from the whole
year, arrive after the rest has been merged: late events in every month, as a live system has them.
Once no merge runs, each report runs ``--repeat`` times in chDB and ``--pg-repeat`` times in PostgreSQL
(after one warm-up each), the two taking turns, and the table shows p50 and p95 in milliseconds and how
many times faster chDB answered (PostgreSQL p50 / chDB p50).

With ``--chdb-path DIR`` the loaded directory is kept, and a later run with the same ``--events``,
``--users`` and ``--days`` reuses it (and PostgreSQL's table, when it holds the same dataset) instead of
loading again: the events are generated again from the same seed and end, only to pick the users read.
``--only`` measures the reports whose name contains one of its words (e.g. ``--only stream,summary``).
The per-person rows end with chDB's own floor in the same process: ``SELECT 1`` through the same
warehouse.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from columnar_events import generate_events  # noqa: E402

from eventlens.reports import activity, lifestream, retention, viewing  # noqa: E402
from eventlens.reports.segments import parse_segments  # noqa: E402
from eventlens.schema import migrate  # noqa: E402
from eventlens.warehouse import ChdbWarehouse, Warehouse  # noqa: E402

BATCH = 1_000_000
LATE = 100_000
PROJECT = "default"  # every generated event is of this project, as a one-tenant install's are
GOALS = {"dau 365 d": 50.0, "retention 12 w": 200.0}
EVERY_REPORT_P95 = 300.0

_PG_SCHEMA = """
DROP TABLE IF EXISTS events;
CREATE UNLOGGED TABLE events (
    event_id uuid NOT NULL, user_id text NOT NULL, event_type text NOT NULL, ts timestamptz NOT NULL,
    source text NOT NULL, properties jsonb NOT NULL, received_at timestamptz NOT NULL
);
"""
# What an engineer would index for these reports: time first, the filtered columns, the per-user routes.
_PG_INDEXES = [
    "ALTER TABLE events ADD PRIMARY KEY (event_id)",
    "CREATE INDEX events_ts ON events (ts) INCLUDE (user_id)",
    "CREATE INDEX events_type_ts ON events (event_type, ts)",
    "CREATE INDEX events_source_ts ON events (source, ts) INCLUDE (user_id, event_type)",
    "CREATE INDEX events_user_ts ON events (user_id, ts)",
    "CREATE INDEX events_country_ts ON events ((properties->>'country'), ts)",
    "CREATE INDEX events_movie ON events ((properties->>'movie_id'), ts) WHERE source = 'viewing'",
]


DEFAULT_PG_SERVER = "postgresql://postgres@127.0.0.1:55432"
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per report in chDB")
    parser.add_argument("--pg-repeat", type=int, default=5, help="timed runs per report in PostgreSQL")
    parser.add_argument(
        "--pg",
        default=f"{DEFAULT_PG_SERVER}/eventlens_bench",
        help="PostgreSQL URL; 'none' to skip it",
    )
    parser.add_argument(
        "--chdb-path",
        type=Path,
        default=None,
        help="chDB directory, kept and reused by a later run of the same dataset (default: a temporary one)",
    )
    parser.add_argument("--only", default="", help="comma-separated words: measure only reports naming one")
    args = parser.parse_args()

    dataset = {"events": args.events, "users": args.users, "days": args.days, "seed": 11}
    loaded = _loaded_dataset(args.chdb_path, dataset)
    end = datetime.fromisoformat(loaded["end"]) if loaded else datetime.now(UTC).replace(microsecond=0)
    marker_text = json.dumps({**dataset, "end": end.isoformat()}, sort_keys=True)
    pg = None
    if args.pg != "none":
        if args.pg.startswith(DEFAULT_PG_SERVER):  # our own cluster: make sure it is installed and up
            subprocess.run(["bash", str(ROOT / "scripts/servers/postgres.sh"), "start", "55432"], check=True)
        pg = postgres_holding(args.pg, marker_text, args.events)
    people: list[str] | None = loaded.get("people") if loaded else None
    events = None
    if people is None or not loaded or (args.pg != "none" and pg is None):
        started = time.perf_counter()
        events = generate_events(args.events, args.users, args.days, seed=11, end=end)
        print(
            f"generated {events.num_rows:,} events for {args.users:,} users over {args.days} days "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        people = busiest_people(events)

    path = args.chdb_path or Path(tempfile.mkdtemp(prefix="eventlens-bench-"))
    warehouse = ChdbWarehouse(path, "bench")
    try:
        if loaded:
            migrate(warehouse)  # migrations added since it was loaded
            print(f"chDB: reusing the dataset loaded in {path} (ending {end.isoformat()})", flush=True)
        else:
            assert events is not None
            load_chdb(warehouse, *_on_time_and_late(events))
        if args.chdb_path is not None:
            marker = {**dataset, "end": end.isoformat(), "people": people}
            (path / DATASET_MARKER).write_text(json.dumps(marker))
        if args.pg != "none" and pg is None:
            assert events is not None
            pg = load_postgres(args.pg, events, marker_text)
        elif pg is not None:
            print("PostgreSQL: reusing the loaded dataset", flush=True)
        today = end.date()
        settled = _merges_settled(warehouse)
        print(f"active parts when the measuring starts: {_parts(warehouse)} ({settled})", flush=True)
        cases = report_cases(warehouse, people, today)
        only = [word for word in args.only.split(",") if word]
        cases = [case for case in cases if not only or any(word in case[0] for word in only)]
        cases.append(("chDB floor: SELECT 1", lambda: warehouse.query("SELECT 1"), ("SELECT 1", ())))
        rows = []
        for name, run_chdb, pg_sql in cases:
            run_pg = functools.partial(run_postgres, pg, pg_sql) if pg and pg_sql else None
            chdb_ms, pg_ms = timed_side_by_side(run_chdb, args.repeat, run_pg, args.pg_repeat)
            rows.append((name, chdb_ms, pg_ms))
            print(f"  measured {name}", file=sys.stderr, flush=True)
        print_table(rows, args)
        # The reports that read with FINAL pay for the late batch's parts until they are merged, and
        # one person's reads open each part of user_events they have rows in (a kept directory stays
        # merged: the next run's first line of parts says so).
        for table in ("user_periods", "user_first", "user_events"):
            warehouse.command(f"OPTIMIZE TABLE {table} FINAL")
        print(f"\nThe same once merged (as chDB's background merges do): {_parts(warehouse)}\n")
        print("| report                           | chDB p50 | chDB p95 |  PG p50 | PG/chDB |")
        print("|----------------------------------|---------:|---------:|--------:|--------:|")
        for (name, run_chdb, _), (_, _, pg_ms) in zip(cases, rows, strict=True):
            if name in ("dau 365 d", "wau 365 d", "mau 365 d", "retention 12 w") or name in PERSON_ROWS:
                c50, c95 = timed(run_chdb, args.repeat)
                pg_cells = f"{_ms(pg_ms[0])} | {pg_ms[0] / c50:6.2f}x" if pg_ms else f"{'-':>7} | {'-':>7}"
                print(f"| {name:32} | {c50:8.1f} | {c95:8.1f} | {pg_cells} |")
    finally:
        warehouse.close()
        if args.chdb_path is None:
            shutil.rmtree(path, ignore_errors=True)


DATASET_MARKER = "bench-dataset.json"
# One person's reads (issue 14), and chDB's floor: the rows measured again once user_events is merged.
PERSON_ROWS = (
    "user viewing stats 30 d",
    "stream events, 100",
    "stream stats",
    "memory summary, month",
    "chDB floor: SELECT 1",
)


def _parts(warehouse: Warehouse) -> str:
    tables = ("user_periods", "user_events")
    counts = warehouse.query(
        "SELECT table, count() AS n FROM system.parts WHERE active AND database = currentDatabase()"
        " AND table IN {tables:Array(String)} GROUP BY table ORDER BY table",
        {"tables": list(tables)},
    ).to_pylist()
    return ", ".join(f"{row['table']} {row['n']}" for row in counts)


def _loaded_dataset(path: Path | None, dataset: dict[str, Any]) -> dict[str, Any] | None:
    """The marker of the dataset a kept ``path`` holds, when it is ``dataset`` (same size and seed)."""
    if path is None or not (path / DATASET_MARKER).exists():
        return None
    marker: dict[str, Any] = json.loads((path / DATASET_MARKER).read_text())
    return marker if {k: marker.get(k) for k in dataset} == dataset else None


def load_chdb(warehouse: Warehouse, on_time: pa.Table, late: pa.Table) -> None:
    """Insert in 1M-row batches, let the rollups merge, then the late events as one more batch, all
    of ``PROJECT`` (ingest stamps the caller's project; the generated rows have none)."""
    migrate(warehouse)
    on_time, late = _of_project(on_time), _of_project(late)
    started = time.perf_counter()
    for offset in range(0, on_time.num_rows, BATCH):
        warehouse.insert_arrow("events", on_time.slice(offset, BATCH))
    elapsed = time.perf_counter() - started
    print(
        f"chDB: inserted {on_time.num_rows:,} rows in {elapsed:.1f} s "
        f"({on_time.num_rows / elapsed:,.0f} rows/s, materialized views included)",
        flush=True,
    )
    started = time.perf_counter()
    for table in ("daily_rollup", "user_periods", "user_first", "movie_daily", "hourly_rollup"):
        warehouse.command(f"OPTIMIZE TABLE {table} FINAL")
    print(
        f"chDB: merged the rollups in {time.perf_counter() - started:.1f} s (background merges would)",
        flush=True,
    )
    warehouse.insert_arrow("events", late.sort_by("ts"))
    print(f"chDB: then {late.num_rows:,} late events from every month in one more batch", flush=True)


def _of_project(events: pa.Table) -> pa.Table:
    return events.add_column(0, "project_id", pa.array([PROJECT] * events.num_rows, pa.string()))


def _on_time_and_late(events: pa.Table) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(3)
    late_rows = np.zeros(events.num_rows, dtype=bool)
    late_rows[rng.choice(events.num_rows, size=min(LATE, events.num_rows // 10), replace=False)] = True
    return events.filter(pa.array(~late_rows)), events.filter(pa.array(late_rows))


def postgres_holding(url: str, marker: str, rows: int) -> Any:
    """A connection to ``url`` when its events table holds the dataset ``marker`` names, all ``rows`` of
    it, else None. The count is checked too: a table emptied or cut short under a kept marker would
    otherwise be measured as a PostgreSQL that answers everything in 0 ms."""
    import psycopg

    connection = psycopg.connect(url, autocommit=True)
    connection.execute("SET timezone = 'UTC'")
    connection.execute("CREATE TABLE IF NOT EXISTS bench_dataset (marker text NOT NULL)")
    held = connection.execute("SELECT marker FROM bench_dataset").fetchall()
    table = connection.execute("SELECT to_regclass('events')").fetchone()
    if held == [(marker,)] and table != (None,):
        row = connection.execute("SELECT count(*) FROM events").fetchone()
        count = row[0] if row else 0
        if count == rows:
            return connection
        print(f"PostgreSQL: the events table holds {count:,} rows, not {rows:,}: loading again", flush=True)
    connection.close()
    return None


def load_postgres(url: str, events: pa.Table, marker: str | None = None) -> Any:
    """Connect and load ``events``; ``marker`` names the dataset for a later run to reuse."""
    import psycopg

    connection = psycopg.connect(url, autocommit=True)
    connection.execute("SET timezone = 'UTC'")
    connection.execute("CREATE TABLE IF NOT EXISTS bench_dataset (marker text NOT NULL)")
    connection.execute("DELETE FROM bench_dataset")
    connection.execute(_PG_SCHEMA)
    started = time.perf_counter()
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with connection.cursor() as cursor:
        for offset in range(0, events.num_rows, BATCH):
            buffer = io.BytesIO()
            pacsv.write_csv(events.slice(offset, BATCH), buffer, options)
            with cursor.copy("COPY events FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
    copied = time.perf_counter() - started
    for statement in _PG_INDEXES:
        connection.execute(statement)
    connection.execute("VACUUM ANALYZE events")
    if marker is not None:
        connection.execute("INSERT INTO bench_dataset VALUES (%s)", (marker,))
    print(
        f"PostgreSQL: COPY {events.num_rows:,} rows in {copied:.1f} s, indexes and ANALYZE in "
        f"{time.perf_counter() - started - copied:.1f} s",
        flush=True,
    )
    return connection


def run_postgres(
    connection: Any, statements: tuple[str, tuple[Any, ...]] | list[tuple[str, tuple[Any, ...]]]
) -> None:
    for sql, params in [statements] if isinstance(statements, tuple) else statements:
        connection.execute(sql, params or None).fetchall()


def _merges_settled(warehouse: Warehouse, limit_s: float = 900.0) -> str:
    """Wait until no merge runs (at most ``limit_s``): a directory just loaded or opened again merges
    its parts in the background, and a merge of millions of rows beside the measuring takes the same
    two cores (it made one person's reads 10-20x slower in one run)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        running = warehouse.query("SELECT count() AS n FROM system.merges").column("n")[0].as_py()
        if not running:
            return f"no merge running, waited {time.perf_counter() - started:.0f} s"
        time.sleep(2)
    return f"merges still running after {limit_s:.0f} s"


def timed_side_by_side(
    run_chdb: Callable[[], Any], repeat: int, run_pg: Callable[[], Any] | None, pg_repeat: int
) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """p50 and p95 of each side, their runs taken in turns (one of each while both have runs left), so
    both see the same load on a shared machine."""
    run_chdb()  # warm-up
    if run_pg:
        run_pg()
    times: dict[str, list[float]] = {"chdb": [], "pg": []}
    for i in range(max(repeat, pg_repeat if run_pg else 0)):
        for side, run, count in (("chdb", run_chdb, repeat), ("pg", run_pg, pg_repeat)):
            if run is not None and i < count:
                started = time.perf_counter()
                run()
                times[side].append((time.perf_counter() - started) * 1000)
    chdb_ms = _p50_p95(times["chdb"])
    return chdb_ms, _p50_p95(times["pg"]) if run_pg else None


def _p50_p95(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    run()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95


def busiest_people(events: pa.Table) -> list[str]:
    """The viewer and the Life Stream person with the most events: whose reads are measured."""
    import pyarrow.compute as pc

    def busiest(source: str) -> str:
        users = events.filter(pc.equal(events["source"], source))["user_id"]
        counts = pc.value_counts(users)
        return str(counts.field("values")[int(np.argmax(counts.field("counts")))])

    return [busiest("viewing"), busiest("lifestream")]


def report_cases(
    warehouse: Warehouse, people: list[str], today: date
) -> list[tuple[str, Callable[[], Any], Any]]:
    """(name, the eventlens report call, the PostgreSQL statements answering the same question)."""
    viewer, life = people
    y0, d30, d7 = today - timedelta(days=364), today - timedelta(days=30), today - timedelta(days=7)
    r0 = today - timedelta(weeks=13)
    first_monday = r0 + timedelta(days=(7 - r0.weekday()) % 7)
    ua, purchase, page = (
        parse_segments("properties.country:UA"),
        parse_segments("event_type:purchase"),
        parse_segments("properties.page:/page/7"),
    )

    def ts(day: date) -> str:
        return f"'{day.isoformat()}'::timestamptz"

    def pg_users(trunc: str, start: date, where: str = "") -> tuple[str, tuple[()]]:
        return (
            f"SELECT date_trunc('{trunc}', ts) AS p, count(DISTINCT user_id) FROM events "
            f"WHERE ts >= {ts(start)} AND ts < {ts(today + timedelta(days=1))} {where} GROUP BY p ORDER BY p",
            (),
        )

    pg_retention = f"""
        WITH first AS (SELECT user_id, date_trunc('week', min(ts)) AS cohort
                       FROM events {{seg}} GROUP BY user_id),
             active AS (SELECT DISTINCT user_id, date_trunc('week', ts) AS week FROM events
                        WHERE ts >= {ts(first_monday)} {{and_seg}})
        SELECT cohort, (week::date - cohort::date) / 7 AS k, count(*) FROM active JOIN first USING (user_id)
        WHERE cohort >= {ts(first_monday)} AND week >= cohort AND week <= cohort + interval '12 weeks'
        GROUP BY cohort, k"""
    viewing_since = f"source = 'viewing' AND ts >= {ts(d30)}"
    life_where = "user_id = %s AND source = 'lifestream'"
    month = today - timedelta(days=29)
    summary_sql = [
        (
            f"SELECT event_type, count(*) FROM events WHERE {life_where} AND ts >= {ts(month)} GROUP BY 1",
            (life,),
        ),
        (
            "SELECT round((properties->>'lat')::numeric, 3), "
            f"round((properties->>'lon')::numeric, 3), count(*) "
            f"FROM events WHERE {life_where} AND event_type = 'geo' AND ts >= {ts(month)} GROUP BY 1, 2 "
            "ORDER BY 3 DESC LIMIT 10",
            (life,),
        ),
        (
            f"SELECT properties->>'item', count(*), sum((properties->>'amount')::float8) FROM events "
            f"WHERE {life_where} AND event_type = 'purchase' AND ts >= {ts(month)} GROUP BY 1",
            (life,),
        ),
        (
            "SELECT properties->>'person_id', count(*) FROM events "
            f"WHERE {life_where} AND event_type = 'social' "
            f"AND ts >= {ts(month)} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
            (life,),
        ),
        (
            "SELECT properties->>'activity', count(*), "
            "sum((properties->>'duration_minutes')::float8) FROM events "
            f"WHERE {life_where} AND event_type = 'activity' AND ts >= {ts(month)} GROUP BY 1",
            (life,),
        ),
        (
            f"SELECT properties->>'metric', count(*), avg((properties->>'value')::float8) FROM events "
            f"WHERE {life_where} AND event_type = 'health' AND ts >= {ts(month)} GROUP BY 1",
            (life,),
        ),
    ]
    return [
        ("dau 365 d", lambda: activity.dau(warehouse, PROJECT, y0, today, []), pg_users("day", y0)),
        (
            "dau 365 d, country=UA",
            lambda: activity.dau(warehouse, PROJECT, y0, today, ua),
            pg_users("day", y0, "AND properties->>'country' = 'UA'"),
        ),
        (
            "dau 30 d, JSON property",
            lambda: activity.dau(warehouse, PROJECT, d30, today, page),
            pg_users("day", d30, "AND properties->>'page' = '/page/7'"),
        ),
        ("wau 365 d", lambda: activity.wau(warehouse, PROJECT, y0, today, []), pg_users("week", y0)),
        ("mau 365 d", lambda: activity.mau(warehouse, PROJECT, y0, today, []), pg_users("month", y0)),
        (
            "mau 365 d, type=purchase",
            lambda: activity.mau(warehouse, PROJECT, y0, today, purchase),
            pg_users("month", y0, "AND event_type = 'purchase'"),
        ),
        (
            "top events 30 d",
            lambda: activity.top_events(warehouse, PROJECT, d30, today, 10, []),
            (
                f"SELECT event_type, count(*) AS c FROM events WHERE ts >= {ts(d30)} "
                "GROUP BY 1 ORDER BY c DESC LIMIT 10",
                (),
            ),
        ),
        (
            "top events 365 d",
            lambda: activity.top_events(warehouse, PROJECT, y0, today, 10, []),
            (
                f"SELECT event_type, count(*) AS c FROM events WHERE ts >= {ts(y0)} "
                "GROUP BY 1 ORDER BY c DESC LIMIT 10",
                (),
            ),
        ),
        (
            "retention 12 w",
            lambda: retention.retention_cohorts(warehouse, PROJECT, r0, 12, [], today),
            (pg_retention.format(seg="", and_seg=""), ()),
        ),
        (
            "retention 12 w, type=purchase",
            lambda: retention.retention_cohorts(warehouse, PROJECT, r0, 12, purchase, today),
            (
                pg_retention.format(
                    seg="WHERE event_type = 'purchase'", and_seg="AND event_type = 'purchase'"
                ),
                (),
            ),
        ),
        (
            "popular content 30 d",
            lambda: viewing.popular_content(warehouse, PROJECT, 30, 10, today),
            (
                f"SELECT properties->>'movie_id' AS m, count(*) FILTER (WHERE event_type = 'start') AS v, "
                "count(DISTINCT user_id), count(*) FILTER (WHERE event_type = 'finish') "
                f"FROM events WHERE {viewing_since} GROUP BY m ORDER BY v DESC, m LIMIT 10",
                (),
            ),
        ),
        (
            "user viewing stats 30 d",
            lambda: viewing.user_stats(warehouse, PROJECT, viewer, 30, today),
            (
                f"SELECT properties->>'movie_id', count(*) FILTER (WHERE event_type = 'start'), "
                "max((properties->>'position_seconds')::int) FROM events "
                f"WHERE user_id = %s AND {viewing_since} GROUP BY coalesce(properties->>'session_id', ''), 1",
                (viewer,),
            ),
        ),
        (
            "viewing trends 30 d",
            lambda: viewing.trends(warehouse, PROJECT, 30, today),
            (
                "SELECT date_trunc('day', ts), count(*) FILTER (WHERE event_type = 'start'), "
                "count(DISTINCT user_id) "
                f"FROM events WHERE {viewing_since} GROUP BY 1",
                (),
            ),
        ),
        (
            "peak hours 7 d",
            lambda: viewing.peak_hours(warehouse, PROJECT, 7, today),
            (
                "SELECT extract(hour FROM ts) AS h, count(*) AS c, count(DISTINCT user_id) FROM events "
                f"WHERE source = 'viewing' AND ts >= {ts(d7)} GROUP BY h ORDER BY c DESC",
                (),
            ),
        ),
        (
            "peak hours 30 d",
            lambda: viewing.peak_hours(warehouse, PROJECT, 30, today),
            (
                "SELECT extract(hour FROM ts) AS h, count(*) AS c, count(DISTINCT user_id) FROM events "
                f"WHERE {viewing_since} GROUP BY h ORDER BY c DESC",
                (),
            ),
        ),
        (
            "stream events, 100",
            lambda: lifestream.stream_events(warehouse, PROJECT, life, limit=100),
            [
                (f"SELECT count(*) FROM events WHERE {life_where}", (life,)),
                (
                    f"SELECT event_id, event_type, ts, properties FROM events WHERE {life_where} "
                    "ORDER BY ts DESC, event_id LIMIT 100",
                    (life,),
                ),
            ],
        ),
        (
            "stream stats",
            lambda: lifestream.stream_stats(warehouse, PROJECT, life),
            (
                f"SELECT event_type, count(*), min(ts), max(ts) FROM events WHERE {life_where} GROUP BY 1",
                (life,),
            ),
        ),
        (
            "memory summary, month",
            lambda: lifestream.memory_summary(warehouse, PROJECT, life, month, today),
            summary_sql,
        ),
    ]


def _ms(value: float) -> str:
    """Milliseconds in 7 characters: tenths below 100 ms (a person's read is 1-2 ms in PostgreSQL)."""
    return f"{value:7.1f}" if value < 100 else f"{value:7.0f}"


def print_table(rows: list[tuple[str, tuple[float, float], tuple[float, float] | None]], args: Any) -> None:
    print(
        f"\nReports on {args.events:,} events, {args.users:,} users, {args.days} days "
        f"(p50 / p95 in ms; chDB {args.repeat} runs, PostgreSQL 18 {args.pg_repeat} runs, after a warm-up)\n"
    )
    print(f"| {'report':32} | chDB p50 | chDB p95 |  PG p50 |  PG p95 | PG/chDB | goal |")
    print(f"|{'-' * 34}|---------:|---------:|--------:|--------:|--------:|------|")
    for name, (c50, c95), pg in rows:
        goal = GOALS.get(name, EVERY_REPORT_P95)
        met = "ok" if c95 <= goal else "MISS"
        pg_cells = (
            f"{_ms(pg[0])} | {_ms(pg[1])} | {pg[0] / c50:6.1f}x" if pg else f"{'-':>7} | {'-':>7} | {'-':>7}"
        )
        print(f"| {name:32} | {c50:8.1f} | {c95:8.1f} | {pg_cells} | {met:4} |")
    print(
        f"\ngoals, at p95: {', '.join(f'{k} ≤ {v:.0f} ms' for k, v in GOALS.items())}, "
        f"every other report ≤ {EVERY_REPORT_P95:.0f} ms"
    )


if __name__ == "__main__":
    main()
