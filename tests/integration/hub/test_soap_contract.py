"""SubmitBatch / GetBatchOutcome over real mutual TLS with zeep (LDI-TRN-01, -05 … -07, §5)."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from zeep.exceptions import Fault

from hub.soap import response
from hub.synthetic import national_children, record_for
from ldi.models import ChildName, Record
from ldi.xmlcodec import to_element
from tests.fixtures.hub import (
    CASES,
    TODAY,
    RunningHub,
    fault_detail,
    make_batch,
    new_message_id,
    new_source_record_id,
    raw_fault,
)

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"


def _record(case: str, **kwargs: Any) -> Record:
    return record_for(
        CASES[case], message_id=new_message_id(), source_record_id=new_source_record_id(), **kwargs
    )


def _renamed(record: Record, given: str, family: str) -> Record:
    assert record.child is not None
    child = record.child.model_copy(
        update={"name": ChildName(given_name=given, family_name=family)}
    )
    return record.model_copy(update={"child": child})


def test_wsdl_is_served_pointing_at_the_hub(hub: RunningHub) -> None:
    """The WSDL at ?wsdl names the hub's own endpoint and imports the XSD from the hub."""
    reply = hub.session().get(f"{hub.endpoint}?wsdl", timeout=10)
    assert reply.status_code == 200
    root = etree.fromstring(reply.content)
    address = root.find(f".//{{{WSDL_SOAP}}}address")
    assert address is not None
    assert address.get("location") == hub.endpoint
    imported = root.find(f".//{{{XS}}}import")
    assert imported is not None
    location = imported.get("schemaLocation")
    assert location == f"{hub.endpoint}?xsd=ldi-v1.xsd"
    xsd = hub.session().get(location, timeout=10)
    assert xsd.status_code == 200
    assert etree.fromstring(xsd.content).get("targetNamespace") == "urn:contactpoint:ldi:1"


def test_seeded_cases_give_every_matching_outcome(hub: RunningHub) -> None:
    """Valid batch → receipt → Matched, NoMatch, MultipleMatch, Rejected for the seeded cases."""
    by_nhs = _record("by_nhs")
    # Step 3 after normalisation: no identifiers, "ZOE" / "O Brien" against "Zoë" / "O'Brien".
    by_name = _renamed(_record("by_name", with_identifiers=False), "ZOE", "O Brien")
    # Step 3 through the national record's former family name "Brontë".
    by_former = _renamed(_record("former_name", with_identifiers=False), "Harry", "Bronte")
    twins = _record("twin_1", with_identifiers=False)  # same DOB, surname, initial J
    twin_by_nhs = _record("twin_1")  # step 2 decides before step 3 can see the twin
    by_given_id = _record("by_name", contactpoint_id=CASES["by_name"].contactpoint_id)
    stranger = record_for(
        national_children(1, seed=424242, on=TODAY)[0],
        message_id=new_message_id(),
        source_record_id=new_source_record_id(),
    )
    assert by_nhs.child is not None
    bad_nhs = _record("by_nhs")
    bad_nhs = bad_nhs.model_copy(
        update={
            "child": bad_nhs.child.model_copy(update={"nhs_number": "9434765918"})
            if bad_nhs.child
            else None
        }
    )
    wrong_birth = _record("twin_1", contactpoint_id=CASES["by_nhs"].contactpoint_id)
    records = [
        by_nhs,
        by_name,
        by_former,
        twins,
        twin_by_nhs,
        by_given_id,
        stranger,
        bad_nhs,
        wrong_birth,
    ]
    batch = make_batch(*records)

    receipt = hub.submit(batch)
    assert receipt.batchId == batch.batch_id
    assert receipt.recordCount == len(records)
    outcomes = hub.outcomes_by_message(batch.batch_id)

    def check(record: Record, status: str, cp_id: str | None = None) -> Any:
        outcome = outcomes[record.message_id]
        assert outcome.status == status, record.source_record_id
        assert outcome.ContactPointId == cp_id
        return outcome

    check(by_nhs, "Matched", CASES["by_nhs"].contactpoint_id)
    check(by_name, "Matched", CASES["by_name"].contactpoint_id)
    check(by_former, "Matched", CASES["former_name"].contactpoint_id)
    assert check(twins, "MultipleMatch").CandidateCount == 2
    check(twin_by_nhs, "Matched", CASES["twin_1"].contactpoint_id)
    check(by_given_id, "Matched", CASES["by_name"].contactpoint_id)
    check(stranger, "NoMatch")
    rejected = check(bad_nhs, "Rejected")
    assert [b.Rule for b in rejected.Breach] == ["BR-05"]
    assert rejected.Breach[0].Path == "Record[8]/Child/NHSNumber"
    br09 = check(wrong_birth, "Rejected")
    assert [b.Rule for b in br09.Breach] == ["BR-09"]


def test_resubmitting_the_same_batch_returns_the_original_receipt(hub: RunningHub) -> None:
    """Same batch id and content → the original receipt, and nothing is processed again."""
    record = _record("by_nhs")
    batch = make_batch(record)
    first = hub.submit(batch)
    second = hub.submit(batch)
    assert (second.batchId, second.receivedAt, second.recordCount) == (
        first.batchId,
        first.receivedAt,
        first.recordCount,
    )
    # Processed once: a second processing would have made the record a Duplicate of itself.
    assert hub.outcomes_by_message(batch.batch_id)[record.message_id].status == "Matched"
    assert hub.admin.status()["batches"]  # the admin view still works
    view = hub.admin.batch(batch.batch_id)
    assert view is not None
    assert view["outcomes"] == {"Matched": 1}


def test_byte_identical_means_canonical_batch_not_envelope(hub: RunningHub) -> None:
    """The same SubmissionBatch in another envelope (prefix, header, spacing) is the same batch."""
    batch = make_batch(_record("by_name"))
    element = to_element(batch)
    first = hub.post_raw(
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        + etree.tostring(element)
        + b"</soap:Body></soap:Envelope>"
    )
    assert first.status_code == 200
    # Another envelope prefix, an empty Header, whitespace and an XML declaration: all outside
    # the SubmissionBatch element, so not part of its exclusive C14N.
    envelope = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<e:Header/>\n  <e:Body>" + etree.tostring(element) + b"</e:Body>\n</e:Envelope>"
    )
    second = hub.post_raw(envelope)
    assert second.status_code == 200
    receipts = [
        etree.fromstring(r.content).find(".//{urn:contactpoint:ldi:1}BatchReceipt")
        for r in (first, second)
    ]
    assert receipts[0] is not None
    assert receipts[1] is not None
    assert dict(receipts[0].attrib) == dict(receipts[1].attrib)
    view = hub.admin.batch(batch.batch_id)
    assert view is not None
    assert view["recordCount"] == 1


def test_changed_batch_under_the_same_id_is_batch_id_reused(hub: RunningHub) -> None:
    """Different content under a used batch id → BATCH_ID_REUSED (soap:Client, HTTP 500)."""
    batch = make_batch(_record("by_nhs"))
    hub.submit(batch)
    changed = make_batch(_record("by_nhs"), batch_id=batch.batch_id)
    with pytest.raises(Fault) as caught:
        hub.submit(changed)
    assert fault_detail(caught.value).code.value == "BATCH_ID_REUSED"
    reply = hub.post_raw(_envelope_of(changed))
    assert reply.status_code == 500
    assert raw_fault(reply)[0] == "soap:Client"


def test_unknown_batch_id_is_unauthorised(hub: RunningHub) -> None:
    """Polling a batch id this certificate never submitted gets UNAUTHORISED, not a 500."""
    with pytest.raises(Fault) as caught:
        hub.outcome("00000000-0000-4000-8000-000000000000")
    assert fault_detail(caught.value).code.value == "UNAUTHORISED"


def _envelope_of(batch: Any) -> bytes:
    # response() wraps any LDI element in a SOAP 1.1 envelope: the same shape as a request.
    return response(batch)
