-- Cohorts (issue 12): saved definitions of a set of persons, behavioural (did an event at least N times
-- in the last D days) or by person properties, each of one project. Only the definition is kept (JSON,
-- eventlens.insights.cohorts.CohortDefinition); who is in a cohort is worked out from the events each
-- time it is used, so a cohort follows the data and holds no person. Project first, as in every table.
CREATE TABLE IF NOT EXISTS cohorts
(
    project_id LowCardinality(String),
    cohort_id  String,
    name       String,
    definition String,
    created_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY (project_id, cohort_id);
