"""predict: HTTP (API Gateway HTTP API) → AnModel's Models API: services, users, predictions."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.api import errors, predict_routes
from eventlens.observability import logger

app = APIGatewayHttpResolver(enable_validation=True)
errors.register(app)
app.include_router(predict_routes.router)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
