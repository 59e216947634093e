-- Segments on a JSON property without a column of its own (issue 14): an inverted table from
-- (project, property key, value) to the events holding it, what PostgreSQL would keep as an index, so
-- `properties.page:/page/7` reads a granule by primary key instead of decompressing and parsing the
-- properties of every event in the range. A segment keeps the events whose id it lists
-- (reports/segments.py); it is never read alone, so a duplicate row changes nothing.
--
-- One row per top-level key of an event's properties, valued as the segment compares it: a string by
-- its text (JSONExtractString), a number or boolean by its JSON text (JSONExtractRaw, which is what
-- JSONExtractString answers for them), null as `null`. A key written twice counts by its first
-- occurrence, as JSONExtractString reads it. Not here, so segments.py answers them by the scan of
-- `properties` as before: nested keys (properties.a.b), keys a segment cannot name, the keys with a
-- column of their own (hot_properties.SEGMENT_COLUMNS: a segment reads the column), objects and arrays,
-- and strings longer than 256 bytes.
--
-- Unpartitioned, sorted by what a segment looks up: merges keep a (key, value) in few parts. Filled by
-- the view in the same insert as `events`; rows are removed with their events (event_removal.py:
-- erasure, the importer, consume's recovery). The view is made before the backfill: an event stored
-- in between is listed twice, never missed.
CREATE TABLE IF NOT EXISTS events_by_property
(
    project_id LowCardinality(String),
    key        LowCardinality(String),
    value      String,
    day        Date,
    event_id   UUID
)
ENGINE = ReplacingMergeTree
ORDER BY (project_id, key, value, day, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_property_mv TO events_by_property AS
SELECT project_id, pair.1 AS key, pair.2 AS value, toDate(ts) AS day, event_id
FROM events
ARRAY JOIN arrayFilter(
    (p, position) -> indexOf(raw_pairs.1, p.1) = position
        AND match(p.1, '^[A-Za-z0-9_$-]{1,64}$')
        AND p.1 NOT IN ('country', 'session_id', 'item_id', 'item', 'movie_id')
        AND p.3 NOT IN ('Object', 'Array')
        AND length(p.2) <= 256,
    arrayMap(
        kv -> (kv.1, if(JSONType(kv.2) = 'String', JSONExtractString(kv.2), kv.2), JSONType(kv.2)),
        JSONExtractKeysAndValuesRaw(properties) AS raw_pairs
    ),
    arrayEnumerate(raw_pairs)
) AS pair;

INSERT INTO events_by_property (project_id, key, value, day, event_id)
SELECT project_id, pair.1 AS key, pair.2 AS value, toDate(ts) AS day, event_id
FROM events
ARRAY JOIN arrayFilter(
    (p, position) -> indexOf(raw_pairs.1, p.1) = position
        AND match(p.1, '^[A-Za-z0-9_$-]{1,64}$')
        AND p.1 NOT IN ('country', 'session_id', 'item_id', 'item', 'movie_id')
        AND p.3 NOT IN ('Object', 'Array')
        AND length(p.2) <= 256,
    arrayMap(
        kv -> (kv.1, if(JSONType(kv.2) = 'String', JSONExtractString(kv.2), kv.2), JSONType(kv.2)),
        JSONExtractKeysAndValuesRaw(properties) AS raw_pairs
    ),
    arrayEnumerate(raw_pairs)
) AS pair;
