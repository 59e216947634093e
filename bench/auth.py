"""What API keys and rate limits cost a request, in one run. Prints its figures.

    .venv/bin/python bench/auth.py [--requests 2000]

On a fresh embedded home: the median time of the report function answering ``GET /stats/dau`` (a
cheap rollup read) through its handler, once with the per-IP and per-key rate limits off and once
with them on (SQLite counters), and the median of the key check alone (a cached key). The route
cannot be asked without a key, so the check's own median is the figure to hold against the
route's; the goal is at most 1 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from eventlens.api.access import admit  # noqa: E402
from eventlens.components import Components  # noqa: E402
from eventlens.keys import create_project, open_key_store  # noqa: E402
from eventlens.manifest import load_manifest  # noqa: E402
from eventlens.settings import Settings  # noqa: E402
from eventlens_tools.local.invoke import LocalFunction  # noqa: E402
from tests.conftest import load_event  # noqa: E402


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def _route(function: LocalFunction, event: dict[str, Any], n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = function.invoke(event)
        times.append(time.perf_counter() - started)
        assert response["statusCode"] == 200, response
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2_000, help="requests per figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eventlens-bench-auth-") as home:
        figures = {}
        for limits in ("off", "on"):
            settings = Settings(EVENTLENS_HOME=Path(home), CLICKHOUSE_DATABASE="bench_auth")
            if limits == "off":
                settings = settings.model_copy(update={"rate_limit_per_ip": 0, "rate_limit_per_key": 0})
            else:
                big = 10 * args.requests
                settings = settings.model_copy(update={"rate_limit_per_ip": big, "rate_limit_per_key": big})
            store = open_key_store(settings)
            _, _, secret = create_project(store, f"bench-{limits}")
            parts = Components(settings)
            report = LocalFunction(load_manifest()["report"])
            report.bind(parts)
            event = load_event("report_dau.json", key=secret)
            _route(report, event, 50)  # warm: the warehouse, the key cache
            figures[f"route, rate limits {limits}"] = _median_us(_route(report, event, args.requests))
            headers = {"authorization": f"Bearer {secret}"}
            checks = []
            for _ in range(args.requests):
                started = time.perf_counter()
                admit(parts, headers, "127.0.0.1", "secret")
                checks.append(time.perf_counter() - started)
            figures[f"key check, rate limits {limits}"] = _median_us(checks)
            parts.close()
        base = figures["route, rate limits off"]
        for name, value in figures.items():
            print(f"{name:32} median {value:9.1f} µs  = {value / base:5.2f}x the route with limits off")


if __name__ == "__main__":
    main()
