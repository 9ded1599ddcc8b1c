"""config.yaml, parsed once into typed models at the edge.

Everything below this module receives these objects, never raw dicts or environment lookups.
``${NAME}`` in a string value is replaced from the environment at load time (secrets belong
there, or in files, never in the YAML); a missing variable is an error naming its YAML path.
Each problem is reported with its YAML path and line: ``sources[2].options.url (line 31): …``.

Connector-specific settings (``sources[].options``) are validated by the connector's own model,
found through the registry (:mod:`adapter.registry`) by the source's ``kind``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SkipValidation,
    ValidationError,
    field_validator,
    model_validator,
)

from adapter import registry
from adapter.yaml_locations import located, yaml_path
from ldi.errors import ConfigError
from ldi.identifiers import is_valid_la_code

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organisation(_Model):
    la_code: str = Field(description="DfE LA code of the accountable body (201-938)")
    name: str = Field(description="Display name; appears in reports, never on the wire")

    @field_validator("la_code")
    @classmethod
    def _la_code(cls, value: str) -> str:
        if not is_valid_la_code(value):
            raise ValueError("must be a DfE LA code, 3 digits 201-938")
        return value


class StoreConfig(_Model):
    url: str = Field(
        default="sqlite:///var/cpadapter.db",
        description="SQLAlchemy URL of the store (SQLite default; PostgreSQL in production)",
    )
    encryption_key_file: Path | None = Field(
        default=Path("certs/store.key"), description="AES-GCM key for payloads at rest (TA-SEC-02)"
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description="Key as base64, normally ${CPADAPTER_STORE_KEY}; wins over the file",
    )
    prune_sent_after_days: int = Field(default=30, ge=1)
    busy_timeout_seconds: float = Field(
        default=30.0, gt=0, description="SQLite: how long a writer waits for the lock"
    )


class SourceConfig(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$", description="Short name used in commands")
    kind: str = Field(description="Registered connector, e.g. sql, sftp, localdir, soap")
    source_system: str = Field(
        pattern=r"^[A-Z0-9]{3,12}$", description="Source system id issued at accreditation"
    )
    mapping: Path | None = Field(default=None, description="Mapping file for this source")
    schedule: str | None = Field(default=None, description="Cron expression, Europe/London")
    enabled: bool = True
    snapshot: Literal["full", "incremental"] = "full"
    # SkipValidation: pydantic would otherwise turn the dict into an empty bare BaseModel.
    options: Annotated[BaseModel | dict[str, Any], SkipValidation] = Field(
        default_factory=dict, description="Settings of the connector named by kind"
    )

    @model_validator(mode="after")
    def _connector_options(self) -> SourceConfig:
        if isinstance(self.options, BaseModel):
            return self
        connector = registry.load(registry.CONNECTORS, self.kind)
        try:
            typed = connector.config_model.model_validate(self.options)
        except ValidationError as exc:  # one line per problem, never the (secret) input
            raise ValueError(
                "; ".join(
                    "options" + "".join(f".{part}" for part in e["loc"]) + f": {e['msg']}"
                    for e in exc.errors(include_input=False)
                )
            ) from None
        object.__setattr__(self, "options", typed)
        return self


class TlsConfig(_Model):
    client_certificate: Path = Path("certs/client.pem")
    client_key: Path = Path("certs/client.key")
    ca_bundle: Path = Path("certs/ca.pem")


class RateConfig(_Model):
    """Ramp-up: start slow, step up every interval, never above the ceiling (TA-THR-01)."""

    start_per_second: float | None = Field(default=None, gt=0)
    step_per_second: float = Field(default=0, ge=0)
    step_interval_seconds: float = Field(default=60, gt=0)
    ceiling_per_second: float | None = Field(default=None, gt=0)


class RetryConfig(_Model):
    max_attempts: int = Field(default=8, ge=1)
    initial_backoff_seconds: float = Field(default=1.0, gt=0)
    max_backoff_seconds: float = Field(default=300.0, gt=0)


class SftpConfig(_Model):
    """LDI-TRN-10…12: SFTP bulk transport, public-key login, pinned host key."""

    host: str = Field(default="localhost")
    port: int = Field(default=22, ge=1, le=65535)
    user: str = Field(default="cpadapter")
    key_file: Path = Field(default=Path("certs/sftp_client_key"), description="Private key")
    known_hosts: Path = Field(
        default=Path("certs/known_hosts"), description="Pinned host key (LDI-TRN-10)"
    )
    remote_dir: str = Field(default=".", description="Folder holding inbound/ and outbound/")
    batch_size: int = Field(default=10_000, ge=1, le=50_000, description="LDI-TRN-11: ≤ 50,000")


class DeliveryConfig(_Model):
    transport: str = Field(default="soap", description="Registered transport: soap or sftp")
    endpoint: str = Field(default="https://localhost:8443/ldi/v1")
    tls: TlsConfig = TlsConfig()
    batch_size: int = Field(default=1000, ge=1, le=1000, description="LDI-TRN-04: at most 1,000")
    timeout_seconds: float = Field(default=30.0, gt=0)
    rate: RateConfig = RateConfig()
    retry: RetryConfig = RetryConfig()
    poll_interval_seconds: float = Field(
        default=1.0, gt=0, description="Wait between GetBatchOutcome polls of a Pending batch"
    )
    lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A worker's claim on a batch; expired claims are taken over",
    )
    max_open_batches: int = Field(
        default=16, ge=1, description="Batches at the hub awaiting an outcome before forming more"
    )
    lanes: int = Field(
        default=2,
        ge=1,
        le=8,
        description=(
            "Batches one worker process moves at once (threads): while one waits for the hub, "
            "another is formed or recorded"
        ),
    )
    sftp: SftpConfig = SftpConfig()


class LoggingConfig(_Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console", "auto"] = Field(
        default="auto", description="auto: console on a terminal, JSON lines otherwise"
    )


class QualityThreshold(_Model):
    """pass/warn/fail bounds of one data quality check (shares, 0..1)."""

    warn: float = Field(ge=0, le=1, description="Beyond this the check warns")
    fail: float = Field(ge=0, le=1, description="Beyond this the check fails")


class QualityConfig(_Model):
    """Thresholds of the data quality report (IA-DQ-01..05, ``cpadapter dq report``).

    Completeness, validity, consistency and usefulness fail *below* their bounds; duplicates
    (the share of children in a likely-duplicate pair) fails *above* them.
    """

    completeness: QualityThreshold = QualityThreshold(warn=0.9, fail=0.75)
    validity: QualityThreshold = QualityThreshold(warn=0.9, fail=0.8)
    consistency: QualityThreshold = QualityThreshold(warn=0.98, fail=0.9)
    usefulness: QualityThreshold = QualityThreshold(warn=0.9, fail=0.7)
    duplicates: QualityThreshold = QualityThreshold(warn=0.02, fail=0.05)
    duplicate_name_score: float = Field(
        default=88.0,
        ge=50,
        le=100,
        description="rapidfuzz similarity (0-100) of a likely duplicate",
    )
    max_failing_rows: int = Field(
        default=200, ge=0, description="Failing rows listed per source in the report"
    )


class ServiceAuthConfig(_Model):
    """HTTP basic authentication for the status page when bound beyond loopback."""

    user: str = Field(min_length=1)
    password: SecretStr | None = Field(
        default=None, description="Plain password, normally ${CPADAPTER_STATUS_PASSWORD}"
    )
    password_hash: str | None = Field(
        default=None,
        description="scrypt$<salt hex>$<hash hex> (`python -m adapter.service.auth`); wins",
    )

    @model_validator(mode="after")
    def _one_secret(self) -> ServiceAuthConfig:
        if self.password is None and self.password_hash is None:
            raise ValueError("give password or password_hash")
        return self


class ServiceTlsConfig(_Model):
    certificate: Path = Field(description="PEM certificate chain of the status page")
    key: Path = Field(description="PEM private key of the status page")


class ServiceConfig(_Model):
    """``cpadapter serve``: the HTTP port, shutdown, catch-up and the feed locks."""

    host: str = Field(default="127.0.0.1", description="Bind address; loopback unless TLS+auth")
    port: int = Field(default=9464, ge=0, le=65535, description="0 picks a free port")
    grace_seconds: float = Field(
        default=30.0, gt=0, description="SIGTERM/SIGINT: time to finish work in flight"
    )
    catch_up: Literal["skip", "run_once"] = Field(
        default="run_once", description="Runs missed while the service was down"
    )
    lock_dir: Path = Field(default=Path("var/locks"), description="Per-source run locks")
    deliver: bool = Field(default=True, description="Run a delivery worker in the service")
    port_file: Path | None = Field(
        default=None, description="Write the bound port here once listening"
    )
    tls: ServiceTlsConfig | None = None
    auth: ServiceAuthConfig | None = None


class SmtpChannelConfig(_Model):
    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    user: str | None = None
    password: SecretStr | None = None
    sender: str = "cpadapter@localhost"
    recipients: list[str] = Field(min_length=1)
    timeout_seconds: float = Field(default=10.0, gt=0)


class WebhookChannelConfig(_Model):
    url: str = Field(pattern=r"^https?://", description="POSTed one JSON object per alert")
    timeout_seconds: float = Field(default=10.0, gt=0)
    token: SecretStr | None = Field(default=None, description="Sent as a Bearer token")


class AlertsConfig(_Model):
    """Alerts once per incident, with a recovery message, by e-mail and/or webhook."""

    smtp: SmtpChannelConfig | None = None
    webhook: WebhookChannelConfig | None = None
    check_interval_seconds: float = Field(default=60.0, gt=0)
    parked_threshold: int = Field(default=0, ge=0, description="Alert above this many parked")
    quiet_hours: float = Field(
        default=48.0, gt=0, description="Alert when a source read nothing for this long"
    )
    quiet_hours_by_source: dict[str, float] = Field(default_factory=dict)
    certificate_days: int = Field(default=30, ge=1)
    state_file: Path = Field(default=Path("var/alerts.json"), description="Open incidents")


class AccreditationConfig(_Model):
    """Instance accreditation (``cpadapter accredit instance``): where and how much to send."""

    endpoint: str | None = Field(
        default=None,
        description="SOAP endpoint of the accreditation hub; default: delivery.endpoint",
    )
    sample_per_source: int = Field(default=5, ge=1, le=1000, description="Records per source")
    min_certificate_days: int = Field(
        default=30, ge=0, description="IA-CRT-01: days the client certificate must still run"
    )
    timeout_seconds: float = Field(default=120, gt=0, description="IA-E2E-01 delivery limit")


class AdapterConfig(_Model):
    """The whole of config.yaml."""

    organisation: Organisation
    store: StoreConfig = StoreConfig()
    sources: list[SourceConfig] = Field(default_factory=list)
    delivery: DeliveryConfig = DeliveryConfig()
    logging: LoggingConfig = LoggingConfig()
    service: ServiceConfig = ServiceConfig()
    alerts: AlertsConfig = AlertsConfig()
    quality: QualityConfig = QualityConfig()
    accreditation: AccreditationConfig = AccreditationConfig()

    @model_validator(mode="after")
    def _unique_names(self) -> AdapterConfig:
        names: set[str] = set()
        systems: set[str] = set()
        for source in self.sources:
            if source.name in names:
                raise ValueError(f"source name {source.name!r} is used twice")
            # The delta state and withdrawals are per source system: two sources sharing one
            # would withdraw each other's records.
            if source.source_system in systems:
                raise ValueError(f"source system {source.source_system!r} is used twice")
            names.add(source.name)
            systems.add(source.source_system)
        return self

    def source(self, name: str) -> SourceConfig:
        """The source called ``name``; ConfigError listing the names otherwise."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"no source called {name!r} (configured: {known})", code="CFG-NO-SOURCE")


# ----- loading, with YAML paths and lines in every error -----


def _substitute(value: Any, path: tuple[int | str, ...], problems: list[str]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            found = os.environ.get(name)
            if found is None:
                problems.append(f"{yaml_path(path)}: environment variable {name} is not set")
                return ""
            return found

        return _ENV_REF.sub(replace, value)
    if isinstance(value, dict):
        return {k: _substitute(v, (*path, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*path, i), problems) for i, v in enumerate(value)]
    return value


def config_problems(path: Path) -> tuple[AdapterConfig | None, list[str]]:
    """Load ``path``; return the config (or None) and every problem as 'yaml.path (line N): …'."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{path}: cannot read ({exc.__class__.__name__})"]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return None, [f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]
    if not isinstance(raw, dict):
        return None, [f"{path}: the top level must be a mapping"]
    problems: list[str] = []
    raw = _substitute(raw, (), problems)
    if problems:
        return None, problems
    try:
        return AdapterConfig.model_validate(raw, context={"base": path.parent}), []
    except ValidationError as exc:
        return None, [located(node, e["loc"], e["msg"]) for e in exc.errors(include_input=False)]
    except ConfigError as exc:
        return None, [str(exc.message)]


def load_config(path: Path) -> AdapterConfig:
    """Load and validate ``path``; ConfigError listing every problem otherwise."""
    config, problems = config_problems(path)
    if config is None:
        raise ConfigError("; ".join(problems), location=str(path))
    return config


def json_schema() -> dict[str, Any]:
    """JSON Schema of config.yaml, for editor completion."""
    return AdapterConfig.model_json_schema()
