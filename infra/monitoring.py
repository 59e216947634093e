"""What the Events Analytics API showed in Grafana, as a CloudWatch dashboard, and alarms on it.

Panels: events received, stored and dead-lettered per second (the functions' EMF metrics), the
consumer's offset lag, API latency p50/p95/p99, throughput and 4xx/5xx, each function's errors,
throttles and duration. Alarms, sent to one SNS topic: API 5xx, API p99 latency, consumer offset
lag, any dead letter, and any throttle of any function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig
from infra.functions import DeployedFunction

NAMESPACE = "eventlens"  # POWERTOOLS_METRICS_NAMESPACE of every function
PERIOD = 60


@dataclass(frozen=True)
class Thresholds:
    api_5xx_per_minute: int = 5
    api_p99_latency_ms: int = 2_000
    consumer_offset_lag: int = 100_000


def monitoring(
    config: StackConfig,
    functions: dict[str, DeployedFunction],
    api: aws.apigatewayv2.Api | None,
    thresholds: Thresholds = Thresholds(),
) -> aws.cloudwatch.Dashboard:
    """The dashboard and the alarms; alarms notify the exported ``alarm_topic``."""
    topic = aws.sns.Topic("alarms", name=f"eventlens-{config.stack}-alarms")
    names = {name: deployed.function.name for name, deployed in sorted(functions.items())}
    consumers = [name for name, deployed in sorted(functions.items()) if deployed.spec.kafka]
    api_id: pulumi.Input[str] = api.id if api is not None else ""
    dashboard = aws.cloudwatch.Dashboard(
        "dashboard",
        dashboard_name=f"eventlens-{config.stack}",
        dashboard_body=pulumi.Output.all(names=names, api_id=api_id).apply(
            lambda a: json.dumps(_dashboard(a["names"], consumers, a["api_id"] or None))
        ),
    )
    if api is not None:
        _alarm(
            "api-5xx", topic, "the HTTP API answered 5xx", "AWS/ApiGateway", "5xx",
            {"ApiId": api.id}, "Sum", thresholds.api_5xx_per_minute,
        )  # fmt: skip
        _alarm(
            "api-p99-latency", topic, "HTTP API p99 latency", "AWS/ApiGateway", "Latency",
            {"ApiId": api.id}, None, thresholds.api_p99_latency_ms, extended_statistic="p99",
        )  # fmt: skip
    for name in consumers:
        _alarm(
            f"{name}-offset-lag", topic, f"{name} falls behind the topic", "AWS/Lambda", "OffsetLag",
            {"FunctionName": functions[name].function.name}, "Maximum", thresholds.consumer_offset_lag,
        )  # fmt: skip
        _alarm(
            f"{name}-dead-letters", topic, f"{name} dead-lettered events", NAMESPACE, "DeadLettered",
            {"service": name}, "Sum", 0,
        )  # fmt: skip
    for name, deployed in sorted(functions.items()):
        _alarm(
            f"{name}-throttles", topic, f"{name} was throttled", "AWS/Lambda", "Throttles",
            {"FunctionName": deployed.function.name}, "Sum", 0,
        )  # fmt: skip
    pulumi.export("alarm_topic", topic.arn)
    pulumi.export("dashboard", dashboard.dashboard_name)
    return dashboard


def _alarm(
    name: str,
    topic: aws.sns.Topic,
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, pulumi.Input[str]],
    statistic: str | None,
    threshold: float,
    extended_statistic: str | None = None,
) -> aws.cloudwatch.MetricAlarm:
    """Fires when the metric is over ``threshold`` for 3 of the last 5 minutes; no data is fine."""
    return aws.cloudwatch.MetricAlarm(
        f"alarm-{name}",
        alarm_description=description,
        namespace=namespace,
        metric_name=metric,
        dimensions=dimensions,
        statistic=statistic,
        extended_statistic=extended_statistic,
        period=PERIOD,
        evaluation_periods=5,
        datapoints_to_alarm=3,
        threshold=threshold,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=[topic.arn],
        ok_actions=[topic.arn],
    )


def _dashboard(names: dict[str, str], consumers: list[str], api_id: str | None) -> dict[str, Any]:
    def panel(title: str, metrics: list[list[Any]], stat: str = "Sum", width: int = 12) -> dict[str, Any]:
        return {
            "type": "metric",
            "width": width,
            "height": 6,
            "properties": {
                "title": title,
                "metrics": metrics,
                "stat": stat,
                "period": PERIOD,
                "view": "timeSeries",
            },
        }

    per_function = lambda metric: [["AWS/Lambda", metric, "FunctionName", fn] for fn in names.values()]  # noqa: E731
    widgets = [
        panel(
            "Events per minute: received, rejected, stored, dead-lettered",
            [
                [NAMESPACE, "EventsAccepted", "service", "ingest"],
                [NAMESPACE, "EventsRejected", "service", "ingest"],
                *[[NAMESPACE, "EventsStored", "service", c] for c in consumers],
                *[[NAMESPACE, "DeadLettered", "service", c] for c in consumers],
            ],
        ),
        panel(
            "Consumer offset lag (records)",
            [["AWS/Lambda", "OffsetLag", "FunctionName", names[c]] for c in consumers],
            stat="Maximum",
        ),
    ]
    if api_id:
        widgets += [
            panel(
                "API latency p50 / p95 / p99 (ms)",
                [["AWS/ApiGateway", "Latency", "ApiId", api_id, {"stat": s}] for s in ("p50", "p95", "p99")],
                stat="p50",
            ),
            panel(
                "API requests, 4xx, 5xx",
                [["AWS/ApiGateway", m, "ApiId", api_id] for m in ("Count", "4xx", "5xx")],
            ),
        ]
    widgets += [
        panel("Function errors", per_function("Errors"), width=8),
        panel("Function throttles", per_function("Throttles"), width=8),
        panel("Function duration p95 (ms)", per_function("Duration"), stat="p95", width=8),
    ]
    return {"widgets": widgets}
