"""The DynamoDB table of projects, API keys and rate-limit counters (``EVENTLENS_KEYS_TABLE``).

One table, partition key ``pk`` (string), as ``eventlens.keys.DynamoKeyStore`` and
``eventlens.ratelimit.DynamoCounterStore`` use it: ``project#``, ``key#`` and ``hash#`` items, and
``rl#<client>#<window>`` counters that DynamoDB's TTL deletes once their ``expires_at`` (epoch
seconds) has passed. A key item's ``expires_at`` is ISO text, which TTL ignores (it deletes only by a
Number attribute), so a rotated key stays listed after it stops working.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig


def keys_table(config: StackConfig) -> aws.dynamodb.Table:
    table = aws.dynamodb.Table(
        "keys",
        billing_mode="PAY_PER_REQUEST",  # a lookup per request, no capacity to plan or to run out of
        hash_key="pk",
        attributes=[aws.dynamodb.TableAttributeArgs(name="pk", type="S")],
        ttl=aws.dynamodb.TableTtlArgs(attribute_name="expires_at", enabled=True),
        # Keys cannot be made again (only their hashes are kept): a bad write can be undone to the second.
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        # Encrypted with the account's AWS-managed key (aws/dynamodb): no key policy for readers to need.
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
        deletion_protection_enabled=not config.force_destroy,
    )
    pulumi.export("keys_table", table.name)
    return table
