"""report: HTTP (API Gateway HTTP API) → analytics reports from the warehouse, and the health check."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.api import errors, report_routes
from eventlens.observability import logger

app = APIGatewayHttpResolver(enable_validation=True)
errors.register(app)
app.include_router(report_routes.router)
app.enable_swagger(path="/docs", title="eventlens reports")


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
