"""The health check: whether events are being stored, from facts that outlive any one process.

On Lambda the report function answers ``GET /health`` and cannot see the consumer's process, so
every fact is read where it lasts:

* **consume** — when a batch was last stored (the ``done`` rows consume writes to the warehouse's
  ``consume_batches``, migration 0005) and how many records wait (the queue's lag: the embedded
  reader's, or the consumer group's committed offsets against the topic's ends in Kafka). Records
  waiting while nothing was stored for ``EVENTLENS_HEALTH_CONSUME_STALL_S`` is a failing consume;
  more than ``EVENTLENS_HEALTH_MAX_LAG_RECORDS`` waiting is a lagging one;
* **disk** — the free space where the embedded mode keeps the queue, the warehouse and the objects
  (``EVENTLENS_HOME``), against ``EVENTLENS_HEALTH_MIN_FREE_MB``;
* **dead letters** — how many records consume dead-lettered in the last hour (the dead-letter
  store's newest objects), against ``EVENTLENS_HEALTH_MAX_DEAD_LETTERS_PER_HOUR``.

The answer is ``unhealthy`` (HTTP 503) when events are not being stored — the warehouse or the queue
is down, consume is failing, the disk is nearly full — or a configured dependency is down;
``degraded`` (200) when consume lags, dead letters pile up or a fact could not be read; ``healthy``
otherwise. No text in it holds a credential (:func:`eventlens.redaction.redact`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from eventlens.deadletter import PENDING, DeadLetter
from eventlens.errors import QueueUnavailable, WarehouseError
from eventlens.redaction import redact
from eventlens.settings import Settings

if TYPE_CHECKING:
    from eventlens.components import Components
    from eventlens.objectstore import ObjectStore

NOT_CONFIGURED = "not configured"
CONNECTED = "connected"
MB = 1024 * 1024

_LAST_STORED = """
SELECT countIf(state = 'done') AS batches, maxIf(at, state = 'done') AS at, now64(3, 'UTC') AS now
FROM consume_batches
"""


class ConsumeHealth(BaseModel):
    """``ok``, ``lagging`` (storing, but more records wait than the limit), ``failing`` (records
    wait and nothing was stored for the stall limit) or ``unknown`` (a fact could not be read)."""

    state: Literal["ok", "lagging", "failing", "unknown"]
    lag_records: int | None = None
    last_stored_at: datetime | None = None
    seconds_since_stored: float | None = None
    reason: str | None = None


class DiskHealth(BaseModel):
    """``ok`` or ``low`` where the embedded mode writes; ``not used`` when every part is remote."""

    state: Literal["ok", "low", "not used", "unknown"]
    free_mb: int | None = None
    min_free_mb: int


class DeadLetterHealth(BaseModel):
    """``ok`` or ``piling up`` (more dead-lettered in the last hour than the limit; counted up to
    one past it)."""

    state: Literal["ok", "piling up", "unknown", "not configured"]
    last_hour: int | None = None
    max_per_hour: int


class HealthReport(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    storing: bool
    warehouse: str
    queue: str
    object_store: str
    graph: str
    consume: ConsumeHealth
    disk: DiskHealth
    dead_letters: DeadLetterHealth
    problems: list[str]

    @property
    def http_status(self) -> int:
        return 503 if self.status == "unhealthy" else 200


def check_health(parts: Components, on_lambda: bool = False) -> HealthReport:
    """Every fact above, read now. ``on_lambda``: the parts this function was given no settings for
    (no Kafka, no bucket: their embedded stand-ins have no place there) are ``not configured``."""
    settings = parts.settings
    states = parts.health(on_lambda)
    consume = consume_health(parts, states, settings, on_lambda)
    disk = disk_health(settings)
    dead = (
        DeadLetterHealth(state="not configured", max_per_hour=settings.health_max_dead_letters_per_hour)
        if states["object_store"] == NOT_CONFIGURED
        else dead_letter_health(parts, states["object_store"], settings)
    )
    problems = [f"{name}: {state}" for name, state in states.items() if _down(state)]
    if consume.state != "ok":
        problems.append(f"consume: {consume.state}" + (f" ({consume.reason})" if consume.reason else ""))
    if disk.state == "low":
        problems.append(f"disk: {disk.free_mb} MB free, under the {disk.min_free_mb} MB minimum")
    if dead.state == "piling up":
        problems.append(f"dead letters: {dead.last_hour} or more in the last hour")
    storing = not (
        _down(states["warehouse"])
        or _down(states["queue"])
        or consume.state == "failing"
        or disk.state == "low"
    )
    if not storing or any(_down(state) for state in states.values()):
        status: Literal["healthy", "degraded", "unhealthy"] = "unhealthy"
    elif problems or "unknown" in (disk.state, dead.state):
        status = "degraded"
    else:
        status = "healthy"
    return HealthReport(
        status=status,
        storing=storing,
        warehouse=states["warehouse"],
        queue=states["queue"],
        object_store=states["object_store"],
        graph=states["graph"],
        consume=consume,
        disk=disk,
        dead_letters=dead,
        problems=[redact(problem) for problem in problems],
    )


def dependency_state(check: object) -> str:
    """``connected``, ``down`` or ``down: <why>``: the first line of the reason, credentials masked."""
    try:
        return CONNECTED if check() else "down"  # type: ignore[operator]
    except (WarehouseError, QueueUnavailable, OSError, RuntimeError, ValueError) as exc:
        return f"down: {reason_of(exc)}"


def reason_of(exc: BaseException) -> str:
    """An exception's first line, credentials masked, at most 300 characters."""
    text = str(exc).strip()
    return redact(text.splitlines()[0] if text else type(exc).__name__)[:300]


def consume_health(
    parts: Components, states: dict[str, str], settings: Settings, on_lambda: bool
) -> ConsumeHealth:
    """Consume's state from the last stored batch and the records waiting (see the module doc)."""
    if _down(states["warehouse"]):
        return ConsumeHealth(state="unknown", reason="the warehouse is down")
    try:
        row = parts.warehouse.query(_LAST_STORED).to_pylist()[0]
    except WarehouseError as exc:
        return ConsumeHealth(state="unknown", reason=reason_of(exc))
    last = _utc(row["at"]) if row["batches"] else None
    since = (_utc(row["now"]) - last).total_seconds() if last is not None else None
    facts: dict[str, Any] = {"last_stored_at": last, "seconds_since_stored": since}
    if states["queue"] == NOT_CONFIGURED or (on_lambda and not settings.kafka_bootstrap):
        return ConsumeHealth(state="ok", reason="the queue's lag is not visible to this function", **facts)
    if _down(states["queue"]):
        return ConsumeHealth(state="unknown", reason="the queue is down", **facts)
    try:
        lag = queue_lag(settings)
    except (QueueUnavailable, OSError, RuntimeError, ValueError) as exc:
        reason = f"the queue's lag could not be read: {reason_of(exc)}"
        return ConsumeHealth(state="unknown", reason=reason, **facts)
    facts["lag_records"] = lag
    if lag > 0 and (since is None or since > settings.health_consume_stall_s):
        stalled = "no batch stored yet" if since is None else f"no batch stored for {since:.0f} s"
        return ConsumeHealth(state="failing", reason=f"{lag} records wait and {stalled}", **facts)
    if lag > settings.health_max_lag_records:
        return ConsumeHealth(
            state="lagging", reason=f"{lag} records wait (limit {settings.health_max_lag_records})", **facts
        )
    return ConsumeHealth(state="ok", **facts)


def queue_lag(settings: Settings) -> int:
    """Records on the queue that the consume function's group has not committed: the embedded
    reader's count, or Kafka's (:func:`kafka_group_lag`)."""
    if settings.kafka_bootstrap:
        return kafka_group_lag(settings)
    from eventlens.queue import open_reader

    reader = open_reader(settings)
    try:
        return reader.lag()
    finally:
        reader.close()


def kafka_group_lag(settings: Settings, timeout_s: float = 5.0) -> int:
    """The consumer group's lag on the topic, in offsets, read without joining the group (that would
    take its partitions from the real consumer): committed offsets from the group coordinator, ends
    from the brokers. Ingest publishes in transactions, whose commit markers take an offset each: a
    partition whose gap holds only markers (nothing a read_committed consumer would get) counts 0,
    checked by reading from the committed offset; in one with records waiting, its markers count
    too. Each step waits at most ``timeout_s``; an unreachable broker is QueueUnavailable."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    from eventlens.queue import kafka_security

    security = kafka_security(settings.kafka_auth, settings.aws_region)
    timeout_ms = int(timeout_s * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap,
            request_timeout_ms=timeout_ms,
            bootstrap_timeout_ms=timeout_ms,
            **security,
        )
        consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=timeout_ms + 1000,
            bootstrap_timeout_ms=timeout_ms,
            **security,
        )
    except (KafkaError, OSError) as exc:
        raise QueueUnavailable(f"Kafka at {settings.kafka_bootstrap} is not reachable: {exc}") from exc
    try:
        topic = settings.kafka_topic
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, partition) for partition in sorted(partitions)]
        if not tps:
            return 0
        committed = _committed_offsets(admin, settings.kafka_consumer_group, tps, timeout_s)
        ends = consumer.end_offsets(tps)
        starts = consumer.beginning_offsets(tps)
        behind: dict[TopicPartition, int] = {}
        for tp in tps:
            offset = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else starts[tp]
            if ends[tp] > max(offset, starts[tp]):
                behind[tp] = max(offset, starts[tp])
        return _visible_lag(consumer, behind, ends, timeout_s)
    except KafkaError as exc:
        raise QueueUnavailable(f"Kafka lag of {settings.kafka_consumer_group}: {exc}") from exc
    finally:
        consumer.close()
        admin.close()


def _committed_offsets(admin: Any, group: str, tps: list[Any], timeout_s: float) -> dict[Any, Any]:
    """The group's committed offsets; a retriable error (no coordinator yet: a new cluster creates
    its offsets topic on first use) is tried again until ``timeout_s``."""
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            offsets: dict[Any, Any] = admin.list_group_offsets({group: tps}).get(group, {})
            return offsets
        except KafkaError as exc:
            if not getattr(exc, "retriable", False) or time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _visible_lag(consumer: Any, behind: dict[Any, int], ends: dict[Any, int], timeout_s: float) -> int:
    """Sum of the gaps of ``behind`` (partition → committed offset) that hold a record a
    read_committed consumer would get."""
    if not behind:
        return 0
    consumer.assign(list(behind))
    for tp, offset in behind.items():
        consumer.seek(tp, offset)
    visible: set[Any] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        polled = consumer.poll(timeout_ms=200, max_records=len(behind) * 10)
        visible.update(tp for tp, records in polled.items() if records)
        settled = {tp for tp in behind if consumer.position(tp) >= ends[tp]}
        if settled | visible >= set(behind):
            break
    return sum(ends[tp] - offset for tp, offset in behind.items() if tp in visible)


def disk_health(settings: Settings) -> DiskHealth:
    """The least free space among the places the embedded parts in use write to."""
    places = [
        path
        for path, embedded in (
            (settings.queue_path, not settings.kafka_bootstrap),
            (settings.chdb_path, not settings.clickhouse_url),
            (settings.objects_path, not settings.bucket),
        )
        if embedded
    ]
    if not places:
        return DiskHealth(state="not used", min_free_mb=settings.health_min_free_mb)
    try:
        free = min(shutil.disk_usage(_existing(path)).free for path in places)
    except OSError:
        return DiskHealth(state="unknown", min_free_mb=settings.health_min_free_mb)
    free_mb = free // MB
    return DiskHealth(
        state="low" if free_mb < settings.health_min_free_mb else "ok",
        free_mb=free_mb,
        min_free_mb=settings.health_min_free_mb,
    )


def dead_letter_health(parts: Components, object_store: str, settings: Settings) -> DeadLetterHealth:
    """Dead letters of the last hour, counted up to one past the limit."""
    limit = settings.health_max_dead_letters_per_hour
    if _down(object_store):
        return DeadLetterHealth(state="unknown", max_per_hour=limit)
    try:
        recent = dead_letters_since(parts.objects, datetime.now(UTC) - timedelta(hours=1), limit + 1)
    except (OSError, ValueError, KeyError, RuntimeError):
        return DeadLetterHealth(state="unknown", max_per_hour=limit)
    return DeadLetterHealth(
        state="piling up" if recent > limit else "ok", last_hour=recent, max_per_hour=limit
    )


def dead_letters_since(objects: ObjectStore, since: datetime, at_most: int) -> int:
    """Pending dead letters written since ``since``, counted up to ``at_most``.

    Keys run by offset within a partition (``dead-letters/<topic>/<partition>/<offset>-<index>``),
    and offsets grow with time, so each partition is read from its newest key back to the first one
    older than ``since``: only the recent objects are opened."""
    found = 0
    for keys in _by_partition(objects.list(PENDING)):
        for key in reversed(keys):
            try:
                letter = DeadLetter.from_json(objects.get(key))
            except KeyError:  # replayed meanwhile
                continue
            if datetime.fromisoformat(letter.failed_at) < since:
                break
            found += 1
            if found >= at_most:
                return found
    return found


def _by_partition(keys: Iterator[str]) -> Iterator[list[str]]:
    current: list[str] = []
    prefix = None
    for key in keys:
        key_prefix = key.rsplit("/", 1)[0]
        if key_prefix != prefix and current:
            yield current
            current = []
        prefix = key_prefix
        current.append(key)
    if current:
        yield current


def _down(state: str) -> bool:
    return state.startswith("down")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _existing(path: Path) -> Path:
    """``path``, or its nearest existing parent (a part not opened yet has no directory)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path
