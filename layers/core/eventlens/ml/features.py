"""Per-user features at a snapshot date, and purchase targets after it — column-wise, no event loops.

Events are held as parallel numpy arrays sorted by (user, time). Every feature at snapshot date
``d`` is a ``bincount`` (or a first/last-per-user pick) over a boolean mask of the events on or
before ``d``; targets look only at the events in ``(d, d + horizon]``. Nothing after ``d`` reaches a
feature, and ``tests/ml/test_snapshot.py`` proves it by changing the future and comparing.

Feature groups (after AnModel's snapshot builders):

* recency / frequency / monetary: days since the last event, the first event and the last purchase;
  events, active days and purchases overall and in 7/30/90-day windows; spend; distinct items;
* event-type counts in the last 7 and 30 days, and the type of the last event;
* micro-trend: the least-squares slope of daily event counts over the last 7 and 28 days, and the
  ratio of the two windows' daily rates;
* sequence embedding: transitions between consecutive event types of the last 30 days, hashed
  (crc32 of "a>b") into ``SEQ_DIM`` buckets and normalised to frequencies.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

TYPES = ("session_start", "page_view", "search", "view_item", "add_to_cart", "purchase")
OTHER = len(TYPES)  # code of any other event type
PURCHASE = TYPES.index("purchase")
SEQ_DIM = 16
HISTORY_DAYS = 365  # features see the year before the snapshot date
ACTIVE_DAYS = 90  # a snapshot holds the users active in the 90 days up to its date
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

FEATURES: tuple[str, ...] = (
    "days_since_last",
    "days_since_first",
    "days_since_last_purchase",
    "total_events",
    "unique_days",
    "events_per_active_day",
    "events_last_7d",
    "events_last_30d",
    "events_last_90d",
    "total_purchases",
    "total_spent",
    "avg_order_value",
    "purchases_last_30d",
    "spent_last_30d",
    "distinct_items",
    *(f"{t}_7d" for t in TYPES),
    *(f"{t}_30d" for t in TYPES),
    *(f"last_is_{t}" for t in TYPES),
    "slope_7d",
    "slope_28d",
    "trend_ratio_7_28",
    *(f"seq_{i:02d}" for i in range(SEQ_DIM)),
)
TARGETS = ("will_purchase", "days_to_next_purchase", "next_purchase_amount")


@dataclass(frozen=True)
class EventArrays:
    """One source's events as columns, sorted by (user, timestamp)."""

    users: np.ndarray  # user code → user_id (object array of str)
    user: np.ndarray  # int64 user code per event
    day: np.ndarray  # int32 days since 1970-01-01 (UTC)
    kind: np.ndarray  # int16 code into TYPES, OTHER for the rest
    prev_kind: np.ndarray  # the same user's previous event's kind, -1 for a first event
    amount: np.ndarray  # float64, 0 when absent
    # (user, item) pairs with the day each was first seen, and (user, day) pairs: for distinct counts.
    item_pair_user: np.ndarray
    item_pair_first_day: np.ndarray
    active_day_user: np.ndarray
    active_day: np.ndarray

    @property
    def size(self) -> int:
        return int(self.user.size)


def event_arrays(table: pa.Table) -> EventArrays:
    """Columns ``user_id, event_type, ts, amount, item`` (any order of rows) → sorted arrays."""
    import pyarrow.compute as pc

    if table.num_rows == 0:
        empty = np.zeros(0, np.int64)
        return EventArrays(
            np.array([], object),
            empty,
            empty.astype(np.int32),
            empty.astype(np.int16),
            empty.astype(np.int16),
            empty.astype(np.float64),
            empty,
            empty.astype(np.int32),
            empty,
            empty.astype(np.int32),
        )
    users = table.column("user_id").combine_chunks().dictionary_encode()
    ts = table.column("ts").combine_chunks().cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_numpy()
    user = users.indices.to_numpy().astype(np.int64)
    order = np.lexsort((ts, user))
    user = user[order]
    day = (ts[order] // 86_400_000).astype(np.int32)
    kinds = pc.index_in(table.column("event_type"), value_set=pa.array(TYPES)).fill_null(OTHER)
    kind = kinds.to_numpy().astype(np.int16)[order]
    amount = table.column("amount").fill_null(0.0).to_numpy().astype(np.float64)[order]
    items = pc.if_else(pc.equal(table.column("item"), ""), None, table.column("item")).combine_chunks()
    item = items.dictionary_encode().indices.fill_null(-1).to_numpy().astype(np.int64)[order]

    prev_kind = np.empty_like(kind)
    prev_kind[0] = -1
    prev_kind[1:] = np.where(user[1:] == user[:-1], kind[:-1], -1)

    has_item = item >= 0
    pair = user[has_item] * (int(item.max()) + 1) + item[has_item]
    pair_days = day[has_item]
    pair_order = np.lexsort((pair_days, pair))
    pair_sorted = pair[pair_order]
    first_of_pair = np.r_[True, pair_sorted[1:] != pair_sorted[:-1]] if pair.size else np.zeros(0, bool)
    user_day = user * 100_000 + day  # sorted already: events are in (user, time) order
    new_day = np.r_[True, user_day[1:] != user_day[:-1]]
    return EventArrays(
        users=np.asarray(users.dictionary.to_pylist(), dtype=object),
        user=user,
        day=day,
        kind=kind,
        prev_kind=prev_kind,
        amount=amount,
        item_pair_user=user[has_item][pair_order][first_of_pair],
        item_pair_first_day=pair_days[pair_order][first_of_pair],
        active_day_user=user[new_day],
        active_day=day[new_day],
    )


def features_at(events: EventArrays, snapshot: date) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The users active in the ``ACTIVE_DAYS`` up to ``snapshot`` and their features on its evening.

    Returns the user codes (ascending) and one array per name in ``FEATURES``.
    """
    d = snapshot.toordinal() - EPOCH_ORDINAL
    n_users = events.users.size
    age = d - events.day  # days before the snapshot date; negative = after it
    seen = (age >= 0) & (age < HISTORY_DAYS)
    u = events.user[seen]
    total = np.bincount(u, minlength=n_users)
    first_day = _pick_per_user(u, events.day[seen], n_users, last=False)
    last_day = _pick_per_user(u, events.day[seen], n_users, last=True)
    active = np.flatnonzero((total > 0) & (d - last_day < ACTIVE_DAYS))

    def per_user(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(events.user[mask], weights=w, minlength=n_users).astype(np.float64)[active]

    out: dict[str, np.ndarray] = {}
    purchase = seen & (events.kind == PURCHASE)
    last_purchase = _pick_per_user(events.user[purchase], events.day[purchase], n_users, last=True)
    out["days_since_last"] = (d - last_day[active]).astype(np.float64)
    out["days_since_first"] = (d - first_day[active]).astype(np.float64)
    out["days_since_last_purchase"] = np.where(last_purchase[active] >= 0, d - last_purchase[active], np.nan)
    out["total_events"] = total[active].astype(np.float64)
    day_seen = (events.active_day <= d) & (events.active_day > d - HISTORY_DAYS)
    out["unique_days"] = np.bincount(events.active_day_user[day_seen], minlength=n_users)[active] * 1.0
    out["events_per_active_day"] = out["total_events"] / np.maximum(out["unique_days"], 1)
    windows = {w: seen & (age < w) for w in (7, 28, 30, 90)}
    for w in (7, 30, 90):
        out[f"events_last_{w}d"] = per_user(windows[w])
    out["total_purchases"] = per_user(purchase)
    out["total_spent"] = per_user(purchase, events.amount)
    out["avg_order_value"] = out["total_spent"] / np.maximum(out["total_purchases"], 1)
    out["purchases_last_30d"] = per_user(purchase & windows[30])
    out["spent_last_30d"] = per_user(purchase & windows[30], events.amount)
    item_seen = (events.item_pair_first_day <= d) & (events.item_pair_first_day > d - HISTORY_DAYS)
    out["distinct_items"] = np.bincount(events.item_pair_user[item_seen], minlength=n_users)[active] * 1.0
    for w in (7, 30):
        counts = _counts_by_code(events.user, events.kind, windows[w], n_users, OTHER + 1)[active]
        for code, name in enumerate(TYPES):
            out[f"{name}_{w}d"] = counts[:, code]
    last_kind = _pick_per_user(u, events.kind[seen].astype(np.int64), n_users, last=True)[active]
    for code, name in enumerate(TYPES):
        out[f"last_is_{name}"] = (last_kind == code).astype(np.float64)
    out.update(_micro_trend(events, age, windows, per_user))
    out.update(_sequence_embedding(events, windows[30], n_users, active))
    return active, out


def targets_at(
    events: EventArrays, snapshot: date, horizon_days: int, users: np.ndarray
) -> dict[str, np.ndarray]:
    """For each user code in ``users``: a purchase in (snapshot, snapshot + horizon], how soon, how much."""
    d = snapshot.toordinal() - EPOCH_ORDINAL
    future = (events.day > d) & (events.day <= d + horizon_days) & (events.kind == PURCHASE)
    u = events.user[future]
    first = np.r_[True, u[1:] != u[:-1]] if u.size else np.zeros(0, bool)
    n_users = events.users.size
    will = np.zeros(n_users, np.int8)
    days_to = np.full(n_users, np.nan)
    amount = np.full(n_users, np.nan)
    will[u[first]] = 1
    days_to[u[first]] = events.day[future][first] - d
    amount[u[first]] = events.amount[future][first]
    return {
        "will_purchase": will[users],
        "days_to_next_purchase": days_to[users],
        "next_purchase_amount": amount[users],
    }


def snapshot_table(events: EventArrays, snapshot: date, horizon_days: int | None = None) -> pa.Table:
    """One snapshot date's rows: ``user_id, snapshot_date``, the features, and targets when asked."""
    users, features = features_at(events, snapshot)
    columns: dict[str, pa.Array] = {
        "user_id": pa.array(events.users[users].tolist(), pa.string()),
        "snapshot_date": pa.array([snapshot] * users.size, pa.date32()),
    }
    columns.update({name: pa.array(features[name], pa.float64(), from_pandas=True) for name in FEATURES})
    if horizon_days is not None:
        targets = targets_at(events, snapshot, horizon_days, users)
        columns["will_purchase"] = pa.array(targets["will_purchase"], pa.int8())
        for name in ("days_to_next_purchase", "next_purchase_amount"):  # NaN (no purchase) → null
            columns[name] = pa.array(targets[name], pa.float64(), from_pandas=True)
    return pa.table(columns)


def _pick_per_user(user: np.ndarray, values: np.ndarray, n_users: int, last: bool) -> np.ndarray:
    """The first or last value of each user's run (rows sorted by user, time); -1 for no rows."""
    picked = np.full(n_users, -1, dtype=np.int64)
    if user.size == 0:
        return picked
    boundary = np.r_[user[1:] != user[:-1], True] if last else np.r_[True, user[1:] != user[:-1]]
    picked[user[boundary]] = values[boundary]
    return picked


def _counts_by_code(
    user: np.ndarray, code: np.ndarray, mask: np.ndarray, n_users: int, n_codes: int
) -> np.ndarray:
    flat = user[mask] * n_codes + code[mask]
    return np.bincount(flat, minlength=n_users * n_codes).reshape(n_users, n_codes).astype(np.float64)


def _micro_trend(
    events: EventArrays,
    age: np.ndarray,
    windows: dict[int, np.ndarray],
    per_user: Callable[..., np.ndarray],
) -> dict[str, np.ndarray]:
    # Least squares over daily counts c_x at x = -age: slope = Σ (x - x̄) c_x / Σ (x - x̄)², and
    # Σ_x (x - x̄) c_x is a sum over the window's events of (x̄ - age) — one weighted bincount.
    out: dict[str, np.ndarray] = {}
    for w in (7, 28):
        centre = (w - 1) / 2
        out[f"slope_{w}d"] = per_user(windows[w], centre - age.astype(np.float64)) / (w * (w * w - 1) / 12)
    rate_7 = per_user(windows[7]) / 7
    rate_28 = per_user(windows[28]) / 28
    out["trend_ratio_7_28"] = (rate_7 + 1 / 28) / (rate_28 + 1 / 28)
    return out


def _bucket_table() -> np.ndarray:
    names = (*TYPES, "other")
    table = np.zeros((len(names), len(names)), np.int64)
    for a, first in enumerate(names):
        for b, second in enumerate(names):
            table[a, b] = zlib.crc32(f"{first}>{second}".encode()) % SEQ_DIM
    return table


_BUCKETS = _bucket_table()


def _sequence_embedding(
    events: EventArrays, window: np.ndarray, n_users: int, active: np.ndarray
) -> dict[str, np.ndarray]:
    mask = window & (events.prev_kind >= 0)
    buckets = _BUCKETS[events.prev_kind[mask], events.kind[mask]]
    counts = np.bincount(events.user[mask] * SEQ_DIM + buckets, minlength=n_users * SEQ_DIM)
    counts = counts.reshape(n_users, SEQ_DIM)[active].astype(np.float64)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    return {f"seq_{i:02d}": shares[:, i] for i in range(SEQ_DIM)}
