"""snapshot: Step Functions task → training and daily feature snapshots from the exported Parquet."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens import components
from eventlens.ml.contracts import SnapshotRequest
from eventlens.ml.snapshot import build_snapshots
from eventlens.observability import logger


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    parts = components.current()
    result = build_snapshots(parts.objects, SnapshotRequest.model_validate(event), parts.settings)
    logger.info("snapshots built", extra=result.model_dump(mode="json", exclude={"training_dates"}))
    return result.model_dump(mode="json")
