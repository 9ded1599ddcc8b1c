"""The shipped Alembic migrations build exactly the schema the code describes."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from ldi.errors import StoreError
from outbox import migrations
from outbox.store import VERSION_TABLE, create_store_engine, metadata


def test_head_schema_equals_the_table_definitions(engine: Engine) -> None:
    """Autogenerate finds no difference between the migrated store and outbox.store."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    """Running the migrations again leaves the store at head."""
    assert migrations.upgrade(engine) == migrations.head()


def test_an_unmigrated_store_is_refused(tmp_path: Path) -> None:
    """Commands refuse a store whose schema is behind, naming the fix."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(StoreError, match="cpadapter db upgrade"):
            migrations.require_current(engine)
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(engine: Engine) -> None:
    """The embedded store uses the WAL journal (readers never block the worker)."""
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_sqlite_store_file_is_private(tmp_path: Path) -> None:
    """A new SQLite store file is created 0600 whatever the umask (IA-SEC-01)."""
    import os

    from outbox.store import create_store_engine

    old = os.umask(0o022)
    try:
        engine = create_store_engine("sqlite:///store.db", base=tmp_path)
        with engine.connect():
            pass
        engine.dispose()
    finally:
        os.umask(old)
    assert (tmp_path / "store.db").stat().st_mode & 0o777 == 0o600
