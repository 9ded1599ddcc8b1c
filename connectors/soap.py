"""SOAP connector: reads a CMS or health system's web service page by page (zeep).

Health and early-years systems publish their children through SOAP operations of the form
"children changed since <date-time>", answered a page at a time with a continuation token. This
connector calls such an operation, described by the system's WSDL (URL or file), and streams one
:class:`~connectors.base.SourceRecord` per item, one page in memory at a time. Everything about
the operation is named in the config (:class:`SoapConfig`): parameter names, where the items and
the next-page token sit in the answer, the key and last-modified fields.

Case information never enters the pipeline: ``fields`` (and each related list's ``fields``) is
an allow-list, required, applied to every item before a record is built. A system's clinical
notes or safeguarding concerns are dropped here, not later by a mapping that might forget.

Failure is one :class:`~ldi.errors.SourceError` naming the source, translated once at this
module's boundary from requests/zeep exceptions (``raise ... from``), with a code an operator can
act on:

==============  ==========================================================================
SRC-CONNECT     endpoint unreachable: refused, name unknown, reset, no connection within the
                connect time-out (a firewall that drops packets looks like this)
SRC-TIMEOUT     connected, but no answer within the read time-out
SRC-TLS         certificate not trusted, host name mismatch, client certificate refused or
                unreadable TLS files; credentials refused over plain http
SRC-AUTH        WS-Security or HTTP authentication refused (fault FailedAuthentication,
                InvalidSecurity…, HTTP 401/403)
SRC-FAULT       any other SOAP fault or HTTP error; only the fault *code* is quoted, never the
                fault string, which a server may fill with record data
SRC-WSDL        the WSDL cannot be loaded or does not have the configured service, port,
                operation or parameters; or it imports documents from another origin
SRC-PROTOCOL    the answer does not have the configured shape (items path, allow-listed
                fields), is not well-formed, declares a DTD, or repeats a page token
SRC-WATERMARK   the ``since`` watermark is not an ISO 8601 date-time
==============  ==========================================================================

Incremental reads: ``read(since=W)`` sends ``W`` (the greatest change marker of the last run;
markers are ISO 8601, aware values in UTC, so they sort as text) as the since parameter. Whether
the service treats it as inclusive is its business; the demo's is inclusive, which re-reads the
records stamped exactly at ``W`` (the delta stage drops the unchanged copies) instead of losing
records written in the same second. ``examples/sources-soap.yaml`` shows a complete source.

Security choices: TLS verification is always on (a CA bundle or the system store; there is no
switch to turn it off); WS-Security credentials are never sent over plain http; proxies come
from the config only, not from the environment; zeep's wire logging is silenced because it would
write whole answers (personal data) to the log; the WSDL may import schemas only from its own
origin (same scheme, host and port, or for a file the same folder tree), so a tampered WSDL
cannot make the adapter fetch arbitrary URLs; DTDs and entities are refused in every document.
"""

from __future__ import annotations

import hashlib
import json
import logging
import ssl
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timezone
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
import structlog
import zeep
import zeep.exceptions
import zeep.helpers
import zeep.proxy
import zeep.transports
import zeep.wsse.username
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.base import (
    ConnectorConfig,
    ConnectorContext,
    Provenance,
    Quarantined,
    ReadReport,
    SourceRecord,
)
from ldi.errors import SourceError

__all__ = [
    "FieldPathError",
    "RelatedList",
    "SoapConfig",
    "SoapConnector",
    "select_fields",
    "translate_error",
]

log = structlog.get_logger(__name__)

# zeep ships py.typed but most of its functions are unannotated; mypy --strict refuses calls to
# them, so the calls go through these Any-typed module handles instead of one ignore per call.
_zeep: Any = zeep
_zeep_exceptions: Any = zeep.exceptions
_zeep_helpers: Any = zeep.helpers
_zeep_proxy: Any = zeep.proxy
_zeep_wsse: Any = zeep.wsse.username

#: Local names of fault codes that mean "your credentials were refused".
AUTH_FAULTS = frozenset(
    {
        "FailedAuthentication",
        "InvalidSecurity",
        "InvalidSecurityToken",
        "SecurityTokenUnavailable",
        "UNAUTHORISED",
        "Unauthorized",
        "Unauthorised",
    }
)
_FAULT_CODE_MAX = 80


# --------------------------------------------------------------------------- configuration


def _dotted(value: str) -> str:
    parts = value.split(".")
    if not all(p.strip() == p and p for p in parts):
        raise ValueError("must be element names separated by dots, e.g. Children.Child")
    return value


class RelatedList(BaseModel):
    """A list inside each item carried as related rows (e.g. the child's involvements)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="Dotted path inside the item, e.g. Involvements.Involvement")
    fields: tuple[str, ...] = Field(
        min_length=1, description="Allow-list of the row's fields (dotted paths allowed)"
    )

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return _dotted(value)

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_dotted(v) for v in value)


class SoapConfig(ConnectorConfig):
    """``sources[].options`` of a ``kind: soap`` source."""

    wsdl: str = Field(description="WSDL location: http(s) URL, file:// URL or a file path")
    endpoint: str | None = Field(
        default=None, description="SOAP address to call instead of the WSDL's soap:address"
    )
    service: str | None = Field(default=None, description="wsdl:service name (default: first)")
    port: str | None = Field(default=None, description="wsdl:port name (default: first)")
    operation: str = Field(description="Operation to call, e.g. GetChildrenChangedSince")
    since_param: str | None = Field(
        default="since", description="Parameter taking the watermark; none: full reads only"
    )
    page_token_param: str = Field(default="pageToken", description="Parameter taking the token")
    page_size_param: str | None = Field(
        default="pageSize", description="Parameter taking the page size; none: service decides"
    )
    page_size: int = Field(default=100, ge=1, le=10_000)
    items_path: str = Field(description="Dotted path to the item list in the answer")
    next_token_path: str = Field(
        default="nextPageToken", description="Dotted path to the next-page token in the answer"
    )
    key_field: str = Field(description="Item field holding the stable source key")
    change_marker_field: str | None = Field(
        default=None,
        description="Item field holding the last-modified time; none: a content hash",
    )
    fields: tuple[str, ...] = Field(
        min_length=1,
        description="Allow-list of item fields kept (dotted paths allowed); all else is dropped",
    )
    related: dict[str, RelatedList] = Field(
        default_factory=dict, description="Lists inside each item kept as related rows"
    )
    connect_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    read_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    ca_bundle: Path | None = Field(
        default=None, description="CA certificates to trust (default: the system store)"
    )
    client_certificate: Path | None = Field(default=None, description="PEM, for mutual TLS")
    client_key: Path | None = Field(default=None, description="PEM key of client_certificate")
    username: str | None = Field(default=None, description="WS-Security UsernameToken user")
    password: SecretStr | None = Field(default=None, description="Normally ${ENV_VAR}")
    password_digest: bool = Field(
        default=False, description="Send PasswordDigest (nonce + created) instead of PasswordText"
    )
    proxy: str | None = Field(
        default=None, description="HTTP(S) proxy URL; the environment's proxies are not used"
    )

    @field_validator("items_path", "next_token_path", "key_field", "change_marker_field")
    @classmethod
    def _paths(cls, value: str | None) -> str | None:
        return None if value is None else _dotted(value)

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_dotted(v) for v in value)

    @field_validator("endpoint", "proxy")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _pairs(self) -> SoapConfig:
        if (self.client_certificate is None) != (self.client_key is None):
            raise ValueError("client_certificate and client_key go together")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.username is not None and self.endpoint and self.endpoint.startswith("http:"):
            raise ValueError("WS-Security credentials are sent over https only")
        return self


# --------------------------------------------------------------------------- errors


def _public_url(url: str) -> str:
    """``url`` without user info, query or fragment: safe to print."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps (cause, context, urllib3 ``reason``, args)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                todo.append(linked)
        todo.extend(a for a in current.args if isinstance(a, BaseException))


def _reason(exc: BaseException) -> str:
    """A short, data-free reason: the TLS verify message, an OS error text, or a class name."""
    for inner in _chain(exc):
        if isinstance(inner, ssl.SSLCertVerificationError) and inner.verify_message:
            return str(inner.verify_message)
    for inner in _chain(exc):
        if isinstance(inner, ssl.SSLError) and getattr(inner, "reason", None):
            return str(inner.reason).lower().replace("_", " ")
    for inner in _chain(exc):
        if isinstance(inner, OSError) and inner.strerror:
            return str(inner.strerror)
    return exc.__class__.__name__


def _fault_code(code: object) -> str:
    text = str(code or "").strip()
    allowed = text.replace(":", "").replace(".", "").replace("-", "").replace("_", "")
    if not text or len(text) > _FAULT_CODE_MAX or not allowed.isalnum() or not allowed.isascii():
        return "(unrecognised code)"
    return text


def translate_error(
    exc: BaseException,
    *,
    source: str,
    action: str,
    url: str,
    connect_timeout: float,
    read_timeout: float,
) -> SourceError:
    """The one :class:`SourceError` for a requests/zeep/OS failure while doing ``action``.

    ``action`` says what was being done ("loading the WSDL", "calling Op (page 3)"); it decides
    whether a malformed document is a WSDL problem or a protocol problem.
    """
    where = _public_url(url)
    loading = action.startswith("loading")
    target = urlsplit(url)
    hostport = f"{target.hostname}:{target.port}" if target.port else (target.hostname or where)

    def error(code: str, message: str) -> SourceError:
        return SourceError(f"{action}: {message}", source=source, code=code)

    if isinstance(exc, requests.exceptions.SSLError):
        return error("SRC-TLS", f"TLS with {where} failed ({_reason(exc)})")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return error("SRC-CONNECT", f"no connection to {hostport} within {connect_timeout:g} s")
    if isinstance(exc, requests.exceptions.ReadTimeout | TimeoutError):
        return error("SRC-TIMEOUT", f"no answer from {where} within {read_timeout:g} s")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return error("SRC-CONNECT", f"cannot connect to {hostport} ({_reason(exc)})")
    if isinstance(exc, requests.exceptions.RequestException):
        return error("SRC-CONNECT", f"request to {where} failed ({exc.__class__.__name__})")
    if isinstance(exc, zeep.exceptions.Fault):
        code = _fault_code(exc.code)
        if code.rpartition(":")[2] in AUTH_FAULTS:
            return error("SRC-AUTH", f"the service refused the credentials (fault {code})")
        return error("SRC-FAULT", f"the service answered a SOAP fault (code {code})")
    if isinstance(exc, zeep.exceptions.TransportError):
        status = int(exc.status_code or 0)
        if status in (401, 403):
            return error("SRC-AUTH", f"the service refused access (HTTP {status})")
        return error("SRC-FAULT", f"the service answered HTTP {status} without a SOAP message")
    if isinstance(exc, zeep.exceptions.ExternalReferenceForbidden):
        return error("SRC-WSDL", "the WSDL imports a document from another origin")
    if isinstance(exc, zeep.exceptions.DTDForbidden | zeep.exceptions.EntitiesForbidden):
        return error(
            "SRC-WSDL" if loading else "SRC-PROTOCOL", "the document declares a DTD or entities"
        )
    if isinstance(exc, zeep.exceptions.Error):
        what = "the WSDL is not usable" if loading else "the answer does not match the WSDL"
        return error(
            "SRC-WSDL" if loading else "SRC-PROTOCOL", f"{what} ({exc.__class__.__name__})"
        )
    if isinstance(exc, OSError):
        return error(
            "SRC-WSDL" if loading else "SRC-CONNECT", f"cannot read {where} ({_reason(exc)})"
        )
    return error("SRC-ERROR", f"failed ({exc.__class__.__name__})")


#: What the boundary catches: the libraries' own exception roots, nothing broader.
_LIBRARY_ERRORS = (requests.exceptions.RequestException, zeep.exceptions.Error, OSError)


# --------------------------------------------------------------------------- transport


class _WireTransport(zeep.transports.Transport):
    """zeep's transport, silent, and fetching WSDL imports from the WSDL's own origin only."""

    def __init__(self, wsdl: str, session: requests.Session, timeout: tuple[float, float]) -> None:
        super().__init__(  # type: ignore[no-untyped-call]  # zeep is unannotated
            timeout=timeout, operation_timeout=timeout, session=session
        )
        # zeep logs whole requests and answers at DEBUG: that would be personal data in logs.
        self.logger = logging.Logger("connectors.soap.wire", logging.CRITICAL)
        self._origin = self._origin_of(wsdl)

    @staticmethod
    def _origin_of(location: str) -> tuple[str, str]:
        parts = urlsplit(location)
        if parts.scheme in ("http", "https"):
            return (parts.scheme, parts.netloc.lower())
        path = parts.path if parts.scheme == "file" else location
        return ("file", str(Path(path).expanduser().resolve().parent))

    def load(self, url: str) -> bytes:
        scheme, where = self._origin_of(url)
        if (scheme, where) == self._origin or (
            scheme == "file"
            and self._origin[0] == "file"
            and Path(where).is_relative_to(self._origin[1])
        ):
            return bytes(super().load(url))  # type: ignore[no-untyped-call]
        raise _zeep_exceptions.ExternalReferenceForbidden(_public_url(url))


# --------------------------------------------------------------------------- selection


class FieldPathError(LookupError):
    """A configured path (allow-list, items, key) does not exist in the answer; ``known``
    lists the names that do exist at that level (element names, never values)."""

    def __init__(self, path: str, known: Sequence[str]) -> None:
        super().__init__(path)
        self.path = path
        self.known = sorted(known)


def select_fields(
    value: Mapping[str, Any], paths: Sequence[str], prefix: str = ""
) -> dict[str, Any]:
    """The parts of ``value`` named by ``paths`` (dotted; a name keeps its whole subtree)."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        head, _, rest = path.partition(".")
        groups.setdefault(head, []).append(rest)
    out: dict[str, Any] = {}
    for head, rests in groups.items():
        if head not in value:
            raise FieldPathError(prefix + head, list(value))
        sub = value[head]
        deeper = [r for r in rests if r]
        if sub is None or len(deeper) < len(rests):
            out[head] = sub
        elif isinstance(sub, Mapping):
            out[head] = select_fields(sub, deeper, f"{prefix}{head}.")
        elif isinstance(sub, list):
            if any(not isinstance(e, Mapping) for e in sub):
                raise FieldPathError(f"{prefix}{head}.{deeper[0]}", [])
            out[head] = [select_fields(e, deeper, f"{prefix}{head}.") for e in sub]
        else:
            raise FieldPathError(f"{prefix}{head}.{deeper[0]}", [])
    return out


def _at(value: Any, path: str) -> Any:
    """The value at dotted ``path``; ``None`` through an absent optional part."""
    walked = ""
    for part in path.split("."):
        if value is None:
            return None
        if not isinstance(value, Mapping) or part not in value:
            raise FieldPathError(walked + part, list(value) if isinstance(value, Mapping) else [])
        value = value[part]
        walked += part + "."
    return value


def _plain(value: Any) -> Any:
    """``value`` with zeep's tz objects replaced by stdlib ones (same instant, same offset)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime) and value.tzinfo is not None:
        offset = value.utcoffset()
        return value.astimezone(UTC if not offset else timezone(offset))
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _marker(value: Any) -> str:
    """A change marker that sorts as it should: aware date-times normalised to UTC."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _content_hash(fields: Mapping[str, Any], related: Mapping[str, Any]) -> str:
    data = json.dumps([fields, related], sort_keys=True, default=_marker, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- the connector


class SoapConnector:
    """Streams the items of a paged "changed since" SOAP operation as SourceRecords."""

    config_model: ClassVar[type[ConnectorConfig]] = SoapConfig

    def __init__(self, config: SoapConfig, context: ConnectorContext) -> None:
        self.config = config
        self.context = context
        self._session: requests.Session | None = None
        self._proxy: Any = None  # zeep ServiceProxy, built on first use
        self._address = ""

    # ----- boundary

    def _fail(self, exc: BaseException, action: str, url: str) -> SourceError:
        return translate_error(
            exc,
            source=self.context.source_name,
            action=action,
            url=url,
            connect_timeout=self.config.connect_timeout_seconds,
            read_timeout=self.config.read_timeout_seconds,
        )

    def _error(self, code: str, message: str) -> SourceError:
        return SourceError(message, source=self.context.source_name, code=code)

    # ----- connecting

    def _new_session(self) -> requests.Session:
        config = self.config
        for label, path in (
            ("ca_bundle", config.ca_bundle),
            ("client_certificate", config.client_certificate),
            ("client_key", config.client_key),
        ):
            if path is not None and not path.is_file():
                raise self._error("SRC-TLS", f"{label} {path} is not a readable file")
        session = requests.Session()
        session.trust_env = False  # proxies and CA bundles come from the config, not the env
        session.verify = str(config.ca_bundle) if config.ca_bundle else True
        if config.client_certificate is not None and config.client_key is not None:
            session.cert = (str(config.client_certificate), str(config.client_key))
        if config.proxy is not None:
            session.proxies = {"http": config.proxy, "https": config.proxy}
        return session

    def _wsdl_location(self) -> str:
        wsdl = self.config.wsdl
        if urlsplit(wsdl).scheme in ("http", "https", "file"):
            return wsdl
        return str(Path(wsdl).expanduser().resolve())

    def _connect(self) -> Any:
        if self._proxy is not None:
            return self._proxy
        config = self.config
        session = self._new_session()
        self._session = session
        location = self._wsdl_location()
        timeout = (config.connect_timeout_seconds, config.read_timeout_seconds)
        transport = _WireTransport(location, session, timeout)
        settings = zeep.Settings(
            strict=True, forbid_dtd=True, forbid_entities=True, xml_huge_tree=False
        )
        wsse = None
        if config.username is not None and config.password is not None:
            wsse = _zeep_wsse.UsernameToken(
                config.username,
                config.password.get_secret_value(),
                use_digest=config.password_digest,
            )
        try:
            client = _zeep.Client(location, wsse=wsse, transport=transport, settings=settings)
        except _LIBRARY_ERRORS as exc:
            raise self._fail(exc, "loading the WSDL", location) from exc
        binding, address = self._binding(client)
        self._check_operation(binding)
        if wsse is not None and urlsplit(address).scheme != "https":
            raise self._error(
                "SRC-TLS", f"refusing to send WS-Security credentials to {_public_url(address)}"
            )
        self._address = address
        self._proxy = _zeep_proxy.ServiceProxy(client, binding, address=address)
        return self._proxy

    def _binding(self, client: Any) -> tuple[Any, str]:
        services = client.wsdl.services
        name = self.config.service or next(iter(services), None)
        if name is None or name not in services:
            raise self._error("SRC-WSDL", f"the WSDL has no service {name!r}")
        ports = services[name].ports
        port_name = self.config.port or next(iter(ports), None)
        if port_name is None or port_name not in ports:
            raise self._error("SRC-WSDL", f"service {name!r} has no port {port_name!r}")
        port = ports[port_name]
        address = self.config.endpoint or port.binding_options.get("address")
        if not address:
            raise self._error("SRC-WSDL", f"port {port_name!r} has no address; set endpoint")
        return port.binding, str(address)

    def _check_operation(self, binding: Any) -> None:
        config = self.config
        try:
            operation = binding.get(config.operation)
        except ValueError as exc:
            raise self._error(
                "SRC-WSDL", f"the WSDL has no operation {config.operation!r}"
            ) from exc
        body = getattr(operation.input, "body", None)
        accepted = {name for name, _ in getattr(getattr(body, "type", None), "elements", [])}
        for param in (config.since_param, config.page_token_param, config.page_size_param):
            if param is not None and param not in accepted:
                known = ", ".join(sorted(accepted)) or "none"
                raise self._error(
                    "SRC-WSDL",
                    f"operation {config.operation!r} takes no parameter {param!r} "
                    f"(it takes: {known})",
                )

    # ----- paging

    def _call(self, page: int, params: dict[str, Any]) -> dict[str, Any]:
        proxy = self._connect()
        action = f"calling {self.config.operation} (page {page})"
        try:
            answer = getattr(proxy, self.config.operation)(**params)
            plain = _plain(_zeep_helpers.serialize_object(answer, dict))
        except _LIBRARY_ERRORS as exc:
            raise self._fail(exc, action, self._address) from exc
        if not isinstance(plain, dict):
            raise self._error("SRC-PROTOCOL", f"{action}: the answer is not a structure")
        return plain

    def _since(self, since: str | None) -> datetime | None:
        """The watermark to send; none when the service or the markers cannot use one.

        With content-hash markers (no ``change_marker_field``) a watermark means nothing, so
        every read is full and the delta stage finds the changes by hash.
        """
        config = self.config
        if since is None or config.since_param is None or config.change_marker_field is None:
            return None
        try:
            return datetime.fromisoformat(since)
        except ValueError as exc:
            raise self._error(
                "SRC-WATERMARK", "the since watermark is not an ISO 8601 date-time"
            ) from exc

    def _pages(
        self, since: datetime | None, page_size: int, *, max_pages: int | None = None
    ) -> Iterator[tuple[int, list[Any]]]:
        """(page number, items) for each page, requesting the next only when asked."""
        config = self.config
        token: str | None = None
        seen: set[bytes] = set()
        page = 0
        while max_pages is None or page < max_pages:
            page += 1
            params: dict[str, Any] = {}
            if since is not None and config.since_param is not None:
                params[config.since_param] = since
            if config.page_size_param is not None:
                params[config.page_size_param] = page_size
            if token is not None:
                params[config.page_token_param] = token
            answer = self._call(page, params)
            try:
                items = _as_list(_at(answer, config.items_path))
                next_token = _at(answer, config.next_token_path)
            except FieldPathError as exc:
                raise self._shape_error(exc, page, "items_path/next_token_path") from exc
            del answer
            yield page, items
            if next_token is None or not str(next_token).strip():
                return
            token = str(next_token)
            digest = hashlib.sha256(token.encode("utf-8")).digest()
            if digest in seen:
                raise self._error(
                    "SRC-PROTOCOL",
                    f"calling {config.operation} (page {page}): the service repeated a page "
                    "token; stopping instead of looping",
                )
            seen.add(digest)

    def _shape_error(self, exc: FieldPathError, page: int, setting: str) -> SourceError:
        known = f" (it has: {', '.join(exc.known)})" if exc.known else ""
        return self._error(
            "SRC-PROTOCOL",
            f"calling {self.config.operation} (page {page}): the answer has no "
            f"{exc.path!r}{known}; check {setting}",
        )

    def _record(self, item: Any, page: int, index: int, report: ReadReport) -> SourceRecord | None:
        config = self.config
        where = f"page {page} item {index}"
        if not isinstance(item, Mapping):
            report.quarantine(
                Quarantined(config.operation, "SRC-PROTOCOL", f"{where}: not a structure")
            )
            return None
        try:
            key = _at(item, config.key_field)
            fields = select_fields(item, config.fields)
            related = {
                name: [
                    select_fields(row, spec.fields, f"{spec.path}.")
                    if isinstance(row, Mapping)
                    else row
                    for row in _as_list(_at(item, spec.path))
                ]
                for name, spec in config.related.items()
            }
            stamp = _at(item, config.change_marker_field) if config.change_marker_field else None
        except FieldPathError as exc:
            raise self._shape_error(exc, page, "fields, related and key_field") from exc
        key_text = "" if key is None else str(key).strip()
        if not key_text:
            report.quarantine(
                Quarantined(config.operation, "SRC-NO-KEY", f"{where}: no {config.key_field} value")
            )
            return None
        return SourceRecord(
            key=key_text,
            fields=fields,
            related=related,
            change_marker=_marker(stamp) if stamp is not None else _content_hash(fields, related),
            provenance=Provenance(config.operation, f"{where} {config.key_field}={key_text}"),
        )

    # ----- the Connector protocol

    def read(self, report: ReadReport, *, since: str | None = None) -> Iterator[SourceRecord]:
        """Stream every item (or those changed at/after ``since``), one page in memory."""
        watermark = self._since(since)
        for page, items in self._pages(watermark, self.config.page_size):
            for index, item in enumerate(items, start=1):
                record = self._record(item, page, index, report)
                if record is not None:
                    yield record
            report.units_read += 1
            log.debug("soap.page_read", source=self.context.source_name, count=len(items))

    def sample(self, limit: int) -> list[SourceRecord]:
        """Up to ``limit`` records from one page (no watermark, no side effects)."""
        report = ReadReport()
        size = max(1, min(limit, self.config.page_size))
        out: list[SourceRecord] = []
        for page, items in self._pages(None, size, max_pages=1):
            for index, item in enumerate(items[:limit], start=1):
                record = self._record(item, page, index, report)
                if record is not None:
                    out.append(record)
        return out

    def close(self) -> None:
        """Close the HTTP session; idempotent (a later read connects again)."""
        if self._session is not None:
            self._session.close()
        self._session = None
        self._proxy = None
