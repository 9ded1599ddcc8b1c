"""What the hub said about each record, stored and acted on (LDI section 5, TA-OUT-01).

=================  ===========  ==========================================================
status             entry        and also
=================  ===========  ==========================================================
``Matched``        done         the ContactPoint id is stored in the delta state; any open
                                work-list item of the record is resolved
``NoMatch``        done         on the data administrator's work list
``MultipleMatch``  done         on the work list, with the candidate count
``Withdrawn``      done
``Duplicate``      done         ``OriginalStatus`` recorded; its side effects applied as for
                                that status (idempotently), in case the original was lost
``Rejected``       parked       with the breached rule ids (BR-*) as the reason
``Stale``          parked       logged at error level and counted: in normal running it is a
                                bug (TA-REL-05), since versions of a record never overlap
=================  ===========  ==========================================================

An entry of the batch with no ``RecordOutcome`` is parked with ``NO_OUTCOME``. Applying the
same outcome twice (a worker died after storing it) changes nothing the second time.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from adapter.log import get_logger
from ldi.models import BatchOutcome, OutcomeStatus, RecordOutcome
from outbox import worklist
from outbox.bulk import execute_many
from outbox.delta_state import record_contactpoint_ids
from outbox.entries import EntryState
from outbox.store import entries, outcomes

log = get_logger(__name__)

_DONE = {
    OutcomeStatus.MATCHED,
    OutcomeStatus.NO_MATCH,
    OutcomeStatus.MULTIPLE_MATCH,
    OutcomeStatus.WITHDRAWN,
    OutcomeStatus.DUPLICATE,
}
NO_OUTCOME = "NO_OUTCOME"
_CHUNK = 500


@dataclass
class OutcomeSummary:
    """Counts per status for one batch (for logs, the audit trail and ``outbox status``)."""

    by_status: Counter[str] = field(default_factory=Counter)
    parked: int = 0
    stale_message_ids: list[str] = field(default_factory=list)

    @property
    def stale(self) -> int:
        return len(self.stale_message_ids)


def _effective_status(outcome: RecordOutcome) -> OutcomeStatus:
    """The status whose side effects apply: a Duplicate's original status."""
    if outcome.status is OutcomeStatus.DUPLICATE and outcome.original_status is not None:
        return outcome.original_status
    return outcome.status


def _reason(outcome: RecordOutcome) -> tuple[str, str]:
    if outcome.status is OutcomeStatus.REJECTED:
        rules = sorted({b.rule for b in outcome.breaches})
        return "REJECTED", "hub rejected the record: " + ", ".join(rules or ["no rule given"])
    return "STALE", "hub answered Stale: version not above the last applied (TA-REL-05)"


def apply_outcome(
    conn: Connection, batch_id: str, outcome: BatchOutcome, *, now: datetime
) -> OutcomeSummary:
    """Store every record outcome of a complete batch and move its entries on.

    Runs inside the caller's transaction; the caller also marks the batch complete.
    """
    rows = conn.execute(
        select(
            entries.c.message_id,
            entries.c.source_system,
            entries.c.source_record_id,
            entries.c.version,
            entries.c.state,
        ).where(entries.c.batch_id == batch_id)
    ).all()
    ours = {row.message_id: row for row in rows}
    summary = OutcomeSummary()
    stored: list[dict[str, object]] = []
    moves: dict[tuple[str, str | None, str | None], list[str]] = defaultdict(list)
    matched: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    held: list[dict[str, object]] = []
    for record in outcome.record_outcomes:
        row = ours.get(record.message_id)
        if row is None:
            log.error(
                "outbox.outcome_unknown_message", batch_id=batch_id, message_id=record.message_id
            )
            continue
        summary.by_status[record.status.value] += 1
        stored.append(
            {
                "message_id": record.message_id,
                "batch_id": batch_id,
                "source_system": row.source_system,
                "source_record_id": row.source_record_id,
                "version": row.version,
                "status": record.status.value,
                "contactpoint_id": record.contactpoint_id,
                "candidate_count": record.candidate_count,
                "original_status": (
                    record.original_status.value if record.original_status else None
                ),
                "breaches": (
                    json.dumps(
                        [
                            {"rule": b.rule, "path": b.path, "message": b.message}
                            for b in record.breaches
                        ]
                    )
                    if record.breaches
                    else None
                ),
                "received_at": now,
            }
        )
        if record.status in _DONE:
            moves[(EntryState.DONE.value, record.status.value, None)].append(record.message_id)
        else:
            code, _ = _reason(record)
            moves[(EntryState.PARKED.value, record.status.value, code)].append(record.message_id)
            summary.parked += 1
            if record.status is OutcomeStatus.STALE:
                summary.stale_message_ids.append(record.message_id)
        effective = _effective_status(record)
        if effective is OutcomeStatus.MATCHED and record.contactpoint_id:
            matched[row.source_system].append(
                (row.source_record_id, record.contactpoint_id, row.version)
            )
        if effective in (OutcomeStatus.NO_MATCH, OutcomeStatus.MULTIPLE_MATCH):
            held.append(
                {
                    "message_id": record.message_id,
                    "source_system": row.source_system,
                    "source_record_id": row.source_record_id,
                    "version": row.version,
                    "status": effective.value,
                    "candidate_count": record.candidate_count,
                    "batch_id": batch_id,
                    "created_at": now,
                }
            )
    answered = {r.message_id for r in outcome.record_outcomes}
    missing = [m for m in ours if m not in answered]
    if missing:
        log.error("outbox.outcome_missing_records", batch_id=batch_id, count=len(missing))
        moves[(EntryState.PARKED.value, None, NO_OUTCOME)].extend(missing)
        summary.parked += len(missing)
    _store_outcomes(conn, stored)
    worklist.add(conn, held)
    _move_entries(conn, moves, outcome, now)
    for source_system, found in matched.items():
        record_contactpoint_ids(conn, source_system, found, now=now)
        worklist.resolve(conn, source_system, [f[0] for f in found], now=now)
    if summary.stale:
        log.error(
            "outbox.stale_outcome",
            batch_id=batch_id,
            count=summary.stale,
            reason="Stale in normal running is a bug (TA-REL-05)",
        )
    return summary


def _store_outcomes(conn: Connection, stored: list[dict[str, object]]) -> None:
    if not stored:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(outcomes).on_conflict_do_nothing(index_elements=["message_id"])
    execute_many(conn, statement, stored)


def _move_entries(
    conn: Connection,
    moves: dict[tuple[str, str | None, str | None], list[str]],
    outcome: BatchOutcome,
    now: datetime,
) -> None:
    reasons = {
        r.message_id: _reason(r)[1] for r in outcome.record_outcomes if r.status not in _DONE
    }
    # executemany cannot expand IN lists, so the two possible prior states are spelt out.
    in_batch = or_(
        entries.c.state == EntryState.SENT.value,
        entries.c.state == EntryState.IN_FLIGHT.value,
    )
    for (state, status, code), message_ids in moves.items():
        values: dict[str, object] = {
            "state": state,
            "outcome_status": status,
            "updated_at": now,
            "finished_at": now,
        }
        if code is None:  # one statement per 500 ids: the common, fast path
            statement = (
                update(entries)
                .where(entries.c.message_id.in_(bindparam("ids", expanding=True)))
                .where(in_batch)
                .values(**values)
            )
            for start in range(0, len(message_ids), _CHUNK):
                conn.execute(statement, {"ids": message_ids[start : start + _CHUNK]})
            continue
        values.update(last_error_code=code, last_error_message=bindparam("msg"))
        conn.execute(
            update(entries)
            .where(entries.c.message_id == bindparam("mid"))
            .where(in_batch)
            .values(**values),
            [
                {"mid": m, "msg": reasons.get(m, "the hub's outcome did not mention this record")}
                for m in message_ids
            ],
        )
