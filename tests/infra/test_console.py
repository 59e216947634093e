"""The console's deployment under Pulumi's mocks: a private bucket only its CloudFront distribution
reads (origin access control), every built file uploaded, config.json naming the API, and the API
answering the console's origin alone."""

from __future__ import annotations

import json

import pytest
from pulumi_mocks import Deploy

from eventlens_tools.console import static_files

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated in favor of:DeprecationWarning")

OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


def test_the_console_is_a_private_bucket_behind_cloudfront_with_origin_access_control(deploy: Deploy) -> None:
    # When the program runs with the repository's manifest
    recording = deploy()
    bucket = recording.one("aws:s3/bucket:Bucket", "console")
    name, arn = bucket.outputs["bucket"], bucket.outputs["arn"]
    # Then public access to the bucket is blocked in every way
    block = next(
        r.inputs
        for r in recording.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if r.inputs["bucket"] == name
    )
    assert all(
        block[k]
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    # And CloudFront reaches it through an origin access control that signs every request
    oac = recording.one("aws:cloudfront/originAccessControl:OriginAccessControl", "console-oac")
    assert (oac.inputs["originAccessControlOriginType"], oac.inputs["signingBehavior"]) == ("s3", "always")
    distribution = recording.one("aws:cloudfront/distribution:Distribution", "console")
    origin = distribution.inputs["origins"][0]
    assert origin["domainName"] == bucket.outputs["bucketRegionalDomainName"]
    assert origin["originAccessControlId"] == oac.id
    assert "s3OriginConfig" not in origin  # no legacy origin access identity
    behaviour = distribution.inputs["defaultCacheBehavior"]
    assert behaviour["viewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["allowedMethods"] == ["GET", "HEAD"]
    assert distribution.inputs["defaultRootObject"] == "index.html"
    # And the bucket's one policy lets only that distribution read, and only over TLS
    policies = [
        r for r in recording.of_type("aws:s3/bucketPolicy:BucketPolicy") if r.inputs["bucket"] == name
    ]
    assert len(policies) == 1
    statements = json.loads(policies[0].inputs["policy"])["Statement"]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert allow == [
        {
            "Sid": "CloudFrontReadsTheConsole",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{arn}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution.outputs["arn"]}},
        }
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in statements
    )


def test_every_built_file_is_uploaded_and_config_names_the_api(deploy: Deploy) -> None:
    recording = deploy()
    uploaded = {r.inputs["key"]: r.inputs for r in recording.of_type(OBJECT) if r.name.startswith("console-")}
    built = {f.key for f in static_files().values()}
    # Then every file of the build is in the bucket with its content type
    assert set(uploaded) == built
    for key, inputs in uploaded.items():
        assert inputs["contentType"] == next(f.content_type for f in static_files().values() if f.key == key)
    # And config.json sends the console to the HTTP API's endpoint
    api = recording.one("aws:apigatewayv2/api:Api", "http")
    assert json.loads(uploaded["console/config.json"]["content"]) == {"api_url": api.outputs["apiEndpoint"]}


def test_the_api_answers_the_consoles_origin_only_with_the_key_in_a_header(deploy: Deploy) -> None:
    recording = deploy()
    distribution = recording.one("aws:cloudfront/distribution:Distribution", "console")
    cors = recording.one("aws:apigatewayv2/api:Api", "http").inputs["corsConfiguration"]
    assert cors["allowOrigins"] == [f"https://{distribution.outputs['domainName']}"]
    assert "authorization" in cors["allowHeaders"]
    assert cors.get("allowCredentials") is False


def test_a_stack_without_an_api_has_no_console(deploy: Deploy, project: object) -> None:
    paths = project("[functions]\n", {})  # type: ignore[operator]
    recording = deploy(**paths)
    assert recording.of_type("aws:cloudfront/distribution:Distribution") == []
    assert [r for r in recording.of_type(OBJECT) if r.name.startswith("console-")] == []
