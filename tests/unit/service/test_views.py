"""The status page and /metrics rendered from one snapshot: masked, escaped, parseable."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from adapter.service import metrics, status_page
from tests.unit.service.helpers import snapshot, source


def test_record_ids_are_masked() -> None:
    """Only the first and last two characters of a record id are shown."""
    assert status_page.mask_id("CH4100007") == "CH•••••07"
    assert status_page.mask_id("1234") == "••••"
    assert status_page.mask_id(None) == "—"


def test_page_escapes_and_lists_parked_entries_masked() -> None:
    """Markup in a name is escaped; parked entries show their reason and a masked record id."""
    snap = snapshot(source(), parked={"REJECTED": 1})
    snap.parked = [
        {
            "message_id": "a" * 32,
            "source_system": "FWK891",
            "source_record_id": "CH4100007",
            "code": "REJECTED",
            "at": snap.taken_at,
        }
    ]
    page = status_page.render(snap, organisation="<script>x</script>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "CH4100007" not in page and "CH•••••07" in page
    assert "REJECTED" in page and "BR-02" in page


def test_metrics_render_parses_with_the_expected_families() -> None:
    """The exposition parses; counters, gauges and the latency histogram carry the snapshot."""
    text = metrics.render(lambda: snapshot(source(totals={"read": 10, "queued": 8, "held": 2})))
    families = {f.name: f for f in text_string_to_metric_families(text.decode())}
    assert families["cpadapter_records_read"].type == "counter"
    read = families["cpadapter_records_read"].samples[0]
    assert (read.labels, read.value) == ({"source": "frameworki"}, 10)
    latency = families["cpadapter_delivery_latency_seconds"]
    assert latency.type == "histogram"
    count = next(s for s in latency.samples if s.name.endswith("_count"))
    assert count.value == 8
    assert families["cpadapter_records_sent"].samples[0].value == 8
    expiry = families["cpadapter_client_certificate_expiry_days"].samples[0].value
    assert 364 < expiry < 366
