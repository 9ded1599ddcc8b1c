"""hub.yaml, parsed once into typed models at the edge (see hub/README.md for every key).

Everything below the CLI receives a :class:`HubConfig`, never raw dicts. Relative paths are
resolved against the directory holding hub.yaml, so a config file and its certificates can move
together. Register and admin entries may name a certificate file instead of a fingerprint; the
fingerprint (:func:`adapter.pki.fingerprint_pem`, SHA-256 of the DER) is computed here, once, so
the server only ever compares fingerprints (LDI-TRN-03).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from adapter.pki import PkiError, fingerprint_pem
from adapter.yaml_locations import clean_loc, located, yaml_path
from ldi.errors import ConfigError
from ldi.identifiers import is_valid_la_code

_FINGERPRINT = r"^[0-9a-f]{64}$"
_SOURCE_SYSTEM = re.compile(r"[A-Z0-9]{3,12}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListenConfig(_Model):
    host: str = Field(default="127.0.0.1", description="Address to bind")
    port: int = Field(default=8443, ge=0, le=65535, description="0 picks a free port")


class TlsConfig(_Model):
    certificate: Path = Field(description="The hub's server certificate (PEM)")
    key: Path = Field(description="The hub's private key (PEM)")
    client_ca: Path = Field(description="CA bundle that client certificates must chain to")
    minimum_version: Literal["1.2", "1.3"] = Field(default="1.2", description="LDI-TRN-02")


class StoreConfig(_Model):
    url: str = Field(
        default="sqlite:///var/hub/hub.db",
        description="SQLAlchemy URL; a relative SQLite path is relative to hub.yaml",
    )


class ProcessingConfig(_Model):
    mode: Literal["inline", "background"] = Field(
        default="inline",
        description="inline: a batch is processed before its receipt is sent (Complete at the "
        "first poll); background: a worker process processes stored batches on the second "
        "core (the first polls may be Pending)",
    )


class _Identity(_Model):
    """A client certificate, by fingerprint or by a PEM file whose fingerprint is computed."""

    fingerprint: str | None = Field(default=None, pattern=_FINGERPRINT)
    certificate: Path | None = None
    label: str | None = Field(default=None, description="For humans; never used to decide")

    @model_validator(mode="after")
    def _one_of(self) -> _Identity:
        if (self.fingerprint is None) == (self.certificate is None):
            raise ValueError("give exactly one of fingerprint or certificate")
        return self


class RegisterEntry(_Identity):
    """LDI-TRN-03: one accepted client certificate, its LA and its source systems."""

    la_code: str
    source_systems: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes(self) -> RegisterEntry:
        if not is_valid_la_code(self.la_code):
            raise ValueError("la_code must be a DfE LA code, 3 digits 201-938")
        for system in self.source_systems:
            if not _SOURCE_SYSTEM.fullmatch(system):
                raise ValueError(f"source system id {system!r} must match [A-Z0-9]{{3,12}}")
        return self


class AdminEntry(_Identity):
    """A client certificate allowed to call /admin/*."""


class FileDrop(_Model):
    """One SFTP account's directory: its inbound/ and outbound/ folders (LDI-TRN-11/12)."""

    user: str = Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$", description="SFTP user name")
    directory: Path = Field(description="The account's root, holding inbound/ and outbound/")
    la_code: str
    source_systems: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes(self) -> FileDrop:
        if not is_valid_la_code(self.la_code):
            raise ValueError("la_code must be a DfE LA code, 3 digits 201-938")
        for system in self.source_systems:
            if not _SOURCE_SYSTEM.fullmatch(system):
                raise ValueError(f"source system id {system!r} must match [A-Z0-9]{{3,12}}")
        return self


class FilesConfig(_Model):
    enabled: bool = Field(default=False, description="Poll the drops inside `hub serve`")
    poll_seconds: float = Field(default=1.0, gt=0)
    drops: list[FileDrop] = Field(default_factory=list)


class MisbehaviourConfig(_Model):
    """Deliberate faults for reliability tests; every random choice comes from ``seed``."""

    seed: int = 0
    records_per_second: float | None = Field(
        default=None, gt=0, description="Above this, SubmitBatch answers THROTTLED"
    )
    unavailable_probability: float = Field(default=0.0, ge=0, le=1)
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    hang_probability: float = Field(default=0.0, ge=0, le=1)
    hang_seconds: float = Field(default=30.0, gt=0, le=3600)
    drop_after_store_probability: float = Field(default=0.0, ge=0, le=1)
    pending_polls: int = Field(default=0, ge=0)


class HubConfig(_Model):
    """The whole of hub.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    listen: ListenConfig = ListenConfig()
    public_url: str | None = Field(
        default=None,
        pattern=r"^https://[^/?#]+$",
        description="https://host:port the WSDL advertises; default from listen",
    )
    tls: TlsConfig
    store: StoreConfig = StoreConfig()
    processing: ProcessingConfig = ProcessingConfig()
    accreditation: list[RegisterEntry] = Field(
        default_factory=list,
        alias="register",
        description="LDI-TRN-03: client certificate -> LA code and source systems",
    )
    admins: list[AdminEntry] = Field(default_factory=list)
    files: FilesConfig = FilesConfig()
    misbehaviour: MisbehaviourConfig = MisbehaviourConfig()
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _unique_fingerprints(self) -> HubConfig:
        seen: set[str] = set()
        for entry in self.accreditation:
            if entry.fingerprint is not None and entry.fingerprint in seen:
                raise ValueError("a certificate appears twice in register")
            seen.add(entry.fingerprint or "")
        users = [d.user for d in self.files.drops]
        if len(users) != len(set(users)):
            raise ValueError("an SFTP user appears twice in files.drops")
        url = self.store.url
        if self.processing.mode == "background" and (
            url in ("sqlite://", "sqlite:///") or ":memory:" in url
        ):
            raise ValueError(
                "processing.mode background runs a second process: the store must be a file "
                "or a database server, not in-memory SQLite"
            )
        return self


def _resolve(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else (base / path)


def _resolve_store_url(url: str, base: Path) -> str:
    """Make a relative SQLite file path relative to hub.yaml (``sqlite:///rel/path.db``)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((base / url[len(prefix) :]).resolve())
    return url


def _with_fingerprint(entry: _Identity, base: Path, where: str) -> dict[str, object]:
    data = entry.model_dump()
    if entry.certificate is not None:
        cert = _resolve(entry.certificate, base)
        try:
            data["fingerprint"] = fingerprint_pem(cert)
        except PkiError as exc:
            raise ConfigError(exc.message, location=where) from exc
        data["certificate"] = None
    return data


def _resolved(config: HubConfig, base: Path) -> HubConfig:
    """Absolute paths, store URL and fingerprints: what the rest of the hub relies on."""
    register = [
        RegisterEntry.model_validate(_with_fingerprint(e, base, f"register[{i}]"))
        for i, e in enumerate(config.accreditation)
    ]
    fingerprints = [e.fingerprint for e in register]
    if len(fingerprints) != len(set(fingerprints)):
        raise ConfigError("a certificate appears twice in register", location="register")
    admins = [
        AdminEntry.model_validate(_with_fingerprint(e, base, f"admins[{i}]"))
        for i, e in enumerate(config.admins)
    ]
    tls = config.tls.model_copy(
        update={
            "certificate": _resolve(config.tls.certificate, base),
            "key": _resolve(config.tls.key, base),
            "client_ca": _resolve(config.tls.client_ca, base),
        }
    )
    drops = [
        d.model_copy(update={"directory": _resolve(d.directory, base)}) for d in config.files.drops
    ]
    return config.model_copy(
        update={
            "accreditation": register,
            "admins": admins,
            "tls": tls,
            "store": StoreConfig(url=_resolve_store_url(config.store.url, base)),
            "files": config.files.model_copy(update={"drops": drops}),
        }
    )


def parse_config(raw: object, *, base: Path, source: str = "hub.yaml") -> HubConfig:
    """Validate already-loaded YAML data; ConfigError naming each problem's YAML path."""
    try:
        config = HubConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{yaml_path(clean_loc(tuple(e['loc'])))}: {e['msg']}"
            for e in exc.errors(include_input=False)
        ]
        raise ConfigError("; ".join(problems), location=source) from exc
    return _resolved(config, base)


def load_config(path: Path) -> HubConfig:
    """Load and validate hub.yaml; ConfigError with YAML path and line for every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read ({exc.__class__.__name__})", location=str(path)) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("not valid YAML", location=str(path)) from exc
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be a mapping", location=str(path))
    try:
        config = HubConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [
            located(node, tuple(e["loc"]), e["msg"]) for e in exc.errors(include_input=False)
        ]
        raise ConfigError("; ".join(problems), location=str(path)) from exc
    return _resolved(config, path.parent.resolve())
