"""Opening the store for a command (outbox, db, keys, deliver, worklist, audit, run, …).

The generic option/loading/reporting plumbing is in :mod:`adapter.commands.common` and is
re-exported here, so store commands import everything they need from one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection

from adapter.commands.common import config_option, emit, fail, json_option, load
from adapter.config import AdapterConfig
from ldi.errors import ConfigError, StoreError
from outbox.service import Outbox, open_outbox


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


__all__ = [
    "config_option",
    "emit",
    "fail",
    "json_option",
    "load",
    "opened",
    "reading",
    "writing",
]
