"""``eventlens projects`` and ``eventlens keys``: the keys they print work, and only as printed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eventlens.errors import Unauthorized
from eventlens.keys import Authenticator, SqliteKeyStore
from eventlens_tools import cli


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert cli.main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_a_created_project_prints_keys_that_authenticate_and_listings_never_show_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a home of its own
    monkeypatch.setenv("EVENTLENS_HOME", str(tmp_path))
    monkeypatch.delenv("EVENTLENS_KEYS_TABLE", raising=False)
    # When a project is created and its keys listed
    made = _run(capsys, "projects", "create", "shop")
    assert isinstance(made, dict) and set(made) == {"project_id", "name", "write_key", "secret_key"}
    listed = json.dumps(_run(capsys, "keys", "list"))
    projects = _run(capsys, "projects", "list")
    # Then the printed keys work as that project, and no listing holds either key
    auth = Authenticator(SqliteKeyStore(tmp_path / "keys.sqlite3"), cache_seconds=0)
    assert auth.principal(made["write_key"], "write").project_id == made["project_id"]
    assert auth.principal(made["secret_key"], "secret").project_id == made["project_id"]
    assert made["write_key"] not in listed and made["secret_key"] not in listed
    assert projects == [
        {"project_id": made["project_id"], "name": "shop", "created_at": projects[0]["created_at"]}
    ]

    # When a new secret key is made and the first one revoked
    extra = _run(capsys, "keys", "create", "--project", made["project_id"], "--kind", "secret")
    first = next(k for k in json.loads(listed) if k["kind"] == "secret")
    _run(capsys, "keys", "revoke", first["key_id"])
    # Then only the new one works
    assert isinstance(extra, dict)
    assert auth.principal(extra["key"], "secret").project_id == made["project_id"]
    with pytest.raises(Unauthorized):
        auth.principal(made["secret_key"], "secret")


def test_a_bad_argument_is_one_line_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVENTLENS_HOME", str(tmp_path))
    assert cli.main(["keys", "revoke", "key_unknown"]) == 2
    assert capsys.readouterr().err.strip() == "eventlens keys revoke: key_id: no key key_unknown"


def test_projects_can_be_made_while_another_process_uses_the_store(tmp_path: Path) -> None:
    # Given a store held open by this process (as eventlens local holds it)
    store = SqliteKeyStore(tmp_path / "keys.sqlite3")
    store.projects()
    # When another process creates a project in the same home
    made = subprocess.run(
        [sys.executable, "-m", "eventlens_tools.cli", "projects", "create", "other"],
        capture_output=True,
        text=True,
        env={"EVENTLENS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    # Then this process sees it at once
    assert [p.project_id for p in store.projects()] == [json.loads(made.stdout)["project_id"]]
