"""A scripted in-memory hub transport for delivery unit tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ldi.errors import DeliveryError
from ldi.models import BatchOutcome, BatchReceipt, BatchStatus, OutcomeStatus, RecordOutcome
from outbox.transports.base import Pending

_IDS = re.compile(rb'messageId="([0-9a-f]{32})"')


@dataclass
class FakeHub:
    """Answers from scripts: ``submit_script`` / ``poll_script`` pop one error or None per call."""

    submit_script: list[DeliveryError | None] = field(default_factory=list)
    poll_script: list[DeliveryError | str | None] = field(default_factory=list)
    status_for: Callable[[str], OutcomeStatus] = lambda _mid: OutcomeStatus.NO_MATCH
    lose_receipt_once: bool = False
    max_records: int = 1000
    max_bytes: int = 5 * 1024 * 1024
    stored: dict[str, bytes] = field(default_factory=dict)
    submits: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)

    def submit(self, batch_xml: bytes, batch_id: str) -> BatchReceipt:
        self.submits.append(batch_id)
        if self.submit_script:
            error = self.submit_script.pop(0)
            if error is not None:
                raise error
        if batch_id in self.stored:
            assert self.stored[batch_id] == batch_xml, "resubmission must be byte-identical"
        else:
            self.stored[batch_id] = batch_xml
            self.applied += [m.decode() for m in _IDS.findall(batch_xml)]
            if self.lose_receipt_once:
                self.lose_receipt_once = False
                from outbox.retry import CONNECTION, error_for

                raise error_for(CONNECTION, "dropped after store")
        return BatchReceipt(
            batch_id=batch_id,
            received_at=datetime.now(UTC),
            record_count=batch_xml.count(b"<Record "),
        )

    def get_outcome(self, batch_id: str) -> BatchOutcome | Pending:
        if self.poll_script:
            step = self.poll_script.pop(0)
            if isinstance(step, DeliveryError):
                raise step
            if step == "pending":
                return Pending(batch_id)
        ids = [m.decode() for m in _IDS.findall(self.stored[batch_id])]
        return BatchOutcome(
            batch_id=batch_id,
            status=BatchStatus.COMPLETE,
            record_outcomes=[RecordOutcome(message_id=m, status=self.status_for(m)) for m in ids],
        )

    def close(self) -> None:
        return None
