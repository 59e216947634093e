"""S3 buckets: encrypted, never public, TLS only, with lifecycle rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig


@dataclass(frozen=True)
class Buckets:
    data: aws.s3.Bucket  # EVENTLENS_BUCKET: dead letters, exports, snapshots, models
    failed_batches: aws.s3.Bucket  # where the Kafka event source mapping puts batches it gave up on
    artifacts: aws.s3.Bucket  # layer zips too big to upload in the API call


def buckets(config: StackConfig) -> Buckets:
    return Buckets(
        data=private_bucket("data", config, {"dead-letters/": config.dead_letter_retention_days}),
        failed_batches=private_bucket("failed-batches", config, {"": config.dead_letter_retention_days}),
        artifacts=private_bucket("artifacts", config, {"": 90}),
    )


def private_bucket(
    name: str, config: StackConfig, expire_days: dict[str, int], tls_policy: bool = True
) -> aws.s3.Bucket:
    """A bucket only this account's roles reach; objects under each prefix expire after its days.
    ``tls_policy=False`` leaves the bucket policy to the caller (a bucket has one), which must then
    include ``tls_only_statement``."""
    bucket = aws.s3.Bucket(name, force_destroy=config.force_destroy)
    # Whatever an ACL or a policy says later, nothing in it becomes public.
    aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    # ACLs off: access is decided by IAM and the bucket policy alone.
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
    )
    # SSE-S3: encrypted at rest without a KMS key every reader would need rights on.
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                ),
                bucket_key_enabled=True,
            )
        ],
    )
    rules = [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-incomplete-uploads",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=7
            ),
        ),
        *(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id=f"expire-{prefix.strip('/') or 'all'}",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=prefix),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
            )
            for prefix, days in expire_days.items()
        ),
    ]
    aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket.id, rules=rules)
    # Requests without TLS are refused.
    if tls_policy:
        aws.s3.BucketPolicy(f"{name}-tls-only", bucket=bucket.id, policy=bucket.arn.apply(_tls_only_policy))
    return bucket


def tls_only_statement(bucket_arn: str) -> dict[str, Any]:
    """The bucket policy statement that denies every request made without TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _tls_only_policy(bucket_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [tls_only_statement(bucket_arn)]})


def export(buckets: Buckets) -> None:
    pulumi.export("data_bucket", buckets.data.bucket)
    pulumi.export("failed_batches_bucket", buckets.failed_batches.bucket)
