"""``cpadapter db upgrade|current``: the store's schema (Alembic migrations shipped in outbox/)."""

from __future__ import annotations

from pathlib import Path

import click

from adapter.commands.store_access import config_option, emit, fail, json_option, load
from adapter.exit_codes import EXIT_OK
from ldi.errors import ConfigError, StoreError
from outbox import migrations
from outbox.service import open_keys, store_engine


@click.group("db")
def db_group() -> None:
    """The adapter's own database (outbox, delta state, work list, audit trail)."""


@db_group.command("upgrade")
@config_option
@json_option
def upgrade_command(config_path: Path, as_json: bool) -> None:
    """Create or migrate the store to this version's schema, and make sure a key exists."""
    config, base = load(config_path)
    engine = store_engine(config.store, base=base)
    try:
        before = migrations.current(engine)
        after = migrations.upgrade(engine)
        keys = open_keys(config.store, engine, base=base)
    except (StoreError, ConfigError) as exc:
        fail(str(exc), as_json=as_json)
        return
    finally:
        engine.dispose()
    result = {"from": before, "to": after, "active_key_id": keys.active_id}
    emit(
        result,
        as_json=as_json,
        human=lambda r: click.echo(
            f"store: schema {r['from'] or 'none'} -> {r['to']}; active key {r['active_key_id']}"
        ),
    )
    raise SystemExit(EXIT_OK)


@db_group.command("current")
@config_option
@json_option
def current_command(config_path: Path, as_json: bool) -> None:
    """Print the store's schema revision and the one this version needs; exit 1 if behind."""
    config, base = load(config_path)
    engine = store_engine(config.store, base=base)
    try:
        at, want = migrations.current(engine), migrations.head()
    except StoreError as exc:
        fail(str(exc), as_json=as_json)
        return
    finally:
        engine.dispose()
    emit(
        {"current": at, "head": want},
        as_json=as_json,
        human=lambda r: click.echo(f"store: at {r['current'] or 'none'}, head {r['head']}"),
    )
    raise SystemExit(EXIT_OK if at == want else 1)
