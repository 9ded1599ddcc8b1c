"""The delta engine: only what changed is queued (TA-DLT-01, TA-DLT-02, TA-DLT-03).

Per (source system, source record) the store keeps a SHA-256 of the last queued record's XML
(its content only: the envelope is excluded) and the last version. Then, per record read:

=======================================  =============================================
the gate says / the state says           queued
=======================================  =============================================
send, content hash unchanged             nothing (``unchanged``)
send, new or changed                     ``Upsert`` with version + 1
excluded (BR-02) or flagged deleted,     ``Withdraw`` with version + 1
previously sent and not withdrawn
excluded (BR-02), never sent             nothing; listed as held with BR-02
flagged deleted, never sent              nothing (``unchanged``)
held (a rule still broken)               nothing; listed as held with its rule ids
=======================================  =============================================

and after a complete full-snapshot run, every record the store has sent but the source no
longer holds is withdrawn. A run with any quarantined input is not complete: nothing is
withdrawn for vanishing then, since a record may only be missing because its file was bad.

Each chunk is one transaction: the outbox entries, the new state and the held rows commit
together, so a crash at any point neither loses a change nor sends one twice (the next run sees
the committed chunks as unchanged and redoes the rest). Because the hash is over the mapped
output, a mapping or code-table change re-sends exactly the records whose output changed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select

from adapter import held
from connectors.base import SourceRecord
from ldi.models import Action, Breach, Record
from ldi.xmlwriter import WrittenRecord, content_digest, record_bytes, write_record
from mappings.gate import GateResult, Verdict
from mappings.mapper import MapResult
from outbox.delta_state import DeltaRow, load_state, save_state
from outbox.entries import PreparedEntry, enqueue_prepared, message_id
from outbox.service import Outbox
from outbox.store import delta_state

T = TypeVar("T")


@dataclass
class SourceCounts:
    """What one run did with what it read; ``read == queued_from_read + unchanged + held``."""

    read: int = 0
    unchanged: int = 0
    upserts: int = 0
    withdrawals: int = 0  # from records read: excluded (BR-02) or flagged deleted
    vanished: int = 0  # withdrawn after a full snapshot no longer held them
    held: int = 0
    duplicates: int = 0  # read again later in the same chunk; the later read was used
    held_by_rule: Counter[str] = field(default_factory=Counter)
    reductions: Counter[str] = field(default_factory=Counter)  # BR-03 / BR-04 applied
    omitted: int = 0  # incomplete optional elements left out by the mapping
    quarantined: int = 0

    def add(self, other: SourceCounts) -> None:
        """Add the counts of another share of the same run (``run --workers``)."""
        for name in _COUNTED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.held_by_rule.update(other.held_by_rule)
        self.reductions.update(other.reductions)

    @property
    def queued(self) -> int:
        """Everything queued: upserts and withdrawals (including vanished records)."""
        return self.upserts + self.withdrawals + self.vanished

    @property
    def balanced(self) -> bool:
        """Nothing dropped silently: every record read was queued, unchanged or held."""
        decided = self.upserts + self.withdrawals + self.unchanged + self.held
        return self.read == decided + self.duplicates

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and the run history."""
        return {
            "read": self.read,
            "unchanged": self.unchanged,
            "upserts": self.upserts,
            "withdrawals": self.withdrawals,
            "vanished": self.vanished,
            "held": self.held,
            "duplicates": self.duplicates,
            "held_by_rule": dict(sorted(self.held_by_rule.items())),
            "reductions": dict(sorted(self.reductions.items())),
            "omitted": self.omitted,
            "quarantined": self.quarantined,
            "queued": self.queued,
        }


_COUNTED = tuple(f.name for f in fields(SourceCounts) if f.type in ("int", int))


@dataclass(frozen=True, slots=True)
class Processed:
    """One source record after mapping and the gate, ready for the delta decision."""

    source: SourceRecord
    mapped: MapResult
    gated: GateResult | None  # None when the mapping already held it


def _withdraw(source_system: str, record_id: str, version: int) -> PreparedEntry:
    mid = message_id(source_system, record_id, version)
    record = Record(
        message_id=mid, action=Action.WITHDRAW, version=version, source_record_id=record_id
    )
    return PreparedEntry(record_id, version, Action.WITHDRAW, mid, record_bytes(record))


def _upsert(
    source_system: str, record: Record, version: int, written: WrittenRecord
) -> PreparedEntry:
    mid = message_id(source_system, record.source_record_id, version)
    xml = written.document(mid, Action.UPSERT.value, version)
    return PreparedEntry(record.source_record_id, version, Action.UPSERT, mid, xml)


class DeltaEngine:
    """Decides and commits, chunk by chunk, what one run of one source queues."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        source: str,
        source_system: str,
        run_id: str,
        run_at: datetime,
        dry_run: bool = False,
    ) -> None:
        self.outbox = outbox
        self.source = source
        self.source_system = source_system
        self.run_id = run_id
        self.run_at = run_at
        self.dry_run = dry_run
        self.counts = SourceCounts()

    # ----- one chunk, one transaction -----

    def process(self, chunk: Sequence[Processed]) -> None:
        """Decide every record of ``chunk`` and commit entries, state and held rows together."""
        if not chunk:
            return
        unique = _last_of_each(chunk)
        self.counts.read += len(chunk) - len(unique)
        self.counts.duplicates += len(chunk) - len(unique)
        chunk = unique
        with self.outbox.engine.connect() as conn:
            transaction = conn.begin()
            try:
                self._decide(conn, chunk)
            except BaseException:
                transaction.rollback()
                raise
            if self.dry_run:
                transaction.rollback()
            else:
                transaction.commit()

    def _decide(self, conn: Connection, chunk: Sequence[Processed]) -> None:
        if conn.dialect.name == "postgresql":
            # One chunk of a source at a time, as SQLite's BEGIN IMMEDIATE has it: shares of a
            # run (or two runs) whose chunks hold the same child must not both find it new.
            conn.execute(select(func.pg_advisory_xact_lock(_lock_key(self.source_system))))
        ids = [_rid(p) for p in chunk]
        state = load_state(conn, self.source_system, ids)
        entries: list[PreparedEntry] = []
        new_state: list[DeltaRow] = []
        released: list[str] = []
        holding: list[tuple[str, Sequence[Breach], str]] = []
        counts = self.counts
        for item, record_id in zip(chunk, ids, strict=True):
            counts.read += 1
            counts.omitted += len(item.mapped.notes)
            known = state.get(record_id)
            sent = known is not None and not known.withdrawn and known.last_version > 0
            gated = item.gated
            if item.mapped.deleted or (gated is not None and gated.verdict is Verdict.EXCLUDE):
                if sent and known is not None:
                    version = known.last_version + 1
                    entries.append(_withdraw(self.source_system, record_id, version))
                    new_state.append(DeltaRow(record_id, None, version, withdrawn=True))
                    counts.withdrawals += 1
                    released.append(record_id)
                elif item.mapped.deleted:
                    counts.unchanged += 1
                    released.append(record_id)
                else:
                    assert gated is not None
                    self._hold(holding, item, record_id, gated.breaches)
                continue
            if gated is None or gated.verdict is Verdict.HOLD or gated.record is None:
                breaches = item.mapped.breaches if gated is None else gated.breaches
                self._hold(holding, item, record_id, breaches)
                continue
            counts.reductions.update(r.split(" ", 1)[0] for r in gated.reductions)
            written = gated.written  # written and XSD-validated by the gate: not written twice
            if written is None:
                written = write_record(gated.record)
            digest = content_digest(written)
            released.append(record_id)
            if sent and known is not None and known.content_hash == digest:
                counts.unchanged += 1
                continue
            version = (known.last_version if known else 0) + 1
            entries.append(_upsert(self.source_system, gated.record, version, written))
            new_state.append(DeltaRow(record_id, digest, version, withdrawn=False))
            counts.upserts += 1
        enqueue_prepared(conn, self.outbox.keys, self.source_system, entries, now=self.run_at)
        save_state(conn, self.source_system, new_state, now=self.run_at)
        held.hold_all(
            conn,
            source=self.source,
            source_system=self.source_system,
            held=holding,
            run_id=self.run_id,
            at=self.run_at,
        )
        held.release(conn, self.source_system, released)

    def _hold(
        self,
        holding: list[tuple[str, Sequence[Breach], str]],
        item: Processed,
        record_id: str,
        breaches: Sequence[Breach],
    ) -> None:
        """Count a held record; its row is written with the chunk's others (one statement)."""
        self.counts.held += 1
        self.counts.held_by_rule.update({b.rule for b in breaches})
        holding.append((record_id, breaches, str(item.source.provenance)))

    # ----- after a complete full snapshot -----

    def withdraw_vanished(self, seen: set[str]) -> None:
        """Withdraw what the store has sent but this complete full snapshot no longer holds."""
        with self.outbox.engine.connect() as conn:
            transaction = conn.begin()
            try:
                rows = conn.execute(
                    select(delta_state.c.source_record_id, delta_state.c.last_version)
                    .where(delta_state.c.source_system == self.source_system)
                    .where(delta_state.c.withdrawn.is_(False))
                ).all()
                gone = [(rid, version) for rid, version in rows if rid not in seen]
                entries = [_withdraw(self.source_system, rid, v + 1) for rid, v in gone]
                enqueue_prepared(
                    conn, self.outbox.keys, self.source_system, entries, now=self.run_at
                )
                save_state(
                    conn,
                    self.source_system,
                    [DeltaRow(rid, None, v + 1, withdrawn=True) for rid, v in gone],
                    now=self.run_at,
                )
                held.release_unseen(conn, self.source_system, self.run_id)
            except BaseException:
                transaction.rollback()
                raise
            if self.dry_run:
                transaction.rollback()
            else:
                transaction.commit()
        self.counts.vanished += len(gone)


def _lock_key(source_system: str) -> int:
    """The PostgreSQL advisory lock of a source system's delta state (a signed 64-bit id)."""
    digest = hashlib.sha256(b"cpadapter.delta-state:" + source_system.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _last_of_each(chunk: Sequence[Processed]) -> list[Processed]:
    """A record read twice in one chunk (dual registration): only its later read is used."""
    latest = {_rid(item): index for index, item in enumerate(chunk)}
    return [item for index, item in enumerate(chunk) if latest[_rid(item)] == index]


def _rid(item: Processed) -> str:
    return item.mapped.source_record_id or item.source.key


def iter_chunks(items: Iterator[T], size: int) -> Iterator[list[T]]:
    """Group a stream into lists of ``size`` (the last may be shorter)."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
