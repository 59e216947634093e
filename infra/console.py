"""The web console: its static files (built by console/, shipped in eventlens_tools) in a private
bucket that only CloudFront reads, through origin access control; the browser then calls the HTTP API
directly, which answers the console's origin (CORS).

A bucket behind CloudFront rather than routes on the HTTP API: the files are static, so no Lambda runs
(or is billed, or cold-starts) to serve them, CloudFront caches and compresses them at the edge, and
the API and its authorizer stay as they are, every route keyed. The key never reaches CloudFront: it
is sent only to the API, in the Authorization header.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from eventlens_tools.console import STATIC_DIR, static_files
from infra.config import StackConfig
from infra.storage import private_bucket, tls_only_statement

# AWS's managed cache policy "CachingOptimized" (gzip and brotli, query strings and cookies ignored).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


@dataclass(frozen=True)
class ConsoleSite:
    bucket: aws.s3.Bucket
    distribution: aws.cloudfront.Distribution

    @property
    def origin(self) -> pulumi.Output[str]:
        """The console's origin, as the browser sends it in Origin."""
        return pulumi.Output.concat("https://", self.distribution.domain_name)


def console_site(config: StackConfig, region: pulumi.Input[str]) -> ConsoleSite:
    """The bucket and the distribution in front of it; the files come with ``upload``."""
    bucket = private_bucket("console", config, {}, tls_policy=False)
    access = aws.cloudfront.OriginAccessControl(
        "console-oac",
        name=f"eventlens-{config.stack}-console",
        description="CloudFront signs its requests to the console bucket",
        origin_access_control_origin_type="s3",
        signing_behavior="always",
        signing_protocol="sigv4",
    )
    # The page may load its own files and call the API (this region's execute-api hosts), nothing else.
    headers = aws.cloudfront.ResponseHeadersPolicy(
        "console-headers",
        name=f"eventlens-{config.stack}-console",
        security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
            content_security_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
                content_security_policy=pulumi.Output.concat(
                    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; ",
                    "img-src 'self' blob: data:; connect-src 'self' https://*.execute-api.",
                    region,
                    ".amazonaws.com; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
                ),
                override=True,
            ),
            content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                override=True
            ),
            referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                referrer_policy="no-referrer", override=True
            ),
            frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                frame_option="DENY", override=True
            ),
            strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                access_control_max_age_sec=31536000, include_subdomains=True, override=True
            ),
        ),
    )
    distribution = aws.cloudfront.Distribution(
        "console",
        comment=f"eventlens {config.stack} console",
        enabled=True,
        is_ipv6_enabled=True,
        default_root_object="index.html",
        price_class="PriceClass_100",
        origins=[
            aws.cloudfront.DistributionOriginArgs(
                origin_id="console-bucket",
                domain_name=bucket.bucket_regional_domain_name,
                origin_access_control_id=access.id,
            )
        ],
        default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
            target_origin_id="console-bucket",
            viewer_protocol_policy="redirect-to-https",
            allowed_methods=["GET", "HEAD"],
            cached_methods=["GET", "HEAD"],
            compress=True,
            cache_policy_id=CACHING_OPTIMIZED,
            response_headers_policy_id=headers.id,
        ),
        restrictions=aws.cloudfront.DistributionRestrictionsArgs(
            geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")
        ),
        viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
            cloudfront_default_certificate=True
        ),
    )
    # Only this distribution reads the bucket (OAC signs as the CloudFront service, scoped by its ARN);
    # requests without TLS are denied as on every bucket.
    aws.s3.BucketPolicy(
        "console-policy",
        bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, distribution.arn).apply(lambda a: _console_policy(a[0], a[1])),
    )
    return ConsoleSite(bucket, distribution)


def _console_policy(bucket_arn: str, distribution_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CloudFrontReadsTheConsole",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
                },
                tls_only_statement(bucket_arn),
            ],
        }
    )


def upload(site: ConsoleSite, api_url: pulumi.Input[str]) -> None:
    """Every built file of the console, and its config.json naming the API (the built one says "same
    origin", which is only true under eventlens local)."""
    for path, static in sorted(static_files().items()):
        if path == "/" or static.key == "console/config.json":
            continue
        aws.s3.BucketObjectv2(
            f"console-{static.key.replace('/', '-')}",
            bucket=site.bucket.id,
            key=static.key,
            source=pulumi.FileAsset(str(STATIC_DIR / static.key)),
            content_type=static.content_type or mimetypes.guess_type(static.key)[0],
            cache_control="no-cache",
        )
    aws.s3.BucketObjectv2(
        "console-config",
        bucket=site.bucket.id,
        key="console/config.json",
        content=pulumi.Output.from_input(api_url).apply(lambda url: json.dumps({"api_url": url})),
        content_type="application/json",
        cache_control="no-cache",
    )
    pulumi.export("console_url", site.origin)
