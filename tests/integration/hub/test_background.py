"""Background processing: worker processes complete batches, and a killed one is replaced."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import load_config
from hub.server import Hub
from hub.service import Caller
from hub.synthetic import record_for
from ldi.models import BatchStatus, SubmissionBatch
from ldi.xmlcodec import to_element
from tests.fixtures.hub import (
    CASES,
    LA,
    SOURCE,
    HubPki,
    make_batch,
    new_message_id,
    new_source_record_id,
    write_hub_yaml,
)

CALLER = Caller(la_code=LA, source_systems=frozenset({SOURCE}), presented_by="t")


@pytest.fixture
def background_hub(hub_pki: HubPki, tmp_path: Path) -> Iterator[Hub]:
    config = tmp_path / "hub.yaml"
    write_hub_yaml(
        config,
        hub_pki,
        store_url=f"sqlite:///{tmp_path / 'hub.db'}",
        drop=tmp_path / "d",
        mode="background",
    )
    hub = Hub(load_config(config))
    hub.store.add_children(CASES.values())
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def _batch(case: str) -> SubmissionBatch:
    return make_batch(
        record_for(
            CASES[case], message_id=new_message_id(), source_record_id=new_source_record_id()
        )
    )


def _complete(hub: Hub, batch_id: str, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        row = hub.service.find_batch(CALLER, batch_id)
        if row.status is BatchStatus.COMPLETE:
            return [o.status.value for o in hub.store.outcomes(row.seq)]
        assert time.monotonic() < deadline, f"batch {batch_id} still Pending"
        time.sleep(0.02)


def test_batches_are_completed_in_order_by_the_workers(background_hub: Hub) -> None:
    """Receipts come back Pending-first; the worker processes complete each batch correctly."""
    batches = [_batch("by_nhs"), _batch("twin_1"), _batch("by_name")]
    for batch in batches:
        receipt, created = background_hub.service.submit(
            CALLER, to_element(batch), None, max_records=1000, transport="soap"
        )
        assert created
        assert receipt.batch_id == batch.batch_id
    assert [_complete(background_hub, b.batch_id) for b in batches] == [
        ["Matched"],
        ["Matched"],
        ["Matched"],
    ]


def test_a_killed_processor_is_replaced_and_nothing_is_lost(background_hub: Hub) -> None:
    """SIGKILL the processor process: a new one takes over and completes the next batch."""
    worker = background_hub.worker
    assert worker is not None
    first = _batch("by_nhs")
    background_hub.service.submit(
        CALLER, to_element(first), None, max_records=1000, transport="soap"
    )
    assert _complete(background_hub, first.batch_id) == ["Matched"]
    old_pid = worker.pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    second = _batch("twin_2")
    background_hub.service.submit(
        CALLER, to_element(second), None, max_records=1000, transport="soap"
    )
    assert _complete(background_hub, second.batch_id) == ["Matched"]
    assert worker.pid != old_pid
