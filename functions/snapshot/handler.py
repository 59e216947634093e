"""snapshot: Step Functions task → one project's training and daily feature snapshots from its
exported Parquet."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.components import Components
from eventlens.ml.contracts import SnapshotRequest
from eventlens.ml.snapshot import build_snapshots
from eventlens.observability import logger
from eventlens.settings import get_settings

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = SnapshotRequest.model_validate(event)
    result = build_snapshots(parts.objects, request, parts.settings)
    logger.info(
        "snapshots built",
        extra={
            "project_id": request.project_id,
            **result.model_dump(mode="json", exclude={"training_dates"}),
        },
    )
    return result.model_dump(mode="json")
