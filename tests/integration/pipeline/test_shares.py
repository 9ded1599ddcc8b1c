"""A file-drop source read in shares by several processes: the same outcome as one reader."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
import yaml
from sqlalchemy import func, select

from adapter.config import load_config
from adapter.pipeline import SHARES_PER_WORKER, ShareResult, read_share, run_sources
from adapter.sources import build_connector, read_source
from connectors.base import ReadReport, Share
from demo.seed import seed_demo
from ldi.errors import ConfigError
from outbox import migrations
from outbox.service import open_outbox, store_engine
from outbox.store import delta_state, entries
from tests.fixtures.databases import DatabaseFactory
from tests.integration.pipeline.conftest import Feed, demo_sources, write_config

RUN_AT = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _drop(feed: Feed) -> Path:
    return feed.demo / "ctf"


def test_shares_read_every_file_once_between_them(feed: Feed) -> None:
    """Each share reads only the files it owns; together they read and archive every file."""
    source = feed.config.source("schools")
    files = sorted(p.name for p in _drop(feed).glob("*.xml"))
    count = 3
    origins: list[set[str]] = []
    for index in range(count):
        share = Share(index, count)
        records = list(
            read_source(source, ReadReport(), state_root=feed.base / "state", share=share)
        )
        origins.append({r.provenance.origin for r in records})
        assert origins[-1] == {f for f in files if share.owns(f)}
    assert set().union(*origins) == set(files)
    assert sorted(p.name for p in (_drop(feed) / "archive").glob("*.xml")) == files
    assert not list(_drop(feed).glob("*.xml"))


def test_a_connector_that_cannot_split_is_not_given_a_share(feed: Feed) -> None:
    """Asking a SQL source for a share is refused with CFG-SHARE, not read whole twice."""
    with pytest.raises(ConfigError) as caught:
        build_connector(feed.config.source("frameworki"), share=Share(0, 2))
    assert caught.value.code == "CFG-SHARE"


def _second_feed(tmp_path: Path) -> Feed:
    """The same demo authority as the ``feed`` fixture, in a folder of its own."""
    base = tmp_path / "again"
    seed_demo(base / "var" / "demo", children=300)
    path = write_config(base, demo_sources("full"))
    config = load_config(path)
    engine = store_engine(config.store, base=base)
    migrations.upgrade(engine)
    engine.dispose()
    return Feed(config, base, open_outbox(config.store, base=base), base / "var" / "demo")


def test_a_run_in_shares_queues_exactly_what_one_process_queues(
    feed: Feed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers (sources in shares) and one process, over identical data: the same counts,
    and byte for byte the same queued records."""
    in_shares = run_sources(feed.config, feed.outbox, base=feed.base, workers=2)
    other = _second_feed(tmp_path)
    monkeypatch.chdir(other.base)  # the config's paths are relative to the working folder
    try:
        in_turn = run_sources(other.config, other.outbox, base=other.base, workers=1)
        assert [r.counts.as_dict() for r in in_shares] == [r.counts.as_dict() for r in in_turn]
        assert all(r.status == "ok" and r.counts.balanced for r in in_shares)
        assert sorted(xml for _, xml in feed.queued()) == sorted(xml for _, xml in other.queued())
    finally:
        other.outbox.close()


def test_a_child_in_files_of_two_shares_is_queued_once(feed: Feed) -> None:
    """Dual registration across shares: the second read finds the first's state (unchanged),
    nothing fails and no record is queued twice."""
    drop = _drop(feed)
    original = sorted(drop.glob("*.xml"))[0]
    shares = SHARES_PER_WORKER * 2
    owner = next(k for k in range(shares) if Share(k, shares).owns(original.name))
    twin_name = next(
        name
        for name in (f"{original.stem}_{n}.xml" for n in range(1, 100))
        if not Share(owner, shares).owns(name)
    )
    text = original.read_text(encoding="utf-8")
    start = text.index("<DateTime>") + len("<DateTime>")
    end = text.index("</DateTime>")
    (drop / twin_name).write_text(text[:start] + "2026-11-22T01:30:00" + text[end:])

    runs = run_sources(feed.config, feed.outbox, base=feed.base, workers=2)
    schools = next(r for r in runs if r.source == "schools")
    assert schools.status == "ok" and schools.counts.balanced
    assert schools.counts.unchanged > 0  # the twin's pupils, read second
    with feed.outbox.engine.connect() as conn:
        versions = conn.execute(
            select(entries.c.source_record_id, func.count())
            .where(entries.c.source_system == schools.source_system)
            .group_by(entries.c.source_record_id)
            .having(func.count() > 1)
        ).all()
    assert versions == []


def test_two_runs_of_one_source_at_once_on_postgresql_queue_each_record_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_factory: DatabaseFactory
) -> None:
    """On PostgreSQL chunks of one source are decided one at a time (an advisory lock), so two
    readers of the same children never both find them new: each is queued once, no failure."""
    monkeypatch.chdir(tmp_path)
    seed_demo(tmp_path / "var" / "demo", children=300)
    url = database_factory.create("postgresql", f"shares_{tmp_path.name[-8:]}")
    path = write_config(tmp_path, demo_sources("full"))
    raw = yaml.safe_load(path.read_text())
    raw["store"]["url"] = url
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    config = load_config(path)
    engine = store_engine(config.store, base=tmp_path)
    migrations.upgrade(engine)
    engine.dispose()
    outbox = open_outbox(config.store, base=tmp_path)
    source = config.source("frameworki")
    results: list[ShareResult] = []

    def read() -> None:
        results.append(
            read_share(
                source,
                outbox,
                run_id="concurrent",
                run_at=RUN_AT,
                since=None,
                base=tmp_path,
                state_root=tmp_path / "state",
            )
        )

    try:
        threads = [threading.Thread(target=read) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert [r.error for r in results] == [None, None]
        first, second = (r.counts for r in results)
        assert first.read == second.read > 0
        # each record is queued by one reader and found unchanged by the other
        assert first.upserts + first.unchanged == second.upserts + second.unchanged
        with outbox.engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(delta_state)).scalar_one()
            queued = conn.execute(select(func.count()).select_from(entries)).scalar_one()
        assert queued == first.upserts + second.upserts
        assert rows == queued
    finally:
        outbox.close()
        structlog.reset_defaults()
