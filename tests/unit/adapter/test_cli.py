"""The cpadapter entry point: --version, --help everywhere, usage errors exit 2."""

from __future__ import annotations

import click
from click.testing import CliRunner

from adapter.cli import main


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(_all_commands(command, (*prefix, name)))
        else:
            found.append((*prefix, name))
    return found


def test_version_is_printed() -> None:
    """--version prints the product name and version."""
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("cpadapter, version ")


def test_every_command_has_help() -> None:
    """Every command and group answers --help with exit 0 and a usage line."""
    commands = _all_commands(main)
    assert ("validate",) in commands and ("config", "check") in commands
    for path in commands:
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.output


def test_usage_error_exits_2() -> None:
    """An unknown option is a usage error: exit 2."""
    assert CliRunner().invoke(main, ["validate", "--nope"]).exit_code == 2
