"""kill -9 of the delivering process at random moments: nothing lost or duplicated (TA-REL-03)."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from tests.fixtures.hub import RunningHub
from tests.integration.outbox.conftest import AdapterSite, hub_applications, open_site

KILLS = 10


def start_deliver(config_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """`cpadapter deliver --until-empty` as a separate process, its log in ``log``."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "adapter",
                "deliver",
                "--config",
                str(config_path),
                "--until-empty",
            ],
            stdout=sink,
            stderr=sink,
        )


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    site: AdapterSite, hub: RunningHub, tmp_path: Path
) -> None:
    """Ten kill -9 / restart cycles mid-delivery, then a clean run: every record once."""
    ids = site.enqueue_many(600)
    site.outbox.close()
    config = site.config_path.read_text().replace("batch_size: 200", "batch_size: 20")
    site.config_path.write_text(config)
    hub.admin.misbehave(seed=3, latency_ms=40, drop_after_store_probability=0.1)
    rng = random.Random(20261121)
    log = tmp_path / "deliver.log"
    caught_mid_flight = 0
    for _ in range(KILLS):
        process = start_deliver(site.config_path, log)
        time.sleep(rng.uniform(0.9, 1.8))
        process.kill()  # SIGKILL, to this process only
        process.wait(timeout=10)
        states = open_site(site.config_path)
        try:
            current = states.states()
        finally:
            states.outbox.close()
        if current.get("in_flight", 0) or current.get("sent", 0):
            caught_mid_flight += 1
    hub.admin.reset()
    final = start_deliver(site.config_path, log)
    assert final.wait(timeout=120) == 0, log.read_text()[-2000:]
    reopened = open_site(site.config_path)
    try:
        assert reopened.states() == {"done": len(ids)}
    finally:
        reopened.outbox.close()
    assert caught_mid_flight >= 3, "the kills should land while batches are at the hub"
    assert hub_applications(hub, ids) == dict.fromkeys(ids, 1)
