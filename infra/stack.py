"""The whole system from the manifest: what ``__main__`` runs and what the tests run under mocks."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from eventlens.manifest import load_manifest
from eventlens_tools.build import Artifacts
from infra import api, console, kafka, keys, monitoring, schedules, state_machines, storage
from infra.account import current_account
from infra.config import StackConfig
from infra.credentials import credentials
from infra.functions import DeployedFunction, Shared, deploy_function
from infra.layers import layers
from infra.network import network
from infra.routes import route_table


@dataclass(frozen=True)
class Deployment:
    functions: dict[str, DeployedFunction]
    api: aws.apigatewayv2.Api | None
    state_machines: dict[str, aws.sfn.StateMachine]
    buckets: storage.Buckets
    keys_table: aws.dynamodb.Table
    kafka: kafka.Kafka
    console: console.ConsoleSite | None = None


def deploy(config: StackConfig, artifacts: Artifacts) -> Deployment:
    """Declare every resource of the stack ``config`` describes, from ``artifacts`` built beforehand."""
    manifest = load_manifest(config.functions_dir)
    routes = route_table(manifest)
    account = current_account()
    buckets = storage.buckets(config)
    net = network(config)
    cluster = kafka.kafka(config, net)
    keys_table = keys.keys_table(config)
    shared = Shared(
        config=config,
        account=account,
        artifacts=artifacts,
        layers=layers(config, artifacts, buckets.artifacts),
        buckets=buckets,
        keys_table=keys_table,
        routes=routes,
        kafka=cluster,
        network=net,
        credentials=credentials(config),
    )
    deployed = {name: deploy_function(function, shared) for name, function in sorted(manifest.items())}
    for item in deployed.values():
        kafka.event_source_mappings(
            item.spec, item.function, cluster, net, buckets.failed_batches, config, depends_on=[item.policy]
        )
    schedules.schedules(deployed, account)
    machines = state_machines.state_machines(
        config.state_machines_dir, deployed, account, config.functions_dir
    )
    # The web console, where there is an API for it to call: a private bucket behind CloudFront.
    site = console.console_site(config, account.region) if routes.functions else None
    http = api.http_api(config, deployed, routes, console_origin=site.origin if site else None)
    if site is not None and http is not None:
        console.upload(site, http.api_endpoint)
    monitoring.monitoring(config, deployed, http)
    storage.export(buckets)
    pulumi.export("kafka_bootstrap", cluster.bootstrap)
    pulumi.export("functions", {name: item.function.name for name, item in deployed.items()})
    return Deployment(deployed, http, machines, buckets, keys_table, cluster, site)
