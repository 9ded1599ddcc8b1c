"""What the service knows, read from the store in one go: for metrics, status page and alerts.

Only ids, codes, counts and times: nothing here can carry a child's personal data, so every
consumer (a Prometheus scrape, the HTML page, an alert e-mail) may show all of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy import Connection, func, select

from adapter.config import AdapterConfig
from outbox import audit, operator
from outbox.batching import BatchState
from outbox.entries import EntryState
from outbox.service import Outbox
from outbox.store import batches, entries, held_records, source_runs
from outbox.transports.base import resolve

#: Upper bounds (seconds) of the delivery latency histogram: sent to the hub → outcome stored.
LATENCY_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

#: How many recent audit events and parked entries the status page lists.
RECENT = 20


@dataclass
class SourceState:
    """One configured source: its schedule and what its runs did."""

    name: str
    source_system: str
    schedule: str | None
    enabled: bool
    last_run: dict[str, Any] | None = None
    last_success_at: datetime | None = None
    last_read_at: datetime | None = None
    first_run_at: datetime | None = None
    totals: dict[str, int] = field(default_factory=dict)
    runs_by_status: dict[str, int] = field(default_factory=dict)
    next_run_at: datetime | None = None
    running: bool = False


@dataclass
class CertificateState:
    """The client certificate the adapter presents to the hub."""

    path: str
    not_after: datetime | None = None
    error: str | None = None

    def days_left(self, now: datetime) -> float | None:
        if self.not_after is None:
            return None
        return (self.not_after - now).total_seconds() / 86400


@dataclass
class Snapshot:
    taken_at: datetime
    sources: list[SourceState]
    outbox: dict[str, Any]
    sent_by_system: dict[str, int]
    held_by_rule: dict[str, int]
    parked: list[dict[str, Any]]
    audit_events: list[dict[str, Any]]
    certificate: CertificateState
    latency_buckets: list[int]
    latency_count: int
    latency_sum: float
    retries: int
    unauthorised_at: datetime | None
    completed_at: datetime | None


def certificate_state(config: AdapterConfig, base: Path) -> CertificateState:
    """Expiry of ``delivery.tls.client_certificate`` (or why it cannot be read)."""
    path = resolve(base, config.delivery.tls.client_certificate)
    state = CertificateState(str(path))
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        state.error = f"cannot read the client certificate ({exc.__class__.__name__})"
        return state
    state.not_after = cert.not_valid_after_utc
    return state


def _counts(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _source_states(conn: Connection, config: AdapterConfig) -> list[SourceState]:
    states: list[SourceState] = []
    for source in config.sources:
        state = SourceState(source.name, source.source_system, source.schedule, source.enabled)
        totals = dict.fromkeys(("read", "queued", "held", "unchanged"), 0)
        for row in conn.execute(
            select(
                source_runs.c.started_at,
                source_runs.c.finished_at,
                source_runs.c.status,
                source_runs.c.counts,
                source_runs.c.error_code,
            )
            .where(source_runs.c.source == source.name)
            .order_by(source_runs.c.started_at)
        ):
            counts = _counts(row.counts)
            for key in totals:
                value = counts.get(key, 0)
                totals[key] += value if isinstance(value, int) else 0
            state.runs_by_status[row.status] = state.runs_by_status.get(row.status, 0) + 1
            if state.first_run_at is None:
                state.first_run_at = row.started_at
            if row.status == "running":  # the result is the last *finished* run's
                continue
            if row.status == "ok":
                state.last_success_at = row.finished_at or row.started_at
            if int(counts.get("read", 0) or 0) > 0:
                state.last_read_at = row.started_at
            state.last_run = {
                "started_at": row.started_at,
                "finished_at": row.finished_at,
                "status": row.status,
                "read": int(counts.get("read", 0) or 0),
                "queued": int(counts.get("queued", 0) or 0),
                "held": int(counts.get("held", 0) or 0),
                "error_code": row.error_code,
            }
        state.totals = totals
        states.append(state)
    return states


def take(config: AdapterConfig, outbox: Outbox, base: Path) -> Snapshot:
    """Everything the metrics, status page and alerts show, read in one connection."""
    now = datetime.now(UTC)
    with outbox.engine.connect() as conn:
        sources = _source_states(conn, config)
        status = operator.status(conn)
        sent: dict[str, int] = dict(
            conn.execute(
                select(entries.c.source_system, func.count())
                .where(entries.c.sent_at.is_not(None))
                .group_by(entries.c.source_system)
            ).all()
        )
        held: dict[str, int] = {}
        for (rules,) in conn.execute(select(held_records.c.rules)):
            for rule in str(rules).split(","):
                if rule.strip():
                    held[rule.strip()] = held.get(rule.strip(), 0) + 1
        parked = [
            {
                "message_id": row.message_id,
                "source_system": row.source_system,
                "source_record_id": row.source_record_id,
                "code": row.last_error_code,
                "at": row.updated_at,
            }
            for row in conn.execute(
                select(
                    entries.c.message_id,
                    entries.c.source_system,
                    entries.c.source_record_id,
                    entries.c.last_error_code,
                    entries.c.updated_at,
                )
                .where(entries.c.state == EntryState.PARKED.value)
                .order_by(entries.c.updated_at.desc())
                .limit(RECENT)
            )
        ]
        events = [
            {k: e[k] for k in ("seq", "at", "kind", "actor", "subject")}
            for e in audit.entries_of(conn, limit=RECENT)
        ]
        buckets = [0] * len(LATENCY_BUCKETS)
        count, total = 0, 0.0
        for sent_at, finished_at in conn.execute(
            select(entries.c.sent_at, entries.c.finished_at)
            .where(entries.c.state == EntryState.DONE.value)
            .where(entries.c.sent_at.is_not(None))
            .where(entries.c.finished_at.is_not(None))
        ):
            seconds = max(0.0, (finished_at - sent_at).total_seconds())
            count += 1
            total += seconds
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
        retries = int(
            conn.execute(
                select(func.coalesce(func.sum(batches.c.attempts - 1), 0)).where(
                    batches.c.attempts > 1
                )
            ).scalar_one()
        )
        unauthorised_at = conn.execute(
            select(func.max(batches.c.completed_at)).where(
                batches.c.last_error_code == "UNAUTHORISED"
            )
        ).scalar()
        completed_at = conn.execute(
            select(func.max(batches.c.completed_at)).where(batches.c.state == BatchState.COMPLETE)
        ).scalar()
    return Snapshot(
        taken_at=now,
        sources=sources,
        outbox=status,
        sent_by_system={str(k): int(v) for k, v in sent.items()},
        held_by_rule=dict(sorted(held.items())),
        parked=parked,
        audit_events=events,
        certificate=certificate_state(config, base),
        latency_buckets=buckets,
        latency_count=count,
        latency_sum=total,
        retries=retries,
        unauthorised_at=unauthorised_at,
        completed_at=completed_at,
    )
