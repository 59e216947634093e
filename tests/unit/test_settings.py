"""Settings come from the environment by their documented names only."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventlens.settings import Settings


def test_the_home_is_eventlens_own_directory_not_the_users_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given HOME set, as it always is, and EVENTLENS_HOME not
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("EVENTLENS_HOME", raising=False)
    # Then eventlens keeps its state in ~/.eventlens, not in the home directory itself
    assert Settings().home_dir == tmp_path / ".eventlens"
    # And EVENTLENS_HOME, when set, is the place
    monkeypatch.setenv("EVENTLENS_HOME", str(tmp_path / "elsewhere"))
    assert Settings().home_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    ("field_name", "value"),
    [("BUCKET", "someone-elses-bucket"), ("KEYS_TABLE", "their-table"), ("CHDB_SPILL_MB", "1")],
)
def test_a_variable_named_like_a_field_but_not_documented_is_not_read(
    monkeypatch: pytest.MonkeyPatch, field_name: str, value: str
) -> None:
    # Given an environment variable named like a field (not its EVENTLENS_ name)
    monkeypatch.setenv(field_name, value)
    for documented in ("EVENTLENS_BUCKET", "EVENTLENS_KEYS_TABLE", "EVENTLENS_CHDB_SPILL_MB"):
        monkeypatch.delenv(documented, raising=False)
    settings = Settings()
    # Then eventlens keeps its defaults
    assert settings.bucket is None and settings.keys_table is None and settings.chdb_spill_mb == 256
