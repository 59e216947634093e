"""The ``eventlens`` command: the demo, the local runtime, the ML pipeline, importers and builds."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Any

from eventlens.settings import Settings
from eventlens_tools import projects_cli
from eventlens_tools.stopping import StopSignals

DESCRIPTION = """\
eventlens collects user-behaviour events over HTTP, queues them, stores them in ClickHouse,
answers analytics reports, trains a purchase model and mines habits. This command runs all of it
on this machine (chDB, a file queue and local object storage under $EVENTLENS_HOME, default
~/.eventlens; Kafka, ClickHouse and S3 when KAFKA_BOOTSTRAP, CLICKHOUSE_URL and EVENTLENS_BUCKET
are set), imports the earlier systems' data and builds the Lambda artifacts."""

EPILOG = """\
examples:
  eventlens demo                       a year of events end to end, then the ML pipeline
  eventlens local --port 8000          serve every route of the manifest
  eventlens pipeline run               export, snapshot, train, evaluate, promote
  eventlens import-csv events.csv      import the Events Analytics API's CSV events once

'eventlens COMMAND --help' describes a command and its options."""

LOG_FORMAT_HELP = (
    "how the functions log: text (readable lines, no metric JSON) or json (Powertools' JSON lines and "
    "EMF metrics; always on Lambda) (default: $EVENTLENS_LOG_FORMAT, else text on a terminal, json "
    "otherwise)"
)


# What a command needs beyond eventlens's own dependencies, and the pyproject extra that installs it.
COMMAND_EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "demo": ("demo", ("sklearn", "numpy", "matplotlib", "moto")),
    "pipeline": ("demo", ("sklearn", "numpy", "matplotlib", "moto")),
    "import-postgres": ("postgres", ("psycopg",)),
}


def missing_extra(command: str) -> str | None:
    """What to install before ``command`` can run, when a module it needs is missing; None otherwise."""
    extra, modules = COMMAND_EXTRAS.get(command, ("", ()))
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if not missing:
        return None
    return (
        f"eventlens {command} needs the '{extra}' extra (missing: {', '.join(missing)}): "
        f"pip install -e '.[{extra}]' in the checkout, or bash scripts/setup.sh (every extra)"
    )


def _needs(command: str) -> str:
    extra = COMMAND_EXTRAS[command][0]
    return f"\n\nNeeds the '{extra}' extra: pip install -e '.[{extra}]' (scripts/setup.sh installs it)."


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written, and each option's default after its help, unless it has none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or "(default:" in text
            or default in (None, False, [], argparse.SUPPRESS)
            or not (action.option_strings or action.nargs in ("?", "*"))
        ):
            return text
        return f"{text} (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eventlens", description=DESCRIPTION, epilog=EPILOG, formatter_class=_HelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    logs = argparse.ArgumentParser(add_help=False)
    logs.add_argument("--log-format", choices=["text", "json"], default=None, help=LOG_FORMAT_HELP)

    def command(name: str, summary: str, description: str, with_logs: bool = True) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}.\n\n{description}",
            formatter_class=_HelpFormatter,
            parents=[logs] if with_logs else [],
        )

    demo = command(
        "demo",
        "run the main job end to end on the embedded defaults",
        "Generates a year of mixed events (commerce, viewing, Life Stream, telemetry) and AnModel-style\n"
        "shoppers, sends them through the HTTP ingest of a local runtime, waits until consume has\n"
        "stored them, prints daily active users and the top events, then runs the ML pipeline and\n"
        "prints the model's metrics and the likeliest buyers. State lives under $EVENTLENS_HOME; a\n"
        "re-run with the same seed sends the same event ids, which count once." + _needs("demo"),
    )
    demo.add_argument("--users", type=int, default=2000, help="users of the mixed event stream")
    demo.add_argument(
        "--shoppers", type=int, default=1500, help="AnModel-style shoppers the model learns from"
    )
    demo.add_argument("--days", type=int, default=365, help="days of history, ending now")
    demo.add_argument(
        "--seed", type=int, default=7, help="random seed: the same seed, the same events and ids"
    )

    local = command(
        "local",
        "serve every function of the manifest on this machine",
        "Every HTTP route of functions/manifest.toml on one port (as API Gateway HTTP API events), and\n"
        "the consume function fed from the queue (Kafka when KAFKA_BOOTSTRAP is set). Ctrl-C stops it.",
    )
    local.add_argument("--port", type=int, default=8000, help="TCP port to listen on (0: any free port)")
    local.add_argument("--host", default="127.0.0.1", help="address to listen on")
    local.add_argument(
        "--functions", help="comma-separated functions to run in this process (default: all of them)"
    )

    dead = command(
        "dead-letters",
        "list or replay records consume could not store",
        "'list' prints each pending dead letter (key, project, reason, start of the record); 'replay'\n"
        "puts them back on the queue for consume. A dead letter belongs to the project its record names\n"
        "(default when it names none).",
    )
    dead.add_argument("action", choices=["list", "replay"], help="what to do with the dead letters")
    dead.add_argument("keys", nargs="*", help="object keys to replay (default: all pending)")
    dead.add_argument("--project", help="only the dead letters of this project (default: every project's)")

    build = command(
        "build",
        "build reproducible function and layer zips in dist/",
        "One zip per function, the eventlens layer and the dependency layer (from PyPI), with\n"
        "fixed timestamps so the same sources give the same bytes; checks Lambda's size limits.",
        with_logs=False,
    )
    build.add_argument("--no-deps", action="store_true", help="skip the dependency layer (no PyPI, fast)")
    build.add_argument("--dist", default=None, help="output directory (default: dist/ of this checkout)")

    pipeline = command(
        "pipeline",
        "run the ML pipeline's state machine on this machine",
        "Runs state_machines/ml_pipeline.asl.json (export, snapshot, train, evaluate, promote) for one\n"
        "project with moto's Step Functions executor and the real handlers, showing each state as it\n"
        "runs. Trained again on the same snapshot, it reuses the registered model version."
        + _needs("pipeline"),
    )
    pipeline.add_argument("action", choices=["run"], help="what to do (run: one execution)")
    pipeline.add_argument("--project", default="default", help="the project to train (default: default)")
    pipeline.add_argument("--until", help="last day to export, YYYY-MM-DD (default: yesterday, UTC)")
    pipeline.add_argument(
        "--start", help="re-export from this day, YYYY-MM-DD (default: the day after the watermark)"
    )

    imports = command(
        "import-postgres",
        "import the Reports Backend's CRM users and telemetry from PostgreSQL into the warehouse",
        "Into one project: reloads the project's CRM users whole, then brings its telemetry of a window\n"
        "in line with the source: rows gone or changed are removed, new rows inserted; a re-import of\n"
        "the same data changes nothing. Other projects' users and events are never touched; persons\n"
        "erased and suppressed in the project are left out." + _needs("import-postgres"),
    )
    imports.add_argument("--project", default="default", help="the project the users and telemetry go to")
    imports.add_argument("--crm-dsn", help="DSN of the CRM PostgreSQL (default: $EVENTLENS_CRM_DSN)")
    imports.add_argument(
        "--telemetry-dsn", help="DSN of the Telemetry PostgreSQL (default: $EVENTLENS_TELEMETRY_DSN)"
    )
    imports.add_argument(
        "--telemetry_start_ts",
        "--telemetry-start-ts",
        dest="start",
        help="first moment of the window, ISO 8601, UTC unless zoned (default: the earliest row)",
    )
    imports.add_argument(
        "--telemetry_end_ts",
        "--telemetry-end-ts",
        dest="end",
        help="end of the window, exclusive (default: after the latest row)",
    )

    import_csv = command(
        "import-csv",
        "import a file of the Events Analytics API's CSV events through ingest, once per unchanged file",
        "Streams the file in batches through ingest's validation onto the queue; a bad row is\n"
        "rejected with its line and column. A file imported already (same path, size and mtime)\n"
        "is skipped.",
    )
    import_csv.add_argument(
        "path", help="the CSV file: event_id, occurred_at, user_id, event_type, properties"
    )
    import_csv.add_argument("--batch-size", type=int, default=10_000, help="rows per ingest batch")
    import_csv.add_argument("--project", default="default", help="the project the events go to")
    projects_cli.register(lambda name, summary, text: command(name, summary, text, with_logs=False))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (missing := missing_extra(args.command)) is not None:
        print(missing, file=sys.stderr)
        return 2
    # The commands that run until stopped note SIGINT and SIGTERM from here on, before anything
    # starts: a stop while they start stops them too (eventlens_tools.stopping).
    stop = StopSignals().install() if args.command in ("demo", "local") else StopSignals()
    if args.command in ("demo", "pipeline"):
        # They print a report; the functions' logs and EMF metrics would bury it. (Set before the
        # logger is made: Powertools reads the level once.)
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    if args.command not in ("build", "projects", "keys", "persons"):
        from eventlens.observability import use_log_format

        use_log_format(args.log_format)
    if args.command == "import-csv":
        return _import_csv(Settings(), args.path, args.batch_size, args.project)
    if args.command == "import-postgres":
        crm_dsn = args.crm_dsn or os.environ.get("EVENTLENS_CRM_DSN")
        telemetry_dsn = args.telemetry_dsn or os.environ.get("EVENTLENS_TELEMETRY_DSN")
        if not crm_dsn or not telemetry_dsn:
            parser.error(
                "import-postgres needs --crm-dsn and --telemetry-dsn (or EVENTLENS_CRM_DSN and "
                "EVENTLENS_TELEMETRY_DSN)"
            )
        return _import_postgres(Settings(), crm_dsn, telemetry_dsn, args.start, args.end, args.project)
    if args.command == "pipeline":
        return _pipeline(Settings(), args.project, args.until, args.start)
    if args.command == "build":
        return _build(args.no_deps, args.dist)
    if args.command in ("projects", "keys", "persons"):
        return projects_cli.run(args, Settings())
    if args.command == "demo":
        return _demo(Settings(), args, stop)
    if args.command == "local":
        return _serve(Settings(), args, stop)
    return _dead_letters(Settings(), args.action, args.keys, args.project)


def _demo(settings: Settings, args: argparse.Namespace, stop: StopSignals) -> int:
    from eventlens_tools.demo import run_demo

    # Stopped, it says what it kept and returns: a stop asked for is a clean exit.
    run_demo(settings, args.users, args.days, args.seed, sys.stdout, args.shoppers, stop)
    return 0


def _serve(settings: Settings, args: argparse.Namespace, stop: StopSignals) -> int:
    """``eventlens local`` until SIGINT or SIGTERM, which stop it from any state (starting, serving,
    a batch in consume) in bounded time, exiting 0."""
    from eventlens.errors import GraphError, QueueUnavailable, WarehouseError
    from eventlens.observability import logger
    from eventlens.redaction import redact
    from eventlens_tools.local.runtime import LocalRuntime

    only = set(args.functions.split(",")) if args.functions else None
    runtime: LocalRuntime | None = None
    try:
        if not stop.requested:
            runtime = LocalRuntime(settings, port=args.port, host=args.host, only=only)
        if not stop.requested and runtime is not None:
            runtime.start()  # logs "eventlens local is serving" with its url, once, in the chosen log format
        stop.wait()
        logger.info("eventlens local is stopping", extra={"signal": stop.received[0]})
    except (OSError, ValueError, WarehouseError, QueueUnavailable, GraphError) as exc:
        print(f"eventlens local: cannot start: {redact(str(exc))}", file=sys.stderr)
        return 1
    finally:
        if runtime is not None:
            runtime.stop()
    logger.info("eventlens local stopped")
    return 0


def _build(no_deps: bool, dist: str | None) -> int:
    from pathlib import Path

    from eventlens_tools.build import ROOT, build_artifacts, limit_problems

    artifacts = build_artifacts(Path(dist) if dist else ROOT / "dist", with_deps=not no_deps, out=sys.stdout)
    problems = limit_problems(artifacts)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _pipeline(settings: Settings, project: str, until: str | None, start: str | None) -> int:
    from pydantic import ValidationError

    from eventlens.ml.contracts import PipelineInput
    from eventlens_tools.local.pipeline import run_ml_pipeline
    from eventlens_tools.progress import StateLog

    try:
        request = PipelineInput.model_validate({"project_id": project, "until": until, "start": start})
    except ValidationError as exc:
        print(f"pipeline: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    result = run_ml_pipeline(settings, sys.stdout, request, on_state=StateLog("pipeline"))
    return 0 if result["status"] == "SUCCEEDED" else 1


def _import_postgres(
    settings: Settings, crm_dsn: str, telemetry_dsn: str, start: str | None, end: str | None, project_id: str
) -> int:
    from datetime import datetime

    from eventlens.components import Components
    from eventlens.errors import NotFound
    from eventlens.importers.postgres import check_project_id, import_postgres
    from eventlens_tools.progress import Progress

    stages: dict[str, Any] = {}

    def progress(stage: str, rows: int) -> None:
        if stage not in ("users", "telemetry"):
            for shown in stages.values():
                shown.close()
            return
        if stage not in stages:
            for shown in stages.values():
                shown.close()
            stages[stage] = Progress(f"import-postgres: {stage}", unit="rows")
        stages[stage].set(rows)

    parts = Components(settings)
    try:
        _existing_project(parts, check_project_id(project_id))
        suppressed = {user for project, user in parts.privacy.suppressed() if project == project_id}
        result = import_postgres(
            parts.warehouse,
            crm_dsn,
            telemetry_dsn,
            datetime.fromisoformat(start) if start else None,
            datetime.fromisoformat(end) if end else None,
            progress=progress,
            project_id=project_id,
            suppressed=suppressed,
        )
    except (NotFound, ValueError) as exc:
        from eventlens.redaction import redact

        print(f"import-postgres: {redact(str(exc))}", file=sys.stderr)
        return 1
    finally:
        for shown in stages.values():
            shown.close()
        parts.close()
    print(
        f"users {result.users}, telemetry rows read {result.telemetry_read}, "
        f"events removed {result.removed}, inserted {result.inserted}"
    )
    return 0


def _import_csv(settings: Settings, path: str, batch_size: int, project_id: str) -> int:
    from pathlib import Path

    from eventlens.components import Components
    from eventlens.errors import NotFound, QueueUnavailable
    from eventlens.importers.csv_events import CsvFileError, import_csv_events
    from eventlens_tools.progress import Progress

    shown: list[Progress] = []

    def progress(rows: int, bytes_read: int) -> None:
        if not shown:
            shown.append(Progress(f"import-csv {Path(path).name}", unit="rows", estimated=True))
        size = Path(path).stat().st_size
        if bytes_read:  # rows ahead, estimated from the share of the file read
            shown[0].set_total(max(rows, round(rows * size / bytes_read)))
        shown[0].set(rows)

    parts = Components(settings)
    try:
        _existing_project(parts, project_id)
        result = import_csv_events(
            Path(path), parts.queue, parts.objects, settings, batch_size, progress, project_id=project_id
        )
    except (CsvFileError, QueueUnavailable, OSError, ValueError, NotFound) as exc:
        from eventlens.redaction import redact

        print(f"import-csv: {redact(str(exc))}", file=sys.stderr)
        return 1
    finally:
        for bar in shown:
            bar.close()
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


def _dead_letters(settings: Settings, action: str, keys: list[str], project_id: str | None) -> int:
    from eventlens.components import Components

    parts = Components(settings)
    try:
        if action == "list":
            for key, letter in parts.dead_letters.pending(project_id):
                print(f"{key}\t{letter.project_id or '-'}\t{letter.reason}\t{letter.value[:120]!r}")
            return 0
        replayed = parts.dead_letters.replay(parts.queue, keys or None, project_id)
    finally:
        parts.close()
    print(f"replayed {replayed} dead letters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _existing_project(parts: Any, project_id: str) -> None:
    """Refuse an import into a project that does not exist (the default one is made on first use)."""
    from eventlens.errors import NotFound
    from eventlens.keys import DEFAULT_PROJECT, ensure_default_project

    if project_id == DEFAULT_PROJECT:
        ensure_default_project(parts.keys.store)
    elif parts.keys.store.project(project_id) is None:
        raise NotFound("project", f"no project {project_id}; see `eventlens projects list`")
