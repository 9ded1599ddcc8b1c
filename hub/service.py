"""SubmitBatch and GetBatchOutcome, independent of the transport (SOAP or SFTP files).

The checks run in this order, each refusal an LDI-TRN-05 fault:

1. record count over the transport's limit (1,000 for SOAP, 50,000 for files) →
   ``BATCH_TOO_LARGE`` (the byte limit is checked by the transport before parsing);
2. the XSD and the NFC text rule (:func:`ldi.validation.schema_errors`) → ``SCHEMA_INVALID``
   with the first error's line and column;
3. ``accountableBody`` and ``sourceSystem`` registered for the caller (LDI-TRN-03) →
   ``UNAUTHORISED``;
4. batch id already stored: the same content → the original receipt; other content →
   ``BATCH_ID_REUSED`` (LDI-TRN-06).

"Byte-identical content" (LDI-TRN-06) is defined as: equal SHA-256 of the *exclusive XML
canonicalisation 1.0, without comments* of the ``SubmissionBatch`` element. The SOAP envelope,
the XML declaration, attribute order and quoting, and namespace-prefix declarations made outside
the element do not count; every character of every value and every whitespace text node does.
The canonical bytes are also what is stored, so the payload kept is exactly what was compared.

Acceptance stops there. A new batch is then prepared (models, BR-01 … BR-08, matching keys:
:func:`hub.processing.prepare_element`) and processed against the store: in the request thread
(inline mode), or by the background workers (background mode, :mod:`hub.worker`), so that
accepting, preparing and deciding run side by side on the machine's two cores.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from hub.processing import Processor, prepare_element
from hub.soap import element_response, fault, response
from hub.store import BatchRow, NewBatch, OutcomeRow, Store
from ldi import NAMESPACE
from ldi.models import BatchOutcome, BatchReceipt, BatchStatus, FaultCode
from ldi.validation import count_records, schema_errors

#: LDI-TRN-04 (web service) and LDI-TRN-11 (files).
SOAP_MAX_RECORDS = 1_000
FILE_MAX_RECORDS = 50_000


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is submitting: from the register (certificate) or a file drop (SFTP user)."""

    la_code: str
    source_systems: frozenset[str]
    presented_by: str  # certificate fingerprint or "sftp:<user>"; ids only


def canonical(element: etree._Element) -> bytes:
    """Exclusive C14N 1.0 without comments: the bytes LDI-TRN-06 compares (see module doc)."""
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


class HubService:
    """The contract's two operations on top of the store and the processor."""

    def __init__(
        self,
        store: Store,
        processor: Processor,
        *,
        inline: bool,
        hand_over: Callable[[int, bytes], None] | None = None,
    ) -> None:
        """``inline``: process each new batch before answering; otherwise ``hand_over`` passes
        the stored canonical payload to the background workers (:mod:`hub.worker`)."""
        self.store = store
        self.processor = processor
        self.inline = inline
        self.hand_over = hand_over

    def submit(
        self,
        caller: Caller,
        element: etree._Element,
        data: bytes | None,
        *,
        max_records: int,
        transport: str,
    ) -> tuple[BatchReceipt, bool]:
        """Accept a SubmissionBatch element; return its receipt and whether it is new."""
        count = count_records(element)
        if count > max_records:
            raise fault(
                FaultCode.BATCH_TOO_LARGE,
                f"batch has {count} records; at most {max_records} are accepted per "
                + ("request (LDI-TRN-04)" if transport == "soap" else "file (LDI-TRN-11)"),
            )
        errors = schema_errors(element, data)
        if errors:
            first = errors[0]
            more = len(errors) - 1
            suffix = f" (and {more} more schema errors)" if more else ""
            raise fault(
                FaultCode.SCHEMA_INVALID,
                first.message + suffix,
                line=first.line or None,
                column=first.column or None,
            )
        # The XSD guarantees these attributes; the models are built later, by the processor.
        batch_id = str(element.get("batchId"))
        accountable_body = str(element.get("accountableBody"))
        source_system = str(element.get("sourceSystem"))
        if accountable_body != caller.la_code:
            raise fault(
                FaultCode.UNAUTHORISED,
                "accountableBody is not the LA this certificate is registered for (LDI-TRN-03)",
            )
        if source_system not in caller.source_systems:
            raise fault(
                FaultCode.UNAUTHORISED,
                "sourceSystem is not registered for this certificate (LDI-TRN-03)",
            )
        payload = canonical(element)
        digest = hashlib.sha256(payload).hexdigest()
        row, created = self.store.store_batch(
            NewBatch(
                batch_id=batch_id,
                content_sha256=digest,
                accountable_body=accountable_body,
                source_system=source_system,
                transport=transport,
                presented_by=caller.presented_by,
                record_count=count,
                payload=payload,
            )
        )
        if not created and row.content_sha256 != digest:
            raise fault(
                FaultCode.BATCH_ID_REUSED,
                "this batchId was used before for different content (LDI-TRN-06)",
            )
        if created:
            if self.inline:
                self.processor.hand_over(row.seq, prepare_element(element))
                self.processor.process_pending()
            elif self.hand_over is not None:
                self.hand_over(row.seq, payload)
        return _receipt(row), created

    def settle(self, batch_id: str, timeout: float = 60.0) -> BatchRow | None:
        """The batch once it is Complete (waiting for the background worker), or None."""
        deadline = time.monotonic() + timeout
        while True:
            row = self.store.batch(batch_id)
            if row is not None and row.status is BatchStatus.COMPLETE:
                return row
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def find_batch(self, caller: Caller, batch_id: str) -> BatchRow:
        """The caller's own batch; any other (or unknown) batch id is UNAUTHORISED.

        Unknown and foreign ids get the same answer so that a caller cannot probe which batch
        ids another LA used.
        """
        row = self.store.batch(batch_id)
        if (
            row is None
            or row.accountable_body != caller.la_code
            or row.source_system not in caller.source_systems
        ):
            raise fault(
                FaultCode.UNAUTHORISED,
                "no batch with this batchId was submitted under this certificate",
            )
        return row

    def outcome_response(self, row: BatchRow, *, hold_pending: bool = False) -> bytes:
        """The SOAP response to GetBatchOutcome: ``response(self.outcome(...))`` byte for byte.

        A Complete outcome is built straight from the stored rows: a pydantic model per record
        cost more than the rest of answering the poll.
        """
        if row.status is BatchStatus.PENDING or hold_pending:
            return response(self.outcome(row, hold_pending=True))
        rows = self.store.outcome_rows(row.seq)
        return element_response(_complete_outcome_element(row.batch_id, rows))

    def outcome(self, row: BatchRow, *, hold_pending: bool = False) -> BatchOutcome:
        """Pending, or Complete with one RecordOutcome per record (LDI-TRN-07)."""
        if row.status is BatchStatus.PENDING or hold_pending:
            return BatchOutcome(batch_id=row.batch_id, status=BatchStatus.PENDING)
        return BatchOutcome(
            batch_id=row.batch_id,
            status=BatchStatus.COMPLETE,
            record_outcomes=self.store.outcomes(row.seq),
        )


_LDI = "{" + NAMESPACE + "}"
_BATCH_OUTCOME = _LDI + "BatchOutcome"
_RECORD_OUTCOME = _LDI + "RecordOutcome"
_CONTACTPOINT_ID = _LDI + "ContactPointId"
_CANDIDATE_COUNT = _LDI + "CandidateCount"
_ORIGINAL_STATUS = _LDI + "OriginalStatus"
_BREACH = _LDI + "Breach"
_RULE = _LDI + "Rule"
_PATH = _LDI + "Path"
_MESSAGE = _LDI + "Message"


def _complete_outcome_element(batch_id: str, rows: list[OutcomeRow]) -> etree._Element:
    """What ``to_element`` makes of a Complete :class:`BatchOutcome` of these rows."""
    outcome = etree.Element(_BATCH_OUTCOME, nsmap={None: NAMESPACE})
    outcome.set("batchId", batch_id)
    outcome.set("status", BatchStatus.COMPLETE.value)
    sub = etree.SubElement
    for message_id, status, contactpoint_id, candidate_count, original, breaches in rows:
        record = sub(outcome, _RECORD_OUTCOME)
        record.set("messageId", message_id)
        record.set("status", status.value)
        if contactpoint_id is not None:
            sub(record, _CONTACTPOINT_ID).text = contactpoint_id
        if candidate_count is not None:
            sub(record, _CANDIDATE_COUNT).text = str(candidate_count)
        if original is not None:
            sub(record, _ORIGINAL_STATUS).text = original.value
        for rule, path, message in breaches:
            breach = sub(record, _BREACH)
            sub(breach, _RULE).text = rule
            sub(breach, _PATH).text = path
            sub(breach, _MESSAGE).text = message
    return outcome


def _receipt(row: BatchRow) -> BatchReceipt:
    return BatchReceipt(
        batch_id=row.batch_id, received_at=row.received_at, record_count=row.record_count
    )
