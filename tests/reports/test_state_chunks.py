"""Distinct-user reports merge uniqExact states a few periods at a time (activity._state_chunks): the
runs are whole periods, in order, each period once, none spanning more than its period's bound."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from eventlens.reports import activity


@given(
    period=st.sampled_from(["day", "week", "month"]),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    length=st.integers(min_value=0, max_value=activity.MAX_RANGE_DAYS),
)
def test_runs_are_whole_periods_in_order_each_within_the_bound(period: str, start: date, length: int) -> None:
    periods = activity.period_starts(period, start, start + timedelta(days=length))  # type: ignore[arg-type]
    chunks = activity._state_chunks(period, periods)  # type: ignore[arg-type]
    # Every period once, in order
    assert [first for chunk in chunks for first in chunk] == periods
    for chunk in chunks:
        spanned = (activity._next_period_start(period, chunk[-1]) - chunk[0]).days  # type: ignore[arg-type]
        # No run spans more than the bound, unless it is one period (a month of 31 days is one)
        assert chunk and (spanned <= activity.STATE_CHUNK_DAYS[period] or len(chunk) == 1)
    # And no two neighbouring runs could have been one
    for before, after in zip(chunks, chunks[1:], strict=False):
        joined = (activity._next_period_start(period, after[0]) - before[0]).days  # type: ignore[arg-type]
        assert joined > activity.STATE_CHUNK_DAYS[period]


def test_a_year_of_days_is_twelve_runs_of_weeks_fourteen_of_months_four() -> None:
    year = (date(2026, 1, 1), date(2026, 12, 31))
    assert [len(c) for c in activity._state_chunks("day", activity.period_starts("day", *year))] == (
        [31] * 11 + [365 - 31 * 11]
    )
    weeks = activity._state_chunks("week", activity.period_starts("week", *year))
    assert {len(c) for c in weeks[:-1]} == {4} and len(weeks) == 14
    months = activity._state_chunks("month", activity.period_starts("month", *year))
    assert [len(c) for c in months] == [3] * 4
