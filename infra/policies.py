"""IAM policy documents, least privilege: a function gets what its manifest ``needs`` and triggers say.

Pure functions on resolved ARNs, so the rules read (and test) without any cloud. Every grant names
its resources. The one exception is forced by IAM itself: EC2's Describe actions, which Lambda needs
to manage the network interfaces of a function in a VPC or of an MSK event source mapping, exist
only for ``"Resource": "*"`` (they have no resource-level permissions); they are read-only, listed
in ``DESCRIBE_ONLY_ON_ANY_RESOURCE`` and pinned to the stack's region.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eventlens.manifest import Function

Statement = dict[str, Any]

KNOWN_NEEDS = frozenset(
    {
        "kafka",
        "bucket",
        "bucket:read",
        "secrets:clickhouse",
        "secrets:neo4j",
        "keys",
        "keys:read",
        "privacy",
        "privacy:read",
    }
)

# eventlens.ratelimit.DynamoCounterStore's items; the only ones a function may update.
RATE_LIMIT_ITEMS = "rl#*"
# eventlens.privacy.DynamoPrivacyStore's items: the suppressed persons, the erasure audit log.
SUPPRESSED_ITEM = "suppressed"
ERASURE_ITEMS = "erasure#*"

DESCRIBE_ONLY_ON_ANY_RESOURCE = frozenset(
    {"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeSecurityGroups"}
)

# queue.KafkaQueue names each producer's transactions "eventlens-ingest-<uuid>".
TRANSACTIONAL_ID_PREFIX = "eventlens-ingest-"


@dataclass(frozen=True)
class Grants:
    """The resolved ARNs and ids a function's policy may name."""

    partition: str
    region: str
    account: str
    log_group_arn: str
    data_bucket_arn: str
    failed_batches_bucket_arn: str
    keys_table_arn: str
    kafka_topic: str
    kafka_cluster_arn: str | None = None  # None: a Kafka of your own, authorized by the network
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    def ec2_arn(self, kind: str, name: str) -> str:
        return f"arn:{self.partition}:ec2:{self.region}:{self.account}:{kind}/{name}"


def document(statements: list[Statement]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def allow(
    sid: str, actions: list[str], resources: list[str], condition: dict[str, Any] | None = None
) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def assume_role(service: str, account: str | None = None) -> str:
    """Trust ``service`` (from ``account`` only, when given: no confused deputy)."""
    statement: Statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def invoke_functions(function_arns: list[str]) -> list[Statement]:
    """Invoking exactly these functions (and their versions and aliases)."""
    resources = sorted({*function_arns, *(f"{arn}:*" for arn in function_arns)})
    return [allow("InvokeFunctions", ["lambda:InvokeFunction"], resources)] if function_arns else []


def function_statements(
    function: Function, grants: Grants, *, in_vpc: bool, kafka_enis: bool
) -> list[Statement]:
    """Everything ``function`` may do: write its logs, plus what its needs and triggers take."""
    unknown = set(function.needs) - KNOWN_NEEDS
    if unknown:
        raise ValueError(
            f"function {function.name}: unknown needs {sorted(unknown)}; known: {sorted(KNOWN_NEEDS)}"
        )
    statements = [
        allow("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{grants.log_group_arn}:*"])
    ]
    statements += _bucket(function.needs, grants.data_bucket_arn)
    statements += _keys(function.needs, grants.keys_table_arn)
    statements += _privacy(function.needs, grants.keys_table_arn)
    if "kafka" in function.needs and grants.kafka_cluster_arn:
        statements += _msk_publish(grants.kafka_cluster_arn, grants.kafka_topic)
    if function.kafka:
        statements += _kafka_consume(function, grants)
    if in_vpc or kafka_enis:
        statements += _network_interfaces(grants)
    return statements


def _bucket(needs: tuple[str, ...], bucket_arn: str) -> list[Statement]:
    if "bucket" in needs:
        return [
            allow("DataObjects", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [f"{bucket_arn}/*"]),
            allow("DataList", ["s3:ListBucket"], [bucket_arn]),
        ]
    if "bucket:read" in needs:
        return [
            allow("DataObjectsRead", ["s3:GetObject"], [f"{bucket_arn}/*"]),
            allow("DataList", ["s3:ListBucket"], [bucket_arn]),
        ]
    return []


def _keys(needs: tuple[str, ...], table_arn: str) -> list[Statement]:
    """Look a key up by its hash (GetItem); with ``keys``, also count requests (UpdateItem of the
    rate-limit items only). No Scan, Put or Delete: projects and keys are made by ``eventlens
    projects`` / ``eventlens keys`` with an operator's credentials, never by a function."""
    if "keys" not in needs and "keys:read" not in needs:
        return []
    statements = [allow("KeysRead", ["dynamodb:GetItem"], [table_arn])]
    if "keys" in needs:
        statements.append(
            allow(
                "RateLimitCounters",
                ["dynamodb:UpdateItem"],
                [table_arn],
                {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [RATE_LIMIT_ITEMS]}},
            )
        )
    return statements


def _privacy(needs: tuple[str, ...], table_arn: str) -> list[Statement]:
    """``privacy:read`` (consume): read the suppressed persons. ``privacy`` (erasure): also suppress
    (UpdateItem of that item) and append to the audit log (PutItem of new ``erasure#`` items). Each
    grant names its items, so neither reaches a key or a rate-limit counter."""
    if "privacy" not in needs and "privacy:read" not in needs:
        return []
    statements = [
        allow(
            "SuppressedRead",
            ["dynamodb:GetItem"],
            [table_arn],
            {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [SUPPRESSED_ITEM]}},
        )
    ]
    if "privacy" in needs:
        statements += [
            allow(
                "SuppressedWrite",
                ["dynamodb:UpdateItem"],
                [table_arn],
                {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [SUPPRESSED_ITEM]}},
            ),
            allow(
                "ErasureAudit",
                ["dynamodb:PutItem"],
                [table_arn],
                {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [ERASURE_ITEMS]}},
            ),
        ]
    return statements


def msk_arn(cluster_arn: str, kind: str, name: str) -> str:
    """The ARN of a topic, group or transactional id of the MSK cluster ``cluster_arn``."""
    prefix, cluster = cluster_arn.split(":cluster/", 1)
    return f"{prefix}:{kind}/{cluster}/{name}"


def _msk_publish(cluster_arn: str, topic: str) -> list[Statement]:
    actions = ["kafka-cluster:Connect", "kafka-cluster:WriteDataIdempotently"]
    return [
        allow("KafkaConnect", actions, [cluster_arn]),
        allow(
            "KafkaWriteTopic",
            ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
            [msk_arn(cluster_arn, "topic", topic)],
        ),
        allow(
            "KafkaTransactions",
            ["kafka-cluster:DescribeTransactionalId", "kafka-cluster:AlterTransactionalId"],
            [msk_arn(cluster_arn, "transactional-id", f"{TRANSACTIONAL_ID_PREFIX}*")],
        ),
    ]


def consumer_group(function: Function) -> str:
    """The consumer group of a function's event source mappings (the local runtime's, for consume)."""
    return f"eventlens-{function.name}"


def _kafka_consume(function: Function, grants: Grants) -> list[Statement]:
    failed = grants.failed_batches_bucket_arn
    statements = [
        # The event source mapping writes a batch it gave up on to the failed-batches bucket.
        allow("FailedBatchesWrite", ["s3:PutObject"], [f"{failed}/*"]),
        allow("FailedBatchesList", ["s3:ListBucket"], [failed]),
    ]
    cluster = grants.kafka_cluster_arn
    if cluster is None:
        return statements
    topics = sorted({msk_arn(cluster, "topic", trigger.topic) for trigger in function.kafka})
    cluster_actions = [
        "kafka:DescribeClusterV2",
        "kafka:GetBootstrapBrokers",
        "kafka-cluster:Connect",
        "kafka-cluster:DescribeClusterDynamicConfiguration",
    ]
    return [
        *statements,
        allow("KafkaCluster", cluster_actions, [cluster]),
        allow("KafkaReadTopics", ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], topics),
        allow(
            "KafkaConsumerGroup",
            ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
            [msk_arn(cluster, "group", consumer_group(function))],
        ),
    ]


def _network_interfaces(grants: Grants) -> list[Statement]:
    interfaces = grants.ec2_arn("network-interface", "*")
    placement = [
        *(grants.ec2_arn("subnet", subnet) for subnet in grants.subnet_ids),
        *(grants.ec2_arn("security-group", group) for group in grants.security_group_ids),
    ]
    manage = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
    return [
        allow("CreateNetworkInterfaces", ["ec2:CreateNetworkInterface"], [interfaces, *placement]),
        allow("ManageNetworkInterfaces", manage, [interfaces]),
        allow(
            "DescribeNetwork",
            sorted(DESCRIBE_ONLY_ON_ANY_RESOURCE),
            ["*"],
            {"StringEquals": {"aws:RequestedRegion": grants.region}},
        ),
    ]
