"""training: Step Functions tasks → train a candidate, evaluate it against the promoted model, promote
(each in the project the step names).

The state machine names the step in ``action`` ("train", "evaluate", "promote"); each is one
domain function of ``eventlens.ml.training`` with its own input and output model.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.components import Components
from eventlens.ml.contracts import training_step
from eventlens.ml.training import run_step
from eventlens.observability import logger
from eventlens.settings import get_settings

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    step = training_step.validate_python(event)
    result = run_step(parts.objects, step, parts.settings)
    logger.info(
        f"{step.action} done",
        extra={"project_id": step.project_id, **result.model_dump(mode="json", exclude={"artifacts"})},
    )
    return result.model_dump(mode="json")
