"""Opening the outbox from configuration: the engine, the schema check and the key ring.

Every command and the pipeline go through :func:`open_outbox`, so the same rules hold for all:
relative paths are relative to the config file's folder, the schema must be migrated, and a
missing key file is only created for a store that holds no encrypted payload yet (otherwise a
new key would silently make every stored payload unreadable).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, exists, select

from adapter.config import StoreConfig
from ldi.errors import StoreError
from outbox import migrations
from outbox.crypto import KeyRing, load_key_ring
from outbox.store import batches, create_store_engine, entries, is_sqlite
from outbox.transports.base import resolve


@dataclass
class Outbox:
    """An open store and the keys to its payloads."""

    engine: Engine
    keys: KeyRing
    base: Path

    @property
    def sqlite(self) -> bool:
        """True for the embedded SQLite store (one delivery worker)."""
        return is_sqlite(self.engine)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()


def store_engine(store: StoreConfig, *, base: Path) -> Engine:
    """The engine for ``store.url`` (relative SQLite paths resolved against ``base``)."""
    return create_store_engine(
        store.url, base=base, busy_timeout_seconds=store.busy_timeout_seconds
    )


def holds_payloads(engine: Engine) -> bool:
    """True if any entry or batch still carries an encrypted payload."""
    with engine.connect() as conn:
        return bool(
            conn.execute(
                select(
                    exists().where(entries.c.payload.is_not(None))
                    | exists().where(batches.c.payload.is_not(None))
                )
            ).scalar()
        )


def open_keys(store: StoreConfig, engine: Engine, *, base: Path) -> KeyRing:
    """The key ring from config; creates the key file only for a store without payloads."""
    key_file = resolve(base, store.encryption_key_file) if store.encryption_key_file else None
    create = (
        store.encryption_key is None
        and key_file is not None
        and not key_file.exists()
        and not holds_payloads(engine)
    )
    if (
        key_file is not None
        and not key_file.exists()
        and not create
        and store.encryption_key is None
    ):
        raise StoreError(
            f"{key_file}: key file not found, and the store holds payloads encrypted under an "
            "earlier key; restore the key file (a new key could read nothing)",
            code="STORE-KEY",
        )
    return load_key_ring(key_text=store.encryption_key, key_file=key_file, create=create)


def open_outbox(store: StoreConfig, *, base: Path, check_schema: bool = True) -> Outbox:
    """Open the store: engine, schema at head (unless told not to check), key ring."""
    engine = store_engine(store, base=base)
    try:
        if check_schema:
            migrations.require_current(engine)
        keys = open_keys(store, engine, base=base)
    except BaseException:
        engine.dispose()
        raise
    return Outbox(engine=engine, keys=keys, base=base)
