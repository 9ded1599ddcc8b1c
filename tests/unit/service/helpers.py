"""A hand-made Snapshot for the alert and page tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapter.service.snapshot import LATENCY_BUCKETS, CertificateState, Snapshot, SourceState

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def source(name: str = "frameworki", status: str = "ok", **changes: Any) -> SourceState:
    """A scheduled source whose last run (an hour ago) ended with ``status``."""
    state = SourceState(name, "FWK891", "30 1 * * *", True)
    state.last_run = {
        "started_at": NOW - timedelta(hours=1),
        "finished_at": NOW - timedelta(minutes=59),
        "status": status,
        "read": 10,
        "queued": 8,
        "held": 2,
        "error_code": None if status == "ok" else "SRC-CONNECT",
    }
    state.first_run_at = NOW - timedelta(days=3)
    state.last_read_at = NOW - timedelta(hours=1)
    for key, value in changes.items():
        setattr(state, key, value)
    return state


def snapshot(
    *sources: SourceState, parked: dict[str, int] | None = None, **changes: Any
) -> Snapshot:
    """A snapshot at NOW: the given sources, a certificate valid for a year, nothing parked."""
    snap = Snapshot(
        taken_at=NOW,
        sources=list(sources) or [source()],
        outbox={
            "entries": {"pending": 0, "done": 8, "parked": sum((parked or {}).values())},
            "batches": {"complete": 1},
            "parked_by_reason": dict(parked or {}),
            "outcomes": {"Matched": 8},
            "worklist_open": 0,
        },
        sent_by_system={"FWK891": 8},
        held_by_rule={"BR-02": 2},
        parked=[],
        audit_events=[],
        certificate=CertificateState("client.pem", not_after=NOW + timedelta(days=365)),
        latency_buckets=[8] * len(LATENCY_BUCKETS),
        latency_count=8,
        latency_sum=2.0,
        retries=0,
        unauthorised_at=None,
        completed_at=NOW - timedelta(minutes=50),
    )
    for key, value in changes.items():
        setattr(snap, key, value)
    return snap
