"""Benchmark of the ML pipeline on N generated commerce events (default 1M; the goal is 10M). Prints figures.

    .venv/bin/python bench/ml.py [--events 1000000] [--requests 2000]

Phases, each on the same events (shoppers with planted signal, eventlens_tools.shoppers):
1. export    warehouse (chDB) → day partitions of Parquet in local object storage (rows/s)
2. snapshot  the export → training snapshot (8 dates, targets) and daily snapshot (seconds)
3. training  classifier + 2 regressors + baseline + plots, then evaluate (seconds; ROC-AUC vs baseline)
4. predict   POST /predict for one user through the predict handler (API Gateway v2 events), warm
             container: p50 / p99 latency (goal p99 ≤ 20 ms); and the domain call alone
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventlens.components import Components  # noqa: E402
from eventlens.keys import DEFAULT_PROJECT, ensure_default_project, open_key_store  # noqa: E402
from eventlens.ml import predict  # noqa: E402
from eventlens.ml.contracts import (  # noqa: E402
    EvaluateRequest,
    EvaluateResult,
    ProjectRun,
    PromoteRequest,
    SnapshotRequest,
    TrainRequest,
    TrainResult,
)
from eventlens.ml.export import export_events  # noqa: E402
from eventlens.ml.snapshot import build_snapshots  # noqa: E402
from eventlens.ml.training import run_step  # noqa: E402
from eventlens.settings import Settings  # noqa: E402
from eventlens_tools.shoppers import generate_shopper_events, warehouse_rows  # noqa: E402

EVENTS_PER_SHOPPER = 205  # what the generator produces on average over a year
END = datetime(2026, 3, 1, tzinfo=UTC)
LAST_DAY = date(2026, 2, 28)
INSERT_BATCH = 1_000_000
PROJECT = DEFAULT_PROJECT  # the events' project; the predict requests carry its secret key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="eventlens-bench-ml-") as home:
        settings = Settings(EVENTLENS_HOME=Path(home), CLICKHOUSE_DATABASE="bench_ml")
        # The predict requests carry the default project's secret key; no rate limit (a bench).
        settings = settings.model_copy(update={"rate_limit_per_ip": 0, "rate_limit_per_key": 0})
        made = ensure_default_project(open_key_store(settings))
        assert made is not None  # a new home
        secret = made[2]
        parts = Components(settings)
        shoppers = max(100, args.events // EVENTS_PER_SHOPPER)
        started = time.perf_counter()
        stored = load_shoppers(parts, shoppers, args.seed)
        print(
            f"generated and stored {stored:,} events of {shoppers:,} shoppers in "
            f"{time.perf_counter() - started:.1f} s (not part of the pipeline)"
        )

        started = time.perf_counter()
        exported = export_events(
            parts.warehouse, parts.objects, ProjectRun(project_id=PROJECT, until=LAST_DAY)
        )
        seconds = time.perf_counter() - started
        print(
            f"export:    {exported.rows:,} rows in {len(exported.files)} day partitions in {seconds:.1f} s "
            f"= {exported.rows / seconds:,.0f} rows/s"
        )

        started = time.perf_counter()
        snapshot = build_snapshots(parts.objects, SnapshotRequest(project_id=PROJECT, as_of=None), settings)
        dates = len(snapshot.training_dates)
        print(
            f"snapshot:  {snapshot.training_rows:,} training rows over {dates} dates "
            f"+ {snapshot.daily_users:,} daily rows from {exported.rows:,} events in "
            f"{time.perf_counter() - started:.1f} s"
        )

        started = time.perf_counter()
        trained = run_step(
            parts.objects, TrainRequest(project_id=PROJECT, training_key=snapshot.training_key), settings
        )
        train_s = time.perf_counter() - started
        assert isinstance(trained, TrainResult)  # run_step answers each request with its own result
        evaluation = run_step(
            parts.objects,
            EvaluateRequest(project_id=PROJECT, version=trained.version, training_key=snapshot.training_key),
            settings,
        )
        assert isinstance(evaluation, EvaluateResult)
        m = trained.metrics
        print(
            f"training:  {train_s:.1f} s ({m['rows_train']:,.0f} rows; fit, metrics, plots, registry); "
            f"ROC-AUC {m['roc_auc']:.3f} vs baseline {m['baseline_roc_auc']:.3f} "
            f"(+{m['roc_auc_gain_over_baseline']:.3f}), "
            f"PR-AUC {m['pr_auc']:.3f} vs {m['baseline_pr_auc']:.3f}, "
            f"days MAE {m['days_mae']:.2f}, amount MAE {m['amount_mae']:.1f}"
        )
        run_step(
            parts.objects,
            PromoteRequest(project_id=PROJECT, version=trained.version, roc_auc=evaluation.candidate_roc_auc),
            settings,
        )
        bench_predict(parts, secret, args.requests)
        parts.close()


def load_shoppers(parts: Components, shoppers: int, seed: int) -> int:
    events = generate_shopper_events(shoppers, 365, seed=seed, end=END)
    stored = 0
    while True:
        batch = []
        for event in events:
            batch.append(event)
            if len(batch) == INSERT_BATCH:
                break
        if not batch:
            return stored
        rows = warehouse_rows(batch, received_at=END)
        rows = rows.append_column("project_id", pa.array([PROJECT] * rows.num_rows, pa.string()))
        parts.warehouse.insert_arrow("events", rows)
        stored += len(batch)


def bench_predict(parts: Components, secret: str, requests: int) -> None:
    from eventlens.manifest import HttpRoute, load_manifest
    from eventlens_tools.local.apigw import http_api_event
    from eventlens_tools.local.invoke import LocalFunction

    function = LocalFunction(load_manifest()["predict"], parts=parts)
    route = HttpRoute("POST", "/predict")
    predictor = predict.load_predictor(parts.objects, PROJECT)
    users = predictor.user_ids
    rng = random.Random(1)

    def event(user: str) -> dict:
        body = json.dumps({"records": [{"user_id": user}]}).encode()
        return http_api_event(
            "POST",
            "/predict",
            "service=context_aware",
            [("content-type", "application/json"), ("authorization", f"Bearer {secret}")],
            body,
            route,
            {},
        )

    started = time.perf_counter()
    first = function.invoke(event(users[0]))
    cold = (time.perf_counter() - started) * 1000
    assert first["statusCode"] == 200, first
    for _ in range(50):  # warm-up
        function.invoke(event(rng.choice(users)))
    handler_ms = []
    for _ in range(requests):
        request = event(rng.choice(users))
        started = time.perf_counter()
        answer = function.invoke(request)
        handler_ms.append((time.perf_counter() - started) * 1000)
        assert answer["statusCode"] == 200
    domain_ms = []
    for _ in range(requests):
        records = [{"user_id": rng.choice(users)}]
        started = time.perf_counter()
        predict.predict_records(predictor, records)
        domain_ms.append((time.perf_counter() - started) * 1000)
    print(
        f"predict:   one user through the handler (API Gateway v2 event, warm): "
        f"p50 {percentile(handler_ms, 50):.2f} ms, p99 {percentile(handler_ms, 99):.2f} ms "
        f"over {requests} requests (first request, loading model + snapshot: {cold:.0f} ms); "
        f"domain call alone p50 {percentile(domain_ms, 50):.2f} ms, p99 {percentile(domain_ms, 99):.2f} ms"
    )


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


if __name__ == "__main__":
    main()
