"""The delivery worker against a scripted hub: retries, parking, lost receipts, leases."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from adapter.config import DeliveryConfig, RetryConfig
from ldi.errors import PermanentDeliveryError
from ldi.models import BatchReceipt
from outbox.clock import utc_now
from outbox.crypto import KeyRing
from outbox.delivery import Worker, WorkerHalted, run_lanes
from outbox.entries import enqueue
from outbox.pacing import Pacer
from outbox.retry import CONNECTION, TLS_REFUSED, error_for
from outbox.store import batches, entries
from tests.unit.outbox.conftest import SOURCE, record
from tests.unit.outbox.fakes import FakeHub

FAST = DeliveryConfig(
    poll_interval_seconds=0.01,
    retry=RetryConfig(max_attempts=3, initial_backoff_seconds=0.01, max_backoff_seconds=0.02),
)


def worker(engine: Engine, keys: KeyRing, hub: FakeHub, **changes: object) -> Worker:
    return Worker(
        engine,
        keys,
        hub,
        la_code="891",
        delivery=FAST.model_copy(update=changes),
        batch_size=100,
        exclusive=True,
    )


def queue(engine: Engine, keys: KeyRing, *ids: str) -> list[str]:
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record(i) for i in ids])
    return [record(i).message_id for i in ids]


def states(engine: Engine) -> dict[str, tuple[str, int, str | None]]:
    with engine.connect() as conn:
        return {
            r.message_id: (r.state, r.attempts, r.last_error_code)
            for r in conn.execute(
                select(
                    entries.c.message_id,
                    entries.c.state,
                    entries.c.attempts,
                    entries.c.last_error_code,
                )
            )
        }


def test_transient_faults_are_retried_until_done(engine: Engine, keys: KeyRing) -> None:
    """UNAVAILABLE twice, then success: the batch is retried and every entry ends done."""
    ids = queue(engine, keys, "A", "B")
    hub = FakeHub(submit_script=[error_for("UNAVAILABLE", "x"), error_for("UNAVAILABLE", "x")])
    summary = worker(engine, keys, hub).run(until_empty=True)
    assert {s for s, _, _ in states(engine).values()} == {"done"}
    assert summary.retry_codes == {"UNAVAILABLE": 2}
    assert len(hub.submits) == 3 and len(set(hub.submits)) == 1
    assert sorted(hub.applied) == sorted(ids)


def test_retries_are_scheduled_in_the_store(engine: Engine, keys: KeyRing) -> None:
    """THROTTLED leaves next_attempt_at ≥ Retry-After ahead and no lease (survives a kill)."""
    queue(engine, keys, "A")
    hub = FakeHub(submit_script=[error_for("THROTTLED", "x", retry_after=30)])
    w = worker(engine, keys, hub)
    assert w.step()
    with engine.connect() as conn:
        row = conn.execute(select(batches)).one()
    assert row.state == "formed" and row.attempts == 1 and row.lease_owner is None
    assert row.last_error_code == "THROTTLED"
    assert (row.next_attempt_at - row.created_at) >= timedelta(seconds=29)
    assert not w.step(), "nothing else is due: the throttled batch waits"


def test_permanent_faults_are_parked_at_once(engine: Engine, keys: KeyRing) -> None:
    """SCHEMA_INVALID parks the batch and its entries after one attempt (TA-REL-04)."""
    queue(engine, keys, "A", "B")
    hub = FakeHub(submit_script=[error_for("SCHEMA_INVALID", "line 3")])
    summary = worker(engine, keys, hub).run(until_empty=True)
    assert set(states(engine).values()) == {("parked", 1, "SCHEMA_INVALID")}
    assert len(hub.submits) == 1 and summary.batches_parked == 1


def test_retries_are_limited_then_parked(engine: Engine, keys: KeyRing) -> None:
    """After max_attempts transient failures the batch is parked as RETRIES_EXHAUSTED."""
    queue(engine, keys, "A")
    hub = FakeHub(submit_script=[error_for("UNAVAILABLE", "x")] * 3)
    worker(engine, keys, hub).run(until_empty=True)
    assert set(states(engine).values()) == {("parked", 3, "RETRIES_EXHAUSTED")}
    assert len(hub.submits) == 3


def test_lost_receipt_resends_the_same_bytes(engine: Engine, keys: KeyRing) -> None:
    """The hub stored the batch but the reply was lost: same id, same bytes, applied once."""
    ids = queue(engine, keys, "A", "B")
    hub = FakeHub(lose_receipt_once=True)
    worker(engine, keys, hub).run(until_empty=True)
    assert len(hub.submits) == 2 and len(set(hub.submits)) == 1  # FakeHub asserts identity
    assert sorted(hub.applied) == sorted(ids)
    assert {s for s, _, _ in states(engine).values()} == {"done"}


def test_pending_outcomes_are_polled_again(engine: Engine, keys: KeyRing) -> None:
    """Pending twice, then Complete; a dropped poll is retried in-process."""
    queue(engine, keys, "A")
    hub = FakeHub(poll_script=["pending", error_for(CONNECTION, "x"), "pending"])
    worker(engine, keys, hub).run(until_empty=True)
    assert {s for s, _, _ in states(engine).values()} == {"done"}


def test_tls_refusal_halts_without_parking(engine: Engine, keys: KeyRing) -> None:
    """An untrusted hub stops the worker; the batch stays formed for after the fix."""
    queue(engine, keys, "A")
    hub = FakeHub(submit_script=[error_for(TLS_REFUSED, "untrusted")])
    with pytest.raises(WorkerHalted):
        worker(engine, keys, hub).run(until_empty=True)
    with engine.connect() as conn:
        assert conn.execute(select(batches.c.state)).scalar_one() == "formed"
    assert {s for s, _, _ in states(engine).values()} == {"in_flight"}


def test_a_stuck_record_does_not_block_others(engine: Engine, keys: KeyRing) -> None:
    """A batch waiting a minute for its retry does not stop later batches being delivered."""
    queue(engine, keys, "A")
    hub = FakeHub(submit_script=[error_for("UNAVAILABLE", "x")])
    slow = RetryConfig(max_attempts=3, initial_backoff_seconds=60, max_backoff_seconds=60)
    w = worker(engine, keys, hub, retry=slow)
    w.step()
    queue(engine, keys, "B")
    w.step()
    found = states(engine)
    assert found[record("B").message_id][0] == "done"
    assert found[record("A").message_id][0] == "in_flight"


def test_a_batch_leased_by_another_worker_is_left_alone(engine: Engine, keys: KeyRing) -> None:
    """A live lease held by someone else is respected; an expired one is taken over."""
    queue(engine, keys, "A")
    first = Worker(
        engine,
        keys,
        FakeHub(submit_script=[error_for("UNAVAILABLE", "x")]),
        la_code="891",
        delivery=FAST,
        batch_size=10,
        owner="first",
    )
    first.step()
    now = utc_now()
    with engine.begin() as conn:
        conn.execute(
            update(batches).values(
                lease_owner="first",
                lease_expires_at=now + timedelta(days=1),
                next_attempt_at=now,
            )
        )
    second = Worker(
        engine, keys, FakeHub(), la_code="891", delivery=FAST, batch_size=10, owner="second"
    )
    assert not second.step()
    with engine.begin() as conn:
        conn.execute(update(batches).values(lease_expires_at=now))
    assert second.step()
    assert {s for s, _, _ in states(engine).values()} == {"done"}


def test_lease_lost_mid_batch_drops_the_work(engine: Engine, keys: KeyRing) -> None:
    """If another worker took the batch over, our later writes are refused (fencing)."""
    queue(engine, keys, "A")
    hub = FakeHub()
    w = worker(engine, keys, hub)
    original = hub.submit

    def steal(batch_xml: bytes, batch_id: str):  # type: ignore[no-untyped-def]
        with engine.begin() as conn:
            conn.execute(update(batches).values(lease_owner="thief"))
        return original(batch_xml, batch_id)

    hub.submit = steal  # type: ignore[method-assign]
    assert w.step()
    with engine.connect() as conn:
        assert conn.execute(select(batches.c.state)).scalar_one() == "formed"


def test_unexpected_permanent_error_class_parks(engine: Engine, keys: KeyRing) -> None:
    """A PermanentDeliveryError with an unknown code is parked, not retried."""
    queue(engine, keys, "A")
    hub = FakeHub(submit_script=[PermanentDeliveryError("odd", code="ODD")])
    worker(engine, keys, hub).run(until_empty=True)
    assert set(states(engine).values()) == {("parked", 1, "ODD")}


class _SlowHub(FakeHub):
    """A FakeHub whose submissions take a while, so that lanes overlap; records overlaps."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = 0
        self.most_inside = 0
        self._lock = threading.Lock()

    def submit(self, batch_xml: bytes, batch_id: str) -> BatchReceipt:
        with self._lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        time.sleep(0.05)
        with self._lock:
            self.inside -= 1
            return super().submit(batch_xml, batch_id)


def _lanes(engine: Engine, keys: KeyRing, hubs: list[FakeHub], size: int = 10) -> list[Worker]:
    pacer = Pacer(FAST.rate)
    return [
        Worker(
            engine,
            keys,
            hub,
            la_code="891",
            delivery=FAST,
            batch_size=size,
            pacer=pacer,
            owner=f"lanes-test/{i}",
            exclusive=True,
        )
        for i, hub in enumerate(hubs)
    ]


def test_two_lanes_deliver_every_record_once_with_batches_at_the_hub_together(
    engine: Engine, keys: KeyRing
) -> None:
    """Two lanes send different batches at the same time; every record is applied once."""
    ids = queue(engine, keys, *[f"L{i}" for i in range(60)])
    hub = _SlowHub()
    summary = run_lanes(_lanes(engine, keys, [hub, hub]), until_empty=True)
    assert sorted(hub.applied) == sorted(ids)
    assert hub.most_inside == 2  # the lanes really overlapped
    assert summary.records_submitted == 60 and summary.batches_completed == 6
    assert summary.outcomes == {"NoMatch": 60}
    assert {s for s, _, _ in states(engine).values()} == {"done"}


def test_a_failing_lane_stops_the_others_and_its_error_is_raised(
    engine: Engine, keys: KeyRing
) -> None:
    """TLS refused in one lane halts the whole worker with that error; nothing is lost."""
    queue(engine, keys, *[f"F{i}" for i in range(40)])
    refused = FakeHub(submit_script=[error_for(TLS_REFUSED, "bad certificate")])
    with pytest.raises(WorkerHalted):
        run_lanes(_lanes(engine, keys, [refused, _SlowHub()]), until_empty=True)
    assert all(
        state in ("pending", "in_flight", "sent", "done") for state, _, _ in states(engine).values()
    )
    with engine.connect() as conn:
        open_batches = conn.execute(select(batches.c.state, batches.c.lease_owner)).all()
    assert all(owner is None for state, owner in open_batches if state == "formed")
