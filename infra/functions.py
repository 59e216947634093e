"""One Lambda function per manifest entry: its log group, its own role and policy, its settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from eventlens.manifest import Function
from eventlens.settings import Settings
from eventlens_tools.build import PYTHON_VERSION, Artifacts
from infra import policies
from infra.account import Account
from infra.config import StackConfig
from infra.credentials import Credentials
from infra.kafka import Kafka
from infra.network import Network
from infra.routes import RouteTable
from infra.storage import Buckets

LAMBDA_HOME = "/tmp/eventlens"  # the only writable directory of a Lambda container


@dataclass(frozen=True)
class Shared:
    """What every function may be wired to."""

    config: StackConfig
    account: Account
    artifacts: Artifacts
    layers: list[aws.lambda_.LayerVersion]
    buckets: Buckets
    keys_table: aws.dynamodb.Table
    routes: RouteTable
    kafka: Kafka
    network: Network | None
    credentials: Credentials


@dataclass(frozen=True)
class DeployedFunction:
    spec: Function
    function: aws.lambda_.Function
    role: aws.iam.Role
    policy: aws.iam.RolePolicy


def setting(field: str) -> str:
    """The environment name the code reads for a settings field (settings.py is the one source)."""
    alias = Settings.model_fields[field].alias
    assert alias is not None
    return alias


def environment(function: Function, shared: Shared) -> dict[str, pulumi.Input[str]]:
    """The function's settings: only those its needs call for, under the names the code reads."""
    unknown = set(shared.config.settings) - {f.alias for f in Settings.model_fields.values()}
    if unknown:
        raise ValueError(f"eventlens:settings names no setting of eventlens.settings: {sorted(unknown)}")
    variables: dict[str, pulumi.Input[str]] = {
        setting("home"): LAMBDA_HOME,
        "POWERTOOLS_SERVICE_NAME": function.name,
        "POWERTOOLS_METRICS_NAMESPACE": "eventlens",
        **shared.config.settings,
    }
    if "kafka" in function.needs:
        variables[setting("kafka_bootstrap")] = shared.kafka.bootstrap
        variables[setting("kafka_topic")] = shared.config.kafka_topic
        if shared.kafka.cluster is not None:  # MSK Serverless accepts IAM-authenticated clients only
            variables[setting("kafka_auth")] = "iam"
    if "bucket" in function.needs or "bucket:read" in function.needs:
        variables[setting("bucket")] = shared.buckets.data.bucket
    if "secrets:clickhouse" in function.needs:
        variables[setting("clickhouse_database")] = shared.config.clickhouse_database
    if {"keys", "keys:read", "privacy", "privacy:read"} & set(function.needs):
        variables[setting("keys_table")] = shared.keys_table.name
    if function.authorizer:
        if "keys" not in function.needs and "keys:read" not in function.needs:
            raise ValueError(f"function {function.name}: an authorizer needs 'keys:read' to read the keys")
        variables[setting("write_routes")] = json.dumps(shared.routes.write_routes)
    for need in function.needs:
        variables.update(shared.credentials.environment.get(need, {}))
    return variables


def deploy_function(function: Function, shared: Shared) -> DeployedFunction:
    config = shared.config
    # Kept for a set time, not forever; the function writes here instead of /aws/lambda/<name>.
    log_group = aws.cloudwatch.LogGroup(
        f"{function.name}-logs",
        name=f"/eventlens/{config.stack}/{function.name}",
        retention_in_days=config.log_retention_days,
    )
    role = aws.iam.Role(
        f"{function.name}-role",
        description=f"eventlens {function.name}: only what functions/manifest.toml says it needs",
        assume_role_policy=shared.account.id.apply(
            lambda account: policies.assume_role("lambda.amazonaws.com", account)
        ),
    )
    in_vpc = "kafka" in function.needs and shared.network is not None
    kafka_enis = bool(function.kafka) and shared.network is not None
    policy = aws.iam.RolePolicy(
        f"{function.name}-policy",
        role=role.id,
        policy=_policy(function, shared, log_group, in_vpc=in_vpc, kafka_enis=kafka_enis),
    )
    package = _package(function, shared)
    lambda_function = aws.lambda_.Function(  # type: ignore[call-overload]
        function.name,
        description=function.description,
        role=role.arn,
        memory_size=function.memory,
        timeout=function.timeout,
        architectures=["x86_64"],
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment(function, shared)),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
        vpc_config=aws.lambda_.FunctionVpcConfigArgs(
            subnet_ids=shared.network.subnet_ids, security_group_ids=shared.network.security_group_ids
        )
        if in_vpc and shared.network is not None
        else None,
        opts=pulumi.ResourceOptions(depends_on=[policy]),
        **package,
    )
    return DeployedFunction(function, lambda_function, role, policy)


def _policy(
    function: Function, shared: Shared, log_group: aws.cloudwatch.LogGroup, *, in_vpc: bool, kafka_enis: bool
) -> pulumi.Output[str]:
    network = shared.network
    arns = pulumi.Output.all(
        partition=shared.account.partition,
        region=shared.account.region,
        account=shared.account.id,
        log_group_arn=log_group.arn,
        data_bucket_arn=shared.buckets.data.arn,
        failed_batches_bucket_arn=shared.buckets.failed_batches.arn,
        keys_table_arn=shared.keys_table.arn,
        kafka_cluster_arn=shared.kafka.cluster.arn if shared.kafka.cluster is not None else None,
        subnet_ids=network.subnet_ids if network else [],
        security_group_ids=network.security_group_ids if network else [],
    )

    def build(values: dict[str, Any]) -> str:
        grants = policies.Grants(
            kafka_topic=shared.config.kafka_topic,
            subnet_ids=tuple(values.pop("subnet_ids")),
            security_group_ids=tuple(values.pop("security_group_ids")),
            **values,
        )
        return policies.document(
            policies.function_statements(function, grants, in_vpc=in_vpc, kafka_enis=kafka_enis)
        )

    return arns.apply(build)


def _package(function: Function, shared: Shared) -> dict[str, object]:
    """A zip with the shared layers, or a container image from the function's own repository."""
    if function.package == "image":
        repository = aws.ecr.Repository(
            f"{function.name}-image",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            force_delete=shared.config.force_destroy,
        )
        # Lambda pulls the image with this repository's permission, for this account's functions only.
        aws.ecr.RepositoryPolicy(
            f"{function.name}-image",
            repository=repository.name,
            policy=pulumi.Output.all(
                shared.account.partition, shared.account.region, shared.account.id
            ).apply(lambda values: _lambda_pull_policy(*values)),
        )
        return {
            "package_type": "Image",
            "image_uri": pulumi.Output.concat(repository.repository_url, ":", shared.config.image_tag),
        }
    artifact = shared.artifacts.functions[function.name]
    return {
        "package_type": "Zip",
        "runtime": f"python{PYTHON_VERSION}",
        "handler": function.handler,
        "code": pulumi.FileArchive(str(artifact.path)),
        "source_code_hash": artifact.sha256_base64,
        "layers": [layer.arn for layer in shared.layers],
    }


def _lambda_pull_policy(partition: str, region: str, account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "LambdaPull",
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "Condition": {
                        "StringLike": {
                            "aws:sourceArn": f"arn:{partition}:lambda:{region}:{account}:function:*"
                        }
                    },
                }
            ],
        }
    )
