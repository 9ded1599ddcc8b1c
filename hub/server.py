"""The hub's HTTPS server: mutual TLS, the SOAP endpoint, WSDL/XSD and the admin endpoints.

Server: the standard library's ``http.server.ThreadingHTTPServer`` with an ``ssl.SSLContext``
(see the package docstring and docs/decisions.md for why). Each connection is handled on its own
thread; the TLS handshake runs on that thread too, so a client that connects and never speaks
cannot stall the accept loop.

Routes
    ``GET  /ldi/v1?wsdl``                 the WSDL, pointing at this hub (any client certificate
                                          the CA issued)
    ``GET  /ldi/v1?xsd=ldi-v1.xsd``       the XSD the WSDL imports
    ``POST /ldi/v1``                      SubmitBatch / GetBatchOutcome (registered certificates)
    ``GET  /admin/status``                counts per outcome, source system, batch status
    ``GET  /admin/worklist/{NoMatch|MultipleMatch}``
    ``GET  /admin/children/{ContactPointId}``  merged record with each source's contribution
    ``GET  /admin/batches/{batchId}``     one batch's status and outcome counts
    ``GET  /admin/contributions/{sourceSystem}/{sourceRecordId}``
    ``GET|POST /admin/misbehaviour``      read or replace the misbehaviour settings (JSON)

Admin routes need a certificate listed under ``admins`` in hub.yaml; anything else gets 403.
Nothing a client sends can produce a stack trace: every request ends in an LDI fault, a JSON
error or a dropped connection, and the server goes on serving.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import ValidationError

from adapter.log import get_logger
from adapter.pki import PkiError, fingerprint_der
from hub.config import HubConfig, MisbehaviourConfig
from hub.files import FileProcessor
from hub.inspection import batch_view, child_view, status_report, worklist
from hub.misbehaviour import Misbehaviour
from hub.processing import Processor
from hub.service import SOAP_MAX_RECORDS, Caller, HubService
from hub.soap import fault, fault_response, parse_request, response
from hub.store import Store
from hub.worker import ProcessingWorker
from hub.wsdl import SERVICE_PATH, XSD_NAME, wsdl_document, xsd_document
from ldi.errors import HubError, SchemaInvalid, StoreError
from ldi.models import BatchOutcomeRequest, FaultCode, OutcomeStatus
from ldi.safexml import DEFAULT_MAX_BYTES
from ldi.schema import validate_tree
from ldi.validation import count_records
from ldi.xmlcodec import from_element

log = get_logger(__name__)

#: A body larger than this is not even drained: the connection is closed after the fault.
_DRAIN_LIMIT: Final = 64 * 1024 * 1024
_HANDSHAKE_TIMEOUT: Final = 10.0
_LINGER_SECONDS: Final = 2.0  # how long a refused client may take to read our alert and hang up
_LINGER_STEP: Final = 0.5
_IDLE_TIMEOUT: Final = 60.0
_XML: Final = "text/xml; charset=utf-8"


class _Dropped(Exception):
    """The handler closed the connection on purpose (misbehaviour): send nothing."""


class _Oversize(Exception):
    """The body is over the limit; ``drained`` says whether it was read off the socket."""

    def __init__(self, size: int, drained: bool) -> None:
        super().__init__(size)
        self.size = size
        self.drained = drained


def make_tls_context(config: HubConfig) -> ssl.SSLContext:
    """Server context: TLS ≥ 1.2, client certificate required and verified (LDI-TRN-02)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = (
        ssl.TLSVersion.TLSv1_3 if config.tls.minimum_version == "1.3" else ssl.TLSVersion.TLSv1_2
    )
    context.load_cert_chain(str(config.tls.certificate), str(config.tls.key))
    context.load_verify_locations(cafile=str(config.tls.client_ca))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], hub: Hub, context: ssl.SSLContext) -> None:
        self.hub = hub
        self.tls_context = context
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Handshake on the connection's own thread, then serve it; refusals are logged."""
        request.settimeout(_HANDSHAKE_TIMEOUT)
        # The handshake is run by hand: a failing wrap_socket would close the socket itself,
        # before _close_lingering could let the alert through.
        tls = self.tls_context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            log.info("hub.tls_refused", reason=getattr(exc, "reason", None) or type(exc).__name__)
            _close_lingering(tls)
            return
        try:
            tls.settimeout(_IDLE_TIMEOUT)
            _Handler(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Never print a traceback: a broken connection is logged by type only."""
        log.warning("hub.connection_error")


def _close_lingering(request: socket.socket) -> None:
    """Close a refused connection so that our TLS alert reaches the client.

    Under TLS 1.3 the client finishes its side of the handshake and sends its request before we
    have checked its certificate. Closing a socket with that request unread makes the kernel
    answer with a reset, which can overtake our alert: the client then sees a bare EOF and takes
    a refusal (LDI-TRN-02, permanent) for a dropped line (transient). So: stop writing, read and
    discard until the client hangs up or a short grace period ends, then close.
    """
    try:
        request.shutdown(socket.SHUT_WR)
        request.settimeout(_LINGER_STEP)
        deadline = time.monotonic() + _LINGER_SECONDS
        while time.monotonic() < deadline and request.recv(65536):
            pass
    except OSError:
        pass  # the client went first; nothing left to protect
    finally:
        request.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ContactPointHub/1.0"
    sys_version = ""
    server: _Server

    # ----- plumbing -----

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib access log; requests are logged as events with ids only."""

    def _fingerprint(self) -> str | None:
        connection = self.connection
        der = (
            connection.getpeercert(binary_form=True)
            if isinstance(connection, ssl.SSLSocket)
            else None
        )
        if not der:
            return None
        try:
            return fingerprint_der(der)
        except PkiError:
            return None

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, indent=2).encode(), "application/json")

    def _send_fault(self, error: HubError) -> None:
        status, headers, body = fault_response(error)
        self._send(status, body, _XML, headers)

    def _drop(self) -> None:
        """Close the TCP connection without a response (time-out and lost-receipt cases)."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # the peer may already be gone
            self.connection.shutdown(socket.SHUT_RDWR)
        raise _Dropped

    def _read_body(self, limit: int) -> bytes:
        length_header = self.headers.get("Content-Length")
        if length_header is not None:
            try:
                length = int(length_header)
            except ValueError:
                self.close_connection = True
                return b""
            if length < 0:
                self.close_connection = True
                return b""
            if length > limit:
                drained = length <= _DRAIN_LIMIT
                if drained:
                    _discard(self.rfile, length)
                else:
                    self.close_connection = True
                raise _Oversize(length, drained)
            return self.rfile.read(length)
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        return b""

    def _read_chunked(self, limit: int) -> bytes:
        """A chunked body; past ``limit`` the rest is read and dropped (up to the drain limit)
        so that the fault can still be delivered on a healthy connection."""
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                self.close_connection = True
                return b""
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                break
            total += size
            if total > _DRAIN_LIMIT:
                self.close_connection = True
                raise _Oversize(total, False)
            chunk = self.rfile.read(size)
            if total <= limit:
                parts.append(chunk)
            self.rfile.readline(1024)
        if total > limit:
            raise _Oversize(total, True)
        return b"".join(parts)

    def _route(self) -> tuple[str, dict[str, list[str]]]:
        split = urlsplit(self.path)
        return split.path.rstrip("/") or "/", parse_qs(split.query, keep_blank_values=True)

    def _guard(self, work: Any) -> None:
        """The one boundary where any failure becomes an answer, never a traceback."""
        started = time.perf_counter()
        try:
            work()
        except _Dropped:
            log.info("hub.connection_dropped", endpoint=self._route()[0])
        except (BrokenPipeError, ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True
        except StoreError as exc:
            log.error("hub.store_failed", code=exc.code)
            self._safe_fault(fault(FaultCode.UNAVAILABLE, "the hub's store is unavailable"))
        except Exception as exc:  # noqa: BLE001 - the request boundary: answer, keep serving
            log.error("hub.internal_error", error=type(exc).__name__)
            self._safe_fault(fault(FaultCode.UNAVAILABLE, "internal error in the hub"))
        finally:
            log.debug(
                "hub.request",
                endpoint=self._route()[0],
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )

    def _safe_fault(self, error: HubError) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may be gone; nothing more to do
            self._send_fault(error)

    # ----- methods -----

    def do_GET(self) -> None:
        self._guard(self._get)

    def do_POST(self) -> None:
        self._guard(self._post)

    def _not_allowed(self) -> None:
        self._read_body_or_close(DEFAULT_MAX_BYTES)  # an unread body would reset the connection
        self.close_connection = True
        self._send_json(405, {"error": "method not allowed"})

    def do_PUT(self) -> None:
        self._guard(self._not_allowed)

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT  # noqa: N815 - the stdlib dispatches on these names

    def _get(self) -> None:
        path, query = self._route()
        if path == SERVICE_PATH:
            if "wsdl" in query:
                self._send(200, wsdl_document(self.server.hub.url), _XML)
            elif query.get("xsd") == [XSD_NAME]:
                self._send(200, xsd_document(), _XML)
            else:
                self._send_json(404, {"error": "use ?wsdl or POST a SOAP request"})
            return
        if path.startswith("/admin/"):
            self._admin_get(path)
            return
        self._send_json(404, {"error": "not found"})

    def _post(self) -> None:
        path, _ = self._route()
        if path == SERVICE_PATH:
            self._soap()
        elif path == "/admin/misbehaviour":
            self._admin_set_misbehaviour()
        else:
            self._read_body_or_close(DEFAULT_MAX_BYTES)
            self._send_json(404, {"error": "not found"})

    def _read_body_or_close(self, limit: int) -> bytes | None:
        try:
            return self._read_body(limit)
        except _Oversize:
            self.close_connection = True
            return None

    # ----- SOAP -----

    def _soap(self) -> None:
        hub = self.server.hub
        fingerprint = self._fingerprint()
        caller = hub.callers.get(fingerprint or "")
        try:
            try:
                body = self._read_body(DEFAULT_MAX_BYTES)
            except _Oversize as exc:
                if caller is None:
                    raise self._unregistered() from None
                raise fault(
                    FaultCode.BATCH_TOO_LARGE,
                    f"request is {exc.size} bytes; at most {DEFAULT_MAX_BYTES} bytes of XML "
                    "are accepted (LDI-TRN-04)",
                ) from None
            if caller is None:
                raise self._unregistered()
            self._misbehave_before()
            request = parse_request(body, max_bytes=DEFAULT_MAX_BYTES)
            if request.operation == "SubmitBatch":
                self._submit(caller, request.element, body)
            else:
                self._outcome(caller, request.element)
        except HubError as exc:
            log.info("hub.fault", code=exc.code, fingerprint=fingerprint)
            self._send_fault(exc)

    def _unregistered(self) -> HubError:
        return fault(
            FaultCode.UNAUTHORISED,
            "this client certificate is not in the accreditation register (LDI-TRN-03)",
        )

    def _misbehave_before(self) -> None:
        misbehaviour = self.server.hub.misbehaviour
        delay = misbehaviour.latency_seconds()
        if delay > 0:
            self.server.hub.stopping.wait(delay)
        hang = misbehaviour.hang()
        if hang is not None:
            self.server.hub.stopping.wait(hang)
            self._drop()
        if misbehaviour.unavailable():
            raise fault(FaultCode.UNAVAILABLE, "the hub is unavailable; retry later")

    def _submit(self, caller: Caller, element: Any, body: bytes) -> None:
        hub = self.server.hub
        records = count_records(element)
        if records <= SOAP_MAX_RECORDS:
            retry_after = hub.misbehaviour.throttle(records)
            if retry_after is not None:
                raise fault(
                    FaultCode.THROTTLED,
                    f"record rate over the limit; retry after {retry_after} seconds",
                    retry_after=retry_after,
                )
        receipt, created = hub.service.submit(
            caller, element, body, max_records=SOAP_MAX_RECORDS, transport="soap"
        )
        log.info(
            "hub.batch_received",
            batch_id=receipt.batch_id,
            records=receipt.record_count,
            state="new" if created else "resubmitted",
        )
        if created and hub.misbehaviour.drop_after_store():
            self._drop()
        self._send(200, response(receipt), _XML)

    def _outcome(self, caller: Caller, element: Any) -> None:
        hub = self.server.hub
        errors = validate_tree(element)
        if errors:
            first = errors[0]
            raise fault(FaultCode.SCHEMA_INVALID, first.message, line=first.line or None)
        try:
            request = from_element(element, BatchOutcomeRequest)
        except SchemaInvalid as exc:
            raise fault(FaultCode.SCHEMA_INVALID, exc.message, line=exc.line) from exc
        row = hub.service.find_batch(caller, request.batch_id)
        hold = hub.misbehaviour.hold_pending(request.batch_id)
        self._send(200, hub.service.outcome_response(row, hold_pending=hold), _XML)

    # ----- admin -----

    def _is_admin(self) -> bool:
        return (self._fingerprint() or "") in self.server.hub.admins

    def _forbidden(self) -> None:
        self.close_connection = True
        self._send_json(403, {"error": "this certificate is not a hub administrator"})

    def _admin_get(self, path: str) -> None:
        if not self._is_admin():
            self._forbidden()
            return
        store = self.server.hub.store
        parts = [unquote(p) for p in path.split("/")[2:]]
        result: Any = None
        if parts == ["status"]:
            result = status_report(store)
        elif parts == ["misbehaviour"]:
            result = self.server.hub.misbehaviour.config.model_dump()
        elif (
            len(parts) == 2 and parts[0] == "worklist" and parts[1] in ("NoMatch", "MultipleMatch")
        ):
            result = worklist(store, OutcomeStatus(parts[1]))
        elif len(parts) == 2 and parts[0] == "children":
            result = child_view(store, parts[1])
        elif len(parts) == 2 and parts[0] == "batches":
            result = batch_view(store, parts[1])
        elif len(parts) == 3 and parts[0] == "contributions":
            result = store.contribution(parts[1], parts[2])
        else:
            self._send_json(404, {"error": "not found"})
            return
        if result is None:
            self._send_json(404, {"error": "no such record"})
        else:
            self._send_json(200, result)

    def _admin_set_misbehaviour(self) -> None:
        body = self._read_body_or_close(64 * 1024)
        if not self._is_admin():
            self._forbidden()
            return
        if body is None:
            self._send_json(413, {"error": "body too large"})
            return
        try:
            config = MisbehaviourConfig.model_validate_json(body or b"{}")
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                for e in exc.errors(include_input=False)
            ]
            self._send_json(400, {"error": "invalid misbehaviour settings", "problems": problems})
            return
        self.server.hub.misbehaviour.configure(config)
        log.info("hub.misbehaviour_set", command="misbehaviour")
        self._send_json(200, config.model_dump())


def _discard(stream: Any, length: int) -> None:
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        remaining -= len(chunk)


class Hub:
    """The running reference hub: store, processing, HTTPS server and optional workers."""

    def __init__(self, config: HubConfig, *, store: Store | None = None) -> None:
        self.config = config
        self.store = store or Store.open(config.store.url)
        self.processor = Processor(self.store)
        inline = config.processing.mode == "inline"
        self.worker = None if inline else ProcessingWorker(config.store.url, config.log_level)
        self.service = HubService(
            self.store,
            self.processor,
            inline=inline,
            hand_over=self.worker.hand_over if self.worker is not None else None,
        )
        self.misbehaviour = Misbehaviour(config.misbehaviour)
        self.callers = {
            entry.fingerprint: Caller(
                la_code=entry.la_code,
                source_systems=frozenset(entry.source_systems),
                presented_by=entry.fingerprint,
            )
            for entry in config.accreditation
            if entry.fingerprint is not None
        }
        self.admins = frozenset(a.fingerprint for a in config.admins if a.fingerprint)
        self.files = FileProcessor(self.service, config.files.drops)
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        """The bound port (useful with ``listen.port: 0``)."""
        if self._server is None:
            return self.config.listen.port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL clients use: ``public_url``, else ``https://<listen host>:<port>``."""
        if self.config.public_url:
            return self.config.public_url
        host = self.config.listen.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
            host = "localhost"
        return f"https://{host}:{self.port}"

    def start(self) -> None:
        """Finish any batch a previous run left pending, bind, and start serving in threads."""
        if self.worker is None:
            self.processor.process_pending()
        else:
            self.worker.start()  # it finishes what is pending first
            self._spawn("hub-worker-watch", self._watch_worker)
        context = make_tls_context(self.config)
        listen = self.config.listen
        self._server = _Server((listen.host, listen.port), self, context)
        self._spawn("hub-http", self._server.serve_forever)
        if self.config.files.enabled and self.config.files.drops:
            self._spawn(
                "hub-files", lambda: self.files.run(self.stopping, self.config.files.poll_seconds)
            )
        log.info("hub.started", endpoint=self.url + SERVICE_PATH, port=self.port)

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _watch_worker(self) -> None:
        """Background mode: replace the processing process if it dies."""
        while not self.stopping.wait(1.0):
            if self.worker is not None:
                self.worker.ensure_running()

    def stop(self) -> None:
        """Stop serving and release the store; in-flight hangs are cut short."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.worker is not None:
            self.worker.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self.store.close()
        log.info("hub.stopped")
