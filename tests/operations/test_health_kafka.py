"""Consume's lag on a real Kafka broker, as /health reads it: the consume group's committed offsets
against the topic's ends, read without joining the group. Lag is in offsets: a partition with
records waiting counts the transaction markers among them too (one per publish), a partition with
only markers past its commit counts nothing."""

from __future__ import annotations

import time
import uuid

import pytest

from eventlens.health import kafka_group_lag
from eventlens.queue import KafkaQueueReader, open_queue
from eventlens.settings import Settings

pytestmark = pytest.mark.kafka


def _records(n: int, prefix: str) -> list[tuple[bytes, bytes]]:
    return [(f"{prefix}-user-{i % 5}".encode(), b'{"n": %d}' % i) for i in range(n)]


def test_the_group_lag_is_what_the_group_has_not_committed(settings: Settings, kafka_bootstrap: str) -> None:
    kafka = settings.model_copy(
        update={
            "kafka_bootstrap": kafka_bootstrap,
            "kafka_topic": f"lag-{uuid.uuid4().hex[:10]}",
            "kafka_consumer_group": f"consume-{uuid.uuid4().hex[:10]}",
            "kafka_send_timeout_s": 5.0,
        }
    )
    queue = open_queue(kafka)
    reader = KafkaQueueReader(kafka_bootstrap, kafka.kafka_topic, kafka.kafka_consumer_group)
    try:
        # Given 12 records published (in one transaction) that the group has never read
        queue.publish(_records(12, "a"))
        # Then all of them wait, with at most a commit marker in each partition
        assert 12 <= kafka_group_lag(kafka) <= 12 + kafka.kafka_partitions

        # When the group reads and commits them (its consumer keeps its partitions meanwhile)
        seen = 0
        deadline = time.monotonic() + 60
        while seen < 12 and time.monotonic() < deadline:
            records = reader.poll(max_records=1000, timeout_s=1.0)
            seen += len(records)
            if records:
                reader.commit(records)
        assert seen == 12
        # Then none waits, though each partition's end is past the commit by a transaction marker
        assert kafka_group_lag(kafka) == 0

        # When 5 more arrive, the lag is those 5 and the markers around them (the last commit's and
        # this publish's, in each partition); reading it took nothing from the group's consumer
        queue.publish(_records(5, "b"))
        assert 5 <= kafka_group_lag(kafka) <= 5 + 2 * kafka.kafka_partitions
        more = 0
        deadline = time.monotonic() + 60
        while more < 5 and time.monotonic() < deadline:
            more += len(reader.poll(max_records=1000, timeout_s=1.0))
        assert more == 5
    finally:
        reader.close()
        queue.close()


def test_an_unreachable_broker_is_an_unknown_lag_not_a_hang(settings: Settings) -> None:
    from eventlens.errors import QueueUnavailable

    kafka = settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:9", "kafka_send_timeout_s": 2.0})
    started = time.monotonic()
    with pytest.raises(QueueUnavailable):
        kafka_group_lag(kafka, timeout_s=2.0)
    assert time.monotonic() - started < 15
