"""The API Gateway HTTP API: every route of the manifest, each allowed to invoke only its function,
each but the public ones behind the Lambda authorizer, and the stage throttled as the outer guard."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from eventlens.api.access import REFERENCE_INGEST_ROUTES, REFERENCE_READ_ROUTES, SDK_INGEST_ROUTES
from infra.config import StackConfig
from infra.functions import DeployedFunction
from infra.routes import RouteTable

# The authorizer's cache key: the key and the route. With the key alone, a write key's "allow" cached
# on an ingest route would let that key read for as long as the answer is cached.
IDENTITY_SOURCES = ["$request.header.Authorization", "$context.routeKey"]


def http_api(
    config: StackConfig,
    functions: dict[str, DeployedFunction],
    routes: RouteTable,
    console_origin: pulumi.Input[str] | None = None,
) -> aws.apigatewayv2.Api | None:
    """The API, or None when no function serves HTTP. ``console_origin`` (the web console's) may call
    it from a browser: API Gateway answers its preflight requests and marks the answers for it alone."""
    if not routes.functions:
        return None
    api = aws.apigatewayv2.Api(
        "http",
        name=f"eventlens-{config.stack}",
        protocol_type="HTTP",
        cors_configuration=aws.apigatewayv2.ApiCorsConfigurationArgs(
            allow_origins=[console_origin],
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["authorization", "content-type"],
            allow_credentials=False,  # the key travels in a header, never in a cookie
            max_age=3600,
        )
        if console_origin is not None
        else None,
    )
    authorizer = _authorizer(config, api, functions, routes)
    integrations = {
        name: aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_uri=functions[name].function.arn,
            payload_format_version="2.0",  # the event shape APIGatewayHttpResolver reads
        )
        for name in sorted(set(routes.functions.values()))
    }
    for route_key, name in sorted(routes.functions.items()):
        method, path = route_key.split(" ", 1)
        slug = f"{method}{path}".replace("/", "-").replace("{", "").replace("}", "").lower()
        # Closed unless the manifest says public: the authorizer answers before the function runs.
        # A keyless reference route is checked by its function alone (see StackConfig), and so is an
        # analytics SDK's route: its SDK sends the key in the body or a header of its own, where the
        # authorizer (whose identity source is Authorization) cannot see it (eventlens.api.access).
        keyless = path_pattern(path) in keyless_routes(config.keyless_reference_routes)
        own_check = keyless or path in SDK_INGEST_ROUTES
        guard = authorizer if routes.access[route_key] is not None and not own_check else None
        aws.apigatewayv2.Route(
            f"route-{slug}",
            api_id=api.id,
            route_key=route_key,
            target=pulumi.Output.concat("integrations/", integrations[name].id),
            authorization_type="CUSTOM" if guard else "NONE",
            authorizer_id=guard.id if guard else None,
        )
        # This route (any stage) may invoke this function; no other API or route may.
        aws.lambda_.Permission(
            f"invoke-{slug}",
            action="lambda:InvokeFunction",
            function=functions[name].function.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(api.execution_arn, "/*/", method, path),
        )
    access_logs = aws.cloudwatch.LogGroup(
        "http-access-logs",
        name=f"/eventlens/{config.stack}/http-api",
        retention_in_days=config.log_retention_days,
    )
    stage = aws.apigatewayv2.Stage(
        "http-default",
        api_id=api.id,
        name="$default",
        auto_deploy=True,
        # All clients together; each client's own limit is the functions' (eventlens.ratelimit).
        default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
            throttling_rate_limit=config.throttling_rate_limit,
            throttling_burst_limit=config.throttling_burst_limit,
        ),
        access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
            destination_arn=access_logs.arn,
            format='{"requestId":"$context.requestId","route":"$context.routeKey","status":"$context.status",'
            '"latencyMs":"$context.responseLatency","integrationError":"$context.integrationErrorMessage",'
            '"project":"$context.authorizer.project_id","authorizerError":"$context.authorizer.error"}',
        ),
    )
    pulumi.export("api_url", stage.invoke_url)
    return api


def keyless_routes(choice: str) -> frozenset[str]:
    """The reference routes deployed without the authorizer, by the stack's choice."""
    chosen = {
        "none": frozenset[str](),
        "ingest": REFERENCE_INGEST_ROUTES,
        "read": REFERENCE_READ_ROUTES,
        "both": REFERENCE_INGEST_ROUTES | REFERENCE_READ_ROUTES,
    }
    if choice not in chosen:
        raise ValueError(f"keylessReferenceRoutes is {choice!r}; one of {sorted(chosen)}")
    return chosen[choice]


def path_pattern(path: str) -> str:
    """A manifest path (``/a/{id}``) as the routers write it (``/a/<id>``)."""
    return path.replace("{", "<").replace("}", ">")


def _authorizer(
    config: StackConfig,
    api: aws.apigatewayv2.Api,
    functions: dict[str, DeployedFunction],
    routes: RouteTable,
) -> aws.apigatewayv2.Authorizer | None:
    """The manifest's authorizer function as the API's REQUEST authorizer; None when every route is
    public. A route that takes a key with no authorizer to check it stops the deployment."""
    if not routes.protected:
        return None
    found = [deployed for _, deployed in sorted(functions.items()) if deployed.spec.authorizer]
    if not found:
        raise ValueError(
            f"routes {routes.protected} take an API key, and the manifest has no authorizer "
            "(a function with authorizer = true); make it, or list the routes as public"
        )
    deployed = found[0]
    authorizer = aws.apigatewayv2.Authorizer(
        "api-keys",
        api_id=api.id,
        name="api-keys",
        authorizer_type="REQUEST",
        authorizer_uri=deployed.function.invoke_arn,
        authorizer_payload_format_version="2.0",
        enable_simple_responses=True,  # {"isAuthorized": ..., "context": {"project_id": ..., "kind": ...}}
        identity_sources=IDENTITY_SOURCES,
        authorizer_result_ttl_in_seconds=config.authorizer_cache_seconds,
    )
    # This API's authorizers may invoke the authorizer function; no route, no other API.
    aws.lambda_.Permission(
        "invoke-authorizer",
        action="lambda:InvokeFunction",
        function=deployed.function.name,
        principal="apigateway.amazonaws.com",
        source_arn=pulumi.Output.concat(api.execution_arn, "/authorizers/", authorizer.id),
    )
    return authorizer
