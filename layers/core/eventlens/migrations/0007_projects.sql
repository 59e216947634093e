-- Projects: every table that holds events, or figures drawn from them, gets `project_id` as its first
-- column and first in its sort key, and every query names one project (issue 10). A report reads
-- its own project's granules only, and one project's rows never share a granule with another's.
--
-- ClickHouse cannot put a new column in front of an existing sort key, so each table is rebuilt:
-- the views that fill the rollups are dropped, each table is copied into a new one with
-- project_id = 'default' (everything stored before projects belonged to the one tenant there was),
-- the two are exchanged and the old one dropped, and the views are created again. Run while nothing
-- writes (migrations run at start, before any consume). A process killed in the middle leaves a
-- mixed state: start from a backup (`eventlens` refuses nothing here; the ledger row is written last).

DROP VIEW IF EXISTS event_ids_mv;
DROP VIEW IF EXISTS daily_rollup_mv;
DROP VIEW IF EXISTS user_periods_mv;
DROP VIEW IF EXISTS user_first_mv;
DROP VIEW IF EXISTS movie_daily_mv;
DROP VIEW IF EXISTS hourly_rollup_mv;
DROP VIEW IF EXISTS user_events_mv;
DROP VIEW IF EXISTS telemetry_events_mv;

-- events ------------------------------------------------------------------------------------------
DROP TABLE IF EXISTS events_projects;
CREATE TABLE events_projects
(
    project_id       LowCardinality(String),
    event_id         UUID,
    user_id          String,
    event_type       LowCardinality(String),
    ts               DateTime64(3, 'UTC'),
    source           LowCardinality(String),
    properties       String CODEC(ZSTD(1)),
    received_at      DateTime64(3, 'UTC'),
    day              Date MATERIALIZED toDate(ts),
    country          LowCardinality(String) DEFAULT ifNull(JSONExtract(properties, 'country', 'Nullable(String)'), ''),
    session_id       String DEFAULT ifNull(JSONExtract(properties, 'session_id', 'Nullable(String)'), ''),
    item             String DEFAULT ifNull(coalesce(JSONExtract(properties, 'item_id', 'Nullable(String)'),
                                                    JSONExtract(properties, 'item', 'Nullable(String)')), ''),
    amount           Nullable(Float64) DEFAULT coalesce(JSONExtract(properties, 'amount', 'Nullable(Float64)'),
                                                        JSONExtract(properties, 'price', 'Nullable(Float64)')),
    movie_id         String DEFAULT ifNull(JSONExtract(properties, 'movie_id', 'Nullable(String)'), ''),
    position_seconds Nullable(UInt32) DEFAULT JSONExtract(properties, 'position_seconds', 'Nullable(UInt32)'),
    lat              Nullable(Float64) DEFAULT JSONExtract(properties, 'lat', 'Nullable(Float64)'),
    lon              Nullable(Float64) DEFAULT JSONExtract(properties, 'lon', 'Nullable(Float64)'),
    INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_movie_id movie_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (project_id, toDate(ts), event_type, user_id, event_id);

INSERT INTO events_projects
    (project_id, event_id, user_id, event_type, ts, source, properties, received_at,
     country, session_id, item, amount, movie_id, position_seconds, lat, lon)
SELECT 'default', event_id, user_id, event_type, ts, source, properties, received_at,
       country, session_id, item, amount, movie_id, position_seconds, lat, lon
FROM events;
EXCHANGE TABLES events AND events_projects;
DROP TABLE events_projects;

-- event_ids -----------------------------------------------------------------------------------------
DROP TABLE IF EXISTS event_ids_projects;
CREATE TABLE event_ids_projects
(
    project_id LowCardinality(String),
    event_id   UUID,
    day        Date
)
ENGINE = ReplacingMergeTree
ORDER BY (project_id, event_id);
INSERT INTO event_ids_projects SELECT 'default', event_id, day FROM event_ids;
EXCHANGE TABLES event_ids AND event_ids_projects;
DROP TABLE event_ids_projects;

-- daily_rollup ----------------------------------------------------------------------------------------
DROP TABLE IF EXISTS daily_rollup_projects;
CREATE TABLE daily_rollup_projects
(
    project_id LowCardinality(String),
    day        Date,
    source     LowCardinality(String),
    event_type LowCardinality(String),
    country    LowCardinality(String),
    events     SimpleAggregateFunction(sum, UInt64),
    users      AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, source, event_type, country)
SETTINGS min_age_to_force_merge_seconds = 30, min_age_to_force_merge_on_partition_only = 1;
INSERT INTO daily_rollup_projects SELECT 'default', day, source, event_type, country, events, users FROM daily_rollup;
EXCHANGE TABLES daily_rollup AND daily_rollup_projects;
DROP TABLE daily_rollup_projects;

-- user_periods ----------------------------------------------------------------------------------------
DROP TABLE IF EXISTS user_periods_projects;
CREATE TABLE user_periods_projects
(
    project_id LowCardinality(String),
    period     Enum8('day' = 1, 'week' = 2, 'month' = 3),
    start      Date,
    user       UInt128
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(start)
ORDER BY (project_id, period, start, user)
SETTINGS min_age_to_force_merge_seconds = 30, min_age_to_force_merge_on_partition_only = 1;
INSERT INTO user_periods_projects SELECT 'default', period, start, user FROM user_periods;
EXCHANGE TABLES user_periods AND user_periods_projects;
DROP TABLE user_periods_projects;

-- user_first ------------------------------------------------------------------------------------------
DROP TABLE IF EXISTS user_first_projects;
CREATE TABLE user_first_projects
(
    project_id LowCardinality(String),
    user       UInt128,
    first_day  SimpleAggregateFunction(min, Date)
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, user)
SETTINGS min_age_to_force_merge_seconds = 30, min_age_to_force_merge_on_partition_only = 1;
INSERT INTO user_first_projects SELECT 'default', user, first_day FROM user_first;
EXCHANGE TABLES user_first AND user_first_projects;
DROP TABLE user_first_projects;

-- movie_daily -----------------------------------------------------------------------------------------
DROP TABLE IF EXISTS movie_daily_projects;
CREATE TABLE movie_daily_projects
(
    project_id LowCardinality(String),
    day        Date,
    movie_id   String,
    starts     SimpleAggregateFunction(sum, UInt64),
    finishes   SimpleAggregateFunction(sum, UInt64),
    viewers    AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, movie_id)
SETTINGS min_age_to_force_merge_seconds = 30, min_age_to_force_merge_on_partition_only = 1;
INSERT INTO movie_daily_projects SELECT 'default', day, movie_id, starts, finishes, viewers FROM movie_daily;
EXCHANGE TABLES movie_daily AND movie_daily_projects;
DROP TABLE movie_daily_projects;

-- hourly_rollup ---------------------------------------------------------------------------------------
DROP TABLE IF EXISTS hourly_rollup_projects;
CREATE TABLE hourly_rollup_projects
(
    project_id LowCardinality(String),
    day        Date,
    hour       UInt8,
    source     LowCardinality(String),
    events     SimpleAggregateFunction(sum, UInt64),
    users      AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, source, day, hour)
SETTINGS min_age_to_force_merge_seconds = 30, min_age_to_force_merge_on_partition_only = 1;
INSERT INTO hourly_rollup_projects SELECT 'default', day, hour, source, events, users FROM hourly_rollup;
EXCHANGE TABLES hourly_rollup AND hourly_rollup_projects;
DROP TABLE hourly_rollup_projects;

-- user_events -----------------------------------------------------------------------------------------
DROP TABLE IF EXISTS user_events_projects;
CREATE TABLE user_events_projects
(
    project_id       LowCardinality(String),
    user_id          String,
    ts               DateTime64(3, 'UTC'),
    event_id         UUID,
    event_type       LowCardinality(String),
    source           LowCardinality(String),
    properties       String CODEC(ZSTD(1)),
    session_id       String,
    movie_id         String,
    position_seconds Nullable(UInt32)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (project_id, user_id, ts, event_id);
INSERT INTO user_events_projects
SELECT 'default', user_id, ts, event_id, event_type, source, properties, session_id, movie_id, position_seconds
FROM user_events;
EXCHANGE TABLES user_events AND user_events_projects;
DROP TABLE user_events_projects;

-- telemetry_events ------------------------------------------------------------------------------------
DROP TABLE IF EXISTS telemetry_events_projects;
CREATE TABLE telemetry_events_projects
(
    project_id       LowCardinality(String),
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
ORDER BY (project_id, user_id, ts, event_id);
INSERT INTO telemetry_events_projects
SELECT 'default', user_id, ts, event_id, prosthesis_type, muscle_group, signal_frequency, signal_duration,
       signal_amplitude, telemetry_id
FROM telemetry_events;
EXCHANGE TABLES telemetry_events AND telemetry_events_projects;
DROP TABLE telemetry_events_projects;

-- users (the CRM of the Reports Backend), one partition per project: the importer replaces its
-- project's partition from users_next in one atomic step (REPLACE PARTITION) instead of swapping
-- the whole table, which would take every other project's rows with it.
DROP TABLE IF EXISTS users_projects;
CREATE TABLE users_projects
(
    project_id      LowCardinality(String),
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
PARTITION BY project_id
ORDER BY (project_id, user_id);
INSERT INTO users_projects
SELECT 'default', user_id, user_uuid, name, email, age, gender, country, address, phone, registration_ts,
       registered_at
FROM users;
EXCHANGE TABLES users AND users_projects;
DROP TABLE users_projects;
DROP TABLE IF EXISTS users_next;
CREATE TABLE users_next AS users;

-- The work tables: removal lists and consume's stage carry the project too.
DROP TABLE IF EXISTS events_removed;
CREATE TABLE events_removed
(
    project_id LowCardinality(String),
    event_id   UUID,
    user_id    String,
    day        Date,
    source     LowCardinality(String)
)
ENGINE = MergeTree
ORDER BY (project_id, day, user_id);

ALTER TABLE consume_stage ADD COLUMN IF NOT EXISTS project_id LowCardinality(String) DEFAULT 'default' FIRST;

-- The views, as in migrations 0001-0003, with the project carried through.
CREATE MATERIALIZED VIEW IF NOT EXISTS event_ids_mv TO event_ids AS
SELECT project_id, event_id, toDate(ts) AS day FROM events;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_rollup_mv TO daily_rollup AS
SELECT project_id, toDate(ts) AS day, source, event_type, country, count() AS events,
       uniqExactState(user_id) AS users
FROM events
GROUP BY project_id, day, source, event_type, country;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_periods_mv TO user_periods AS
SELECT DISTINCT project_id, p.1 AS period, p.2 AS start, user
FROM (SELECT DISTINCT project_id, toDate(ts) AS day, reinterpretAsUInt128(sipHash128(user_id)) AS user FROM events)
ARRAY JOIN [('day', day), ('week', toMonday(day)), ('month', toStartOfMonth(day))] AS p;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_first_mv TO user_first AS
SELECT project_id, reinterpretAsUInt128(sipHash128(user_id)) AS user, min(toDate(ts)) AS first_day
FROM events
GROUP BY project_id, user;

CREATE MATERIALIZED VIEW IF NOT EXISTS movie_daily_mv TO movie_daily AS
SELECT
    project_id,
    toDate(ts) AS day,
    movie_id,
    countIf(event_type = 'start') AS starts,
    countIf(event_type = 'finish') AS finishes,
    uniqExactState(user_id) AS viewers
FROM events
WHERE source = 'viewing' AND event_type IN ('start', 'progress', 'finish')
GROUP BY project_id, day, movie_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS hourly_rollup_mv TO hourly_rollup AS
SELECT project_id, toDate(ts) AS day, toHour(ts) AS hour, source, count() AS events,
       uniqExactState(user_id) AS users
FROM events
GROUP BY project_id, day, hour, source;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_events_mv TO user_events AS
SELECT project_id, user_id, ts, event_id, event_type, source, properties, session_id, movie_id, position_seconds
FROM events
WHERE source IN ('lifestream', 'viewing');

CREATE MATERIALIZED VIEW IF NOT EXISTS telemetry_events_mv TO telemetry_events AS
SELECT
    project_id,
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
