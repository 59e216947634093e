"""No credential reaches a health answer, an error body or a log line: one redaction function,
here on its own and in both log formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from eventlens.redaction import MASK, environment_secrets, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "down: cannot use Neo4j at bolt://neo4j:s3cr3t-pw@127.0.0.1:3 (refused)",
            "down: cannot use Neo4j at bolt://neo4j:***@127.0.0.1:3 (refused)",
        ),
        ("postgresql://crm:p%40ss@db:5432/crm", "postgresql://crm:***@db:5432/crm"),
        ("host=db user=crm password=hunter22 dbname=crm", "host=db user=crm password=*** dbname=crm"),
        ('{"password": "hunter22", "rows": 3}', '{"password": "***", "rows": 3}'),
        ("GET /export?token=abcdef123&day=2026-11-20", "GET /export?token=***&day=2026-11-20"),
        ("Authorization: Bearer eyJhbGciOi.payload", "Authorization: Bearer ***"),
        ("x-api-key: k-123456", "x-api-key: ***"),
        ("NEO4J_PASSWORD=verysecret", "NEO4J_PASSWORD=***"),
        ("signed by AKIAIOSFODNN7EXAMPLE", "signed by ***"),
        # the analytics SDKs' places for a write key, and eventlens's keys wherever they appear
        ('{"writeKey": "k-123456", "batch": []}', '{"writeKey": "***", "batch": []}'),
        ("X-Write-Key: k-123456", "X-Write-Key: ***"),
        ("Authorization: Basic ZWxfd3JpdGU6", "Authorization: Basic ***"),
        ("bad key " + "el_write_" + "w" * 43 + " sent", "bad key *** sent"),
    ],
)
def test_credentials_in_text_are_masked(text: str, expected: str) -> None:
    assert redact(text, secrets=()) == expected


@pytest.mark.parametrize(
    "text",
    [
        "http://127.0.0.1:8123/eventlens answered 200",
        "batch stored  stored=2000 dead_lettered=0",
        "Kafka at 127.0.0.1:9092 is not reachable",
        "bolt://neo4j@127.0.0.1:7687",  # a user without a password is no secret
    ],
)
def test_text_without_credentials_is_unchanged(text: str) -> None:
    assert redact(text, secrets=()) == text


def test_a_known_secret_is_masked_in_any_shape() -> None:
    # Given a password a driver echoes in a shape no pattern knows (a slash, a quote in it)
    secret = 'we/ird"pw'
    # When it appears raw and inside a JSON string
    text = f"auth=('neo4j', {secret}) " + json.dumps({"detail": f"auth {secret}"})
    # Then both are masked
    assert secret not in redact(text, secrets=[secret])
    assert json.dumps(secret)[1:-1] not in redact(text, secrets=[secret])


def test_the_environment_names_its_secrets() -> None:
    environ = {
        "NEO4J_PASSWORD": "neo4j-pw-1",
        "AWS_SECRET_ACCESS_KEY": "aws-secret-2",
        "CLICKHOUSE_URL": "http://default:ch-pw-3@clickhouse:8123",
        "EVENTLENS_CRM_DSN": "host=crm password=pg-pw-4 dbname=crm",
        "NEO4J_URI": "bolt://127.0.0.1:7687",
        "TOKENIZERS_PARALLELISM": "false",  # a switch, not a secret
        "HOME": "/home/dev",
    }
    assert environment_secrets(environ) == {"neo4j-pw-1", "aws-secret-2", "ch-pw-3", "pg-pw-4"}


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_carry_no_credential(log_format: str) -> None:
    # Given a process whose environment holds a Neo4j password
    code = (
        "from eventlens.observability import logger\n"
        "try:\n"
        "    raise RuntimeError('cannot use Neo4j at bolt://neo4j:uri-pw-77@127.0.0.1:3')\n"
        "except RuntimeError as exc:\n"
        "    logger.exception('graph down', extra={'reason': str(exc), 'auth': 'env-pw-88'})\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_NAME"},
        "NEO4J_PASSWORD": "env-pw-88",
        "EVENTLENS_LOG_FORMAT": log_format,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    # When it logs an exception whose text and keys hold them
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    output = done.stdout + done.stderr
    # Then the line is there, in its format, and neither password is
    assert "graph down" in output
    assert "uri-pw-77" not in output and "env-pw-88" not in output
    assert MASK in output
    if log_format == "json":
        assert json.loads(output.splitlines()[0])["message"] == "graph down"
