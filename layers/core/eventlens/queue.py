"""The event queue: Kafka in production, a durable file queue when no broker is configured.

Both sides of both implementations speak in Kafka's terms (topic, partition, offset, key, value), so
the consume handler sees the same MSK-shaped records whichever one fed it.

Publishing is all-or-nothing for a batch: ``publish`` either stores every record or raises
``QueueUnavailable`` having made none of them visible to consumers (Kafka: one transaction per batch
read with ``read_committed``; embedded: the partitions' files are truncated back on failure).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from eventlens.errors import QueueUnavailable
from eventlens.settings import Settings


@dataclass(frozen=True, slots=True)
class QueuedRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes
    value: bytes


class EventQueue(Protocol):
    topic: str

    def publish(self, records: Sequence[tuple[bytes, bytes]]) -> None:
        """Store every (key, value) record, or none of them (raising QueueUnavailable)."""

    def ping(self) -> bool: ...

    def close(self) -> None: ...


class QueueReader(Protocol):
    def poll(self, max_records: int, timeout_s: float) -> list[QueuedRecord]:
        """Up to ``max_records`` records after the last ones handed out, waiting up to ``timeout_s``."""

    def commit(self, records: Sequence[QueuedRecord]) -> None:
        """Mark these records (and all before them in their partitions) as done."""

    def rewind(self) -> None:
        """Forget what was handed out but not committed, so the next poll redelivers it."""

    def lag(self) -> int:
        """Records stored but not yet committed."""

    def close(self) -> None: ...


# --- Embedded file queue ------------------------------------------------------------------------
# A frame: crc32 of the rest | key length | value length | timestamp ms | key | value.
_HEADER = struct.Struct(">IIIq")


class EmbeddedQueue:
    """A durable, partitioned append-only log in files: Kafka's place when no broker runs.

    Each partition is a directory of segment files under ``root/topic/``, each named by the offset
    of its first record, as Kafka's are; a segment past ``segment_bytes`` is closed and the next
    publish starts a new one. A closed segment that every consumer group has committed past, and
    that is older than ``retention_s``, is deleted (Kafka's retention, limited to consumed data),
    so the queue's disk use follows the backlog, not the history. Writers take an exclusive
    ``flock`` on the topic, so several processes may publish. A record is keyed to a partition by
    crc32 of its key.
    """

    def __init__(
        self,
        root: Path,
        topic: str,
        partitions: int = 4,
        segment_bytes: int = 64 * 1024 * 1024,
        retention_s: float = 300.0,
    ) -> None:
        self.topic = topic
        self.partitions = partitions
        self.segment_bytes = segment_bytes
        self.retention_s = retention_s
        self.dir = root / topic
        self._thread_lock = threading.Lock()
        self._repaired = False
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            with self._locked():
                self._adopt_single_file_logs()
        except OSError as exc:  # a read-only or full disk: a queue that cannot take events (503)
            raise QueueUnavailable(f"embedded queue cannot open {self.dir}: {exc.strerror or exc}") from exc

    def segments(self, partition: int) -> list[tuple[int, Path]]:
        """The partition's segments as (first offset, path), oldest first."""
        directory = self.dir / f"{partition:05d}"
        found = [(int(path.stem), path) for path in directory.glob("*.log") if path.stem.isdigit()]
        return sorted(found) or [(0, directory / _segment_name(0))]

    def partition_path(self, partition: int) -> Path:
        """The segment publishes append to."""
        return self.segments(partition)[-1][1]

    def publish(self, records: Sequence[tuple[bytes, bytes]]) -> None:
        now_ms = int(time.time() * 1000)
        frames: dict[int, list[bytes]] = {}
        for key, value in records:
            partition = zlib.crc32(key) % self.partitions
            body = _HEADER.pack(0, len(key), len(value), now_ms)[4:] + key + value
            frames.setdefault(partition, []).append(struct.pack(">I", zlib.crc32(body)) + body)
        try:
            with self._locked():
                self._append(frames)
        except OSError as exc:  # the lock, the repair or the write: nothing of the batch was stored
            raise QueueUnavailable(f"embedded queue cannot write: {exc}") from exc

    def _append(self, frames: dict[int, list[bytes]]) -> None:
        """Append each partition's frames, or none of them (call holding the lock)."""
        if not self._repaired:
            for partition in range(self.partitions):
                _truncate_torn_tail(self.partition_path(partition))
            self._repaired = True
        written: list[tuple[Path, int]] = []
        try:
            for partition, chunks in frames.items():
                path = self._active_segment(partition)
                path.parent.mkdir(exist_ok=True)
                with open(path, "ab") as log:
                    written.append((path, log.tell()))
                    log.write(b"".join(chunks))
                    log.flush()
                    os.fsync(log.fileno())
        except OSError:
            for path, size in written:  # nothing half-written: roll every partition back
                os.truncate(path, size)
            raise

    def ping(self) -> bool:
        return self.dir.is_dir() and os.access(self.dir, os.W_OK)

    def close(self) -> None:
        pass

    def reader(self, group: str) -> EmbeddedQueueReader:
        return EmbeddedQueueReader(self, group)

    def drop_consumed_segments(self) -> int:
        """Delete closed segments every group has committed past and older than the retention."""
        committed = [_load_offsets(path) for path in self.dir.glob("offsets-*.json")]
        if not committed:
            return 0
        cutoff = time.time() - self.retention_s
        dropped = 0
        with self._locked():
            for partition in range(self.partitions):
                segments = self.segments(partition)
                for (_, path), (next_base, _) in zip(segments, segments[1:], strict=False):
                    consumed = all(group.get(partition, (0, 0, 0))[0] >= next_base for group in committed)
                    if consumed and path.stat().st_mtime <= cutoff:
                        path.unlink()
                        dropped += 1
        return dropped

    def _active_segment(self, partition: int) -> Path:
        """The last segment, or a new one after it when the last is full (call holding the lock)."""
        base, path = self.segments(partition)[-1]
        if not path.exists() or path.stat().st_size < self.segment_bytes:
            return path
        count = sum(1 for _ in _frames(path, 0))
        return path.with_name(_segment_name(base + count))

    def _adopt_single_file_logs(self) -> None:
        """A queue written before segments kept one ``NNNNN.log`` per partition: its first segment."""
        for partition in range(self.partitions):
            legacy = self.dir / f"{partition:05d}.log"
            if legacy.exists():
                directory = self.dir / f"{partition:05d}"
                directory.mkdir(exist_ok=True)
                os.replace(legacy, directory / _segment_name(0))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, open(self.dir / ".lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


# A position in a partition: (next offset, first offset of its segment, byte position in it).
_Position = tuple[int, int, int]


class EmbeddedQueueReader:
    """A consumer group on an embedded queue; committed positions live in ``offsets-<group>.json``."""

    def __init__(self, queue: EmbeddedQueue, group: str) -> None:
        self.queue = queue
        self._offsets_path = queue.dir / f"offsets-{group}.json"
        self._ends: dict[tuple[int, int], _Position] = {}  # (partition, offset) -> position after it
        self._committed = _load_offsets(self._offsets_path)
        self._position = dict(self._committed)

    def poll(self, max_records: int, timeout_s: float) -> list[QueuedRecord]:
        deadline = time.monotonic() + timeout_s
        while True:
            batch = self._read(max_records)
            if batch or time.monotonic() >= deadline:
                return batch
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def commit(self, records: Sequence[QueuedRecord]) -> None:
        for record in records:
            after = self._ends.pop((record.partition, record.offset))
            if record.offset + 1 > self._committed.get(record.partition, (0, 0, 0))[0]:
                self._committed[record.partition] = after
        payload = {str(p): list(pos) for p, pos in self._committed.items()}
        tmp = self._offsets_path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(payload))
        os.replace(tmp, self._offsets_path)
        self.queue.drop_consumed_segments()

    def rewind(self) -> None:
        self._position = dict(self._committed)

    def lag(self) -> int:
        return sum(
            1
            for partition in range(self.queue.partitions)
            for _ in self._records_from(partition, self._committed.get(partition, (0, 0, 0)))
        )

    def close(self) -> None:
        pass

    def _read(self, max_records: int) -> list[QueuedRecord]:
        batch: list[QueuedRecord] = []
        for partition in range(self.queue.partitions):
            position = self._position.get(partition, (0, 0, 0))
            for after, timestamp_ms, key, value in self._records_from(partition, position):
                offset = position[0]
                batch.append(QueuedRecord(self.queue.topic, partition, offset, timestamp_ms, key, value))
                self._ends[(partition, offset)] = after
                position = after
                if len(batch) >= max_records:
                    break
            self._position[partition] = position
            if len(batch) >= max_records:
                break
        return batch

    def _records_from(
        self, partition: int, position: _Position
    ) -> Iterator[tuple[_Position, int, bytes, bytes]]:
        """(position after it, timestamp, key, value) of each whole record from ``position`` on."""
        offset, base, byte = position
        for segment_base, path in self.queue.segments(partition):
            if segment_base < base:
                continue
            if segment_base > base:  # the next segment starts where the last one ended
                base, byte = segment_base, 0
            for end, timestamp_ms, key, value in _frames(path, byte):
                offset += 1
                yield (offset, base, end), timestamp_ms, key, value


def _segment_name(base_offset: int) -> str:
    return f"{base_offset:020d}.log"


def _load_offsets(path: Path) -> dict[int, _Position]:
    """A group's committed positions; a two-field entry is from the single-file layout (segment 0)."""
    try:
        raw = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    positions: dict[int, _Position] = {}
    for partition, fields in raw.items():
        numbers = [int(number) for number in fields]
        offset, base, byte = (numbers[0], 0, numbers[1]) if len(numbers) == 2 else numbers
        positions[int(partition)] = (offset, base, byte)
    return positions


def _frames(path: Path, position: int) -> Iterator[tuple[int, int, bytes, bytes]]:
    """(end position, timestamp, key, value) of each whole frame from ``position`` on."""
    try:
        with open(path, "rb") as log:
            log.seek(position)
            data = log.read()
    except FileNotFoundError:
        return
    cursor = 0
    while cursor + _HEADER.size <= len(data):
        crc, key_len, value_len, timestamp_ms = _HEADER.unpack_from(data, cursor)
        end = cursor + _HEADER.size + key_len + value_len
        if end > len(data) or zlib.crc32(data[cursor + 4 : end]) != crc:
            return  # a torn or still-being-written tail: stop before it
        key_start = cursor + _HEADER.size
        yield (
            position + end,
            timestamp_ms,
            data[key_start : key_start + key_len],
            data[key_start + key_len : end],
        )
        cursor = end


def _truncate_torn_tail(path: Path) -> None:
    """Cut a partial frame a crashed writer left at the end of a log."""
    if not path.exists():
        return
    valid_end = 0
    for frame_end, *_ in _frames(path, 0):
        valid_end = frame_end
    if valid_end != path.stat().st_size:
        os.truncate(path, valid_end)


# --- Kafka ---------------------------------------------------------------------------------------
def kafka_security(auth: str, region: str | None) -> dict[str, Any]:
    """kafka-python options for the broker's authentication: none, or MSK IAM (SASL/OAUTHBEARER).

    MSK Serverless accepts IAM-authenticated clients only; the token is a SigV4-signed URL made from
    the function's own AWS credentials by AWS's signer library (the ``msk`` extra).
    """
    if auth == "none":
        return {}
    if auth != "iam":
        raise ValueError(f"KAFKA_AUTH must be none or iam, not {auth!r}")
    if not region:
        raise ValueError("KAFKA_AUTH=iam needs AWS_REGION")
    from kafka.net.sasl.oauth import AbstractTokenProvider

    class MskIamTokenProvider(AbstractTokenProvider):
        def token(self) -> str:
            from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

            token, _expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
            return str(token)

    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "OAUTHBEARER",
        "sasl_oauth_token_provider": MskIamTokenProvider(),
    }


class KafkaQueue:
    """Publishes to a Kafka topic: keyed by user, acks=all, one transaction per batch."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        send_timeout_s: float = 10.0,
        transactional: bool = True,
        security: dict[str, Any] | None = None,
    ) -> None:
        self.topic = topic
        self._security = security or {}
        self._bootstrap = bootstrap
        self._timeout_s = send_timeout_s
        self._transactional = transactional
        self._producer: Any = None
        self._lock = threading.Lock()

    def publish(self, records: Sequence[tuple[bytes, bytes]]) -> None:
        from kafka.errors import KafkaError

        with self._lock:
            producer = self._connected_producer()
            try:
                if self._transactional:
                    producer.begin_transaction()
                futures = [producer.send(self.topic, key=key, value=value) for key, value in records]
                producer.flush(timeout=self._timeout_s)
                for future in futures:
                    future.get(timeout=self._timeout_s)
                if self._transactional:
                    producer.commit_transaction()
            except (KafkaError, TimeoutError, OSError) as exc:
                self._discard_producer(abort=True)
                raise QueueUnavailable(f"Kafka did not take the batch: {exc}") from exc

    def ping(self) -> bool:
        try:
            with self._lock:
                self._connected_producer()
        except QueueUnavailable:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._discard_producer(abort=False)

    def _connected_producer(self) -> Any:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        if self._producer is not None:
            return self._producer
        options: dict[str, Any] = {
            "bootstrap_servers": self._bootstrap,
            "acks": "all",
            "linger_ms": 5,
            "batch_size": 1024 * 1024,
            # A batch of events is repetitive JSON: lz4 cuts it ~5x, and with it the broker's work,
            # which was most of a publish's time (bench/pipeline.py: 25 µs an event uncompressed, 5 lz4).
            "compression_type": "lz4",
            "max_request_size": 8 * 1024 * 1024,
            "max_block_ms": int(self._timeout_s * 1000),
            "request_timeout_ms": int(self._timeout_s * 1000),
            "retries": 3,
            **self._security,
        }
        if self._transactional:
            # A fresh id per producer: a warm container fences nobody else's transactions.
            options["transactional_id"] = f"eventlens-ingest-{uuid.uuid4()}"
            options["enable_idempotence"] = True
        try:
            producer = KafkaProducer(**options)
            if self._transactional:
                producer.init_transactions()
        except (KafkaError, OSError) as exc:
            raise QueueUnavailable(f"Kafka at {self._bootstrap} is not reachable: {exc}") from exc
        self._producer = producer
        return producer

    def _discard_producer(self, abort: bool) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        # The producer is being thrown away (the batch already failed, or we are closing): whatever
        # abort or close raise now changes nothing.
        if abort and self._transactional:
            with contextlib.suppress(Exception):
                producer.abort_transaction()
        with contextlib.suppress(Exception):
            producer.close(timeout=1)


class KafkaQueueReader:
    """A Kafka consumer in a group, committing only what the caller says is done."""

    def __init__(
        self, bootstrap: str, topic: str, group: str, security: dict[str, Any] | None = None
    ) -> None:
        from kafka import KafkaConsumer

        self.topic = topic
        self._consumer = KafkaConsumer(
            topic,
            **(security or {}),
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=50_000,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=16 * 1024 * 1024,
        )

    def poll(self, max_records: int, timeout_s: float) -> list[QueuedRecord]:
        from kafka.errors import KafkaError

        try:
            polled = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        except KafkaError as exc:
            raise QueueUnavailable(str(exc)) from exc
        return [
            QueuedRecord(m.topic, m.partition, m.offset, m.timestamp, m.key or b"", m.value or b"")
            for messages in polled.values()
            for m in messages
        ]

    def commit(self, records: Sequence[QueuedRecord]) -> None:
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        latest: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            latest[tp] = max(latest.get(tp, -1), record.offset)
        self._consumer.commit({tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in latest.items()})

    def rewind(self) -> None:
        from kafka import TopicPartition

        committed = {}
        for tp in self._consumer.assignment():
            committed[tp] = self._consumer.committed(TopicPartition(tp.topic, tp.partition))
        for tp, offset in committed.items():
            if offset is None:
                self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, offset)

    def lag(self) -> int:
        assignment = self._consumer.assignment()
        if not assignment:
            return 0
        ends = self._consumer.end_offsets(list(assignment))
        return sum(max(0, end - (self._consumer.committed(tp) or 0)) for tp, end in ends.items())

    def close(self) -> None:
        self._consumer.close()


def open_queue(settings: Settings) -> EventQueue:
    """Kafka when KAFKA_BOOTSTRAP is set, the embedded file queue under $EVENTLENS_HOME otherwise."""
    if settings.kafka_bootstrap:
        security = kafka_security(settings.kafka_auth, settings.aws_region)
        return KafkaQueue(
            settings.kafka_bootstrap, settings.kafka_topic, settings.kafka_send_timeout_s, security=security
        )
    return _embedded(settings)


def open_reader(settings: Settings) -> QueueReader:
    """The consumer-group side of ``open_queue``."""
    if settings.kafka_bootstrap:
        security = kafka_security(settings.kafka_auth, settings.aws_region)
        return KafkaQueueReader(
            settings.kafka_bootstrap, settings.kafka_topic, settings.kafka_consumer_group, security=security
        )
    return _embedded(settings).reader(settings.kafka_consumer_group)


def _embedded(settings: Settings) -> EmbeddedQueue:
    return EmbeddedQueue(
        settings.queue_path,
        settings.kafka_topic,
        settings.kafka_partitions,
        segment_bytes=settings.queue_segment_bytes,
        retention_s=settings.queue_retention_s,
    )
