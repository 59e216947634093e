"""snapshot features and targets: what they count, and that nothing after the snapshot date leaks in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from eventlens.ml import features
from eventlens.ml.features import FEATURES, event_arrays, snapshot_table
from tests.ml.conftest import LAST_DAY

D = date(2026, 1, 31)


def events(*rows: tuple[str, str, datetime, float | None, str]) -> pa.Table:
    """(user_id, event_type, ts, amount, item) rows as the snapshot reads them from the export."""
    users, types, ts, amounts, items = zip(*rows, strict=True)
    return pa.table(
        {
            "user_id": pa.array(users),
            "event_type": pa.array(types),
            "ts": pa.array(ts, pa.timestamp("ms", tz="UTC")),
            "amount": pa.array(amounts, pa.float64()),
            "item": pa.array(items),
        }
    )


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def by_user(table: pa.Table) -> dict[str, dict]:
    return {row["user_id"]: row for row in table.to_pylist()}


def commerce_columns(rows: pa.Table) -> pa.Table:
    """The generated ``events`` rows reduced to what the snapshot reads (as the export has them)."""
    import json

    props = [json.loads(p) for p in rows.column("properties").to_pylist()]
    return pa.table(
        {
            "user_id": rows.column("user_id"),
            "event_type": rows.column("event_type"),
            "ts": rows.column("ts"),
            "amount": pa.array([p.get("price") for p in props], pa.float64()),
            "item": pa.array([p.get("item_id", "") for p in props]),
        }
    )


def test_features_count_what_happened_up_to_the_snapshot_date() -> None:
    # Given one shopper's history: a visit 40 days ago, then three events in the last week, a purchase
    history = events(
        ("u1", "page_view", at(D - timedelta(days=40)), None, ""),
        ("u1", "view_item", at(D - timedelta(days=3)), 20.0, "item_1"),
        ("u1", "add_to_cart", at(D - timedelta(days=3), 13), 20.0, "item_1"),
        ("u1", "purchase", at(D, 9), 20.0, "item_1"),
        ("u2", "page_view", at(D - timedelta(days=200)), None, ""),  # inactive for 90+ days: not in
    )

    # When the snapshot of the evening of D is built
    rows = by_user(snapshot_table(event_arrays(history), D))

    # Then the numbers are those of the history
    assert set(rows) == {"u1"}
    u1 = rows["u1"]
    assert (u1["days_since_last"], u1["days_since_first"], u1["days_since_last_purchase"]) == (0, 40, 0)
    assert (u1["total_events"], u1["unique_days"]) == (4, 3)
    assert (u1["events_last_7d"], u1["events_last_30d"]) == (3, 3)
    assert (u1["total_purchases"], u1["total_spent"], u1["distinct_items"]) == (1, 20.0, 1)
    assert (u1["view_item_7d"], u1["add_to_cart_7d"], u1["last_is_purchase"]) == (1, 1, 1)
    # micro-trend: all of the week's events in its second half → a rising 7-day slope
    assert u1["slope_7d"] > 0 and u1["trend_ratio_7_28"] > 1
    # the sequence embedding: three transitions of the last 30 days, as shares
    assert sum(u1[f"seq_{i:02d}"] for i in range(features.SEQ_DIM)) == pytest.approx(1.0)


def test_targets_see_only_the_horizon_after_the_snapshot_date() -> None:
    # Given purchases 3 days and 9 days after D, and one on D itself
    history = events(
        ("buyer", "purchase", at(D, 8), 5.0, "item_1"),
        ("buyer", "purchase", at(D + timedelta(days=3)), 42.0, "item_2"),
        ("late", "page_view", at(D), None, ""),
        ("late", "purchase", at(D + timedelta(days=9)), 9.0, "item_3"),
    )

    # When the training rows of D are built with a 7-day horizon
    rows = by_user(snapshot_table(event_arrays(history), D, horizon_days=7))

    # Then the buyer buys in 3 days for 42 and the late one does not count
    assert (
        rows["buyer"]["will_purchase"],
        rows["buyer"]["days_to_next_purchase"],
        rows["buyer"]["next_purchase_amount"],
    ) == (1, 3.0, 42.0)
    assert rows["late"]["will_purchase"] == 0 and rows["late"]["days_to_next_purchase"] is None


def test_nothing_after_the_snapshot_date_reaches_a_feature(shopper_rows: pa.Table) -> None:
    # Given a year of shoppers, and the same year with everything after the snapshot date replaced:
    # the real future dropped, a made-up future (bursts of carts and purchases) for every user added
    snapshot = LAST_DAY - timedelta(days=30)
    real = commerce_columns(shopper_rows)
    days = pc.cast(real.column("ts"), pa.date32())
    past = real.filter(pc.less_equal(days, pa.scalar(snapshot, pa.date32())))
    users = past.column("user_id").unique()
    made_up = pa.table(
        {
            "user_id": pa.concat_arrays([users, users]),
            "event_type": pa.array(["add_to_cart"] * len(users) + ["purchase"] * len(users)),
            "ts": pa.array(
                [at(snapshot + timedelta(days=1), 0)] * (2 * len(users)), pa.timestamp("ms", "UTC")
            ),
            "amount": pa.array([999.0] * (2 * len(users)), pa.float64()),
            "item": pa.array(["item_new"] * (2 * len(users))),
        }
    )
    altered = pa.concat_tables([past, made_up])

    # When the snapshot of that date is built from each
    original = snapshot_table(event_arrays(real), snapshot).sort_by("user_id")
    rebuilt = snapshot_table(event_arrays(altered), snapshot).sort_by("user_id")

    # Then every feature of every user is the same: the features cannot see past the date
    assert original.num_rows > 500
    assert original.column("user_id").equals(rebuilt.column("user_id"))
    for name in FEATURES:
        before, after = original.column(name).to_numpy(), rebuilt.column(name).to_numpy()
        assert np.allclose(before, after, equal_nan=True), name
    # (and the targets, which may see it, do change)
    labelled = snapshot_table(event_arrays(altered), snapshot, horizon_days=7)
    assert set(labelled.column("will_purchase").to_pylist()) == {1}
