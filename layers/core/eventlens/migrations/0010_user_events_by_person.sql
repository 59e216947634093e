-- One person's reads (issue 14): `user_events` is what the per-person routes read (stream events and
-- stats, the memory summary, a viewer's stats, the memory search, the miner). Its sort key already
-- leads with (project_id, user_id), but two things made a person's read cost 20-50 ms at a few
-- million events (bench/reports.py):
--   * monthly partitions: a person's year was a dozen partitions, each with parts of its own, each
--     searched and read on its own;
--   * granules of 8,192 rows: reading a person's 400 events decompressed some 100,000 rows of
--     properties, nearly all of other people.
-- The table is rebuilt unpartitioned (merges keep each person's rows together in few parts), with
-- granules of 256 rows (a person's rows plus at most a granule of neighbours at each end). Run while
-- nothing writes, as 0007 is: the view that fills it is dropped first and made again last.

DROP VIEW IF EXISTS user_events_mv;

DROP TABLE IF EXISTS user_events_by_person;
CREATE TABLE user_events_by_person
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
ORDER BY (project_id, user_id, ts, event_id)
SETTINGS index_granularity = 256;

INSERT INTO user_events_by_person
    (project_id, user_id, ts, event_id, event_type, source, properties, session_id, movie_id, position_seconds)
SELECT project_id, user_id, ts, event_id, event_type, source, properties, session_id, movie_id, position_seconds
FROM user_events;
EXCHANGE TABLES user_events AND user_events_by_person;
DROP TABLE user_events_by_person;

CREATE MATERIALIZED VIEW IF NOT EXISTS user_events_mv TO user_events AS
SELECT project_id, user_id, ts, event_id, event_type, source, properties, session_id, movie_id, position_seconds
FROM events
WHERE source IN ('lifestream', 'viewing');
