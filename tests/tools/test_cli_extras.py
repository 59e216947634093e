"""Every command works with the extras its help names: those it needs are in that pyproject extra, and
run without them it says which extra to install instead of failing with a ModuleNotFoundError."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from eventlens_tools import cli

ROOT = Path(__file__).resolve().parents[2]
# The distribution that provides each module a command needs.
DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "numpy": "numpy",
    "matplotlib": "matplotlib",
    "moto": "moto",
    "psycopg": "psycopg",
}


def _extra(extras: dict[str, list[str]], name: str) -> set[str]:
    """The distributions an extra installs, the project's own extras it names included."""
    found: set[str] = set()
    for requirement in extras[name]:
        distribution = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
        if distribution == "eventlens":
            for own in re.findall(r"\[(.*)\]", requirement)[0].split(","):
                found |= _extra(extras, own.strip())
        else:
            found.add(distribution)
    return found


@pytest.mark.parametrize("command", sorted(cli.COMMAND_EXTRAS))
def test_what_a_command_needs_is_in_the_extra_its_help_names(command: str) -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    extra, modules = cli.COMMAND_EXTRAS[command]
    assert {DISTRIBUTIONS[module] for module in modules} <= _extra(extras, extra)
    help_text = subprocess.run(
        [sys.executable, "-m", "eventlens_tools.cli", command, "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert f"Needs the '{extra}' extra: pip install -e '.[{extra}]'" in " ".join(help_text.split())


def test_the_demo_and_the_pipeline_need_moto_which_the_demo_extra_installs_not_the_images() -> None:
    # The Lambda images install their functions' extras (ml): the state machine's local executor is not
    # among them, it is tooling.
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "moto" in _extra(extras, "demo") and "moto" not in _extra(extras, "ml")


@pytest.mark.parametrize(
    ("argv", "hidden", "extra"),
    [
        (["pipeline", "run"], "moto", "demo"),
        (["demo", "--users", "1"], "sklearn", "demo"),
        (["import-postgres", "--crm-dsn", "x", "--telemetry-dsn", "y"], "psycopg", "postgres"),
    ],
)
def test_a_command_run_without_its_extra_says_which_to_install(
    argv: list[str], hidden: str, extra: str, tmp_path: Path
) -> None:
    # Given an install where a module of the command's extra is missing (hidden from imports)
    script = (
        f"import sys; sys.modules[{hidden!r}] = None\n"
        "from eventlens_tools.cli import main\n"
        f"raise SystemExit(main({argv!r}))\n"
    )
    # When the command is run
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"EVENTLENS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    # Then it stops before doing anything, naming the extra and what is missing, with no traceback
    assert done.returncode == 2, done.stderr
    assert f"needs the '{extra}' extra (missing: {hidden}" in done.stderr
    assert f"pip install -e '.[{extra}]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "warehouse").exists()
