"""`hub serve` with files enabled answers SFTP drops from a thread while serving SOAP."""

from __future__ import annotations

import time
from pathlib import Path

from lxml import etree

from hub.config import load_config
from hub.server import Hub
from hub.synthetic import record_for
from ldi.models import BatchOutcome
from ldi.xmlcodec import from_element, to_bytes
from tests.fixtures.hub import (
    CASES,
    SECOND_SOURCE,
    HubPki,
    make_batch,
    new_message_id,
    new_source_record_id,
    write_hub_yaml,
)


def test_serve_polls_the_drop_and_writes_the_outcome(hub_pki: HubPki, tmp_path: Path) -> None:
    """A batch uploaded as .part and renamed is answered in outbound/ within seconds."""
    drop = tmp_path / "la891"
    (drop / "inbound").mkdir(parents=True)
    config = tmp_path / "hub.yaml"
    write_hub_yaml(
        config,
        hub_pki,
        store_url=f"sqlite:///{tmp_path / 'hub.db'}",
        drop=drop,
        mode="background",
        files_enabled=True,
    )
    hub = Hub(load_config(config))
    hub.store.add_children(CASES.values())
    hub.start()
    try:
        batch = make_batch(
            record_for(
                CASES["by_name"],
                message_id=new_message_id(),
                source_record_id=new_source_record_id(),
            ),
            source=SECOND_SOURCE,
        )
        part = drop / "inbound" / f"{batch.batch_id}.xml.part"
        part.write_bytes(to_bytes(batch))
        part.rename(part.with_name(f"{batch.batch_id}.xml"))
        answer = drop / "outbound" / f"{batch.batch_id}.outcome.xml"
        deadline = time.monotonic() + 10
        while not answer.exists():
            assert time.monotonic() < deadline, "no outcome file within 10 s"
            time.sleep(0.02)
        outcome = from_element(etree.fromstring(answer.read_bytes()), BatchOutcome)
        assert [o.contactpoint_id for o in outcome.record_outcomes] == [
            CASES["by_name"].contactpoint_id
        ]
    finally:
        hub.stop()
