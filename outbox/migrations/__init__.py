"""Alembic migrations of the outbox store, shipped in the package and run programmatically.

``cpadapter db upgrade`` (and the demo) call :func:`upgrade`; no ``alembic.ini`` is needed. The
migration scripts describe each schema change explicitly (they are never generated at run
time), and a unit test checks that ``head`` equals :data:`outbox.store.metadata`.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ldi.errors import StoreError
from outbox.store import VERSION_TABLE


def _config(engine: Engine | None) -> Config:
    config = Config()
    config.set_main_option("script_location", "outbox:migrations")
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the store at ``engine`` up to ``revision``; returns the revision it is now at."""
    try:
        command.upgrade(_config(engine), revision)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"migrating the store failed ({exc.__class__.__name__})", code="STORE-MIGRATE"
        ) from exc
    return current(engine)


def current(engine: Engine) -> str | None:
    """The revision the store is at, or None for an empty database."""
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot read the store ({exc.__class__.__name__})", code="STORE-UNREACHABLE"
        ) from exc


def head() -> str | None:
    """The newest revision shipped with this version of the product."""
    return ScriptDirectory.from_config(_config(None)).get_current_head()


def require_current(engine: Engine) -> None:
    """StoreError unless the store is migrated to head: commands refuse a stale schema."""
    at, want = current(engine), head()
    if at != want:
        raise StoreError(
            f"the store is at revision {at or 'none'}, this version needs {want}: "
            "run `cpadapter db upgrade`",
            code="STORE-SCHEMA",
        )
