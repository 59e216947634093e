"""Memory search: how often the answers are exactly right, by intent and language, and how fast they
come, with the habits graph and without it.

    .venv/bin/python bench/memory.py [--neo4j bolt://HOST:PORT] [--repeat 5]

Plants the three life stories (eventlens_tools.lifestories) in a fresh chDB, mines them into Neo4j as
the nightly run would (a server started with scripts/servers/neo4j.sh on a free port unless --neo4j
names one; its data is removed afterwards), then asks every question of the evaluation set
(eventlens_tools.memory_eval), first with the graph, then without, and judges each answer against the
planted truth. Latency is the domain call (``search_memory``), each question ``--repeat`` times after
one warm-up pass, and the same questions through the report function's handler (an API Gateway event:
key check, body validation, the answer's JSON), whose answers are not judged (relative dates there are
relative to the real now).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")

from eventlens.components import Components  # noqa: E402
from eventlens.keys import create_key, ensure_default_project, open_key_store  # noqa: E402
from eventlens.manifest import load_manifest  # noqa: E402
from eventlens.memory.findings import Sources  # noqa: E402
from eventlens.memory.models import MemoryQuestion  # noqa: E402
from eventlens.memory.search import search_memory  # noqa: E402
from eventlens.mining.miner import MiningRequest, mine_active_users  # noqa: E402
from eventlens.settings import Settings  # noqa: E402
from eventlens_tools.lifestories import LifeStory, generate_life_stories, warehouse_rows  # noqa: E402
from eventlens_tools.local.invoke import LocalFunction  # noqa: E402
from eventlens_tools.local.ports import free_port_pair  # noqa: E402
from eventlens_tools.memory_eval import NOW, QUESTIONS, EvalQuestion, judge, story_for  # noqa: E402

SECRET_KEY = "el_secret_" + "b" * 43
GOAL_ACCURACY = 0.95
GOAL_P95_MS = 150.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--neo4j", help="bolt://host:port of a running Neo4j (default: start one)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each question (default 5)")
    args = parser.parse_args()
    with _neo4j(args.neo4j) as uri, tempfile.TemporaryDirectory(prefix="bench-memory-") as home:
        settings = Settings(EVENTLENS_HOME=Path(home), NEO4J_URI=uri)
        parts = Components(settings)
        try:
            _run(parts, settings, args.repeat)
        finally:
            parts.close()


def _run(parts: Components, settings: Settings, repeat: int) -> None:
    stories = generate_life_stories(NOW)
    parts.warehouse.insert_arrow("events", warehouse_rows(stories))
    started = time.perf_counter()
    mined = mine_active_users(parts.warehouse, parts.graph, settings, MiningRequest(all_users=True), NOW)
    print(
        f"Memory search: {len(QUESTIONS)} questions about {len(stories)} planted persons "
        f"({sum(len(s.events) for s in stories):,} events), asked at {NOW:%Y-%m-%d %H:%M} UTC; mined in "
        f"{time.perf_counter() - started:.1f} s ({mined.places} places, {mined.habits} habits, "
        f"{mined.routines} routines, {mined.meetings} meetings)\n",
        flush=True,
    )
    modes = {"with graph": Sources(parts.warehouse, parts.graph, settings)}
    modes["without graph"] = Sources(parts.warehouse, None, settings)
    results = {name: _evaluate(sources, stories, repeat) for name, sources in modes.items()}
    _print_accuracy(results)
    _print_latency(results)
    _print_handler_latency(parts, stories, repeat)


def _ask(sources: Sources, story: LifeStory, question: EvalQuestion) -> dict[str, Any]:
    request = MemoryQuestion(user_id=story.user_id, question=question.question)
    return search_memory(sources, "default", request, now=NOW).model_dump(mode="json", by_alias=True)


def _evaluate(sources: Sources, stories: list[LifeStory], repeat: int) -> dict[str, Any]:
    right: dict[EvalQuestion, bool] = {}
    wrong: list[str] = []
    for question in QUESTIONS:  # the warm-up pass is the judged one
        story = story_for(stories, question.person)
        verdict = judge(question, story, _ask(sources, story, question))
        right[question] = verdict.right
        if not verdict.right:
            wrong.append(f"  {question.person} {question.question!r}: {'; '.join(verdict.problems)}")
    latencies: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeat):
        for question in QUESTIONS:
            story = story_for(stories, question.person)
            started = time.perf_counter()
            _ask(sources, story, question)
            latencies[question.intent].append((time.perf_counter() - started) * 1000)
    return {"right": right, "wrong": wrong, "latencies": latencies}


def _share(flags: list[bool]) -> str:
    return f"{sum(flags):>3}/{len(flags):<3} {100 * sum(flags) / max(len(flags), 1):5.1f}%"


def _print_accuracy(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    print(f"{'exactly right':<28}" + "".join(f"{name:>22}" for name in names))
    groups: list[tuple[str, Any]] = [("all", lambda q: True)]
    groups += [(f"  intent {i}", lambda q, i=i: q.intent == i) for i in sorted({q.intent for q in QUESTIONS})]
    groups += [(f"  language {lang}", lambda q, lang=lang: q.language == lang) for lang in ("ru", "uk", "en")]
    groups += [("  needing no mined place", lambda q: not q.needs_graph)]
    for label, chosen in groups:
        cells = [_share([ok for q, ok in results[name]["right"].items() if chosen(q)]) for name in names]
        print(f"{label:<28}" + "".join(f"{cell:>22}" for cell in cells))
    for name in names:
        if results[name]["wrong"]:
            print(f"\nnot exactly right {name}:")
            print("\n".join(results[name]["wrong"]))
    overall = sum(results["with graph"]["right"].values()) / len(QUESTIONS)
    verdict = "met" if overall >= GOAL_ACCURACY else "NOT met"
    print(f"\ngoal: at least {GOAL_ACCURACY:.0%} exactly right with the graph: {verdict} ({overall:.1%})\n")


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _print_latency(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    print(f"{'latency ms (search_memory)':<28}" + "".join(f"{name + ' p50 / p95':>26}" for name in names))
    intents = sorted({q.intent for q in QUESTIONS})
    rows = [("all", None), *((f"  intent {i}", i) for i in intents)]
    for label, intent in rows:
        cells = []
        for name in names:
            latencies = results[name]["latencies"]
            values = [v for i, vs in latencies.items() if intent in (None, i) for v in vs]
            p50, p95 = _percentiles(values)
            cells.append(f"{p50:8.1f} / {p95:6.1f}")
        print(f"{label:<28}" + "".join(f"{cell:>26}" for cell in cells))
    everything = [v for vs in results["with graph"]["latencies"].values() for v in vs]
    p95 = _percentiles(everything)[1]
    verdict = "met" if p95 <= GOAL_P95_MS else "NOT met"
    print(f"\ngoal: p95 at most {GOAL_P95_MS:.0f} ms with the graph: {verdict} ({p95:.1f} ms)\n")


def _print_handler_latency(parts: Components, stories: list[LifeStory], repeat: int) -> None:
    """The same questions through the report function's handler, as API Gateway invokes it."""
    store = open_key_store(parts.settings)
    ensure_default_project(store)
    create_key(store, "default", "secret", plain=SECRET_KEY)
    report = LocalFunction(load_manifest()["report"])
    report.bind(parts)
    event = json.loads((ROOT / "events" / "report_memory_search.json").read_text())
    event["headers"]["authorization"] = f"Bearer {SECRET_KEY}"
    timings = []
    for run in range(repeat + 1):
        for question in QUESTIONS:
            story = story_for(stories, question.person)
            event["body"] = json.dumps({"user_id": story.user_id, "question": question.question})
            started = time.perf_counter()
            response = report.invoke(event)
            if run:  # the first pass warms up
                timings.append((time.perf_counter() - started) * 1000)
            assert response["statusCode"] == 200, response
    p50, p95 = _percentiles(timings)
    print(f"through the report function's handler, with graph: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


@contextmanager
def _neo4j(uri: str | None) -> Iterator[str]:
    if uri:
        yield uri
        return
    port = free_port_pair()
    _server("start", port)
    try:
        yield f"bolt://127.0.0.1:{port}"
    finally:
        _server("stop", port)
        _server("clean", port)


def _server(action: str, port: int) -> None:
    script = ROOT / "scripts" / "servers" / "neo4j.sh"
    subprocess.run(["bash", str(script), action, str(port)], check=True, capture_output=True, timeout=600)


if __name__ == "__main__":
    main()
