"""One settings model, read from the environment once; the defaults serve the embedded mode."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CHDB_SPILL_MB = 256


class Settings(BaseSettings):
    """Everything eventlens reads from its environment.

    With nothing set, every part runs embedded under ``$EVENTLENS_HOME``: chDB for the warehouse,
    a durable file queue in Kafka's place and local files for object storage.
    """

    # Read by the names given as aliases only. By field name too (populate_by_name, until 2026-12-02),
    # `home` was read from $HOME, so everything eventlens keeps landed straight in the user's home
    # directory instead of ~/.eventlens.
    model_config = SettingsConfigDict(extra="ignore")

    home: Path = Field(default=Path("~/.eventlens"), alias="EVENTLENS_HOME")

    # Queue: Kafka when a bootstrap is given, the embedded file queue otherwise.
    kafka_bootstrap: str | None = Field(default=None, alias="KAFKA_BOOTSTRAP")
    kafka_topic: str = Field(default="raw-events", alias="KAFKA_TOPIC")
    kafka_partitions: int = Field(default=4, ge=1, le=1024, alias="KAFKA_PARTITIONS")
    kafka_consumer_group: str = Field(default="eventlens-consume", alias="KAFKA_CONSUMER_GROUP")
    kafka_send_timeout_s: float = Field(default=10.0, gt=0, alias="KAFKA_SEND_TIMEOUT_S")
    # "iam" for MSK (Serverless accepts IAM-authenticated clients only); "none" for a plain broker.
    kafka_auth: Literal["none", "iam"] = Field(default="none", alias="KAFKA_AUTH")
    aws_region: str | None = Field(default=None, alias="AWS_REGION")
    # The embedded queue rolls segments at this size and deletes a closed one once every consumer
    # group has committed past it and it is this old (Kafka's segment.bytes and retention.ms).
    queue_segment_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, alias="EVENTLENS_QUEUE_SEGMENT_BYTES")
    queue_retention_s: float = Field(default=300.0, ge=0, alias="EVENTLENS_QUEUE_RETENTION_S")

    # Warehouse: a ClickHouse server when a URL is given (http://user:pass@host:8123/db), chDB otherwise.
    clickhouse_url: str | None = Field(default=None, alias="CLICKHOUSE_URL")
    clickhouse_database: str = Field(
        default="eventlens", alias="CLICKHOUSE_DATABASE", pattern=r"^[A-Za-z0-9_]{1,64}$"
    )
    # A ClickHouse cluster's name (remote_servers in its config) turns on cluster mode: migrations run
    # ON CLUSTER with Replicated engines and Distributed tables sharded by user (docs/sizing.md).
    # Empty: one server (or chDB). It is spliced into DDL, which takes no bound parameters: an identifier.
    clickhouse_cluster: str = Field(
        default="", alias="CLICKHOUSE_CLUSTER", pattern=r"^([A-Za-z_][A-Za-z0-9_]{0,63})?$"
    )
    # chDB lets one process open one data directory; tests share one across many databases.
    chdb_dir: Path | None = Field(default=None, alias="EVENTLENS_CHDB_PATH")
    # The embedded engine's memory for one GROUP BY, ORDER BY or DISTINCT before it goes to disk, in
    # MiB (why: eventlens.warehouse.ChdbWarehouse); 0 keeps the engine's own (half the process's memory).
    chdb_spill_mb: int = Field(default=DEFAULT_CHDB_SPILL_MB, ge=0, alias="EVENTLENS_CHDB_SPILL_MB")
    retention_days: int | None = Field(default=None, ge=1, alias="EVENTLENS_RETENTION_DAYS")

    # Projects and API keys: a DynamoDB table when given, SQLite under $EVENTLENS_HOME otherwise.
    keys_table: str | None = Field(default=None, alias="EVENTLENS_KEYS_TABLE")
    # Requests a minute per client IP (the Events Analytics API's 1,000) and per API key; 0 turns one off.
    rate_limit_per_ip: int = Field(default=1_000, ge=0, alias="EVENTLENS_RATE_LIMIT_PER_IP")
    rate_limit_per_key: int = Field(default=6_000, ge=0, alias="EVENTLENS_RATE_LIMIT_PER_KEY")
    # The HTTP API's authorizer: the route keys ("POST /v1/events") a write key may call, a JSON list
    # the Pulumi program writes from the manifest; every other route it is asked about takes a secret key.
    write_routes: frozenset[str] = Field(default=frozenset(), alias="EVENTLENS_WRITE_ROUTES")

    # Object storage: an S3 bucket when given, local files under $EVENTLENS_HOME/objects otherwise.
    bucket: str | None = Field(default=None, alias="EVENTLENS_BUCKET")

    # Ingest limits and the timestamp rule.
    max_batch_events: int = Field(default=10_000, ge=1, alias="EVENTLENS_MAX_BATCH_EVENTS")
    max_batch_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, alias="EVENTLENS_MAX_BATCH_BYTES")
    max_future_skew_s: int = Field(default=300, ge=0, alias="EVENTLENS_MAX_FUTURE_SKEW_S")
    max_event_age_days: int = Field(default=3650, ge=1, alias="EVENTLENS_MAX_EVENT_AGE_DAYS")

    # ML pipeline (eventlens.ml): export parts, snapshot dates, the target horizon, promotion.
    export_part_rows: int = Field(default=1_000_000, ge=1, alias="EVENTLENS_EXPORT_PART_ROWS")
    ml_source: str = Field(default="commerce", alias="EVENTLENS_ML_SOURCE")
    ml_horizon_days: int = Field(default=7, ge=1, le=90, alias="EVENTLENS_ML_HORIZON_DAYS")
    ml_training_dates: int = Field(default=8, ge=3, le=104, alias="EVENTLENS_ML_TRAINING_DATES")
    ml_date_step_days: int = Field(default=7, ge=1, alias="EVENTLENS_ML_DATE_STEP_DAYS")
    ml_min_auc_gain: float = Field(default=0.0, ge=0, alias="EVENTLENS_ML_MIN_AUC_GAIN")

    # Pattern miner (eventlens.mining): the habits graph in Neo4j when a URI is given, none otherwise.
    neo4j_uri: str | None = Field(default=None, alias="NEO4J_URI")
    neo4j_user: str = Field(default="neo4j", alias="NEO4J_USER")
    neo4j_password: str | None = Field(default=None, alias="NEO4J_PASSWORD")
    pattern_miner_min_cluster_size: int = Field(default=3, ge=2, alias="PATTERN_MINER_MIN_CLUSTER_SIZE")

    # An optional language model (eventlens.rephrase) that rewords composed answers (memory search, the
    # miner's insights) and is kept only when grounded: an OpenAI-compatible chat-completions endpoint's
    # base URL (e.g. https://api.openai.com/v1); off when unset.
    llm_url: str | None = Field(default=None, alias="EVENTLENS_LLM_URL")
    llm_model: str = Field(default="gpt-4o-mini", alias="EVENTLENS_LLM_MODEL")
    llm_api_key: SecretStr | None = Field(default=None, alias="EVENTLENS_LLM_API_KEY")
    llm_timeout_s: float = Field(default=5.0, gt=0, le=60, alias="EVENTLENS_LLM_TIMEOUT_S")

    # Health (GET /health): consume fails when records wait and no batch was stored for this long;
    # lags past this many waiting records; the embedded mode's disk needs this much free space;
    # dead letters past this many in the last hour pile up.
    health_consume_stall_s: float = Field(default=180.0, gt=0, alias="EVENTLENS_HEALTH_CONSUME_STALL_S")
    health_max_lag_records: int = Field(default=50_000, ge=0, alias="EVENTLENS_HEALTH_MAX_LAG_RECORDS")
    health_min_free_mb: int = Field(default=256, ge=0, alias="EVENTLENS_HEALTH_MIN_FREE_MB")
    health_max_dead_letters_per_hour: int = Field(
        default=100, ge=0, alias="EVENTLENS_HEALTH_MAX_DEAD_LETTERS_PER_HOUR"
    )

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser()

    @property
    def chdb_path(self) -> Path:
        return self.chdb_dir.expanduser() if self.chdb_dir else self.home_dir / "warehouse"

    @property
    def queue_path(self) -> Path:
        return self.home_dir / "queue"

    @property
    def objects_path(self) -> Path:
        return self.home_dir / "objects"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once (a warm Lambda container keeps them)."""
    return Settings()
