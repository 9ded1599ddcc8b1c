"""Processing a stored batch: one outcome per record (LDI 1.0 sections 4 and 5).

Per record, in this order:

1. ``messageId`` processed in an earlier batch → ``Duplicate`` with ``OriginalStatus``; nothing
   is applied again (LDI-REL-01). Within one batch a repeated messageId is BR-08 (step 2).
2. Any breach of BR-01 … BR-08 (from :func:`ldi.rules.check_batch`) → ``Rejected``.
3. ``version`` not above the last *applied* version of (sourceSystem, SourceRecordId) →
   ``Stale`` (LDI-REL-02). Rejected records never count as applied.
4. ``Withdraw`` → ``Withdrawn``: exactly that source's contribution is removed (its row stays,
   emptied, with the version, so an older Upsert arriving late is still ``Stale``). A given
   ContactPointId must exist (BR-09, the only part of it a Withdraw can break).
5. ``Upsert`` → matching (:mod:`hub.matching`): ``Matched``, ``NoMatch``, ``MultipleMatch`` or
   ``Rejected`` with BR-09. The contribution is stored whole (it replaces that source's previous
   one); ``NoMatch`` and ``MultipleMatch`` contributions are *held* for the LA's data
   administrator: no national record is created or linked (the stricter reading of section 5's
   "held"), and they appear on the work lists.

Every processed messageId is registered with its status, whatever it was, so a resend is a
``Duplicate`` of it. All effects of a batch are written in one transaction together with the
batch's ``Complete`` status, so a crash leaves the batch ``Pending`` and it is processed again,
whole, after the restart: nothing is applied twice and nothing is lost. The state a batch is
judged against is read before that transaction, outside the store's write lock (only this
processor writes it), so that new batches can be stored while one is being matched.

The CPU-heavy, stateless half - models, BR-01 … BR-08, step-3 keys, the contribution's JSON - is
:func:`prepare`, which turns a batch into compact :class:`PreparedRecord` values. The serial,
stateful half is :func:`decide` plus the writes. In background mode the server process
prepares and the worker process (:mod:`hub.worker`) decides, so the two halves run on the
machine's two cores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lxml import etree

from adapter.log import get_logger
from hub.matching import NationalIndex, br09_breach, match_on, record_name_keys
from hub.store import BatchRow, ContributionState, ContributionWrite, OutcomeWrite, Store
from ldi import NAMESPACE
from ldi.models import Action, Breach, OutcomeStatus, SubmissionBatch
from ldi.safexml import FILE_MAX_BYTES, parse_bytes
from ldi.validation import check_validated

log = get_logger(__name__)

_RECORD = "{" + NAMESPACE + "}Record"
_SOURCE_RECORD_ID = "{" + NAMESPACE + "}SourceRecordId"


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """What deciding a record's outcome needs, and nothing more (cheap to pickle)."""

    message_id: str
    source_record_id: str
    action: Action
    version: int
    contactpoint_id: str | None
    birth_date: date | None
    nhs_number: str | None
    upn: str | None
    name_keys: frozenset[str]
    record_json: str | None  # the whole record, stored as the source's contribution
    breaches: tuple[Breach, ...]

    def __reduce__(self) -> tuple[type[PreparedRecord], tuple[Any, ...]]:
        """Pickled as the constructor's arguments: a slotted dataclass's own pickling walks
        ``dataclasses.fields`` per object, which cost more than the rest of the hand-over."""
        return PreparedRecord, (
            self.message_id,
            self.source_record_id,
            self.action,
            self.version,
            self.contactpoint_id,
            self.birth_date,
            self.nhs_number,
            self.upn,
            self.name_keys,
            self.record_json,
            self.breaches,
        )


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    batch_id: str
    accountable_body: str
    source_system: str
    records: tuple[PreparedRecord, ...]


def prepare(batch: SubmissionBatch, breaches: Sequence[list[Breach]]) -> PreparedBatch:
    """The stateless half of processing: one PreparedRecord per record, in order."""
    records = []
    for record, record_breaches in zip(batch.records, breaches, strict=True):
        child = record.child
        upsert = record.action is Action.UPSERT
        records.append(
            PreparedRecord(
                message_id=record.message_id,
                source_record_id=record.source_record_id,
                action=record.action,
                version=record.version,
                contactpoint_id=record.contactpoint_id,
                birth_date=child.birth_date if child is not None else None,
                nhs_number=child.nhs_number if child is not None else None,
                upn=child.upn if child is not None else None,
                name_keys=record_name_keys(child) if child is not None else frozenset(),
                record_json=(
                    record.model_dump_json(by_alias=True, exclude_none=True)
                    if upsert and not record_breaches
                    else None
                ),
                breaches=tuple(record_breaches),
            )
        )
    return PreparedBatch(
        batch_id=batch.batch_id,
        accountable_body=batch.accountable_body,
        source_system=batch.source_system,
        records=tuple(records),
    )


def prepare_element(element: etree._Element) -> PreparedBatch:
    """Prepare an accepted (XSD-valid) SubmissionBatch element.

    If the models cannot hold what the XSD accepted (a gap that should not exist), every record
    is Rejected with LDI-MSG-01 rather than the batch staying Pending for ever.
    """
    check = check_validated(element)
    if check.batch is not None:
        return prepare(check.batch, check.breaches)
    message = check.schema_errors[0].message[:500].strip()
    records = tuple(
        PreparedRecord(
            message_id=str(record.get("messageId")),
            source_record_id=record.findtext(_SOURCE_RECORD_ID) or "",
            action=Action(record.get("action") or Action.UPSERT.value),
            version=_int(record.get("version")),
            contactpoint_id=None,
            birth_date=None,
            nhs_number=None,
            upn=None,
            name_keys=frozenset(),
            record_json=None,
            breaches=(Breach(rule="LDI-MSG-01", path=f"Record[{i}]", message=message),),
        )
        for i, record in enumerate(element.iterchildren(_RECORD), start=1)
    )
    log.error("hub.batch_unreadable", batch_id=element.get("batchId"), records=len(records))
    return PreparedBatch(
        batch_id=str(element.get("batchId")),
        accountable_body=str(element.get("accountableBody")),
        source_system=str(element.get("sourceSystem")),
        records=records,
    )


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


@dataclass
class BatchEffects:
    """Everything processing one batch decided, ready to be written in one transaction."""

    outcomes: list[OutcomeWrite] = field(default_factory=list)
    new_messages: dict[str, OutcomeStatus] = field(default_factory=dict)
    writes: dict[str, ContributionWrite] = field(default_factory=dict)


def decide(
    batch: PreparedBatch,
    *,
    seen: dict[str, OutcomeStatus],
    contributions: dict[str, ContributionState],
    index: NationalIndex,
) -> BatchEffects:
    """The outcome of every record of ``batch``, given the store's state before it.

    Pure: ``seen`` and ``contributions`` are what the store held before this batch; the function
    tracks this batch's own effects so that two records of one source record in one batch are
    ordered like records in two batches.
    """
    effects = BatchEffects()
    state = dict(contributions)
    for position, record in enumerate(batch.records, start=1):
        path = f"Record[{position}]"
        srid = record.source_record_id
        original = seen.get(record.message_id)
        if original is not None:
            effects.outcomes.append(
                OutcomeWrite(
                    record.message_id, srid, OutcomeStatus.DUPLICATE, original_status=original
                )
            )
            continue  # a Duplicate registers nothing: the messageId keeps its first status
        current = state.get(srid)
        write: ContributionWrite | None = None
        if record.breaches:
            outcome = _rejected(record, list(record.breaches))
        elif current is not None and record.version <= current.version:
            outcome = OutcomeWrite(record.message_id, srid, OutcomeStatus.STALE)
        elif record.action is Action.WITHDRAW:
            if (
                record.contactpoint_id is not None
                and index.birth_date_of(record.contactpoint_id) is None
            ):
                outcome = _rejected(record, [br09_breach(path)])
            else:
                outcome = OutcomeWrite(record.message_id, srid, OutcomeStatus.WITHDRAWN)
                write = _write(batch, record, OutcomeStatus.WITHDRAWN, None, None)
        else:
            assert record.birth_date is not None  # BR-01 passed, so the Upsert has a Child
            result = match_on(
                record.birth_date,
                record.nhs_number,
                record.upn,
                record.name_keys,
                record.contactpoint_id,
                index,
                path=path,
            )
            if result.breach is not None:
                outcome = _rejected(record, [result.breach])
            else:
                outcome = OutcomeWrite(
                    record.message_id,
                    srid,
                    result.status,
                    contactpoint_id=result.contactpoint_id,
                    candidate_count=result.candidate_count,
                )
                write = _write(
                    batch, record, result.status, result.contactpoint_id, result.candidate_count
                )
        if write is not None:
            effects.writes[srid] = write
            state[srid] = ContributionState(write.version, write.status, write.contactpoint_id)
        effects.new_messages.setdefault(record.message_id, outcome.status)
        effects.outcomes.append(outcome)
    return effects


def _rejected(record: PreparedRecord, breaches: list[Breach]) -> OutcomeWrite:
    return OutcomeWrite(
        record.message_id, record.source_record_id, OutcomeStatus.REJECTED, breaches=breaches
    )


def _write(
    batch: PreparedBatch,
    record: PreparedRecord,
    status: OutcomeStatus,
    contactpoint_id: str | None,
    candidate_count: int | None,
) -> ContributionWrite:
    return ContributionWrite(
        source_system=batch.source_system,
        source_record_id=record.source_record_id,
        accountable_body=batch.accountable_body,
        version=record.version,
        message_id=record.message_id,
        batch_id=batch.batch_id,
        status=status,
        contactpoint_id=contactpoint_id,
        candidate_count=candidate_count,
        record_json=None if status is OutcomeStatus.WITHDRAWN else record.record_json,
    )


#: Asked for a stored batch's prepared form by seq; None when it has none to give.
Fetch = Callable[[int], PreparedBatch | None]


class Processor:
    """Processes stored batches strictly in arrival order, one at a time.

    Both processing modes use :meth:`process_pending`: inline mode calls it from the request
    thread after storing (so the batch is complete before its receipt is sent), background mode
    from the worker process (:mod:`hub.worker`). Whoever holds the lock processes *every*
    pending batch in sequence, so two batches stored concurrently can never be processed out of
    order. There is one processor per store: never run ``hub files`` beside a background-mode
    ``hub serve`` on the same store.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._prepared: dict[int, PreparedBatch] = {}
        self._prepared_lock = threading.Lock()

    def hand_over(self, seq: int, prepared: PreparedBatch) -> None:
        """A stored batch's prepared form, so that it is not parsed and prepared again."""
        with self._prepared_lock:
            self._prepared[seq] = prepared

    def process_pending(self, fetch: Fetch | None = None) -> int:
        """Process every pending batch, oldest first; return how many were completed.

        A batch's prepared form comes from :meth:`hand_over`, else from ``fetch``, else it is
        prepared here from the stored payload (after a restart, or if the hand-over was lost).
        """
        with self._lock:
            done = 0
            for row in self._store.pending_batches():
                with self._prepared_lock:
                    prepared = self._prepared.pop(row.seq, None)
                if prepared is None and fetch is not None:
                    prepared = fetch(row.seq)
                if prepared is None:
                    payload = self._store.payload(row.seq)
                    element = parse_bytes(
                        payload, source=f"batch {row.batch_id}", max_bytes=FILE_MAX_BYTES
                    ).getroot()
                    prepared = prepare_element(element)
                self._process(row, prepared)
                done += 1
            return done

    def _process(self, row: BatchRow, batch: PreparedBatch) -> None:
        records = batch.records
        with self._store.reading(row) as reader:
            seen = reader.seen_messages([r.message_id for r in records])
            contributions = reader.contributions(
                batch.source_system, [r.source_record_id for r in records]
            )
            index = reader.index_for(
                (r.contactpoint_id for r in records if r.contactpoint_id),
                [r.nhs_number for r in records if r.nhs_number],
                [r.upn for r in records if r.upn],
                (r.name_keys for r in records),
            )
        effects = decide(batch, seen=seen, contributions=contributions, index=index)
        with self._store.processing(row) as tx:
            tx.complete(effects.outcomes, effects.new_messages, effects.writes, contributions)
        counts: dict[str, int] = {}
        for outcome in effects.outcomes:
            counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
        log.info(
            "hub.batch_processed", batch_id=row.batch_id, records=len(records), outcomes=counts
        )
