"""The embedded engine's memory bound: past EVENTLENS_CHDB_SPILL_MB a GROUP BY goes on in temporary
files, and answers exactly what it answers in memory."""

from __future__ import annotations

from eventlens.settings import Settings
from eventlens.warehouse import ChdbWarehouse, open_warehouse

# Two million numbers in 200,000 groups: far more than 1 MiB of aggregation state.
GROUPED = """
    SELECT number % 200000 AS k, count() AS c, sum(number) AS s
    FROM numbers(2000000)
    GROUP BY k
"""


def _spilled_parts(warehouse: ChdbWarehouse) -> int:
    rows = warehouse.query(
        "SELECT value FROM system.events WHERE event = 'ExternalAggregationWritePart'"
    ).to_pylist()
    return int(rows[0]["value"]) if rows else 0


def test_a_group_by_past_the_limit_spills_to_disk_and_answers_the_same(settings: Settings) -> None:
    # Given an embedded warehouse allowed 1 MiB for a GROUP BY
    warehouse = open_warehouse(settings.model_copy(update={"chdb_spill_mb": 1}))
    assert isinstance(warehouse, ChdbWarehouse)
    try:
        before = _spilled_parts(warehouse)
        # When it groups 2M numbers into 200k groups
        rows = warehouse.query(GROUPED).to_pylist()
        # Then parts of the aggregation were written to disk
        assert _spilled_parts(warehouse) > before
        # And each group is exactly what plain arithmetic says: ten numbers, k + 200000 * (0 + … + 9)
        assert len(rows) == 200_000
        assert {row["k"]: (row["c"], row["s"]) for row in rows} == {
            k: (10, 10 * k + 200_000 * 45) for k in range(200_000)
        }
    finally:
        warehouse.close()


def test_the_default_bound_is_set_and_zero_keeps_the_engines_own(settings: Settings) -> None:
    limits = "SELECT value FROM system.settings WHERE name = 'max_bytes_before_external_group_by'"
    bounded = open_warehouse(settings)
    unbounded = open_warehouse(settings.model_copy(update={"chdb_spill_mb": 0}))
    try:
        assert bounded.query(limits).to_pylist() == [{"value": str(settings.chdb_spill_mb * 1024 * 1024)}]
        assert settings.chdb_spill_mb == 256
        assert unbounded.query(limits).to_pylist() == [{"value": "0"}]
    finally:
        bounded.close()
        unbounded.close()
