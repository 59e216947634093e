-- Parse the raw queue records held in the session's `incoming` table into event rows, with the
-- reason an event cannot be stored ('' when it can). ClickHouse's JSON functions do the parsing:
-- far faster than decoding each record in Python.
--
-- A record holds one event (a JSON object, as other producers write it) or several events of one
-- user (a JSON array, as ingest writes them); each becomes a row, numbered from 1 within its record.
SELECT
    topic,
    partition,
    offset,
    item_index,
    key,
    raw,
    toUUIDOrNull(JSONExtractString(raw, 'event_id')) AS event_id,
    JSONExtractString(raw, 'user_id') AS user_id,
    JSONExtractString(raw, 'type') AS event_type,
    parseDateTime64BestEffortOrNull(JSONExtractString(raw, 'timestamp'), 3, 'UTC') AS ts,
    JSONExtractString(raw, 'source') AS source,
    JSONExtractRaw(raw, 'properties') AS properties,
    coalesce(parseDateTime64BestEffortOrNull(JSONExtractString(raw, 'received_at'), 3, 'UTC'), now64(3, 'UTC'))
        AS received_at,
    -- The hot properties, from one parse of the JSON (same values as the columns' DEFAULTs).
    JSONExtract(
        properties,
        'Tuple(country Nullable(String), session_id Nullable(String), item_id Nullable(String),
               item Nullable(String), amount Nullable(Float64), price Nullable(Float64),
               movie_id Nullable(String), position_seconds Nullable(UInt32),
               lat Nullable(Float64), lon Nullable(Float64))'
    ) AS hot,
    ifNull(hot.country, '') AS country,
    ifNull(hot.session_id, '') AS session_id,
    ifNull(coalesce(hot.item_id, hot.item), '') AS item,
    coalesce(hot.amount, hot.price) AS amount,
    ifNull(hot.movie_id, '') AS movie_id,
    hot.position_seconds AS position_seconds,
    hot.lat AS lat,
    hot.lon AS lon,
    multiIf(
        NOT isValidJSON(raw), 'value: not valid JSON',
        JSONType(raw) != 'Object', 'value: not a JSON object',
        event_id IS NULL, 'event_id: missing or not a UUID',
        user_id = '', 'user_id: missing, empty or not a string',
        event_type = '', 'type: missing, empty or not a string',
        ts IS NULL, 'timestamp: missing or not a date-time',
        JSONType(raw, 'properties') != 'Object', 'properties: missing or not a JSON object',
        source NOT IN {sources:Array(String)}, 'source: not one of the known sources',
        ''
    ) AS reason
FROM
(
    SELECT
        topic, partition, offset, key,
        if(isValidJSON(raw) AND JSONType(raw) = 'Array', JSONExtractArrayRaw(raw), [raw]) AS items
    FROM incoming
)
ARRAY JOIN items AS raw, arrayEnumerate(items) AS item_index
