"""Forming batches: which pending entries go together, and the batch's exact bytes.

Rules (LDI-TRN-04, section 3):

* one batch holds records of ONE source system (``sourceSystem`` is a batch attribute);
* at most ``max_records`` records (≤ 1,000 on the web service) and ``max_bytes`` (5 MiB);
* an entry joins a batch only when no other version of its source record is ``in_flight`` or
  ``sent`` (two versions are never at the hub together, so they can never arrive out of order
  and come back ``Stale``, TA-REL-05);
* oldest first, so nothing starves.

The batch document is built **once**, encrypted and stored with the batch row in the same
transaction that moves the entries to ``in_flight``. Every later submission of the batch sends
those stored bytes: a resubmission after a lost receipt is byte-identical, as LDI-TRN-06 needs
for the hub to answer with the original receipt rather than ``BATCH_ID_REUSED`` (TA-REL-02).
Rebuilding from the entries would not be safe: a ContactPoint id learnt in between, or a new
``createdAt``, would change the bytes.

A ContactPoint id known from an earlier ``Matched`` outcome is put into every later version
that does not carry one (TA-OUT-01), at this point, because only here is the previous version
certain to be finished.

On PostgreSQL the entries are claimed with ``FOR UPDATE SKIP LOCKED``, so workers forming
batches at the same time take different entries without waiting on each other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lxml import etree
from sqlalchemy import Connection, and_, bindparam, exists, func, insert, select, update

from ldi import NAMESPACE, SCHEMA_VERSION
from ldi.safexml import make_parser
from outbox.crypto import KeyRing, batch_aad, entry_aad
from outbox.delta_state import contactpoint_ids
from outbox.entries import ACTIVE_STATES, EntryState
from outbox.store import batches, entries

_NS = "{" + NAMESPACE + "}"
#: Room kept for the batch element, the XML declaration and injected ContactPoint ids.
_HEADER_ALLOWANCE = 1024
_PER_RECORD_ALLOWANCE = 64
_CHUNK = 500


class BatchState:
    """States of a batch row."""

    FORMED = "formed"  # bytes stored, no receipt yet (may or may not have reached the hub)
    SUBMITTED = "submitted"  # receipt stored; outcome awaited
    COMPLETE = "complete"  # every record outcome stored
    PARKED = "parked"  # a non-retryable fault, or retries used up

    OPEN = (FORMED, SUBMITTED)


@dataclass(frozen=True, slots=True)
class FormedBatch:
    batch_id: str
    source_system: str
    record_count: int
    size: int


@dataclass(frozen=True, slots=True)
class Oversized:
    """A single record too large for any batch: parked instead of forming a batch."""

    message_id: str
    size: int


def _eligible(source_system: str | None = None):  # type: ignore[no-untyped-def]
    other = entries.alias("other")
    active = exists().where(
        and_(
            other.c.source_system == entries.c.source_system,
            other.c.source_record_id == entries.c.source_record_id,
            other.c.state.in_([s.value for s in ACTIVE_STATES]),
        )
    )
    condition = and_(entries.c.state == EntryState.PENDING.value, ~active)
    if source_system is not None:
        condition = and_(condition, entries.c.source_system == source_system)
    return condition


def pending_source_systems(conn: Connection) -> list[str]:
    """Source systems with pending entries, the one whose oldest pending entry is oldest first.

    One pass over the (state, source_system, id) index; asking instead for "the oldest entry
    that could be sent now" sorts every pending entry and probes each one's other versions,
    which costs tens of milliseconds per batch on a full outbox.
    """
    oldest = func.min(entries.c.id)
    rows = conn.execute(
        select(entries.c.source_system, oldest)
        .where(entries.c.state == EntryState.PENDING.value)
        .group_by(entries.c.source_system)
        .order_by(oldest)
    ).all()
    return [str(row[0]) for row in rows]


def _ready_entries(conn: Connection, source_system: str, max_records: int) -> list[Any]:
    """The oldest pending entries of ``source_system`` that could be sent now."""
    query = (
        select(
            entries.c.id,
            entries.c.message_id,
            entries.c.source_record_id,
            entries.c.payload,
            entries.c.key_id,
            entries.c.payload_size,
        )
        .where(_eligible(source_system))
        .order_by(entries.c.id)
        .limit(max_records)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=entries)
    return list(conn.execute(query).all())


def form_batch(
    conn: Connection,
    keys: KeyRing,
    *,
    la_code: str,
    max_records: int,
    max_bytes: int,
    owner: str,
    lease_seconds: float,
    now: datetime,
) -> FormedBatch | Oversized | None:
    """Claim pending entries into a new batch held (leased) by ``owner``; None if none are ready.

    Runs inside the caller's transaction; the caller commits.
    """
    rows: list[Any] = []
    for source_system in pending_source_systems(conn):
        rows = _ready_entries(conn, source_system, max_records)
        if rows:
            break
    if not rows:
        return None
    budget = max_bytes - _HEADER_ALLOWANCE
    chosen: list[Any] = []
    used = 0
    for row in rows:
        size = row.payload_size + _PER_RECORD_ALLOWANCE
        if used + size > budget:
            if not chosen:
                return Oversized(row.message_id, row.payload_size)
            break
        used += size
        chosen.append(row)
    if not chosen:
        return None
    batch_id = str(uuid.uuid4())
    created_at = now.replace(microsecond=0)
    known_ids = contactpoint_ids(conn, source_system, [r.source_record_id for r in chosen])
    document = build_document(
        batch_id=batch_id,
        la_code=la_code,
        source_system=source_system,
        created_at=created_at,
        records=[
            (
                keys.decrypt(r.key_id, r.payload, entry_aad(r.message_id)),
                known_ids.get(r.source_record_id),
            )
            for r in chosen
        ],
    )
    if len(document) > max_bytes:  # the allowances above make this unreachable; checked anyway
        raise ValueError(f"batch of {len(chosen)} records is {len(document)} bytes")
    kid, blob = keys.encrypt(document, batch_aad(batch_id))
    conn.execute(
        insert(batches).values(
            batch_id=batch_id,
            source_system=source_system,
            state=BatchState.FORMED,
            record_count=len(chosen),
            created_at=created_at,
            payload=blob,
            key_id=kid,
            payload_size=len(document),
            attempts=0,
            poll_count=0,
            next_attempt_at=now,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
        )
    )
    # The record order is the order inside the stored document; no per-row write needed.
    chosen_ids = [r.id for r in chosen]
    claim = (
        update(entries)
        .where(entries.c.id.in_(bindparam("ids", expanding=True)))
        .values(state=EntryState.IN_FLIGHT.value, batch_id=batch_id, updated_at=now)
    )
    for start in range(0, len(chosen_ids), _CHUNK):
        conn.execute(claim, {"ids": chosen_ids[start : start + _CHUNK]})
    return FormedBatch(batch_id, source_system, len(chosen), len(document))


def build_document(
    *,
    batch_id: str,
    la_code: str,
    source_system: str,
    created_at: datetime,
    records: list[tuple[bytes, str | None]],
) -> bytes:
    """The ``SubmissionBatch`` document from stored ``Record`` XML, with ContactPoint ids added.

    ``records`` holds each record's XML and the ContactPoint id to add when it has none.
    The stored XML is what :func:`outbox.entries.record_xml` wrote (lxml, default namespace
    declared on ``Record``), so it is spliced in as bytes with that declaration dropped: the
    result is byte for byte what parsing and re-serialising every record gives
    (:func:`_spliced_record` falls back to that for anything else), at a tenth of the cost.
    """
    root = etree.Element(_NS + "SubmissionBatch", nsmap={None: NAMESPACE})
    root.set("batchId", batch_id)
    root.set("schemaVersion", SCHEMA_VERSION)
    root.set("accountableBody", la_code)
    root.set("sourceSystem", source_system)
    root.set("createdAt", created_at.isoformat())
    root.text = _SLOT
    head, tail = etree.tostring(root, xml_declaration=True, encoding="UTF-8").split(_SLOT_BYTES)
    parser = make_parser()
    body = [_spliced_record(xml, contactpoint_id, parser) for xml, contactpoint_id in records]
    return head + b"".join(body) + tail


_SLOT = "records-go-here"
_SLOT_BYTES = _SLOT.encode("ascii")
_DEFAULT_NAMESPACE = b' xmlns="' + NAMESPACE.encode("ascii") + b'"'
_RECORD_START = b"<Record" + _DEFAULT_NAMESPACE
_RECORD_ID_END = b"</SourceRecordId>"


def _spliced_record(xml: bytes, contactpoint_id: str | None, parser: etree.XMLParser) -> bytes:
    """One stored record as it sits inside the batch element (default namespace inherited)."""
    if not xml.startswith(_RECORD_START) or _RECORD_ID_END not in xml:
        xml = _reserialised(xml, contactpoint_id, parser)
        return b"<Record" + xml[len(_RECORD_START) :] if xml.startswith(_RECORD_START) else xml
    record = b"<Record" + xml[len(_RECORD_START) :]
    if contactpoint_id is None or b"<ContactPointId>" in record:
        return record
    at = record.index(_RECORD_ID_END) + len(_RECORD_ID_END)  # XSD order: right after it
    element = etree.Element(_NS + "ContactPointId", nsmap={None: NAMESPACE})
    element.text = contactpoint_id
    inserted = etree.tostring(element, encoding="UTF-8").replace(_DEFAULT_NAMESPACE, b"", 1)
    return record[:at] + inserted + record[at:]


def _reserialised(xml: bytes, contactpoint_id: str | None, parser: etree.XMLParser) -> bytes:
    """The general path, for stored XML in any other form: parse, add the id, serialise."""
    record = etree.fromstring(xml, parser)
    if contactpoint_id is not None and record.find(_NS + "ContactPointId") is None:
        element = etree.Element(_NS + "ContactPointId")
        element.text = contactpoint_id
        record.insert(1, element)  # right after SourceRecordId (XSD order)
    return etree.tostring(record, encoding="UTF-8")
