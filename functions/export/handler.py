"""export: Step Functions task (and nightly schedule) → the warehouse's new days as Parquet partitions."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens import components
from eventlens.ml.contracts import PipelineInput
from eventlens.ml.export import export_events
from eventlens.observability import count, logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    parts = components.current()
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
