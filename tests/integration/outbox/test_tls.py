"""The SOAP transport's mutual TLS: refuses hubs it cannot verify and halts (LDI-TRN-02)."""

from __future__ import annotations

import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from adapter.config import DeliveryConfig, TlsConfig
from ldi.errors import PermanentDeliveryError
from outbox.transports.soap import open_soap
from tests.fixtures.hub import RunningHub


def delivery_for(hub: RunningHub, *, endpoint: str | None = None, **tls: Path) -> DeliveryConfig:
    pki = hub.pki
    settings = {
        "client_certificate": pki.client[0],
        "client_key": pki.client[1],
        "ca_bundle": pki.ca,
    }
    settings.update(tls)
    return DeliveryConfig(
        endpoint=endpoint or hub.endpoint, tls=TlsConfig(**settings), timeout_seconds=5
    )


def refused_code(delivery: DeliveryConfig) -> str:
    transport = open_soap(delivery, base=Path("/"))
    try:
        with pytest.raises(PermanentDeliveryError) as raised:
            transport.get_outcome(str(uuid.uuid4()))
    finally:
        transport.close()
    return raised.value.code


def test_the_real_hub_is_reached_with_the_right_pki(hub: RunningHub) -> None:
    """With the configured CA and client certificate a poll gets an answer (TA-TRN-01)."""
    transport = open_soap(delivery_for(hub), base=Path("/"))
    code = None
    try:
        transport.get_outcome(str(uuid.uuid4()))
    except PermanentDeliveryError as fault:  # an unknown batch id is the hub's call
        code = fault.code
    finally:
        transport.close()
    assert code not in ("TLS_REFUSED", "CONNECTION")


def test_a_hub_certificate_from_another_ca_is_refused(hub: RunningHub) -> None:
    """Trusting only the rogue CA, the real hub's certificate fails verification (TA-TRN-02)."""
    assert refused_code(delivery_for(hub, ca_bundle=hub.pki.rogue_ca)) == "TLS_REFUSED"


def test_a_client_certificate_from_another_ca_is_refused_by_the_hub(hub: RunningHub) -> None:
    """The hub refuses a client certificate it did not issue; the transport says TLS_REFUSED."""
    rogue_cert, rogue_key = hub.pki.rogue_client
    code = refused_code(delivery_for(hub, client_certificate=rogue_cert, client_key=rogue_key))
    assert code == "TLS_REFUSED"


def _send_and_read(tls: ssl.SSLSocket, body: bytes) -> bytes:
    tls.sendall(body)
    return tls.recv(1)


def test_the_hubs_refusal_is_not_overtaken_by_a_reset(hub: RunningHub) -> None:
    """A refused TLS 1.3 client that is slow to read still gets the alert, not a reset."""
    rogue_cert, rogue_key = hub.pki.rogue_client
    context = ssl.create_default_context(cafile=hub.pki.ca)
    context.load_cert_chain(rogue_cert, rogue_key)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    host, port = urlsplit(hub.url).hostname, urlsplit(hub.url).port
    assert host is not None and port is not None
    with (
        socket.create_connection((host, port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        # TLS 1.3: our side of the handshake is done before the hub has checked us. Like an
        # HTTP client, send the head, then (after the hub has refused) the body, then read.
        tls.sendall(b"POST /ldi/v1 HTTP/1.1\r\nHost: hub\r\nContent-Length: 2\r\n\r\n")
        time.sleep(0.3)
        with pytest.raises(ssl.SSLError) as raised:
            _send_and_read(tls, b"{}")
    assert "alert" in str(raised.value).lower()


@pytest.fixture
def wrong_host_server(hub: RunningHub) -> Iterator[int]:
    """A TLS server on loopback presenting a certificate for wrong-host.invalid only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(
        hub.pki.directory / "hub-wronghost.pem", hub.pki.directory / "hub-wronghost.key"
    )
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        try:
            with context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    listener.close()
    thread.join(timeout=5)


def test_a_host_name_mismatch_is_refused(hub: RunningHub, wrong_host_server: int) -> None:
    """A certificate from the right CA but for another host name is refused (TA-TRN-03)."""
    endpoint = f"https://127.0.0.1:{wrong_host_server}/ldi/v1"
    assert refused_code(delivery_for(hub, endpoint=endpoint)) == "TLS_REFUSED"


def test_plain_http_endpoints_are_refused(hub: RunningHub) -> None:
    """An http:// endpoint is a configuration error, never an unencrypted fallback."""
    from ldi.errors import ConfigError

    with pytest.raises(ConfigError, match="https"):
        open_soap(delivery_for(hub, endpoint="http://127.0.0.1:1/ldi/v1"), base=Path("/"))
