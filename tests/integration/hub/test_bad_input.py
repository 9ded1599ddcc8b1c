"""Hostile or broken requests get the right LDI fault, never a stack trace, and the hub goes on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree

from hub.soap import response
from hub.synthetic import record_for
from ldi.models import Record
from ldi.xmlcodec import to_element
from tests.fixtures.hub import (
    CASES,
    RunningHub,
    make_batch,
    new_message_id,
    new_source_record_id,
    raw_fault,
)

ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def _record() -> Record:
    return record_for(
        CASES["by_nhs"], message_id=new_message_id(), source_record_id=new_source_record_id()
    )


def _wrap(payload: bytes) -> bytes:
    return (
        f'<soap:Envelope xmlns:soap="{ENV}"><soap:Body>'.encode()
        + payload
        + b"</soap:Body></soap:Envelope>"
    )


def _valid_payload() -> bytes:
    return etree.tostring(to_element(make_batch(_record())))


DTD = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
    + _wrap(b"<x>&lol2;</x>")
)
SIX_MIB = _wrap(b"<x>" + b"a" * (6 * 1024 * 1024) + b"</x>")
WRONG_NAMESPACE = _wrap(_valid_payload().replace(b"urn:contactpoint:ldi:1", b"urn:example:other"))


@pytest.mark.parametrize(
    ("body", "code", "located"),
    [
        pytest.param(b"this is not XML at all", "SCHEMA_INVALID", True, id="not-xml"),
        pytest.param(b"<soap:Envelope", "SCHEMA_INVALID", True, id="truncated"),
        pytest.param(DTD, "SCHEMA_INVALID", False, id="dtd"),
        pytest.param(SIX_MIB, "BATCH_TOO_LARGE", False, id="6-mib"),
        pytest.param(WRONG_NAMESPACE, "SCHEMA_INVALID", True, id="wrong-namespace"),
        pytest.param(_valid_payload(), "SCHEMA_INVALID", True, id="no-envelope"),
        pytest.param(b"", "SCHEMA_INVALID", False, id="empty"),
        pytest.param(
            _wrap(_valid_payload()).replace(
                ENV.encode(), b"http://www.w3.org/2003/05/soap-envelope"
            ),
            "SCHEMA_INVALID",
            True,
            id="soap-1.2",
        ),
    ],
)
def test_bad_input_gets_the_right_fault_and_the_hub_keeps_serving(
    hub: RunningHub, body: bytes, code: str, located: bool
) -> None:
    """Not XML, a DTD, 6 MiB, wrong namespace, no envelope: an LDI fault, then business as usual."""
    reply = hub.post_raw(body)
    assert reply.status_code == 500
    assert reply.headers["Content-Type"].startswith("text/xml")
    assert b"Traceback" not in reply.content
    faultcode, detail = raw_fault(reply)
    assert (faultcode, detail.code.value) == ("soap:Client", code)
    if located:
        assert detail.line is not None
    batch = make_batch(_record())
    assert hub.submit(batch).batchId == batch.batch_id


def test_schema_failure_names_line_and_column(hub: RunningHub) -> None:
    """An XSD failure is SCHEMA_INVALID with the offending element's line and column."""
    payload = etree.tostring(to_element(make_batch(_record())), pretty_print=True)
    lines = payload.decode().splitlines()
    bad = next(i for i, line in enumerate(lines) if "<Gender>" in line)
    lines[bad] = lines[bad].replace("Female", "Girl")
    body = (
        (f'<soap:Envelope xmlns:soap="{ENV}">\n<soap:Body>\n').encode()
        + "\n".join(lines).encode()
        + b"\n</soap:Body></soap:Envelope>"
    )
    reply = hub.post_raw(body)
    _, detail = raw_fault(reply)
    assert detail.code.value == "SCHEMA_INVALID"
    assert detail.line == bad + 3  # two envelope lines precede the batch
    assert detail.column == lines[bad].index("<Gender>") + 1
    assert "Girl" not in detail.message, "schema messages never echo values"


def test_more_than_1000_records_is_batch_too_large(hub: RunningHub) -> None:
    """1,001 records in one request → BATCH_TOO_LARGE, although well under 5 MiB."""
    record = _record()
    records = [record.model_copy(update={"message_id": f"{i:032x}"}) for i in range(1001)]
    body = response(make_batch(*records))
    assert len(body) < 5 * 1024 * 1024
    _, detail = raw_fault(hub.post_raw(body))
    assert detail.code.value == "BATCH_TOO_LARGE"


def test_other_paths_and_methods_answer_cleanly(hub: RunningHub) -> None:
    """Unknown paths get 404 and other methods 405, as JSON; the hub keeps serving."""
    session = hub.session()
    assert session.get(f"{hub.url}/nothing-here", timeout=10).status_code == 404
    assert session.put(hub.endpoint, data=b"x", timeout=10).status_code == 405
    assert session.get(hub.endpoint, timeout=10).status_code == 404
    assert hub.session().get(f"{hub.endpoint}?wsdl", timeout=10).status_code == 200


def test_chunked_requests_are_read_and_limited(hub: RunningHub) -> None:
    """A chunked body is accepted; a chunked body over 5 MiB gets BATCH_TOO_LARGE."""
    batch = make_batch(_record())
    body = response(batch)

    def chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
        for start in range(0, len(data), size):
            yield data[start : start + size]

    reply = hub.post_raw(b"", data_override=chunks(body))
    assert reply.status_code == 200
    assert b"BatchReceipt" in reply.content
    big = hub.post_raw(b"", data_override=chunks(SIX_MIB, 256 * 1024))
    _, detail = raw_fault(big)
    assert detail.code.value == "BATCH_TOO_LARGE"
