"""Millions of events generated column by column (numpy + pyarrow), for the report benchmark.

``eventlens_tools.generator`` builds realistic sessions event by event (about 100 s for 10M events); this
builds the same families, types and properties as whole columns in seconds. Users have a family, a
country, a first day and an activity weight (heavy users produce most events); an event's day lies
between its user's first day and the end, skewed towards the first day, so cohorts decay.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FAMILIES = ["commerce", "viewing", "lifestream", "generic"]
FAMILY_SHARES = [0.45, 0.25, 0.22, 0.08]
TYPES = {
    "commerce": (
        ["session_start", "page_view", "search", "view_item", "add_to_cart", "purchase"],
        [0.12, 0.35, 0.12, 0.25, 0.10, 0.06],
    ),
    "viewing": (["start", "progress", "finish"], [0.30, 0.55, 0.15]),
    "lifestream": (["geo", "purchase", "social", "health", "activity"], [0.50, 0.15, 0.10, 0.15, 0.10]),
    "generic": (
        ["app_open", "login", "click", "share", "signup", "logout"],
        [0.3, 0.2, 0.3, 0.05, 0.05, 0.1],
    ),
}
HOURS = {"commerce": (13, 4.0), "viewing": (20, 2.5), "lifestream": (12, 5.0), "generic": (10, 3.0)}
COUNTRIES = np.array(["UA", "PL", "DE", "US", "GB", "FR", "ES", "IT", "NL", "SE"])
COUNTRY_SHARES = np.array([30, 15, 12, 12, 8, 6, 5, 5, 4, 3]) / 100
COHORT_WEIGHTS = np.array([40.0, 10.0, 2.5, 0.3])  # heavy, medium, light, one-time
COHORT_SHARES = [0.10, 0.30, 0.45, 0.15]
PLACES = [(50.4501, 30.5234), (50.4547, 30.5238), (50.4420, 30.5100), (50.4480, 30.5200), (50.4600, 30.5300)]


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DASHES = (8, 13, 18, 23)


def _uuid_strings(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` random version-4 UUIDs as text, built as one byte matrix (no Python loop per row)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 0x0F]
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    text[:, [i for i in range(36) if i not in _DASHES]] = digits
    offsets = pa.array(np.arange(0, 36 * (n + 1), 36, dtype=np.int32))
    return pa.StringArray.from_buffers(n, offsets.buffers()[1], pa.py_buffer(text.tobytes()))


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(str), pa.string())


def _json(parts: list[str | pa.Array]) -> pa.Array:
    """Concatenate literal pieces and string arrays element-wise into JSON objects."""
    length = next(len(p) for p in parts if not isinstance(p, str))
    arrays = [pa.array([p] * length, pa.string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def generate_events(
    events: int, users: int = 200_000, days: int = 365, seed: int = 11, end: datetime | None = None
) -> pa.Table:
    """``events`` rows shaped as eventlens's ``events`` table (event_id, user_id, event_type, ts, source,
    properties, received_at), sorted by ts; ``end`` is the last moment of history (default now)."""
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC)
    start = end - timedelta(days=days)
    user_ids = np.array(_uuid_strings(rng, users).to_pylist())
    family = rng.choice(len(FAMILIES), size=users, p=FAMILY_SHARES)
    country = rng.choice(len(COUNTRIES), size=users, p=COUNTRY_SHARES)
    first_day = (rng.beta(1.2, 2.0, size=users) * (days - 1)).astype(np.int64)
    weight = COHORT_WEIGHTS[rng.choice(4, size=users, p=COHORT_SHARES)]
    weight = weight * (days - first_day) / days  # a user who started late has fewer days to be active in
    user = rng.choice(users, size=events, p=weight / weight.sum())

    span = days - first_day[user]
    day = first_day[user] + np.minimum((span * rng.random(events) ** 1.6).astype(np.int64), span - 1)
    fam = family[user]
    hour_mean = np.array([HOURS[f][0] for f in FAMILIES])[fam]
    hour_spread = np.array([HOURS[f][1] for f in FAMILIES])[fam]
    hour = np.clip(rng.normal(hour_mean, hour_spread), 0, 23.999)
    offset_ms = (day * 86_400_000 + hour * 3_600_000).astype(np.int64)
    start_ms = int(start.timestamp() * 1000)
    ts = np.minimum(start_ms + offset_ms, int(end.timestamp() * 1000) - 1)

    all_types = sorted({t for types, _ in TYPES.values() for t in types})
    type_code = np.empty(events, dtype=np.int32)
    countries = _text(COUNTRIES[country[user]])
    pieces: list[tuple[np.ndarray, pa.Array]] = []
    for f_index, name in enumerate(FAMILIES):
        rows = np.flatnonzero(fam == f_index)
        types, shares = TYPES[name]
        kinds = rng.choice(len(types), size=len(rows), p=shares)
        type_code[rows] = np.array([all_types.index(t) for t in types])[kinds]
        pieces.extend(_family_properties(rng, name, rows, kinds, types, user, day, countries))

    # Rows in time order, as an ingest stream delivers them.
    order = np.argsort(ts, kind="stable")
    position = np.empty(events, dtype=np.int64)
    position[np.concatenate([rows for rows, _ in pieces])] = np.arange(events)
    properties = pa.chunked_array([array for _, array in pieces]).combine_chunks()
    properties = properties.take(pa.array(position[order]))
    ts_array = pa.array(ts[order], pa.timestamp("ms", tz="UTC"))
    return pa.table(
        {
            "event_id": _uuid_strings(rng, events),
            "user_id": _text(user_ids[user[order]]),
            "event_type": pa.array(all_types, pa.string()).take(pa.array(type_code[order])),
            "ts": ts_array,
            "source": pa.array(FAMILIES, pa.string()).take(pa.array(fam[order])),
            "properties": properties,
            "received_at": ts_array,
        }
    )


def _family_properties(
    rng: np.random.Generator,
    family: str,
    rows: np.ndarray,
    kinds: np.ndarray,
    types: list[str],
    user: np.ndarray,
    day: np.ndarray,
    countries: pa.Array,
) -> list[tuple[np.ndarray, pa.Array]]:
    """The properties JSON of one family's rows, as (row indices, JSON texts) pieces."""
    country = countries.take(pa.array(rows))
    n = len(rows)
    if family == "commerce":
        session = _text(np.char.add("s", (user[rows] * 1000 + day[rows]).astype(str)))
        item = _text(np.char.add("item_", rng.integers(0, 2000, n).astype(str)))
        price = _text(np.round(rng.uniform(2, 300, n), 2))
        return [
            (
                rows,
                _json(
                    [
                        '{"session_id":"',
                        session,
                        '","country":"',
                        country,
                        '","item_id":"',
                        item,
                        '","price":',
                        price,
                        "}",
                    ]
                ),
            )
        ]
    if family == "viewing":
        movie = rng.zipf(1.3, n) % 500
        movie_ids = _text(np.char.add("00000000-0000-4000-8000-", np.char.zfill(movie.astype(str), 12)))
        length = np.array([1800, 5400, 7200])[movie % 3]
        partway = (rng.random(n) * length).astype(np.int64)
        position = np.where(kinds == 0, 0, np.where(kinds == 2, length, partway))
        session = _text(np.char.add("v", (user[rows] * 1000 + day[rows]).astype(str)))
        return [
            (
                rows,
                _json(
                    [
                        '{"movie_id":"',
                        movie_ids,
                        '","position_seconds":',
                        _text(position),
                        ',"session_id":"',
                        session,
                        '","country":"',
                        country,
                        '"}',
                    ]
                ),
            )
        ]
    if family == "lifestream":
        pieces = []
        for k, kind in enumerate(types):
            sub = np.flatnonzero(kinds == k)
            pieces.append((rows[sub], _lifestream(rng, kind, country.take(pa.array(sub)))))
        return pieces
    page = _text(np.char.add("/page/", rng.integers(0, 50, n).astype(str)))
    return [(rows, _json(['{"page":"', page, '","country":"', country, '"}']))]


def _lifestream(rng: np.random.Generator, kind: str, country: pa.Array) -> pa.Array:
    n = len(country)
    if kind == "geo":
        place = rng.integers(0, len(PLACES), n)
        lat = _text(np.round(np.array([p[0] for p in PLACES])[place] + rng.normal(0, 0.0005, n), 6))
        lon = _text(np.round(np.array([p[1] for p in PLACES])[place] + rng.normal(0, 0.0005, n), 6))
        return _json(['{"lat":', lat, ',"lon":', lon, ',"country":"', country, '"}'])
    if kind == "purchase":
        pick = rng.integers(0, 3, n)
        item = _text(np.array(["Latte", "Groceries", "Book"])[pick])
        place = _text(np.array(["Starbucks", "Silpo", "Yakaboo"])[pick])
        amount = _text(np.round(rng.uniform(50, 900, n), 2))
        return _json(
            ['{"item":"', item, '","amount":', amount, ',"place":"', place, '","country":"', country, '"}']
        )
    if kind == "social":
        action = _text(np.array(["meet", "call", "message"])[rng.integers(0, 3, n)])
        person = _text(np.char.add("person_", rng.integers(1, 41, n).astype(str)))
        return _json(['{"action":"', action, '","person_id":"', person, '","country":"', country, '"}'])
    if kind == "health":
        metric = rng.integers(0, 3, n)
        names = _text(np.array(["heart_rate", "steps", "sleep_hours"])[metric])
        low, width = np.array([55, 0, 4])[metric], np.array([105, 20000, 6])[metric]
        value = _text(np.round(low + rng.random(n) * width, 1))
        return _json(['{"metric":"', names, '","value":', value, ',"country":"', country, '"}'])
    activity = _text(np.array(["run", "walk", "yoga", "cycling"])[rng.integers(0, 4, n)])
    minutes = _text(rng.integers(10, 91, n))
    return _json(['{"activity":"', activity, '","duration_minutes":', minutes, ',"country":"', country, '"}'])
