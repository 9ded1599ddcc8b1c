"""Shared plumbing of the store commands (outbox, db, keys, deliver, worklist, audit).

One way to load the configuration, open the store and report a failure, so every store command
behaves the same: exit 2 with one line naming the problem (never a traceback, never a value from
a record) when the configuration or the store cannot be used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Connection

from adapter.config import AdapterConfig, config_problems
from adapter.exit_codes import EXIT_UNUSABLE
from adapter.log import configure_logging
from ldi.errors import ConfigError, StoreError
from outbox.service import Outbox, open_outbox

F = TypeVar("F", bound=Callable[..., Any])

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


@contextmanager
def opened(config_path: Path, *, as_json: bool = False) -> Iterator[tuple[AdapterConfig, Outbox]]:
    """Config and open outbox for one command; store and config errors become exit 2."""
    config, base = load(config_path)
    try:
        outbox = open_outbox(config.store, base=base)
    except (StoreError, ConfigError) as exc:
        fail(str(exc), as_json=as_json)
        raise  # unreachable: fail() exits
    try:
        yield config, outbox
    except (StoreError, ConfigError) as exc:
        fail(str(exc), as_json=as_json)
    finally:
        outbox.close()


@contextmanager
def reading(
    config_path: Path, *, as_json: bool = False
) -> Iterator[tuple[AdapterConfig, Outbox, Connection]]:
    """Like :func:`opened`, with a read connection."""
    with opened(config_path, as_json=as_json) as (config, outbox), outbox.engine.connect() as conn:
        yield config, outbox, conn


@contextmanager
def writing(
    config_path: Path, *, as_json: bool = False
) -> Iterator[tuple[AdapterConfig, Outbox, Connection]]:
    """Like :func:`opened`, with one transaction that commits when the block ends normally."""
    with opened(config_path, as_json=as_json) as (config, outbox), outbox.engine.begin() as conn:
        yield config, outbox, conn


def emit(data: Any, *, as_json: bool, human: Callable[[Any], None]) -> None:
    """Print ``data`` as one JSON object, or through ``human``."""
    if as_json:
        click.echo(json.dumps(data, default=str))
    else:
        human(data)
