"""Type-accreditation checks (LDI 1.0 section 6, TA-*): the product against a reference hub.

Each check is a function of the :class:`~adapter.accreditation.harness.TypeHarness` that
returns a short pass message or raises :class:`CheckFailed` / :class:`CheckSkipped`. They drive
the product's own code paths (the policy gate, the outbox, the delivery worker, the SOAP and
SFTP transports, ``cpadapter deliver`` as a subprocess) so that a product regression makes the
matching check fail; pytest is never involved.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import paramiko
import yaml
from lxml import etree
from sqlalchemy import create_engine, func, select, update

from adapter.accreditation.harness import (
    KNOWN_CHILD,
    SFTP_SOURCE,
    SOURCE,
    TODAY,
    Site,
    TypeHarness,
    child_record,
)
from adapter.accreditation.results import CheckFailed, CheckSkipped
from adapter.accreditation.sshd import Sshd, SshdUnavailable
from adapter.config import DeliveryConfig, RateConfig, SftpConfig, load_config
from ldi.errors import DeliveryError, InputError, StoreError
from ldi.models import (
    Action,
    Address,
    Involvement,
    Record,
    ServiceType,
    SubmissionBatch,
)
from ldi.rules import check_batch
from ldi.safexml import parse_bytes
from ldi.schema import xsd_path
from ldi.validation import check_document
from ldi.xmlcodec import from_element, to_element
from mappings.gate import Verdict, apply_policy
from outbox import operator
from outbox.store import delta_state, entries, outcomes
from outbox.transports.sftp import SftpTransport
from outbox.transports.soap import SoapTransport, tls_context
from outbox.worklist import open_items

TypeCheck = Callable[[TypeHarness], str]
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


# ----------------------------------------------------------------------------- schema


def ta_sch_01(h: TypeHarness) -> str:
    """Every batch the product submitted during this run validates against the XSD."""
    batches = [e.request for e in h.exchanges if e.operation == "SubmitBatch"]
    if not batches:
        site = h.new_site()
        site.enqueue(h.named_records(5))
        h.deliver(site)
        batches = [e.request for e in h.exchanges if e.operation == "SubmitBatch"]
    invalid = 0
    for request in batches:
        body = parse_bytes(request).getroot()[0][0]
        if not check_document(etree.tostring(body)).schema_valid:
            invalid += 1
    if invalid:
        raise CheckFailed(f"{invalid} of {len(batches)} submitted batches are not XSD-valid")
    return f"{len(batches)} submitted batches validate against the LDI XSD"


def ta_sch_02(h: TypeHarness) -> str:
    """The golden fixture (every optional element filled) survives the product's codec whole."""
    golden = xsd_path().parent / "examples" / "golden-batch.xml"
    source = parse_bytes(golden.read_bytes()).getroot()
    produced = to_element(from_element(source, SubmissionBatch))
    wanted = {etree.QName(e).localname for e in source.iter() if isinstance(e.tag, str)}
    made = {etree.QName(e).localname for e in produced.iter() if isinstance(e.tag, str)}
    missing = sorted(wanted - made)
    if missing:
        raise CheckFailed(f"the codec dropped optional elements: {', '.join(missing)}")
    if not check_document(etree.tostring(produced)).schema_valid:
        raise CheckFailed("the re-produced golden batch is not XSD-valid")
    return f"all {len(wanted)} element kinds of the fully-filled fixture are produced, XSD-valid"


# ----------------------------------------------------------------------------- business rules


def _base() -> Record:
    return child_record(f"BR-{uuid.uuid4().hex[:8]}")


def _with_child(**changes: object) -> Record:
    record = _base()
    assert record.child is not None
    return record.model_copy(update={"child": record.child.model_copy(update=changes)})


def _involvement(**changes: object) -> Involvement:
    values: dict[str, object] = {
        "service_type": ServiceType.SOCIAL_CARE,
        "start_date": TODAY - timedelta(days=30),
        "lead_professional": False,
        "sensitive": False,
    }
    values.update(changes)
    return Involvement.model_validate(values)


def _breaking_records() -> dict[str, Record]:
    """One record per business rule that breaks exactly that rule."""
    base = _base()
    return {
        "BR-01": base.model_copy(update={"child": None}),
        "BR-02": _with_child(birth_date=TODAY - timedelta(days=20 * 366)),
        "BR-03": base.model_copy(update={"involvements": [_involvement(sensitive=True)]}),
        "BR-04": _with_child(
            shielding_requested=True,
            address=Address(lines=["1 High Street"], postcode="NG2 7QP"),
        ),
        "BR-05": _with_child(nhs_number="9434765918"),
        "BR-06": base.model_copy(
            update={
                "involvements": [
                    _involvement(
                        start_date=TODAY - timedelta(days=10), end_date=TODAY - timedelta(days=20)
                    )
                ]
            }
        ),
        "BR-07": base.model_copy(
            update={"involvements": [_involvement(lead_professional=True)] * 2}
        ),
    }


def _gate_check(rule: str) -> TypeCheck:
    def check(h: TypeHarness) -> str:
        record = _breaking_records()[rule]
        result = apply_policy(record, run_at=datetime.now(UTC))
        rules = sorted({b.rule for b in result.breaches})
        reduced = [r for r in result.reductions if r.startswith(rule)]
        if result.verdict in (Verdict.HOLD, Verdict.EXCLUDE) and rule in rules:
            return f"held before sending ({result.verdict.value}), reported as {', '.join(rules)}"
        if result.verdict is Verdict.SEND and reduced and result.record is not None:
            left = {b.rule for b in check_batch(_batch([result.record]))[0]}
            if rule not in left:
                return f"the breaching items were removed before sending: {reduced[0]}"
        raise CheckFailed(
            f"a record breaking {rule} was not held (verdict {result.verdict.value}, "
            f"rules found: {', '.join(rules) or 'none'})"
        )

    check.__doc__ = f"A record breaking {rule} is held before sending and reported as {rule}."
    return check


def _batch(records: list[Record]) -> SubmissionBatch:
    return SubmissionBatch(
        batch_id=str(uuid.uuid4()),
        accountable_body="891",
        source_system=SOURCE,
        created_at=datetime.now(UTC).replace(microsecond=0),
        records=records,
    )


def ta_br_08(h: TypeHarness) -> str:
    """Two records with one messageId: both reported as BR-08, and the outbox keeps one."""
    first = _base()
    second = first.model_copy(update={"source_record_id": "BR-other"})
    found = [{b.rule for b in breaches} for breaches in check_batch(_batch([first, second]))]
    if not all("BR-08" in rules for rules in found):
        raise CheckFailed("duplicate messageIds in one batch were not reported as BR-08")
    site = h.new_site()
    site.enqueue([first])
    with suppress(StoreError):  # the product refuses to queue a messageId again: BR-08
        site.enqueue([first])
    with site.outbox.engine.connect() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(entries)
            .where(entries.c.message_id == first.message_id)
        ).scalar_one()
    site.outbox.close()
    if count != 1:
        raise CheckFailed(f"the outbox holds {count} entries for one messageId")
    return "duplicate messageIds reported as BR-08; the outbox never queues a messageId twice"


# ----------------------------------------------------------------------------- transports


def _soap(h: TypeHarness, endpoint: str, ca: Path | None = None) -> SoapTransport:
    """The product's SOAP transport (faults applied to its TLS context)."""
    site_tls = h.delivery_settings()["tls"]
    if ca is not None:
        site_tls = {**site_tls, "ca_bundle": str(ca)}
    from adapter.config import TlsConfig

    tls = TlsConfig.model_validate(site_tls)
    context = tls_context(tls, base=h.root)
    if h.faults.tls_context is not None:
        h.faults.tls_context(context)
    transport = SoapTransport(endpoint, context, Path(tls.ca_bundle), 5)
    if h.faults.soap_transport is not None:
        h.faults.soap_transport(transport)
    return transport


def ta_trn_01(h: TypeHarness) -> str:
    """A batch is submitted over mutual TLS and its outcome comes back."""
    site = h.new_site()
    ids = site.enqueue(h.named_records(3))
    worker = h.deliver(site)
    site.outbox.close()
    if worker.summary.batches_completed < 1 or h.applications(ids) != dict.fromkeys(ids, 1):
        raise CheckFailed("the batch did not reach the hub over mutual TLS")
    return f"{len(ids)} records submitted over mutual TLS (TLS >= 1.2), outcomes received"


@contextmanager
def _tls_server(cert: Path, key: Path) -> Iterator[int]:
    """A loopback TLS server presenting ``cert``; answers nothing after the handshake."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                connection.settimeout(2)
                with context.wrap_socket(connection, server_side=True) as tls:
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


def _refusal(h: TypeHarness, cert: str, what: str) -> str:
    with _tls_server(h.pki / f"{cert}.pem", h.pki / f"{cert}.key") as port:
        transport = _soap(h, f"https://127.0.0.1:{port}/ldi/v1")
        try:
            transport.get_outcome(str(uuid.uuid4()))
        except DeliveryError as exc:
            if exc.code == "TLS_REFUSED":
                return f"{what}: refused at the TLS handshake (TLS_REFUSED, delivery halts)"
            raise CheckFailed(
                f"{what}: the connection was not refused as untrusted (got {exc.code})"
            ) from exc
        finally:
            transport.close()
    raise CheckFailed(f"{what}: the product talked to it")


def ta_trn_02(h: TypeHarness) -> str:
    """A hub presenting a certificate from another CA is refused."""
    return _refusal(h, "rogue-hub", "a hub certificate issued by another CA")


def ta_trn_03(h: TypeHarness) -> str:
    """A hub certificate from the right CA but for another host name is refused."""
    return _refusal(h, "hub-wronghost", "a hub certificate for wrong-host.invalid")


def _sshd(h: TypeHarness) -> Sshd:
    if h.sshd is None:
        try:
            h.sshd = Sshd.start_in(h.root / "sshd")
        except SshdUnavailable as exc:
            raise CheckSkipped(f"no SSH server to test against: {exc}") from exc
    return h.sshd


def _sftp_delivery(h: TypeHarness, server: Sshd) -> DeliveryConfig:
    settings = SftpConfig(
        host="127.0.0.1",
        port=server.port,
        user=server.user,
        key_file=server.user_key,
        known_hosts=server.known_hosts,
        remote_dir=str(h.drop),
        batch_size=5000,
    )
    return DeliveryConfig.model_validate(
        {**h.delivery_settings(transport="sftp"), "sftp": settings.model_dump()}
    )


@contextmanager
def _pinning(h: TypeHarness) -> Iterator[None]:
    """Test-only fault: an SSH client that trusts any host key (pinning off)."""
    if not h.faults.sftp_accept_any_host_key:
        yield
        return

    class Lax(paramiko.SSHClient):
        def load_host_keys(self, filename: Any) -> None:
            return None

        def set_missing_host_key_policy(self, policy: object) -> None:
            super().set_missing_host_key_policy(paramiko.AutoAddPolicy())

    with patch.object(paramiko, "SSHClient", Lax):
        yield


def ta_trn_04(h: TypeHarness) -> str:
    """Batches travel by SFTP (pinned host key, .part then rename) and outcomes come back."""
    server = _sshd(h)
    site = h.new_site()
    ids = site.enqueue(
        [
            child_record(f"sftp-{i}-{uuid.uuid4().hex[:6]}", source_system=SFTP_SOURCE)
            for i in range(10)
        ],
        SFTP_SOURCE,
    )
    stop = threading.Event()
    files = threading.Thread(target=h.hub.files.run, args=(stop, 0.05), daemon=True)
    files.start()
    try:
        with _pinning(h):
            h.deliver(site, _sftp_delivery(h, server))
    finally:
        stop.set()
        files.join(timeout=5)
    with site.outbox.engine.connect() as conn:
        statuses = set(conn.execute(select(outcomes.c.status)).scalars())
    site.outbox.close()
    if statuses != {"NoMatch"} or h.applications(ids) != dict.fromkeys(ids, 1):
        raise CheckFailed(f"the SFTP batch did not come back with outcomes ({sorted(statuses)})")
    if list((h.drop / "inbound").glob("*.part")):
        raise CheckFailed("a .part file was left in the drop folder")
    return f"{len(ids)} records by SFTP with the pinned host key; outcomes read back"


def ta_trn_05(h: TypeHarness) -> str:
    """With the server's host key replaced, the SFTP transport refuses to connect."""
    server = _sshd(h)
    server.rotate_host_key()
    transport = SftpTransport(_sftp_delivery(h, server).sftp, base=h.root, timeout=10)
    try:
        with _pinning(h):
            transport.submit(b"<x/>", str(uuid.uuid4()))
    except DeliveryError as exc:
        if exc.code == "HOST_KEY":
            return "a changed host key stops the transfer (HOST_KEY, delivery halts)"
        raise CheckFailed(f"the changed host key was not named as such (got {exc.code})") from exc
    finally:
        transport.close()
    raise CheckFailed("the transport connected to a server with a changed host key")


# ----------------------------------------------------------------------------- reliability


def ta_rel_01(h: TypeHarness) -> str:
    """THROTTLED with Retry-After and UNAVAILABLE are retried; the wait honours Retry-After.

    The full profile adds hung requests (client time-outs) and lost connections.
    """
    site = h.new_site(batch_size=20, timeout_seconds=1.0)
    ids = site.enqueue(h.named_records(80))
    knobs: dict[str, float] = {"records_per_second": 20, "unavailable_probability": 0.3}
    if not h.fast:
        knobs.update(hang_probability=0.1, hang_seconds=1.5, drop_after_store_probability=0.1)
    h.misbehave(seed=5, **knobs)
    try:
        worker = h.deliver(site)
    finally:
        h.misbehave()
        site.outbox.close()
    transport = worker.transport
    submissions = getattr(transport, "submissions", [])
    codes = worker.summary.retry_codes
    if h.applications(ids) != dict.fromkeys(ids, 1):
        raise CheckFailed("not every record was applied exactly once after the retries")
    throttled = [s for s in submissions if s.error_code == "THROTTLED"]
    if not throttled or "UNAVAILABLE" not in codes:
        raise CheckFailed(f"the hub's faults were not exercised (retries: {codes})")
    early = []
    for index, sub in enumerate(submissions[:-1]):
        if sub.error_code != "THROTTLED":
            continue
        hub_wait = sub.retry_after
        if hub_wait is None:
            raise CheckFailed("a THROTTLED fault reached the worker without its Retry-After")
        following = submissions[index + 1]
        if following.at - sub.at < hub_wait * 0.9:
            early.append(round(following.at - sub.at, 2))
    if early:
        raise CheckFailed(
            f"resubmitted before Retry-After expired ({len(early)} times; waits {early[:3]} s)"
        )
    return (
        f"retried {dict(codes)}; every wait after THROTTLED honoured Retry-After; all applied once"
    )


def ta_rel_02(h: TypeHarness) -> str:
    """A receipt lost after the hub stored the batch: resubmitted, applied once."""
    site = h.new_site(batch_size=10, timeout_seconds=2)
    ids = site.enqueue(h.named_records(20))
    h.misbehave(seed=9, drop_after_store_probability=1.0)
    try:
        worker = h.deliver(site)
    finally:
        h.misbehave()
    submissions = getattr(worker.transport, "submissions", [])
    resent = len(submissions) - len({s.batch_id for s in submissions})
    applied = h.applications(ids)
    with site.outbox.engine.connect() as conn:
        states = set(conn.execute(select(entries.c.state)).scalars())
    site.outbox.close()
    if resent < 1:
        raise CheckFailed("no batch was resubmitted after its receipt was lost")
    if applied != dict.fromkeys(ids, 1):
        twice = sum(1 for v in applied.values() if v > 1)
        raise CheckFailed(
            f"{twice} records were applied twice, {list(applied.values()).count(0)} never"
        )
    if states != {"done"}:
        raise CheckFailed(f"entries left in states {sorted(states)}")
    return f"{resent} resubmissions after lost receipts; every record applied exactly once"


def ta_rel_03(h: TypeHarness) -> str:
    """kill -9 of a running `cpadapter deliver`, restart: nothing lost, nothing applied twice."""
    kills = 2 if h.fast else 6
    site = h.new_site(batch_size=20)
    ids = site.enqueue(h.named_records(300))
    site.outbox.close()
    h.misbehave(seed=3, latency_ms=60, drop_after_store_probability=0.1)
    log = site.directory / "deliver.log"
    mid_flight = 0
    try:
        for round_ in range(kills):
            process = _deliver_process(site.config_path, log)
            time.sleep(1.2 + 0.3 * round_)
            process.send_signal(signal.SIGKILL)  # this process only, by its handle
            process.wait(timeout=10)
            now = _entry_states(site)
            mid_flight += bool(now.get("in_flight") or now.get("sent"))
    finally:
        h.misbehave()
    final = _deliver_process(site.config_path, log)
    try:
        code = final.wait(timeout=120)
    except subprocess.TimeoutExpired:
        final.kill()
        raise
    h.log_stream.write(log.read_text(encoding="utf-8", errors="replace"))
    if code != 0:
        raise CheckFailed(f"`cpadapter deliver` after the kills exited {code}")
    states = _entry_states(site)
    applied = h.applications(ids)
    if states != {"done": len(ids)}:
        raise CheckFailed(f"after {kills} kills the outbox is {states}, not all done")
    if applied != dict.fromkeys(ids, 1):
        raise CheckFailed("after the kills some records were applied twice or never")
    return (
        f"{kills} kill -9 / restart cycles ({mid_flight} with batches at the hub): "
        f"{len(ids)} records each applied exactly once"
    )


def _entry_states(site: Site) -> dict[str, int]:
    """Entry counts by state, read straight from the site's store file (no process holds it)."""
    engine = create_engine(f"sqlite:///{site.directory / 'store' / 'adapter.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(entries.c.state, func.count()).group_by(entries.c.state))
            return {str(state): int(count) for state, count in rows}
    finally:
        engine.dispose()


def _deliver_process(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "adapter", "deliver", "--config", str(config), "--until-empty"],
            stdout=sink,
            stderr=sink,
            env=env,
        )


def ta_rel_04(h: TypeHarness) -> str:
    """A non-retryable fault (UNAUTHORISED) is not retried; the batch is parked with its reason."""
    site = h.new_site()
    ids = site.enqueue([child_record("unreg-1", source_system="ZZZ891")], "ZZZ891")
    worker = h.deliver(site)
    with site.outbox.engine.connect() as conn:
        row = conn.execute(
            select(entries.c.state, entries.c.attempts, entries.c.last_error_code).where(
                entries.c.message_id == ids[0]
            )
        ).one()
    site.outbox.close()
    if worker.summary.retries_scheduled:
        raise CheckFailed("a non-retryable fault was retried")
    if row.state != "parked" or row.last_error_code != "UNAUTHORISED":
        raise CheckFailed(f"the entry is {row.state} ({row.last_error_code}), not parked")
    return "UNAUTHORISED: one attempt, parked with reason UNAUTHORISED"


def ta_rel_05(h: TypeHarness) -> str:
    """New versions queued while earlier ones are in flight never come back Stale."""
    site = h.new_site(batch_size=20)
    stem = uuid.uuid4().hex[:8]
    for version in range(1, 4):
        site.enqueue([child_record(f"{stem}-{i}", version) for i in range(20)])
        if version == 2:
            h.deliver(site)
    h.deliver(site)
    with site.outbox.engine.connect() as conn:
        stale = operator.status(conn)["stale"]
        statuses = set(conn.execute(select(outcomes.c.status)).scalars())
    site.outbox.close()
    if stale or "Stale" in statuses:
        raise CheckFailed(f"{stale} Stale outcomes in normal operation")
    return f"3 versions of 20 records delivered; outcomes {sorted(statuses)}, no Stale"


# ----------------------------------------------------------------------------- delta


def _demo_site(h: TypeHarness) -> tuple[Site, Path]:
    """A site reading a freshly seeded demo social-care database (full snapshots)."""
    from demo.seed import seed_demo

    site = h.new_site()
    demo = site.directory / "demo"
    seed_demo(demo, children=60)
    sources = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))["sources"]
    fwk = next(s for s in sources if s["name"] == "frameworki")
    fwk["mapping"] = str(REPO_CONFIG.parent / fwk["mapping"])
    fwk["snapshot"] = "full"
    fwk["options"]["url"] = f"sqlite:///{demo / 'frameworki.db'}"
    document = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    document["sources"] = [fwk]
    site.config_path.write_text(yaml.safe_dump(document, sort_keys=False))
    site.config = load_config(site.config_path)
    return site, demo / "frameworki.db"


def ta_dlt(h: TypeHarness) -> dict[str, str]:
    """TA-DLT-01/02/03 on a seeded demo social-care database (run once, three verdicts)."""
    from adapter.pipeline import run_source
    from demo import frameworki

    site, fwk_db = _demo_site(h)
    source = site.config.sources[0]
    run_at = datetime.now(UTC)
    run_source(site.config, source, site.outbox, base=site.directory, run_at=run_at)
    h.deliver(site)
    second = run_source(site.config, source, site.outbox, base=site.directory, run_at=run_at)
    verdicts: dict[str, str] = {}
    if second.counts.queued != 0:
        verdicts["TA-DLT-01"] = f"fail: an unchanged second run queued {second.counts.queued}"
    else:
        verdicts["TA-DLT-01"] = f"second run over {second.counts.read} records queued nothing"
    with site.outbox.engine.connect() as conn:
        sent = dict(
            conn.execute(select(delta_state.c.source_record_id, delta_state.c.last_version)).all()
        )
    targets = sorted(sent)[:2]
    engine = create_engine(f"sqlite:///{fwk_db}")
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=1)
    person = frameworki.person
    with engine.begin() as conn:
        conn.execute(
            update(person)
            .where(person.c.person_id == int(targets[0]))
            .values(middle_names="Accredit", last_modified=later)
        )
        conn.execute(
            update(person)
            .where(person.c.person_id == int(targets[1]))
            .values(deleted_flag="Y", last_modified=later)
        )
    engine.dispose()
    run_source(site.config, source, site.outbox, base=site.directory, run_at=run_at)
    h.deliver(site)
    with site.outbox.engine.connect() as conn:
        rows = conn.execute(
            select(entries.c.source_record_id, entries.c.version, entries.c.action).where(
                entries.c.source_record_id.in_(targets)
            )
        ).all()
    site.outbox.close()
    changed = [r for r in rows if r.source_record_id == targets[0] and r.version > sent[targets[0]]]
    withdrawn = [
        r for r in rows if r.source_record_id == targets[1] and r.action == Action.WITHDRAW.value
    ]
    verdicts["TA-DLT-02"] = (
        f"the changed record was queued again as version {changed[0].version}"
        if changed
        else "fail: the changed record was not sent with a higher version"
    )
    verdicts["TA-DLT-03"] = (
        "the deleted record was sent as Withdraw"
        if withdrawn
        else "fail: the deleted record was not sent as Withdraw"
    )
    return verdicts


def _dlt(check_id: str) -> TypeCheck:
    def check(h: TypeHarness) -> str:
        cache = h.__dict__.setdefault("_dlt_verdicts", {})
        if not cache:
            cache.update(ta_dlt(h))
        verdict: str = cache[check_id]
        if verdict.startswith("fail: "):
            raise CheckFailed(verdict[6:])
        return verdict

    check.__doc__ = f"{check_id} on a seeded demo social-care database."
    return check


# ----------------------------------------------------------------------------- outcomes


def ta_out_01(h: TypeHarness) -> str:
    """Matched stores the ContactPoint id; NoMatch reaches the data administrator's work list."""
    site = h.new_site()
    stem = uuid.uuid4().hex[:8]
    matched = child_record(
        f"{stem}-m",
        given=KNOWN_CHILD.given_name,
        family=KNOWN_CHILD.family_name,
        birth=KNOWN_CHILD.birth_date,
        nhs=KNOWN_CHILD.nhs_number,
    )
    site.enqueue([matched, child_record(f"{stem}-n", family="Nomatchington")])
    h.deliver(site)
    with site.outbox.engine.connect() as conn:
        cp = conn.execute(
            select(delta_state.c.contactpoint_id).where(
                delta_state.c.source_record_id == f"{stem}-m"
            )
        ).scalar()
        work = [(w.source_record_id, w.status) for w in open_items(conn)]
    site.outbox.close()
    if cp != KNOWN_CHILD.contactpoint_id:
        raise CheckFailed("the ContactPoint id of a Matched record was not stored")
    if (f"{stem}-n", "NoMatch") not in work:
        raise CheckFailed("a NoMatch record did not reach the work list")
    return "Matched stored its ContactPoint id; NoMatch is on the work list"


# ----------------------------------------------------------------------------- security


def ta_sec_01(h: TypeHarness) -> str:
    """The product's log output of this whole run holds none of the names it delivered."""
    text = h.log_stream.getvalue()
    if not h.sensitive_names:
        site = h.new_site()
        site.enqueue(h.named_records(5))
        h.deliver(site)
        site.outbox.close()
        text = h.log_stream.getvalue()
    leaked = sorted(n for n in h.sensitive_names if n in text)
    if leaked:
        raise CheckFailed(f"{len(leaked)} delivered family names appear in the logs")
    lines = text.count("\n")
    return f"{lines} log lines searched for {len(h.sensitive_names)} delivered names: none found"


def ta_sec_02(h: TypeHarness) -> str:
    """A sentinel name delivered through the outbox is absent from the raw database files."""
    sentinel = "Zorblequinth"
    site = h.new_site()
    site.enqueue([child_record(uuid.uuid4().hex[:10], given=sentinel)])
    h.deliver(site)
    database = Path(str(site.outbox.engine.url.database))
    found = []
    for path in database.parent.glob(database.name + "*"):
        data = path.read_bytes()
        if sentinel.encode() in data or sentinel.encode("utf-16-le") in data:
            found.append(path.name)
    site.outbox.close()
    if found:
        raise CheckFailed(f"a child's name is stored in clear in {', '.join(found)}")
    return "the delivered name is not in the database file or its WAL (payloads encrypted)"


_DTD = b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<r>&x;</r>'
_INTERNAL = b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaa">]>\n<r>&a;&a;</r>'


def ta_sec_03(h: TypeHarness) -> str:
    """XML with a DTD or an external entity is refused by the product's parser."""
    accepted = []
    for name, data in (("external entity", _DTD), ("internal entity", _INTERNAL)):
        try:
            parse_bytes(data)
        except InputError:
            continue
        accepted.append(name)
    if accepted:
        raise CheckFailed(f"XML with a DTD was parsed ({', '.join(accepted)})")
    return "documents declaring a DTD, internal or external entities are refused"


# ----------------------------------------------------------------------------- throughput


def ta_thr_01(h: TypeHarness) -> str:
    """A configured rate of 200 records/s is held within 10 % while sending."""
    rate = 200.0
    count = 700 if h.fast else 1600
    site = h.new_site(batch_size=100, rate=RateConfig(start_per_second=rate).model_dump())
    site.enqueue(h.named_records(count))
    worker = h.deliver(site)
    site.outbox.close()
    subs = [s for s in getattr(worker.transport, "submissions", []) if s.error_code is None]
    if len(subs) < 4:
        raise CheckFailed(f"only {len(subs)} submissions; cannot measure the rate")
    elapsed = subs[-1].at - subs[0].at
    achieved = sum(s.records for s in subs[:-1]) / elapsed
    if abs(achieved - rate) > rate * 0.1:
        raise CheckFailed(f"achieved {achieved:.1f} records/s against {rate:.0f} configured")
    return f"achieved {achieved:.1f} records/s against {rate:.0f} configured (within 10 %)"


#: Every TA check, in the order they run (delivery checks before TA-SCH-01 and TA-SEC-01, which
#: inspect what the others produced).
TYPE_CHECKS: dict[str, TypeCheck] = {
    "TA-SCH-02": ta_sch_02,
    **{f"TA-BR-0{n}": _gate_check(f"BR-0{n}") for n in range(1, 8)},
    "TA-BR-08": ta_br_08,
    "TA-TRN-01": ta_trn_01,
    "TA-TRN-02": ta_trn_02,
    "TA-TRN-03": ta_trn_03,
    "TA-TRN-04": ta_trn_04,
    "TA-TRN-05": ta_trn_05,
    "TA-REL-01": ta_rel_01,
    "TA-REL-02": ta_rel_02,
    "TA-REL-03": ta_rel_03,
    "TA-REL-04": ta_rel_04,
    "TA-REL-05": ta_rel_05,
    "TA-DLT-01": _dlt("TA-DLT-01"),
    "TA-DLT-02": _dlt("TA-DLT-02"),
    "TA-DLT-03": _dlt("TA-DLT-03"),
    "TA-OUT-01": ta_out_01,
    "TA-SEC-02": ta_sec_02,
    "TA-SEC-03": ta_sec_03,
    "TA-THR-01": ta_thr_01,
    "TA-SCH-01": ta_sch_01,
    "TA-SEC-01": ta_sec_01,
}
