-- Parse the raw queue records held in the session's `incoming` table into event rows, with the
-- reason a record cannot be stored ('' when it can). ClickHouse's JSON functions do the parsing:
-- far faster than decoding each record in Python.
SELECT
    topic,
    partition,
    offset,
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
FROM incoming
