"""The service's HTTP face: ``/healthz``, ``/readyz``, ``/metrics`` and the status page ``/``.

Standard library ``ThreadingHTTPServer`` (like the reference hub): four read-only GET routes
need no framework. Bound to loopback by default; elsewhere only with TLS and basic auth
(:func:`adapter.service.auth.check_binding`), and then every route but ``/healthz`` asks for
the password.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from adapter.config import ServiceConfig
from adapter.log import get_logger
from adapter.service import metrics, status_page
from adapter.service.auth import authorised, check_binding
from adapter.service.health import Check
from adapter.service.snapshot import Snapshot
from outbox.transports.base import resolve

log = get_logger(__name__)


@dataclass
class Routes:
    """What the handlers call; supplied by the runner."""

    snapshot: Callable[[], Snapshot]
    readiness: Callable[[], dict[str, Check]]
    organisation: str
    note: Callable[[], str]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], routes: Routes, service: ServiceConfig) -> None:
        self.routes = routes
        self.service = service
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "cpadapter"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: access lines would bypass the redacting logger."""

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, data: object) -> None:
        self._send(code, json.dumps(data).encode(), "application/json")

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        routes = self.server.routes
        if path == "/healthz":
            self._json(200, {"status": "ok"})
            return
        auth = self.server.service.auth
        if auth is not None and not authorised(self.headers.get("Authorization"), auth):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="cpadapter", charset="UTF-8"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            if path == "/readyz":
                checks = routes.readiness()
                ready = all(ok for ok, _ in checks.values())
                self._json(
                    200 if ready else 503,
                    {
                        "ready": ready,
                        "checks": {k: {"ok": ok, "detail": d} for k, (ok, d) in checks.items()},
                    },
                )
            elif path == "/metrics":
                self._send(
                    200,
                    metrics.render(routes.snapshot),
                    "text/plain; version=0.0.4; charset=utf-8",
                )
            elif path in ("/", "/status"):
                page = status_page.render(
                    routes.snapshot(), organisation=routes.organisation, delivery_note=routes.note()
                )
                self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")
            else:
                self._json(404, {"error": "not found"})
        except Exception as exc:  # noqa: BLE001 - one failing page must not kill the server
            log.error("service.http_error", path=path, error=exc.__class__.__name__)
            self._json(500, {"error": exc.__class__.__name__})


class HttpService:
    """The HTTP server on its own thread."""

    def __init__(self, service: ServiceConfig, routes: Routes, *, base: Path) -> None:
        check_binding(service)
        self._server = _Server((service.host, service.port), routes, service)
        if service.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(
                str(resolve(base, service.tls.certificate)), str(resolve(base, service.tls.key))
            )
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="cpadapter-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
