"""`cpadapter serve` as a subprocess: schedules, no overlap, delivery, SIGTERM and restart."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

from adapter.config import load_config
from outbox import migrations
from outbox.service import store_engine
from tests.fixtures.hub import HubPki
from tests.integration.service.conftest import (
    REPO,
    HubProcess,
    make_authority,
    parse_time,
    wait_for,
)


def test_feeds_run_on_schedule_never_overlap_and_deliver(
    tmp_path: Path, hub_pki: HubPki, hub_process: HubProcess
) -> None:
    """Two sources every 2 s: several runs each, on the 2 s grid, never overlapping; delivered."""
    authority = make_authority(tmp_path, hub_pki, hub_process)
    served = authority.serve()
    try:

        def settled() -> bool:
            runs = authority.runs()
            per_source = Counter(r["source"] for r in runs if r["status"] == "ok")
            states = set(authority.entry_states().values())
            return min(per_source["frameworki"], per_source["schools"]) >= 3 and states == {"done"}

        wait_for(
            settled,
            40,
            "three runs per source and every entry delivered",
            state=authority.progress_report,
        )
        code, took = served.stop()
    finally:
        served.kill()
    assert code == 0, authority.log_tail()
    assert took < 10
    runs = authority.runs()
    by_source: dict[str, list[dict[str, object]]] = defaultdict(list)
    for run in runs:
        by_source[str(run["source"])].append(run)
    for source, source_runs in by_source.items():
        assert {r["status"] for r in source_runs} <= {"ok"}, source
        for run in source_runs:
            late = parse_time(run["started_at"]).timestamp() % 2
            assert late < 1.5, "a run started off its 2 s schedule"
        spans = sorted(
            (parse_time(r["started_at"]), parse_time(r["finished_at"])) for r in source_runs
        )
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, f"{source}: runs overlap"
    states = authority.entry_states()
    outcomes = authority.outcome_statuses()
    assert states and set(states.values()) == {"done"}
    assert set(outcomes) == set(states)
    applied = Counter(m for m, _ in hub_process.applied() if m in states)
    assert set(applied) == set(states)
    assert set(applied.values()) == {1}, "a record was applied twice"


def test_sigterm_during_delivery_exits_cleanly_and_restart_finishes(
    tmp_path: Path, hub_pki: HubPki, hub_process: HubProcess
) -> None:
    """SIGTERM mid-delivery: exit 0 within grace; a restart delivers the rest, none twice."""
    authority = make_authority(tmp_path, hub_pki, hub_process, rate=40, batch_size=20, grace=8.0)
    served = authority.serve()
    try:

        def delivering() -> bool:
            states = Counter(authority.entry_states().values())
            return states["done"] > 0 and states["pending"] > 20

        wait_for(delivering, 30, "delivery under way", interval=0.05)
        code, took = served.stop()
    finally:
        served.kill()
    assert code == 0, authority.log_tail()
    assert took < 8.0 + 2
    left = Counter(authority.entry_states().values())
    assert left["pending"] > 0, "nothing left to prove the restart on"
    restarted = authority.serve()
    try:
        wait_for(
            lambda: set(authority.entry_states().values()) == {"done"},
            60,
            "the restarted service to deliver the rest",
        )
        code, _ = restarted.stop()
    finally:
        restarted.kill()
    assert code == 0
    states = authority.entry_states()
    outcomes = authority.outcome_statuses()
    assert set(outcomes) == set(states)
    assert "Duplicate" not in outcomes.values()
    applied = Counter(m for m, status in hub_process.applied() if m in states)
    assert set(applied) == set(states), "a record was lost"
    assert set(applied.values()) == {1}, "a record was applied twice"


def test_serve_refuses_a_public_bind_without_tls_and_auth(tmp_path: Path) -> None:
    """service.host 0.0.0.0 without TLS and auth: exit 2 with a message naming both."""
    config = tmp_path / "config.yaml"
    config.write_text(
        "organisation: {la_code: '891', name: Test}\n"
        "store: {url: 'sqlite:///var/store.db', encryption_key_file: certs/store.key}\n"
        "service: {host: 0.0.0.0, port: 0}\n"
    )
    engine = store_engine(load_config(config).store, base=tmp_path)
    migrations.upgrade(engine)
    engine.dispose()
    result = subprocess.run(
        [sys.executable, "-m", "adapter", "serve", "--config", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "requires TLS and authentication" in result.stderr
    assert "service.tls and service.auth" in result.stderr


def test_a_failing_source_does_not_stop_the_others_and_is_alerted_once(
    tmp_path: Path,
    hub_pki: HubPki,
    hub_process: HubProcess,
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    """A source whose database is missing fails every run; the others run; one alert."""
    url, hooks = webhook
    alerts = {"webhook": {"url": url}, "check_interval_seconds": 0.5}
    authority = make_authority(
        tmp_path, hub_pki, hub_process, broken_source=True, extra={"alerts": alerts}
    )
    served = authority.serve()
    try:

        def several_runs() -> bool:
            ok = Counter(r["source"] for r in authority.runs() if r["status"] == "ok")
            failed = Counter(r["source"] for r in authority.runs() if r["status"] == "failed")
            return failed["broken"] >= 3 and min(ok["frameworki"], ok["schools"]) >= 3

        wait_for(
            several_runs,
            40,
            "three failed runs of broken and three good runs of the others",
            state=authority.progress_report,
        )
        wait_for(lambda: len(hooks) >= 1, 10, "the alert")
        time.sleep(1.5)  # three more alert checks: nothing new may arrive
        code, _ = served.stop()
    finally:
        served.kill()
    assert code == 0
    failed = [r for r in authority.runs() if r["source"] == "broken"]
    assert {r["error_code"] for r in failed} == {"SRC-CONNECT"}
    assert [(h["alert"], h["status"]) for h in hooks] == [("feed_failed:broken", "firing")]
    assert "SRC-CONNECT" in hooks[0]["detail"]


def test_a_run_hung_past_the_grace_period_does_not_delay_the_exit(
    tmp_path: Path, hub_pki: HubPki, hub_process: HubProcess, hanging_server: int
) -> None:
    """A source stuck on a silent server: SIGTERM still exits 0 within grace (2 s) + slack."""
    committed = yaml.safe_load((REPO / "config.yaml").read_text())["sources"]
    health = next(s for s in committed if s["name"] == "health")
    health["options"]["wsdl"] = f"http://127.0.0.1:{hanging_server}/health/v1?wsdl"
    health["options"]["read_timeout_seconds"] = 600
    health["options"]["ca_bundle"] = str(hub_pki.ca)
    health["mapping"] = str(REPO / health["mapping"])
    health["schedule"] = "*/2 * * * * *"
    authority = make_authority(tmp_path, hub_pki, hub_process, grace=2.0, more_sources=[health])
    served = authority.serve()
    try:
        wait_for(
            lambda: any(r["source"] == "health" for r in authority.runs()),
            20,
            "the health run to start (and hang)",
        )
        code, took = served.stop()
    finally:
        served.kill()
    assert code == 0, authority.log_tail()
    assert 1.5 < took < 2.0 + 3
    assert [r["status"] for r in authority.runs() if r["source"] == "health"] == ["running"]


def test_a_hub_refusing_the_client_is_alerted_once(
    tmp_path: Path,
    hub_pki: HubPki,
    hub_process: HubProcess,
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    """A certificate the hub's register lacks: UNAUTHORISED, parked; both alerted once."""
    url, hooks = webhook
    cert, key = hub_pki.unregistered
    extra = {"alerts": {"webhook": {"url": url}, "check_interval_seconds": 0.5}}
    authority = make_authority(tmp_path, hub_pki, hub_process, extra=extra)
    config = yaml.safe_load(authority.config.read_text())
    config["delivery"]["tls"].update(client_certificate=str(cert), client_key=str(key))
    authority.config.write_text(yaml.safe_dump(config, sort_keys=False))
    served = authority.serve()
    try:
        wait_for(
            lambda: {h["alert"] for h in hooks} >= {"unauthorised", "parked"},
            30,
            "the unauthorised and parked alerts",
        )
        time.sleep(1.5)  # three more checks: no repeats
        code, _ = served.stop()
    finally:
        served.kill()
    assert code == 0
    fired = Counter(h["alert"] for h in hooks if h["status"] == "firing")
    assert fired["unauthorised"] == 1 and fired["parked"] == 1
    assert "UNAUTHORISED" in next(h["detail"] for h in hooks if h["alert"] == "parked")
