"""The HTTP server with TLS and basic auth: /healthz open, everything else behind a password."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from adapter.config import ServiceAuthConfig, ServiceConfig, ServiceTlsConfig
from adapter.service.auth import hash_password
from adapter.service.http import HttpService, Routes
from tests.fixtures.hub import HubPki
from tests.unit.service.helpers import snapshot


@pytest.fixture
def secured(hub_pki: HubPki) -> Iterator[str]:
    """The service's HTTP server over TLS (the hub's test certificate) with basic auth."""
    service = ServiceConfig(
        port=0,
        tls=ServiceTlsConfig(
            certificate=hub_pki.directory / "hub.pem", key=hub_pki.directory / "hub.key"
        ),
        auth=ServiceAuthConfig(user="ict", password_hash=hash_password("correct horse")),
    )
    routes = Routes(
        snapshot=snapshot,
        readiness=lambda: {"store": (True, "store reachable")},
        organisation="Test authority",
        note=lambda: "",
    )
    http = HttpService(service, routes, base=Path("."))
    http.start()
    try:
        yield f"https://localhost:{http.port}"
    finally:
        http.stop()


def test_tls_and_basic_auth_guard_every_route_but_healthz(secured: str, hub_pki: HubPki) -> None:
    """No or wrong password: 401 with a Basic challenge; right password: the page over TLS."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(hub_pki.ca)
    assert session.get(f"{secured}/healthz", timeout=5).json() == {"status": "ok"}
    for path in ("/", "/metrics", "/readyz"):
        denied = session.get(f"{secured}{path}", timeout=5)
        assert denied.status_code == 401
        assert denied.headers["WWW-Authenticate"].startswith("Basic ")
        wrong = session.get(f"{secured}{path}", auth=("ict", "wrong"), timeout=5)
        assert wrong.status_code == 401
    page = session.get(f"{secured}/", auth=("ict", "correct horse"), timeout=5)
    assert page.status_code == 200
    assert "frameworki" in page.text and "Test authority" in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    metrics = session.get(f"{secured}/metrics", auth=("ict", "correct horse"), timeout=5)
    assert 'cpadapter_records_read_total{source="frameworki"} 0.0' in metrics.text
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(secured.replace("https", "http") + "/healthz", timeout=5)


def test_plain_password_from_config_works_too(hub_pki: HubPki) -> None:
    """auth.password (a ${ENV} value) is accepted in place of a hash."""
    service = ServiceConfig(
        port=0,
        tls=ServiceTlsConfig(
            certificate=hub_pki.directory / "hub.pem", key=hub_pki.directory / "hub.key"
        ),
        auth=ServiceAuthConfig(user="ict", password=SecretStr("from-env")),
    )
    routes = Routes(snapshot=snapshot, readiness=dict, organisation="T", note=lambda: "")
    http = HttpService(service, routes, base=Path("."))
    http.start()
    try:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(hub_pki.ca)
        url = f"https://localhost:{http.port}/readyz"
        assert session.get(url, auth=("ict", "from-env"), timeout=5).json() == {
            "ready": True,
            "checks": {},
        }
    finally:
        http.stop()
