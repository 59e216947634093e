-- Persons (issue 11 §2): the distinct ids an SDK says are one person, that person's properties, groups.
-- eventlens/identity.py says how they are kept and read; every table leads its key with project_id.

-- Identity facts: a pair of distinct ids one event says are one person. Kept by a materialized view in
-- the same insert as the event (so consume's crash recovery, which stores a batch again, only writes
-- the same pairs again: the table is a set). `user_id` is the event's distinct id, `other_id` the one
-- it names: Segment's anonymousId beside a userId ($anonymous_id), PostHog's $identify
-- ($anon_distinct_id), an alias ($create_alias: Segment's $previous_id, PostHog's `alias`) and
-- PostHog's $merge_dangerously (`alias`). Only text ids, and never the ids PostHog refuses to merge
-- ("anonymous", "null", "0", …: identity.ILLEGAL_IDS, which must match the list below).
CREATE TABLE IF NOT EXISTS person_edges
(
    project_id LowCardinality(String),
    user_id    String,
    other_id   String
)
ENGINE = ReplacingMergeTree
ORDER BY (project_id, user_id, other_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS person_edges_mv TO person_edges AS
SELECT DISTINCT project_id, user_id, other_id
FROM events
ARRAY JOIN arrayFilter(
    x -> x != '' AND x != user_id AND lower(x) NOT IN ('anonymous', 'guest', 'distinctid', 'distinct_id', 'id',
        'not_authenticated', 'email', 'undefined', 'true', 'false', 'null', 'none', 'nan', '0', '[object object]'),
    [JSONExtractString(properties, '$anonymous_id'),
     JSONExtractString(properties, '$anon_distinct_id'),
     if(event_type IN ('$create_alias', '$merge_dangerously'), JSONExtractString(properties, '$previous_id'), ''),
     if(event_type IN ('$create_alias', '$merge_dangerously'), JSONExtractString(properties, 'alias'), '')]
) AS other_id
WHERE (position(properties, '"$anon') > 0 OR event_type IN ('$create_alias', '$merge_dangerously'))
  AND lower(user_id) NOT IN ('anonymous', 'guest', 'distinctid', 'distinct_id', 'id', 'not_authenticated',
        'email', 'undefined', 'true', 'false', 'null', 'none', 'nan', '0', '[object object]');

-- Each merged distinct id's person: the smallest distinct id of its component (order-independent, so
-- merges arriving late or out of order give the same persons). Every id of a person with more than
-- one id has a row, the person's own id included; an id without a row is a person of its own. The
-- person only ever decreases (components only grow), kept as `min`, so writers racing on one id keep
-- the smaller: identity.stitch then repairs anything a race left until every pair is satisfied.
CREATE TABLE IF NOT EXISTS person_overrides
(
    project_id  LowCardinality(String),
    distinct_id String,
    person_id   SimpleAggregateFunction(min, String)
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, distinct_id);

-- Per period and person with more than one distinct id active in it: how many more ids than one
-- (`extra`). user_periods counts distinct ids; minus these, it counts persons: DAU / WAU / MAU keep
-- reading row counts (identity.refresh_overlaps keeps this table, from user_periods). A row that no
-- longer applies is written again with extra = 0 (a later version).
CREATE TABLE IF NOT EXISTS person_overlaps
(
    project_id LowCardinality(String),
    period     Enum8('day' = 1, 'week' = 2, 'month' = 3),
    start      Date,
    person     UInt128,
    extra      UInt32,
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(start)
ORDER BY (project_id, period, start, person);

-- Person properties, per distinct id (a person's are those of all their ids, merged when read):
-- `$set` (identify traits, PostHog's $set) keeps its latest value by event time, `$set_once` its
-- first; ties by the greater (latest) or smaller (first) JSON text. Values are raw JSON text.
CREATE TABLE IF NOT EXISTS person_properties
(
    project_id  LowCardinality(String),
    distinct_id String,
    key         String,
    kind        Enum8('set' = 1, 'set_once' = 2),
    latest      AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), String)),
    earliest    AggregateFunction(argMin, String, Tuple(DateTime64(3, 'UTC'), String))
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, distinct_id, key, kind);

CREATE MATERIALIZED VIEW IF NOT EXISTS person_properties_mv TO person_properties AS
SELECT project_id, user_id AS distinct_id, kv.1 AS key, kind,
       argMaxState(kv.2, (ts, kv.2)) AS latest, argMinState(kv.2, (ts, kv.2)) AS earliest
FROM (
    SELECT project_id, user_id, ts, if(name = '$set', 'set', 'set_once') AS kind,
           JSONExtractKeysAndValuesRaw(properties, name) AS pairs
    FROM events
    ARRAY JOIN ['$set', '$set_once'] AS name
    WHERE position(properties, '"$set') > 0
)
ARRAY JOIN pairs AS kv
GROUP BY project_id, distinct_id, key, kind;

-- Groups: Segment's group call ($groupidentify with $group_id, type `group`) and PostHog's
-- $groupidentify ($group_type, $group_key); their properties ($group_set) as person properties are
-- kept, latest by event time. A group without properties has one row with key ''.
CREATE TABLE IF NOT EXISTS groups
(
    project_id LowCardinality(String),
    group_type String,
    group_key  String,
    key        String,
    latest     AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), String))
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, group_type, group_key, key);

CREATE MATERIALIZED VIEW IF NOT EXISTS groups_mv TO groups AS
SELECT project_id, group_type, group_key, kv.1 AS key, argMaxState(kv.2, (ts, kv.2)) AS latest
FROM (
    SELECT project_id, ts,
           if(JSONHas(properties, '$group_type'), JSONExtractString(properties, '$group_type'), 'group') AS group_type,
           if(JSONHas(properties, '$group_key'), JSONExtractString(properties, '$group_key'),
              JSONExtractString(properties, '$group_id')) AS group_key,
           JSONExtractKeysAndValuesRaw(properties, '$group_set') AS pairs
    FROM events
    WHERE event_type = '$groupidentify'
)
LEFT ARRAY JOIN pairs AS kv
WHERE group_key != ''
GROUP BY project_id, group_type, group_key, key;

-- Who belongs to which group: the sender of a group call (not PostHog's own `$group_<type>_<key>`
-- distinct id of a server-side group_identify), and every event's $groups ({type: key}, PostHog).
-- Membership is of the person (through any of their ids) and does not depend on time.
CREATE TABLE IF NOT EXISTS group_members
(
    project_id  LowCardinality(String),
    distinct_id String,
    group_type  String,
    group_key   String
)
ENGINE = ReplacingMergeTree
ORDER BY (project_id, distinct_id, group_type, group_key);

CREATE MATERIALIZED VIEW IF NOT EXISTS group_members_mv TO group_members AS
SELECT DISTINCT project_id, user_id AS distinct_id, g.1 AS group_type, g.2 AS group_key
FROM events
ARRAY JOIN arrayConcat(
    if(event_type = '$groupidentify' AND NOT startsWith(user_id, '$group_'),
       [(if(JSONHas(properties, '$group_type'), JSONExtractString(properties, '$group_type'), 'group'),
         if(JSONHas(properties, '$group_key'), JSONExtractString(properties, '$group_key'),
            JSONExtractString(properties, '$group_id')))],
       []),
    arrayMap(kv -> (kv.1, kv.2), JSONExtractKeysAndValues(properties, '$groups', 'String'))
) AS g
WHERE (event_type = '$groupidentify' OR position(properties, '"$groups"') > 0) AND g.2 != '';

-- Events stored before this migration: their pairs, properties and groups once (the views see only
-- new inserts). Their persons are stitched right after the migration (Components.warehouse calls
-- identity.stitch_all) and, should that be cut short, by the next consume that merges (identity.stitch
-- checks every pair of the project then).
INSERT INTO person_edges
SELECT DISTINCT project_id, user_id, other_id
FROM events
ARRAY JOIN arrayFilter(
    x -> x != '' AND x != user_id AND lower(x) NOT IN ('anonymous', 'guest', 'distinctid', 'distinct_id', 'id',
        'not_authenticated', 'email', 'undefined', 'true', 'false', 'null', 'none', 'nan', '0', '[object object]'),
    [JSONExtractString(properties, '$anonymous_id'),
     JSONExtractString(properties, '$anon_distinct_id'),
     if(event_type IN ('$create_alias', '$merge_dangerously'), JSONExtractString(properties, '$previous_id'), ''),
     if(event_type IN ('$create_alias', '$merge_dangerously'), JSONExtractString(properties, 'alias'), '')]
) AS other_id
WHERE (position(properties, '"$anon') > 0 OR event_type IN ('$create_alias', '$merge_dangerously'))
  AND lower(user_id) NOT IN ('anonymous', 'guest', 'distinctid', 'distinct_id', 'id', 'not_authenticated',
        'email', 'undefined', 'true', 'false', 'null', 'none', 'nan', '0', '[object object]');

INSERT INTO person_properties
SELECT project_id, user_id AS distinct_id, kv.1 AS key, kind,
       argMaxState(kv.2, (ts, kv.2)), argMinState(kv.2, (ts, kv.2))
FROM (
    SELECT project_id, user_id, ts, if(name = '$set', 'set', 'set_once') AS kind,
           JSONExtractKeysAndValuesRaw(properties, name) AS pairs
    FROM events
    ARRAY JOIN ['$set', '$set_once'] AS name
    WHERE position(properties, '"$set') > 0
)
ARRAY JOIN pairs AS kv
GROUP BY project_id, distinct_id, key, kind;

INSERT INTO groups
SELECT project_id, group_type, group_key, kv.1 AS key, argMaxState(kv.2, (ts, kv.2))
FROM (
    SELECT project_id, ts,
           if(JSONHas(properties, '$group_type'), JSONExtractString(properties, '$group_type'), 'group') AS group_type,
           if(JSONHas(properties, '$group_key'), JSONExtractString(properties, '$group_key'),
              JSONExtractString(properties, '$group_id')) AS group_key,
           JSONExtractKeysAndValuesRaw(properties, '$group_set') AS pairs
    FROM events
    WHERE event_type = '$groupidentify'
)
LEFT ARRAY JOIN pairs AS kv
WHERE group_key != ''
GROUP BY project_id, group_type, group_key, key;

INSERT INTO group_members
SELECT DISTINCT project_id, user_id AS distinct_id, g.1 AS group_type, g.2 AS group_key
FROM events
ARRAY JOIN arrayConcat(
    if(event_type = '$groupidentify' AND NOT startsWith(user_id, '$group_'),
       [(if(JSONHas(properties, '$group_type'), JSONExtractString(properties, '$group_type'), 'group'),
         if(JSONHas(properties, '$group_key'), JSONExtractString(properties, '$group_key'),
            JSONExtractString(properties, '$group_id')))],
       []),
    arrayMap(kv -> (kv.1, kv.2), JSONExtractKeysAndValues(properties, '$groups', 'String'))
) AS g
WHERE (event_type = '$groupidentify' OR position(properties, '"$groups"') > 0) AND g.2 != '';
