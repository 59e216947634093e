"""The shared Lambda layers, uploaded through the artifacts bucket (the dependency layer is near 50 MB)."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_aws as aws

from eventlens_tools.build import PYTHON_VERSION, Artifacts
from infra.config import StackConfig


def layers(
    config: StackConfig, artifacts: Artifacts, bucket: aws.s3.Bucket
) -> list[aws.lambda_.LayerVersion]:
    """A layer version per layer zip; content-addressed keys publish a new version only on change."""
    versions = []
    for name, artifact in sorted(artifacts.layers.items()):
        digest = hashlib.sha256(artifact.path.read_bytes()).hexdigest()
        upload = aws.s3.BucketObjectv2(
            f"layer-{name}",
            bucket=bucket.id,
            key=f"layers/{name}-{digest[:20]}.zip",
            source=pulumi.FileAsset(str(artifact.path)),
        )
        versions.append(
            aws.lambda_.LayerVersion(
                f"layer-{name}",
                layer_name=f"eventlens-{config.stack}-{name}",
                s3_bucket=upload.bucket,
                s3_key=upload.key,
                source_code_hash=artifact.sha256_base64,
                compatible_runtimes=[f"python{PYTHON_VERSION}"],
                compatible_architectures=["x86_64"],
            )
        )
    return versions
