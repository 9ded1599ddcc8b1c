"""The service's HTTP face: health, readiness, Prometheus metrics and the status page."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import sync_playwright
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.hub import HubPki
from tests.integration.service.conftest import (
    Authority,
    HubProcess,
    make_authority,
    parse_time,
    wait_for,
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _expected(authority: Authority) -> dict[str, Any]:
    """What the store says: per-source totals from source_runs, entries and outcomes."""
    runs = authority.runs()
    totals: dict[tuple[str, str], int] = Counter()
    run_status: dict[tuple[str, str], int] = Counter()
    last_ok: dict[str, float] = {}
    for run in runs:
        counts = json.loads(run["counts"])
        for key in ("read", "queued", "held"):
            totals[(run["source"], key)] += int(counts.get(key, 0))
        run_status[(run["source"], run["status"])] += 1
        if run["status"] == "ok":
            last_ok[run["source"]] = parse_time(run["finished_at"]).timestamp()
    return {
        "totals": dict(totals),
        "runs": dict(run_status),
        "last_ok": last_ok,
        "entries": Counter(authority.entry_states().values()),
        "outcomes": Counter(authority.outcome_statuses().values()),
    }


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _settled(authority: Authority) -> bool:
    runs = authority.runs()
    done = {r["source"] for r in runs if r["status"] == "ok"}
    return done == {"frameworki", "schools"} and set(authority.entry_states().values()) == {"done"}


def test_health_readiness_and_metrics_match_the_store(
    tmp_path: Path, hub_pki: HubPki, hub_process: HubProcess
) -> None:
    """/healthz, /readyz (store, hub, certificate) and /metrics agree with source_runs/outbox."""
    authority = make_authority(tmp_path, hub_pki, hub_process, schedule="*/3 * * * * *")
    served = authority.serve()
    try:
        wait_for(
            lambda: _settled(authority), 40, "runs and delivery", state=authority.progress_report
        )
        assert requests.get(f"{served.url}/healthz", timeout=5).json() == {"status": "ok"}
        ready = requests.get(f"{served.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert {k: v["ok"] for k, v in ready.json()["checks"].items()} == {
            "store": True,
            "hub": True,
            "certificate": True,
        }
        for _ in range(20):  # a scheduled run may land between the two reads: read again
            before = _expected(authority)
            text = requests.get(f"{served.url}/metrics", timeout=10).text
            if _expected(authority) == before:
                break
        else:
            raise AssertionError("the store never held still for a scrape")
        code, _ = served.stop()
    finally:
        served.kill()
    assert code == 0
    samples = _samples(text)
    for (source, key), value in before["totals"].items():
        assert samples[(f"cpadapter_records_{key}_total", (("source", source),))] == value
    assert before["totals"][("frameworki", "read")] > 0
    for (source, status), count in before["runs"].items():
        labels = (("source", source), ("status", status))
        assert samples[("cpadapter_source_runs_total", labels)] == count
    for source, at in before["last_ok"].items():
        gauge = samples[("cpadapter_source_last_success_timestamp_seconds", (("source", source),))]
        assert abs(gauge - at) < 0.001
    sent = sum(v for (n, _), v in samples.items() if n == "cpadapter_records_sent_total")
    assert sent == sum(before["entries"].values())
    for state, count in before["entries"].items():
        assert samples[("cpadapter_outbox_entries", (("state", state),))] == count
    for status, count in before["outcomes"].items():
        assert samples[("cpadapter_outcomes_total", (("status", status),))] == count
    assert samples[("cpadapter_delivery_latency_seconds_count", ())] == before["entries"]["done"]
    assert 800 < samples[("cpadapter_client_certificate_expiry_days", ())] < 830
    assert ("cpadapter_delivery_retries_total", ()) in samples


def test_status_page_in_chromium_shows_sources_and_counts_without_personal_data(
    tmp_path: Path, hub_pki: HubPki, hub_process: HubProcess
) -> None:
    """Headless Chromium: sources, outbox counts and held rules shown; no child's name."""
    authority = make_authority(tmp_path, hub_pki, hub_process, schedule="*/3 * * * * *")
    served = authority.serve()
    try:
        wait_for(
            lambda: _settled(authority), 40, "runs and delivery", state=authority.progress_report
        )
        done = Counter(authority.entry_states().values())["done"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(served.url + "/", wait_until="load")
                page.screenshot(path=str(tmp_path / "status.png"), full_page=True)
                sources = page.locator("#sources tbody tr").all_inner_texts()
                outbox = page.locator("#outbox").inner_text()
                held = page.locator("#held").inner_text()
                body = page.locator("body").inner_text()
                html = page.content()
            finally:
                browser.close()
        served.stop()
    finally:
        served.kill()
    assert (tmp_path / "status.png").stat().st_size > 10_000
    assert any(row.startswith("frameworki\tFWK891") for row in sources), sources
    assert any(row.startswith("schools\tSCH891") for row in sources), sources
    assert f"done\t{done}" in outbox
    assert "BR-" in held
    assert "Client certificate" in body and "expires" in body
    assert authority.children
    for name in authority.children:
        for part in name.split():
            assert part not in html, "a child's name is on the status page"
