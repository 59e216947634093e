"""export: Step Functions tasks → the projects an execution trains, and one project's new days as
Parquet partitions.

The state machine names the step in ``action`` ("projects", "export"); each is one domain function of
``eventlens.ml.export`` with its own input and output model.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.components import Components
from eventlens.ml.contracts import ExportSummary, export_step
from eventlens.ml.export import run_step
from eventlens.observability import count, logger, metrics
from eventlens.settings import get_settings

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    step = export_step.validate_python(event)
    result = run_step(parts.warehouse, parts.objects, step, parts.settings)
    if isinstance(result, ExportSummary):
        count("EventsExported", result.rows)
    logger.info(f"{step.action} done", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")
