"""Plumbing every command shares: the ``--config`` and ``--json`` options, loading the
configuration once, and reporting a failure or a result the same way everywhere.

A command that cannot use its configuration exits 2 with one line per problem (never a
traceback, never a value from a record); ``--json`` output is always exactly one object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from adapter.config import AdapterConfig, config_problems
from adapter.exit_codes import EXIT_UNUSABLE
from adapter.log import configure_logging

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("config.yaml"),
    show_default=True,
    help="Configuration file (relative paths in it are relative to its folder).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def load(config_path: Path) -> tuple[AdapterConfig, Path]:
    """The configuration and its folder; every problem on stderr and exit 2 otherwise."""
    if not config_path.is_file():
        click.echo(f"{config_path}: no such file", err=True)
        raise SystemExit(EXIT_UNUSABLE)
    config, problems = config_problems(config_path)
    if config is None:
        for problem in problems:
            click.echo(f"{config_path}: {problem}", err=True)
        raise SystemExit(EXIT_UNUSABLE)
    configure_logging(config.logging.level, config.logging.format)
    return config, config_path.resolve().parent


def fail(message: str, code: int = EXIT_UNUSABLE, *, as_json: bool = False) -> None:
    """Report ``message`` (stderr, or as ``{"error": …}`` on stdout with --json) and exit."""
    if as_json:
        click.echo(json.dumps({"error": message}))
    else:
        click.echo(message, err=True)
    raise SystemExit(code)


def emit(data: Any, *, as_json: bool, human: Callable[[Any], None]) -> None:
    """Print ``data`` as one JSON object, or through ``human``."""
    if as_json:
        click.echo(json.dumps(data, default=str))
    else:
        human(data)
