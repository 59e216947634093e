"""export: Step Functions task (and nightly schedule) → the warehouse's new days as Parquet partitions."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.components import Components
from eventlens.ml.contracts import PipelineInput
from eventlens.ml.export import export_events
from eventlens.observability import count, logger, metrics
from eventlens.settings import get_settings

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    result = export_events(
        parts.warehouse,
        parts.objects,
        PipelineInput.model_validate(event or {}),
        parts.settings.export_part_rows,
    )
    count("EventsExported", result.rows)
    logger.info(
        "export done",
        extra={"rows": result.rows, "files": len(result.files), "watermark": str(result.watermark)},
    )
    return result.summary().model_dump(mode="json")
