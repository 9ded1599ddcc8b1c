"""The type-accreditation environment: a reference hub with fresh PKI in a temporary folder.

Type accreditation must prove the *product*, so nothing here comes from the test suite: the
harness mints its own certificates (``adapter.pki``), seeds its own national index, runs the
reference hub in-process on a free loopback port, and opens throw-away adapter stores that
deliver to it. Every submission and outcome passes a :class:`RecordingTransport`, which is what
the evidence pack's ``exchanges/`` and the schema check (TA-SCH-01) are built from.

:class:`Faults` exists for the harness's own tests (sabotage: prove a check fails when the
product misbehaves). It is a parameter of :func:`run_type_checks`, never a CLI option.
"""

from __future__ import annotations

import getpass
import io
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import structlog
import yaml
from lxml import etree
from sqlalchemy import func, select

from adapter.accreditation.results import Exchange
from adapter.accreditation.sshd import Sshd
from adapter.config import AdapterConfig, DeliveryConfig, load_config
from adapter.log import configure_logging
from adapter.pki import init_dev_pki, issue_client_certificate
from hub.config import load_config as load_hub_config
from hub.national import NationalChild
from hub.seed import seed_from_file, to_seed_line
from hub.server import Hub
from hub.store import record_outcomes
from hub.synthetic import national_children
from ldi.errors import DeliveryError
from ldi.models import Action, BatchOutcome, BatchReceipt, Child, ChildName, Gender, Record
from ldi.xmlcodec import to_element
from outbox import migrations
from outbox.delivery import Worker
from outbox.entries import enqueue, message_id
from outbox.pacing import Pacer
from outbox.service import Outbox, open_outbox, store_engine
from outbox.transports.base import Pending, Transport, open_transport
from outbox.transports.soap import envelope

LA = "891"
SOURCE = "FWK891"
SFTP_SOURCE = "SCH891"
ADMIN = "admin"
TODAY = date.today()

#: The seeded national child a record matches by NHS number (TA-OUT-01).
KNOWN_CHILD = NationalChild.model_validate(
    {
        "contactPointId": "CP3000000011",
        "accountableBody": LA,
        "givenName": "Amelia",
        "familyName": "Smith-Jones",
        "birthDate": (TODAY - timedelta(days=3690)).isoformat(),
        "gender": "Female",
        "nhsNumber": "9434765919",
    }
)


@dataclass
class Faults:
    """Faults injected into the product under test, for the harness's sabotage tests only.

    ``wrap_transport`` replaces the delivery transport (e.g. one that drops ``Retry-After``);
    ``tls_context`` edits the SOAP client's SSL context and ``soap_transport`` the transport
    built on it (together: a connection without CA verification);
    ``sftp_accept_any_host_key`` turns host-key pinning off in the SFTP transport.
    """

    wrap_transport: Callable[[Transport], Transport] | None = None
    tls_context: Callable[[ssl.SSLContext], None] | None = None
    soap_transport: Callable[[Any], None] | None = None
    sftp_accept_any_host_key: bool = False


@dataclass
class Submission:
    """When a SubmitBatch started, its batch id, record count, and the error it got (if any)."""

    at: float
    batch_id: str
    records: int
    error_code: str | None = None
    retry_after: float | None = None


class RecordingTransport:
    """Wraps the product's transport: records exchanges and submission timings, changes nothing."""

    def __init__(self, inner: Transport, exchanges: list[Exchange]) -> None:
        self.inner = inner
        self.exchanges = exchanges
        self.submissions: list[Submission] = []
        self.max_records = inner.max_records
        self.max_bytes = inner.max_bytes

    def submit(self, batch_xml: bytes, batch_id: str) -> BatchReceipt:
        entry = Submission(time.monotonic(), batch_id, batch_xml.count(b"<Record "))
        self.submissions.append(entry)
        try:
            receipt = self.inner.submit(batch_xml, batch_id)
        except DeliveryError as exc:
            entry.error_code, entry.retry_after = exc.code, getattr(exc, "retry_after", None)
            self._note("SubmitBatch", envelope(batch_xml), _fault_xml(exc.code))
            raise
        self._note("SubmitBatch", envelope(batch_xml), etree.tostring(to_element(receipt)))
        return receipt

    def get_outcome(self, batch_id: str) -> BatchOutcome | Pending:
        request = f'<BatchOutcomeRequest batchId="{batch_id}"/>'.encode()
        try:
            outcome = self.inner.get_outcome(batch_id)
        except DeliveryError as exc:
            self._note("GetBatchOutcome", request, _fault_xml(exc.code))
            raise
        if isinstance(outcome, BatchOutcome):
            self._note("GetBatchOutcome", request, etree.tostring(to_element(outcome)))
        return outcome

    def close(self) -> None:
        self.inner.close()

    def _note(self, operation: str, request: bytes, response: bytes) -> None:
        self.exchanges.append(Exchange(operation, request, response, time.time()))


def _fault_xml(code: str) -> bytes:
    return f"<Fault><Code>{code}</Code></Fault>".encode()


@dataclass
class Site:
    """A throw-away adapter installation delivering to the harness hub."""

    directory: Path
    config_path: Path
    config: AdapterConfig
    outbox: Outbox

    def enqueue(self, records: list[Record], source_system: str = SOURCE) -> list[str]:
        with self.outbox.engine.begin() as conn:
            enqueue(conn, self.outbox.keys, source_system, records)
        return [r.message_id for r in records]


def child_record(
    record_id: str,
    version: int = 1,
    *,
    given: str = "Pat",
    family: str = "Testerson",
    birth: date | None = None,
    nhs: str | None = None,
    source_system: str = SOURCE,
) -> Record:
    """A valid Upsert; with a made-up name and no identifiers the hub answers NoMatch."""
    return Record(
        message_id=message_id(source_system, record_id, version),
        action=Action.UPSERT,
        version=version,
        source_record_id=record_id,
        child=Child(
            name=ChildName(given_name=given, family_name=family),
            birth_date=birth or TODAY - timedelta(days=3000),
            gender=Gender.FEMALE,
            nhs_number=nhs,
        ),
    )


def letters(number: int) -> str:
    """A name-safe suffix (names allow letters only): 0 → a, 25 → z, 26 → aa."""
    out = ""
    number += 1
    while number:
        number, rest = divmod(number - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


@dataclass
class TypeHarness:
    """Everything a type check needs; build it with :func:`type_harness`."""

    root: Path
    pki: Path
    hub: Hub
    admin: requests.Session
    faults: Faults
    profile: str
    log_stream: io.StringIO
    drop: Path
    exchanges: list[Exchange] = field(default_factory=list)
    sshd: Sshd | None = None
    sensitive_names: set[str] = field(default_factory=set)
    _sites: int = 0

    @property
    def endpoint(self) -> str:
        return f"{self.hub.url}/ldi/v1"

    @property
    def fast(self) -> bool:
        return self.profile == "fast"

    def misbehave(self, **settings: Any) -> None:
        """Replace the hub's misbehaviour (knobs left out are off)."""
        self.admin.post(f"{self.hub.url}/admin/misbehaviour", json=settings, timeout=10)

    def delivery_settings(self, **changes: Any) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "transport": "soap",
            "endpoint": self.endpoint,
            "tls": {
                "client_certificate": str(self.pki / "client.pem"),
                "client_key": str(self.pki / "client.key"),
                "ca_bundle": str(self.pki / "ca.pem"),
            },
            "batch_size": 200,
            "timeout_seconds": 10,
            "poll_interval_seconds": 0.05,
            "lease_seconds": 30,
            "retry": {
                "max_attempts": 30,
                "initial_backoff_seconds": 0.05,
                "max_backoff_seconds": 0.5,
            },
        }
        settings.update(changes)
        return settings

    def new_site(self, **delivery: Any) -> Site:
        """A fresh adapter store and config.yaml (SQLite, encrypted payloads)."""
        self._sites += 1
        directory = self.root / f"site{self._sites}"
        directory.mkdir()
        document = {
            "organisation": {"la_code": LA, "name": "Accreditation authority"},
            "store": {"url": "sqlite:///store/adapter.db", "encryption_key_file": "store.key"},
            "delivery": self.delivery_settings(**delivery),
            "logging": {"level": "info", "format": "json"},
        }
        path = directory / "config.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        config = load_config(path)
        engine = store_engine(config.store, base=directory)
        migrations.upgrade(engine)
        engine.dispose()
        return Site(directory, path, config, open_outbox(config.store, base=directory))

    def transport(self, delivery: DeliveryConfig, base: Path) -> RecordingTransport:
        """The product's transport for ``delivery``, faults applied, recorded."""
        inner = open_transport(delivery, base=base)
        if self.faults.wrap_transport is not None:
            inner = self.faults.wrap_transport(inner)
        return RecordingTransport(inner, self.exchanges)

    def deliver(self, site: Site, delivery: DeliveryConfig | None = None) -> Worker:
        """Run one product delivery worker in-process until the outbox is empty."""
        settings = delivery or site.config.delivery
        transport = self.transport(settings, site.directory)
        worker = Worker(
            site.outbox.engine,
            site.outbox.keys,
            transport,
            la_code=LA,
            delivery=settings,
            batch_size=settings.batch_size,
            pacer=Pacer(settings.rate),
            exclusive=True,
        )
        stop = threading.Event()
        timer = threading.Timer(120, stop.set)  # a hung product must not hang the harness
        timer.start()
        try:
            worker.run(until_empty=True, stop=stop)
        finally:
            timer.cancel()
            transport.close()
        return worker

    def applications(self, message_ids: list[str]) -> dict[str, int]:
        """How many times the hub applied each message id (outcomes other than Duplicate)."""
        counts = dict.fromkeys(message_ids, 0)
        with self.hub.store.engine.connect() as conn:
            for start in range(0, len(message_ids), 500):
                part = message_ids[start : start + 500]
                rows = conn.execute(
                    select(record_outcomes.c.message_id, func.count())
                    .where(record_outcomes.c.message_id.in_(part))
                    .where(record_outcomes.c.status != "Duplicate")
                    .group_by(record_outcomes.c.message_id)
                ).all()
                counts.update({row[0]: int(row[1]) for row in rows})
        return counts

    def named_records(self, count: int, *, stem: str | None = None) -> list[Record]:
        """``count`` NoMatch-bound records whose family names are remembered for TA-SEC-01."""
        prefix = stem or uuid.uuid4().hex[:8]
        records = []
        for i in range(count):
            family = f"Quillon{letters(i)}"
            self.sensitive_names.add(family)
            records.append(child_record(f"{prefix}-{i}", family=family))
        return records


def _hub_yaml(path: Path, pki: Path, store: Path, drop: Path) -> None:
    admin = pki / f"{ADMIN}.pem"
    path.write_text(
        yaml.safe_dump(
            {
                "listen": {"host": "127.0.0.1", "port": 0},
                "tls": {
                    "certificate": str(pki / "hub.pem"),
                    "key": str(pki / "hub.key"),
                    "client_ca": str(pki / "ca.pem"),
                },
                "store": {"url": f"sqlite:///{store}"},
                "processing": {"mode": "inline"},
                "log_level": "warning",
                "register": [
                    {
                        "certificate": str(pki / "client.pem"),
                        "la_code": LA,
                        "source_systems": [SOURCE, "SCH891", "RAISE891", "MIS891"],
                    }
                ],
                "admins": [{"certificate": str(admin), "label": "accreditation harness"}],
                "files": {
                    "enabled": False,
                    "poll_seconds": 0.05,
                    "drops": [
                        {
                            "user": getpass.getuser(),
                            "directory": str(drop),
                            "la_code": LA,
                            "source_systems": [SFTP_SOURCE],
                        }
                    ],
                },
            },
            sort_keys=False,
        )
    )


@contextmanager
def type_harness(
    profile: str = "fast", faults: Faults | None = None, root: Path | None = None
) -> Iterator[TypeHarness]:
    """Fresh PKI, seeded hub on loopback, log capture; everything removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="cpadapter-accredit-", dir=root) as tmp:
        base = Path(tmp)
        pki = base / "pki"
        init_dev_pki(pki, la_code=LA, source_systems=(SOURCE, "SCH891"), rogue_ca=True)
        now = datetime.now(UTC)
        issue_client_certificate(
            pki,
            pki / "ca.pem",
            pki / "ca.key",
            name=ADMIN,
            la_code=LA,
            source_systems=("HUBADMIN",),
            not_before=now - timedelta(minutes=5),
            not_after=now + timedelta(days=2),
        )
        hub_dir = base / "hub"
        hub_dir.mkdir()
        config = hub_dir / "hub.yaml"
        drop = base / "sftp-drop"
        (drop / "inbound").mkdir(parents=True)
        (drop / "outbound").mkdir()
        _hub_yaml(config, pki, hub_dir / "hub.db", drop)
        seed = hub_dir / "seed.jsonl"
        lines = [to_seed_line(KNOWN_CHILD)]
        lines += [to_seed_line(c) for c in national_children(100, seed=11, on=TODAY)]
        seed.write_text("\n".join(lines) + "\n")
        hub = Hub(load_hub_config(config))
        seed_from_file(hub.store, seed)
        stream = io.StringIO()
        # Capture the product's own log output for TA-SEC-01 (JSON lines, info level).
        configure_logging("info", "json", stream=stream)
        hub.start()
        admin = requests.Session()
        admin.trust_env = False
        admin.cert = (str(pki / f"{ADMIN}.pem"), str(pki / f"{ADMIN}.key"))
        admin.verify = str(pki / "ca.pem")
        harness = TypeHarness(base, pki, hub, admin, faults or Faults(), profile, stream, drop)
        try:
            yield harness
        finally:
            if harness.sshd is not None:
                harness.sshd.stop()
            admin.close()
            hub.stop()
            structlog.reset_defaults()  # the capture stream dies with the harness
