"""The embedded queue: durable, partitioned, at-least-once, and whole after a crash."""

from __future__ import annotations

from pathlib import Path

import orjson

from eventlens.queue import EmbeddedQueue


def _all(queue: EmbeddedQueue, group: str = "g") -> list[bytes]:
    return [r.value for r in queue.reader(group).poll(max_records=10_000, timeout_s=0)]


def test_records_of_one_key_stay_in_order_on_one_partition(tmp_path: Path) -> None:
    queue = EmbeddedQueue(tmp_path, "events", partitions=4)
    queue.publish([(f"user-{i % 3}".encode(), f"{i}".encode()) for i in range(30)])
    records = queue.reader("g").poll(max_records=100, timeout_s=0)
    by_key: dict[bytes, list[tuple[int, int, int]]] = {}
    for record in records:
        by_key.setdefault(record.key, []).append((record.partition, record.offset, int(record.value)))
    for seen in by_key.values():
        assert len({partition for partition, _, _ in seen}) == 1
        assert [value for _, _, value in seen] == sorted(value for _, _, value in seen)
    assert len(records) == 30


def test_uncommitted_records_are_delivered_again_after_a_restart(tmp_path: Path) -> None:
    # Given ten records, of which a consumer committed the first four
    queue = EmbeddedQueue(tmp_path, "events", partitions=1)
    queue.publish([(b"k", str(i).encode()) for i in range(10)])
    reader = queue.reader("g")
    first = reader.poll(max_records=4, timeout_s=0)
    reader.commit(first)
    reader.poll(max_records=6, timeout_s=0)  # handed out, never committed (the consumer died)
    # When a new consumer of the group starts
    again = EmbeddedQueue(tmp_path, "events", partitions=1).reader("g").poll(max_records=100, timeout_s=0)
    # Then it gets exactly the six that were not committed
    assert [r.value for r in again] == [str(i).encode() for i in range(4, 10)]


def test_rewind_hands_out_the_uncommitted_batch_again(tmp_path: Path) -> None:
    queue = EmbeddedQueue(tmp_path, "events", partitions=1)
    queue.publish([(b"k", b"a"), (b"k", b"b")])
    reader = queue.reader("g")
    assert [r.value for r in reader.poll(10, 0)] == [b"a", b"b"]
    reader.rewind()
    assert [r.value for r in reader.poll(10, 0)] == [b"a", b"b"]
    assert reader.lag() == 2


def test_a_torn_write_is_cut_and_nothing_after_it_is_lost(tmp_path: Path) -> None:
    # Given a log whose writer crashed halfway through a frame
    queue = EmbeddedQueue(tmp_path, "events", partitions=1)
    queue.publish([(b"k", b"whole-1"), (b"k", b"whole-2")])
    with open(queue.partition_path(0), "ab") as log:
        log.write(b"\x00\x00\x00\x09partial")
    # Then readers stop before the torn frame
    assert _all(queue) == [b"whole-1", b"whole-2"]
    # When a new writer opens the log and publishes
    EmbeddedQueue(tmp_path, "events", partitions=1).publish([(b"k", b"after-crash")])
    # Then the torn bytes are gone and every whole record is readable, in order
    assert _all(queue, "fresh") == [b"whole-1", b"whole-2", b"after-crash"]


def test_a_partition_rolls_into_segments_read_in_order_across_restarts(tmp_path: Path) -> None:
    # Given small segments and 300 records in 30 publishes
    queue = EmbeddedQueue(tmp_path, "events", partitions=1, segment_bytes=1024, retention_s=3600)
    for start in range(0, 300, 10):
        queue.publish([(b"k", f"{i:04d}".encode()) for i in range(start, start + 10)])
    # When a consumer commits the first 137 and a new one of the group starts
    reader = queue.reader("g")
    reader.commit(reader.poll(max_records=137, timeout_s=0))
    rest = EmbeddedQueue(tmp_path, "events", partitions=1).reader("g").poll(max_records=1000, timeout_s=0)
    # Then the log is in several segments named by their first offset, and the rest arrives in order
    bases = [base for base, _ in queue.segments(0)]
    assert len(bases) > 3 and bases == sorted(bases) and bases[0] == 0
    assert [r.offset for r in rest] == list(range(137, 300))
    assert [r.value for r in rest] == [f"{i:04d}".encode() for i in range(137, 300)]


def test_consumed_segments_past_the_retention_are_deleted_and_nothing_else(tmp_path: Path) -> None:
    # Given segments, one group that read everything and one that read nothing
    queue = EmbeddedQueue(tmp_path, "events", partitions=1, segment_bytes=1024, retention_s=0)
    for start in range(0, 300, 10):
        queue.publish([(b"k", f"{i:04d}".encode()) for i in range(start, start + 10)])
    segments = len(queue.segments(0))
    slow = queue.reader("slow")
    slow.commit([])
    fast = queue.reader("fast")
    # When the fast group commits everything, nothing may go while the slow group lags
    fast.commit(fast.poll(max_records=1000, timeout_s=0))
    assert len(queue.segments(0)) == segments
    # And when the slow group has committed everything too, every closed segment goes
    slow.commit(slow.poll(max_records=1000, timeout_s=0))
    assert len(queue.segments(0)) == 1
    # Then what is published next is read by both groups, with offsets going on from 300
    queue.publish([(b"k", b"next")])
    again = EmbeddedQueue(tmp_path, "events", partitions=1)
    for group in ("fast", "slow"):
        assert [(r.offset, r.value) for r in again.reader(group).poll(10, 0)] == [(300, b"next")]


def test_a_queue_in_the_single_file_layout_is_adopted_without_redelivery(tmp_path: Path) -> None:
    # Given a partition log and committed positions written before segments existed
    queue = EmbeddedQueue(tmp_path, "events", partitions=1)
    queue.publish([(b"k", b"a"), (b"k", b"b"), (b"k", b"c")])
    reader = queue.reader("g")
    reader.commit(reader.poll(max_records=2, timeout_s=0))
    segment = queue.partition_path(0)
    committed = queue.dir / "offsets-g.json"
    segment.rename(queue.dir / "00000.log")
    segment.parent.rmdir()
    offset, _, byte = orjson.loads(committed.read_bytes())["0"]
    committed.write_bytes(orjson.dumps({"0": [offset, byte]}))
    # When the queue is opened again
    adopted = EmbeddedQueue(tmp_path, "events", partitions=1)
    # Then the group goes on after what it had committed
    assert [r.value for r in adopted.reader("g").poll(10, 0)] == [b"c"]
