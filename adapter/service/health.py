"""``/readyz``: the store answers, the hub accepts our TLS handshake, the certificate is valid."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from adapter.config import AdapterConfig
from adapter.service.snapshot import certificate_state
from outbox.service import Outbox
from outbox.transports.base import resolve

Check = tuple[bool, str]


def store_check(outbox: Outbox) -> Check:
    try:
        with outbox.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return False, f"store unreachable ({exc.__class__.__name__})"
    return True, "store reachable"


def hub_check(config: AdapterConfig, base: Path, *, timeout: float = 5.0) -> Check:
    """TCP connect and (SOAP) a mutual-TLS handshake with the hub."""
    delivery = config.delivery
    if delivery.transport == "sftp":
        host, port, tls = delivery.sftp.host, delivery.sftp.port, False
    else:
        parts = urlsplit(delivery.endpoint)
        host = parts.hostname or "localhost"
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            if not tls:
                return True, f"hub reachable at {host}:{port}"
            context = ssl.create_default_context(cafile=str(resolve(base, delivery.tls.ca_bundle)))
            context.load_cert_chain(
                str(resolve(base, delivery.tls.client_certificate)),
                str(resolve(base, delivery.tls.client_key)),
            )
            with context.wrap_socket(raw, server_hostname=host) as wrapped:
                wrapped.do_handshake()
    except ssl.SSLError as exc:
        return False, f"TLS handshake with the hub failed ({exc.reason or 'SSL error'})"
    except OSError as exc:
        return False, f"hub unreachable at {host}:{port} ({exc.__class__.__name__})"
    return True, f"hub reachable at {host}:{port} (TLS handshake ok)"


def certificate_check(config: AdapterConfig, base: Path) -> Check:
    state = certificate_state(config, base)
    if state.error or state.not_after is None:
        return False, state.error or "no expiry"
    days = state.days_left(datetime.now(UTC)) or 0.0
    if days <= 0:
        return False, "client certificate expired"
    return True, f"client certificate valid for {days:.0f} more days"


def readiness(config: AdapterConfig, outbox: Outbox, base: Path) -> dict[str, Check]:
    return {
        "store": store_check(outbox),
        "hub": hub_check(config, base),
        "certificate": certificate_check(config, base),
    }
