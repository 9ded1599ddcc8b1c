"""Restarting the hub - even killed without warning - keeps every batch, outcome and record."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import zeep
from zeep.transports import Transport

from hub.seed import seed_from_file
from hub.store import Store
from hub.synthetic import record_for
from tests.fixtures.hub import (
    CASES,
    HubPki,
    free_port,
    make_batch,
    new_message_id,
    new_source_record_id,
    seed_file,
    tls_session,
    wait_until_serving,
    write_hub_yaml,
    zeep_args,
)

CLI = [sys.executable, "-c", "from adapter.cli import main; main()"]


class HubProcess:
    """``cpadapter hub serve`` as a child process, startable again on the same store and port."""

    def __init__(self, config: Path, url: str, pki: HubPki) -> None:
        self.config = config
        self.url = url
        self.pki = pki
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*CLI, "hub", "serve", "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_serving(self.url, self.pki)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def client(self) -> zeep.Client:
        transport = Transport(session=tls_session(self.pki.client, self.pki.ca), timeout=10)
        return zeep.Client(f"{self.url}/ldi/v1?wsdl", transport=transport)


@pytest.fixture
def hub_process(hub_pki: HubPki, tmp_path: Path) -> Iterator[HubProcess]:
    """A hub with its own SQLite store, run as a subprocess."""
    port = free_port()
    config = tmp_path / "hub.yaml"
    store_url = f"sqlite:///{tmp_path / 'hub.db'}"
    write_hub_yaml(config, hub_pki, store_url=store_url, drop=tmp_path / "drop", port=port)
    store = Store.open(store_url)
    seed_from_file(store, seed_file(tmp_path / "seed.jsonl"))
    store.close()
    process = HubProcess(config, f"https://127.0.0.1:{port}", hub_pki)
    try:
        yield process
    finally:
        if process.process is not None and process.process.poll() is None:
            process.process.terminate()
            process.process.wait(timeout=10)


def test_killed_hub_restarts_with_every_batch_outcome_and_record(hub_process: HubProcess) -> None:
    """SIGKILL, then restart: receipts, outcomes and the national index are all still there."""
    hub_process.start()
    client = hub_process.client()
    records = [
        record_for(
            CASES[case], message_id=new_message_id(), source_record_id=new_source_record_id()
        )
        for case in ("by_nhs", "twin_1", "former_name")
    ]
    batch = make_batch(*records)
    receipt = client.service.SubmitBatch(**zeep_args(batch))
    before = client.service.GetBatchOutcome(batchId=batch.batch_id)
    assert before.status == "Complete"
    admin = tls_session(hub_process.pki.admin, hub_process.pki.ca)
    status_before = admin.get(f"{hub_process.url}/admin/status", timeout=10).json()

    hub_process.kill()
    hub_process.start()

    client = hub_process.client()
    after = client.service.GetBatchOutcome(batchId=batch.batch_id)
    assert [(o.messageId, o.status, o.ContactPointId) for o in after.RecordOutcome] == [
        (o.messageId, o.status, o.ContactPointId) for o in before.RecordOutcome
    ]
    again = client.service.SubmitBatch(**zeep_args(batch))
    assert (again.batchId, again.receivedAt) == (receipt.batchId, receipt.receivedAt)
    status_after = admin.get(f"{hub_process.url}/admin/status", timeout=10).json()
    assert status_after == status_before
    assert status_after["nationalRecords"] == len(CASES) + 300
    resent = make_batch(*records)
    client.service.SubmitBatch(**zeep_args(resent))
    outcome = client.service.GetBatchOutcome(batchId=resent.batch_id)
    assert {o.status for o in outcome.RecordOutcome} == {"Duplicate"}
