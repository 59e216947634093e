-- Consume stores a batch exactly once at any kill point (see consume.py). Two parts:
--
-- 1. A write-ahead stage. The batch's new events (the anti-join against event_ids, decided once)
--    are written to consume_stage, one partition per batch, and a 'staged' row in consume_batches
--    marks the decision complete. Only then are they inserted into `events`. A batch that died
--    after being staged is finished from its stage by the next consume of the same partitions;
--    a stage without its 'staged' row is dropped and decided again.
-- 2. Insert de-duplication. The events insert carries the batch id as insert_deduplication_token
--    with deduplicate_blocks_in_dependent_materialized_views, so finishing a batch inserts into
--    `events` and into each rollup exactly the blocks that did not land the first time (each
--    table and view commits on its own). Tokens are remembered for the last N blocks of each
--    table; N far exceeds the blocks written between a crash and the next consume.
ALTER TABLE events MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE event_ids MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE daily_rollup MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE user_periods MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE user_first MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE movie_daily MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE hourly_rollup MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE user_events MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE telemetry_events MODIFY SETTING non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS consume_stage
(
    batch_id         String,
    topic            String,
    partition        Int32,
    offset           Int64,
    item_index       UInt32,
    event_id         UUID,
    user_id          String,
    event_type       String,
    ts               DateTime64(3, 'UTC'),
    source           String,
    properties       String,
    received_at      DateTime64(3, 'UTC'),
    country          String,
    session_id       String,
    item             String,
    amount           Nullable(Float64),
    movie_id         String,
    position_seconds Nullable(UInt32),
    lat              Nullable(Float64),
    lon              Nullable(Float64)
)
ENGINE = MergeTree
-- One partition per batch: a finished batch's stage is dropped whole, at no cost.
PARTITION BY batch_id
ORDER BY (topic, partition, offset, item_index);

CREATE TABLE IF NOT EXISTS consume_batches
(
    batch_id         String,
    topic_partitions Array(String),  -- 'topic:partition' of every record of the batch
    rows             UInt64,
    state            LowCardinality(String),  -- 'staged', then 'done'
    at               DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (batch_id, state)
TTL toDateTime(at) + INTERVAL 30 DAY;
