"""Kafka: an MSK Serverless cluster (or your own bootstrap) and an event source mapping per trigger."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi_aws.lambda_ import EventSourceMappingAmazonManagedKafkaEventSourceConfigArgs as MskConsumerArgs
from pulumi_aws.lambda_ import (
    EventSourceMappingSelfManagedKafkaEventSourceConfigArgs as SelfManagedConsumerArgs,
)

from eventlens.manifest import Function
from infra.config import StackConfig
from infra.network import Network
from infra.policies import consumer_group


@dataclass(frozen=True)
class Kafka:
    bootstrap: pulumi.Input[str]
    cluster: aws.msk.ServerlessCluster | None  # None: a Kafka of your own


def kafka(config: StackConfig, network: Network | None) -> Kafka:
    if not config.uses_msk:
        return Kafka(bootstrap=config.kafka_bootstrap or "", cluster=None)
    assert network is not None  # network() always gives MSK one
    cluster = aws.msk.ServerlessCluster(
        "kafka",
        cluster_name=f"eventlens-{config.stack}",
        vpc_configs=[
            aws.msk.ServerlessClusterVpcConfigArgs(
                subnet_ids=network.subnet_ids, security_group_ids=network.security_group_ids
            )
        ],
        # MSK Serverless speaks IAM only: who may read or write is decided by each function's role.
        client_authentication=aws.msk.ServerlessClusterClientAuthenticationArgs(
            sasl=aws.msk.ServerlessClusterClientAuthenticationSaslArgs(
                iam=aws.msk.ServerlessClusterClientAuthenticationSaslIamArgs(enabled=True)
            )
        ),
    )
    return Kafka(bootstrap=cluster.bootstrap_brokers_sasl_iam, cluster=cluster)


def event_source_mappings(
    function: Function,
    lambda_function: aws.lambda_.Function,
    kafka: Kafka,
    network: Network | None,
    failed_batches: aws.s3.Bucket,
    config: StackConfig,
    depends_on: list[pulumi.Resource],
) -> list[aws.lambda_.EventSourceMapping]:
    """One mapping per Kafka trigger of ``function``, reporting per-record failures."""
    mappings = []
    for index, trigger in enumerate(function.kafka):
        source: dict[str, object]
        if kafka.cluster is not None:
            source = {
                "event_source_arn": kafka.cluster.arn,
                "amazon_managed_kafka_event_source_config": MskConsumerArgs(
                    consumer_group_id=consumer_group(function)
                ),
            }
        else:
            source = {
                "self_managed_event_source": aws.lambda_.EventSourceMappingSelfManagedEventSourceArgs(
                    endpoints={"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}
                ),
                "self_managed_kafka_event_source_config": SelfManagedConsumerArgs(
                    consumer_group_id=consumer_group(function)
                ),
                "source_access_configurations": _vpc_access(network),
            }
        mappings.append(
            aws.lambda_.EventSourceMapping(  # type: ignore[call-overload]
                f"{function.name}-kafka-{index}",
                function_name=lambda_function.arn,
                topics=[trigger.topic],
                starting_position=trigger.starting_position,
                batch_size=trigger.batch_size,
                maximum_batching_window_in_seconds=trigger.maximum_batching_window_s,
                # consume answers batchItemFailures; Kafka mappings honour them in provisioned mode.
                function_response_types=["ReportBatchItemFailures"],
                provisioned_poller_config=aws.lambda_.EventSourceMappingProvisionedPollerConfigArgs(
                    minimum_pollers=1, maximum_pollers=config.kafka_max_pollers
                ),
                destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                    on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                        destination_arn=failed_batches.arn
                    )
                ),
                opts=pulumi.ResourceOptions(depends_on=depends_on),
                **source,
            )
        )
    return mappings


def _vpc_access(network: Network | None) -> list[aws.lambda_.EventSourceMappingSourceAccessConfigurationArgs]:
    if network is None:
        return []
    return [
        *(
            aws.lambda_.EventSourceMappingSourceAccessConfigurationArgs(
                type="VPC_SUBNET", uri=pulumi.Output.concat("subnet:", s)
            )
            for s in network.subnet_ids
        ),
        *(
            aws.lambda_.EventSourceMappingSourceAccessConfigurationArgs(
                type="VPC_SECURITY_GROUP", uri=pulumi.Output.concat("security_group:", g)
            )
            for g in network.security_group_ids
        ),
    ]
