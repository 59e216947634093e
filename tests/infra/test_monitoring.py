"""The dashboard and alarms the program deploys (the Events Analytics API's Grafana panels)."""

from __future__ import annotations

import json

import pytest
from pulumi_mocks import ROOT, Deploy

from eventlens.manifest import load_manifest

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def test_every_function_and_the_api_have_panels_and_alarms_that_notify_one_topic(deploy: Deploy) -> None:
    # Given the repository's manifest
    manifest = load_manifest(ROOT / "functions")
    consumers = [name for name, spec in manifest.items() if spec.kafka]
    # When the program runs
    recording = deploy()
    functions = {r.name: r.outputs for r in recording.of_type("aws:lambda/function:Function")}
    api_id = recording.of_type("aws:apigatewayv2/api:Api")[0].id
    topic = recording.one("aws:sns/topic:Topic", "alarms").outputs["arn"]
    alarms = {r.name.removeprefix("alarm-"): r.inputs for r in recording.of_type(ALARM)}

    # Then the API has a 5xx alarm and a p99 latency alarm
    assert alarms["api-5xx"]["metricName"] == "5xx" and alarms["api-5xx"]["dimensions"] == {"ApiId": api_id}
    assert alarms["api-p99-latency"]["extendedStatistic"] == "p99"
    # And each Kafka consumer alarms on offset lag and on any dead letter
    assert consumers
    for name in consumers:
        lag = alarms[f"{name}-offset-lag"]
        assert (lag["namespace"], lag["metricName"]) == ("AWS/Lambda", "OffsetLag")
        assert lag["dimensions"] == {"FunctionName": functions[name]["name"]}
        dead = alarms[f"{name}-dead-letters"]
        assert (dead["metricName"], dead["threshold"], dead["dimensions"]) == (
            "DeadLettered",
            0,
            {"service": name},
        )
    # And every function alarms when throttled
    assert {n.removesuffix("-throttles") for n in alarms if n.endswith("-throttles")} == set(manifest)
    # And every alarm notifies the one topic, when it fires and when it clears
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [topic] and alarm["okActions"] == [topic]

    # And the dashboard shows the events, the lag, the API's latency percentiles and every function
    body = json.loads(
        recording.one("aws:cloudwatch/dashboard:Dashboard", "dashboard").inputs["dashboardBody"]
    )
    metrics = [m for widget in body["widgets"] for m in widget["properties"]["metrics"]]
    assert ["eventlens", "EventsAccepted", "service", "ingest"] in metrics
    assert all(
        ["AWS/Lambda", "OffsetLag", "FunctionName", functions[c]["name"]] in metrics for c in consumers
    )
    latency = [m[-1]["stat"] for m in metrics if m[:2] == ["AWS/ApiGateway", "Latency"]]
    assert latency == ["p50", "p95", "p99"]
    shown = {m[3] for m in metrics if m[:2] == ["AWS/Lambda", "Errors"]}
    assert shown == {f["name"] for f in functions.values()}
