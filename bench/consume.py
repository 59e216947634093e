"""Consume alone, on the embedded queue and chDB: what crash-exact storage costs. Prints its figures.

    .venv/bin/python bench/consume.py [--events 500000] [--records 1000]

On the same generated events, in one process and one run: the raw insert ceiling (typed Arrow
straight into `events` with its views, as bench/pipeline.py measures it), then ``store_records``
over queue batches of ``--records`` records (ingest's per-user records), each a fresh database.
Figures are rows/s and the ratio to the ceiling of the same run (absolute rates swing 2-3x on these
shared machines; the ratio does not).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from bench.pipeline import _ceiling  # noqa: E402
from eventlens.components import Components  # noqa: E402
from eventlens.consume import store_records  # noqa: E402
from eventlens.ingest import ingest_events  # noqa: E402
from eventlens.queue import EmbeddedQueue  # noqa: E402
from eventlens.settings import Settings  # noqa: E402
from eventlens_tools.generator import generate_events  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=500_000, help="events to generate (default 500,000)")
    parser.add_argument("--records", type=int, default=1_000, help="queue records per consume batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eventlens-bench-consume-") as work:
        settings = Settings(EVENTLENS_HOME=Path(work), CLICKHOUSE_DATABASE="bench_consume")
        events = list(generate_events(users=max(200, args.events // 250), days=365, max_events=args.events))
        queue = EmbeddedQueue(settings.queue_path, settings.kafka_topic)
        for start in range(0, len(events), 10_000):
            ingest_events(events[start : start + 10_000], queue, settings, project_id="default")
        records = queue.reader("bench").poll(max_records=10_000_000, timeout_s=0)
        parts = Components(settings)
        ceiling = _ceiling(parts, events)
        warehouse = parts.warehouse  # migrated, empty
        started = time.perf_counter()
        stored = 0
        for start in range(0, len(records), args.records):
            stored += store_records(
                records[start : start + args.records], warehouse, parts.dead_letters
            ).stored
        seconds = time.perf_counter() - started
        rate = stored / seconds
        print(
            f"consume: {stored:,} events in {len(records):,} records, batches of {args.records:,} records: "
            f"{rate:,.0f} rows/s = {rate / ceiling:.2f}x the ceiling ({ceiling:,.0f} rows/s, same run)"
        )
        parts.close()


if __name__ == "__main__":
    main()
