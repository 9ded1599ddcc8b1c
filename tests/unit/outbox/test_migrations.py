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


def test_sqlite_commits_stay_in_the_wal_until_many_pages_are_written(engine: Engine) -> None:
    """Commits are durable in the WAL and are not checkpointed every 1,000 pages (SQLite's
    default), but only after WAL_CHECKPOINT_PAGES: the scattered index pages are written once."""
    from outbox.store import WAL_CHECKPOINT_PAGES

    assert WAL_CHECKPOINT_PAGES > 3_000
    raw = engine.raw_connection()  # autocommit: a checkpoint cannot run inside a transaction
    try:
        db = raw.driver_connection
        assert db is not None
        assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("CREATE TABLE filler (body BLOB)")
        for _ in range(12):  # ~3,000 pages in 12 commits
            db.execute("INSERT INTO filler VALUES (randomblob(1000000))")
        busy, frames, checkpointed = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        raw.close()
    assert busy == 0
    assert frames >= 2_900  # every commit's pages are still in the WAL: no checkpoint ran
    assert checkpointed == frames  # the explicit checkpoint copies them all


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
