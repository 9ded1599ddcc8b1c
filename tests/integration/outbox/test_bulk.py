"""execute_many stores exactly what conn.execute stores, on SQLite and on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from outbox import migrations
from outbox.bulk import execute_many
from outbox.store import create_store_engine, delta_state, worklist
from tests.fixtures.databases import DatabaseFactory


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, database_factory: DatabaseFactory
) -> Engine:
    """A freshly migrated store on each back end."""
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else database_factory.create("postgresql", f"bulk_{tmp_path.name[-8:]}")
    )
    engine = create_store_engine(url)
    migrations.upgrade(engine)
    return engine


def _items(prefix: str, at: datetime) -> list[dict[str, object]]:
    later = at + timedelta(microseconds=1)  # one differing time among shared ones
    return [
        {
            "message_id": f"{prefix}{i:030d}",
            "source_system": "FWK891",
            "source_record_id": f"R{i}",
            "version": i + 1,
            "status": "NoMatch" if i % 2 else "MultipleMatch",
            "candidate_count": None if i % 2 else 2,
            "batch_id": "b1",
            "created_at": later if i == 3 else at,
        }
        for i in range(7)
    ]


def test_rows_read_back_equal_to_the_sqlalchemy_path(store: Engine) -> None:
    """Rows written by execute_many read back exactly like rows written by conn.execute."""
    at = datetime(2026, 11, 22, 1, 2, 3, 0, tzinfo=UTC)  # microsecond 0: a formatting edge
    driver_calls: list[str] = []
    original = Connection.exec_driver_sql

    def spy(self: Connection, statement: str, *args: Any, **kwargs: Any) -> Any:
        driver_calls.append(statement)
        return original(self, statement, *args, **kwargs)

    with store.begin() as conn, patch.object(Connection, "exec_driver_sql", spy):
        conn.execute(insert(worklist), _items("a", at))
        execute_many(conn, insert(worklist), _items("b", at))
    assert len(driver_calls) == 1  # the fast path was taken, not the fallback
    with store.connect() as conn:
        rows = conn.execute(select(worklist).order_by(worklist.c.message_id)).mappings().all()
    slow = [dict(r) | {"message_id": r["message_id"][1:]} for r in rows[:7]]
    fast = [dict(r) | {"message_id": r["message_id"][1:]} for r in rows[7:]]
    assert fast == slow
    assert fast[3]["created_at"] == at + timedelta(microseconds=1)
    assert fast[0]["created_at"] == at and fast[0]["created_at"].tzinfo is not None


def test_upsert_with_on_conflict_updates_existing_rows(store: Engine) -> None:
    """An ON CONFLICT DO UPDATE statement updates the rows that exist and inserts the rest."""
    dialect = postgresql if store.dialect.name == "postgresql" else sqlite
    at = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)

    def upsert():  # type: ignore[no-untyped-def]
        statement = dialect.insert(delta_state)
        return statement.on_conflict_do_update(
            index_elements=[delta_state.c.source_system, delta_state.c.source_record_id],
            set_={"last_version": statement.excluded.last_version},
        )

    def row(record_id: str, version: int) -> dict[str, object]:
        return {
            "source_system": "S",
            "source_record_id": record_id,
            "content_hash": None,
            "last_version": version,
            "withdrawn": False,
            "updated_at": at,
        }

    with store.begin() as conn:
        execute_many(conn, upsert(), [row("A", 1), row("B", 1)])
        execute_many(conn, upsert(), [row("B", 5), row("C", 2)])
    with store.connect() as conn:
        versions = dict(
            conn.execute(select(delta_state.c.source_record_id, delta_state.c.last_version)).all()
        )
    assert versions == {"A": 1, "B": 5, "C": 2}


def test_a_column_default_left_out_takes_the_safe_path(store: Engine) -> None:
    """Rows that leave out a column with a Python default still get the default."""
    at = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    rows = [
        {
            "source_system": "S",
            "source_record_id": f"R{i}",
            "content_hash": None,
            "last_version": 1,
            "updated_at": at,
        }
        for i in range(3)
    ]
    with store.begin() as conn:
        execute_many(conn, insert(delta_state), rows)  # "withdrawn" has default=False
    with store.connect() as conn:
        assert conn.execute(select(delta_state.c.withdrawn)).scalars().all() == [False] * 3
