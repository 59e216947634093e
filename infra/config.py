"""What one stack chooses (Pulumi.<stack>.yaml, namespace ``eventlens``); defaults suit ``dev``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pulumi

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class StackConfig:
    stack: str
    functions_dir: Path = ROOT / "functions"
    state_machines_dir: Path = ROOT / "state_machines"
    # Kafka: a bootstrap string brings your own cluster; without one, an MSK Serverless cluster.
    kafka_bootstrap: str | None = None
    kafka_topic: str = "raw-events"
    kafka_max_pollers: int = 2
    # Network for MSK and for functions that publish to Kafka: given subnets and security groups,
    # or (none given, MSK chosen) a new VPC with private subnets behind a NAT gateway.
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    # Credentials (pulumi config set --secret): stored in Secrets Manager, handed to the functions
    # that need them under the settings names the code reads.
    clickhouse_url: pulumi.Input[str] | None = None
    clickhouse_database: str = "eventlens"
    neo4j_uri: str | None = None
    neo4j_user: str | None = None
    neo4j_password: pulumi.Input[str] | None = None
    log_retention_days: int = 30
    dead_letter_retention_days: int = 90
    image_tag: str = "latest"
    # The HTTP API: how long API Gateway keeps the authorizer's answer for one key on one route, and
    # the stage's throttle over all clients together (requests per second, and the burst above it).
    authorizer_cache_seconds: int = 300
    throttling_rate_limit: float = 500.0
    throttling_burst_limit: int = 1000
    # The reference systems' routes whose clients send no key ("ingest", "read", "both" or "none"):
    # API Gateway refuses a request without the authorizer's identity source (the Authorization
    # header) before asking the authorizer, so these routes are deployed without it and their
    # function checks the caller itself (keyless only for the project that opted in with
    # `eventlens projects keyless`, any key sent still checked, the per-IP limit always).
    keyless_reference_routes: str = "none"
    # Further settings for every function, by their environment names (EVENTLENS_RETENTION_DAYS, ...).
    settings: dict[str, str] = field(default_factory=dict)
    # dev and localstack stacks can be destroyed with their objects; prod keeps them.
    force_destroy: bool = False

    @classmethod
    def from_pulumi(cls) -> StackConfig:
        """This stack's choices from its Pulumi config."""
        config = pulumi.Config("eventlens")
        return cls(
            stack=pulumi.get_stack(),
            kafka_bootstrap=config.get("kafkaBootstrap"),
            kafka_topic=config.get("kafkaTopic") or "raw-events",
            kafka_max_pollers=config.get_int("kafkaMaxPollers") or 2,
            subnet_ids=tuple(config.get_object("subnetIds") or ()),
            security_group_ids=tuple(config.get_object("securityGroupIds") or ()),
            clickhouse_url=config.get_secret("clickhouseUrl"),
            clickhouse_database=config.get("clickhouseDatabase") or "eventlens",
            neo4j_uri=config.get("neo4jUri"),
            neo4j_user=config.get("neo4jUser"),
            neo4j_password=config.get_secret("neo4jPassword"),
            log_retention_days=config.get_int("logRetentionDays") or 30,
            dead_letter_retention_days=config.get_int("deadLetterRetentionDays") or 90,
            image_tag=config.get("imageTag") or "latest",
            authorizer_cache_seconds=config.get_int("authorizerCacheSeconds", 300),  # 0: no cache
            throttling_rate_limit=config.get_float("throttlingRateLimit") or 500.0,
            throttling_burst_limit=config.get_int("throttlingBurstLimit") or 1000,
            keyless_reference_routes=config.get("keylessReferenceRoutes") or "none",
            settings=dict(config.get_object("settings") or {}),
            force_destroy=config.get_bool("forceDestroy") or False,
        )

    @property
    def uses_msk(self) -> bool:
        return self.kafka_bootstrap is None
