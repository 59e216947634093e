"""Secrets Manager secrets for the ClickHouse and Neo4j credentials, and the settings they feed.

The secret holds the settings as JSON (``{"CLICKHOUSE_URL": ...}``); a function whose manifest
needs ``secrets:clickhouse`` gets those settings in its (KMS-encrypted) environment, read from the
secret's version, so the value a function runs with is the one in Secrets Manager.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig


@dataclass(frozen=True)
class Credentials:
    secrets: dict[str, aws.secretsmanager.Secret]
    environment: dict[str, dict[str, pulumi.Input[str]]]  # by need ("secrets:clickhouse")


def credentials(config: StackConfig) -> Credentials:
    values: dict[str, dict[str, pulumi.Input[str] | None]] = {
        "clickhouse": {"CLICKHOUSE_URL": config.clickhouse_url},
        "neo4j": {
            "NEO4J_URI": config.neo4j_uri,
            "NEO4J_USER": config.neo4j_user,
            "NEO4J_PASSWORD": config.neo4j_password,
        },
    }
    secrets: dict[str, aws.secretsmanager.Secret] = {}
    environment: dict[str, dict[str, pulumi.Input[str]]] = {}
    for name, settings in values.items():
        secret = aws.secretsmanager.Secret(name, description=f"eventlens {config.stack}: {name} credentials")
        secrets[name] = secret
        given = {key: value for key, value in settings.items() if value is not None}
        if len(given) < len(settings):
            pulumi.log.warn(f"{name} credentials are not configured; functions needing them run without them")
            environment[f"secrets:{name}"] = {}
            continue
        version = aws.secretsmanager.SecretVersion(
            name, secret_id=secret.id, secret_string=pulumi.Output.json_dumps(given)
        )
        environment[f"secrets:{name}"] = {
            key: pulumi.Output.secret(version.secret_string.apply(partial(_field, key))) for key in given
        }
    return Credentials(secrets, environment)


def _field(key: str, secret_string: str | None) -> str:
    value: str = json.loads(secret_string or "{}")[key]
    return value
