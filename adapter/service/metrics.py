"""``/metrics``: Prometheus text format, computed from the store at every scrape.

Counters come from the store (``source_runs``, the outbox tables), not from in-process
variables, so they survive a restart, agree with ``cpadapter outbox status`` and with every
other process working on the same store (several delivery workers on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from adapter.service.snapshot import LATENCY_BUCKETS, Snapshot

PREFIX = "cpadapter"


class StoreCollector(Collector):
    """Turns one :class:`Snapshot` per scrape into metric families."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        yield from source_metrics(snap)
        yield from outbox_metrics(snap)
        days = snap.certificate.days_left(snap.taken_at)
        cert = GaugeMetricFamily(
            f"{PREFIX}_client_certificate_expiry_days",
            "Days until the client certificate expires (negative: expired)",
        )
        if days is not None:
            cert.add_metric([], round(days, 3))
        yield cert


def source_metrics(snap: Snapshot) -> Iterator[Metric]:
    names = {
        "read": "Records read from the source",
        "queued": "Records queued for the hub (upserts and withdrawals)",
        "held": "Records held back by the policy gate",
    }
    for key, help_text in names.items():
        family = CounterMetricFamily(f"{PREFIX}_records_{key}", help_text, labels=["source"])
        for source in snap.sources:
            family.add_metric([source.name], source.totals.get(key, 0))
        yield family
    sent = CounterMetricFamily(
        f"{PREFIX}_records_sent", "Records submitted to the hub", labels=["source"]
    )
    for source in snap.sources:
        sent.add_metric([source.name], snap.sent_by_system.get(source.source_system, 0))
    yield sent
    runs = CounterMetricFamily(
        f"{PREFIX}_source_runs", "Feed runs by result", labels=["source", "status"]
    )
    last_ok = GaugeMetricFamily(
        f"{PREFIX}_source_last_success_timestamp_seconds",
        "End of the last successful run (Unix time)",
        labels=["source"],
    )
    for source in snap.sources:
        for status, count in sorted(source.runs_by_status.items()):
            runs.add_metric([source.name, status], count)
        if source.last_success_at is not None:
            last_ok.add_metric([source.name], source.last_success_at.timestamp())
    yield runs
    yield last_ok


def outbox_metrics(snap: Snapshot) -> Iterator[Metric]:
    entries = GaugeMetricFamily(
        f"{PREFIX}_outbox_entries", "Outbox entries by state", labels=["state"]
    )
    for state, count in snap.outbox["entries"].items():
        entries.add_metric([state], count)
    yield entries
    batch_family = GaugeMetricFamily(
        f"{PREFIX}_outbox_batches", "Batches by state", labels=["state"]
    )
    for state, count in snap.outbox["batches"].items():
        batch_family.add_metric([state], count)
    yield batch_family
    parked = GaugeMetricFamily(
        f"{PREFIX}_outbox_parked", "Parked entries by reason", labels=["reason"]
    )
    for reason, count in sorted(snap.outbox["parked_by_reason"].items()):
        parked.add_metric([reason], count)
    yield parked
    outcomes = CounterMetricFamily(
        f"{PREFIX}_outcomes", "Record outcomes from the hub", labels=["status"]
    )
    for status, count in sorted(snap.outbox["outcomes"].items()):
        outcomes.add_metric([status], count)
    yield outcomes
    yield CounterMetricFamily(
        f"{PREFIX}_delivery_retries",
        "Batch resubmissions after a retryable failure",
        value=snap.retries,
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_worklist_open",
        "Open work list items (NoMatch / MultipleMatch)",
        value=snap.outbox["worklist_open"],
    )
    histogram = HistogramMetricFamily(
        f"{PREFIX}_delivery_latency_seconds",
        "Seconds from a record's submission to its outcome",
    )
    buckets: list[tuple[str, float]] = [
        (str(bound), count)
        for bound, count in zip(LATENCY_BUCKETS, snap.latency_buckets, strict=True)
    ]
    buckets.append(("+Inf", snap.latency_count))
    histogram.add_metric([], buckets, sum_value=snap.latency_sum)
    yield histogram


def render(snapshot: Callable[[], Snapshot]) -> bytes:
    """The Prometheus text exposition of one snapshot."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(snapshot))
    return generate_latest(registry)
