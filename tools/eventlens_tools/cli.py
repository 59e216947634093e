"""The ``eventlens`` command."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from eventlens.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eventlens", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the main job end to end on the embedded defaults")
    demo.add_argument("--users", type=int, default=2000)
    demo.add_argument("--days", type=int, default=365)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--shoppers", type=int, default=1500, help="AnModel-style shoppers the ML pipeline learns from"
    )

    local = commands.add_parser("local", help="serve every function of the manifest on this machine")
    local.add_argument("--port", type=int, default=8000)
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--functions", help="comma-separated functions to run here (default: all)")

    dead = commands.add_parser("dead-letters", help="list or replay records consume could not store")
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("keys", nargs="*", help="object keys to replay (default: all pending)")

    build = commands.add_parser("build", help="build reproducible function and layer zips in dist/")
    build.add_argument("--no-deps", action="store_true", help="skip the dependency layer (no PyPI, fast)")
    build.add_argument("--dist", default=None, help="output directory (default: dist/ of this checkout)")

    pipeline = commands.add_parser("pipeline", help="run the ML pipeline's state machine on this machine")
    pipeline.add_argument("action", choices=["run"])
    pipeline.add_argument("--until", help="last day to export (YYYY-MM-DD; default yesterday, UTC)")
    pipeline.add_argument("--start", help="re-export from this day instead of the watermark (YYYY-MM-DD)")

    imports = commands.add_parser(
        "import-postgres", help="import 004's CRM users and telemetry from PostgreSQL into the warehouse"
    )
    imports.add_argument("--crm-dsn", default=os.environ.get("EVENTLENS_CRM_DSN"), help="$EVENTLENS_CRM_DSN")
    imports.add_argument(
        "--telemetry-dsn", default=os.environ.get("EVENTLENS_TELEMETRY_DSN"), help="$EVENTLENS_TELEMETRY_DSN"
    )
    imports.add_argument(
        "--telemetry_start_ts", "--telemetry-start-ts", dest="start", help="from (ISO 8601, UTC)"
    )
    imports.add_argument("--telemetry_end_ts", "--telemetry-end-ts", dest="end", help="to, exclusive")

    import_csv = commands.add_parser(
        "import-csv", help="import a file of 003's CSV events through ingest, once per unchanged file"
    )
    import_csv.add_argument(
        "path", help="the CSV file: event_id, occurred_at, user_id, event_type, properties"
    )
    import_csv.add_argument("--batch-size", type=int, default=10_000, help="rows per ingest batch")

    args = parser.parse_args(argv)
    if args.command == "import-csv":
        return _import_csv(Settings(), args.path, args.batch_size)
    if args.command == "import-postgres":
        if not args.crm_dsn or not args.telemetry_dsn:
            parser.error(
                "import-postgres needs --crm-dsn and --telemetry-dsn (or their environment variables)"
            )
        return _import_postgres(Settings(), args.crm_dsn, args.telemetry_dsn, args.start, args.end)
    if args.command == "pipeline":
        # The pipeline prints its own summary; the functions' JSON logs would bury it.
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        return _pipeline(Settings(), args.until, args.start)
    if args.command == "build":
        return _build(args.no_deps, args.dist)
    if args.command == "demo":
        # The demo prints a report; the functions' JSON logs and EMF metrics would bury it.
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    settings = Settings()
    if args.command == "demo":
        from eventlens_tools.demo import run_demo

        run_demo(settings, args.users, args.days, args.seed, sys.stdout, args.shoppers)
        return 0
    if args.command == "local":
        only = set(args.functions.split(",")) if args.functions else None
        return _serve(settings, args.host, args.port, only)
    return _dead_letters(settings, args.action, args.keys)


def _serve(settings: Settings, host: str, port: int, only: set[str] | None) -> int:
    from eventlens_tools.local.runtime import LocalRuntime

    runtime = LocalRuntime(settings, port=port, host=host, only=only)
    runtime.start()
    print(f"eventlens local: serving on {runtime.url}", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    runtime.stop()
    return 0


def _build(no_deps: bool, dist: str | None) -> int:
    from pathlib import Path

    from eventlens_tools.build import ROOT, build_artifacts, limit_problems

    artifacts = build_artifacts(Path(dist) if dist else ROOT / "dist", with_deps=not no_deps, out=sys.stdout)
    problems = limit_problems(artifacts)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _pipeline(settings: Settings, until: str | None, start: str | None) -> int:
    from eventlens.ml.contracts import PipelineInput
    from eventlens_tools.local.pipeline import run_ml_pipeline

    request = PipelineInput.model_validate({"until": until, "start": start})
    result = run_ml_pipeline(settings, sys.stdout, request)
    return 0 if result["status"] == "SUCCEEDED" else 1


def _import_postgres(
    settings: Settings, crm_dsn: str, telemetry_dsn: str, start: str | None, end: str | None
) -> int:
    from datetime import datetime

    from eventlens.components import Components
    from eventlens.importers.postgres import import_postgres

    parts = Components(settings)
    try:
        result = import_postgres(
            parts.warehouse,
            crm_dsn,
            telemetry_dsn,
            datetime.fromisoformat(start) if start else None,
            datetime.fromisoformat(end) if end else None,
        )
    finally:
        parts.close()
    print(
        f"users {result.users}, telemetry rows read {result.telemetry_read}, "
        f"events removed {result.removed}, inserted {result.inserted}"
    )
    return 0


def _import_csv(settings: Settings, path: str, batch_size: int) -> int:
    from pathlib import Path

    from eventlens.components import Components
    from eventlens.errors import QueueUnavailable
    from eventlens.importers.csv_events import CsvFileError, import_csv_events

    parts = Components(settings)
    try:
        result = import_csv_events(Path(path), parts.queue, parts.objects, settings, batch_size)
    except (CsvFileError, QueueUnavailable, OSError, ValueError) as exc:
        print(f"import-csv: {exc}", file=sys.stderr)
        return 1
    finally:
        parts.close()
    if result.skipped:
        print(
            f"{result.path}: imported already at {result.imported_at.isoformat()} (batch {result.batch_key})"
        )
        return 0
    print(
        f"{result.path}: rows read {result.rows_read}, accepted {result.accepted}, "
        f"rejected {len(result.rejected)} (batch {result.batch_key})"
    )
    for rejection in result.rejected[:20]:
        print(f"  line {rejection.line}: {rejection.field} {rejection.reason}", file=sys.stderr)
    if len(result.rejected) > 20:
        print(f"  … and {len(result.rejected) - 20} more", file=sys.stderr)
    return 0


def _dead_letters(settings: Settings, action: str, keys: list[str]) -> int:
    from eventlens.components import Components

    parts = Components(settings)
    if action == "list":
        for key, letter in parts.dead_letters.pending():
            print(f"{key}\t{letter.reason}\t{letter.value[:120]!r}")
        return 0
    replayed = parts.dead_letters.replay(parts.queue, keys or None)
    print(f"replayed {replayed} dead letters")
    parts.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
