"""Outbox entries: message ids, the per-record state machine, and the enqueue API.

One entry is one submission of one version of one source record. Its life::

    pending ──▶ in_flight ──▶ sent ──▶ done
       │            │           │
       │            └───────────┴────▶ parked      (fault, retries used up, Rejected, Stale)
       └──▶ superseded                             (a newer version was queued first)

* ``pending``: queued, in no batch yet. At most one pending entry per source record: queuing a
  newer version supersedes the older pending one, so only the latest state is sent.
* ``in_flight``: in a formed batch whose receipt has not arrived.
* ``sent``: the hub acknowledged the batch (LDI-TRN-07); waiting for the outcome.
* ``done``: a final outcome arrived (Matched, NoMatch, MultipleMatch, Withdrawn, Duplicate).
* ``parked``: needs a person (``cpadapter outbox retry|replay``); never retried on its own.
* ``superseded``: never sent, replaced by a newer version; its payload is dropped at once.

Two versions of one source record are never ``in_flight``/``sent`` together: a pending entry is
only put into a batch when no other entry of its record is (:mod:`outbox.batching`). Records are
independent otherwise, so a stuck record never blocks another.

Message ids (LDI section 1: 32 lower-case hex, unique forever)
    ``messageId = SHA-256(enc("cpadapter-message-id-v1") || enc(sourceSystem) ||
    enc(sourceRecordId) || enc(str(version)))[:32 hex]`` where ``enc(s)`` is the UTF-8 bytes of
    ``s`` preceded by their length as 4 big-endian bytes. The length prefixes make the encoding
    injective (``("AB", "C")`` and ``("A", "BC")`` differ), the label separates it from any
    other use of SHA-256, and 128 bits make an accidental collision negligible. The same
    (source, record, version) always gives the same id, which is what makes a resubmission after
    a crash recognisable to the hub as a ``Duplicate`` (LDI-REL-01).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lxml import etree
from sqlalchemy import Connection, bindparam, func, insert, select, update

from ldi.errors import StoreError
from ldi.models import Action, Record
from ldi.xmlcodec import to_element
from outbox.bulk import execute_many
from outbox.clock import utc_now
from outbox.crypto import KeyRing, entry_aad
from outbox.store import entries

_LABEL = b"cpadapter-message-id-v1"
_CHUNK = 500


class EntryState(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    DONE = "done"
    PARKED = "parked"
    SUPERSEDED = "superseded"


#: Allowed transitions of the state machine above (operator commands included).
TRANSITIONS: dict[EntryState, frozenset[EntryState]] = {
    EntryState.PENDING: frozenset({EntryState.IN_FLIGHT, EntryState.SUPERSEDED, EntryState.PARKED}),
    EntryState.IN_FLIGHT: frozenset({EntryState.SENT, EntryState.PARKED, EntryState.PENDING}),
    EntryState.SENT: frozenset({EntryState.DONE, EntryState.PARKED}),
    EntryState.DONE: frozenset(),
    EntryState.PARKED: frozenset({EntryState.PENDING}),
    EntryState.SUPERSEDED: frozenset(),
}

#: States in which an entry occupies its source record at the hub (one at a time).
ACTIVE_STATES = (EntryState.IN_FLIGHT, EntryState.SENT)


def can_move(current: EntryState, new: EntryState) -> bool:
    """True if the state machine allows ``current`` → ``new``."""
    return new in TRANSITIONS[current]


def _enc(text: str) -> bytes:
    data = text.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


_LABEL_ENCODED = _enc(_LABEL.decode())


def message_id(source_system: str, source_record_id: str, version: int) -> str:
    """The deterministic messageId of one version of one source record (see module doc)."""
    if version < 1:
        raise ValueError("version must be a positive integer")
    digest = hashlib.sha256(
        _LABEL_ENCODED + _enc(source_system) + _enc(source_record_id) + _enc(str(version))
    )
    return digest.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PreparedEntry:
    """A record ready to queue: its ids and its canonical ``Record`` XML (compact, UTF-8)."""

    source_record_id: str
    version: int
    action: Action
    message_id: str
    record_xml: bytes


def record_xml(record: Record) -> bytes:
    """Canonical compact bytes of one ``Record`` element, as stored in the outbox."""
    return etree.tostring(to_element(record, "Record"), encoding="UTF-8")


def prepare(source_system: str, record: Record) -> PreparedEntry:
    """Serialise ``record`` for :func:`enqueue_prepared`, checking its messageId."""
    expected = message_id(source_system, record.source_record_id, record.version)
    if record.message_id != expected:
        raise StoreError(
            f"record {record.source_record_id} version {record.version}: messageId is not the "
            "one outbox.entries.message_id gives",
            code="STORE-MESSAGE-ID",
        )
    return PreparedEntry(
        source_record_id=record.source_record_id,
        version=record.version,
        action=record.action,
        message_id=record.message_id,
        record_xml=record_xml(record),
    )


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    queued: int
    superseded: int


def enqueue(
    conn: Connection,
    keys: KeyRing,
    source_system: str,
    records: Iterable[Record],
    *,
    now: datetime | None = None,
) -> EnqueueResult:
    """Queue ``records`` of one source system inside the caller's transaction.

    The caller (the delta engine) writes its delta state on the same ``conn`` and commits both
    together, so a crash leaves either both or neither.
    """
    return enqueue_prepared(
        conn, keys, source_system, (prepare(source_system, r) for r in records), now=now
    )


def enqueue_prepared(
    conn: Connection,
    keys: KeyRing,
    source_system: str,
    items: Iterable[PreparedEntry],
    *,
    now: datetime | None = None,
) -> EnqueueResult:
    """Queue already-serialised records; supersedes older pending versions of the same records.

    Raises StoreError if a version is not above every version already queued for its record
    (versions only ever increase, LDI section 3), or if one record appears twice in ``items``.
    """
    at = now or utc_now()
    queued = superseded = 0
    chunk: list[PreparedEntry] = []
    seen: set[str] = set()
    for item in items:
        if item.source_record_id in seen:
            raise StoreError(
                f"record {item.source_record_id} is queued twice in one call", code="STORE-DUP"
            )
        seen.add(item.source_record_id)
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            superseded += _enqueue_chunk(conn, keys, source_system, chunk, at)
            queued += len(chunk)
            chunk = []
    if chunk:
        superseded += _enqueue_chunk(conn, keys, source_system, chunk, at)
        queued += len(chunk)
    return EnqueueResult(queued=queued, superseded=superseded)


#: The latest queued version of each of some records. IN lists are bound at execution
#: (``expanding``): built into the statement, SQLAlchemy coerces every value one by one.
_LATEST_VERSIONS = (
    select(entries.c.source_record_id, func.max(entries.c.version))
    .where(entries.c.source_system == bindparam("system"))
    .where(entries.c.source_record_id.in_(bindparam("ids", expanding=True)))
    .group_by(entries.c.source_record_id)
)


def _enqueue_chunk(
    conn: Connection,
    keys: KeyRing,
    source_system: str,
    chunk: Sequence[PreparedEntry],
    at: datetime,
) -> int:
    ids = [item.source_record_id for item in chunk]
    latest = dict(conn.execute(_LATEST_VERSIONS, {"system": source_system, "ids": ids}).all())
    for item in chunk:
        previous = latest.get(item.source_record_id)
        if previous is not None and item.version <= previous:
            raise StoreError(
                f"record {item.source_record_id}: version {item.version} is not above the "
                f"queued version {previous}",
                code="STORE-VERSION",
            )
    superseded = 0
    if latest:
        result = conn.execute(
            update(entries)
            .where(entries.c.source_system == source_system)
            .where(entries.c.source_record_id.in_(bindparam("ids", expanding=True)))
            .where(entries.c.state == EntryState.PENDING.value)
            .values(
                state=EntryState.SUPERSEDED.value,
                payload=None,
                key_id=None,
                updated_at=at,
                finished_at=at,
            ),
            {"ids": list(latest)},
        )
        superseded = result.rowcount
    rows = []
    for item in chunk:
        kid, blob = keys.encrypt(item.record_xml, entry_aad(item.message_id))
        rows.append(
            {
                "message_id": item.message_id,
                "source_system": source_system,
                "source_record_id": item.source_record_id,
                "version": item.version,
                "action": item.action.value,
                "state": EntryState.PENDING.value,
                "attempts": 0,
                "payload": blob,
                "key_id": kid,
                "payload_size": len(item.record_xml),
                "created_at": at,
                "updated_at": at,
            }
        )
    execute_many(conn, insert(entries), rows)
    return superseded


def set_state(
    conn: Connection,
    message_ids: Sequence[str],
    new: EntryState,
    *,
    expected: EntryState,
    now: datetime | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> int:
    """Move entries from ``expected`` to ``new`` (a legal transition); returns how many moved."""
    if not can_move(expected, new):
        raise StoreError(f"illegal transition {expected} -> {new}", code="STORE-STATE")
    at = now or utc_now()
    values: dict[str, object] = {"state": new.value, "updated_at": at}
    if new in (EntryState.DONE, EntryState.PARKED, EntryState.SUPERSEDED):
        values["finished_at"] = at
    if new is EntryState.PENDING:
        values.update(batch_id=None, finished_at=None, outcome_status=None)
    if error_code is not None:
        values.update(last_error_code=error_code, last_error_message=error_message)
    moved = 0
    statement = (
        update(entries)
        .where(entries.c.message_id.in_(bindparam("ids", expanding=True)))
        .where(entries.c.state == expected.value)
        .values(**values)
    )
    for start in range(0, len(message_ids), _CHUNK):
        result = conn.execute(statement, {"ids": list(message_ids[start : start + _CHUNK])})
        moved += result.rowcount
    return moved


def bump_attempts(conn: Connection, batch_id: str) -> None:
    """Count one more submission attempt on every entry of ``batch_id``."""
    conn.execute(
        update(entries)
        .where(entries.c.batch_id == bindparam("b"))
        .values(attempts=entries.c.attempts + 1),
        {"b": batch_id},
    )
