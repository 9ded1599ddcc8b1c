"""Instance-accreditation checks (LDI 1.0 section 6, IA-*): one installation, its own data.

Each check takes the :class:`InstanceContext` (the configuration file, as loaded and as raw
YAML) and returns a pass message or raises CheckFailed with a message telling the engineer what
to fix. Nothing here writes to the production store: the end-to-end check delivers through a
temporary store of its own.
"""

from __future__ import annotations

import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from adapter.accreditation.harness import RecordingTransport
from adapter.accreditation.results import CheckFailed, CheckSkipped, Exchange
from adapter.accreditation.runner import CheckOutput
from adapter.config import AdapterConfig, SourceConfig, StoreConfig, load_config
from adapter.sources import check_source, sample_source
from ldi.errors import ConfigError, ContactPointError, DeliveryError
from ldi.models import Record
from mappings.gate import Verdict, apply_policy
from mappings.mapper import MapResult
from outbox import audit, migrations
from outbox.delivery import Worker
from outbox.entries import enqueue, message_id
from outbox.pacing import Pacer
from outbox.service import open_outbox, store_engine
from outbox.store import entries, outcomes
from outbox.transports.base import open_transport, resolve
from outbox.transports.soap import open_soap

InstanceCheck = Callable[["InstanceContext"], CheckOutput]

#: Keys whose values are secrets: they must come from ${ENV} (IA-CFG-01).
SECRET_KEYS = re.compile(r"(^|_)(password|passphrase|secret|token|api_key|encryption_key)$", re.I)
_ENV_ONLY = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
#: LDI items every Upsert must carry (section 3).
MANDATORY = (
    "SourceRecordId",
    "Child/Name/GivenName",
    "Child/Name/FamilyName",
    "Child/BirthDate",
    "Child/Gender",
)
OPTIONAL = (
    "Child/NHSNumber",
    "Child/UPN",
    "Child/Address",
    "ParentCarer",
    "EducationalSetting",
    "PrimaryMedicalPractitioner",
    "Involvement",
    "CAF",
)


@dataclass
class InstanceContext:
    """The installation under accreditation."""

    config_path: Path
    config: AdapterConfig | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def base(self) -> Path:
        return self.config_path.parent

    def loaded(self) -> AdapterConfig:
        """The loaded configuration; CheckSkipped when it does not load (IA-CFG-01 says why)."""
        if self.config is None:
            try:
                self.config = load_config(self.config_path)
            except ConfigError as exc:
                raise CheckSkipped("the configuration does not load (see IA-CFG-01)") from exc
        return self.config

    def path(self, value: Path) -> Path:
        return resolve(self.base, value)


# ----------------------------------------------------------------------------- configuration


def _plain_secrets(node: Any, where: str = "") -> Iterator[str]:
    """YAML paths of secret values not written as ${ENV} (never the values themselves)."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            if SECRET_KEYS.search(str(key)) and isinstance(value, str) and value:
                if not _ENV_ONLY.match(value.strip()):
                    yield path
            elif isinstance(value, str) and "://" in value:
                password = urlsplit(value).password
                if password and not _ENV_ONLY.match(password):
                    yield f"{path} (password inside the URL)"
            else:
                yield from _plain_secrets(value, path)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _plain_secrets(item, f"{where}[{index}]")


def ia_cfg_01(ctx: InstanceContext) -> str:
    """The configuration is valid and every secret in it comes from the environment."""
    try:
        raw = yaml.safe_load(ctx.config_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CheckFailed(f"cannot read {ctx.config_path.name}: {exc.__class__.__name__}") from exc
    try:
        ctx.config = load_config(ctx.config_path)
    except ConfigError as exc:
        raise CheckFailed(
            f"the configuration is invalid: {exc.message} "
            "(`cpadapter config check` lists every problem)"
        ) from exc
    plain = list(_plain_secrets(raw))
    if plain:
        raise CheckFailed(
            f"secrets in plain text at {', '.join(plain)}: write them as ${{ENV_VAR}} and set "
            "the variable in the service environment"
        )
    return "configuration valid; no secret in plain text"


# ----------------------------------------------------------------------------- sources


def _enabled(config: AdapterConfig) -> list[SourceConfig]:
    return [s for s in config.sources if s.enabled]


def ia_con_01(ctx: InstanceContext) -> CheckOutput:
    """Every enabled source connects and yields a sample."""
    config = ctx.loaded()
    sources = _enabled(config)
    if not sources:
        raise CheckFailed("no source is configured: add one under sources:")
    broken, table = [], []
    for source in sources:
        result = check_source(source, limit=config.accreditation.sample_per_source)
        table.append(
            {
                "source": source.name,
                "kind": source.kind,
                "ok": result.ok,
                "records": result.records,
                "ms": result.duration_ms,
                "code": result.code,
            }
        )
        if not result.ok:
            broken.append(f"{source.name}: {result.code} {result.reason}")
        elif result.records == 0:
            broken.append(f"{source.name}: connected but yielded no records")
    if broken:
        raise CheckFailed(
            "; ".join(broken) + " (check the connection settings and credentials of the source;"
            " `cpadapter sources check` shows the same)",
            table=table,
        )
    return f"{len(sources)} sources connected and yielded a sample", {"table": table}


# ----------------------------------------------------------------------------- certificates


def ia_crt_01(ctx: InstanceContext) -> str:
    """Client certificate and key readable, key private, > N days to expiry, chains to the CA."""
    config = ctx.loaded()
    tls = config.delivery.tls
    cert_path, key_path, ca_path = (
        ctx.path(tls.client_certificate),
        ctx.path(tls.client_key),
        ctx.path(tls.ca_bundle),
    )
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cas = x509.load_pem_x509_certificates(ca_path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise CheckFailed(
            f"cannot read the client certificate, key or CA bundle ({exc.__class__.__name__}): "
            "check delivery.tls paths and that the service account may read them"
        ) from exc
    mode = stat.S_IMODE(key_path.stat().st_mode)
    if mode & 0o077:
        raise CheckFailed(
            f"the client key {key_path.name} has mode {mode:o}: others may read it; "
            f"run `chmod 600 {key_path}`"
        )
    if cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise CheckFailed("the client key does not belong to the client certificate")
    now = datetime.now(UTC)
    expires = cert.not_valid_after_utc
    if expires <= now:
        raise CheckFailed(
            f"the client certificate expired on {expires:%Y-%m-%d}: request a new one from the "
            "ContactPoint service desk and update delivery.tls.client_certificate"
        )
    days = (expires - now).days
    needed = config.accreditation.min_certificate_days
    if days <= needed:
        raise CheckFailed(
            f"the client certificate expires in {days} days (on {expires:%Y-%m-%d}); more than "
            f"{needed} are needed: renew it now"
        )
    if not any(_issued_by(cert, ca) for ca in cas):
        raise CheckFailed(
            "the client certificate does not chain to the CA bundle in delivery.tls.ca_bundle: "
            "configure the CA that issued it"
        )
    return f"certificate and key readable, key mode {mode:o}, {days} days to expiry, chains to CA"


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, x509.InvalidSignature):  # type: ignore[attr-defined]
        return False
    return True


def _endpoint(config: AdapterConfig) -> str:
    return config.accreditation.endpoint or config.delivery.endpoint


def ia_crt_02(ctx: InstanceContext) -> str:
    """A mutual-TLS handshake with the configured hub succeeds, and the hub answers."""
    config = ctx.loaded()
    delivery = config.delivery
    try:
        transport = open_soap(delivery, base=ctx.base)
    except ConfigError as exc:
        raise CheckFailed(f"cannot set up TLS: {exc.message}") from exc
    try:
        transport.get_outcome("00000000-0000-4000-8000-000000000000")
    except DeliveryError as exc:
        if exc.code in ("TLS_REFUSED", "CONNECTION", "TIMEOUT"):
            raise CheckFailed(
                f"mutual TLS with {delivery.endpoint} failed ({exc.code}): check the endpoint, "
                "that the hub's CA is delivery.tls.ca_bundle, and that the hub has registered "
                "this client certificate"
            ) from exc
        # Any LDI fault (e.g. UNAUTHORISED for a batch id that is not ours) proves the handshake.
    finally:
        transport.close()
    return f"mutual TLS handshake with {urlsplit(delivery.endpoint).netloc} succeeded"


# ----------------------------------------------------------------------------- mappings


def _filled(record: Record, item: str) -> bool:
    value: Any = record
    for part in item.split("/"):
        attr = _ATTR.get(part, part)
        value = getattr(value, attr, None)
        if value is None or value == []:
            return False
    return True


_ATTR = {
    "SourceRecordId": "source_record_id",
    "Child": "child",
    "Name": "name",
    "GivenName": "given_name",
    "FamilyName": "family_name",
    "BirthDate": "birth_date",
    "Gender": "gender",
    "NHSNumber": "nhs_number",
    "UPN": "upn",
    "Address": "address",
    "ParentCarer": "parent_carers",
    "EducationalSetting": "educational_settings",
    "PrimaryMedicalPractitioner": "primary_medical_practitioner",
    "Involvement": "involvements",
    "CAF": "caf",
}


def _item_present(result: MapResult, item: str, leaf: str) -> bool:
    """Filled in the mapped record; for a held record, mandatory items no breach names."""
    if result.record is not None:
        return _filled(result.record, item)
    return item in MANDATORY and not any(leaf in b.path for b in result.breaches)


def ia_map_01(ctx: InstanceContext) -> CheckOutput:
    """Each source's mapping fills the mandatory LDI items; coverage per item on a sample."""
    from adapter.pipeline import mapper_for

    config = ctx.loaded()
    table: list[dict[str, Any]] = []
    problems: list[str] = []
    for source in _enabled(config):
        try:
            mapper = mapper_for(source, ctx.base)
            sample = sample_source(source, config.accreditation.sample_per_source)
        except ContactPointError as exc:
            problems.append(f"{source.name}: {exc.code} {exc.message}")
            continue
        results = [mapper.map(s) for s in sample]
        live = [r for r in results if not r.deleted]
        for item in (*MANDATORY, *OPTIONAL):
            leaf = item.split("/")[-1]
            # A held record counts as empty for an item only if a breach names that item:
            # one missing mandatory item holds the whole record, the others were there.
            missing = [b.path for r in live for b in r.breaches if leaf in b.path]
            count = sum(1 for r in live if _item_present(r, item, leaf))
            table.append(
                {
                    "source": source.name,
                    "item": item,
                    "mandatory": item in MANDATORY,
                    "filled": count,
                    "sampled": len(live),
                }
            )
            if item in MANDATORY and live and count == 0:
                problems.append(
                    f"{source.name}: the mapping {source.mapping} leaves {item} empty in all "
                    f"{len(live)} sampled records"
                    + (f" (held at {', '.join(sorted(set(missing))[:3])})" if missing else "")
                    + ": map a source column to it"
                )
    if problems:
        raise CheckFailed("; ".join(problems), table=table)
    return "every mapping fills the mandatory items on its sample (coverage table)", {
        "table": table
    }


# ----------------------------------------------------------------------------- data quality


def _dq(check_id: str) -> InstanceCheck:
    def check(ctx: InstanceContext) -> CheckOutput:
        try:
            from adapter.dataquality import assess
        except ImportError as exc:
            raise CheckSkipped(f"the data quality module is not available ({exc})") from exc
        config = ctx.loaded()
        cache = ctx.__dict__.setdefault("_dq", {})
        if "report" not in cache:
            cache["report"] = assess(config, base=ctx.base)
        report = cache["report"]
        failing, rows = [], []
        for source in report.sources:
            try:
                found = source.check(check_id)
            except KeyError:
                failing.append(f"{source.source}: not measured ({source.error or 'no data'})")
                continue
            rows.append(
                {
                    "source": source.source,
                    "metric": round(found.metric, 4),
                    "warn": found.threshold_warn,
                    "fail": found.threshold_fail,
                    "verdict": found.verdict,
                }
            )
            if found.verdict == "fail":
                failing.append(f"{source.source}: {found.detail}")
        if failing:
            raise CheckFailed(
                "; ".join(failing) + " (see `cpadapter dq report` for the failing rows)",
                table=rows,
            )
        warned = sum(1 for r in rows if r["verdict"] == "warn")
        message = f"{len(rows)} sources within the quality thresholds ({warned} warnings)"
        return message, {"table": rows}

    check.__doc__ = f"{check_id} against the thresholds in quality: of the configuration."
    return check


# ----------------------------------------------------------------------------- end to end


def ia_e2e_01(ctx: InstanceContext) -> str:
    """A sample per source delivered to the accreditation endpoint: all outcomes, none Rejected."""
    from adapter.pipeline import mapper_for

    config = ctx.loaded()
    delivery = config.delivery.model_copy(update={"endpoint": _endpoint(config)})
    run_at = datetime.now(UTC)
    version = int(time.time())  # above any version an earlier accreditation run sent
    with tempfile.TemporaryDirectory(prefix="cpadapter-e2e-") as tmp:
        base = Path(tmp)
        store = StoreConfig(
            url=f"sqlite:///{base / 'e2e.db'}", encryption_key_file=base / "e2e.key"
        )
        from outbox.crypto import encode_key, generate_key

        (base / "e2e.key").write_text(encode_key(generate_key()) + "\n")
        (base / "e2e.key").chmod(0o600)
        engine = store_engine(store, base=base)
        migrations.upgrade(engine)
        engine.dispose()
        outbox = open_outbox(store, base=base)
        try:
            queued = 0
            for source in _enabled(config):
                mapper = mapper_for(source, ctx.base)
                records = []
                for sample in sample_source(source, config.accreditation.sample_per_source):
                    mapped = mapper.map(sample)
                    if mapped.deleted or mapped.record is None:
                        continue
                    gated = apply_policy(mapped.record, run_at=run_at)
                    if gated.verdict is not Verdict.SEND or gated.record is None:
                        continue
                    key = mapped.record.source_record_id
                    records.append(
                        gated.record.model_copy(
                            update={
                                "message_id": message_id(source.source_system, key, version),
                                "version": version,
                            }
                        )
                    )
                with outbox.engine.begin() as conn:
                    enqueue(conn, outbox.keys, source.source_system, records)
                queued += len(records)
            if not queued:
                raise CheckFailed("no source produced a record that may be sent")
            transport = RecordingTransport(open_transport(delivery, base=ctx.base), ctx.exchanges)
            worker = Worker(
                outbox.engine,
                outbox.keys,
                transport,
                la_code=config.organisation.la_code,
                delivery=delivery,
                batch_size=delivery.batch_size,
                pacer=Pacer(delivery.rate),
                exclusive=True,
            )
            stop = threading.Event()
            timer = threading.Timer(config.accreditation.timeout_seconds, stop.set)
            timer.start()
            try:
                worker.run(until_empty=True, stop=stop)
            except DeliveryError as exc:
                raise CheckFailed(f"delivery halted: {exc.code}: {exc.message}") from exc
            finally:
                timer.cancel()
                transport.close()
            with outbox.engine.connect() as conn:
                statuses: dict[str, int] = dict(
                    conn.execute(
                        select(outcomes.c.status, func.count()).group_by(outcomes.c.status)
                    ).all()
                )
                parked = conn.execute(
                    select(func.count()).select_from(entries).where(entries.c.state == "parked")
                ).scalar_one()
        finally:
            outbox.close()
    received = sum(statuses.values())
    if parked or received < queued:
        raise CheckFailed(
            f"{queued - received} of {queued} records got no outcome ({parked} parked): "
            "check the accreditation endpoint and `cpadapter outbox status`"
        )
    if statuses.get("Rejected"):
        raise CheckFailed(
            f"{statuses['Rejected']} of {queued} sample records were Rejected by the hub: "
            "fix the mapping or the source data named by the breaches"
        )
    return f"{queued} sample records delivered; outcomes {dict(sorted(statuses.items()))}"


# ----------------------------------------------------------------------------- security


def ia_sec_01(ctx: InstanceContext) -> str:
    """Payload encryption on, store and key files private, the audit trail verifies."""
    config = ctx.loaded()
    problems: list[str] = []
    store = config.store
    if store.encryption_key is None and store.encryption_key_file is None:
        problems.append("payload encryption is off: set store.encryption_key_file")
    paths: list[Path] = []
    if store.encryption_key_file is not None and store.encryption_key is None:
        key = ctx.path(store.encryption_key_file)
        if not key.is_file():
            problems.append(f"the store key {key.name} is missing: run `cpadapter keys init`")
        else:
            paths.append(key)
    if store.url.startswith("sqlite:///"):
        database = Path(store.url.removeprefix("sqlite:///"))
        database = database if database.is_absolute() else ctx.base / database
        if database.is_file():
            paths.append(database)
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o007:
            problems.append(f"{path.name} has mode {mode:o}: run `chmod o-rwx {path}`")
    try:
        outbox = open_outbox(store, base=ctx.base)
    except ContactPointError as exc:
        problems.append(f"the store cannot be opened: {exc.message}")
    else:
        try:
            with outbox.engine.connect() as conn:
                verification = audit.verify(conn)
        finally:
            outbox.close()
        if not verification.ok:
            problems.append(
                f"the audit trail is broken at entry {verification.broken_at}: "
                "investigate with `cpadapter audit verify`"
            )
    if problems:
        raise CheckFailed("; ".join(problems))
    return "payload encryption on, key and store files private, audit trail verifies"


INSTANCE_CHECKS: dict[str, InstanceCheck] = {
    "IA-CFG-01": ia_cfg_01,
    "IA-CON-01": ia_con_01,
    "IA-CRT-01": ia_crt_01,
    "IA-CRT-02": ia_crt_02,
    "IA-MAP-01": ia_map_01,
    **{f"IA-DQ-0{n}": _dq(f"IA-DQ-0{n}") for n in range(1, 6)},
    "IA-E2E-01": ia_e2e_01,
    "IA-SEC-01": ia_sec_01,
}
