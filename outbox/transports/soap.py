"""LDI web-service transport (LDI-TRN-01…07): SOAP 1.1 over mutual TLS, with zeep.

What zeep does here, and what it does not
    zeep reads the shipped WSDL (the SOAPAction of each operation, the binding), owns the HTTP
    transport (a ``requests`` session with our TLS settings and time-outs) and decodes SOAP
    faults (``Soap11Binding.process_error``). It does *not* serialise the batch: LDI-TRN-06 makes
    a resubmission safe only when its bytes are identical, so the stored batch document is put
    into the envelope verbatim, and the envelope around it is a constant. Replies are parsed
    with the hardened parser and the contract's own codec (:mod:`ldi.xmlcodec`), which is also
    far faster than zeep's object model for 1,000 outcomes.

TLS (LDI-TRN-02)
    Client certificate and key from config, TLS 1.2 or later, the hub's certificate verified
    against the configured CA bundle *and* the host name. There is no switch to turn
    verification off, and a missing CA bundle is a configuration error, never a fallback.

Errors are translated here, once: time-outs and dropped connections → ``TIMEOUT`` /
``CONNECTION`` (retry); SOAP faults → their ``FaultDetail`` code with ``Retry-After``; a refused
or unverifiable TLS peer → ``TLS_REFUSED`` (halt: configuration, not the batch).
"""

from __future__ import annotations

import logging
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import requests
import zeep
import zeep.exceptions
from lxml import etree
from requests.adapters import HTTPAdapter

from adapter.config import DeliveryConfig, TlsConfig
from ldi import NAMESPACE
from ldi.errors import ConfigError, DeliveryError, InputError
from ldi.models import (
    BatchOutcome,
    BatchOutcomeRequest,
    BatchReceipt,
    BatchStatus,
    FaultDetail,
    LdiModel,
)
from ldi.safexml import parse_bytes
from ldi.schema import wsdl_path
from ldi.xmlcodec import from_element, to_element
from outbox import retry
from outbox.transports.base import Pending, resolve

M = TypeVar("M", bound=LdiModel)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_ENVELOPE_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<soap:Envelope xmlns:soap="' + SOAP_ENV.encode() + b'"><soap:Body>'
)
_ENVELOPE_TAIL = b"</soap:Body></soap:Envelope>"
_BODY = "{" + SOAP_ENV + "}Body"
_RESPONSE_MAX_BYTES = 64 * 1024 * 1024
MAX_REQUEST_BYTES = 5 * 1024 * 1024  # LDI-TRN-04
MAX_REQUEST_RECORDS = 1000  # LDI-TRN-04

# zeep logs whole request and response bodies at DEBUG; those hold personal data (TA-SEC-01).
logging.getLogger("zeep").setLevel(logging.INFO)


def envelope(document: bytes) -> bytes:
    """Wrap an LDI document, byte for byte, in a SOAP 1.1 envelope (XML declaration dropped)."""
    body = document
    if body.startswith(b"<?xml"):
        body = body[body.index(b"?>") + 2 :].lstrip()
    return _ENVELOPE_HEAD + body + _ENVELOPE_TAIL


class _TlsAdapter(HTTPAdapter):
    """A requests adapter that uses our SSL context (TLS ≥ 1.2, client certificate, CA)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(pool_connections=1, pool_maxsize=2)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def tls_context(tls: TlsConfig, *, base: Path) -> ssl.SSLContext:
    """The client's SSL context: verify the hub by CA and host name; present our certificate."""
    ca = resolve(base, tls.ca_bundle)
    certificate, key = resolve(base, tls.client_certificate), resolve(base, tls.client_key)
    for what, path in (("CA bundle", ca), ("client certificate", certificate), ("key", key)):
        if not path.is_file():
            raise ConfigError(f"{what} {path} not found", location="delivery.tls")
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
        context.load_cert_chain(str(certificate), str(key))
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"cannot load the CA bundle, client certificate or key ({exc.__class__.__name__})",
            location="delivery.tls",
        ) from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _tls_refusal(exc: BaseException) -> bool:
    """True if an SSL error means "this peer is not trusted / refused us", not a dropped line."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if isinstance(seen, ssl.SSLError) and "alert" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
        if seen is exc:
            break
    text = str(exc).lower()
    return "certificate verify failed" in text or "alert" in text


class SoapTransport:
    """LDI web service over mutual TLS. Build it with :func:`open_soap`."""

    max_records = MAX_REQUEST_RECORDS
    max_bytes = MAX_REQUEST_BYTES

    def __init__(self, endpoint: str, context: ssl.SSLContext, ca_bundle: Path, timeout: float):
        if not endpoint.startswith("https://"):
            raise ConfigError("the hub endpoint must be https:// (LDI-TRN-02)", location="delivery")
        self._endpoint = endpoint
        session = requests.Session()
        session.verify = str(ca_bundle)
        session.trust_env = False  # no proxy or CA bundle from the environment
        session.mount("https://", _TlsAdapter(context))
        self._session = session
        # zeep ships without complete annotations; its objects are handled as Any here.
        self._zeep_transport: Any = zeep.Transport(  # type: ignore[no-untyped-call]
            session=session, timeout=timeout, operation_timeout=timeout
        )
        client: Any = zeep.Client(  # type: ignore[no-untyped-call]
            str(wsdl_path()), transport=self._zeep_transport
        )
        self._binding: Any = client.wsdl.bindings[etree.QName(NAMESPACE, "LdiSoapBinding").text]
        self._operations: dict[str, Any] = {
            name: self._binding.get(name) for name in ("SubmitBatch", "GetBatchOutcome")
        }

    # ----- the Transport interface -----

    def submit(self, batch_xml: bytes, batch_id: str) -> BatchReceipt:
        """SubmitBatch with the stored bytes verbatim; the receipt, or a translated error."""
        receipt = self._call("SubmitBatch", envelope(batch_xml), BatchReceipt)
        if receipt.batch_id != batch_id:
            raise retry.error_for(retry.BAD_RESPONSE, "receipt names another batch id")
        return receipt

    def get_outcome(self, batch_id: str) -> BatchOutcome | Pending:
        """GetBatchOutcome; Pending until the hub reports Complete."""
        request = etree.tostring(to_element(BatchOutcomeRequest(batch_id=batch_id)))
        outcome = self._call("GetBatchOutcome", envelope(request), BatchOutcome)
        if outcome.batch_id != batch_id:
            raise retry.error_for(retry.BAD_RESPONSE, "outcome names another batch id")
        if outcome.status is BatchStatus.PENDING:
            return Pending(batch_id)
        return outcome

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    # ----- HTTP and SOAP -----

    def _call(self, operation: str, body: bytes, expected: type[M]) -> M:
        headers = {
            "Content-Type": 'text/xml; charset="utf-8"',
            "SOAPAction": f'"{self._operations[operation].soapaction}"',
        }
        try:
            response = self._zeep_transport.post(self._endpoint, body, headers)
            content = response.content
        except requests.exceptions.SSLError as exc:
            if _tls_refusal(exc):
                raise retry.error_for(
                    retry.TLS_REFUSED,
                    "TLS handshake with the hub failed: certificate not trusted, host name "
                    "mismatch, or our certificate refused (LDI-TRN-02)",
                ) from exc
            raise retry.error_for(retry.CONNECTION, "the TLS connection was dropped") from exc
        except requests.exceptions.Timeout as exc:
            raise retry.error_for(retry.TIMEOUT, f"{operation} timed out") from exc
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            raise retry.error_for(retry.CONNECTION, f"{operation}: connection dropped") from exc
        if response.status_code == 200:
            return self._parse_body(content, expected)
        raise self._failure(operation, response.status_code, response.headers, content)

    def _parse_body(self, content: bytes, expected: type[M]) -> M:
        try:
            root = parse_bytes(content, source="hub reply", max_bytes=_RESPONSE_MAX_BYTES)
            body = root.getroot().find(_BODY)
            if body is None or len(body) == 0:
                raise retry.error_for(retry.BAD_RESPONSE, "the reply has no SOAP body")
            return from_element(body[0], expected)
        except InputError as exc:
            raise retry.error_for(
                retry.BAD_RESPONSE, f"the reply is not a valid {expected.__name__} ({exc.code})"
            ) from exc

    def _failure(self, operation: str, status: int, headers: Any, content: bytes) -> DeliveryError:
        retry_after = _retry_after(headers.get("Retry-After"))
        detail = self._fault_detail(operation, content)
        if detail is not None:
            wait = retry_after if retry_after is not None else detail.retry_after_seconds
            where = f" (line {detail.line}, column {detail.column})" if detail.line else ""
            return retry.error_for(
                detail.code.value,
                f"{operation}: hub fault {detail.code.value}{where}: {detail.message}"[:500],
                retry_after=float(wait) if wait is not None else None,
            )
        code = retry.HTTP_5XX if status >= 500 else retry.HTTP_4XX
        return retry.error_for(
            code, f"{operation}: HTTP {status} without a SOAP fault", retry_after=retry_after
        )

    def _fault_detail(self, operation: str, content: bytes) -> FaultDetail | None:
        try:
            document = parse_bytes(content, source="hub fault", max_bytes=_RESPONSE_MAX_BYTES)
            self._binding.process_error(document.getroot(), self._operations[operation])
        except zeep.exceptions.Fault as fault:
            detail = fault.detail
            if not isinstance(detail, etree._Element):
                return None
            element = detail.find("{" + NAMESPACE + "}FaultDetail")
            if element is None:
                return None
            try:
                return from_element(element, FaultDetail)
            except InputError:
                return None
        except InputError:
            return None
        return None


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds form; an HTTP date is read as well)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def open_soap(delivery: DeliveryConfig, *, base: Path) -> SoapTransport:
    """Entry point ``soap``: the web-service transport from ``delivery``."""
    context = tls_context(delivery.tls, base=base)
    return SoapTransport(
        delivery.endpoint,
        context,
        resolve(base, delivery.tls.ca_bundle),
        delivery.timeout_seconds,
    )
