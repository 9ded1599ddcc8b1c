"""SOAP 1.1 envelopes and LDI-TRN-05 faults, as bytes on the wire."""

from __future__ import annotations

import pytest
from lxml import etree

from hub.soap import (
    GET_BATCH_OUTCOME,
    fault,
    fault_response,
    parse_request,
    response,
)
from ldi.errors import HubError
from ldi.models import BatchReceipt, FaultCode
from ldi.schema import validate_tree

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
LIMIT = 5 * 1024 * 1024


def _envelope(body: str, header: str = "") -> bytes:
    return f'<s:Envelope xmlns:s="{ENV}">{header}<s:Body>{body}</s:Body></s:Envelope>'.encode()


def test_request_operation_is_the_body_element() -> None:
    """The Body's one element names the operation (document/literal)."""
    request = parse_request(
        _envelope('<BatchOutcomeRequest xmlns="urn:contactpoint:ldi:1" batchId="x"/>'),
        max_bytes=LIMIT,
    )
    assert request.operation == "GetBatchOutcome"
    assert request.element.tag == GET_BATCH_OUTCOME


@pytest.mark.parametrize(
    "body",
    [
        _envelope(""),
        _envelope("<a/><b/>"),
        _envelope('<Other xmlns="urn:contactpoint:ldi:1"/>'),
        f'<s:Envelope xmlns:s="{ENV}"/>'.encode(),
        _envelope(
            '<BatchOutcomeRequest xmlns="urn:contactpoint:ldi:1" batchId="x"/>',
            header='<s:Header><h xmlns="urn:x" s:mustUnderstand="1"/></s:Header>',
        ),
    ],
    ids=["empty-body", "two-elements", "unknown-element", "no-body", "must-understand"],
)
def test_malformed_envelopes_are_schema_invalid(body: bytes) -> None:
    """Anything but one known LDI element in a SOAP 1.1 Body is the caller's SCHEMA_INVALID."""
    with pytest.raises(HubError) as caught:
        parse_request(body, max_bytes=LIMIT)
    assert caught.value.code == "SCHEMA_INVALID"


def test_not_well_formed_gives_line_and_column() -> None:
    """The parser's position is passed on in the fault."""
    with pytest.raises(HubError) as caught:
        parse_request(b"<a>\n  <b></c></a>", max_bytes=LIMIT)
    assert caught.value.line == 2
    assert caught.value.column is not None


@pytest.mark.parametrize(
    ("code", "faultcode", "status"),
    [
        (FaultCode.SCHEMA_INVALID, "soap:Client", 500),
        (FaultCode.UNAUTHORISED, "soap:Client", 500),
        (FaultCode.BATCH_TOO_LARGE, "soap:Client", 500),
        (FaultCode.BATCH_ID_REUSED, "soap:Client", 500),
        (FaultCode.THROTTLED, "soap:Server", 503),
        (FaultCode.UNAVAILABLE, "soap:Server", 503),
    ],
)
def test_fault_codes_map_to_faultcode_and_http_status(
    code: FaultCode, faultcode: str, status: int
) -> None:
    """LDI-TRN-05: Client/Server side and HTTP status per code; detail validates against the XSD."""
    http, headers, body = fault_response(
        fault(code, "why", retry_after=4 if code is FaultCode.THROTTLED else None)
    )
    assert http == status
    assert headers == ({"Retry-After": "4"} if code is FaultCode.THROTTLED else {})
    root = etree.fromstring(body)
    assert root.findtext(f"{{{ENV}}}Body/{{{ENV}}}Fault/faultcode") == faultcode
    detail = root.find(f"{{{ENV}}}Body/{{{ENV}}}Fault/detail")
    assert detail is not None
    assert validate_tree(detail[0]) == []
    assert detail[0].findtext("{urn:contactpoint:ldi:1}Code") == code.value


def test_fault_message_fits_the_schema() -> None:
    """Long or multi-line messages are folded and cut to the XSD's 500 characters."""
    _, _, body = fault_response(fault(FaultCode.SCHEMA_INVALID, "x\n" * 600, line=3, column=0))
    detail = etree.fromstring(body).find(".//{urn:contactpoint:ldi:1}FaultDetail")
    assert detail is not None
    assert validate_tree(detail) == []
    assert 490 <= len(detail.findtext("{urn:contactpoint:ldi:1}Message") or "") <= 500
    assert detail.findtext("{urn:contactpoint:ldi:1}Line") == "3"
    assert detail.find("{urn:contactpoint:ldi:1}Column") is None  # 0 is not a column


def test_response_envelope_holds_the_ldi_element() -> None:
    """A response is a SOAP 1.1 Envelope whose Body holds the XSD-valid LDI element."""
    from datetime import UTC, datetime

    receipt = BatchReceipt(
        batch_id="6f1c2b0e-3d4a-4b5c-8d6e-7f8091a2b3c4",
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        record_count=1,
    )
    root = etree.fromstring(response(receipt))
    payload = root.find(f"{{{ENV}}}Body")[0]  # type: ignore[index]
    assert validate_tree(payload) == []
