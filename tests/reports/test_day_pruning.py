"""Reports that read the events name their days as the sort key does (toDate(ts)), so a range reads
only its own days' parts and granules — the `day` column, a copy of that expression, prunes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from eventlens.components import Components
from eventlens.reports import activity, viewing
from eventlens.reports.cohort_filter import with_cohort

QUERIES = {
    "viewing popular": viewing._POPULAR_FROM_EVENTS,
    "viewing trends": viewing._TRENDS_FROM_EVENTS,
    "viewing peak hours": viewing._PEAK_FROM_EVENTS,
    "top events": activity._TOP_EVENTS_FROM_EVENTS,
}


@pytest.mark.parametrize("name", QUERIES)
def test_a_report_on_the_events_reads_only_the_parts_of_its_days(components: Components, name: str) -> None:
    # Given viewing events stored on two days a month apart, one part each
    for at in (datetime(2026, 2, 1, 9, tzinfo=UTC), datetime(2026, 3, 2, 9, tzinfo=UTC)):
        components.warehouse.command(
            "INSERT INTO events (project_id, event_id, user_id, event_type, ts, source, properties,"
            " received_at, movie_id) SELECT 'default', generateUUIDv4(), 'u', 'start',"
            " {at:DateTime64(3, 'UTC')}, 'viewing', '{}', now64(3), 'm1'",
            {"at": at},
        )
    # When the report's events query is planned for the later day only
    sql, params = with_cohort(QUERIES[name].replace("{segments}", "1").replace("{events}", "events"), None)
    day = date(2026, 3, 2)
    params |= {"project": "default", "since": day, "until": day, "start": day, "end": day, "limit": 10}
    plan = [
        line.strip()
        for line in components.warehouse.query("EXPLAIN indexes = 1 " + sql, params).column(0).to_pylist()
    ]
    # Then the sort key's day selects the parts read: the other month's is not one of them
    assert "Parts: 1/2" in plan, plan
