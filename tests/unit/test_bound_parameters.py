"""Values reach SQL as bound parameters exactly as given, whatever characters they hold."""

from __future__ import annotations

import pyarrow as pa
import pytest

from eventlens.components import Components

AWKWARD = [
    "DOMAIN\\alice",
    "trailing\\",
    "tab\there",
    "two\nlines",
    "cr\rhere",
    "o'neil",
    "{x:String}",
    "用户一",
]


@pytest.mark.parametrize("value", AWKWARD)
def test_a_stored_string_is_found_by_the_same_string_bound(components: Components, value: str) -> None:
    # Given a table holding the value and a decoy
    warehouse = components.warehouse
    warehouse.command("CREATE TABLE IF NOT EXISTS bound_values (v String) ENGINE = Memory")
    warehouse.insert_arrow("bound_values", pa.table({"v": pa.array([value, "decoy"])}))
    # When it is looked up and echoed through bound parameters
    found = warehouse.query(
        "SELECT count() AS n, any({v:String}) AS echoed FROM bound_values WHERE v = {v:String}", {"v": value}
    )
    # Then exactly the stored row matches, and the parameter arrives unchanged
    assert found.to_pylist() == [{"n": 1, "echoed": value}]
