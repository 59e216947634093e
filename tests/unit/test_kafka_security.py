"""Kafka authentication options: plain for a local broker, IAM (SASL/OAUTHBEARER) for MSK."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import pytest

from eventlens.queue import kafka_security


def test_plain_broker_needs_no_options() -> None:
    assert kafka_security("none", None) == {}


def test_msk_iam_signs_a_connect_token_with_the_functions_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given AWS credentials as a Lambda function has them
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session")
    # When the IAM options are built and the broker asks for a token
    options = kafka_security("iam", "eu-central-1")
    token = options["sasl_oauth_token_provider"].token()
    # Then the client speaks SASL/OAUTHBEARER over TLS with a SigV4-signed kafka-cluster:Connect URL
    assert (options["security_protocol"], options["sasl_mechanism"]) == ("SASL_SSL", "OAUTHBEARER")
    url = urlparse(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    query = parse_qs(url.query)
    assert url.hostname == "kafka.eu-central-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")


def test_iam_without_a_region_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="AWS_REGION"):
        kafka_security("iam", None)
