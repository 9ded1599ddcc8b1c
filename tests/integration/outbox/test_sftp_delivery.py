"""SFTP transport against a real OpenSSH sshd and the hub's file processor (TA-TRN-04/05)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from adapter.config import SftpConfig
from ldi.errors import PermanentDeliveryError
from outbox.delivery import Worker, WorkerHalted
from outbox.store import outcomes
from outbox.transports.sftp import SftpTransport
from tests.fixtures.hub import SECOND_SOURCE, RunningHub
from tests.fixtures.sshd import SshServer
from tests.integration.outbox.conftest import AdapterSite, child_record, hub_applications


@pytest.fixture
def file_processor(hub: RunningHub) -> Iterator[None]:
    """The hub's file processor polling its drop folder while the test runs."""
    (hub.drop_directory / "inbound").mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    thread = threading.Thread(target=hub.hub.files.run, args=(stop, 0.05), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


def sftp_settings(sshd: SshServer, hub: RunningHub) -> SftpConfig:
    return SftpConfig(
        host=sshd.host,
        port=sshd.port,
        user=sshd.username,
        key_file=sshd.private_key,
        known_hosts=sshd.known_hosts,
        remote_dir=str(hub.drop_directory),
        batch_size=5000,
    )


def test_batches_travel_by_sftp_and_outcomes_come_back(
    site: AdapterSite, hub: RunningHub, sshd: SshServer, file_processor: None
) -> None:
    """Upload as .part, rename, read outcome files back: every record once (TA-TRN-04)."""
    stem = uuid.uuid4().hex[:8]
    ids = site.enqueue(
        [child_record(SECOND_SOURCE, f"{stem}-{i}") for i in range(30)],
        source_system=SECOND_SOURCE,
    )
    delivery = site.config.delivery.model_copy(
        update={"transport": "sftp", "sftp": sftp_settings(sshd, hub)}
    )
    transport = SftpTransport(delivery.sftp, base=Path("/"), timeout=10)
    try:
        Worker(
            site.engine,
            site.outbox.keys,
            transport,
            la_code="891",
            delivery=delivery,
            batch_size=transport.max_records,
            exclusive=True,
        ).run(until_empty=True)
    finally:
        transport.close()
    with site.engine.connect() as conn:
        statuses = dict(conn.execute(select(outcomes.c.message_id, outcomes.c.status)).all())
    assert statuses == dict.fromkeys(ids, "NoMatch")
    assert hub_applications(hub, ids) == dict.fromkeys(ids, 1)
    assert not list((hub.drop_directory / "inbound").glob("*.part"))


def test_a_changed_host_key_stops_the_transfer(
    site: AdapterSite, hub: RunningHub, sshd: SshServer
) -> None:
    """With the server's host key replaced, delivery halts: nothing is uploaded (TA-TRN-05)."""
    site.enqueue([child_record(SECOND_SOURCE, uuid.uuid4().hex[:8])], source_system=SECOND_SOURCE)
    delivery = site.config.delivery.model_copy(
        update={"transport": "sftp", "sftp": sftp_settings(sshd, hub)}
    )
    with sshd.rotated_host_key():
        transport = SftpTransport(delivery.sftp, base=Path("/"), timeout=10)
        with pytest.raises(PermanentDeliveryError) as refused:
            transport.submit(b"<x/>", str(uuid.uuid4()))
        assert refused.value.code == "HOST_KEY"
        worker = Worker(
            site.engine,
            site.outbox.keys,
            transport,
            la_code="891",
            delivery=delivery,
            batch_size=100,
            exclusive=True,
        )
        with pytest.raises(WorkerHalted):
            worker.run(until_empty=True)
        transport.close()
