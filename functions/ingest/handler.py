"""ingest: HTTP (API Gateway HTTP API) → validated events on the queue, keyed by user: eventlens's own
routes, the reference systems' and the analytics SDKs' (Segment, PostHog, Snowplow)."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from eventlens.api import errors, ingest_routes, sdk_routes
from eventlens.batching import tune_gc_for_batches
from eventlens.components import Components
from eventlens.observability import logger, metrics
from eventlens.settings import get_settings

parts = Components(get_settings())  # opened on first use; the local runtime hands in its own

app = APIGatewayHttpResolver(enable_validation=True)
errors.register(app)
app.include_router(ingest_routes.router)
app.include_router(sdk_routes.router)

tune_gc_for_batches()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    app.append_context(parts=parts)
    return app.resolve(event, context)
