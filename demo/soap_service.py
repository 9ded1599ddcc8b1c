"""The demo child health system's SOAP web service: paged "children changed since".

Health and early-years systems expose their data through SOAP APIs, not databases; this module
is a small one that behaves like them, so the adapter's SOAP connector is tested against a real
wire protocol: SOAP 1.1 document/literal described by a WSDL (``demo/wsdl/health.wsdl``, served
at ``<url>?wsdl`` with its schema at ``<url>?xsd=health.xsd``), one operation
``GetChildrenChangedSince(since?, pageToken?, pageSize?)``, optional WS-Security UsernameToken
(PasswordText or PasswordDigest), over HTTP or HTTPS, optionally requiring a client certificate.

Answers hold case information (``ClinicalNotes``, ``SafeguardingConcern``,
``ReasonForReferral``) exactly as a real system's would; keeping it out of ContactPoint is the
adapter's job.

Paging is by key set, not offset: a page token encodes the (last-modified, child id) of the last
child served, and the next page starts after it in that order. Children whose record changes
while a client pages through therefore move to the end instead of shifting every later page, and
the token needs no server-side state. ``since`` is inclusive (changed at or after it), as most
such APIs are, because an exclusive bound loses records written in the same second as the
watermark.

Why the standard library (``http.server.ThreadingHTTPServer`` + ``ssl``) and not a SOAP server
framework: this is a demo and test fixture with one operation; the stdlib starts in milliseconds
inside a pytest process, serves HTTPS with the dev PKI, and adds no dependency to the product.
It is not a server for untrusted networks, so it binds to loopback only. Its robustness
guarantees are the ones the tests need: every request gets a SOAP answer (malformed XML, a DTD,
an unknown operation, a bad token, an oversized body or an internal error all become SOAP
faults, never a stack trace), a stalled client is dropped after a socket time-out, and a failed
TLS handshake ends only that connection.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import signal
import ssl
import sys
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from demo.health_records import HealthRecord, health_records, read_records
from demo.population import DemoChild, generate_population
from ldi.errors import InputError

__all__ = [
    "CHIS_NS",
    "MAX_PAGE_SIZE",
    "SERVICE_PATH",
    "HealthService",
    "ServerTls",
    "main",
    "serve_health_service",
]

logger = logging.getLogger(__name__)

CHIS_NS = "urn:demo:chis:children:1"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST_TYPE_SUFFIX = "#PasswordDigest"

SERVICE_PATH = "/health/v1"
XSD_NAME = "health.xsd"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
MAX_REQUEST_BYTES = 256 * 1024  # a request is a few hundred bytes; anything big is an attack
DIGEST_FRESHNESS = timedelta(minutes=5)
LOOPBACK_NAMES = ("localhost",)


# --------------------------------------------------------------------------- faults


class SoapFault(Exception):
    """A SOAP 1.1 fault to send back; ``code`` is a QName in the soap or wsse prefix."""

    def __init__(self, code: str, message: str, *, status: int = 500) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _client_fault(message: str, *, status: int = 500) -> SoapFault:
    return SoapFault("soap:Client", message, status=status)


def _auth_fault(message: str) -> SoapFault:
    # WS-Security 1.1, section 12: the token could not be authenticated.
    return SoapFault("wsse:FailedAuthentication", message)


def fault_envelope(fault: SoapFault) -> bytes:
    """The SOAP 1.1 envelope carrying ``fault`` (text only: no detail, no stack)."""
    envelope = etree.Element(
        f"{{{SOAP11_ENV}}}Envelope", nsmap={"soap": SOAP11_ENV, "wsse": WSSE_NS}
    )
    body = etree.SubElement(envelope, f"{{{SOAP11_ENV}}}Body")
    node = etree.SubElement(body, f"{{{SOAP11_ENV}}}Fault")
    etree.SubElement(node, "faultcode").text = fault.code
    etree.SubElement(node, "faultstring").text = fault.message
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


# --------------------------------------------------------------------------- data and paging


def _sort_key(record: HealthRecord) -> tuple[datetime, str]:
    return (record.last_modified, record.child_id)


class _Catalogue:
    """The records in page order, immutable; swapped whole when the data changes."""

    def __init__(self, records: Sequence[HealthRecord]) -> None:
        self.records = sorted(records, key=_sort_key)
        self.keys = [_sort_key(r) for r in self.records]

    def page(
        self, since: datetime | None, after: tuple[datetime, str] | None, size: int
    ) -> tuple[list[HealthRecord], tuple[datetime, str] | None]:
        """Up to ``size`` records changed at/after ``since`` and past ``after``, and the next."""
        start = 0 if since is None else bisect_left(self.keys, (since, ""))
        if after is not None:
            start = max(start, bisect_right(self.keys, after))
        items = self.records[start : start + size]
        more = start + size < len(self.records)
        return items, (_sort_key(items[-1]) if items and more else None)


def encode_token(position: tuple[datetime, str]) -> str:
    """An opaque page token for the key-set position after which the next page starts."""
    raw = f"{position[0].isoformat()}|{position[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(token: str) -> tuple[datetime, str]:
    """The position in a token from :func:`encode_token`; a client fault for anything else."""
    try:
        stamp, _, child = base64.urlsafe_b64decode(token.encode("ascii")).decode().partition("|")
        position = datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise _client_fault("pageToken is not a token this service issued") from exc
    if position.tzinfo is None or not child:
        raise _client_fault("pageToken is not a token this service issued")
    return position, child


# --------------------------------------------------------------------------- XML answer


def _text(parent: etree._Element, name: str, value: object | None) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat()
    else:
        text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    etree.SubElement(parent, f"{{{CHIS_NS}}}{name}").text = text


def _child_element(parent: etree._Element, record: HealthRecord) -> None:
    child = etree.SubElement(parent, f"{{{CHIS_NS}}}Child")
    _text(child, "ChildId", record.child_id)
    _text(child, "NHSNumber", record.nhs_number)
    _text(child, "GivenName", record.given_name)
    _text(child, "MiddleNames", record.middle_names)
    _text(child, "FamilyName", record.family_name)
    _text(child, "PreviousFamilyName", record.previous_family_name)
    _text(child, "DateOfBirth", record.date_of_birth)
    _text(child, "Gender", record.gender)
    _text(child, "DateOfDeath", record.date_of_death)
    _text(child, "RestrictedRecord", record.restricted)
    if record.address is not None:
        address = etree.SubElement(child, f"{{{CHIS_NS}}}Address")
        for line in record.address.lines:
            _text(address, "Line", line)
        _text(address, "Town", record.address.town)
        _text(address, "Postcode", record.address.postcode)
        _text(address, "UPRN", record.address.uprn)
    if record.gp_ods is not None:
        practice = etree.SubElement(child, f"{{{CHIS_NS}}}GPPractice")
        _text(practice, "OdsCode", record.gp_ods)
        _text(practice, "Name", record.gp_name or "")
    involvements = etree.SubElement(child, f"{{{CHIS_NS}}}Involvements")
    for item in record.involvements:
        node = etree.SubElement(involvements, f"{{{CHIS_NS}}}Involvement")
        _text(node, "ServiceType", item.service_type)
        _text(node, "Organisation", item.organisation)
        _text(node, "PractitionerName", item.practitioner_name)
        _text(node, "Telephone", item.telephone)
        _text(node, "StartDate", item.start_date)
        _text(node, "EndDate", item.end_date)
        _text(node, "ReasonForReferral", item.reason_for_referral)
    _text(child, "ClinicalNotes", record.clinical_notes)
    if record.safeguarding is not None:
        concern = etree.SubElement(child, f"{{{CHIS_NS}}}SafeguardingConcern")
        _text(concern, "Category", record.safeguarding.category)
        _text(concern, "RaisedOn", record.safeguarding.raised_on)
        _text(concern, "Summary", record.safeguarding.summary)
    _text(child, "LastModified", record.last_modified)


def page_envelope(records: Sequence[HealthRecord], next_token: str | None) -> bytes:
    """The SOAP 1.1 response envelope for one page."""
    envelope = etree.Element(
        f"{{{SOAP11_ENV}}}Envelope", nsmap={"soap": SOAP11_ENV, "chis": CHIS_NS}
    )
    body = etree.SubElement(envelope, f"{{{SOAP11_ENV}}}Body")
    response = etree.SubElement(body, f"{{{CHIS_NS}}}GetChildrenChangedSinceResponse")
    children = etree.SubElement(response, f"{{{CHIS_NS}}}Children")
    for record in records:
        _child_element(children, record)
    _text(response, "nextPageToken", next_token)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


# --------------------------------------------------------------------------- request


@dataclass(frozen=True, slots=True)
class _Credentials:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class _PageRequest:
    since: datetime | None
    after: tuple[datetime, str] | None
    size: int


def _check_security(header: etree._Element | None, expected: _Credentials) -> None:
    """Authenticate the UsernameToken in ``header`` against ``expected``; fault otherwise."""
    security = None if header is None else header.find(f"{{{WSSE_NS}}}Security")
    token = None if security is None else security.find(f"{{{WSSE_NS}}}UsernameToken")
    if token is None:
        raise _auth_fault("a WS-Security UsernameToken is required")
    username = token.findtext(f"{{{WSSE_NS}}}Username") or ""
    password = token.find(f"{{{WSSE_NS}}}Password")
    if password is None or password.text is None:
        raise _auth_fault("the security token could not be authenticated")
    given = password.text.strip()
    if password.get("Type", "").endswith(DIGEST_TYPE_SUFFIX):
        nonce_text = token.findtext(f"{{{WSSE_NS}}}Nonce") or ""
        created = token.findtext(f"{{{WSU_NS}}}Created") or ""
        try:
            nonce = base64.b64decode(nonce_text, validate=True)
            stamp = datetime.fromisoformat(created)
        except (binascii.Error, ValueError) as exc:
            raise SoapFault("wsse:InvalidSecurity", "the security header is malformed") from exc
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        if abs(datetime.now(UTC) - stamp) > DIGEST_FRESHNESS:
            raise _auth_fault("the security token has expired")
        # SHA-1 is what the UsernameToken profile 1.0 defines for PasswordDigest; not our choice.
        secret = nonce + created.encode() + expected.password.encode()
        digest = hashlib.sha1(secret).digest()  # noqa: S324
        want = base64.b64encode(digest).decode("ascii")
    else:
        want = expected.password
    user_ok = hmac.compare_digest(username.encode(), expected.username.encode())
    password_ok = hmac.compare_digest(given.encode(), want.encode())
    if not (user_ok and password_ok):
        raise _auth_fault("the security token could not be authenticated")


def _parse_since(text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise _client_fault("since is not an xsd:dateTime") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # no zone: taken as UTC


def _parse_size(text: str | None) -> int:
    if text is None or not text.strip():
        return DEFAULT_PAGE_SIZE
    try:
        size = int(text.strip())
    except ValueError as exc:
        raise _client_fault("pageSize is not an xsd:int") from exc
    if size < 1:
        raise _client_fault("pageSize must be at least 1")
    return min(size, MAX_PAGE_SIZE)


def parse_request(data: bytes, credentials: _Credentials | None) -> _PageRequest:
    """Check the envelope (hardened parse, SOAP 1.1, security, operation) and read the query."""
    # Imported here so that the demo's XML hardening is exactly the product's (TA-SEC-03).
    from ldi.safexml import parse_bytes

    try:
        root = parse_bytes(data, source="request", max_bytes=MAX_REQUEST_BYTES).getroot()
    except InputError as exc:
        raise _client_fault(f"request is not acceptable XML: {exc.message}") from exc
    if root.tag == f"{{{SOAP12_ENV}}}Envelope":
        raise SoapFault("soap:VersionMismatch", "this service speaks SOAP 1.1 only")
    if root.tag != f"{{{SOAP11_ENV}}}Envelope":
        raise _client_fault("request is not a SOAP 1.1 envelope")
    header = root.find(f"{{{SOAP11_ENV}}}Header")
    if header is not None:
        for block in header:
            if not isinstance(block.tag, str):
                continue
            must = block.get(f"{{{SOAP11_ENV}}}mustUnderstand", "0").strip()
            if must in ("1", "true") and block.tag != f"{{{WSSE_NS}}}Security":
                raise SoapFault("soap:MustUnderstand", "a mandatory header is not understood")
    if credentials is not None:
        _check_security(header, credentials)
    body = root.find(f"{{{SOAP11_ENV}}}Body")
    parts = [] if body is None else [e for e in body if isinstance(e.tag, str)]
    if len(parts) != 1 or parts[0].tag != f"{{{CHIS_NS}}}GetChildrenChangedSince":
        raise _client_fault("the body does not hold one GetChildrenChangedSince request")
    query = parts[0]
    token = query.findtext(f"{{{CHIS_NS}}}pageToken")
    return _PageRequest(
        since=_parse_since(query.findtext(f"{{{CHIS_NS}}}since")),
        after=decode_token(token.strip()) if token and token.strip() else None,
        size=_parse_size(query.findtext(f"{{{CHIS_NS}}}pageSize")),
    )


# --------------------------------------------------------------------------- HTTP


def _service_documents(url: str) -> tuple[bytes, bytes]:
    """The packaged WSDL with its address and schema location rewritten to ``url``, and the XSD."""
    from ldi.safexml import parse_bytes

    folder = resources.files("demo").joinpath("wsdl")
    wsdl = parse_bytes(folder.joinpath("health.wsdl").read_bytes(), source="health.wsdl")
    xsd = folder.joinpath(XSD_NAME).read_bytes()
    ns = {
        "wsdl": "http://schemas.xmlsoap.org/wsdl/",
        "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
        "xsd": "http://www.w3.org/2001/XMLSchema",
    }
    for address in wsdl.iterfind(".//wsdl:port/soap:address", ns):
        address.set("location", url)
    for imported in wsdl.iterfind(".//xsd:import", ns):
        imported.set("schemaLocation", f"{url}?xsd={XSD_NAME}")
    return bytes(etree.tostring(wsdl, xml_declaration=True, encoding="utf-8")), xsd


class _Server(ThreadingHTTPServer):
    """Threading HTTP server that does the TLS handshake in the worker, not the accept loop."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        *,
        tls: ssl.SSLContext | None,
        credentials: _Credentials | None,
        catalogue: _Catalogue,
        socket_timeout: float,
    ) -> None:
        self.tls = tls
        self.credentials = credentials
        self.catalogue = catalogue
        self.socket_timeout = socket_timeout
        self.wsdl = b""
        self.xsd = b""
        self.soap_requests = 0  # SOAP calls answered, faults included (tests count pages)
        self._count_lock = threading.Lock()
        super().__init__(address, _Handler)

    def count_request(self) -> None:
        with self._count_lock:
            self.soap_requests += 1

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(self.socket_timeout)
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            secure = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            # One failed handshake (untrusted client, scanner, plain HTTP) ends one connection.
            logger.info("tls handshake failed: %s", exc.__class__.__name__)
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a dropped connection is not news.
        kind = sys.exc_info()[0]
        logger.info("connection ended abnormally: %s", kind.__name__ if kind else "error")


class _Handler(BaseHTTPRequestHandler):
    """One HTTP request: GET for the WSDL/XSD, POST for the SOAP operation."""

    server: _Server
    server_version = "CHIS-Demo/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("http %s", format % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_fault(self, fault: SoapFault) -> None:
        self._send(fault.status, fault_envelope(fault), "text/xml; charset=utf-8")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, unknown method) also answer a SOAP fault."""
        self.close_connection = True
        text = message or self.responses.get(code, ("error",))[0]
        self._send_fault(
            SoapFault(
                "soap:Client" if code < 500 or code == 501 else "soap:Server", text, status=code
            )
        )

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        if parts.path != SERVICE_PATH:
            self._send_fault(_client_fault("no such resource", status=404))
        elif "wsdl" in query:
            self._send(200, self.server.wsdl, "text/xml; charset=utf-8")
        elif query.get("xsd") == [XSD_NAME]:
            self._send(200, self.server.xsd, "text/xml; charset=utf-8")
        else:
            self._send_fault(_client_fault("POST a SOAP request, or GET ?wsdl", status=405))

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        self.server.count_request()
        try:
            if urlsplit(self.path).path != SERVICE_PATH:
                raise _client_fault("no such resource", status=404)
            length_text = self.headers.get("Content-Length")
            if length_text is None or not length_text.strip().isdigit():
                self.close_connection = True
                raise _client_fault("a Content-Length is required", status=411)
            length = int(length_text)
            if length > MAX_REQUEST_BYTES:
                self.close_connection = True
                raise _client_fault("request is too large", status=413)
            data = self.rfile.read(length)
            if len(data) < length:
                self.close_connection = True
                raise _client_fault("request body is incomplete", status=400)
            request = parse_request(data, self.server.credentials)
            records, position = self.server.catalogue.page(
                request.since, request.after, request.size
            )
            token = encode_token(position) if position is not None else None
            self._send(200, page_envelope(records, token), "text/xml; charset=utf-8")
        except SoapFault as fault:
            self._send_fault(fault)
        except (TimeoutError, ConnectionError):
            self.close_connection = True  # the client went away or stalled: nothing to answer
        except Exception as exc:  # noqa: BLE001 - outermost boundary: a fault, never a traceback
            logger.warning("internal error: %s", exc.__class__.__name__)
            self._send_fault(SoapFault("soap:Server", "internal error"))


# --------------------------------------------------------------------------- the handle


@dataclass(frozen=True, slots=True)
class ServerTls:
    """HTTPS settings: the server's certificate and key, and a CA to require client certificates."""

    certificate: Path
    key: Path
    client_ca: Path | None = None

    def context(self) -> ssl.SSLContext:
        """A server-side context, TLS 1.2 or later."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate, self.key)
        if self.client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=self.client_ca)
        return context


class HealthService:
    """A running service: ``url`` (the SOAP endpoint), ``wsdl_url``, ``stop()``."""

    def __init__(self, server: _Server, url: str) -> None:
        self._server = server
        self.url = url
        self.wsdl_url = f"{url}?wsdl"
        self.xsd_url = f"{url}?xsd={XSD_NAME}"
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._stopped = False

    @property
    def soap_requests(self) -> int:
        """How many SOAP requests the service has answered (faults included)."""
        return self._server.soap_requests

    def replace_records(self, records: Sequence[HealthRecord]) -> None:
        """Serve ``records`` from now on (the demo's way to make a source change)."""
        self._server.catalogue = _Catalogue(records)

    def stop(self) -> None:
        """Stop accepting, close the socket and wait for the loop; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HealthService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_health_service(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tls: ServerTls | None = None,
    username: str | None = None,
    password: str | None = None,
    children: Sequence[DemoChild] | None = None,
    records: Sequence[HealthRecord] | None = None,
    socket_timeout: float = 10.0,
) -> HealthService:
    """Start the service on ``host:port`` (0: a free port) in a background thread.

    Serves ``records`` if given, else the health records of ``children`` (those ``in_health``),
    else those of a 200-child demo population. ``username`` and ``password`` together turn on
    the WS-Security check. Raises ValueError for a non-loopback host or half a credential,
    OSError if the port is taken, ssl.SSLError / OSError if the TLS files are unusable.
    """
    if not _is_loopback(host):
        raise ValueError(f"the demo service binds to loopback only, not {host!r}")
    if (username is None) != (password is None):
        raise ValueError("give both username and password, or neither")
    if records is None:
        records = health_records(children if children is not None else generate_population(200))
    credentials = None
    if username is not None and password is not None:
        credentials = _Credentials(username, password)
    context = tls.context() if tls is not None else None
    server = _Server(
        (host, port),
        tls=context,
        credentials=credentials,
        catalogue=_Catalogue(records),
        socket_timeout=socket_timeout,
    )
    bound = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"{'https' if tls else 'http'}://{shown}:{bound}{SERVICE_PATH}"
    server.wsdl, server.xsd = _service_documents(url)
    return HealthService(server, url)


# --------------------------------------------------------------------------- command line


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m demo.soap_service",
        description="Serve the demo child health system's SOAP API until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (0: pick a free one)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, help="health records JSON written by the seeder")
    source.add_argument("--children", type=int, default=200, help="demo population size")
    parser.add_argument("--seed", type=int, default=891, help="demo population seed")
    parser.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate")
    parser.add_argument("--tls-key", type=Path, help="the certificate's private key")
    parser.add_argument("--tls-client-ca", type=Path, help="require client certs from this CA")
    parser.add_argument("--username", help="require this WS-Security user name")
    parser.add_argument(
        "--password-env",
        metavar="VAR",
        help="environment variable holding the password (never on the command line)",
    )
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if (args.username is None) != (args.password_env is None):
        parser.error("--username and --password-env go together")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the service in the foreground; print one JSON line with its URLs once it listens.

    Exit codes: 0 after SIGINT/SIGTERM, 2 when it cannot start (one line on stderr).
    """
    args = _arguments(argv)
    password = None
    if args.password_env is not None:
        password = os.environ.get(args.password_env)
        if password is None:
            print(f"error: environment variable {args.password_env} is not set", file=sys.stderr)
            return 2
    try:
        records = read_records(args.data) if args.data is not None else None
        children = (
            None if records is not None else generate_population(args.children, seed=args.seed)
        )
        tls = ServerTls(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
        service = serve_health_service(
            args.host,
            args.port,
            tls=tls,
            username=args.username,
            password=password,
            children=children,
            records=records,
        )
    except (ValueError, OSError) as exc:  # ssl.SSLError is an OSError
        print(f"error: cannot start the health service: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(json.dumps({"url": service.url, "wsdl": service.wsdl_url}), flush=True)
    try:
        stop.wait()
    finally:
        service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
