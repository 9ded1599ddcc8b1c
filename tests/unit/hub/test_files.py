"""The SFTP side's file processor (LDI-TRN-11, LDI-TRN-12) on a local directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from adapter.cli import main
from hub.config import FileDrop
from hub.files import FileProcessor, write_atomically
from hub.service import HubService
from hub.synthetic import record_for
from ldi.models import BatchOutcome, FaultDetail, SubmissionBatch
from ldi.xmlcodec import from_element, to_bytes
from tests.fixtures.hub import (
    CASES,
    LA,
    SECOND_SOURCE,
    SOURCE,
    make_batch,
    new_message_id,
    new_source_record_id,
)


@pytest.fixture
def drop(tmp_path: Path) -> FileDrop:
    root = tmp_path / "la891"
    (root / "inbound").mkdir(parents=True)
    return FileDrop(user="la891", directory=root, la_code=LA, source_systems=[SECOND_SOURCE])


def _batch(records: int = 2, source: str = SECOND_SOURCE) -> SubmissionBatch:
    return make_batch(
        *(
            record_for(
                CASES["by_nhs"],
                message_id=new_message_id(),
                source_record_id=new_source_record_id(),
            )
            for _ in range(records)
        ),
        source=source,
    )


def _drop_file(drop: FileDrop, batch: SubmissionBatch, suffix: str = ".xml") -> Path:
    path = drop.directory / "inbound" / f"{batch.batch_id}{suffix}"
    path.write_bytes(to_bytes(batch))
    return path


def test_part_files_are_ignored_and_finished_files_answered(
    service: HubService, drop: FileDrop
) -> None:
    """A .part upload is left alone; after the rename the outcome appears and inbound empties."""
    batch = _batch()
    part = _drop_file(drop, batch, ".xml.part")
    processor = FileProcessor(service, [drop])
    assert processor.poll_once() == []
    assert part.exists()
    assert service.store.batch(batch.batch_id) is None

    part.rename(part.with_name(f"{batch.batch_id}.xml"))
    [result] = processor.poll_once()
    assert result.code is None
    outcome_path = drop.directory / "outbound" / f"{batch.batch_id}.outcome.xml"
    assert result.written == outcome_path
    outcome = from_element(etree.fromstring(outcome_path.read_bytes()), BatchOutcome)
    assert outcome.status.value == "Complete"
    assert [o.status.value for o in outcome.record_outcomes] == ["Matched", "Matched"]
    assert list((drop.directory / "inbound").iterdir()) == []
    assert [p.name for p in (drop.directory / "outbound").iterdir()] == [outcome_path.name]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"not xml", "SCHEMA_INVALID"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "SCHEMA_INVALID"),
        (b'<SubmissionBatch xmlns="urn:example:other"/>', "SCHEMA_INVALID"),
    ],
    ids=["not-xml", "dtd", "wrong-namespace"],
)
def test_unusable_files_get_a_fault_file(
    service: HubService, drop: FileDrop, content: bytes, code: str
) -> None:
    """Broken content gets outbound/<batchId>.fault.xml holding a FaultDetail."""
    batch_id = "11111111-2222-4333-8444-555555555555"
    (drop.directory / "inbound" / f"{batch_id}.xml").write_bytes(content)
    [result] = FileProcessor(service, [drop]).poll_once()
    fault_path = drop.directory / "outbound" / f"{batch_id}.fault.xml"
    assert result.written == fault_path
    detail = from_element(etree.fromstring(fault_path.read_bytes()), FaultDetail)
    assert detail.code.value == code == result.code


def test_wrong_file_name_and_unregistered_source_are_faults(
    service: HubService, drop: FileDrop
) -> None:
    """A file not named after its batchId, or for a source the drop lacks, gets a fault."""
    misnamed = _batch()
    (drop.directory / "inbound" / "something-else.xml").write_bytes(to_bytes(misnamed))
    foreign = _batch(source=SOURCE)  # the drop is registered for SCH891 only
    _drop_file(drop, foreign)
    results = {r.name: r.code for r in FileProcessor(service, [drop]).poll_once()}
    assert results == {
        "something-else.xml": "SCHEMA_INVALID",
        f"{foreign.batch_id}.xml": "UNAUTHORISED",
    }


def test_files_may_hold_more_than_1000_records(service: HubService, drop: FileDrop) -> None:
    """The file limit is 50,000 records (LDI-TRN-11), not the web service's 1,000."""
    record = record_for(CASES["by_name"], message_id=new_message_id(), source_record_id="S")
    records = [
        record.model_copy(update={"message_id": f"{i:032x}", "source_record_id": f"F-{i}"})
        for i in range(1200)
    ]
    batch = make_batch(*records, source=SECOND_SOURCE)
    _drop_file(drop, batch)
    [result] = FileProcessor(service, [drop]).poll_once()
    assert result.code is None
    outcome = from_element(etree.fromstring(result.written.read_bytes()), BatchOutcome)
    assert len(outcome.record_outcomes) == 1200


def test_a_file_seen_again_gets_the_same_outcome(service: HubService, drop: FileDrop) -> None:
    """If the hub stopped after storing but before answering, the next poll answers the same."""
    batch = _batch()
    path = _drop_file(drop, batch)
    processor = FileProcessor(service, [drop])
    [first] = processor.poll_once()
    first_bytes = first.written.read_bytes()
    path.write_bytes(to_bytes(batch))  # as if the inbound file had not been removed
    [second] = processor.poll_once()
    assert second.written.read_bytes() == first_bytes


def test_outcome_files_are_written_through_part_and_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the rename, only <name>.part exists, fully written; then only <name>."""
    target = tmp_path / "x.outcome.xml"
    seen: list[tuple[bool, bool, bytes]] = []
    real_replace = Path.replace

    def spy(self: Path, destination: Path) -> Path:
        seen.append((target.exists(), self.name.endswith(".part"), self.read_bytes()))
        return real_replace(self, destination)

    monkeypatch.setattr(Path, "replace", spy)
    write_atomically(target, b"<complete/>")
    assert seen == [(False, True, b"<complete/>")]
    assert target.read_bytes() == b"<complete/>"
    assert not (tmp_path / "x.outcome.xml.part").exists()


def test_files_command_once(tmp_path: Path) -> None:
    """`cpadapter hub files --once` answers what is in the drop and exits."""
    drop_dir = tmp_path / "drop"
    (drop_dir / "inbound").mkdir(parents=True)
    batch = _batch()
    (drop_dir / "inbound" / f"{batch.batch_id}.xml").write_bytes(to_bytes(batch))
    config = tmp_path / "hub.yaml"
    config.write_text(
        "tls: {certificate: hub.pem, key: hub.key, client_ca: ca.pem}\n"
        f"store: {{url: 'sqlite:///{tmp_path / 'hub.db'}'}}\n"
        "log_level: warning\n"
        f"files: {{drops: [{{user: la891, directory: {drop_dir}, la_code: '891', "
        f"source_systems: [{SECOND_SOURCE}]}}]}}\n"
    )
    result = CliRunner().invoke(main, ["hub", "files", "--config", str(config), "--once"])
    assert result.exit_code == 0, result.output
    assert f"{batch.batch_id}.xml -> {batch.batch_id}.outcome.xml" in result.stdout
    assert (drop_dir / "outbound" / f"{batch.batch_id}.outcome.xml").exists()
