"""The audit trail: append-only, each entry chained to the one before by SHA-256.

What is recorded: each batch submission, each batch outcome, each operator action (retry,
park, replay, purge, key rotation) and each configuration change seen by a worker. Only ids,
counts, codes and digests go in; never a value from a child's record.

Chaining: entry *n* stores ``prev_hash`` (entry *n-1*'s hash, 64 zeros for the first) and
``hash = SHA-256(canonical JSON of seq, at, kind, actor, subject, details, prev_hash)``. A one-row
head table holds the newest sequence number and hash and is locked by every append, which
serialises writers (several delivery workers on PostgreSQL) and lets :func:`verify` notice that
the newest entries were deleted, not only edited or removed from the middle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, insert, select, update

from ldi.errors import StoreError
from outbox.clock import utc_now
from outbox.store import audit_head, audit_log

GENESIS = "0" * 64
HEAD_ID = 1

#: Allowed detail values: ids, counts, codes. Anything else is refused, not stored.
DetailValue = str | int | bool | None | Sequence[str] | Mapping[str, int]


class AuditKind(StrEnum):
    SUBMISSION = "submission"
    OUTCOME = "outcome"
    OPERATOR = "operator"
    CONFIG = "config"


def _canonical(details: Mapping[str, DetailValue]) -> str:
    for key, value in details.items():
        if isinstance(value, Mapping):
            if not all(isinstance(k, str) and isinstance(v, int) for k, v in value.items()):
                raise StoreError(f"audit detail {key!r}: only counts by name", code="STORE-AUDIT")
        elif isinstance(value, list | tuple):
            if not all(isinstance(v, str) for v in value):
                raise StoreError(f"audit detail {key!r}: only lists of ids", code="STORE-AUDIT")
        elif not isinstance(value, str | int | bool | type(None)):
            raise StoreError(f"audit detail {key!r}: unsupported value", code="STORE-AUDIT")
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_hash(
    *,
    seq: int,
    at: datetime,
    kind: str,
    actor: str,
    subject: str,
    details: str,
    prev_hash: str,
) -> str:
    """The hash that chains one entry (see module doc)."""
    body = json.dumps(
        [seq, at.isoformat(), kind, actor, subject, details, prev_hash],
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(body.encode("ascii")).hexdigest()


def append(
    conn: Connection,
    kind: AuditKind,
    subject: str,
    details: Mapping[str, DetailValue],
    *,
    actor: str,
    now: datetime | None = None,
) -> int:
    """Append one entry inside the caller's transaction; returns its sequence number."""
    at = now or utc_now()
    text = _canonical(details)
    head_query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
    if conn.dialect.name == "postgresql":
        head_query = head_query.with_for_update()
    head = conn.execute(head_query).one_or_none()
    if head is None:
        raise StoreError(
            "the audit head is missing: run `cpadapter db upgrade`", code="STORE-AUDIT"
        )
    seq, prev = head[0] + 1, head[1]
    digest = entry_hash(
        seq=seq,
        at=at,
        kind=kind.value,
        actor=actor,
        subject=subject,
        details=text,
        prev_hash=prev,
    )
    conn.execute(
        insert(audit_log).values(
            seq=seq,
            at=at,
            kind=kind.value,
            actor=actor,
            subject=subject,
            details=text,
            prev_hash=prev,
            hash=digest,
        )
    )
    conn.execute(update(audit_head).where(audit_head.c.id == HEAD_ID).values(seq=seq, hash=digest))
    return int(seq)


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of :func:`verify`: ``broken_at`` names the first bad entry, if any."""

    checked: int
    broken_at: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(conn: Connection) -> Verification:
    """Walk the chain from the first entry; stop at the first edit, gap or missing tail."""
    expected_seq, prev = 1, GENESIS
    checked = 0
    rows = conn.execute(select(audit_log).order_by(audit_log.c.seq))
    for row in rows:
        if row.seq != expected_seq:
            return Verification(checked, expected_seq, f"entry {expected_seq} is missing")
        if row.prev_hash != prev:
            return Verification(
                checked, row.seq, f"entry {row.seq} does not chain to entry {row.seq - 1}"
            )
        digest = entry_hash(
            seq=row.seq,
            at=row.at,
            kind=row.kind,
            actor=row.actor,
            subject=row.subject,
            details=row.details,
            prev_hash=row.prev_hash,
        )
        if digest != row.hash:
            return Verification(checked, row.seq, f"entry {row.seq} was altered")
        checked += 1
        prev = row.hash
        expected_seq += 1
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
    ).one_or_none()
    if head is None:
        return Verification(checked, expected_seq, "the audit head is missing")
    if head[0] != expected_seq - 1 or head[1] != prev:
        if head[0] > expected_seq - 1:
            return Verification(checked, expected_seq, f"entry {expected_seq} is missing")
        return Verification(checked, head[0], "the audit head does not match the last entry")
    return Verification(checked)


def entries_of(
    conn: Connection, *, kind: AuditKind | None = None, limit: int = 100
) -> list[dict[str, object]]:
    """The newest ``limit`` entries (optionally of one kind), newest first, for display."""
    query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if kind is not None:
        query = query.where(audit_log.c.kind == kind.value)
    return [
        {
            "seq": row.seq,
            "at": row.at.isoformat(),
            "kind": row.kind,
            "actor": row.actor,
            "subject": row.subject,
            "details": json.loads(row.details),
        }
        for row in conn.execute(query)
    ]
