"""Insight latency at scale: each insight kind on chDB (eventlens's own code) beside PostgreSQL holding
the same rows, and beside a plain count over the same range in the same run.

    .venv/bin/python bench/insights.py                        # 2M events: a few minutes here
    .venv/bin/python bench/insights.py --events 10000000      # the issue's size
    .venv/bin/python bench/insights.py --pg none              # chDB only

Generates ``--events`` events over ``--days`` days for ``--users`` users (columnar, bench/columnar_events.py),
loads them as bench/reports.py does (chDB through the migrations' views, late events in every month
arriving after the rest; PostgreSQL 18 with COPY and the indexes an engineer would add), then runs each
insight ``--repeat`` times (PostgreSQL ``--pg-repeat`` times) after a warm-up. The table shows p50 and p95
in milliseconds, how many plain counts of the same range each insight costs (``x count``: its p50 over
the p50 of ``SELECT count()`` over the range in chDB, measured in the same run), and how many times
faster chDB answered than PostgreSQL (PG p50 / chDB p50).

PostgreSQL has no funnel or path functions: its queries are the usual SQL for the same question (a
funnel as one CTE per step, each step the person's first matching event after the previous one within
the window from the first; paths with row_number()), the work a team would run there.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from columnar_events import generate_events  # noqa: E402
from reports import (  # noqa: E402
    DEFAULT_PG_SERVER,
    LATE,
    ROOT,
    load_chdb,
    load_postgres,
    postgres_holding,
    run_postgres,
    timed,
)

from eventlens.insights import funnel, lifecycle, paths, retention, stickiness, trends  # noqa: E402
from eventlens.warehouse import ChdbWarehouse, Warehouse  # noqa: E402

PG_DATABASE = "eventlens_insights_bench"
LOADED = "bench-insights.json"  # in a --chdb-path directory: the shape it holds
PROJECT = "default"  # every generated event is of this project, as in bench/reports.py
# The goals at 10M events, p95 in ms.
GOALS = {
    "funnel 5 steps, 30 d": 300.0,
    "funnel 20 steps, 30 d": 1000.0,
    "trends + breakdown, 365 d": 300.0,
    "paths 5 deep, 30 d": 500.0,
    "lifecycle weekly, 365 d": 300.0,
    "lifecycle daily, 30 d": 300.0,
    "stickiness, 30 d": 300.0,
}
SHOP = ["session_start", "page_view", "view_item", "add_to_cart", "purchase"]
LONG = [SHOP[i % 4] for i in range(19)] + ["purchase"]  # 20 steps, session → … → purchase

Case = tuple[str, Callable[[], Any], Any, str]  # name, the chDB call, PostgreSQL statements, range


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--users", type=int, default=None, help="default: events / 50")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per insight in chDB")
    parser.add_argument("--pg-repeat", type=int, default=3, help="timed runs per insight in PostgreSQL")
    parser.add_argument(
        "--pg",
        default=f"{DEFAULT_PG_SERVER}/{PG_DATABASE}",
        help="PostgreSQL URL (a database of its own: bench/reports.py's table is left alone); 'none' to skip",
    )
    parser.add_argument(
        "--chdb-path", type=Path, default=None, help="chDB directory (default: a temporary one)"
    )
    parser.add_argument(
        "--only", default=None, help="run only the insights whose name contains this text (and the counts)"
    )
    args = parser.parse_args()
    users = args.users or max(1000, args.events // 50)

    path = args.chdb_path or Path(tempfile.mkdtemp(prefix="eventlens-bench-insights-"))
    shape = {"events": args.events, "users": users, "days": args.days}
    loaded = _loaded_shape(path)
    end = (
        datetime.fromisoformat(loaded["end"])
        if loaded and all(loaded.get(key) == value for key, value in shape.items())
        else None
    )
    chdb_loaded = end is not None
    end = end or datetime.now(UTC).replace(microsecond=0)
    marker = f"eventlens insights bench {json.dumps({**shape, 'end': end.isoformat()}, sort_keys=True)}"
    pg = None
    if args.pg != "none":
        if args.pg.startswith(DEFAULT_PG_SERVER):  # our own cluster: make sure it is installed and up
            subprocess.run(["bash", str(ROOT / "scripts/servers/postgres.sh"), "start", "55432"], check=True)
        _ensure_database(args.pg)
        pg = postgres_holding(args.pg, marker, args.events)
    if chdb_loaded:
        print(f"chDB: reusing the events loaded in {path} (generated up to {end.isoformat()})", flush=True)
    if pg is not None:
        print("PostgreSQL: reusing the events loaded with the same shape", flush=True)
    if not chdb_loaded or (args.pg != "none" and pg is None):
        events = _generate(args.events, users, args.days, end)
        if not chdb_loaded:
            warehouse = ChdbWarehouse(path, "bench")
            try:
                _load_chdb(warehouse, events)
            finally:
                warehouse.close()
            (path / LOADED).write_text(json.dumps({**shape, "end": end.isoformat()}))
        if args.pg != "none" and pg is None:
            pg = load_postgres(args.pg, events, marker)
        del events
    # Opened only now: a loaded directory stays free for other processes while PostgreSQL loads.
    warehouse = ChdbWarehouse(path, "bench")
    try:
        rows = []
        baselines: dict[str, float] = {}
        for name, run_chdb, pg_sql, span in insight_cases(warehouse, end.date()):
            if args.only and args.only not in name and not name.startswith("count"):
                continue
            chdb_ms = timed(run_chdb, args.repeat)
            if name.startswith("count"):
                baselines[span] = chdb_ms[0]
            pg_ms = (
                timed(functools.partial(run_postgres, pg, pg_sql), args.pg_repeat) if pg and pg_sql else None
            )
            rows.append((name, span, chdb_ms, pg_ms))
            print(f"  measured {name}", file=sys.stderr, flush=True)
        print_table(rows, baselines, args, users)
    finally:
        warehouse.close()
        if args.chdb_path is None:
            shutil.rmtree(path, ignore_errors=True)


def _generate(count: int, users: int, days: int, end: datetime) -> pa.Table:
    started = time.perf_counter()
    events = generate_events(count, users, days, seed=11, end=end)
    print(
        f"generated {events.num_rows:,} events for {users:,} users over {days} days "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return events


def _load_chdb(warehouse: Warehouse, events: pa.Table) -> None:
    """Load as bench/reports.py does: the late events of every month after the rest."""
    rng = np.random.default_rng(3)
    late_rows = np.zeros(events.num_rows, dtype=bool)
    late_rows[rng.choice(events.num_rows, size=min(LATE, events.num_rows // 10), replace=False)] = True
    load_chdb(warehouse, events.filter(pa.array(~late_rows)), events.filter(pa.array(late_rows)))


def _loaded_shape(path: Path) -> dict[str, Any] | None:
    """What an earlier run loaded into the chDB directory ``path`` (events, users, days, end), if any:
    a directory loaded once (``--chdb-path``) is reused by runs asking the same shape."""
    try:
        return dict(json.loads((path / LOADED).read_text()))
    except (OSError, ValueError):
        return None


def _ensure_database(url: str) -> None:
    """Create the URL's database on its server when it is missing."""
    import psycopg

    server, _, name = url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')  # our own constant or the operator's URL


def _count(warehouse: Warehouse, start: date, end: date) -> Callable[[], Any]:
    sql = (
        "SELECT count() AS n FROM events WHERE project_id = {project:String}"
        " AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}"
    )
    params = {
        "project": PROJECT,
        "start": datetime.combine(start, datetime.min.time(), UTC),
        "end": datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC),
    }
    return lambda: warehouse.query(sql, params)


def _ts(day: date) -> str:
    return f"'{day.isoformat()}'::timestamptz"


def _pg_funnel(steps: list[str], start: date, end: date, window_s: int) -> tuple[str, tuple[Any, ...]]:
    """The usual SQL funnel: each step the person's first event of it after the previous step's, within
    the window from the first step."""
    span = f"ts >= {_ts(start)} AND ts < {_ts(end + timedelta(days=1))}"
    ctes = [
        "s1 AS (SELECT user_id, min(ts) AS t1, min(ts) AS t FROM events"
        f" WHERE event_type = %s AND {span} GROUP BY user_id)"
    ]
    for i in range(2, len(steps) + 1):
        ctes.append(
            f"s{i} AS (SELECT p.user_id, p.t1, min(e.ts) AS t FROM s{i - 1} p JOIN events e"
            f" ON e.user_id = p.user_id AND e.event_type = %s AND e.ts > p.t"
            f" AND e.ts <= p.t1 + interval '{window_s} seconds' AND e.{span} GROUP BY p.user_id, p.t1)"
        )
    counts = ", ".join(f"(SELECT count(*) FROM s{i})" for i in range(1, len(steps) + 1))
    return f"WITH {', '.join(ctes)} SELECT {counts}", tuple(steps)


def insight_cases(warehouse: Warehouse, today: date) -> list[Case]:
    y0, d30, w12 = today - timedelta(days=364), today - timedelta(days=29), today - timedelta(weeks=12)
    year = {"from": str(y0), "to": str(today)}
    month = {"from": str(d30), "to": str(today)}
    span_year = f"ts >= {_ts(y0)} AND ts < {_ts(today + timedelta(days=1))}"
    span_month = f"ts >= {_ts(d30)} AND ts < {_ts(today + timedelta(days=1))}"

    def ask(insight: Callable[..., Any], model: Any, body: dict[str, Any]) -> Callable[[], Any]:
        query = model.model_validate(body)
        return lambda: insight(warehouse, PROJECT, query)

    breakdown = {
        **year,
        "series": [{"event": "page_view"}, {"event": "page_view", "math": "unique_persons"}],
        "breakdown": {"property": "properties.country", "limit": 5},
        "formula": "A / B",
    }
    pg_breakdown = (
        "WITH top AS (SELECT properties->>'country' AS c FROM events WHERE event_type = 'page_view' AND "
        f"{span_year} GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 5) "
        "SELECT date_trunc('day', ts) AS d, CASE WHEN properties->>'country' IN (SELECT c FROM top) "
        "THEN properties->>'country' ELSE 'other' END AS g, count(*), count(DISTINCT user_id) FROM events "
        f"WHERE event_type = 'page_view' AND {span_year} GROUP BY 1, 2",
        (),
    )
    pg_p95 = (
        "SELECT date_trunc('week', ts), sum((properties->>'price')::float8), "
        "percentile_cont(0.95) WITHIN GROUP (ORDER BY (properties->>'price')::float8) FROM events "
        f"WHERE event_type = 'purchase' AND {span_year} GROUP BY 1",
        (),
    )
    pg_paths = (
        "WITH seq AS (SELECT user_id, event_type,"
        " row_number() OVER (PARTITION BY user_id ORDER BY ts, event_type) AS rn"
        f" FROM events WHERE {span_month}), "
        "first AS (SELECT user_id, min(rn) AS rn0 FROM seq WHERE event_type = 'session_start'"
        " GROUP BY user_id), "
        "walk AS (SELECT s.user_id, s.rn - f.rn0 AS step, s.event_type FROM seq s"
        " JOIN first f USING (user_id) WHERE s.rn BETWEEN f.rn0 AND f.rn0 + 5) "
        "SELECT a.step, a.event_type, b.event_type, count(*) AS n FROM walk a JOIN walk b "
        "ON b.user_id = a.user_id AND b.step = a.step + 1 GROUP BY 1, 2, 3 ORDER BY n DESC LIMIT 50",
        (),
    )
    pg_stickiness = (
        "SELECT n, count(*) FROM (SELECT user_id, count(DISTINCT date_trunc('day', ts)) AS n FROM events "
        f"WHERE event_type = 'page_view' AND {span_month} GROUP BY 1) x GROUP BY n",
        (),
    )

    def pg_lifecycle(trunc: str, step: str, first: date) -> tuple[str, tuple[()]]:
        return (
            f"WITH act AS (SELECT DISTINCT user_id, date_trunc('{trunc}', ts) AS p FROM events "
            f"WHERE ts >= {_ts(first)} - interval '1 {step}' AND ts < {_ts(today + timedelta(days=1))}), "
            "firsts AS (SELECT user_id, date_trunc('"
            f"{trunc}', min(ts)) AS f FROM events WHERE ts < {_ts(today + timedelta(days=1))} GROUP BY 1) "
            "SELECT a.p, CASE WHEN fs.f = a.p THEN 'new' WHEN b.user_id IS NOT NULL THEN 'returning' "
            "ELSE 'resurrecting' END, count(*) FROM act a JOIN firsts fs USING (user_id) LEFT JOIN act b "
            f"ON b.user_id = a.user_id AND b.p = a.p - interval '1 {step}' GROUP BY 1, 2 "
            f"UNION ALL SELECT a.p + interval '1 {step}', 'dormant', count(*) FROM act a LEFT JOIN act n "
            f"ON n.user_id = a.user_id AND n.p = a.p + interval '1 {step}'"
            " WHERE n.user_id IS NULL GROUP BY 1",
            (),
        )

    pg_retention = (
        "WITH first AS (SELECT user_id, date_trunc('week', min(ts)) AS cohort FROM events "
        "WHERE event_type = 'session_start' GROUP BY user_id), "
        "active AS (SELECT DISTINCT user_id, date_trunc('week', ts) AS week FROM events "
        f"WHERE event_type = 'purchase' AND ts >= {_ts(w12)}) "
        "SELECT cohort, (week::date - cohort::date) / 7 AS k, count(*) FROM active"
        f" JOIN first USING (user_id) WHERE cohort >= {_ts(w12)} AND week > cohort"
        " AND week <= cohort + interval '8 weeks' GROUP BY 1, 2",
        (),
    )
    return [
        (
            "count, 365 d",
            _count(warehouse, y0, today),
            (f"SELECT count(*) FROM events WHERE {span_year}", ()),
            "365 d",
        ),
        (
            "count, 30 d",
            _count(warehouse, d30, today),
            (f"SELECT count(*) FROM events WHERE {span_month}", ()),
            "30 d",
        ),
        (
            "trends + breakdown, 365 d",
            ask(trends.trends, trends.TrendsQuery, breakdown),
            pg_breakdown,
            "365 d",
        ),
        (
            "trends + breakdown, 365 d, Kyiv",
            ask(trends.trends, trends.TrendsQuery, {**breakdown, "timezone": "Europe/Kyiv"}),
            None,
            "365 d",
        ),
        (
            "trends sum + p95 weekly, 365 d",
            ask(
                trends.trends,
                trends.TrendsQuery,
                {
                    **year,
                    "interval": "week",
                    "series": [
                        {"event": "purchase", "math": "sum", "property": "properties.price"},
                        {"event": "purchase", "math": "p95", "property": "properties.price"},
                    ],
                },
            ),
            pg_p95,
            "365 d",
        ),
        (
            "funnel 5 steps, 30 d",
            ask(
                funnel.funnel,
                funnel.FunnelQuery,
                {**month, "steps": [{"event": e} for e in SHOP], "window_seconds": 86400},
            ),
            _pg_funnel(SHOP, d30, today, 86400),
            "30 d",
        ),
        (
            "funnel 5 steps strict + breakdown, 30 d",
            ask(
                funnel.funnel,
                funnel.FunnelQuery,
                {
                    **month,
                    "steps": [{"event": e} for e in SHOP],
                    "order": "strict",
                    "breakdown": {"property": "properties.country", "limit": 5},
                },
            ),
            None,
            "30 d",
        ),
        (
            "funnel 5 steps, 365 d",
            ask(
                funnel.funnel,
                funnel.FunnelQuery,
                {**year, "steps": [{"event": e} for e in SHOP], "window_seconds": 86400},
            ),
            _pg_funnel(SHOP, y0, today, 86400),
            "365 d",
        ),
        (
            "funnel 20 steps, 30 d",
            ask(
                funnel.funnel,
                funnel.FunnelQuery,
                {**month, "steps": [{"event": e} for e in LONG], "window_seconds": 7 * 86400},
            ),
            _pg_funnel(LONG, d30, today, 7 * 86400),
            "30 d",
        ),
        (
            "funnel 3 steps unordered, 30 d",
            ask(
                funnel.funnel,
                funnel.FunnelQuery,
                {
                    **month,
                    "steps": [{"event": e} for e in SHOP[2:]],
                    "order": "unordered",
                    "window_seconds": 3600,
                },
            ),
            None,
            "30 d",
        ),
        (
            "paths 5 deep, 30 d",
            ask(
                paths.paths,
                paths.PathsQuery,
                {**month, "start_event": {"event": "session_start"}, "depth": 5},
            ),
            pg_paths,
            "30 d",
        ),
        (
            "stickiness, 30 d",
            ask(
                stickiness.stickiness,
                stickiness.StickinessQuery,
                {**month, "series": [{"event": "page_view"}]},
            ),
            pg_stickiness,
            "30 d",
        ),
        (
            "lifecycle weekly, 365 d",
            ask(lifecycle.lifecycle, lifecycle.LifecycleQuery, {**year, "interval": "week"}),
            pg_lifecycle("week", "week", y0),
            "365 d",
        ),
        (
            "lifecycle daily, 30 d",
            ask(lifecycle.lifecycle, lifecycle.LifecycleQuery, month),
            pg_lifecycle("day", "day", d30),
            "30 d",
        ),
        (
            "retention weekly, 12 w",
            ask(
                retention.retention,
                retention.RetentionQuery,
                {
                    "from": str(w12),
                    "to": str(today),
                    "start_event": {"event": "session_start"},
                    "return_event": {"event": "purchase"},
                },
            ),
            pg_retention,
            "12 w",
        ),
    ]


def print_table(
    rows: list[tuple[str, str, tuple[float, float], tuple[float, float] | None]],
    baselines: dict[str, float],
    args: Any,
    users: int,
) -> None:
    print(
        f"\nInsights on {args.events:,} events, {users:,} users, {args.days} days (p50 / p95 in ms;"
        f" chDB {args.repeat} runs, PostgreSQL {args.pg_repeat} runs, after a warm-up; x count: p50 over"
        " the p50 of a plain count of the same range in chDB; the machine's load average"
        f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end)\n"
    )
    print(f"| {'insight':40} | chDB p50 | chDB p95 | x count |  PG p50 |  PG p95 | PG/chDB | goal p95 |")
    print(f"|{'-' * 42}|---------:|---------:|--------:|--------:|--------:|--------:|----------|")
    for name, span, (c50, c95), pg in rows:
        base = baselines.get(span) or baselines.get("30 d") or c50
        goal = GOALS.get(name)
        verdict = "" if goal is None else f"{'ok' if c95 <= goal else 'MISS'} ≤{goal:.0f}"
        pg_cells = (
            f"{pg[0]:7.0f} | {pg[1]:7.0f} | {pg[0] / c50:6.1f}x" if pg else f"{'-':>7} | {'-':>7} | {'-':>7}"
        )
        print(f"| {name:40} | {c50:8.1f} | {c95:8.1f} | {c50 / base:6.1f}x | {pg_cells} | {verdict:8} |")


if __name__ == "__main__":
    main()
