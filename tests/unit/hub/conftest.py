"""Fixtures for the hub's unit tests: a fresh store seeded with the named cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.processing import Processor
from hub.service import Caller, HubService
from hub.store import Store
from tests.fixtures.hub import CASES, LA, SECOND_SOURCE, SOURCE


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A new SQLite store holding the named national records."""
    opened = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    opened.add_children(CASES.values())
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def service(store: Store) -> HubService:
    """The contract's operations on that store, processing inline."""
    return HubService(store, Processor(store), inline=True)


@pytest.fixture
def caller() -> Caller:
    """LA 891 with both test source systems."""
    return Caller(la_code=LA, source_systems=frozenset({SOURCE, SECOND_SOURCE}), presented_by="t")
