"""The feed end to end on the demo sources: TA-DLT-01/02/03, crash safety, nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from sqlalchemy import create_engine, update

from adapter import delta as delta_module
from adapter.pipeline import run_source, run_sources
from demo import frameworki
from ldi.models import Action
from tests.integration.pipeline.conftest import Feed, next_night_ctf

RUN_AT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def _fwk_url(feed: Feed) -> str:
    return f"sqlite:///{feed.demo / 'frameworki.db'}"


def test_every_source_balances_and_queues_only_valid_records(feed: Feed) -> None:
    """read = upserts + withdrawals + unchanged + held (+ duplicates) for every source."""
    runs = run_sources(feed.config, feed.outbox, base=feed.base)
    assert [r.status for r in runs] == ["ok", "ok", "ok"]
    for run in runs:
        assert run.counts.read > 0
        assert run.counts.balanced, run.counts.as_dict()
    queued = feed.queued()
    assert len(queued) == sum(r.counts.queued for r in runs)
    assert all(record.action is Action.UPSERT and record.version == 1 for record, _ in queued)


def test_ta_dlt_01_second_run_without_change_sends_nothing(feed: Feed) -> None:
    """TA-DLT-01: a second run over unchanged sources queues nothing; all read are unchanged."""
    first = run_sources(feed.config, feed.outbox, base=feed.base)
    next_night_ctf(feed)  # the schools export the same pupils again
    second = run_sources(feed.config, feed.outbox, base=feed.base)
    for before, after in zip(first, second, strict=True):
        assert after.counts.queued == 0, after.source
        assert after.counts.unchanged == before.counts.upserts + before.counts.unchanged
        assert after.counts.held == before.counts.held


def test_ta_dlt_02_changed_record_is_sent_again_with_higher_version(feed: Feed) -> None:
    """TA-DLT-02: changing one child's name queues exactly that record as version 2."""
    source = feed.config.source("frameworki")
    run_source(feed.config, source, feed.outbox, base=feed.base, run_at=RUN_AT)
    sent = {r.source_record_id: r for r, _ in feed.queued("FWK891")}
    target = sorted(sent)[0]
    engine = create_engine(_fwk_url(feed))
    with engine.begin() as conn:
        conn.execute(
            update(frameworki.person)
            .where(frameworki.person.c.person_id == int(target))
            .values(forename="Zebedee", last_modified=datetime(2026, 11, 20, 9, 0))
        )
    engine.dispose()
    run = run_source(feed.config, source, feed.outbox, base=feed.base, run_at=RUN_AT)
    assert (run.counts.upserts, run.counts.withdrawals) == (1, 0)
    latest = feed.queued("FWK891")[-1][0]
    assert latest.source_record_id == target and latest.version == 2
    assert latest.child is not None and latest.child.name.given_name == "Zebedee"


def test_ta_dlt_03_deleted_and_vanished_records_are_withdrawn(feed: Feed) -> None:
    """TA-DLT-03: a record flagged deleted, and one gone from a full snapshot, become Withdraw."""
    source = feed.config.source("frameworki")
    run_source(feed.config, source, feed.outbox, base=feed.base, run_at=RUN_AT)
    sent = sorted(r.source_record_id for r, _ in feed.queued("FWK891"))
    flagged, removed = sent[0], sent[1]
    engine = create_engine(_fwk_url(feed))
    with engine.begin() as conn:
        conn.execute(
            update(frameworki.person)
            .where(frameworki.person.c.person_id == int(flagged))
            .values(deleted_flag="Y")
        )
        conn.execute(
            update(frameworki.person)
            .where(frameworki.person.c.person_id == int(removed))
            .values(person_type="ADULT")  # no longer selected: gone from the snapshot
        )
    engine.dispose()
    run = run_source(feed.config, source, feed.outbox, base=feed.base, run_at=RUN_AT)
    assert (run.counts.withdrawals, run.counts.vanished, run.counts.upserts) == (1, 1, 0)
    withdrawn = {
        r.source_record_id: r for r, _ in feed.queued("FWK891") if r.action is Action.WITHDRAW
    }
    assert set(withdrawn) == {flagged, removed}
    assert all(r.version == 2 and r.child is None for r in withdrawn.values())


def test_child_turning_25_is_withdrawn(feed: Feed) -> None:
    """BR-02: a child sent before and out of scope now is withdrawn, not held."""
    source = feed.config.source("frameworki")
    run_source(feed.config, source, feed.outbox, base=feed.base, run_at=RUN_AT)
    later = RUN_AT + timedelta(days=365 * 30)
    run = run_source(feed.config, source, feed.outbox, base=feed.base, run_at=later)
    assert run.counts.withdrawals > 0
    assert run.counts.upserts == 0


def test_crash_between_map_and_commit_loses_and_duplicates_nothing(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An injected crash inside the second chunk's transaction; the re-run ends as a clean run."""
    source = feed.config.source("frameworki")
    real_save = delta_module.save_state
    calls = {"n": 0}

    def crashing_save(*args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected crash before commit")
        return real_save(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("adapter.pipeline.CHUNK_SIZE", 50)
    monkeypatch.setattr(delta_module, "save_state", crashing_save)
    with pytest.raises(RuntimeError, match="injected"):
        run_source(feed.config, source, feed.outbox, base=feed.base, run_at=RUN_AT)
    partial = feed.queued("FWK891")
    assert 0 < len(partial) <= 50  # only the first chunk committed
    monkeypatch.setattr(delta_module, "save_state", real_save)
    run = run_source(feed.config, source, feed.outbox, base=feed.base, run_at=RUN_AT)
    assert run.status == "ok"
    queued = feed.queued("FWK891")
    ids = [r.source_record_id for r, _ in queued]
    assert len(ids) == len(set(ids))  # nothing twice
    assert all(r.version == 1 for r, _ in queued)
    assert run.counts.unchanged >= len(partial)
    assert len(queued) == len(partial) + run.counts.upserts  # nothing lost


def test_mapping_change_resends_exactly_the_changed_records(feed: Feed, tmp_path: object) -> None:
    """A code-table change re-sends only the records whose mapped output changed."""
    source = feed.config.source("frameworki")
    run_source(feed.config, source, feed.outbox, base=feed.base, run_at=RUN_AT)
    before = {r.source_record_id: r for r, _ in feed.queued("FWK891")}
    affected = {
        rid
        for rid, r in before.items()
        if any(p.relationship.value == "OtherRelative" for p in r.parent_carers)
    }
    assert source.mapping is not None
    changed = feed.base / "frameworki.yaml"
    changed.write_text(
        source.mapping.read_text().replace("GRANDPARENT: OtherRelative", "GRANDPARENT: Guardian")
    )
    patched = source.model_copy(update={"mapping": changed})
    run = run_source(feed.config, patched, feed.outbox, base=feed.base, run_at=RUN_AT)
    resent = {r.source_record_id for r, _ in feed.queued("FWK891") if r.version == 2}
    assert resent == affected
    assert run.counts.upserts == len(affected)


def test_no_case_information_reaches_the_queued_xml(feed: Feed) -> None:
    """Case notes, referral and involvement reasons, CAF outcomes: none appear in any payload."""
    from demo.frameworki import CAF_OUTCOMES, CASE_NOTES, REFERRAL_REASONS
    from demo.raise_db import NEEDS, RISKS

    run_sources(feed.config, feed.outbox, base=feed.base)
    payload = b"\n".join(xml for _, xml in feed.queued())
    assert payload
    phrases = [t for t in (*CASE_NOTES, *REFERRAL_REASONS, *CAF_OUTCOMES, *NEEDS, *RISKS)]
    distinctive = [t for t in phrases if len(t) >= 12]  # "Low" alone is also a surname
    assert len(distinctive) >= 15
    for text in distinctive:
        assert text.encode() not in payload


def test_run_command_with_two_workers(feed: Feed) -> None:
    """`cpadapter run --workers 2 --json` runs every source, balanced, and exits 0."""
    import json

    from click.testing import CliRunner

    from adapter.cli import main

    result = CliRunner().invoke(
        main, ["run", "--config", str(feed.base / "config.yaml"), "--workers", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert [s["source"] for s in data["sources"]] == ["frameworki", "raise", "schools"]
    assert all(s["status"] == "ok" and s["balanced"] for s in data["sources"])
    assert sum(s["queued"] for s in data["sources"]) == len(feed.queued())


def test_a_crash_before_commit_leaves_the_files_of_that_chunk_in_the_drop(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file drop puts a file away only after the chunk holding its last record committed:
    a crash inside the fourth chunk's transaction leaves those files to be read again, so the
    re-run queues every pupil (nothing lost) and none twice."""
    source = feed.config.source("schools")
    drop = feed.demo / "ctf"
    files = sorted(p.name for p in drop.glob("*.xml"))
    pupils = sum(len(etree.parse(str(drop / f)).findall(".//{*}Pupil")) for f in files)
    real_save = delta_module.save_state
    calls = {"n": 0}

    def crashing_save(*args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("injected crash before commit")
        return real_save(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("adapter.pipeline.CHUNK_SIZE", 20)  # files hold 12-18 pupils
    monkeypatch.setattr(delta_module, "save_state", crashing_save)
    with pytest.raises(RuntimeError, match="injected"):
        run_source(feed.config, source, feed.outbox, base=feed.base, run_at=RUN_AT)
    partial = {r.source_record_id for r, _ in feed.queued("MIS891")}
    assert 0 < len(partial) <= 60
    left = sorted(p.name for p in drop.glob("*.xml"))
    assert 0 < len(left) < len(files)  # put away: the files wholly in the committed chunks
    monkeypatch.setattr(delta_module, "save_state", real_save)
    run = run_source(feed.config, source, feed.outbox, base=feed.base, run_at=RUN_AT)
    assert run.status == "ok"
    assert not list(drop.glob("*.xml"))
    ids = [r.source_record_id for r, _ in feed.queued("MIS891")]
    assert len(ids) == len(set(ids))  # nothing twice
    # Nothing lost: the three committed chunks and the re-run together read every pupil.
    assert 3 * 20 + run.counts.read >= pupils


def test_a_dry_run_leaves_the_files_in_the_drop_for_the_real_run(feed: Feed) -> None:
    """A dry run commits nothing, so it puts no file away: the real run then queues them all."""
    source = feed.config.source("schools")
    drop = feed.demo / "ctf"
    files = sorted(p.name for p in drop.glob("*.xml"))
    dry = run_source(feed.config, source, feed.outbox, base=feed.base, dry_run=True)
    assert dry.counts.upserts > 0
    assert sorted(p.name for p in drop.glob("*.xml")) == files
    assert feed.queued("MIS891") == []
    real = run_source(feed.config, source, feed.outbox, base=feed.base)
    assert real.counts.upserts == dry.counts.upserts
    assert not list(drop.glob("*.xml"))


def test_every_file_is_put_away_when_the_last_chunk_is_exactly_full(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last file is put away even when its last record filled the last chunk exactly."""
    source = feed.config.source("schools")
    drop = feed.demo / "ctf"
    pupils = sum(len(etree.parse(str(p)).findall(".//{*}Pupil")) for p in drop.glob("*.xml"))
    monkeypatch.setattr("adapter.pipeline.CHUNK_SIZE", pupils)
    run = run_source(feed.config, source, feed.outbox, base=feed.base)
    assert run.counts.read == pupils
    assert not list(drop.glob("*.xml"))
