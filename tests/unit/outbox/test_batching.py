"""Forming batches: limits, one source per batch, versions never overlap, stored exact bytes."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import Engine, select, update

from ldi import NAMESPACE
from ldi.validation import check_document
from outbox.batching import FormedBatch, Oversized, build_document, form_batch
from outbox.clock import utc_now
from outbox.crypto import KeyRing, batch_aad
from outbox.delta_state import record_contactpoint_ids
from outbox.entries import enqueue, record_xml
from outbox.store import batches, entries
from tests.unit.outbox.conftest import SOURCE, record


def form(engine: Engine, keys: KeyRing, max_records: int = 100, max_bytes: int = 5 * 2**20):
    with engine.begin() as conn:
        return form_batch(
            conn,
            keys,
            la_code="891",
            max_records=max_records,
            max_bytes=max_bytes,
            owner="t",
            lease_seconds=60,
            now=utc_now(),
        )


def stored_document(engine: Engine, keys: KeyRing, batch_id: str) -> bytes:
    with engine.connect() as conn:
        row = conn.execute(
            select(batches.c.payload, batches.c.key_id).where(batches.c.batch_id == batch_id)
        ).one()
    return keys.decrypt(row.key_id, row.payload, batch_aad(batch_id))


def test_batch_document_is_valid_and_stored_encrypted(engine: Engine, keys: KeyRing) -> None:
    """The stored batch is a schema-valid SubmissionBatch holding the records in queue order."""
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A"), record("B"), record("C")])
    formed = form(engine, keys)
    assert isinstance(formed, FormedBatch) and formed.record_count == 3
    document = stored_document(engine, keys, formed.batch_id)
    check = check_document(document)
    assert check.schema_valid and check.held == 0, check.schema_errors
    assert check.batch is not None
    assert [r.source_record_id for r in check.batch.records] == ["A", "B", "C"]
    assert check.batch.source_system == SOURCE and check.batch.accountable_body == "891"


def test_batch_respects_the_record_limit(engine: Engine, keys: KeyRing) -> None:
    """No batch holds more than max_records; the rest wait for the next one."""
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record(f"R{i}") for i in range(5)])
    first, second, third = form(engine, keys, 2), form(engine, keys, 2), form(engine, keys, 2)
    assert [b.record_count for b in (first, second, third)] == [2, 2, 1]  # type: ignore[union-attr]
    assert form(engine, keys, 2) is None


def test_batch_respects_the_byte_limit(engine: Engine, keys: KeyRing) -> None:
    """Records are added only while the document stays under max_bytes."""
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record(f"R{i}") for i in range(10)])
    formed = form(engine, keys, max_bytes=2500)
    assert isinstance(formed, FormedBatch)
    assert formed.size <= 2500 and 1 <= formed.record_count < 10


def test_a_record_too_large_for_any_batch_is_reported(engine: Engine, keys: KeyRing) -> None:
    """A single record over the byte limit comes back as Oversized, not as a batch."""
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("BIG")])
    assert isinstance(form(engine, keys, max_bytes=600), Oversized)


def test_one_source_system_per_batch(engine: Engine, keys: KeyRing) -> None:
    """Records of two source systems go into separate batches, oldest source first."""
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A")])
        enqueue(conn, keys, "SCH891", [record("B", source_system="SCH891")])
    first, second = form(engine, keys), form(engine, keys)
    assert (first.source_system, second.source_system) == (SOURCE, "SCH891")  # type: ignore[union-attr]


def test_a_newer_version_waits_while_the_older_is_at_the_hub(engine: Engine, keys: KeyRing) -> None:
    """Version 2 is not batched until version 1 has its outcome (no Stale, TA-REL-05)."""
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A", 1)])
    first = form(engine, keys)
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A", 2), record("B", 1)])
    second = form(engine, keys)
    assert isinstance(second, FormedBatch) and second.record_count == 1
    assert b'version="2"' not in stored_document(engine, keys, second.batch_id)
    with engine.begin() as conn:
        conn.execute(
            update(entries).where(entries.c.batch_id == first.batch_id).values(state="done")  # type: ignore[union-attr]
        )
    third = form(engine, keys)
    assert isinstance(third, FormedBatch)
    assert b'version="2"' in stored_document(engine, keys, third.batch_id)


def test_known_contactpoint_id_is_added_to_later_versions(engine: Engine, keys: KeyRing) -> None:
    """A ContactPoint id from an earlier Matched outcome goes into the next version sent."""
    with engine.begin() as conn:
        record_contactpoint_ids(conn, SOURCE, [("A", "CP3000000011", 1)])
        enqueue(conn, keys, SOURCE, [record("A", 2)])
    formed = form(engine, keys)
    document = stored_document(engine, keys, formed.batch_id)  # type: ignore[union-attr]
    assert b"<ContactPointId>CP3000000011</ContactPointId>" in document
    check = check_document(document)
    assert check.schema_valid, check.schema_errors


def _reference_document(records: list[tuple[bytes, str | None]], created: datetime) -> bytes:
    """What build_document gave before splicing: parse each record, add the id, serialise."""
    root = etree.Element(_NS + "SubmissionBatch", nsmap={None: NAMESPACE})
    for name, value in (
        ("batchId", BATCH_ID),
        ("schemaVersion", "1.0"),
        ("accountableBody", "891"),
        ("sourceSystem", SOURCE),
        ("createdAt", created.isoformat()),
    ):
        root.set(name, value)
    for xml, contactpoint_id in records:
        element = etree.fromstring(xml)
        if contactpoint_id is not None and element.find(_NS + "ContactPointId") is None:
            added = etree.Element(_NS + "ContactPointId")
            added.text = contactpoint_id
            element.insert(1, added)
        root.append(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


BATCH_ID = "6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab"
_NS = "{" + NAMESPACE + "}"


@settings(max_examples=60, deadline=None)
@given(
    given_names=st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12),
        min_size=1,
        max_size=4,
    ),
    with_id=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_spliced_document_equals_reparsed_document(
    given_names: list[str], with_id: list[bool]
) -> None:
    """Splicing stored records gives the same bytes as parsing and re-serialising them."""
    records: list[tuple[bytes, str | None]] = []
    for index, name in enumerate(given_names):
        carried = "CP0000000001" if with_id[index] and index % 2 else None
        xml = record_xml(record(f"R{index}&<'\"", given=name, contactpoint_id=carried))
        records.append((xml, "CP0000000777" if with_id[index] else None))
    created = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    built = build_document(
        batch_id=BATCH_ID, la_code="891", source_system=SOURCE, created_at=created, records=records
    )
    assert built == _reference_document(records, created)


def test_records_stored_in_another_form_still_build_a_valid_batch() -> None:
    """A stored record with a namespace prefix (not the usual form) is re-serialised, valid."""
    plain = record_xml(record("P1"))
    prefixed = (
        plain.replace(b'<Record xmlns="', b'<ldi:Record xmlns:ldi="', 1)
        .replace(b"<", b"<ldi:")
        .replace(b"<ldi:ldi:", b"<ldi:")
        .replace(b"<ldi:/", b"</ldi:")
    )
    assert etree.fromstring(prefixed).tag == _NS + "Record"
    created = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    built = build_document(
        batch_id=BATCH_ID,
        la_code="891",
        source_system=SOURCE,
        created_at=created,
        records=[(prefixed, "CP0000000777"), (plain, None)],
    )
    check = check_document(built)
    assert check.schema_valid, check.schema_errors
    assert check.batch is not None
    assert [r.contactpoint_id for r in check.batch.records] == ["CP0000000777", None]
