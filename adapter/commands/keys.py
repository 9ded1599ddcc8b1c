"""``cpadapter keys rotate|generate``: the store's payload encryption keys (TA-SEC-02)."""

from __future__ import annotations

from pathlib import Path

import click

from adapter.commands.store_access import config_option, emit, fail, json_option, opened
from adapter.exit_codes import EXIT_OK
from ldi.errors import StoreError
from outbox.crypto import encode_key, generate_key
from outbox.operator import operator_actor
from outbox.rotation import rotate
from outbox.store import is_sqlite
from outbox.transports.base import resolve
from outbox.workers import sole_worker_lock


@click.group("keys")
def keys_group() -> None:
    """Keys that encrypt stored payloads at rest."""


@keys_group.command("rotate")
@config_option
@json_option
def rotate_command(config_path: Path, as_json: bool) -> None:
    """Re-encrypt every stored payload under a new key; old keys kept until it is done.

    With a key file, a new key is generated and written first. With CPADAPTER_STORE_KEY, set it
    to 'NEW,OLD' first (see `keys generate`); afterwards OLD can be removed. Stop delivery and
    delta runs while rotating (on SQLite this command holds the delivery lock itself).
    """
    with opened(config_path, as_json=as_json) as (config, outbox):
        key_file = None
        if config.store.encryption_key is None and config.store.encryption_key_file is not None:
            key_file = resolve(outbox.base, config.store.encryption_key_file)
        try:
            if is_sqlite(outbox.engine):
                database = Path(str(outbox.engine.url.database))
                with sole_worker_lock(database):
                    result = rotate(
                        outbox.engine, outbox.keys, key_file=key_file, actor=operator_actor()
                    )
            else:
                result = rotate(
                    outbox.engine, outbox.keys, key_file=key_file, actor=operator_actor()
                )
        except StoreError as exc:
            fail(str(exc), as_json=as_json)
            return
    data = {
        "active_key_id": result.active_key_id,
        "retired_key_ids": result.retired_key_ids,
        "entries": result.entries,
        "batches": result.batches,
    }

    def human(d: dict[str, object]) -> None:
        click.echo(
            f"keys: {d['entries']} entry and {d['batches']} batch payloads now under key "
            f"{d['active_key_id']}"
        )
        if key_file is None and d["retired_key_ids"]:
            click.echo(
                "keys: no payload needs the other keys in CPADAPTER_STORE_KEY any more; "
                "remove them from it"
            )

    emit(data, as_json=as_json, human=human)
    raise SystemExit(EXIT_OK)


@keys_group.command("generate")
def generate_command() -> None:
    """Print a new random key (base64), e.g. for CPADAPTER_STORE_KEY='NEW,OLD' before rotating."""
    click.echo(encode_key(generate_key()))
