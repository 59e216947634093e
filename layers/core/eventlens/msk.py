"""MSK (Lambda Kafka event source mapping) events: to queue records, and back for the local runtime."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pybase64
from aws_lambda_powertools.utilities.data_classes import KafkaEvent

from eventlens.queue import QueuedRecord


def records_from_event(event: dict[str, Any]) -> list[QueuedRecord]:
    """The records of an MSK event, in partition and offset order, keys and values decoded."""
    kafka_event = KafkaEvent(event)
    records = []
    for record in kafka_event.records:
        raw = record.raw_event
        records.append(
            QueuedRecord(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                timestamp_ms=record.timestamp,
                key=pybase64.b64decode(raw["key"], validate=True) if raw.get("key") else b"",
                value=pybase64.b64decode(raw["value"], validate=True) if raw.get("value") else b"",
            )
        )
    return records


def event_from_records(
    records: Sequence[QueuedRecord],
    source_arn: str = "arn:aws:kafka:local:000000000000:cluster/eventlens-local/local",
    bootstrap: str = "local",
) -> dict[str, Any]:
    """An MSK event exactly as Lambda's event source mapping shapes it, holding ``records``."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(f"{record.topic}-{record.partition}", []).append(
            {
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "timestamp": record.timestamp_ms,
                "timestampType": "CREATE_TIME",
                "key": pybase64.b64encode(record.key).decode(),
                "value": pybase64.b64encode(record.value).decode(),
                "headers": [],
            }
        )
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": source_arn,
        "bootstrapServers": bootstrap,
        "records": grouped,
    }
