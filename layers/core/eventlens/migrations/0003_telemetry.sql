-- Reports Backend (004): the CRM users dimension, telemetry by user, and the importer's work tables.
--
-- users: the CRM's users, reloaded whole by `eventlens import-postgres`. 004 kept them in a Join
-- engine table; a ReplacingMergeTree keyed by user_id serves the report as well (one user is one
-- granule read by primary key) and, unlike Join, lives on disk rather than wholly in RAM, can be
-- read by any query (not only as the right side of a JOIN or through joinGet), and takes part in
-- EXCHANGE TABLES: the importer fills `users_next` and swaps the two in one atomic rename, so a
-- report never sees the table empty or half loaded.
CREATE TABLE IF NOT EXISTS users
(
    user_id         Int64,
    user_uuid       String,
    name            String,
    email           String,
    age             Nullable(Int32),
    gender          Nullable(String),
    country         Nullable(String),
    address         Nullable(String),
    phone           Nullable(String),
    registration_ts DateTime('UTC'),
    registered_at   DateTime('UTC'),
    INDEX idx_user_uuid user_uuid TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_registration_ts registration_ts TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree
ORDER BY user_id;

CREATE TABLE IF NOT EXISTS users_next AS users;

-- Telemetry events by user and time, typed (004's telemetry_events, ORDER BY (user_id, ts)): the
-- report reads one user's granules, not every day of `events`. Filled by a materialized view in the
-- same insert as `events`, whichever way the events came (HTTP ingest or the importer).
-- telemetry_id is the Telemetry DB's id for imported rows (NULL for events sent over HTTP): the
-- importer mirrors those rows only.
CREATE TABLE IF NOT EXISTS telemetry_events
(
    user_id          String,
    ts               DateTime64(3, 'UTC'),
    event_id         UUID,
    prosthesis_type  LowCardinality(String),
    muscle_group     LowCardinality(String),
    signal_frequency Int64,
    signal_duration  Int64,
    signal_amplitude Float64,
    telemetry_id     Nullable(Int64)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (user_id, ts, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS telemetry_events_mv TO telemetry_events AS
SELECT
    user_id,
    ts,
    event_id,
    JSONExtractString(properties, 'prosthesis_type') AS prosthesis_type,
    JSONExtractString(properties, 'muscle_group') AS muscle_group,
    JSONExtractInt(properties, 'signal_frequency') AS signal_frequency,
    JSONExtractInt(properties, 'signal_duration') AS signal_duration,
    JSONExtractFloat(properties, 'signal_amplitude') AS signal_amplitude,
    JSONExtract(properties, 'telemetry_id', 'Nullable(Int64)') AS telemetry_id
FROM events
WHERE source = 'telemetry';

INSERT INTO telemetry_events
SELECT
    user_id, ts, event_id,
    JSONExtractString(properties, 'prosthesis_type'),
    JSONExtractString(properties, 'muscle_group'),
    JSONExtractInt(properties, 'signal_frequency'),
    JSONExtractInt(properties, 'signal_duration'),
    JSONExtractFloat(properties, 'signal_amplitude'),
    JSONExtract(properties, 'telemetry_id', 'Nullable(Int64)')
FROM events
WHERE source = 'telemetry';

-- The importer's staging table: one window of Telemetry DB rows as read (one import at a time).
CREATE TABLE IF NOT EXISTS telemetry_import
(
    telemetry_id     Int64,
    user_id          Int64,
    prosthesis_type  String,
    muscle_group     String,
    signal_frequency Int64,
    signal_duration  Int64,
    signal_amplitude Float64,
    event_us         Int64,
    saved_us         Int64
)
ENGINE = MergeTree
ORDER BY telemetry_id;

-- The staged rows as events. event_id is the UUID5 of "telemetry:<id>" in eventlens's event-id
-- namespace (6f1c6d1e-…, events.EVENT_ID_NAMESPACE), written out in SQL (RFC 4122: SHA-1 of
-- namespace + name, version 5, variant 10): the id ingest gives an event sent with event_id "<id>"
-- and source telemetry, so a row keeps one identity however often it is imported.
CREATE VIEW IF NOT EXISTS telemetry_import_events AS
WITH hex(substring(SHA1(concat(unhex('6f1c6d1e2b7a4c559a570c3f3b0e7a11'), 'telemetry:', toString(telemetry_id))), 1, 16)) AS h
SELECT
    toUUID(lower(concat(
        substring(h, 1, 8), '-', substring(h, 9, 4), '-5', substring(h, 14, 3), '-',
        hex(bitOr(bitAnd(reinterpretAsUInt8(unhex(substring(h, 17, 2))), 63), 128)), substring(h, 19, 2), '-',
        substring(h, 21, 12)
    ))) AS event_id,
    toString(user_id) AS user_id,
    toDateTime64(fromUnixTimestamp64Micro(event_us, 'UTC'), 3, 'UTC') AS ts,
    prosthesis_type,
    muscle_group,
    signal_frequency,
    signal_duration,
    signal_amplitude,
    telemetry_id,
    toDateTime64(fromUnixTimestamp64Micro(saved_us, 'UTC'), 3, 'UTC') AS saved_ts
FROM telemetry_import;

-- Events to remove (see eventlens/event_removal.py): their ids, and the user, day and source whose
-- rollups are recomputed after them.
CREATE TABLE IF NOT EXISTS events_removed
(
    event_id UUID,
    user_id  String,
    day      Date,
    source   LowCardinality(String)
)
ENGINE = MergeTree
ORDER BY (day, user_id);
