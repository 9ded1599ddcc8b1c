"""Each deliberate fault, switched on through the admin endpoint, is seen by a real client."""

from __future__ import annotations

import time

import pytest
import requests
from zeep.exceptions import Fault

from hub.soap import response
from hub.synthetic import record_for
from ldi.models import BatchOutcomeRequest, SubmissionBatch
from tests.fixtures.hub import (
    CASES,
    SOURCE,
    RunningHub,
    fault_detail,
    make_batch,
    new_message_id,
    new_source_record_id,
    raw_fault,
)


def _batch(records: int = 1) -> SubmissionBatch:
    return make_batch(
        *(
            record_for(
                CASES["by_nhs"],
                message_id=new_message_id(),
                source_record_id=new_source_record_id(),
            )
            for _ in range(records)
        )
    )


def test_throttled_carries_retry_after(hub: RunningHub) -> None:
    """Over the records/second limit → THROTTLED, HTTP 503, Retry-After header and detail."""
    hub.admin.misbehave(records_per_second=2)
    hub.submit(_batch(2))  # the bucket starts full: two records pass
    with pytest.raises(Fault) as caught:
        hub.submit(_batch(2))
    detail = fault_detail(caught.value)
    assert detail.code.value == "THROTTLED"
    assert detail.retry_after_seconds is not None
    assert detail.retry_after_seconds >= 1
    reply = hub.post_raw(response(_batch(2)))
    assert reply.status_code == 503
    code, raw = raw_fault(reply)
    assert code == "soap:Server"
    assert reply.headers["Retry-After"] == str(raw.retry_after_seconds)


def test_unavailable(hub: RunningHub) -> None:
    """unavailable_probability 1 → UNAVAILABLE, soap:Server, HTTP 503; nothing stored."""
    hub.admin.misbehave(unavailable_probability=1.0)
    batch = _batch()
    with pytest.raises(Fault) as caught:
        hub.submit(batch)
    assert fault_detail(caught.value).code.value == "UNAVAILABLE"
    reply = hub.post_raw(response(batch))
    assert reply.status_code == 503
    assert raw_fault(reply)[0] == "soap:Server"
    assert "Retry-After" not in reply.headers
    assert hub.admin.batch(batch.batch_id) is None


def test_added_latency(hub: RunningHub) -> None:
    """latency_ms delays every SOAP answer by at least that long."""
    batch = _batch()
    hub.submit(batch)
    hub.admin.misbehave(latency_ms=400)
    started = time.monotonic()
    assert hub.outcome(batch.batch_id).status == "Complete"
    assert time.monotonic() - started >= 0.4


def test_hang_makes_the_client_time_out_and_stores_nothing(hub: RunningHub) -> None:
    """hang_probability 1: no answer within the client's time-out, and the batch is not stored."""
    hub.admin.misbehave(hang_probability=1.0, hang_seconds=2)
    batch = _batch()
    client = hub.zeep(timeout=0.5)
    with pytest.raises(requests.exceptions.Timeout):
        client.service.SubmitBatch(
            **batch.model_dump(mode="json", by_alias=True, exclude_none=True)
        )
    assert hub.admin.batch(batch.batch_id) is None


def test_lost_receipt_leaves_the_batch_stored_and_processed_once(hub: RunningHub) -> None:
    """Connection dropped after storing: resubmission gets the original receipt, no re-apply."""
    hub.admin.misbehave(drop_after_store_probability=1.0)
    batch = _batch(3)
    with pytest.raises(requests.exceptions.ConnectionError):
        hub.submit(batch)
    stored = hub.admin.batch(batch.batch_id)
    assert stored is not None
    assert (stored["status"], stored["outcomes"]) == ("Complete", {"Matched": 3})

    receipt = hub.submit(batch)  # same id, same content: not a new store, so not dropped
    assert receipt.batchId == batch.batch_id
    assert receipt.receivedAt.isoformat() == stored["receivedAt"]
    outcomes = hub.outcomes_by_message(batch.batch_id)
    assert {o.status for o in outcomes.values()} == {"Matched"}
    for record in batch.records:
        assert hub.admin.contribution(SOURCE, record.source_record_id)["messageId"] == (
            record.message_id
        )
    # An adapter that resends the records under a new batch id gets Duplicate (TA-REL-02).
    hub.admin.reset()
    again = make_batch(*batch.records)
    hub.submit(again)
    statuses = {o.status for o in hub.outcomes_by_message(again.batch_id).values()}
    assert statuses == {"Duplicate"}


def test_outcome_stays_pending_for_n_polls(hub: RunningHub) -> None:
    """pending_polls 2: the first two polls say Pending, the third Complete."""
    hub.admin.misbehave(pending_polls=2)
    batch = _batch()
    hub.submit(batch)
    statuses = [hub.outcome(batch.batch_id).status for _ in range(3)]
    assert statuses == ["Pending", "Pending", "Complete"]


def test_faults_are_reproducible_with_a_seed(hub: RunningHub) -> None:
    """The same seed gives the same sequence of UNAVAILABLE answers; another seed does not."""
    batch = _batch()
    hub.submit(batch)
    body = response(BatchOutcomeRequest(batch_id=batch.batch_id))

    session = hub.session()
    headers = {"Content-Type": "text/xml; charset=utf-8"}

    def pattern(seed: int) -> list[int]:
        hub.admin.misbehave(unavailable_probability=0.5, seed=seed)
        return [
            session.post(hub.endpoint, data=body, headers=headers, timeout=10).status_code
            for _ in range(16)
        ]

    first = pattern(7)
    assert set(first) == {200, 503}
    assert pattern(7) == first
    assert pattern(8) != first
