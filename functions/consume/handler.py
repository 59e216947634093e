"""consume: Kafka (MSK event source mapping) → events in the warehouse, bad records dead-lettered.

The whole invocation is one warehouse batch (chDB and ClickHouse pay per INSERT, not per row), so
Powertools' per-record BatchProcessor is not used: a record that cannot be stored is dead-lettered
with its reason, and a warehouse failure raises so the event source mapping redelivers the batch.
"""

from dataclasses import asdict

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens import msk
from eventlens.batching import tune_gc_for_batches
from eventlens.components import Components
from eventlens.consume import store_records
from eventlens.observability import count, logger, metrics
from eventlens.settings import get_settings

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own

tune_gc_for_batches()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    result = store_records(
        msk.records_from_event(event), parts.warehouse, parts.dead_letters, parts.suppressions.current()
    )
    count("EventsStored", result.stored)
    count("DeadLettered", result.dead_lettered)
    count("EventsSuppressed", result.suppressed)
    logger.info("batch stored", extra=asdict(result))
    return {"batchItemFailures": [], **asdict(result)}
