"""What persons cost a report: DAU over 365 days with 10% of persons merged, against the same without.

    .venv/bin/python bench/persons.py                       # 10M events, 200,000 users
    .venv/bin/python bench/persons.py --events 1000000      # smaller

Generates ``--events`` events for ``--users`` users over ``--days`` days (bench/columnar_events.py) and
stores them twice in one chDB database, as two projects of the same run:

* ``plain``: every user under one id, plus one ``$identify`` event per chosen user (no anonymous id);
* ``merged``: the same, except that ``--merged`` of the users (10%) browse under an anonymous id until
  they sign up (a third of the way through their history) and their ``$identify`` carries that
  ``$anonymous_id``: each is then one person of two ids, as an SDK's identify makes them.

Both projects have the same persons, so every figure must be the same in both (the bench checks it).
The merges are stitched as consume does (``identity.stitch`` over every pair, ``refresh_overlaps`` of the
merged persons), timed. Then each report runs ``--repeat`` times on each project, interleaved, and the
table shows p50 and p95 in milliseconds and merged / plain.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from columnar_events import generate_events  # noqa: E402

from eventlens import identity  # noqa: E402
from eventlens.reports import activity, retention  # noqa: E402
from eventlens.reports.segments import parse_segments  # noqa: E402
from eventlens.schema import migrate  # noqa: E402
from eventlens.warehouse import ChdbWarehouse, Warehouse  # noqa: E402

BATCH = 1_000_000
GOAL = 2.0  # DAU over 365 days with merges, at most this many times the figure without
ROLLUPS = ("daily_rollup", "user_periods", "user_first", "movie_daily", "hourly_rollup", "person_overlaps")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--merged", type=float, default=0.10, help="share of persons with two ids")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per report and project")
    parser.add_argument("--chdb-path", type=Path, default=None, help="chDB directory (default: temporary)")
    args = parser.parse_args()

    end = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    events = generate_events(args.events, args.users, args.days, seed=11, end=end)
    plain, merged, persons = two_projects(events, args.merged, seed=7)
    print(
        f"generated {events.num_rows:,} events for {args.users:,} users over {args.days} days, "
        f"{persons:,} of them ({args.merged:.0%}) under two ids in `merged`, in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    path = args.chdb_path or Path(tempfile.mkdtemp(prefix="eventlens-persons-"))
    warehouse = ChdbWarehouse(path, "bench")
    try:
        migrate(warehouse)
        load(warehouse, plain, merged)
        today = end.date()
        cases = report_cases(warehouse, today)
        rows = []
        for name, run in cases:
            figures = {project: run(project) for project in ("plain", "merged")}
            same = figures["plain"] == figures["merged"]
            plain_ms, merged_ms = interleaved(
                functools.partial(run, "plain"), functools.partial(run, "merged"), args.repeat
            )
            rows.append((name, plain_ms, merged_ms, same))
            print(f"  measured {name}", file=sys.stderr, flush=True)
        print_table(rows, args)
    finally:
        warehouse.close()
        if args.chdb_path is None:
            shutil.rmtree(path, ignore_errors=True)


def two_projects(events: pa.Table, share: float, seed: int) -> tuple[pa.Table, pa.Table, int]:
    """(plain, merged, persons with two ids): see the module doc."""
    rng = np.random.default_rng(seed)
    encoded = pc.dictionary_encode(events["user_id"]).combine_chunks()
    codes = encoded.indices.to_numpy().astype(np.int64)
    names = encoded.dictionary
    users = len(names)
    ts = events["ts"].cast(pa.int64()).to_numpy()
    first = np.full(users, np.iinfo(np.int64).max)
    last = np.full(users, np.iinfo(np.int64).min)
    np.minimum.at(first, codes, ts)
    np.maximum.at(last, codes, ts)
    signup = first + (last - first) // 3
    chosen = np.zeros(users, dtype=bool)
    chosen[rng.choice(users, size=int(users * share), replace=False)] = True
    anonymous = pc.binary_join_element_wise(pa.array(["anon-"] * users), names, "")
    before = chosen[codes] & (ts < signup[codes])
    both = pa.concat_arrays([names, anonymous])
    split_ids = both.take(pa.array(codes + users * before))
    merged = events.set_column(events.schema.get_field_index("user_id"), "user_id", split_ids)

    who = np.flatnonzero(chosen)
    moments = pa.array(signup[who], pa.timestamp("ms", tz="UTC"))
    identify = {
        "event_id": pa.array([str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**63, len(who))]),
        "user_id": names.take(pa.array(who)),
        "event_type": pa.array(["$identify"] * len(who)),
        "ts": moments,
        "source": pa.array(["segment"] * len(who)),
        "received_at": moments,
    }
    said = pc.binary_join_element_wise(
        pa.array(['{"$anonymous_id": "'] * len(who)),
        anonymous.take(pa.array(who)),
        pa.array(['"}'] * len(who)),
        "",
    )
    plain = pa.concat_tables([events, _identify(identify, pa.array(["{}"] * len(who)), events.schema)])
    merged = pa.concat_tables([merged, _identify(identify, said, events.schema)])
    return _of("plain", plain), _of("merged", merged), len(who)


def _identify(columns: dict[str, pa.Array], properties: pa.Array, schema: pa.Schema) -> pa.Table:
    table = pa.table({**columns, "properties": properties})
    return table.select(schema.names).cast(schema)


def _of(project: str, table: pa.Table) -> pa.Table:
    return table.add_column(0, "project_id", pa.array([project] * table.num_rows, pa.string()))


def load(warehouse: Warehouse, plain: pa.Table, merged: pa.Table) -> None:
    """Both projects into ``events`` (1M-row batches, through the views), the merged one stitched, the
    rollups merged as background merges would."""
    started = time.perf_counter()
    for table in (plain, merged):
        for offset in range(0, table.num_rows, BATCH):
            warehouse.insert_arrow("events", table.slice(offset, BATCH))
    rows = plain.num_rows + merged.num_rows
    elapsed = time.perf_counter() - started
    print(f"chDB: inserted {rows:,} rows in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s)", flush=True)
    started = time.perf_counter()
    persons = identity.stitch(warehouse, "merged")
    stitched = time.perf_counter() - started
    identity.refresh_overlaps(warehouse, "merged", persons)
    print(
        f"stitched {len(persons):,} persons of two ids in {stitched:.1f} s (every pair checked at once),"
        f" their overlaps in {time.perf_counter() - started - stitched:.1f} s",
        flush=True,
    )
    for table_name in ROLLUPS:
        warehouse.command(f"OPTIMIZE TABLE {table_name} FINAL")


def report_cases(warehouse: Warehouse, today: Any) -> list[tuple[str, Callable[[str], Any]]]:
    y0 = today - timedelta(days=364)
    r0 = today - timedelta(weeks=13)
    ua = parse_segments("properties.country:UA")

    def figures(rows: list[Any]) -> list[Any]:
        return [row.model_dump() if hasattr(row, "model_dump") else row for row in rows]

    return [
        ("DAU, 365 days", lambda p: figures(activity.dau(warehouse, p, y0, today, []))),
        ("WAU, 365 days", lambda p: figures(activity.wau(warehouse, p, y0, today, []))),
        ("MAU, 365 days", lambda p: figures(activity.mau(warehouse, p, y0, today, []))),
        ("retention, 12 weeks", lambda p: retention.retention_cohorts(warehouse, p, r0, 12, [], today)),
        ("DAU, 365 days, country:UA", lambda p: figures(activity.dau(warehouse, p, y0, today, ua))),
    ]


def interleaved(
    plain: Callable[[], Any], merged: Callable[[], Any], repeat: int
) -> tuple[list[float], list[float]]:
    """Milliseconds of each run, the two alternating (one warm-up each)."""
    plain(), merged()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for run, into in ((plain, times[0]), (merged, times[1])):
            started = time.perf_counter()
            run()
            into.append((time.perf_counter() - started) * 1000)
    return times


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def print_table(rows: list[tuple[str, list[float], list[float], bool]], args: argparse.Namespace) -> None:
    print(
        f"\n{args.events:,} events, {args.users:,} users, {args.days} days, {args.merged:.0%} of persons"
        f" merged; {args.repeat} runs each, interleaved; ms\n"
    )
    print(
        "| report | plain p50 | plain p95 | merged p50 | merged p95 | merged / plain (p50) | same figures |"
    )
    print("|---|--:|--:|--:|--:|--:|---|")
    for name, plain, merged, same in rows:
        ratio = statistics.median(merged) / statistics.median(plain)
        print(
            f"| {name} | {statistics.median(plain):.1f} | {p95(plain):.1f} | {statistics.median(merged):.1f}"
            f" | {p95(merged):.1f} | {ratio:.2f}× | {'yes' if same else 'NO'} |"
        )
    dau = rows[0]
    ratio = statistics.median(dau[2]) / statistics.median(dau[1])
    verdict = "within" if ratio <= GOAL else "OVER"
    print(f"\nDAU 365 d with merges / without: {ratio:.2f}× ({verdict} the goal of {GOAL:.0f}×)")
    if not all(same for *_, same in rows):
        raise SystemExit("the merged project's figures differ from the plain one's")


if __name__ == "__main__":
    main()
