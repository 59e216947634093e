"""The API Gateway HTTP API: every route of the manifest, each allowed to invoke only its function."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig
from infra.functions import DeployedFunction


def http_api(config: StackConfig, functions: dict[str, DeployedFunction]) -> aws.apigatewayv2.Api | None:
    """The API, or None when no function serves HTTP."""
    routed = {name: deployed for name, deployed in sorted(functions.items()) if deployed.spec.http}
    if not routed:
        return None
    seen: dict[str, str] = {}
    for name, deployed in routed.items():
        for route in deployed.spec.http:
            key = f"{route.method} {route.path}"
            if key in seen:
                raise ValueError(f"route {key} is served by both {seen[key]} and {name}")
            seen[key] = name
    api = aws.apigatewayv2.Api("http", name=f"eventlens-{config.stack}", protocol_type="HTTP")
    for name, deployed in routed.items():
        integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_uri=deployed.function.arn,
            payload_format_version="2.0",  # the event shape APIGatewayHttpResolver reads
        )
        for route in deployed.spec.http:
            slug = f"{route.method}{route.path}".replace("/", "-").replace("{", "").replace("}", "").lower()
            aws.apigatewayv2.Route(
                f"route-{slug}",
                api_id=api.id,
                route_key=f"{route.method} {route.path}",
                target=pulumi.Output.concat("integrations/", integration.id),
            )
            # This route (any stage) may invoke this function; no other API or route may.
            aws.lambda_.Permission(
                f"invoke-{slug}",
                action="lambda:InvokeFunction",
                function=deployed.function.name,
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(api.execution_arn, "/*/", route.method, route.path),
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
        access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
            destination_arn=access_logs.arn,
            format='{"requestId":"$context.requestId","route":"$context.routeKey","status":"$context.status",'
            '"latencyMs":"$context.responseLatency","integrationError":"$context.integrationErrorMessage"}',
        ),
    )
    pulumi.export("api_url", stage.invoke_url)
    return api
