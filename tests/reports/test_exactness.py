"""Every report against an independent pandas computation over the same events (duplicates and
late events included in what was delivered; each event counts once)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from eventlens.reports import activity, lifestream, retention, viewing
from eventlens.reports.segments import parse_segments
from tests.reports.conftest import Dataset


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _select(frame: pd.DataFrame, segment: str | None) -> pd.DataFrame:
    """The events a segment keeps, evaluated in pandas."""
    for part in (segment or "").split(","):
        if not part:
            continue
        name, value = part.split(":", 1)
        if name.startswith("properties."):
            key = name.split(".", 1)[1]
            frame = frame[frame["properties"].map(lambda p, k=key, v=value: str(p.get(k, "")) == v)]
        else:
            frame = frame[frame[name] == value]
    return frame


SEGMENTS = [
    None,
    "properties.country:UA",
    "event_type:page_view,properties.country:PL",
    "source:viewing",
    "properties.region:UA-07",
    "user_id:nobody",
]


def test_stored_events_are_the_distinct_events(reports: Dataset) -> None:
    # Given events delivered with duplicates, a redelivered batch and late events
    # When the events table is counted
    stored = reports.components.warehouse.query("SELECT count() AS n, uniqExact(event_id) AS u FROM events")
    # Then every event is there once
    assert stored.to_pylist() == [{"n": len(reports.events), "u": len(reports.events)}]


@pytest.mark.parametrize("segment", SEGMENTS)
def test_dau_matches_pandas(reports: Dataset, segment: str | None) -> None:
    # Given the stored events and a 60-day range
    start, end = reports.today - timedelta(days=59), reports.today
    frame = _select(reports.events, segment)
    expected = frame.groupby("day")["user_id"].nunique()
    # When DAU is asked for
    got = activity.dau(reports.components.warehouse, "default", start, end, parse_segments(segment))
    # Then each day counts its distinct users, days without any count 0
    assert [(r.date, r.unique_users) for r in got] == [
        (d, int(expected.get(d, 0))) for d in _days(start, end)
    ]


@pytest.mark.parametrize("segment", SEGMENTS[:4])
def test_wau_and_mau_match_pandas(reports: Dataset, segment: str | None) -> None:
    # Given a range that starts and ends mid-week and mid-month
    start, end = reports.today - timedelta(days=80), reports.today - timedelta(days=3)
    frame = _select(reports.events, segment)
    weeks = frame.assign(w=frame["day"].map(_monday)).groupby("w")["user_id"].nunique()
    months = frame.assign(m=frame["day"].map(lambda d: d.replace(day=1))).groupby("m")["user_id"].nunique()
    segments = parse_segments(segment)
    # When WAU and MAU are asked for
    wau = activity.wau(reports.components.warehouse, "default", start, end, segments)
    mau = activity.mau(reports.components.warehouse, "default", start, end, segments)
    # Then whole weeks and months overlapping the range count their distinct users
    week_starts = sorted({_monday(d) for d in _days(start, end)})
    month_starts = sorted({d.replace(day=1) for d in _days(start, end)})
    assert [(r.week, r.unique_users) for r in wau] == [(w, int(weeks.get(w, 0))) for w in week_starts]
    assert [(r.month, r.unique_users) for r in mau] == [(m, int(months.get(m, 0))) for m in month_starts]


@pytest.mark.parametrize("segment", [None, "properties.country:DE", "properties.region:UA-07"])
def test_top_events_match_pandas(reports: Dataset, segment: str | None) -> None:
    # Given a 30-day range
    start, end = reports.today - timedelta(days=30), reports.today
    frame = _select(reports.events, segment)
    frame = frame[(frame["day"] >= start) & (frame["day"] <= end)]
    counts = frame.groupby("event_type").size().reset_index(name="count")
    expected = counts.sort_values(["count", "event_type"], ascending=[False, True]).head(5)
    # When the top five event types are asked for
    got = activity.top_events(reports.components.warehouse, "default", start, end, 5, parse_segments(segment))
    # Then they are the most frequent types, counted once per event
    assert [(r.event_type, r.count) for r in got] == list(expected.itertuples(index=False, name=None))


@pytest.mark.parametrize("segment", [None, "event_type:page_view", "properties.country:UA"])
def test_retention_matches_pandas(reports: Dataset, segment: str | None) -> None:
    # Given cohorts from ten weeks ago, four windows
    start = reports.today - timedelta(days=70)
    frame = _select(reports.events, segment)
    weeks = frame.assign(week=frame["day"].map(_monday))[["user_id", "week"]].drop_duplicates()
    cohort = weeks.groupby("user_id")["week"].min().rename("cohort")
    weeks = weeks.join(cohort, on="user_id")
    first = start + timedelta(days=(7 - start.weekday()) % 7)
    last = _monday(reports.today)
    expected = []
    for c in sorted(weeks["cohort"].unique()):
        if not first <= c <= last:
            continue
        members = weeks[weeks["cohort"] == c]
        size = members["user_id"].nunique()
        row = {"cohort_week": c.isoformat(), "week_0": size}
        for k in range(1, 5):
            active = members[members["week"] == c + timedelta(weeks=k)]["user_id"].nunique()
            row[f"week_{k}"] = round(100 * active / size, 2) if c + timedelta(weeks=k) <= last else None
        expected.append(row)
    # When retention is asked for
    got = retention.retention_cohorts(
        reports.components.warehouse, "default", start, 4, parse_segments(segment)
    )
    # Then each cohort's size and weekly shares match
    assert got == expected
    assert got, "the dataset has cohorts in the range"


def _viewing(reports: Dataset, days: int) -> pd.DataFrame:
    frame = reports.events[reports.events["source"] == "viewing"]
    frame = frame[frame["day"] >= reports.today - timedelta(days=days)]
    return frame.assign(movie_id=frame["properties"].map(lambda p: p["movie_id"]))


def test_popular_content_matches_pandas(reports: Dataset) -> None:
    # Given the viewing events of the last 30 days
    frame = _viewing(reports, 30)
    per_movie = (
        frame.groupby("movie_id")
        .agg(
            total_views=("event_type", lambda t: int((t == "start").sum())),
            finishes=("event_type", lambda t: int((t == "finish").sum())),
            unique_viewers=("user_id", "nunique"),
        )
        .reset_index()
    )
    per_movie = (
        per_movie[per_movie["total_views"] > 0]
        .sort_values(["total_views", "movie_id"], ascending=[False, True])
        .head(5)
    )
    # When the five most popular movies are asked for
    got = viewing.popular_content(reports.components.warehouse, "default", 30, 5, today=reports.today)
    # Then views, viewers and completion rates match
    assert got.period_days == 30 and got.total_items == len(per_movie) == 5
    assert [(i.movie_id, i.total_views, i.unique_viewers) for i in got.items] == [
        (r.movie_id, r.total_views, r.unique_viewers) for r in per_movie.itertuples()
    ]
    for item, row in zip(got.items, per_movie.itertuples(), strict=True):
        assert item.completion_rate == pytest.approx(100 * row.finishes / row.total_views, abs=0.006)


def test_user_viewing_stats_match_pandas(reports: Dataset) -> None:
    # Given the viewer with the most viewing events in 60 days
    frame = _viewing(reports, 60)
    user = frame["user_id"].value_counts().index[0]
    mine = frame[frame["user_id"] == user].assign(
        position=lambda f: f["properties"].map(lambda p: p["position_seconds"]),
        session=lambda f: f["properties"].map(lambda p: p.get("session_id") or p["movie_id"]),
    )
    watched = mine.groupby(["session", "movie_id"])["position"].max().groupby("movie_id").sum()
    started, finished = (
        int((mine["event_type"] == "start").sum()),
        int((mine["event_type"] == "finish").sum()),
    )
    # When their stats are asked for
    got = viewing.user_stats(reports.components.warehouse, "default", user, 60, today=reports.today)
    # Then they match
    assert (
        got.movies_started,
        got.movies_finished,
        got.unique_movies_watched,
        got.total_watch_time_seconds,
    ) == (started, finished, mine["movie_id"].nunique(), int(watched.sum()))
    assert got.completion_rate == pytest.approx(100 * finished / started, abs=0.006)
    assert got.most_watched_movie_id == min(watched.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def test_user_without_viewing_gets_zeros(reports: Dataset) -> None:
    # Given a user id that never watched anything / When their stats are asked for
    got = viewing.user_stats(reports.components.warehouse, "default", "nobody", 30, today=reports.today)
    # Then every figure is zero and there is no most watched movie
    assert (got.movies_started, got.total_watch_time_seconds, got.most_watched_movie_id) == (0, 0, None)


def test_trends_and_peak_hours_match_pandas(reports: Dataset) -> None:
    # Given the viewing events of the last 14 and 30 days
    frame = _viewing(reports, 14)
    by_day = frame.groupby("day")
    # When trends and peak hours are asked for
    trends = viewing.trends(reports.components.warehouse, "default", 14, today=reports.today)
    peaks = viewing.peak_hours(reports.components.warehouse, "default", 30, today=reports.today)
    # Then each day's views, viewers and completions match, days without viewing count 0
    expected_days = _days(reports.today - timedelta(days=14), reports.today)
    assert [(t.date, t.total_views, t.unique_viewers, t.completed_views) for t in trends.trends] == [
        (
            d,
            int((by_day.get_group(d)["event_type"] == "start").sum()) if d in by_day.groups else 0,
            int(by_day.get_group(d)["user_id"].nunique()) if d in by_day.groups else 0,
            int((by_day.get_group(d)["event_type"] == "finish").sum()) if d in by_day.groups else 0,
        )
        for d in expected_days
    ]
    hourly = _viewing(reports, 30)
    hours = (
        hourly.groupby(hourly["ts"].dt.hour)
        .agg(events_count=("event_id", "size"), unique_users=("user_id", "nunique"))
        .reset_index()
    )
    hours = hours.sort_values(["events_count", "ts"], ascending=[False, True])
    assert [(h.hour, h.events_count, h.unique_users) for h in peaks.hours] == list(
        hours.itertuples(index=False, name=None)
    )


def _lifestream_user(reports: Dataset) -> tuple[str, pd.DataFrame]:
    frame = reports.events[reports.events["source"] == "lifestream"]
    user = frame["user_id"].value_counts().index[0]
    return user, frame[frame["user_id"] == user]


def test_stream_events_pages_through_every_event_newest_first(reports: Dataset) -> None:
    # Given the Life Stream user with the most events
    user, mine = _lifestream_user(reports)
    expected = mine.sort_values(["ts", "event_id"], ascending=[False, True])["event_id"].tolist()
    # When their events are read five at a time
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = lifestream.stream_events(reports.components.warehouse, "default", user, limit=5, offset=offset)
        assert page.total == len(expected)
        seen += [str(e.event_id) for e in page.events]
        offset = page.next_offset
    # Then every event comes once, newest first
    assert seen == expected


def test_stream_events_filter_by_type_and_time(reports: Dataset) -> None:
    # Given a user, a type filter and a time window
    user, mine = _lifestream_user(reports)
    start = reports.today - timedelta(days=40)
    begin, end = datetime.combine(start, datetime.min.time(), UTC), datetime.now(UTC)
    expected = mine[mine["event_type"].isin(["geo", "purchase"]) & (mine["ts"] >= begin) & (mine["ts"] < end)]
    # When the filtered events are asked for
    page = lifestream.stream_events(
        reports.components.warehouse, "default", user, begin, end, ["geo", "purchase"], 1000
    )
    # Then only those come back, with their properties as sent
    assert page.total == len(expected) == len(page.events)
    sent = {e.event_id: e.properties for e in expected.itertuples()}
    assert {e.event_id: e.properties for e in page.events} == sent


def test_stream_stats_match_pandas(reports: Dataset) -> None:
    # Given a Life Stream user / When their stats are asked for
    user, mine = _lifestream_user(reports)
    got = lifestream.stream_stats(reports.components.warehouse, "default", user)
    # Then totals and per-type counts, first and last match
    by_type = mine.groupby("event_type")["ts"].agg(["size", "min", "max"])
    assert got.total_events == len(mine)
    assert {t.type: (t.count, t.first, t.last) for t in got.by_type} == {
        k: (int(r["size"]), r["min"].to_pydatetime(), r["max"].to_pydatetime()) for k, r in by_type.iterrows()
    }


def test_memory_summary_matches_pandas(reports: Dataset) -> None:
    # Given a Life Stream user and the last 60 days
    user, mine = _lifestream_user(reports)
    start, end = reports.today - timedelta(days=59), reports.today
    mine = mine[(mine["day"] >= start) & (mine["day"] <= end)]
    props = mine["properties"]
    # When the summary is asked for
    got = lifestream.memory_summary(reports.components.warehouse, "default", user, start, end)
    # Then each section matches
    assert got.total_events == len(mine)
    assert got.events_by_type == mine.groupby("event_type").size().to_dict()
    buys = props[mine["event_type"] == "purchase"]
    assert got.purchases.count == len(buys)
    assert got.purchases.total_spent == pytest.approx(sum(p["amount"] for p in buys), abs=0.006)
    items = pd.Series([p["amount"] for p in buys], index=[p["item"] for p in buys]).groupby(level=0).sum()
    assert {s.name: s.spent for s in got.purchases.by_item} == pytest.approx(
        items.round(2).to_dict(), abs=0.006
    )
    social = [p for p in props[mine["event_type"] == "social"] if p.get("person_id")]
    people = pd.Series([p["person_id"] for p in social]).value_counts()
    assert {p.person_id: p.interactions for p in got.people} == {
        k: int(v) for k, v in sorted(people.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    }
    acts = [p for p in props[mine["event_type"] == "activity"]]
    assert (got.activity.sessions, got.activity.total_minutes) == (
        len(acts),
        pytest.approx(sum(a["duration_minutes"] for a in acts), abs=0.006),
    )
    health = pd.DataFrame([p for p in props[mine["event_type"] == "health"]])
    if len(health):
        stats = health.groupby("metric")["value"].agg(["size", "mean", "min", "max"])
        assert {h.metric: (h.count, h.min, h.max) for h in got.health} == {
            k: (int(r["size"]), r["min"], r["max"]) for k, r in stats.iterrows()
        }
    geo = pd.DataFrame([p for p in props[mine["event_type"] == "geo"]])
    assert sum(p.visits for p in got.places) == min(len(geo), sum(p.visits for p in got.places))
    assert len(got.places) <= 10
