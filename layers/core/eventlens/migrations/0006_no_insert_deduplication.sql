-- Migration 0005 turned on insert de-duplication (non_replicated_deduplication_window) for consume's
-- tokens. Consume no longer uses them (consume.py says why: a killed insert could leave a token in a
-- de-duplication log without its part, and the retry was dropped). Off again, so that no writer's
-- identical block is ever dropped silently.
ALTER TABLE events MODIFY SETTING non_replicated_deduplication_window = 0;
ALTER TABLE event_ids MODIFY SETTING non_replicated_deduplication_window = 0;
ALTER TABLE daily_rollup MODIFY SETTING non_replicated_deduplication_window = 0;
ALTER TABLE user_periods MODIFY SETTING non_replicated_deduplication_window = 0;
ALTER TABLE user_first MODIFY SETTING non_replicated_deduplication_window = 0;
ALTER TABLE movie_daily MODIFY SETTING non_replicated_deduplication_window = 0;
ALTER TABLE hourly_rollup MODIFY SETTING non_replicated_deduplication_window = 0;
ALTER TABLE user_events MODIFY SETTING non_replicated_deduplication_window = 0;
ALTER TABLE telemetry_events MODIFY SETTING non_replicated_deduplication_window = 0;
