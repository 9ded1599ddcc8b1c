"""The demo child health SOAP service on its own: documents, faults, robustness, command line."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from lxml import etree

import demo.soap_service as soap_service
from adapter.pki import CA_CERT, HUB_CERT, HUB_KEY, PkiResult, init_dev_pki
from demo.health_records import health_records, read_records, write_records
from demo.population import generate_population
from demo.soap_service import (
    CHIS_NS,
    SOAP11_ENV,
    SOAP12_ENV,
    WSSE_NS,
    WSU_NS,
    HealthService,
    ServerTls,
    serve_health_service,
)

NS = {"soap": SOAP11_ENV, "chis": CHIS_NS, "wsdl": "http://schemas.xmlsoap.org/wsdl/"}
SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}


def envelope(body: str, header: str = "", *, ns: str = SOAP11_ENV) -> bytes:
    """A request envelope around ``body`` (XML text in the chis namespace)."""
    return (
        f'<soap:Envelope xmlns:soap="{ns}" xmlns:chis="{CHIS_NS}">'
        f"<soap:Header>{header}</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


def query(inner: str = "") -> str:
    """A GetChildrenChangedSince element with ``inner`` parameters."""
    return f"<chis:GetChildrenChangedSince>{inner}</chis:GetChildrenChangedSince>"


def fault_of(response: requests.Response) -> tuple[str, str]:
    """(faultcode, faultstring) of a SOAP fault answer; fails if the answer is anything else."""
    root = etree.fromstring(response.content)
    fault = root.find("soap:Body/soap:Fault", NS)
    assert fault is not None, response.text
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


@pytest.fixture(scope="module")
def service() -> Iterator[HealthService]:
    """The demo service over HTTP with 150 children's worth of data."""
    with serve_health_service(children=generate_population(150)) as running:
        yield running


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PkiResult:
    """A development PKI for the HTTPS checks."""
    return init_dev_pki(tmp_path_factory.mktemp("soap-service-pki"))


def post(service: HealthService, data: bytes) -> requests.Response:
    """POST raw bytes to the SOAP endpoint."""
    return requests.post(service.url, data=data, headers=SOAP_HEADERS, timeout=5)


def test_wsdl_is_served_with_its_own_address_and_schema(service: HealthService) -> None:
    """GET ?wsdl names the running endpoint, and the schema it imports is served too."""
    wsdl = etree.fromstring(requests.get(service.wsdl_url, timeout=5).content)
    address = wsdl.find(".//wsdl:port/{http://schemas.xmlsoap.org/wsdl/soap/}address", NS)
    assert address is not None
    assert address.get("location") == service.url
    imported = wsdl.find(".//{http://www.w3.org/2001/XMLSchema}import")
    assert imported is not None
    schema = requests.get(imported.get("schemaLocation", ""), timeout=5)
    assert etree.fromstring(schema.content).get("targetNamespace") == CHIS_NS


def test_page_answer_holds_case_information_like_a_real_system(service: HealthService) -> None:
    """The service's own answer carries ClinicalNotes: the connector must be what drops it."""
    answer = post(service, envelope(query("<chis:pageSize>500</chis:pageSize>")))
    assert answer.status_code == 200
    root = etree.fromstring(answer.content)
    assert root.findall(".//chis:Child", NS)
    assert root.findall(".//chis:ClinicalNotes", NS)
    assert root.find(".//chis:nextPageToken", NS) is None


@pytest.mark.parametrize(
    ("payload", "code", "says"),
    [
        (b"this is not xml", "soap:Client", "not acceptable XML"),
        (b"<x/>", "soap:Client", "not a SOAP 1.1 envelope"),
        (envelope(query(), ns=SOAP12_ENV), "soap:VersionMismatch", "SOAP 1.1 only"),
        (envelope("<chis:DeleteAllChildren/>"), "soap:Client", "GetChildrenChangedSince"),
        (envelope(query("<chis:pageToken>!!nope!!</chis:pageToken>")), "soap:Client", "pageToken"),
        (envelope(query("<chis:since>yesterday</chis:since>")), "soap:Client", "since"),
        (envelope(query("<chis:pageSize>0</chis:pageSize>")), "soap:Client", "pageSize"),
        (envelope(query("<chis:pageSize>ten</chis:pageSize>")), "soap:Client", "pageSize"),
        (
            envelope(query(), '<chis:Audit soap:mustUnderstand="1"/>'),
            "soap:MustUnderstand",
            "not understood",
        ),
    ],
    ids=[
        "not-xml",
        "not-soap",
        "soap12",
        "unknown-operation",
        "bad-token",
        "bad-since",
        "zero-page",
        "non-numeric-page",
        "must-understand",
    ],
)
def test_malformed_requests_get_a_soap_fault(
    service: HealthService, payload: bytes, code: str, says: str
) -> None:
    """Each kind of malformed request is answered with a SOAP fault (HTTP 500), not a trace."""
    answer = post(service, payload)
    assert answer.status_code == 500
    faultcode, faultstring = fault_of(answer)
    assert faultcode == code
    assert says in faultstring
    assert "Traceback" not in answer.text


def test_dtd_and_external_entities_are_refused_unexpanded(
    service: HealthService, tmp_path: Path
) -> None:
    """A request with a DTD/XXE is refused with a fault, and the entity is never expanded."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
    ).encode() + envelope(query("<chis:pageToken>&e;</chis:pageToken>"))
    answer = post(service, xxe)
    faultcode, faultstring = fault_of(answer)
    assert faultcode == "soap:Client"
    assert "DTD" in faultstring
    assert "TOP-SECRET-VALUE" not in answer.text


def test_oversized_request_is_refused_with_413(service: HealthService) -> None:
    """A body above the limit is refused (HTTP 413 fault) without being parsed."""
    answer = post(service, b"<a>" + b"x" * (soap_service.MAX_REQUEST_BYTES + 1) + b"</a>")
    assert answer.status_code == 413
    assert fault_of(answer)[0] == "soap:Client"


def _raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_post_without_content_length_is_refused_with_411(service: HealthService) -> None:
    """A POST with no Content-Length gets a 411 SOAP fault instead of a hang."""
    raw = _raw_exchange(service.port, b"POST /health/v1 HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 411")
    assert b"<faultcode>soap:Client</faultcode>" in body


def test_garbage_request_line_gets_a_soap_fault(service: HealthService) -> None:
    """Even bytes that are not HTTP at all (a TLS hello) are answered with a SOAP fault."""
    raw = _raw_exchange(service.port, b"\x16\x03\x01 garbage\r\n\r\n")
    assert b"<faultcode>soap:Client</faultcode>" in raw
    assert b"Traceback" not in raw


def test_unknown_http_method_gets_a_501_soap_fault(service: HealthService) -> None:
    """An HTTP method the service does not offer gets a 501 client fault."""
    raw = _raw_exchange(service.port, b"DELETE /health/v1 HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 501")
    assert b"<faultcode>soap:Client</faultcode>" in body


def test_internal_error_is_a_server_fault_without_details(
    service: HealthService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug inside the service is answered soap:Server "internal error", nothing more."""

    def broken(*_: object) -> bytes:
        raise RuntimeError("secret internals /srv/chis/db.sqlite")

    monkeypatch.setattr(soap_service, "page_envelope", broken)
    answer = post(service, envelope(query()))
    assert fault_of(answer) == ("soap:Server", "internal error")
    assert "secret internals" not in answer.text


def _secured(pki: PkiResult) -> HealthService:
    tls = ServerTls(pki.path(HUB_CERT), pki.path(HUB_KEY))
    return serve_health_service(
        children=generate_population(40), tls=tls, username="u", password="p"
    )


def _token(password: str, *, created: datetime | None = None, digest: bool = False) -> str:
    if not digest:
        return (
            f'<wsse:Security xmlns:wsse="{WSSE_NS}"><wsse:UsernameToken>'
            f"<wsse:Username>u</wsse:Username>"
            f'<wsse:Password Type="x#PasswordText">{password}</wsse:Password>'
            f"</wsse:UsernameToken></wsse:Security>"
        )
    nonce = b"0123456789abcdef"
    stamp = (created or datetime.now(UTC)).isoformat()
    secret = nonce + stamp.encode() + password.encode()
    value = base64.b64encode(hashlib.sha1(secret).digest())  # noqa: S324 - the profile's SHA-1
    return (
        f'<wsse:Security xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}"><wsse:UsernameToken>'
        f"<wsse:Username>u</wsse:Username>"
        f'<wsse:Password Type="x#PasswordDigest">{value.decode()}</wsse:Password>'
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
        f"<wsu:Created>{stamp}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (_token("p"), True),
        (_token("p", digest=True), True),
        ("", False),
        (_token("wrong"), False),
        (_token("wrong", digest=True), False),
        (_token("p", digest=True, created=datetime.now(UTC) - timedelta(hours=1)), False),
    ],
    ids=["text", "digest", "missing", "wrong-text", "wrong-digest", "stale-digest"],
)
def test_ws_security_username_token(pki: PkiResult, header: str, accepted: bool) -> None:
    """Right text/digest credentials pass; missing, wrong or stale ones: FailedAuthentication."""
    with _secured(pki) as secured:
        answer = requests.post(
            secured.url,
            data=envelope(query(), header),
            headers=SOAP_HEADERS,
            timeout=5,
            verify=str(pki.path(CA_CERT)),
        )
    if accepted:
        assert answer.status_code == 200
    else:
        assert fault_of(answer)[0] == "wsse:FailedAuthentication"


def test_failed_tls_handshake_leaves_the_service_running(pki: PkiResult) -> None:
    """Plain HTTP sent to the HTTPS port ends that connection only; the next client is served."""
    with _secured(pki) as secured:
        with socket.create_connection(("127.0.0.1", secured.port), timeout=5) as sock:
            sock.sendall(b"GET /health/v1?wsdl HTTP/1.0\r\n\r\n")
            with contextlib.suppress(OSError):  # reset or closed: either way, refused
                assert not sock.recv(1024).startswith(b"HTTP/1.0 200")
        context = ssl.create_default_context(cafile=str(pki.path(CA_CERT)))
        with (
            socket.create_connection(("127.0.0.1", secured.port), timeout=5) as plain,
            context.wrap_socket(plain, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(b"GET /health/v1?wsdl HTTP/1.0\r\n\r\n")
            assert tls.recv(64).startswith(b"HTTP/1.0 200")


def test_loopback_only() -> None:
    """The demo service refuses to bind anywhere but loopback."""
    with pytest.raises(ValueError, match="loopback"):
        serve_health_service("0.0.0.0", children=[])  # noqa: S104 - proving it is refused


def test_health_records_file_round_trips(tmp_path: Path) -> None:
    """Records written for the service process are read back identical."""
    records = health_records(generate_population(60))
    path = tmp_path / "health.json"
    write_records(path, records)
    assert read_records(path) == records


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "demo.soap_service", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CHIS_PASSWORD": "pw"},
    )


def test_command_line_serves_a_data_file_until_sigterm(tmp_path: Path) -> None:
    """`python -m demo.soap_service --data F` prints its URLs, serves F, and exits 0 on SIGTERM."""
    records = health_records(generate_population(40))
    data = tmp_path / "health.json"
    write_records(data, records)
    process = _start(["--port", "0", "--data", str(data)])
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        answer = requests.post(
            ready["url"], data=envelope(query()), headers=SOAP_HEADERS, timeout=5
        )
        children = etree.fromstring(answer.content).findall(".//chis:Child", NS)
        assert len(children) == len(records)
        assert requests.get(ready["wsdl"], timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    assert code == 0


def test_command_line_start_failure_is_one_line_exit_2(tmp_path: Path) -> None:
    """An unreadable data file stops the command with exit 2 and one line on stderr."""
    process = _start(["--data", str(tmp_path / "missing.json")])
    _, err = process.communicate(timeout=20)
    assert process.returncode == 2
    assert err.strip().count("\n") == 0
    assert "Traceback" not in err
