"""A seeded demo authority, a configuration over it, and an open outbox, per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from sqlalchemy import select

from adapter.config import AdapterConfig, load_config
from demo.seed import seed_demo
from ldi.models import Record
from ldi.safexml import parse_bytes
from ldi.xmlcodec import from_element
from outbox import migrations
from outbox.crypto import entry_aad
from outbox.service import Outbox, open_outbox, store_engine
from outbox.store import entries

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Feed:
    """Everything a pipeline test needs: config, its folder, the open outbox."""

    config: AdapterConfig
    base: Path
    outbox: Outbox
    demo: Path

    def queued(self, source_system: str | None = None) -> list[tuple[Record, bytes]]:
        """Every queued record still carrying its payload (decrypted), with its XML, oldest first.

        A version superseded before it was sent has its payload dropped, so it is not listed.
        """
        query = (
            select(
                entries.c.message_id, entries.c.key_id, entries.c.payload, entries.c.source_system
            )
            .where(entries.c.payload.is_not(None))
            .order_by(entries.c.id)
        )
        out = []
        with self.outbox.engine.connect() as conn:
            for mid, kid, blob, system in conn.execute(query):
                if source_system and system != source_system:
                    continue
                xml = self.outbox.keys.decrypt(kid, blob, entry_aad(mid))
                out.append((from_element(parse_bytes(xml).getroot(), Record), xml))
        return out


def write_config(base: Path, sources: list[dict[str, Any]]) -> Path:
    """A config.yaml in ``base`` with the given sources and a SQLite store."""
    config = {
        "organisation": {"la_code": "891", "name": "Test"},
        "store": {"url": "sqlite:///var/store.db", "encryption_key_file": "certs/store.key"},
        "sources": sources,
    }
    path = base / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def demo_sources(snapshot: str = "full") -> list[dict[str, Any]]:
    """The committed config's SQL and school sources, with the given snapshot mode."""
    committed = yaml.safe_load((REPO / "config.yaml").read_text())["sources"]
    chosen = [s for s in committed if s["name"] in ("frameworki", "raise", "schools")]
    for source in chosen:
        source["mapping"] = str(REPO / source["mapping"])
        if source["kind"] == "sql":
            source["snapshot"] = snapshot
    return chosen


@pytest.fixture
def feed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Feed]:
    """A demo authority of 300 children in tmp_path, a migrated store, sources full-snapshot."""
    monkeypatch.chdir(tmp_path)
    seed_demo(tmp_path / "var" / "demo", children=300)
    path = write_config(tmp_path, demo_sources("full"))
    config = load_config(path)
    engine = store_engine(config.store, base=tmp_path)
    migrations.upgrade(engine)
    engine.dispose()
    outbox = open_outbox(config.store, base=tmp_path)
    yield Feed(config, tmp_path, outbox, tmp_path / "var" / "demo")
    outbox.close()
    structlog.reset_defaults()


def next_night_ctf(feed: Feed) -> None:
    """The schools export again: same pupils, a new header time (so a new file to read)."""
    drop = feed.demo / "ctf"
    for archived in (drop / "archive").glob("*.xml"):
        text = archived.read_text(encoding="utf-8")
        start = text.index("<DateTime>") + len("<DateTime>")
        end = text.index("</DateTime>")
        (drop / archived.name).write_text(text[:start] + "2026-11-22T01:30:00" + text[end:])
        archived.unlink()
