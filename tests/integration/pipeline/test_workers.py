"""``run_sources(workers=2)``: sources in processes of their own, the same outcome as in turn."""

from __future__ import annotations

from adapter.pipeline import run_sources
from tests.integration.pipeline.conftest import Feed, next_night_ctf


def test_sources_in_worker_processes_commit_what_a_run_in_turn_would(feed: Feed) -> None:
    """Results come back in configuration order, balanced; a run in turn then finds all sent."""
    calls: list[int] = []
    runs = run_sources(feed.config, feed.outbox, base=feed.base, workers=2, progress=calls.append)
    assert [r.source for r in runs] == [s.name for s in feed.config.sources if s.enabled]
    assert [r.status for r in runs] == ["ok"] * len(runs)
    assert all(r.counts.balanced for r in runs)
    assert sorted(calls) == sorted(r.counts.read for r in runs)  # one call per finished source
    assert len(feed.queued()) == sum(r.counts.queued for r in runs)

    next_night_ctf(feed)
    again = run_sources(feed.config, feed.outbox, base=feed.base)
    for before, after in zip(runs, again, strict=True):
        assert after.counts.queued == 0, after.source
        assert after.counts.unchanged == before.counts.upserts + before.counts.unchanged
        assert after.counts.held == before.counts.held
