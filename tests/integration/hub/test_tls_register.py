"""Mutual TLS and the accreditation register (LDI-TRN-02, LDI-TRN-03)."""

from __future__ import annotations

import pytest
import requests
from zeep.exceptions import Fault

from hub.synthetic import record_for
from ldi.models import SubmissionBatch
from tests.fixtures.hub import (
    CASES,
    OTHER_LA,
    OTHER_SOURCE,
    RunningHub,
    fault_detail,
    make_batch,
    new_message_id,
    new_source_record_id,
    raw_fault,
    tls_session,
)


def _batch(**kwargs: str) -> SubmissionBatch:
    record = record_for(
        CASES["by_nhs"], message_id=new_message_id(), source_record_id=new_source_record_id()
    )
    return make_batch(record, **kwargs)


def _probe_body() -> bytes:
    return b"<x/>"


def test_client_without_certificate_is_refused_at_the_tls_layer(hub: RunningHub) -> None:
    """A client presenting no certificate never gets an HTTP answer (LDI-TRN-02)."""
    session = tls_session(None, hub.pki.ca)
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"{hub.endpoint}?wsdl", timeout=10)


def test_certificate_from_another_ca_is_refused(hub: RunningHub) -> None:
    """The rogue CA's client certificate (same subject) fails the handshake."""
    session = tls_session(hub.pki.rogue_client, hub.pki.ca)
    with pytest.raises(requests.exceptions.ConnectionError):
        session.post(hub.endpoint, data=_probe_body(), timeout=10)


def test_client_that_does_not_trust_the_hub_ca_cannot_connect(hub: RunningHub) -> None:
    """A client verifying against another CA bundle refuses the hub's certificate."""
    session = tls_session(hub.pki.client, hub.pki.rogue_ca)
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{hub.endpoint}?wsdl", timeout=10)


def test_certificate_registered_for_another_la_is_unauthorised(hub: RunningHub) -> None:
    """LA 815's certificate submitting for LA 891 (or its own LA with a foreign source) fails."""
    with pytest.raises(Fault) as caught:
        hub.submit(_batch(), who="other_la")
    assert fault_detail(caught.value).code.value == "UNAUTHORISED"
    with pytest.raises(Fault) as caught:
        hub.submit(_batch(la=OTHER_LA, source="FWK891"), who="other_la")
    assert fault_detail(caught.value).code.value == "UNAUTHORISED"


def test_certificate_registered_for_its_own_la_is_accepted(hub: RunningHub) -> None:
    """The same LA 815 certificate submitting for LA 815 / CARE815 gets a receipt."""
    batch = _batch(la=OTHER_LA, source=OTHER_SOURCE)
    receipt = hub.submit(batch, who="other_la")
    assert receipt.batchId == batch.batch_id


def test_unregistered_certificate_from_the_right_ca_is_unauthorised(hub: RunningHub) -> None:
    """A CA-valid certificate absent from the register gets UNAUTHORISED (soap:Client)."""
    with pytest.raises(Fault) as caught:
        hub.submit(_batch(), who="unregistered")
    assert fault_detail(caught.value).code.value == "UNAUTHORISED"
    reply = hub.post_raw(_probe_body(), who="unregistered")
    assert reply.status_code == 500
    code, detail = raw_fault(reply)
    assert (code, detail.code.value) == ("soap:Client", "UNAUTHORISED")


def test_another_la_cannot_poll_a_batch(hub: RunningHub) -> None:
    """GetBatchOutcome for LA 891's batch with LA 815's certificate is UNAUTHORISED."""
    batch = _batch()
    hub.submit(batch)
    with pytest.raises(Fault) as caught:
        hub.outcome(batch.batch_id, who="other_la")
    assert fault_detail(caught.value).code.value == "UNAUTHORISED"
