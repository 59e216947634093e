-- Parse the raw queue records held in the session's `incoming` table into event rows, with the
-- reason an event cannot be stored ('' when it can). ClickHouse's JSON functions do the parsing:
-- far faster than decoding each record in Python, and each event's JSON is parsed once into a
-- named tuple rather than once per field.
--
-- A record holds one event (a JSON object, as other producers write it) or several events of one
-- user (a JSON array, as ingest writes them); each becomes a row, numbered from 1 within its record.
-- Ingest writes each event's project (from the caller's key); a record from another producer on the
-- topic that names none belongs to the `default` project (whoever can write to the topic is trusted).
WITH
    -- Each event's JSON parsed once; WITH keeps the tuples out of the output.
    JSONExtract(
        raw,
        'Tuple(project_id Nullable(String), event_id Nullable(String), user_id Nullable(String), type Nullable(String),
               timestamp Nullable(String), source Nullable(String), received_at Nullable(String),
               properties Nullable(String))'
    ) AS doc,
    -- The hot properties (eventlens/hot_properties.py), from one parse of the properties.
    JSONExtract(properties, '/*HOT_TUPLE_TYPE*/') AS hot
SELECT
    topic,
    partition,
    offset,
    item_index,
    key,
    raw,
    ifNull(doc.project_id, 'default') AS project_id,
    toUUIDOrNull(doc.event_id) AS event_id,
    ifNull(doc.user_id, '') AS user_id,
    ifNull(doc.type, '') AS event_type,
    parseDateTime64BestEffortOrNull(doc.timestamp, 3, 'UTC') AS ts,
    ifNull(doc.source, '') AS source,
    ifNull(doc.properties, '') AS properties,
    coalesce(parseDateTime64BestEffortOrNull(doc.received_at, 3, 'UTC'), now64(3, 'UTC')) AS received_at,
    /*HOT_COLUMNS*/,
    multiIf(
        NOT (from_array OR isValidJSON(raw)), 'value: not valid JSON',
        NOT startsWith(trimLeft(raw), '{'), 'value: not a JSON object',
        project_id = '', 'project_id: empty',
        event_id IS NULL, 'event_id: missing or not a UUID',
        user_id = '', 'user_id: missing or empty',
        event_type = '', 'type: missing or empty',
        ts IS NULL, 'timestamp: missing or not a date-time',
        NOT startsWith(properties, '{'), 'properties: missing or not a JSON object',
        source NOT IN {sources:Array(String)}, 'source: not one of the known sources',
        ''
    ) AS reason
FROM
(
    -- A record that is a JSON array is parsed once, into its items (each valid JSON then, so not
    -- checked again); an array that yields none is empty ('[]') or not valid JSON, and then kept
    -- whole, to be named as such below. Anything else is one item.
    SELECT
        topic, partition, offset, key,
        if(startsWith(trimLeft(raw), '['), JSONExtractArrayRaw(raw), []) AS array_items,
        notEmpty(array_items) OR (startsWith(trimLeft(raw), '[') AND isValidJSON(raw)) AS from_array,
        if(from_array, array_items, [raw]) AS items
    FROM incoming
)
ARRAY JOIN items AS raw, arrayEnumerate(items) AS item_index
