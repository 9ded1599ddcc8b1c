"""How the SOAP connector turns library failures into one clear SourceError."""

from __future__ import annotations

import ssl
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep.exceptions
from urllib3.exceptions import MaxRetryError, NewConnectionError

from connectors.base import ConnectorContext, ReadReport
from connectors.soap import SoapConfig, SoapConnector, translate_error
from ldi.errors import SourceError

URL = "https://chis.example.org:8443/children/v1"
zeep_exceptions: Any = zeep.exceptions  # unannotated constructors: called through Any


def translate(exc: BaseException, url: str = URL, action: str = "calling Op (page 2)") -> str:
    """The code and text of the translation of ``exc`` (source 'health', 2 s / 5 s time-outs)."""
    error = translate_error(
        exc, source="health", action=action, url=url, connect_timeout=2, read_timeout=5
    )
    assert isinstance(error, SourceError)
    assert "\n" not in str(error)
    assert "source 'health'" in str(error)
    return f"{error.code} {error}"


def refused() -> requests.ConnectionError:
    """What requests raises for a refused connection, with urllib3's wrapping."""
    inner = ConnectionRefusedError(111, "Connection refused")
    new = NewConnectionError(None, "Failed to establish a new connection")  # type: ignore[arg-type]
    new.__cause__ = inner
    return requests.ConnectionError(MaxRetryError(None, "/children/v1", new))  # type: ignore[arg-type]


def test_refused_connection_is_src_connect_with_host_and_reason() -> None:
    """A refused connection names host:port and the OS reason."""
    text = translate(refused())
    assert text.startswith("SRC-CONNECT")
    assert "chis.example.org:8443" in text
    assert "Connection refused" in text


def test_connect_timeout_is_src_connect_with_the_limit() -> None:
    """No connection within the connect time-out is an unreachable endpoint, with the limit."""
    text = translate(requests.exceptions.ConnectTimeout())
    assert text.startswith("SRC-CONNECT")
    assert "within 2 s" in text


def test_read_timeout_is_src_timeout_with_the_limit() -> None:
    """No answer within the read time-out is SRC-TIMEOUT quoting the limit."""
    text = translate(requests.exceptions.ReadTimeout())
    assert text.startswith("SRC-TIMEOUT")
    assert "within 5 s" in text


def test_certificate_failure_is_src_tls_with_the_verify_message() -> None:
    """A failed certificate check is SRC-TLS with OpenSSL's verify message."""
    cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cause.verify_message = "unable to get local issuer certificate"
    error = requests.exceptions.SSLError(MaxRetryError(None, "/", cause))  # type: ignore[arg-type]
    text = translate(error)
    assert text.startswith("SRC-TLS")
    assert "unable to get local issuer certificate" in text


@pytest.mark.parametrize(
    "code", ["wsse:FailedAuthentication", "wsse:InvalidSecurity", "UNAUTHORISED"]
)
def test_authentication_faults_are_src_auth(code: str) -> None:
    """WS-Security and authorisation fault codes are SRC-AUTH."""
    assert translate(zeep_exceptions.Fault("denied", code=code)).startswith("SRC-AUTH")


def test_other_faults_quote_the_code_but_never_the_fault_text() -> None:
    """A fault's string may hold record data: only its code is quoted."""
    fault = zeep_exceptions.Fault("Child Ava Jones DOB 2021-03-04 is locked", code="soap:Server")
    text = translate(fault)
    assert text.startswith("SRC-FAULT")
    assert "soap:Server" in text
    assert "Jones" not in text
    assert "2021-03-04" not in text


def test_a_fault_code_that_is_not_a_name_is_not_quoted() -> None:
    """A fault code with spaces or odd characters (data smuggled in a code) is not quoted."""
    text = translate(zeep_exceptions.Fault("x", code="Ava Jones <2021-03-04>"))
    assert "Jones" not in text
    assert "(unrecognised code)" in text


@pytest.mark.parametrize(
    ("status", "code"), [(401, "SRC-AUTH"), (403, "SRC-AUTH"), (503, "SRC-FAULT")]
)
def test_http_errors_without_soap(status: int, code: str) -> None:
    """HTTP 401/403 without a SOAP body are SRC-AUTH; other statuses SRC-FAULT with the status."""
    text = translate(zeep_exceptions.TransportError("x", status_code=status))
    assert text.startswith(code)
    assert f"HTTP {status}" in text


def test_malformed_documents_depend_on_what_was_being_done() -> None:
    """A bad document while loading is SRC-WSDL; in an answer it is SRC-PROTOCOL."""
    bad = zeep_exceptions.XMLSyntaxError("Invalid XML content received")
    assert translate(bad, action="loading the WSDL").startswith("SRC-WSDL")
    assert translate(bad).startswith("SRC-PROTOCOL")


def test_printed_urls_drop_user_info_and_query() -> None:
    """Credentials or keys in a URL's user info or query string are never printed."""
    url = "https://user:hunter2@chis.example.org/children/v1?apikey=K3Y"
    text = translate(requests.exceptions.ReadTimeout(), url=url)
    assert "hunter2" not in text
    assert "K3Y" not in text
    assert "https://chis.example.org/children/v1" in text


# ----- failures found before any network traffic, against the packaged demo WSDL


def packaged_wsdl() -> Path:
    """The demo CHIS WSDL shipped as package data."""
    return Path(str(resources.files("demo").joinpath("wsdl", "health.wsdl")))


def soap(tmp_path: Path, **overrides: Any) -> SoapConnector:
    """A connector on the packaged WSDL with an endpoint nobody is asked to answer."""
    options: dict[str, Any] = {
        "wsdl": str(packaged_wsdl()),
        "endpoint": "https://127.0.0.1:9/health/v1",
        "operation": "GetChildrenChangedSince",
        "items_path": "Children.Child",
        "key_field": "ChildId",
        "fields": ["ChildId"],
    }
    options.update(overrides)
    return SoapConnector(SoapConfig.model_validate(options), ConnectorContext("health", tmp_path))


def failure(connector: SoapConnector, *, since: str | None = None) -> SourceError:
    """The SourceError of reading ``connector``."""
    with pytest.raises(SourceError) as caught:
        list(connector.read(ReadReport(), since=since))
    return caught.value


def test_missing_wsdl_file_is_src_wsdl(tmp_path: Path) -> None:
    """A WSDL path that does not exist is SRC-WSDL while loading the WSDL."""
    error = failure(soap(tmp_path, wsdl=str(tmp_path / "nope.wsdl")))
    assert error.code == "SRC-WSDL"
    assert "loading the WSDL" in str(error)


def test_unknown_operation_is_src_wsdl(tmp_path: Path) -> None:
    """An operation the WSDL does not define is SRC-WSDL naming it."""
    error = failure(soap(tmp_path, operation="GetEverything"))
    assert error.code == "SRC-WSDL"
    assert "'GetEverything'" in str(error)


def test_unknown_parameter_is_src_wsdl_listing_the_real_ones(tmp_path: Path) -> None:
    """A since/page parameter the operation lacks is SRC-WSDL listing what it takes."""
    error = failure(soap(tmp_path, since_param="changedSince"))
    assert error.code == "SRC-WSDL"
    assert "'changedSince'" in str(error)
    assert "pageSize, pageToken, since" in str(error)


def test_watermark_that_is_not_a_date_time_is_src_watermark(tmp_path: Path) -> None:
    """A since value that is not ISO 8601 is refused before anything is sent."""
    error = failure(soap(tmp_path, change_marker_field="LastModified"), since="sha256:abc")
    assert error.code == "SRC-WATERMARK"


def test_missing_ca_bundle_is_src_tls(tmp_path: Path) -> None:
    """A configured CA bundle that is not a file is SRC-TLS naming the setting."""
    error = failure(soap(tmp_path, ca_bundle=str(tmp_path / "ca.pem")))
    assert error.code == "SRC-TLS"
    assert "ca_bundle" in str(error)


def test_wsdl_importing_from_another_origin_is_refused(tmp_path: Path) -> None:
    """A WSDL that imports a schema from elsewhere is refused before fetching it (SRC-WSDL)."""
    text = (
        packaged_wsdl()
        .read_text(encoding="utf-8")
        .replace('schemaLocation="health.xsd"', 'schemaLocation="http://127.0.0.1:9/steal.xsd"')
    )
    wsdl = tmp_path / "health.wsdl"
    wsdl.write_text(text, encoding="utf-8")
    error = failure(soap(tmp_path, wsdl=str(wsdl)))
    assert error.code == "SRC-WSDL"
    assert "another origin" in str(error)


def test_wsdl_with_a_dtd_is_refused(tmp_path: Path) -> None:
    """A WSDL declaring a DTD is refused (SRC-WSDL), entities are never expanded."""
    text = (
        packaged_wsdl()
        .read_text(encoding="utf-8")
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY e "boom">]>',
        )
    )
    wsdl = tmp_path / "health.wsdl"
    wsdl.write_text(text, encoding="utf-8")
    error = failure(soap(tmp_path, wsdl=str(wsdl)))
    assert error.code == "SRC-WSDL"


def test_close_is_idempotent(tmp_path: Path) -> None:
    """close() may be called on an unused connector and twice without error."""
    connector = soap(tmp_path)
    connector.close()
    connector.close()
