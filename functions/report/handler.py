"""report: HTTP (API Gateway HTTP API) → analytics reports from the warehouse, and the health check."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.api import (
    errors,
    lifestream_routes,
    pattern_routes,
    report_routes,
    telemetry_routes,
    viewing_routes,
)
from eventlens.components import Components
from eventlens.observability import logger
from eventlens.settings import get_settings

TITLE = "eventlens reports"

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own

app = APIGatewayHttpResolver(enable_validation=True)
errors.register(app)
app.include_router(report_routes.router)
app.include_router(viewing_routes.router)
app.include_router(lifestream_routes.router)
app.include_router(pattern_routes.router)
app.include_router(telemetry_routes.router)
app.enable_swagger(path="/docs", title=TITLE)


@app.get("/openapi.json", include_in_schema=False)
def get_openapi() -> Response[Any]:
    """The OpenAPI document of these routes (the docs page at /docs shows it)."""
    return Response(200, content_types.APPLICATION_JSON, app.get_openapi_json_schema(title=TITLE))


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    app.append_context(parts=parts)
    return app.resolve(event, context)
