"""mining: nightly schedule → the Pattern Miner: Life Stream places, routines, habits, meetings and
insights into the graph."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.components import Components
from eventlens.mining.miner import MiningRequest, mine_active_users
from eventlens.observability import count, logger, metrics
from eventlens.settings import get_settings

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = MiningRequest.model_validate(event or {})
    run = mine_active_users(parts.warehouse, parts.graph, parts.settings, request, chat=parts.chat_model)
    count("UsersMined", run.users)
    logger.info("mining done", extra=run.model_dump(mode="json"))
    return run.model_dump(mode="json")
