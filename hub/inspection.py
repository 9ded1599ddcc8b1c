"""What `cpadapter hub status` and the admin endpoints show: counts, work lists, one child.

Counts and work lists carry ids only (batch, message, source record, ContactPoint ids), never a
name or a birth date, so they may be logged and pasted into tickets. The one-child view shows
the merged record, because that view *is* the directory; it is only served to admin
certificates and never logged.
"""

from __future__ import annotations

from typing import Any

from hub.merge import merged_record
from hub.store import Store
from ldi.models import OutcomeStatus

WORKLIST_STATUSES = (OutcomeStatus.NO_MATCH, OutcomeStatus.MULTIPLE_MATCH)


def status_report(store: Store) -> dict[str, Any]:
    """Counts per outcome, per source system, per batch status, and work-list sizes."""
    return {
        "nationalRecords": store.child_count(),
        "batches": store.batch_counts(),
        "outcomes": store.counts_by_outcome(),
        "bySourceSystem": store.counts_by_source(),
        "worklists": {s.value: len(store.worklist(s)) for s in WORKLIST_STATUSES},
    }


def worklist(store: Store, status: OutcomeStatus) -> list[dict[str, Any]]:
    """The held contributions an LA data administrator works (ids only)."""
    if status not in WORKLIST_STATUSES:
        raise ValueError("work lists exist for NoMatch and MultipleMatch only")
    return store.worklist(status)


def child_view(store: Store, contactpoint_id: str) -> dict[str, Any] | None:
    """One child's merged record with each source's contribution, or None if unknown."""
    national = store.child(contactpoint_id)
    if national is None:
        return None
    return merged_record(national, store.contributions_of(contactpoint_id))


def batch_view(store: Store, batch_id: str) -> dict[str, Any] | None:
    """One batch's metadata and outcome counts (ids and counts only)."""
    row = store.batch(batch_id)
    if row is None:
        return None
    counts: dict[str, int] = {}
    for outcome in store.outcomes(row.seq):
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    return {
        "batchId": row.batch_id,
        "accountableBody": row.accountable_body,
        "sourceSystem": row.source_system,
        "transport": row.transport,
        "recordCount": row.record_count,
        "receivedAt": row.received_at.isoformat(),
        "status": row.status.value,
        "completedAt": row.completed_at.isoformat() if row.completed_at else None,
        "outcomes": counts,
    }
