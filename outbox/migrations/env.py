"""Alembic environment: runs against the engine handed over by :func:`outbox.migrations.upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from outbox.store import VERSION_TABLE, metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only reachable by running alembic by hand
    raise RuntimeError("run migrations through `cpadapter db upgrade`, not the alembic CLI")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
