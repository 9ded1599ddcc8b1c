"""Operator actions on the outbox: inspect, retry, park, replay, purge — each one audited.

These are the library behind ``cpadapter outbox …``. Every function that changes something runs
in one transaction with its audit entry (ids and counts only), so the trail never claims an
action that did not happen, nor misses one that did. Results are plain dicts for ``--json``.

Safety rules
    * ``retry`` only moves ``parked`` entries back to ``pending``, and refuses one whose record
      has a newer version queued or sent: sending the old one again would be ``Stale``.
    * ``park`` only takes ``pending`` entries (a batch already formed may be at the hub).
    * ``replay`` never re-sends a message id: it queues the record again under a NEW version (and
      so a new message id), above every version known for that record.
    * ``purge`` drops payloads of finished work only (``done`` and ``superseded`` entries,
      complete and parked batches) older than the cut-off; outcomes and ids stay. Parked
      entries keep theirs, since ``retry`` needs them; a parked *batch* is never sent again
      (retry forms a new one), so its payload goes.
"""

from __future__ import annotations

import getpass
from datetime import datetime, timedelta
from typing import Any

from lxml import etree
from sqlalchemy import Connection, and_, func, select, update

from ldi.errors import StoreError
from ldi.models import Action, OutcomeStatus
from ldi.safexml import make_parser
from outbox import audit
from outbox.batching import BatchState
from outbox.clock import utc_now
from outbox.crypto import KeyRing, entry_aad
from outbox.delta_state import forget_content, raise_version
from outbox.entries import EntryState, PreparedEntry, enqueue_prepared, message_id
from outbox.store import batches, delta_state, entries, outcomes, worklist


def operator_actor() -> str:
    """Who is acting: the operating-system account running the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"operator:{user}"[:80]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ----- looking -----


def status(conn: Connection) -> dict[str, Any]:
    """Counts per entry and batch state, parked reasons, Stale outcomes, open work list."""
    by_state: dict[Any, Any] = dict(
        conn.execute(select(entries.c.state, func.count()).group_by(entries.c.state)).all()
    )
    by_batch: dict[Any, Any] = dict(
        conn.execute(select(batches.c.state, func.count()).group_by(batches.c.state)).all()
    )
    parked: dict[Any, Any] = dict(
        conn.execute(
            select(entries.c.last_error_code, func.count())
            .where(entries.c.state == EntryState.PARKED.value)
            .group_by(entries.c.last_error_code)
        ).all()
    )
    by_outcome: dict[Any, Any] = dict(
        conn.execute(select(outcomes.c.status, func.count()).group_by(outcomes.c.status)).all()
    )
    oldest = conn.execute(
        select(func.min(entries.c.created_at)).where(entries.c.state == EntryState.PENDING.value)
    ).scalar()
    next_due = conn.execute(
        select(func.min(batches.c.next_attempt_at)).where(batches.c.state.in_(BatchState.OPEN))
    ).scalar()
    open_items = conn.execute(
        select(func.count()).select_from(worklist).where(worklist.c.resolved_at.is_(None))
    ).scalar_one()
    return {
        "entries": {s.value: int(by_state.get(s.value, 0)) for s in EntryState},
        "batches": {
            s: int(by_batch.get(s, 0))
            for s in (
                BatchState.FORMED,
                BatchState.SUBMITTED,
                BatchState.COMPLETE,
                BatchState.PARKED,
            )
        },
        "parked_by_reason": {str(k): int(v) for k, v in parked.items()},
        "outcomes": {str(k): int(v) for k, v in by_outcome.items()},
        "stale": int(by_outcome.get(OutcomeStatus.STALE.value, 0)),
        "worklist_open": int(open_items),
        "oldest_pending": _iso(oldest),
        "next_batch_due": _iso(next_due),
    }


_LIST_COLUMNS = (
    entries.c.message_id,
    entries.c.source_system,
    entries.c.source_record_id,
    entries.c.version,
    entries.c.action,
    entries.c.state,
    entries.c.attempts,
    entries.c.batch_id,
    entries.c.outcome_status,
    entries.c.last_error_code,
    entries.c.updated_at,
)


def _entry_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in ("created_at", "updated_at", "sent_at", "finished_at"):
        if key in data:
            data[key] = _iso(data[key])
    return data


def list_entries(
    conn: Connection,
    *,
    state: str | None = None,
    source_system: str | None = None,
    source_record_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Entries, newest first, optionally filtered (ids, states and codes; no payload)."""
    query = select(*_LIST_COLUMNS).order_by(entries.c.id.desc()).limit(limit)
    if state:
        query = query.where(entries.c.state == state)
    if source_system:
        query = query.where(entries.c.source_system == source_system)
    if source_record_id:
        query = query.where(entries.c.source_record_id == source_record_id)
    return [_entry_dict(row) for row in conn.execute(query)]


def show(conn: Connection, message_id_: str) -> dict[str, Any] | None:
    """One entry with its batch and outcome (everything but the payload), or None."""
    row = conn.execute(
        select(
            *_LIST_COLUMNS,
            entries.c.last_error_message,
            entries.c.created_at,
            entries.c.sent_at,
            entries.c.finished_at,
            entries.c.key_id,
            (entries.c.payload.is_not(None)).label("payload_stored"),
        ).where(entries.c.message_id == message_id_)
    ).first()
    if row is None:
        return None
    data = _entry_dict(row)
    data["payload_stored"] = bool(data["payload_stored"])
    if row.batch_id:
        batch = conn.execute(
            select(
                batches.c.batch_id,
                batches.c.state,
                batches.c.record_count,
                batches.c.attempts,
                batches.c.poll_count,
                batches.c.next_attempt_at,
                batches.c.lease_owner,
                batches.c.lease_expires_at,
                batches.c.last_error_code,
                batches.c.last_error_message,
            ).where(batches.c.batch_id == row.batch_id)
        ).first()
        if batch is not None:
            info = dict(batch._mapping)
            for key in ("next_attempt_at", "lease_expires_at"):
                info[key] = _iso(info[key])
            data["batch"] = info
    outcome = conn.execute(
        select(
            outcomes.c.status,
            outcomes.c.contactpoint_id,
            outcomes.c.candidate_count,
            outcomes.c.original_status,
            outcomes.c.breaches,
            outcomes.c.received_at,
        ).where(outcomes.c.message_id == message_id_)
    ).first()
    if outcome is not None:
        info = dict(outcome._mapping)
        info["received_at"] = _iso(info["received_at"])
        data["outcome"] = info
    return data


# ----- acting -----


def _newer_exists(conn: Connection, source_system: str, record_id: str, version: int) -> bool:
    return (
        conn.execute(
            select(func.count())
            .select_from(entries)
            .where(entries.c.source_system == source_system)
            .where(entries.c.source_record_id == record_id)
            .where(entries.c.version > version)
            .where(entries.c.state != EntryState.SUPERSEDED.value)
        ).scalar_one()
        > 0
    )


def retry(
    conn: Connection,
    message_ids: list[str],
    *,
    all_parked: bool = False,
    code: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Parked entries back to pending (new batch, attempts reset); refusals with reasons."""
    at = now or utc_now()
    query = select(
        entries.c.message_id,
        entries.c.source_system,
        entries.c.source_record_id,
        entries.c.version,
        entries.c.state,
        entries.c.payload.is_not(None).label("has_payload"),
    )
    if all_parked:
        query = query.where(entries.c.state == EntryState.PARKED.value)
        if code:
            query = query.where(entries.c.last_error_code == code)
    else:
        query = query.where(entries.c.message_id.in_(message_ids))
    rows = {row.message_id: row for row in conn.execute(query)}
    wanted = list(rows) if all_parked else message_ids
    done: list[str] = []
    refused: dict[str, str] = {}
    for mid in wanted:
        row = rows.get(mid)
        if row is None:
            refused[mid] = "no such entry"
        elif row.state != EntryState.PARKED.value:
            refused[mid] = f"entry is {row.state}, not parked"
        elif not row.has_payload:
            refused[mid] = "payload was pruned; use replay"
        elif _newer_exists(conn, row.source_system, row.source_record_id, row.version):
            refused[mid] = "a newer version of this record exists"
        else:
            conn.execute(
                update(entries)
                .where(entries.c.message_id == mid)
                .where(entries.c.state == EntryState.PARKED.value)
                .values(
                    state=EntryState.PENDING.value,
                    batch_id=None,
                    attempts=0,
                    outcome_status=None,
                    finished_at=None,
                    updated_at=at,
                )
            )
            done.append(mid)
    audit.append(
        conn,
        audit.AuditKind.OPERATOR,
        "outbox retry",
        {"action": "retry", "message_ids": done, "refused": sorted(refused)},
        actor=actor,
        now=at,
    )
    return {"retried": done, "refused": refused}


def park(
    conn: Connection,
    message_ids: list[str],
    *,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Pending entries to parked with the operator's reason (kept free of personal data)."""
    at = now or utc_now()
    done: list[str] = []
    refused: dict[str, str] = {}
    for mid in message_ids:
        result = conn.execute(
            update(entries)
            .where(entries.c.message_id == mid)
            .where(entries.c.state == EntryState.PENDING.value)
            .values(
                state=EntryState.PARKED.value,
                last_error_code="OPERATOR",
                last_error_message=reason[:500],
                updated_at=at,
                finished_at=at,
            )
        )
        if result.rowcount == 1:
            done.append(mid)
        else:
            current = conn.execute(
                select(entries.c.state).where(entries.c.message_id == mid)
            ).scalar()
            refused[mid] = (
                "no such entry" if current is None else f"entry is {current}, not pending"
            )
    audit.append(
        conn,
        audit.AuditKind.OPERATOR,
        "outbox park",
        {"action": "park", "message_ids": done, "refused": sorted(refused)},
        actor=actor,
        now=at,
    )
    return {"parked": done, "refused": refused}


def _rewrite_ids(xml: bytes, new_message_id: str, version: int) -> bytes:
    record = etree.fromstring(xml, make_parser())
    record.set("messageId", new_message_id)
    record.set("version", str(version))
    return etree.tostring(record, encoding="UTF-8")


def replay(
    conn: Connection,
    keys: KeyRing,
    message_ids: list[str],
    *,
    actor: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Queue each chosen record again under a new version and message id (see module doc)."""
    at = now or utc_now()
    replayed: dict[str, str] = {}
    deferred: list[str] = []
    refused: dict[str, str] = {}
    for mid in message_ids:
        row = conn.execute(
            select(
                entries.c.source_system,
                entries.c.source_record_id,
                entries.c.action,
                entries.c.payload,
                entries.c.key_id,
            ).where(entries.c.message_id == mid)
        ).first()
        if row is None:
            refused[mid] = "no such entry"
            continue
        highest = max(
            conn.execute(
                select(func.max(entries.c.version))
                .where(entries.c.source_system == row.source_system)
                .where(entries.c.source_record_id == row.source_record_id)
            ).scalar()
            or 0,
            conn.execute(
                select(delta_state.c.last_version).where(
                    and_(
                        delta_state.c.source_system == row.source_system,
                        delta_state.c.source_record_id == row.source_record_id,
                    )
                )
            ).scalar()
            or 0,
        )
        if row.payload is None:
            # Nothing left to send: make the next delta run send the record afresh.
            forget_content(conn, row.source_system, row.source_record_id)
            deferred.append(mid)
            continue
        version = highest + 1
        new_id = message_id(row.source_system, row.source_record_id, version)
        xml = keys.decrypt(row.key_id, row.payload, entry_aad(mid))
        enqueue_prepared(
            conn,
            keys,
            row.source_system,
            [
                PreparedEntry(
                    source_record_id=row.source_record_id,
                    version=version,
                    action=Action(row.action),
                    message_id=new_id,
                    record_xml=_rewrite_ids(xml, new_id, version),
                )
            ],
            now=at,
        )
        raise_version(conn, row.source_system, row.source_record_id, version, now=at)
        replayed[mid] = new_id
    audit.append(
        conn,
        audit.AuditKind.OPERATOR,
        "outbox replay",
        {
            "action": "replay",
            "message_ids": sorted(replayed),
            "new_message_ids": sorted(replayed.values()),
            "deferred_to_next_run": deferred,
            "refused": sorted(refused),
        },
        actor=actor,
        now=at,
    )
    return {"replayed": replayed, "deferred_to_next_run": deferred, "refused": refused}


def purge(
    conn: Connection,
    *,
    older_than_days: int,
    actor: str,
    now: datetime | None = None,
    audit_nothing: bool = True,
) -> dict[str, Any]:
    """Drop payloads of finished entries and complete batches older than the cut-off.

    ``audit_nothing=False`` (the worker's automatic pruning) skips the audit entry when
    nothing was pruned, so an idle worker does not fill the trail.
    """
    if older_than_days < 0:
        raise StoreError("older_than_days must not be negative", code="STORE-PURGE")
    at = now or utc_now()
    cutoff = at - timedelta(days=older_than_days)
    purged_entries = conn.execute(
        update(entries)
        .where(entries.c.state.in_([EntryState.DONE.value, EntryState.SUPERSEDED.value]))
        .where(entries.c.finished_at <= cutoff)
        .where(entries.c.payload.is_not(None))
        .values(payload=None, key_id=None)
    ).rowcount
    purged_batches = conn.execute(
        update(batches)
        .where(batches.c.state.in_([BatchState.COMPLETE, BatchState.PARKED]))
        .where(batches.c.completed_at <= cutoff)
        .where(batches.c.payload.is_not(None))
        .values(payload=None, key_id=None)
    ).rowcount
    if not audit_nothing and not purged_entries and not purged_batches:
        return {"entries": 0, "batches": 0, "cutoff": cutoff.isoformat()}
    audit.append(
        conn,
        audit.AuditKind.OPERATOR,
        "outbox purge",
        {
            "action": "purge",
            "older_than_days": older_than_days,
            "entries": purged_entries,
            "batches": purged_batches,
        },
        actor=actor,
        now=at,
    )
    return {"entries": purged_entries, "batches": purged_batches, "cutoff": cutoff.isoformat()}
