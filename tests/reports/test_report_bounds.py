"""Days and moments outside what the warehouse holds are a 422 on their field, not a 503 or 1970."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from eventlens.components import Components
from eventlens.errors import InvalidParameter
from eventlens.reports import activity, lifestream, retention

PLUS_14 = timezone(timedelta(hours=14))


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(2149, 1, 1), date(2149, 12, 31), "to"),
        (date(1, 1, 1), date(1, 12, 31), "from"),
        (date(1969, 12, 31), date(1970, 1, 2), "from"),
    ],
)
def test_active_user_reports_refuse_days_the_warehouse_cannot_hold(
    components: Components, start: date, end: date, field: str
) -> None:
    for report in (activity.dau, activity.wau, activity.mau):
        with pytest.raises(InvalidParameter) as raised:
            report(components.warehouse, "default", start, end, [])
        assert raised.value.field == field


@pytest.mark.parametrize(
    ("start", "field"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "from"),
        (datetime(1, 1, 1, tzinfo=PLUS_14), "from"),
        (datetime(2200, 1, 1, tzinfo=UTC), "from"),
    ],
)
def test_life_stream_events_refuse_moments_the_warehouse_cannot_hold(
    components: Components, start: datetime, field: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        lifestream.stream_events(components.warehouse, "default", "u1", start=start)
    assert raised.value.field == field


def test_the_widest_range_the_warehouse_holds_is_answered(components: Components) -> None:
    # Given no events, When the first and last days the warehouse holds are asked for
    rows = activity.mau(components.warehouse, "default", date(1970, 1, 1), date(1970, 2, 1), [])
    events = lifestream.stream_events(
        components.warehouse,
        "default",
        "u1",
        start=datetime(1970, 1, 1, tzinfo=UTC),
        end=datetime(2149, 6, 6, tzinfo=UTC),
    )
    # Then they are answered, dated as asked
    assert [r.month for r in rows] == [date(1970, 1, 1), date(1970, 2, 1)]
    assert events.total == 0


def test_retention_refuses_a_start_the_warehouse_cannot_hold(components: Components) -> None:
    with pytest.raises(InvalidParameter) as raised:
        retention.retention_cohorts(
            components.warehouse, "default", date(2150, 1, 1), 3, [], date(2150, 3, 1)
        )
    assert raised.value.field == "start_date"
