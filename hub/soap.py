"""SOAP 1.1 document/literal: reading request envelopes, writing responses and faults.

A fault is LDI-TRN-05 exactly: ``soap:Client`` for the caller's errors, ``soap:Server`` for the
hub's, and a ``detail`` holding one ``FaultDetail`` (built from :class:`ldi.models.FaultDetail`
by :mod:`ldi.xmlcodec`, so it validates against the XSD). HTTP status: 503 for ``THROTTLED``
(with a ``Retry-After`` header) and ``UNAVAILABLE``, 500 for every other fault, as SOAP 1.1
section 6.2 requires.

The envelope is parsed by :func:`ldi.safexml.parse_bytes`: a DTD or entity is refused before
anything else looks at the document (TA-SEC-03). Refusals become ``SCHEMA_INVALID`` faults with
line and column where the parser gives them, never a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lxml import etree

from ldi import NAMESPACE
from ldi.errors import HubError, InputError, NotWellFormed
from ldi.models import FaultCode, FaultDetail, LdiModel
from ldi.safexml import parse_bytes
from ldi.xmlcodec import serialise, to_element

SOAP_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV: Final = "http://www.w3.org/2003/05/soap-envelope"
_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
_HEADER = f"{{{SOAP_ENV}}}Header"
_BODY = f"{{{SOAP_ENV}}}Body"
_MUST_UNDERSTAND = f"{{{SOAP_ENV}}}mustUnderstand"
_LDI = "{" + NAMESPACE + "}"

SUBMIT_BATCH: Final = _LDI + "SubmissionBatch"
GET_BATCH_OUTCOME: Final = _LDI + "BatchOutcomeRequest"
OPERATIONS: Final = {SUBMIT_BATCH: "SubmitBatch", GET_BATCH_OUTCOME: "GetBatchOutcome"}

#: Codes that are the hub's fault rather than the caller's (LDI-TRN-05).
_SERVER_CODES: Final = frozenset({FaultCode.THROTTLED.value, FaultCode.UNAVAILABLE.value})
_MESSAGE_MAX = 500  # FaultDetail/Message is MessageText: 1..500 characters


@dataclass(frozen=True, slots=True)
class SoapRequest:
    """A parsed request: its operation and the body's one child element."""

    operation: str
    element: etree._Element


def fault(
    code: FaultCode,
    message: str,
    *,
    line: int | None = None,
    column: int | None = None,
    retry_after: int | None = None,
) -> HubError:
    """A HubError carrying an LDI fault code (the one way this package refuses a request)."""
    return HubError(message, code=code.value, line=line, column=column, retry_after=retry_after)


def parse_request(body: bytes, *, max_bytes: int) -> SoapRequest:
    """The operation and payload element of a SOAP 1.1 request, or a SCHEMA_INVALID HubError."""
    try:
        tree = parse_bytes(body, source="request", max_bytes=max_bytes)
    except NotWellFormed as exc:
        raise fault(
            FaultCode.SCHEMA_INVALID,
            "request is not well-formed XML",
            line=exc.line,
            column=exc.column,
        ) from exc
    except InputError as exc:  # UnsafeXml: a DTD or an entity (TA-SEC-03)
        raise fault(
            FaultCode.SCHEMA_INVALID,
            "request declares a DTD or entity; DTDs are refused (TA-SEC-03)",
        ) from exc
    root = tree.getroot()
    if root.tag != _ENVELOPE:
        if root.tag == f"{{{SOAP12_ENV}}}Envelope":
            message = "SOAP 1.2 envelope; LDI 1.0 is SOAP 1.1 (LDI-TRN-01)"
        else:
            message = "request is not a SOAP 1.1 Envelope (LDI-TRN-01)"
        raise fault(FaultCode.SCHEMA_INVALID, message, line=root.sourceline, column=1)
    body_element: etree._Element | None = None
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if child.tag == _HEADER and body_element is None:
            _check_headers(child)
        elif child.tag == _BODY and body_element is None:
            body_element = child
        else:
            raise fault(
                FaultCode.SCHEMA_INVALID,
                "unexpected element in the SOAP Envelope",
                line=child.sourceline,
                column=1,
            )
    if body_element is None:
        raise fault(
            FaultCode.SCHEMA_INVALID, "SOAP Envelope has no Body", line=root.sourceline, column=1
        )
    payload = [c for c in body_element if isinstance(c.tag, str)]
    if len(payload) != 1:
        raise fault(
            FaultCode.SCHEMA_INVALID,
            "SOAP Body must hold exactly one element (document/literal)",
            line=body_element.sourceline,
            column=1,
        )
    element = payload[0]
    operation = OPERATIONS.get(str(element.tag))
    if operation is None:
        raise fault(
            FaultCode.SCHEMA_INVALID,
            f"SOAP Body element is not an LDI 1.0 request in namespace {NAMESPACE}",
            line=element.sourceline,
            column=1,
        )
    return SoapRequest(operation=operation, element=element)


def _check_headers(header: etree._Element) -> None:
    """LDI defines no header: one the caller marks mustUnderstand cannot be honoured."""
    for entry in header:
        if isinstance(entry.tag, str) and entry.get(_MUST_UNDERSTAND) in ("1", "true"):
            raise fault(
                FaultCode.SCHEMA_INVALID,
                "a SOAP header marked mustUnderstand is not understood (LDI defines none)",
                line=entry.sourceline,
                column=1,
            )


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(_ENVELOPE, nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, _BODY)
    return envelope, body


def response(model: LdiModel) -> bytes:
    """A SOAP 1.1 response envelope around one LDI element."""
    return element_response(to_element(model))


def element_response(element: etree._Element) -> bytes:
    """:func:`response` for an LDI element built already (as :func:`to_element` builds it)."""
    envelope, body = _envelope()
    body.append(element)
    return serialise(envelope)


def fault_detail(error: HubError) -> FaultDetail:
    """The FaultDetail of an error: message trimmed to the schema's 500 characters."""
    message = " ".join(error.message.split())[:_MESSAGE_MAX].strip() or error.code
    return FaultDetail(
        code=FaultCode(error.code),
        message=message,
        line=error.line if error.line and error.line > 0 else None,
        column=error.column if error.column and error.column > 0 else None,
        retry_after_seconds=error.retry_after,
    )


def http_status(code: str) -> int:
    """HTTP status of a fault (LDI-TRN-05): 503 for THROTTLED and UNAVAILABLE, else 500."""
    return 503 if code in _SERVER_CODES else 500


def fault_response(error: HubError) -> tuple[int, dict[str, str], bytes]:
    """HTTP status, extra headers and body of the SOAP fault for ``error``."""
    detail = fault_detail(error)
    envelope, body = _envelope()
    soap_fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    side = "Server" if error.code in _SERVER_CODES else "Client"
    etree.SubElement(soap_fault, "faultcode").text = f"soap:{side}"
    etree.SubElement(soap_fault, "faultstring").text = f"{detail.code.value}: {detail.message}"
    etree.SubElement(soap_fault, "detail").append(to_element(detail))
    headers: dict[str, str] = {}
    if error.code == FaultCode.THROTTLED.value and error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return http_status(error.code), headers, serialise(envelope)
