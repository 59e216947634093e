"""``eventlens demo``: the main job end to end on the embedded defaults.

Generates a year of mixed events for many users, sends them through the HTTP ingest of a local
runtime, waits until the consume function has stored them in ClickHouse (chDB), and prints what the
report routes answer. Progress goes to stderr (see ``eventlens_tools.progress``): a bar while the
events are sent and while consume stores them, and each state of the ML pipeline as it runs.

Ctrl-C or SIGTERM stops it promptly wherever it is: the ``eventlens`` command notes the signal
(``eventlens_tools.stopping``) and the demo stops at its next check (every ``POLL_S`` while it
sends or waits, at each state of the ML pipeline); the senders finish the batch in flight, the
runtime stops, and one line says what was kept.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

from eventlens.settings import Settings
from eventlens_tools.generator import generate_events
from eventlens_tools.http_client import EventlensClient
from eventlens_tools.local.pipeline import run_ml_pipeline
from eventlens_tools.local.runtime import LocalRuntime
from eventlens_tools.progress import Progress, StateLog
from eventlens_tools.shoppers import generate_shopper_events
from eventlens_tools.stopping import POLL_S, StopSignals

BATCH = 2_000
SENDERS = 2
# Events per user and day of history, as the generators make them with their defaults: the first
# guess of how many events there will be, until the users generated so far tell better.
EVENTS_PER_USER_DAY = {"mixed": 1.0, "shoppers": 0.62}
SO_FAR = "(so far)"
SENDER_STOP_S = 5.0  # how long a stop waits for the batches in flight


@dataclass
class Sent:
    """What ingest accepted so far: events, their distinct ids, and the events it rejected."""

    accepted: int = 0
    rejected: int = 0
    ids: set[str] = field(default_factory=set)


@dataclass
class DemoProgress:
    """How far the demo got, for the line a stop prints."""

    phase: str = "starting"  # starting, sending, storing, reporting, ml
    sent: Sent = field(default_factory=Sent)
    stored: int = 0


def run_demo(
    settings: Settings,
    users: int,
    days: int,
    seed: int,
    out: TextIO,
    shoppers: int = 1500,
    stop: StopSignals | None = None,
) -> dict[str, Any]:
    """Run the demo; returns the figures it printed. Stopped (``stop`` noted SIGINT or SIGTERM, or a
    KeyboardInterrupt), it stops the runtime, prints one line saying what was kept and returns
    ``{"stopped": phase, …}``."""
    progress = DemoProgress()
    stop = stop or StopSignals()  # never installed: only a KeyboardInterrupt stops it then
    log_state = StateLog("ML pipeline")

    def on_state(state: str) -> None:
        stop.check()
        log_state(state)

    try:
        figures = _ingest_and_report(settings, users, days, seed, out, shoppers, progress, stop)
        out.write("\n")
        out.flush()
        progress.phase = "ml"
        figures["ml"] = run_ml_pipeline(settings, out, on_state=on_state)
    except KeyboardInterrupt:
        out.write(stopped_line(progress, settings, seed) + "\n")
        out.flush()
        return {"stopped": progress.phase, "accepted": progress.sent.accepted, "stored": progress.stored}
    return figures


def stopped_line(progress: DemoProgress, settings: Settings, seed: int) -> str:
    """One line: where the demo stopped and what it kept."""
    home, accepted = settings.home_dir, progress.sent.accepted
    again = f"a re-run with --seed {seed} sends the same ids, which count once"
    if progress.phase in ("starting", "sending"):
        return (
            f"stopped while sending: {accepted:,} events accepted so far are kept in the queue under {home}; "
            f"the next 'eventlens local' or demo stores them ({again})"
        )
    if progress.phase == "storing":
        return (
            f"stopped while consume stored the events: {progress.stored:,} of {len(progress.sent.ids):,} "
            f"are stored, the rest kept in the queue under {home} for the next 'eventlens local' or demo"
        )
    if progress.phase == "reporting":
        return f"stopped while reporting: all {progress.stored:,} events are stored under {home}"
    return (
        f"stopped during the ML pipeline: the {progress.stored:,} events stay stored under {home}; "
        "'eventlens pipeline run' runs the pipeline again"
    )


def _ingest_and_report(
    settings: Settings,
    users: int,
    days: int,
    seed: int,
    out: TextIO,
    shoppers: int,
    progress: DemoProgress | None = None,
    stop: StopSignals | None = None,
) -> dict[str, Any]:
    progress = progress or DemoProgress()
    stop = stop or StopSignals()
    runtime = LocalRuntime(settings, port=0)
    runtime.start()
    try:
        stop.check()
        keys = runtime.default_keys
        if keys is None:
            raise RuntimeError("the local runtime serves no HTTP route: the demo has nothing to send to")
        out.write(
            f"eventlens local runtime at {runtime.url} (state in {settings.home_dir}; "
            f"the keys of project default in {keys.path})\n"
        )
        end = datetime.now(UTC)
        started = time.perf_counter()
        # The mixed stream of all four families, and AnModel's shoppers (cohorts, promo windows,
        # bursts before a purchase) whose behaviour the ML pipeline learns.
        stream = EventFeed(
            [
                (generate_events(users, days, seed, end=end), users, EVENTS_PER_USER_DAY["mixed"] * days),
                (
                    generate_shopper_events(
                        shoppers, days, seed + 1_000_003, end=end
                    ),  # its own random stream
                    shoppers,
                    EVENTS_PER_USER_DAY["shoppers"] * days,
                ),
            ]
        )
        out.flush()
        progress.phase = "sending"
        with Progress("sending events", total=stream.estimate(), unit="events", estimated=True) as sending:
            accepted, distinct, rejected = _send_all(
                runtime.url, stream, sending, progress.sent, stop, key=keys.write_key
            )
        sent_s = time.perf_counter() - started
        out.write(
            f"sent {accepted:,} events for {users + shoppers:,} users over {days} days in {sent_s:.1f} s "
            f"({accepted / sent_s:,.0f} events/s through HTTP ingest); {rejected} rejected\n"
        )
        client = EventlensClient(runtime.url, key=keys.secret_key)
        first_day, last_day = (end - timedelta(days=days)).date(), end.date()
        progress.phase = "storing"
        with Progress("waiting for consume to store them", total=distinct, unit="events") as storing:
            stored = _wait_until_stored(
                runtime, client, first_day, last_day, distinct, storing, progress, stop
            )
        progress.phase, progress.stored = "reporting", stored
        stop.check()
        total_s = time.perf_counter() - started
        out.write(
            f"{stored:,} events visible in reports after {total_s:.1f} s "
            f"({stored / total_s:,.0f} events/s end to end)\n\n"
        )
        _, dau = client.get("/stats/dau", **{"from": str(last_day - timedelta(days=13)), "to": str(last_day)})
        out.write("Daily active users, last 14 days (GET /stats/dau):\n")
        for row in dau:
            out.write(
                f"  {day_label(row['date'], last_day)}  {row['unique_users']:>7,}  "
                f"{'#' * max(1, row['unique_users'] // 20)}\n"
            )
        _, top = client.get("/stats/top-events", **{"from": str(first_day), "to": str(last_day), "limit": 10})
        out.write("\nTop events over the year (GET /stats/top-events):\n")
        for row in top:
            out.write(f"  {row['event_type']:<16} {row['count']:>10,}\n")
        _, ua = client.get(
            "/stats/top-events",
            **{
                "from": str(first_day),
                "to": str(last_day),
                "limit": 3,
                "segment": "properties.country:UA,source:commerce",
            },
        )
        out.write("\nTop commerce events in UA (segment=properties.country:UA,source:commerce):\n")
        for row in ua:
            out.write(f"  {row['event_type']:<16} {row['count']:>10,}\n")
        client.close()
        return {"accepted": accepted, "stored": stored, "seconds": total_s, "dau": dau, "top": top}
    finally:
        runtime.stop()


def day_label(day: str, today: date) -> str:
    """A report's date, marked when it is today's: a day not over yet, whose figures still grow."""
    marked = f"{day} {SO_FAR}" if day == today.isoformat() else day
    return marked.ljust(len(day) + 1 + len(SO_FAR))


class EventFeed:
    """The events of several generators one after the other, counted as they are drawn, with an
    estimate of how many there will be in all.

    Each generator comes with its number of users (it yields them user by user) and a guess of the
    events per user; once a few dozen of its users are drawn, their mean replaces the guess.
    Draw from it under one lock (``_send_all`` does)."""

    def __init__(self, streams: list[tuple[Iterator[dict[str, Any]], int, float]]) -> None:
        self._streams = streams
        self._events = [0] * len(streams)
        self._users = [0] * len(streams)
        self._current = 0
        self._last_user: str | None = None

    def __iter__(self) -> EventFeed:
        return self

    def __next__(self) -> dict[str, Any]:
        while self._current < len(self._streams):
            event = next(self._streams[self._current][0], None)
            if event is None:
                self._current += 1
                self._last_user = None
                continue
            if event["user_id"] != self._last_user:
                self._last_user = event["user_id"]
                self._users[self._current] += 1
            self._events[self._current] += 1
            return event
        raise StopIteration

    def estimate(self) -> int:
        """Events drawn so far plus those expected from the users not drawn yet."""
        total = 0.0
        for index, (_, users, guess) in enumerate(self._streams):
            drawn, events = self._users[index], self._events[index]
            if index < self._current:  # done: exactly what it gave
                total += events
                continue
            per_user = events / drawn if drawn >= 30 else guess
            total += events + max(0.0, users - drawn + (0.5 if drawn else 0)) * per_user
        return round(total)


def _send_all(
    url: str,
    events: Iterator[dict[str, Any]],
    progress: Progress | None = None,
    sent: Sent | None = None,
    stop: StopSignals | None = None,
    key: str | None = None,
) -> tuple[int, int, int]:
    """POST the events in batches from a few keep-alive connections, counting into ``sent``.

    Returns (accepted, distinct event ids accepted, rejected): each id counts once in the reports.
    Stopped (``stop`` noted a signal, or a KeyboardInterrupt), the senders stop after the batch in
    flight (``sent`` then holds what was accepted) and the interrupt goes on."""
    lock = threading.Lock()
    sent = sent if sent is not None else Sent()
    failures: list[str] = []
    halt = threading.Event()  # the senders stop at their next batch

    def sender() -> None:
        client = EventlensClient(url, key=key)
        try:
            while not halt.is_set():
                with lock:
                    batch = list(itertools.islice(events, BATCH))
                    estimate = events.estimate() if isinstance(events, EventFeed) else None
                if not batch:
                    break
                status, body = client.post("/v1/events", {"events": batch})
                if status not in (202, 422):
                    failures.append(f"HTTP {status}: {body}")
                    break
                with lock:
                    sent.accepted += body["accepted"]
                    sent.rejected += len(body["rejected"])
                    sent.ids.update(body["event_ids"])
                if progress is not None:
                    if estimate is not None:
                        progress.set_total(estimate)
                    progress.update(len(batch))
        finally:
            client.close()

    # Daemons: a sender blocked on a runtime that is gone never holds the process up.
    threads = [threading.Thread(target=sender, name=f"sender-{n}", daemon=True) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    try:
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=POLL_S)
            if stop is not None:
                stop.check()
    except KeyboardInterrupt:
        halt.set()
        deadline = time.monotonic() + SENDER_STOP_S
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        raise
    if failures:
        raise RuntimeError(f"ingest failed: {failures[0]}")
    return sent.accepted, len(sent.ids), sent.rejected


def _wait_until_stored(
    runtime: LocalRuntime,
    client: EventlensClient,
    first: Any,
    last: Any,
    expected: int,
    progress: Progress | None = None,
    demo: DemoProgress | None = None,
    stop: StopSignals | None = None,
    timeout_s: float = 600,
) -> int:
    """Wait until the report counts every accepted event, or, when this home already held some of
    them from an earlier run (each id counts once), until the queue is drained and the count settles."""
    deadline = time.monotonic() + timeout_s
    stored, settled_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if stop is not None:
            stop.check()
        _, top = client.get("/stats/top-events", **{"from": str(first), "to": str(last), "limit": 1000})
        now_stored = sum(row["count"] for row in top)
        if demo is not None:
            demo.stored = now_stored
        if progress is not None:
            progress.set(min(now_stored, expected))
        if now_stored >= expected:
            return now_stored
        if now_stored != stored:
            stored, settled_since = now_stored, time.monotonic()
        elif time.monotonic() - settled_since > 3 and runtime.lag() == 0:
            return stored
        time.sleep(0.2)
    raise TimeoutError(f"only {stored} of {expected} events were stored within {timeout_s} s")
