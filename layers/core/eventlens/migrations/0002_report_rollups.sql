-- Pre-aggregations for the reports, each filled by a materialized view in the same INSERT that
-- stores the events, so a report reads a few thousand rows instead of millions.
--
-- Why they stay exact:
-- * consume stores each event_id once (dedup at the door), so every insert into `events` carries
--   new events only and the views see each event once; counts (SimpleAggregateFunction(sum)) are exact.
-- * Distinct users are kept as uniqExact states, which merge by set union: the same user seen in two
--   inserts (or two parts not yet merged) counts once. Queries always merge (-Merge / sum / GROUP BY),
--   never trust a merge to have happened.
-- * Every key is computed from the event's own timestamp (toDate(ts), toHour(ts), toMonday(ts)), so an
--   event that arrives days late lands in its own day, hour and week.
--
-- Ingest cost: each view is one GROUP BY over the inserted block, on columns the insert has just
-- computed; chDB's measured insert rate with these views is in bench/reports.py's output.

-- Per day and segment dimension: distinct users and event counts. Serves top events, the viewing
-- trends, and DAU / WAU / MAU with a segment on event_type, source or properties.country.
CREATE TABLE IF NOT EXISTS daily_rollup
(
    day        Date,
    source     LowCardinality(String),
    event_type LowCardinality(String),
    country    LowCardinality(String),
    events     SimpleAggregateFunction(sum, UInt64),
    users      AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, source, event_type, country);

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_rollup_mv TO daily_rollup AS
SELECT toDate(ts) AS day, source, event_type, country, count() AS events, uniqExactState(user_id) AS users
FROM events
GROUP BY day, source, event_type, country;

-- Which users were active in each day, week (Monday) and month: DAU / WAU / MAU and retention read
-- row counts here (with FINAL, which after background merges costs next to nothing). Users are kept
-- as the 128-bit SipHash of user_id, the same hash uniqExact keeps for a string: 16 bytes a row.
CREATE TABLE IF NOT EXISTS user_periods
(
    period Enum8('day' = 1, 'week' = 2, 'month' = 3),
    start  Date,
    user   UInt128
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(start)
ORDER BY (period, start, user);

CREATE MATERIALIZED VIEW IF NOT EXISTS user_periods_mv TO user_periods AS
SELECT DISTINCT p.1 AS period, p.2 AS start, user
FROM (SELECT DISTINCT toDate(ts) AS day, reinterpretAsUInt128(sipHash128(user_id)) AS user FROM events)
ARRAY JOIN [('day', day), ('week', toMonday(day)), ('month', toStartOfMonth(day))] AS p;

-- Each user's first day with any event: the cohort of weekly retention.
CREATE TABLE IF NOT EXISTS user_first
(
    user      UInt128,
    first_day SimpleAggregateFunction(min, Date)
)
ENGINE = AggregatingMergeTree
ORDER BY user;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_first_mv TO user_first AS
SELECT reinterpretAsUInt128(sipHash128(user_id)) AS user, min(toDate(ts)) AS first_day
FROM events
GROUP BY user;

-- Viewing (002): per day and movie, starts, finishes and distinct viewers.
CREATE TABLE IF NOT EXISTS movie_daily
(
    day      Date,
    movie_id String,
    starts   SimpleAggregateFunction(sum, UInt64),
    finishes SimpleAggregateFunction(sum, UInt64),
    viewers  AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, movie_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS movie_daily_mv TO movie_daily AS
SELECT
    toDate(ts) AS day,
    movie_id,
    countIf(event_type = 'start') AS starts,
    countIf(event_type = 'finish') AS finishes,
    uniqExactState(user_id) AS viewers
FROM events
WHERE source = 'viewing' AND event_type IN ('start', 'progress', 'finish')
GROUP BY day, movie_id;

-- Per day, hour of day and source: events and distinct users (peak hours).
CREATE TABLE IF NOT EXISTS hourly_rollup
(
    day    Date,
    hour   UInt8,
    source LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    users  AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (source, day, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS hourly_rollup_mv TO hourly_rollup AS
SELECT toDate(ts) AS day, toHour(ts) AS hour, source, count() AS events, uniqExactState(user_id) AS users
FROM events
GROUP BY day, hour, source;

-- One user's events in time order (Life Stream and viewing families): the per-user routes read a
-- few granules by primary key instead of scanning every day of the event table.
CREATE TABLE IF NOT EXISTS user_events
(
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
ORDER BY (user_id, ts, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS user_events_mv TO user_events AS
SELECT user_id, ts, event_id, event_type, source, properties, session_id, movie_id, position_seconds
FROM events
WHERE source IN ('lifestream', 'viewing');

-- Events stored before this migration: fill the rollups once (the views see only new inserts).
INSERT INTO daily_rollup
SELECT day, source, event_type, country, count(), uniqExactState(user_id) FROM events
GROUP BY day, source, event_type, country;

INSERT INTO user_periods
SELECT DISTINCT p.1, p.2, user
FROM (SELECT DISTINCT toDate(ts) AS day, reinterpretAsUInt128(sipHash128(user_id)) AS user FROM events)
ARRAY JOIN [('day', day), ('week', toMonday(day)), ('month', toStartOfMonth(day))] AS p;

INSERT INTO user_first SELECT reinterpretAsUInt128(sipHash128(user_id)) AS user, min(toDate(ts)) FROM events GROUP BY user;

INSERT INTO movie_daily
SELECT day, movie_id, countIf(event_type = 'start'), countIf(event_type = 'finish'), uniqExactState(user_id)
FROM events
WHERE source = 'viewing' AND event_type IN ('start', 'progress', 'finish')
GROUP BY day, movie_id;

INSERT INTO hourly_rollup
SELECT day, toHour(ts) AS hour, source, count(), uniqExactState(user_id) FROM events GROUP BY day, hour, source;

INSERT INTO user_events
SELECT user_id, ts, event_id, event_type, source, properties, session_id, movie_id, position_seconds
FROM events
WHERE source IN ('lifestream', 'viewing');
