"""Cold starts: how long each function's handler takes to import, in fresh interpreters. Prints figures.

    .venv/bin/python bench/cold_start.py [--runs 15] [--functions ingest,report] [--top 12]

For every function of ``functions/manifest.toml``, ``--runs`` fresh interpreters each import its
``handler.py`` as a Lambda cold start does (the function's directory first on ``sys.path``, a Lambda's
environment: ``AWS_LAMBDA_FUNCTION_NAME`` set, an empty ``$EVENTLENS_HOME`` that must stay empty, no
warehouse, queue or bucket configured), timed around the import statement (wall and CPU). Beside
them, in the same run and interleaved with them (a busy machine slows all alike): ``python -c pass``
(the interpreter's own start, timed around the whole process) and ``import boto3`` (what every Python
Lambda that calls AWS pays). Figures are median and p95 ms, absolute (the goals are absolute: ingest at
most 100 ms, report at most 300 ms) and as a ratio to ``import boto3`` of the same run, which moves
less with the machine's load than the absolute figures do.

Bytecode, two ways, each in its own ``-X pycache_prefix`` (nothing is written beside the sources):

- **with .pyc**: every module's bytecode cached (compiled by a first, untimed import);
- **without .pyc**: what ``eventlens build`` shipped before it compiled the zips' bytecode: no ``.pyc``
  in the function zip or the layers, and Lambda's ``/opt`` is read-only, so every eventlens and
  third-party module was compiled at each cold start; the standard library and boto3 (the runtime's
  own) keep theirs. The zips now carry unchecked-hash pycs (``eventlens_tools.build.bytecode``), so the
  **with .pyc** column is what a deployed function pays.

Then the first request: the ingest handler imported and asked ``POST /v1/events`` (5 events) against
an embedded home (the file queue, SQLite keys), timed apart; what importing lazily leaves to the
first request shows there. Last, ``-X importtime`` of the ingest and report handlers (with .pyc): the
modules by their own (self) import time, grouped by package (eventlens by module), median of 5.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eventlens.manifest import load_manifest  # noqa: E402

GOALS_MS = {"ingest": 100.0, "report": 300.0}
# What the Lambda Python runtime brings, with its bytecode (build.NOT_IN_LAYER's boto3 and its own).
RUNTIME_PACKAGES = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"}

# Run in the child: the statement timed (wall and CPU), and the count of modules loaded.
_TIMED = """
import json, sys, time
sys.path.insert(0, {directory!r})
started, cpu = time.perf_counter(), time.process_time()
{statement}
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({{"ms": elapsed * 1000, "cpu_ms": cpu * 1000, "modules": len(sys.modules)}}))
"""

# Run in the child: the ingest handler imported, then asked once and again (timed apart).
_FIRST_REQUEST = """
import json, sys, time, uuid
sys.path.insert(0, {directory!r})
started = time.perf_counter()
import handler
imported = time.perf_counter()

class Context:
    function_name = "ingest"
    memory_limit_in_mb = 1024
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:ingest"
    aws_request_id = str(uuid.uuid4())
    log_group_name = log_stream_name = "local"
    def get_remaining_time_in_millis(self):
        return 30000

event = json.loads({event!r})
times = []
for _ in range(2):
    asked = time.perf_counter()
    response = handler.lambda_handler(event, Context())
    times.append((time.perf_counter() - asked) * 1000)
    assert response["statusCode"] == 202, response
print(json.dumps({{"import_ms": (imported - started) * 1000, "first_ms": times[0], "second_ms": times[1]}}))
"""


def lambda_environment(function: str, home: Path) -> dict[str, str]:
    """The process environment of a Lambda running ``function``, embedded: the machine's PATH and the
    like, none of the caller's eventlens, Kafka, ClickHouse, Powertools or AWS settings."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EVENTLENS_", "KAFKA_", "CLICKHOUSE_", "NEO4J_", "POWERTOOLS_", "AWS_"))
    }
    environ.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": function,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_REGION": "eu-central-1",
            "POWERTOOLS_SERVICE_NAME": function,
            "POWERTOOLS_METRICS_NAMESPACE": "eventlens",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "EVENTLENS_HOME": str(home),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return environ


def run_child(
    script: str, environ: dict[str, str], pycache: Path, importtime: bool = False
) -> tuple[dict[str, Any], str]:
    """Run ``script`` in a fresh interpreter with its bytecode in ``pycache``; its last stdout line
    (JSON) and its stderr."""
    flags = ["-X", f"pycache_prefix={pycache}", *(["-X", "importtime"] if importtime else [])]
    done = subprocess.run(
        [sys.executable, *flags, "-c", script],
        capture_output=True,
        text=True,
        env=environ,
        cwd=ROOT,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def bytecode_caches(targets: dict[str, tuple[str, str]], tmp: Path, home: Path) -> tuple[Path, Path]:
    """Two bytecode caches: every module imported by ``targets`` compiled, and the same without the
    bytecode of what the Lambda zips and layers carry (eventlens, the functions, third-party
    packages other than the runtime's)."""
    compiled, packaged = tmp / "pycache", tmp / "pycache-packaged"
    for target, (directory, statement) in targets.items():
        environ = lambda_environment(target, home)
        del environ["PYTHONDONTWRITEBYTECODE"]
        run_child(_TIMED.format(directory=directory, statement=statement), environ, compiled)
    shutil.copytree(compiled, packaged)
    shutil.rmtree(packaged / ROOT.relative_to(ROOT.anchor), ignore_errors=True)
    site = packaged / Path(sysconfig.get_paths()["purelib"]).relative_to(ROOT.anchor)
    for entry in site.iterdir() if site.exists() else ():
        if entry.name.split(".")[0] not in RUNTIME_PACKAGES:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    return compiled, packaged


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


Samples = dict[str, list[float]]


def measure_imports(
    targets: dict[str, tuple[str, str]], runs: int, home: Path, caches: dict[str, Path]
) -> dict[str, Samples]:
    """Per cache and target, ``runs`` import times (wall and CPU, ms); all interleaved run by run."""
    samples: dict[str, Samples] = defaultdict(lambda: defaultdict(list))
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=lambda_environment("none", home))
        samples["process"]["python -c pass"].append((time.perf_counter() - started) * 1000)
        for cache, pycache in caches.items():
            for target, (directory, statement) in targets.items():
                if cache != "with .pyc" and target == "import boto3":
                    continue  # the runtime's own, compiled either way
                script = _TIMED.format(directory=directory, statement=statement)
                figures, _ = run_child(script, lambda_environment(target, home), pycache)
                samples[cache][target].append(figures["ms"])
                samples[f"{cache}, CPU"][target].append(figures["cpu_ms"])
                left = list(home.iterdir())
                if left:
                    raise AssertionError(f"importing {target} wrote to $EVENTLENS_HOME: {left}")
    return samples


def print_imports(samples: dict[str, Samples], runs: int) -> None:
    boto3 = statistics.median(samples["with .pyc"]["import boto3"])
    print(f"\nimport, {runs} fresh interpreters each: wall ms (median, p95, × import boto3's median of")
    print("this run) and CPU ms (median); the goals are on the wall median with .pyc")
    header = f"{'':16} {'median':>8} {'p95':>8} {'× boto3':>8} {'CPU':>7}"
    print(f"{'':16} {'with .pyc':^41}  {'without .pyc (old zips)':^41}")
    print(f"{header}  {header[17:]}  goal")
    for target, values in samples["with .pyc"].items():
        cells = []
        for cache in ("with .pyc", "without .pyc"):
            wall, cpu = samples[cache].get(target), samples[f"{cache}, CPU"].get(target)
            if not wall or not cpu:
                cells.append(f"{'':>8} {'':>8} {'':>8} {'':>7}")
                continue
            median = statistics.median(wall)
            cells.append(
                f"{median:8.1f} {p95(wall):8.1f} {median / boto3:8.2f} {statistics.median(cpu):7.1f}"
            )
        goal = GOALS_MS.get(target)
        median = statistics.median(values)
        verdict = "" if goal is None else f"≤ {goal:.0f}: {'met' if median <= goal else 'NOT met'}"
        print(f"{target:16} {cells[0]}  {cells[1]}  {verdict}")
    process = samples["process"]["python -c pass"]
    print(
        f"{'python -c pass':16} {statistics.median(process):8.1f} {p95(process):8.1f}"
        f" {statistics.median(process) / boto3:8.2f}   (the whole process, start to exit)"
    )


def ingest_body(events: int = 5) -> str:
    now = time.time()
    return json.dumps(
        {
            "events": [
                {
                    "user_id": f"user_{i}",
                    "type": "page_view",
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - i)),
                    "properties": {"page": "/home", "country": "UA"},
                }
                for i in range(events)
            ]
        }
    )


def measure_first_request(runs: int, home: Path, pycache: Path) -> Samples:
    """The ingest handler's import, first and second request against an embedded home."""
    from eventlens.keys import create_project, open_key_store
    from eventlens.settings import Settings

    _, write_key, _ = create_project(open_key_store(Settings(EVENTLENS_HOME=home)), "bench-cold-start")
    event = json.loads((ROOT / "events" / "ingest_v1_events.json").read_text())
    event["headers"]["authorization"] = f"Bearer {write_key}"
    event["body"] = ingest_body()
    directory = str(load_manifest()["ingest"].directory)
    script = _FIRST_REQUEST.format(directory=directory, event=json.dumps(event))
    samples: Samples = defaultdict(list)
    for _ in range(runs):
        figures, _ = run_child(script, lambda_environment("ingest", home), pycache)
        for key, value in figures.items():
            samples[key].append(value)
    return samples


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)")


def handler_self_times(stderr: str) -> dict[str, float]:
    """Each module imported under ``handler`` (from ``-X importtime``), its self time in ms."""
    rows = [
        (m.group(4), int(m.group(1)), len(m.group(3)))
        for m in map(_IMPORTTIME.match, stderr.splitlines())
        if m
    ]
    end = next(i for i, (name, _, indent) in enumerate(rows) if name == "handler" and indent == 1)
    start = max((i for i, (_, _, indent) in enumerate(rows[:end]) if indent == 1), default=-1) + 1
    return {name: self_us / 1000 for name, self_us, _ in rows[start : end + 1]}


def group_of(module: str) -> str:
    """eventlens's modules by name (``eventlens.api.errors``); others by their top-level package."""
    return module if module.startswith("eventlens") else module.split(".")[0]


def top_modules(function: str, home: Path, pycache: Path, repeats: int = 5) -> list[tuple[str, float]]:
    """Groups of ``function``'s imported modules by their summed self time, median over ``repeats``."""
    directory = str(load_manifest()[function].directory)
    script = f"import sys; sys.path.insert(0, {directory!r}); import handler; print('{{}}')"
    per_group: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        _, stderr = run_child(script, lambda_environment(function, home), pycache, importtime=True)
        sums: dict[str, float] = defaultdict(float)
        for module, ms in handler_self_times(stderr).items():
            sums[group_of(module)] += ms
        for group in set(per_group) | set(sums):
            per_group[group].append(sums.get(group, 0.0))
    return sorted(((g, statistics.median(v)) for g, v in per_group.items()), key=lambda kv: -kv[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per handler")
    parser.add_argument("--functions", default="", help="comma-separated (default: every function)")
    parser.add_argument("--top", type=int, default=12, help="modules listed per handler")
    args = parser.parse_args()
    manifest = load_manifest()
    functions = [f for f in args.functions.split(",") if f] or list(manifest)
    # Baselines: boto3 (every function that calls AWS); kafka, what ingest's first request on Lambda
    # imports besides boto3 (its keys and rate limits are in DynamoDB, its queue is MSK).
    targets = {"import boto3": (str(ROOT), "import boto3"), "import kafka": (str(ROOT), "import kafka")}
    targets |= {name: (str(manifest[name].directory), "import handler") for name in functions}
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")

    with tempfile.TemporaryDirectory(prefix="eventlens-bench-cold-") as name:
        tmp = Path(name)
        empty_home = tmp / "empty"
        empty_home.mkdir()
        compiled, packaged = bytecode_caches(targets, tmp, empty_home)
        caches = {"with .pyc": compiled, "without .pyc": packaged}
        print_imports(measure_imports(targets, args.runs, empty_home, caches), args.runs)

        if "ingest" in functions:
            first = measure_first_request(max(5, args.runs // 3), tmp / "ingest", compiled)
            runs = len(first["import_ms"])
            print(f"\ningest against an embedded home, with .pyc, {runs} fresh interpreters, median ms:")
            for key, label in (
                ("import_ms", "import"),
                ("first_ms", "first POST /v1/events (5 events)"),
                ("second_ms", "second, same process"),
            ):
                print(f"  {label:34} {statistics.median(first[key]):8.1f}")
            print("  (on Lambda the first request also imports boto3 and kafka: their rows above)")

        for function in ("ingest", "report"):
            if function not in functions:
                continue
            groups = top_modules(function, empty_home, compiled)
            total = sum(ms for _, ms in groups)
            print(
                f"\n{function}: self import time by package (eventlens by module), with .pyc, median of 5, ms"
            )
            for group, ms in groups[: args.top]:
                print(f"  {group:44} {ms:7.1f}  {ms / total:5.1%}")
            print(f"  {'(all ' + str(len(groups)) + ')':44} {total:7.1f}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
