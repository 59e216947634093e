"""persons: HTTP (API Gateway HTTP API) → erasure of a person from the caller's project."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.api import errors, persons_routes
from eventlens.components import Components
from eventlens.observability import logger
from eventlens.settings import get_settings

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own

app = APIGatewayHttpResolver(enable_validation=True)
errors.register(app)
app.include_router(persons_routes.router)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    app.append_context(parts=parts)
    return app.resolve(event, context)
