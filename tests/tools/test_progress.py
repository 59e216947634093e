"""Progress off a terminal (plain lines a CI log keeps), the demo's event count estimate and its
daily active users with today marked as a day not over yet."""

from __future__ import annotations

import io
import itertools
from datetime import date

from eventlens_tools.demo import EventFeed, day_label
from eventlens_tools.generator import generate_events
from eventlens_tools.progress import Progress, StateLog, is_terminal
from eventlens_tools.shoppers import generate_shopper_events


def test_off_a_terminal_progress_is_plain_lines_with_rate_and_eta() -> None:
    # Given a stream that is no terminal
    stream = io.StringIO()
    assert not is_terminal(stream)
    # When work with a known total is counted (a line at every update here, every 10 s by default)
    with Progress("sending events", total=1000, unit="events", stream=stream, every_s=0) as progress:
        progress.update(250)
        progress.update(250)
    lines = stream.getvalue().splitlines()
    # Then each line says how far, how fast and how long still, without a carriage return
    assert "\r" not in stream.getvalue()
    assert lines[0].startswith("sending events: 250/1,000 events (25%), ")
    assert "events/s" in lines[0] and "ETA " in lines[0]
    assert lines[-1].startswith("sending events: 500/1,000 events (50%), ") and "done in " in lines[-1]


def test_an_estimated_total_is_marked_and_the_last_line_is_the_real_count() -> None:
    stream = io.StringIO()
    with Progress("rows", total=900, unit="rows", stream=stream, every_s=0, estimated=True) as progress:
        progress.set(300)
        progress.set_total(1100)
        progress.set(1050)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("rows: 300/~900 rows (33%)")
    assert lines[1].startswith("rows: 1,050/~1,100 rows (95%)")
    assert lines[-1].startswith("rows: 1,050/1,050 rows (100%)")


def test_unknown_total_shows_count_and_rate_only() -> None:
    stream = io.StringIO()
    with Progress("import-postgres: users", unit="rows", stream=stream, every_s=3600) as progress:
        progress.set(12_345)
    (line,) = stream.getvalue().splitlines()  # only the last line: the interval never passed
    assert line.startswith("import-postgres: users: 12,345 rows, ") and "rows/s" in line and "%" not in line


def test_state_log_tells_each_state_and_how_long_the_one_before_took() -> None:
    stream = io.StringIO()
    states = StateLog("pipeline", stream)
    for state in ("Export", "Snapshot", "Train"):
        states(state)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "pipeline: Export …"
    assert lines[1].startswith("pipeline: Snapshot … (Export took ") and lines[1].endswith(" s)")
    assert lines[2].startswith("pipeline: Train … (Snapshot took ")
    assert states.states == ["Export", "Snapshot", "Train"]


def test_event_feed_counts_every_event_and_its_estimate_converges() -> None:
    # Given the demo's two generators, small
    def streams() -> list:
        return [
            (generate_events(120, 60, 7), 120, 1.0 * 60),
            (generate_shopper_events(80, 60, 11), 80, 0.62 * 60),
        ]

    expected = sum(1 for s, _, _ in streams() for _ in s)
    feed = EventFeed(streams())
    first_guess = feed.estimate()
    # When half of them are drawn
    drawn = list(itertools.islice(feed, expected // 2))
    halfway = feed.estimate()
    # and then the rest
    drawn += list(feed)
    # Then it gave every event once, in order, and knows the exact count at the end
    assert len(drawn) == expected and len({e["event_id"] for e in drawn}) == expected
    assert feed.estimate() == expected
    assert first_guess > 0
    assert abs(halfway - expected) / expected < 0.25


def test_todays_dau_row_is_marked_as_a_day_not_over_yet() -> None:
    today = date(2026, 12, 1)
    assert day_label("2026-12-01", today) == "2026-12-01 (so far)"
    assert day_label("2026-11-30", today).rstrip() == "2026-11-30"
    assert len(day_label("2026-11-30", today)) == len(day_label("2026-12-01", today))  # columns align
