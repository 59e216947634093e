-- events_by_property (0011) with the columns a report reads besides the properties: user_id, event_type
-- and source. 0011's rows named events only, so a segment still checked their ids against every event
-- of the range and read the users of every granule holding one (at 10M events, 175 ms for a 30-day DAU
-- on properties.page:/page/7; 14 ms from the property's rows alone, in a trial on the same data). With
-- them, a report whose segments are such a property and columns a row holds (reports/segments.py) reads
-- the property's rows alone. user_id follows the day in the sort key: a day's users of one value sit
-- together.
--
-- The values come from one JSONExtractKeysAndValues(properties, 'String') per event: what
-- JSONExtractString answers for each top-level key (a string's text, a number's or boolean's JSON
-- text), the first of a key written twice. 0011 parsed each value again to tell its JSON type (2.5-6x
-- the CPU of this on the bench's 2M events, the same rows). What that leaves out, segments.py answers
-- by the scan of `properties` (indexed_property): besides 0011's (nested keys, keys a segment cannot
-- name or with a column of their own, values over 256 bytes or starting with " { or [), `null`, which
-- this extraction gives as '' (empty values are never kept: a segment's value is never empty).
--
-- Derived from `events` alone, so rebuilt rather than altered: the view is dropped, the table made
-- again and backfilled, the view made first (an event stored in between is listed twice, never
-- missed). Run while nothing writes, as 0007 and 0010 are.

DROP VIEW IF EXISTS events_by_property_mv;
DROP TABLE IF EXISTS events_by_property;

CREATE TABLE IF NOT EXISTS events_by_property
(
    project_id LowCardinality(String),
    key        LowCardinality(String),
    value      String,
    day        Date,
    user_id    String,
    event_type LowCardinality(String),
    source     LowCardinality(String),
    event_id   UUID
)
ENGINE = ReplacingMergeTree
ORDER BY (project_id, key, value, day, user_id, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS events_by_property_mv TO events_by_property AS
SELECT project_id, pair.1 AS key, pair.2 AS value, toDate(ts) AS day, user_id, event_type, source, event_id
FROM events
ARRAY JOIN arrayFilter(
    (p, position) -> indexOf(pairs.1, p.1) = position
        AND match(p.1, '^[A-Za-z0-9_$-]{1,64}$')
        AND p.1 NOT IN ('country', 'session_id', 'item_id', 'item', 'movie_id')
        AND p.2 != '' AND NOT startsWith(p.2, '{') AND NOT startsWith(p.2, '[')
        AND length(p.2) <= 256,
    JSONExtractKeysAndValues(properties, 'String') AS pairs,
    arrayEnumerate(pairs)
) AS pair;

INSERT INTO events_by_property (project_id, key, value, day, user_id, event_type, source, event_id)
SELECT project_id, pair.1 AS key, pair.2 AS value, toDate(ts) AS day, user_id, event_type, source, event_id
FROM events
ARRAY JOIN arrayFilter(
    (p, position) -> indexOf(pairs.1, p.1) = position
        AND match(p.1, '^[A-Za-z0-9_$-]{1,64}$')
        AND p.1 NOT IN ('country', 'session_id', 'item_id', 'item', 'movie_id')
        AND p.2 != '' AND NOT startsWith(p.2, '{') AND NOT startsWith(p.2, '[')
        AND length(p.2) <= 256,
    JSONExtractKeysAndValues(properties, 'String') AS pairs,
    arrayEnumerate(pairs)
) AS pair;
