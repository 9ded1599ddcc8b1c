"""Which incidents a snapshot opens: failed feed, parked, quiet source, certificate, refusal."""

from __future__ import annotations

from datetime import timedelta

from adapter.config import AlertsConfig
from adapter.service.alerts import evaluate
from adapter.service.snapshot import CertificateState
from tests.unit.service.helpers import NOW, snapshot, source

RULES = AlertsConfig(parked_threshold=5, quiet_hours=48)


def test_a_healthy_snapshot_opens_no_incident() -> None:
    """Everything ok: no incident."""
    assert evaluate(snapshot(), RULES) == {}


def test_a_failed_feed_opens_an_incident_for_that_source_only() -> None:
    """The last run of raise failed: one incident, keyed by the source, with its code."""
    found = evaluate(snapshot(source(), source("raise", "failed")), RULES)
    assert list(found) == ["feed_failed:raise"]
    assert "SRC-CONNECT" in found["feed_failed:raise"].detail


def test_parked_entries_alert_only_above_the_threshold() -> None:
    """5 parked (threshold 5) is quiet; 6 opens the incident with the reasons."""
    assert evaluate(snapshot(parked={"REJECTED": 5}), RULES) == {}
    found = evaluate(snapshot(parked={"REJECTED": 4, "STALE": 2}), RULES)
    assert list(found) == ["parked"]
    assert "STALE: 2" in found["parked"].detail


def test_a_source_that_read_nothing_for_too_long_is_quiet() -> None:
    """Runs ok but read nothing for 3 days (limit 48 h, 96 h for schools): quiet:frameworki."""
    stale = NOW - timedelta(days=3)
    rules = AlertsConfig(quiet_hours=48, quiet_hours_by_source={"schools": 96})
    found = evaluate(
        snapshot(source(last_read_at=stale), source("schools", last_read_at=stale)), rules
    )
    assert list(found) == ["quiet:frameworki"]


def test_certificate_expiring_within_30_days_or_unreadable() -> None:
    """29 days left opens the incident; an unreadable certificate does too."""
    soon = CertificateState("client.pem", not_after=NOW + timedelta(days=29))
    assert list(evaluate(snapshot(certificate=soon), RULES)) == ["certificate"]
    broken = CertificateState("client.pem", error="cannot read the client certificate")
    assert evaluate(snapshot(certificate=broken), RULES)["certificate"].detail.startswith(
        "cannot read"
    )


def test_unauthorised_from_the_hub_or_a_halted_worker() -> None:
    """An UNAUTHORISED batch after the last complete one, or a halted worker, opens it."""
    refused = snapshot(unauthorised_at=NOW - timedelta(minutes=5))
    assert list(evaluate(refused, RULES)) == ["unauthorised"]
    recovered = snapshot(
        unauthorised_at=NOW - timedelta(minutes=5), completed_at=NOW - timedelta(minutes=1)
    )
    assert evaluate(recovered, RULES) == {}
    halted = evaluate(snapshot(), RULES, halted="TLS handshake refused")
    assert halted["unauthorised"].detail == "TLS handshake refused"
