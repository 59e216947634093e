"""authorizer: API Gateway HTTP API Lambda authorizer (payload 2.0, simple responses) → may this
request's key call its route, and as which project."""

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.authorizer import authorize
from eventlens.components import Components
from eventlens.observability import logger
from eventlens.settings import get_settings

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerEventV2)
def lambda_handler(event: APIGatewayAuthorizerEventV2, context: LambdaContext) -> dict:
    decision = authorize(parts.keys, event.route_key, event.headers, parts.settings.write_routes)
    if not decision.authorized:
        logger.info("request refused", extra={"route": event.route_key, "reason": decision.reason})
    return APIGatewayAuthorizerResponseV2(decision.authorized, decision.context).asdict()
