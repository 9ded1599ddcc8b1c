"""Delivery to the real reference hub over real mutual TLS (TA-TRN-01, TA-OUT-01, TA-REL-*)."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from adapter.cli import main
from adapter.config import DeliveryConfig, RateConfig
from ldi.models import BatchOutcome, BatchReceipt
from outbox.delivery import Worker
from outbox.pacing import Pacer
from outbox.store import batches, delta_state, entries, outcomes
from outbox.transports.base import Pending, Transport, open_transport
from outbox.worklist import open_items
from tests.fixtures.hub import SOURCE, RunningHub
from tests.integration.outbox.conftest import (
    AdapterSite,
    child_record,
    hub_applications,
    matched_record,
)


@dataclass
class Recording:
    """A transport wrapper that notes when each submission started and how many records."""

    inner: Transport
    submits: list[tuple[float, str, int]] = field(default_factory=list)

    @property
    def max_records(self) -> int:
        return self.inner.max_records

    @property
    def max_bytes(self) -> int:
        return self.inner.max_bytes

    def submit(self, batch_xml: bytes, batch_id: str) -> BatchReceipt:
        self.submits.append((time.monotonic(), batch_id, batch_xml.count(b"<Record ")))
        return self.inner.submit(batch_xml, batch_id)

    def get_outcome(self, batch_id: str) -> BatchOutcome | Pending:
        return self.inner.get_outcome(batch_id)

    def close(self) -> None:
        self.inner.close()


def make_worker(site: AdapterSite, delivery: DeliveryConfig | None = None) -> Worker:
    """A worker for ``site`` with a recording transport."""
    settings = delivery or site.config.delivery
    transport = Recording(open_transport(settings, base=site.config_path.parent))
    return Worker(
        site.engine,
        site.outbox.keys,
        transport,
        la_code=site.config.organisation.la_code,
        delivery=settings,
        batch_size=settings.batch_size,
        pacer=Pacer(settings.rate),
        exclusive=True,
    )


def run_worker(site: AdapterSite, delivery: DeliveryConfig | None = None) -> Worker:
    """Deliver everything in ``site`` in-process until the outbox is empty."""
    worker = make_worker(site, delivery)
    try:
        worker.run(until_empty=True)
    finally:
        worker.transport.close()
    return worker


def entry_states(site: AdapterSite) -> dict[str, str]:
    with site.engine.connect() as conn:
        return dict(conn.execute(select(entries.c.message_id, entries.c.state)).all())


def outcome_statuses(site: AdapterSite) -> dict[str, str]:
    with site.engine.connect() as conn:
        return dict(conn.execute(select(outcomes.c.message_id, outcomes.c.status)).all())


def test_matched_and_nomatch_reach_store_and_worklist(site: AdapterSite, hub: RunningHub) -> None:
    """Matched stores the ContactPoint id in delta state; NoMatch lands on the work list."""
    stem = uuid.uuid4().hex[:8]
    ids = site.enqueue([matched_record(SOURCE, f"{stem}-m"), child_record(SOURCE, f"{stem}-n")])
    run_worker(site)
    with site.engine.connect() as conn:
        cp = conn.execute(
            select(delta_state.c.contactpoint_id).where(
                delta_state.c.source_record_id == f"{stem}-m"
            )
        ).scalar()
        work = open_items(conn)
    assert entry_states(site) == dict.fromkeys(ids, "done")
    assert outcome_statuses(site) == {ids[0]: "Matched", ids[1]: "NoMatch"}
    assert cp == "CP3000000011"
    assert [(w.source_record_id, w.status) for w in work] == [(f"{stem}-n", "NoMatch")]
    assert hub_applications(hub, ids) == dict.fromkeys(ids, 1)


def test_contactpoint_id_is_sent_with_later_versions(site: AdapterSite, hub: RunningHub) -> None:
    """Version 2 of a Matched record carries the ContactPoint id learnt from version 1."""
    record_id = f"{uuid.uuid4().hex[:8]}-m"
    site.enqueue([matched_record(SOURCE, record_id, 1)])
    run_worker(site)
    second = site.enqueue([matched_record(SOURCE, record_id, 2)])
    run_worker(site)
    contribution = hub.admin.contribution(SOURCE, record_id)
    assert outcome_statuses(site)[second[0]] == "Matched"
    assert contribution["version"] == 2
    assert "CP3000000011" in str(contribution)


def test_chaos_every_record_gets_one_real_outcome(site: AdapterSite, hub: RunningHub) -> None:
    """20 % UNAVAILABLE, throttling, latency, hangs and 5 % lost receipts: all land once."""
    ids = site.enqueue_many(600)
    hub.admin.misbehave(
        seed=7,
        unavailable_probability=0.2,
        records_per_second=150,
        latency_ms=15,
        drop_after_store_probability=0.05,
        hang_probability=0.05,
        hang_seconds=1.5,
    )
    delivery = site.config.delivery.model_copy(update={"batch_size": 50, "timeout_seconds": 1.0})
    worker = run_worker(site, delivery)
    hub.admin.reset()
    assert set(entry_states(site).values()) == {"done"}
    assert set(outcome_statuses(site).values()) == {"NoMatch"}
    assert hub_applications(hub, ids) == dict.fromkeys(ids, 1)
    codes = worker.summary.retry_codes
    assert {"UNAVAILABLE", "THROTTLED", "CONNECTION", "TIMEOUT"} <= set(codes), codes
    resubmitted = [b for _, b, _ in worker.transport.submits]  # type: ignore[attr-defined]
    assert len(resubmitted) > len(set(resubmitted)), "a lost receipt must cause a resubmission"


def test_non_retryable_faults_are_parked_at_once(site: AdapterSite, hub: RunningHub) -> None:
    """UNAUTHORISED and SCHEMA_INVALID batches are parked with the code after one attempt."""
    stem = uuid.uuid4().hex[:8]
    unauthorised = site.enqueue([child_record("ZZZ891", f"{stem}-u")], source_system="ZZZ891")
    invalid = site.enqueue([child_record(SOURCE, f"{stem}-s", given="R2D2")])
    worker = run_worker(site)
    with site.engine.connect() as conn:
        rows = {
            r.message_id: r
            for r in conn.execute(
                select(
                    entries.c.message_id,
                    entries.c.state,
                    entries.c.attempts,
                    entries.c.last_error_code,
                )
            )
        }
    assert rows[unauthorised[0]].state == "parked"
    assert rows[unauthorised[0]].last_error_code == "UNAUTHORISED"
    assert rows[invalid[0]].state == "parked"
    assert rows[invalid[0]].last_error_code == "SCHEMA_INVALID"
    assert {r.attempts for r in rows.values()} == {1}
    assert len(worker.transport.submits) == 2  # type: ignore[attr-defined]
    assert worker.summary.retries_scheduled == 0


def test_updates_during_delivery_never_come_back_stale(site: AdapterSite, hub: RunningHub) -> None:
    """New versions queued while earlier ones are in flight: no Stale, latest applied (REL-05)."""
    stem = uuid.uuid4().hex[:8]
    record_ids = [f"{stem}-{i}" for i in range(40)]
    worker = make_worker(site)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, kwargs={"until_empty": False, "stop": stop})
    thread.start()
    try:
        for version in range(1, 6):
            site.enqueue([child_record(SOURCE, r, version) for r in record_ids])
            time.sleep(0.05)
        deadline = time.monotonic() + 60
        while not worker.drained() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
        worker.transport.close()
    statuses = outcome_statuses(site)
    assert "Stale" not in statuses.values()
    for record_id in record_ids:
        assert hub.admin.contribution(SOURCE, record_id)["version"] == 5
    assert set(entry_states(site).values()) <= {"done", "superseded"}


def test_configured_rate_is_held_within_ten_percent(site: AdapterSite, hub: RunningHub) -> None:
    """A 200 records/s limit is held within 10 % over a few seconds of sending (TA-THR-01)."""
    site.enqueue_many(700)
    delivery = site.config.delivery.model_copy(
        update={"rate": RateConfig(start_per_second=200), "batch_size": 1000}
    )
    worker = run_worker(site, delivery)
    submits = worker.transport.submits  # type: ignore[attr-defined]
    assert len(submits) >= 6
    elapsed = submits[-1][0] - submits[0][0]
    rate = sum(n for _, _, n in submits[:-1]) / elapsed
    assert abs(rate - 200) <= 20, f"achieved {rate:.1f} records/s"


def test_delivered_name_is_not_in_the_raw_database(site: AdapterSite, hub: RunningHub) -> None:
    """The SQLite file (and its WAL) never holds a delivered child's name in clear (TA-SEC-02)."""
    sentinel = "Quillonzabeth"
    ids = site.enqueue([child_record(SOURCE, uuid.uuid4().hex[:10], given=sentinel)])
    run_worker(site)
    assert hub_applications(hub, ids) == {ids[0]: 1}
    database = Path(str(site.engine.url.database))
    for path in database.parent.glob(database.name + "*"):
        assert sentinel.encode() not in path.read_bytes(), path.name
        assert sentinel.encode("utf-16-le") not in path.read_bytes(), path.name


def test_audit_verify_fails_after_one_row_is_edited(site: AdapterSite, hub: RunningHub) -> None:
    """`cpadapter audit verify` passes on a real trail and fails naming an edited entry."""
    site.enqueue_many(30)
    run_worker(site)
    runner = CliRunner()
    args = ["audit", "verify", "--config", str(site.config_path), "--json"]
    intact = runner.invoke(main, args)
    assert intact.exit_code == 0, intact.output
    with site.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(batches)).scalar_one()
    assert count >= 1
    site.outbox.close()
    database = str(site.engine.url.database)
    with sqlite3.connect(database) as raw:
        raw.execute("UPDATE audit_log SET subject = 'forged' WHERE seq = 2")
    broken = runner.invoke(main, args)
    assert broken.exit_code == 1
    assert '"broken_at": 2' in broken.output
