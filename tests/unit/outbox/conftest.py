"""Fixtures for the outbox unit tests: a migrated SQLite store, a key ring, valid records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ldi.models import Action, Child, ChildName, Gender, Record
from outbox import migrations
from outbox.crypto import KeyRing, generate_key
from outbox.entries import message_id
from outbox.store import create_store_engine

SOURCE = "FWK891"


def record(
    record_id: str,
    version: int = 1,
    *,
    source_system: str = SOURCE,
    action: Action = Action.UPSERT,
    given: str = "Test",
    contactpoint_id: str | None = None,
) -> Record:
    """A valid record with the outbox's message id."""
    return Record(
        message_id=message_id(source_system, record_id, version),
        action=action,
        version=version,
        source_record_id=record_id,
        contactpoint_id=contactpoint_id,
        child=(
            Child(
                name=ChildName(given_name=given, family_name="Child"),
                birth_date=date(2016, 5, 4),
                gender=Gender.MALE,
            )
            if action is Action.UPSERT
            else None
        ),
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated SQLite store in a temporary folder."""
    created = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrations.upgrade(created)
    yield created
    created.dispose()


@pytest.fixture
def keys() -> KeyRing:
    """A key ring with one random key."""
    return KeyRing([generate_key()])
