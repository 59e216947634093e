"""`eventlens --help` and each command's --help: plain descriptions, and every option explained with
its default."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from eventlens_tools import cli

COMMANDS = (
    "demo",
    "local",
    "dead-letters",
    "build",
    "pipeline",
    "import-postgres",
    "import-csv",
    "projects",
    "keys",
    "persons",
)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_top_level_help_describes_the_command_and_every_subcommand() -> None:
    # When the installed command prints its help (a real process, as a user runs it)
    done = subprocess.run(
        [sys.executable, "-m", "eventlens_tools.cli", "--help"], capture_output=True, text=True, check=True
    )
    text = done.stdout

    # Then it is a plain description, without reST markup, and lists every command with a summary
    assert "``" not in text and ":func:" not in text
    assert "eventlens collects user-behaviour events" in text
    listed = _subparsers(cli.build_parser())
    assert set(listed) == set(COMMANDS)
    for name in COMMANDS:
        summary = re.search(rf"^\s+{re.escape(name)}\s*\n?\s+(\S.*)$", text, re.MULTILINE)
        assert summary is not None, f"{name} has no one-line help"


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_help_has_a_description_and_every_option_its_help_and_default(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When `eventlens <command> --help` runs
    with pytest.raises(SystemExit) as exited:
        cli.main([name, "--help"])
    text = _flat(capsys.readouterr().out)

    # Then it exits 0 with a description of what the command does
    assert exited.value.code == 0
    parser = _subparsers(cli.build_parser())[name]
    assert parser.description and len(parser.description) > 60
    assert _flat(parser.description.splitlines()[0]) in text
    # and every option and argument is explained, with its default when it has one
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name}: {action.dest} has no help"
        if action.option_strings and action.default not in (None, False):
            assert f"(default: {action.default})" in text, f"{name}: {action.dest} shows no default"


def test_the_defaults_users_ask_about_are_shown(capsys: pytest.CaptureFixture[str]) -> None:
    shown = {}
    for name in ("demo", "local"):
        with pytest.raises(SystemExit):
            cli.main([name, "--help"])
        shown[name] = _flat(capsys.readouterr().out)
    assert "--users USERS users of the mixed event stream (default: 2000)" in shown["demo"]
    assert "(default: 365)" in shown["demo"] and "(default: 7)" in shown["demo"]
    assert "(default: 8000)" in shown["local"]


def test_a_dsn_from_the_environment_is_not_printed_by_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a DSN with a password in the environment
    monkeypatch.setenv("EVENTLENS_CRM_DSN", "postgresql://crm:s3cret@db/crm")
    # When import-postgres's help is printed
    with pytest.raises(SystemExit):
        cli.main(["import-postgres", "--help"])
    text = capsys.readouterr().out
    # Then it names the variable, not its value
    assert "$EVENTLENS_CRM_DSN" in text and "s3cret" not in text
