"""report: HTTP (API Gateway HTTP API) → analytics reports from the warehouse, the health check, and
the whole API's OpenAPI document and docs page."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.api import (
    docs_routes,
    errors,
    insights_routes,
    lifestream_routes,
    memory_routes,
    pattern_routes,
    report_routes,
    telemetry_routes,
    viewing_routes,
)
from eventlens.components import Components
from eventlens.observability import logger
from eventlens.settings import get_settings

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own

app = APIGatewayHttpResolver(enable_validation=True)
errors.register(app)
app.include_router(report_routes.router)
app.include_router(viewing_routes.router)
app.include_router(lifestream_routes.router)
app.include_router(memory_routes.router)
app.include_router(pattern_routes.router)
app.include_router(telemetry_routes.router)
app.include_router(insights_routes.router)
app.include_router(docs_routes.router)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    app.append_context(parts=parts)
    return app.resolve(event, context)
