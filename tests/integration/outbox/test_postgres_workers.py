"""Several workers on PostgreSQL share the outbox; one dies, the rest finish; exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from adapter.cli import main
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.hub import RunningHub
from tests.integration.outbox.conftest import hub_applications, open_site, write_adapter_config

RECORDS = 20_000
WORKERS = 4


def test_four_workers_drain_twenty_thousand_with_one_killed(
    tmp_path: Path, hub: RunningHub, database_factory: DatabaseFactory
) -> None:
    """4 worker processes claim batches with SKIP LOCKED; one is SIGKILLed midway (leases)."""
    url = database_factory.create("postgresql", "outbox_workers")
    config_path = write_adapter_config(
        tmp_path,
        hub,
        store_url=url,
        # Four single-lane processes: the scenario is four workers sharing the outbox (with two
        # lanes each, eight 1,000-record batches would queue at the inline-mode test hub for
        # longer than the 3 s lease, and the test would measure the hub instead).
        delivery={"batch_size": 1000, "lease_seconds": 3, "max_open_batches": 8, "lanes": 1},
    )
    site = open_site(config_path)
    try:
        ids = site.enqueue_many(RECORDS)
    finally:
        site.outbox.close()
    logs = [tmp_path / f"worker-{i}.log" for i in range(WORKERS)]
    workers = []
    for log in logs:
        with log.open("wb") as sink:
            workers.append(
                subprocess.Popen(
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
            )
    watcher = open_site(config_path)
    try:
        deadline = time.monotonic() + 90
        while watcher.states().get("done", 0) < RECORDS // 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers[0].kill()  # SIGKILL one worker, by its own handle, mid-run
        codes = [w.wait(timeout=120) for w in workers[1:]]
        final = watcher.states()
    finally:
        watcher.outbox.close()
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert workers[0].returncode == -9
    assert codes == [0] * (WORKERS - 1), [log.read_text()[-1500:] for log in logs]
    assert final == {"done": RECORDS}
    assert hub_applications(hub, ids) == dict.fromkeys(ids, 1)


def test_several_workers_on_sqlite_are_refused(tmp_path: Path, hub: RunningHub) -> None:
    """`deliver --workers 2` on a SQLite store exits 2 with a message saying why."""
    config_path = write_adapter_config(tmp_path, hub)
    open_site(config_path).outbox.close()
    result = CliRunner().invoke(
        main, ["deliver", "--config", str(config_path), "--workers", "2", "--until-empty"]
    )
    assert result.exit_code == 2
    assert "SQLite store takes exactly one worker" in result.output


def test_workers_option_starts_several_processes(
    tmp_path: Path, hub: RunningHub, database_factory: DatabaseFactory
) -> None:
    """`deliver --workers 2 --until-empty` on PostgreSQL drains the outbox and exits 0."""
    url = database_factory.create("postgresql", "outbox_spawn")
    config_path = write_adapter_config(tmp_path, hub, store_url=url, delivery={"batch_size": 50})
    site = open_site(config_path)
    try:
        ids = site.enqueue_many(400)
    finally:
        site.outbox.close()
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "adapter",
            "deliver",
            "--config",
            str(config_path),
            "--workers",
            "2",
            "--until-empty",
            "--json",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr.decode()[-1500:]
    summaries = [line for line in finished.stdout.decode().splitlines() if line.startswith("{")]
    assert len(summaries) == 2
    assert hub_applications(hub, ids) == dict.fromkeys(ids, 1)
