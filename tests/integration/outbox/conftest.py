"""Fixtures for delivering the outbox to the real reference hub over real mutual TLS.

The hub is the hub engineer's session fixture (tests/fixtures/hub.py). Each test gets its own
adapter store (SQLite in a temporary folder unless it asks for PostgreSQL) and a config.yaml
pointing at the hub with the hub PKI's client certificate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, select

from adapter.config import AdapterConfig, load_config
from hub.store import record_outcomes
from ldi.models import Action, Child, ChildName, Gender, Record
from outbox import migrations
from outbox.entries import enqueue, message_id
from outbox.service import Outbox, open_outbox, store_engine
from tests.fixtures.hub import CASES, SOURCE, RunningHub

TODAY = date.today()


def child_record(
    source_system: str,
    record_id: str,
    version: int = 1,
    *,
    given: str = "Pat",
    family: str = "Testerson",
    birth: date | None = None,
    nhs: str | None = None,
) -> Record:
    """A valid Upsert the hub accepts; with no NHS number and a made-up name it is NoMatch."""
    return Record(
        message_id=message_id(source_system, record_id, version),
        action=Action.UPSERT,
        version=version,
        source_record_id=record_id,
        child=Child(
            name=ChildName(given_name=given, family_name=family),
            birth_date=birth or TODAY - timedelta(days=3000),
            gender=Gender.FEMALE,
            nhs_number=nhs,
        ),
    )


def matched_record(source_system: str, record_id: str, version: int = 1) -> Record:
    """A record the hub matches by NHS number to its seeded case ``by_nhs``."""
    case = CASES["by_nhs"]
    return child_record(
        source_system,
        record_id,
        version,
        given=case.given_name,
        family=case.family_name,
        birth=case.birth_date,
        nhs=case.nhs_number,
    )


@dataclass
class AdapterSite:
    """One adapter installation under test: its config file, config and open store."""

    config_path: Path
    config: AdapterConfig
    outbox: Outbox

    @property
    def engine(self) -> Engine:
        return self.outbox.engine

    def enqueue(self, records: list[Record], source_system: str = SOURCE) -> list[str]:
        """Queue records in one transaction; their message ids."""
        with self.engine.begin() as conn:
            enqueue(conn, self.outbox.keys, source_system, records)
        return [r.message_id for r in records]

    def enqueue_many(
        self, count: int, *, source_system: str = SOURCE, prefix: str | None = None
    ) -> list[str]:
        """Queue ``count`` NoMatch-bound records with fresh ids."""
        stem = prefix or uuid.uuid4().hex[:8]
        records = [
            child_record(source_system, f"{stem}-{i}", given="Pat", family=f"Tester{_letters(i)}")
            for i in range(count)
        ]
        ids: list[str] = []
        for start in range(0, count, 5000):
            ids += self.enqueue(records[start : start + 5000], source_system)
        return ids

    def states(self) -> dict[str, int]:
        from outbox.store import entries

        with self.engine.connect() as conn:
            return dict(
                conn.execute(select(entries.c.state, func.count()).group_by(entries.c.state)).all()
            )


def _letters(number: int) -> str:
    """A name-safe suffix (names allow letters only)."""
    out = ""
    number += 1
    while number:
        number, rest = divmod(number - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


def write_adapter_config(
    directory: Path,
    running: RunningHub,
    *,
    store_url: str | None = None,
    delivery: dict[str, Any] | None = None,
) -> Path:
    """A config.yaml for an adapter that delivers to ``running`` with the client certificate."""
    pki = running.pki
    settings: dict[str, Any] = {
        "transport": "soap",
        "endpoint": running.endpoint,
        "tls": {
            "client_certificate": str(pki.client[0]),
            "client_key": str(pki.client[1]),
            "ca_bundle": str(pki.ca),
        },
        "batch_size": 200,
        "timeout_seconds": 10,
        "poll_interval_seconds": 0.05,
        "lease_seconds": 30,
        "retry": {
            "max_attempts": 30,
            "initial_backoff_seconds": 0.05,
            "max_backoff_seconds": 0.5,
        },
    }
    settings.update(delivery or {})
    document = {
        "organisation": {"la_code": "891", "name": "Test authority"},
        "store": {
            "url": store_url or "sqlite:///store/adapter.db",
            "encryption_key_file": "store.key",
        },
        "delivery": settings,
        "logging": {"level": "warning", "format": "json"},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def open_site(config_path: Path) -> AdapterSite:
    """Migrate the store of ``config_path`` and open it."""
    config = load_config(config_path)
    base = config_path.parent
    engine = store_engine(config.store, base=base)
    migrations.upgrade(engine)
    engine.dispose()
    return AdapterSite(config_path, config, open_outbox(config.store, base=base))


@pytest.fixture
def site(tmp_path: Path, hub: RunningHub) -> Iterator[AdapterSite]:
    """An adapter with a fresh SQLite store, delivering to the session's hub."""
    opened = open_site(write_adapter_config(tmp_path, hub))
    try:
        yield opened
    finally:
        opened.outbox.close()


def hub_applications(running: RunningHub, message_ids: list[str]) -> dict[str, int]:
    """How many times the hub applied each message id (outcomes other than Duplicate)."""
    counts = dict.fromkeys(message_ids, 0)
    with running.hub.store.engine.connect() as conn:
        for start in range(0, len(message_ids), 500):
            part = message_ids[start : start + 500]
            rows = conn.execute(
                select(record_outcomes.c.message_id, func.count())
                .where(record_outcomes.c.message_id.in_(part))
                .where(record_outcomes.c.status != "Duplicate")
                .group_by(record_outcomes.c.message_id)
            ).all()
            counts.update({row[0]: int(row[1]) for row in rows})
    return counts
