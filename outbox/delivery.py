"""Delivering batches: the worker loop, claims and leases, and :func:`deliver_batch`.

A worker repeats one *step*: take the batch that is due soonest (a first submission, a retry
whose ``next_attempt_at`` has come, or an outcome poll), or else form a new batch from pending
entries, and move it one stage on. Everything a step learns is committed before the next network
call, so a worker can be killed at any instant and the next one carries on:

============================  ================================================================
killed …                      what happens next
============================  ================================================================
while forming a batch         the transaction rolls back; the entries are still pending
after forming, before submit  the batch is ``formed``; the next worker submits its stored bytes
after the hub stored it,      the batch is still ``formed``; the next worker re-sends the same
before the receipt was saved  batch id with the same bytes and gets the original receipt
                              (LDI-TRN-06): nothing is applied twice (TA-REL-02, TA-REL-03)
while polling                 the batch is ``submitted``; the next worker polls
while storing outcomes        the transaction rolls back; the next worker polls again
============================  ================================================================

Claims and leases
    A worker claims a batch by writing its id and an expiry (``delivery.lease_seconds``) on the
    row; on PostgreSQL the claiming ``SELECT … FOR UPDATE SKIP LOCKED`` lets workers claim
    different batches at the same time without waiting for each other. Every later write is
    conditional on still holding the lease (``WHERE lease_owner = me``): a worker that stalled
    past its lease and lost the batch to another finds out and drops it. A worker that dies
    simply lets its lease run out, and another takes the batch over. Correctness never depends
    on the lease (a double submission is harmless by LDI-TRN-06); leases only stop two workers
    doing the same work at once. On SQLite exactly one worker runs (:mod:`outbox.workers`),
    so at start it takes over every lease at once.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, update

from adapter.config import DeliveryConfig
from adapter.log import get_logger
from ldi.errors import ContactPointError, DeliveryError, StoreError
from ldi.models import BatchOutcome, BatchReceipt, FaultCode
from outbox import audit, retry
from outbox.batching import BatchState, FormedBatch, Oversized, form_batch
from outbox.clock import utc_now
from outbox.crypto import KeyRing, batch_aad
from outbox.entries import EntryState
from outbox.operator import purge
from outbox.outcomes import OutcomeSummary, apply_outcome
from outbox.pacing import Pacer
from outbox.retry import Verdict
from outbox.store import batches, entries
from outbox.transports.base import Pending, Transport

log = get_logger(__name__)

#: Seconds between two automatic prunes of delivered payloads (store.prune_sent_after_days).
PRUNE_EVERY = 3600.0


class LeaseLost(ContactPointError):
    """Another worker holds this batch now; this worker drops it."""

    code = "LEASE-LOST"


class WorkerHalted(ContactPointError):
    """A failure no batch can fix (TLS refused, host key changed): stop and tell the operator."""

    code = "DELIVERY-HALTED"


def worker_id() -> str:
    """A unique, readable id for this worker: host, process id and a random suffix."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class ClaimedBatch:
    batch_id: str
    source_system: str
    state: str
    record_count: int
    attempts: int
    poll_failures: int


@dataclass
class RunSummary:
    """What one worker did, for the command's report."""

    batches_submitted: int = 0
    records_submitted: int = 0
    batches_completed: int = 0
    batches_parked: int = 0
    retries_scheduled: int = 0
    retry_codes: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    stale: int = 0

    def add(self, summary: OutcomeSummary) -> None:
        for status, count in summary.by_status.items():
            self.outcomes[status] = self.outcomes.get(status, 0) + count
        self.stale += summary.stale

    def merge(self, other: RunSummary) -> None:
        """Add another lane's counts to these."""
        self.batches_submitted += other.batches_submitted
        self.records_submitted += other.records_submitted
        self.batches_completed += other.batches_completed
        self.batches_parked += other.batches_parked
        self.retries_scheduled += other.retries_scheduled
        self.stale += other.stale
        for code, count in other.retry_codes.items():
            self.retry_codes[code] = self.retry_codes.get(code, 0) + count
        for status, count in other.outcomes.items():
            self.outcomes[status] = self.outcomes.get(status, 0) + count


class Worker:
    """One delivery worker: claims, submits, polls and records, one batch at a time."""

    def __init__(
        self,
        engine: Engine,
        keys: KeyRing,
        transport: Transport,
        *,
        la_code: str,
        delivery: DeliveryConfig,
        batch_size: int,
        pacer: Pacer | None = None,
        owner: str | None = None,
        exclusive: bool = False,
        prune_after_days: int | None = None,
    ) -> None:
        self.engine = engine
        self.keys = keys
        self.transport = transport
        self.la_code = la_code
        self.delivery = delivery
        self.batch_size = min(batch_size, transport.max_records)
        self.pacer = pacer or Pacer(delivery.rate)
        self.owner = owner or worker_id()
        self.exclusive = exclusive
        self.summary = RunSummary()
        self._postgres = engine.dialect.name == "postgresql"
        self._leased_at: dict[str, float] = {}
        self.prune_after_days = prune_after_days
        self._pruned_at = -math.inf

    # ----- the loop -----

    def run(self, *, until_empty: bool, stop: threading.Event | None = None) -> RunSummary:
        """Step until stopped (or, with ``until_empty``, until nothing is left to deliver)."""
        if self.exclusive:
            self.take_over_leases()
        return self.work(until_empty=until_empty, stop=stop or threading.Event())

    def work(self, *, until_empty: bool, stop: threading.Event) -> RunSummary:
        """:meth:`run`'s loop, without taking over leases (:func:`run_lanes` does that once)."""
        log.info("outbox.worker_started", worker=self.owner, transport=self.delivery.transport)
        while not stop.is_set():
            self.prune_when_due()
            if self.step():
                continue
            if until_empty and self.drained():
                break
            stop.wait(self.idle_wait())
        log.info(
            "outbox.worker_stopped",
            worker=self.owner,
            sent=self.summary.records_submitted,
            outcomes=self.summary.outcomes,
            parked=self.summary.batches_parked,
        )
        return self.summary

    def step(self) -> bool:
        """Do one unit of work; False if there was nothing to do right now."""
        claimed = self._claim_due()
        if claimed is None:
            formed = self._form()
            if formed is None:
                return False
            if isinstance(formed, Oversized):
                return True
            claimed = ClaimedBatch(
                formed.batch_id, formed.source_system, BatchState.FORMED, formed.record_count, 0, 0
            )
        try:
            deliver_batch(self, claimed)
        except LeaseLost:
            log.warning("outbox.lease_lost", batch_id=claimed.batch_id, worker=self.owner)
        return True

    def drained(self) -> bool:
        """True when nothing is pending and no batch is open, for any worker."""
        with self.engine.connect() as conn:
            pending = conn.execute(
                select(func.count())
                .select_from(entries)
                .where(entries.c.state == EntryState.PENDING.value)
            ).scalar_one()
            open_batches = conn.execute(
                select(func.count())
                .select_from(batches)
                .where(batches.c.state.in_(BatchState.OPEN))
            ).scalar_one()
        return pending == 0 and open_batches == 0

    def idle_wait(self) -> float:
        """How long to sleep when there is nothing to do: until the next batch is due."""
        with self.engine.connect() as conn:
            due = conn.execute(
                select(func.min(batches.c.next_attempt_at)).where(
                    batches.c.state.in_(BatchState.OPEN)
                )
            ).scalar()
        ceiling = self.delivery.poll_interval_seconds
        if due is None:
            return ceiling
        wait: float = (due - utc_now()).total_seconds()
        return min(ceiling, max(0.01, wait))

    def prune_when_due(self) -> None:
        """Drop payloads of records delivered more than ``prune_after_days`` ago, hourly."""
        if self.prune_after_days is None or time.monotonic() - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = time.monotonic()
        with self.engine.begin() as conn:
            pruned = purge(
                conn,
                older_than_days=self.prune_after_days,
                actor=self.owner,
                audit_nothing=False,
            )
        if pruned["entries"] or pruned["batches"]:
            log.info("outbox.pruned", records=pruned["entries"], count=pruned["batches"])

    def take_over_leases(self) -> None:
        """Sole worker (SQLite): every lease left by a dead predecessor is void."""
        with self.engine.begin() as conn:
            conn.execute(
                update(batches)
                .where(batches.c.state.in_(BatchState.OPEN))
                .values(lease_owner=None, lease_expires_at=None)
            )

    # ----- claiming and forming -----

    def _claim_due(self) -> ClaimedBatch | None:
        now = utc_now()
        with self.engine.begin() as conn:
            query = (
                select(
                    batches.c.batch_id,
                    batches.c.source_system,
                    batches.c.state,
                    batches.c.record_count,
                    batches.c.attempts,
                    batches.c.poll_failures,
                )
                .where(batches.c.state.in_(BatchState.OPEN))
                .where(batches.c.next_attempt_at <= now)
                .where(
                    or_(
                        batches.c.lease_expires_at.is_(None),
                        batches.c.lease_expires_at <= now,
                        batches.c.lease_owner == self.owner,
                    )
                )
                .order_by(batches.c.next_attempt_at)
                .limit(1)
            )
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            row = conn.execute(query).first()
            if row is None:
                return None
            conn.execute(
                update(batches)
                .where(batches.c.batch_id == row.batch_id)
                .values(lease_owner=self.owner, lease_expires_at=self._lease_end(now))
            )
        self.leased(row.batch_id)
        return ClaimedBatch(*row)

    def _form(self) -> FormedBatch | Oversized | None:
        now = utc_now()
        with self.engine.begin() as conn:
            open_count = conn.execute(
                select(func.count())
                .select_from(batches)
                .where(batches.c.state.in_(BatchState.OPEN))
            ).scalar_one()
            if open_count >= self.delivery.max_open_batches:
                return None
            formed = form_batch(
                conn,
                self.keys,
                la_code=self.la_code,
                max_records=self.pacer.batch_size(self.batch_size),
                max_bytes=self.transport.max_bytes,
                owner=self.owner,
                lease_seconds=self.delivery.lease_seconds,
                now=now,
            )
            if isinstance(formed, Oversized):
                conn.execute(
                    update(entries)
                    .where(entries.c.message_id == formed.message_id)
                    .where(entries.c.state == EntryState.PENDING.value)
                    .values(
                        state=EntryState.PARKED.value,
                        last_error_code=FaultCode.BATCH_TOO_LARGE.value,
                        last_error_message=(
                            f"record is {formed.size} bytes, too large for any batch"
                        ),
                        updated_at=now,
                        finished_at=now,
                    )
                )
                log.error("outbox.record_too_large", message_id=formed.message_id, size=formed.size)
        if isinstance(formed, FormedBatch):
            self.leased(formed.batch_id)
            log.info(
                "outbox.batch_formed",
                batch_id=formed.batch_id,
                source_system=formed.source_system,
                records=formed.record_count,
                bytes=formed.size,
            )
        return formed

    # ----- helpers used by deliver_batch -----

    def _lease_end(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.delivery.lease_seconds)

    def leased(self, batch_id: str) -> None:
        """Note that our lease on ``batch_id`` was just set or extended."""
        self._leased_at = {batch_id: time.monotonic()}

    def ensure_lease(self, batch_id: str) -> None:
        """Extend our lease if a third of it has passed (a commit saved on the hot path)."""
        set_at = self._leased_at.get(batch_id)
        if set_at is not None and time.monotonic() - set_at < self.delivery.lease_seconds / 3:
            return
        with self.engine.begin() as conn:
            self.renew(conn, batch_id, utc_now())

    def renew(self, conn: Connection, batch_id: str, now: datetime) -> None:
        """Extend our lease; LeaseLost if another worker has taken the batch."""
        self.leased(batch_id)
        result = conn.execute(
            update(batches)
            .where(batches.c.batch_id == batch_id)
            .where(batches.c.lease_owner == self.owner)
            .where(batches.c.state.in_(BatchState.OPEN))
            .values(lease_expires_at=self._lease_end(now))
        )
        if result.rowcount != 1:
            raise LeaseLost(f"batch {batch_id} is no longer ours")

    def guarded_update(self, conn: Connection, batch_id: str, expected: str, **values: Any) -> None:
        """Update our batch row if we still hold it in state ``expected``; else LeaseLost."""
        result = conn.execute(
            update(batches)
            .where(batches.c.batch_id == batch_id)
            .where(batches.c.lease_owner == self.owner)
            .where(batches.c.state == expected)
            .values(**values)
        )
        if result.rowcount != 1:
            raise LeaseLost(f"batch {batch_id} is no longer ours")


def run_lanes(
    lanes: Sequence[Worker], *, until_empty: bool, stop: threading.Event | None = None
) -> RunSummary:
    """Run several workers of one process side by side, one thread each; their summed summary.

    A lane spends most of a batch waiting: for the hub's receipt, for its outcome, for a
    commit to reach the disk. With two lanes one batch is formed or recorded while another is
    at the hub, so the adapter and the hub work at the same time instead of taking turns. Each
    lane is a whole :class:`Worker` with its own owner id and transport, so claims and leases
    keep lanes apart exactly as they keep processes apart; they share the pacer (one rate per
    process). The first lane to fail stops the others, and its error is raised here.
    """
    if not lanes:
        raise ValueError("run_lanes needs at least one lane")
    stop = stop or threading.Event()
    if lanes[0].exclusive:
        lanes[0].take_over_leases()  # once, before any lane holds a lease
    if len(lanes) == 1:
        return lanes[0].work(until_empty=until_empty, stop=stop)
    failures: list[BaseException] = []

    def lane(worker: Worker) -> None:
        try:
            worker.work(until_empty=until_empty, stop=stop)
        except BaseException as exc:  # noqa: BLE001 - re-raised by run_lanes, not swallowed
            failures.append(exc)
            stop.set()

    threads = [
        threading.Thread(target=lane, args=(w,), name=f"lane-{i}", daemon=True)
        for i, w in enumerate(lanes)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    total = RunSummary()
    for worker in lanes:
        total.merge(worker.summary)
    return total


# ----- one batch, one stage -----


def deliver_batch(worker: Worker, batch: ClaimedBatch) -> None:
    """Move a claimed batch one stage on: submit it if it has no receipt, then poll it."""
    if batch.state == BatchState.FORMED and not _submit(worker, batch):
        return
    _poll(worker, batch)


def _load_document(worker: Worker, conn: Connection, batch_id: str) -> bytes:
    row = conn.execute(
        select(batches.c.payload, batches.c.key_id).where(batches.c.batch_id == batch_id)
    ).one()
    if row.payload is None:
        raise StoreError(f"batch {batch_id} has no stored payload", code="STORE-PAYLOAD")
    return worker.keys.decrypt(row.key_id, row.payload, batch_aad(batch_id))


def _submit(worker: Worker, batch: ClaimedBatch) -> bool:
    """SubmitBatch; True once the receipt is stored."""
    with worker.engine.connect() as conn:
        document = _load_document(worker, conn, batch.batch_id)
    worker.pacer.acquire(batch.record_count)
    worker.ensure_lease(batch.batch_id)
    started = time.monotonic()
    try:
        receipt = worker.transport.submit(document, batch.batch_id)
    except DeliveryError as error:
        _failed(worker, batch, error, submitting=True)
        return False
    _record_receipt(worker, batch, receipt, attempt=batch.attempts + 1)
    log.info(
        "outbox.batch_submitted",
        batch_id=batch.batch_id,
        records=batch.record_count,
        attempt=batch.attempts + 1,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    worker.summary.batches_submitted += 1
    worker.summary.records_submitted += batch.record_count
    return True


def _record_receipt(
    worker: Worker, batch: ClaimedBatch, receipt: BatchReceipt, attempt: int
) -> None:
    now = utc_now()
    with worker.engine.begin() as conn:
        worker.guarded_update(
            conn,
            batch.batch_id,
            BatchState.FORMED,
            state=BatchState.SUBMITTED,
            attempts=attempt,
            submitted_at=now,
            received_at=receipt.received_at,
            next_attempt_at=now,
            lease_expires_at=worker._lease_end(now),
            last_error_code=None,
            last_error_message=None,
        )
        worker.leased(batch.batch_id)
        conn.execute(
            update(entries)
            .where(entries.c.batch_id == batch.batch_id)
            .where(entries.c.state == EntryState.IN_FLIGHT.value)
            .values(
                state=EntryState.SENT.value,
                attempts=entries.c.attempts + 1,
                sent_at=now,
                updated_at=now,
            )
        )
        audit.append(
            conn,
            audit.AuditKind.SUBMISSION,
            batch.batch_id,
            {
                "source_system": batch.source_system,
                "records": batch.record_count,
                "attempt": attempt,
                "transport": worker.delivery.transport,
            },
            actor=worker.owner,
            now=now,
        )


def _poll(worker: Worker, batch: ClaimedBatch) -> None:
    """GetBatchOutcome; store a complete outcome, or schedule the next poll."""
    worker.ensure_lease(batch.batch_id)
    try:
        result: BatchOutcome | Pending = retry.poll_retrying()(
            worker.transport.get_outcome, batch.batch_id
        )
    except DeliveryError as error:
        _failed(worker, batch, error, submitting=False)
        return
    now = utc_now()
    if isinstance(result, Pending):
        with worker.engine.begin() as conn:
            worker.guarded_update(
                conn,
                batch.batch_id,
                BatchState.SUBMITTED,
                poll_count=batches.c.poll_count + 1,
                poll_failures=0,
                next_attempt_at=now + timedelta(seconds=worker.delivery.poll_interval_seconds),
                lease_owner=None,
                lease_expires_at=None,
            )
        return
    with worker.engine.begin() as conn:
        worker.guarded_update(
            conn,
            batch.batch_id,
            BatchState.SUBMITTED,
            state=BatchState.COMPLETE,
            poll_count=batches.c.poll_count + 1,
            completed_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
        summary = apply_outcome(conn, batch.batch_id, result, now=now)
        audit.append(
            conn,
            audit.AuditKind.OUTCOME,
            batch.batch_id,
            {"outcomes": dict(summary.by_status), "parked": summary.parked},
            actor=worker.owner,
            now=now,
        )
    worker.summary.batches_completed += 1
    worker.summary.add(summary)
    log.info(
        "outbox.batch_complete",
        batch_id=batch.batch_id,
        outcomes=dict(summary.by_status),
        parked=summary.parked,
    )


def _failed(worker: Worker, batch: ClaimedBatch, error: DeliveryError, *, submitting: bool) -> None:
    """Schedule a retry, park the batch, or halt the worker, as :func:`retry.classify` says."""
    verdict = retry.classify(error)
    now = utc_now()
    state = BatchState.FORMED if submitting else BatchState.SUBMITTED
    if verdict.verdict is Verdict.HALT:
        with worker.engine.begin() as conn:
            worker.guarded_update(
                conn,
                batch.batch_id,
                state,
                lease_owner=None,
                lease_expires_at=None,
                last_error_code=error.code,
                last_error_message=error.message[:500],
            )
        log.error("outbox.delivery_halted", batch_id=batch.batch_id, code=error.code)
        raise WorkerHalted(error.message, code=error.code) from error
    attempts = batch.attempts + 1 if submitting else batch.attempts
    failures = 0 if submitting else batch.poll_failures + 1
    if verdict.verdict is Verdict.RETRY and (
        not submitting or retry.attempts_left(worker.delivery.retry, attempts)
    ):
        delay = retry.retry_delay(
            worker.delivery.retry, attempts if submitting else failures, error
        )
        if error.code == FaultCode.THROTTLED.value:
            worker.pacer.hold(verdict.retry_after or delay)
        counter: dict[str, Any] = (
            {"attempts": attempts} if submitting else {"poll_failures": failures}
        )
        with worker.engine.begin() as conn:
            worker.guarded_update(
                conn,
                batch.batch_id,
                state,
                next_attempt_at=now + timedelta(seconds=delay),
                lease_owner=None,
                lease_expires_at=None,
                last_error_code=error.code,
                last_error_message=error.message[:500],
                **counter,
            )
            if submitting:
                conn.execute(
                    update(entries)
                    .where(entries.c.batch_id == batch.batch_id)
                    .values(
                        attempts=entries.c.attempts + 1,
                        last_error_code=error.code,
                        last_error_message=error.message[:500],
                        updated_at=now,
                    )
                )
        worker.summary.retries_scheduled += 1
        codes = worker.summary.retry_codes
        codes[error.code] = codes.get(error.code, 0) + 1
        log.warning(
            "outbox.retry_scheduled",
            batch_id=batch.batch_id,
            code=error.code,
            attempt=attempts,
            delay=round(delay, 3),
            retry_after=verdict.retry_after,
        )
        return
    code = error.code if verdict.verdict is Verdict.PARK else retry.RETRIES_EXHAUSTED
    message = (
        error.message
        if verdict.verdict is Verdict.PARK
        else f"gave up after {attempts} attempts; last: {error.code}: {error.message}"
    )[:500]
    park_batch(worker, batch, state, code, message, attempts=attempts if submitting else None)


def park_batch(
    worker: Worker,
    batch: ClaimedBatch,
    state: str,
    code: str,
    message: str,
    *,
    attempts: int | None,
) -> None:
    """Park the batch and every entry still in it, with the reason (TA-REL-04)."""
    now = utc_now()
    counter: dict[str, Any] = {} if attempts is None else {"attempts": attempts}
    with worker.engine.begin() as conn:
        worker.guarded_update(
            conn,
            batch.batch_id,
            state,
            state=BatchState.PARKED,
            **counter,
            completed_at=now,
            lease_owner=None,
            lease_expires_at=None,
            last_error_code=code,
            last_error_message=message,
        )
        conn.execute(
            update(entries)
            .where(entries.c.batch_id == batch.batch_id)
            .where(entries.c.state.in_([EntryState.IN_FLIGHT.value, EntryState.SENT.value]))
            .values(
                state=EntryState.PARKED.value,
                attempts=entries.c.attempts + (1 if state == BatchState.FORMED else 0),
                last_error_code=code,
                last_error_message=message,
                updated_at=now,
                finished_at=now,
            )
        )
        audit.append(
            conn,
            audit.AuditKind.SUBMISSION,
            batch.batch_id,
            {"parked": True, "code": code, "records": batch.record_count},
            actor=worker.owner,
            now=now,
        )
    worker.summary.batches_parked += 1
    log.error("outbox.batch_parked", batch_id=batch.batch_id, code=code, attempts=attempts)
