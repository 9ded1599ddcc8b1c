"""Benchmark: how many records per second the outbox delivers to the hub.

Target (issue 5): at least 5,000 records/s to the local hub with 1,000-record batches and no
rate limit.

What is measured: one delivery worker (``outbox.delivery.run_lanes`` over ``--lanes`` lanes,
default ``delivery.lanes``, as ``cpadapter deliver`` runs it) draining a SQLite store (WAL,
``synchronous=FULL``) of realistic records that were queued before the clock starts. Per batch
that is: forming it (claiming the entries, decrypting them, building and encrypting the batch
document), ``SubmitBatch`` over mutual TLS, the receipt, ``GetBatchOutcome``, and storing every
record outcome, the delta state and the audit entries.

``--hub real`` (default) delivers to a real ``cpadapter hub serve`` process on loopback (seeded
national index), so the figure includes the hub's own work, which on a 2-core machine shares the
CPU with the adapter. ``--hub-mode`` picks the hub's processing mode (hub/README.md): ``inline``
decides each batch before its receipt, ``background`` (default) accepts at once and decides in a
worker process, so the adapter's next batch overlaps the hub's work. ``--hub null`` replaces
the hub with an in-process stand-in that answers at once (every record ``NoMatch``), which
isolates the adapter's cost.

Run: ``.venv/bin/python -m bench.outbox_delivery [--records 20000] [--hub real|null]
[--hub-mode inline|background] [--lanes N]``. Besides records/s it prints the CPU seconds the
adapter and the hub (all its processes) spent per record.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from adapter.config import DeliveryConfig, TlsConfig
from adapter.heap import freeze_startup_heap
from adapter.log import configure_logging
from adapter.pki import init_dev_pki
from bench.calibration import cpu_loop_seconds
from bench.outbox_enqueue import SOURCE, build_records
from ldi.models import (
    BatchOutcome,
    BatchReceipt,
    BatchStatus,
    OutcomeStatus,
    RecordOutcome,
)
from outbox import migrations
from outbox.crypto import KeyRing, generate_key
from outbox.delivery import Worker, run_lanes
from outbox.entries import enqueue_prepared, prepare
from outbox.pacing import Pacer
from outbox.store import create_store_engine
from outbox.transports.base import Pending, Transport
from outbox.transports.soap import open_soap

_MESSAGE_ID = re.compile(rb'messageId="([0-9a-f]{32})"')


class NullHub:
    """Answers SubmitBatch at once and GetBatchOutcome with NoMatch for every record."""

    max_records = 1000
    max_bytes = 5 * 1024 * 1024

    def __init__(self) -> None:
        self._batches: dict[str, list[str]] = {}

    def submit(self, batch_xml: bytes, batch_id: str) -> BatchReceipt:
        ids = [m.decode() for m in _MESSAGE_ID.findall(batch_xml)]
        self._batches[batch_id] = ids
        return BatchReceipt(batch_id=batch_id, received_at=datetime.now(UTC), record_count=len(ids))

    def get_outcome(self, batch_id: str) -> BatchOutcome | Pending:
        return BatchOutcome(
            batch_id=batch_id,
            status=BatchStatus.COMPLETE,
            record_outcomes=[
                RecordOutcome(message_id=m, status=OutcomeStatus.NO_MATCH)
                for m in self._batches[batch_id]
            ],
        )

    def close(self) -> None:
        return None


def _start_hub(
    root: Path, index: int, mode: str = "inline"
) -> tuple[subprocess.Popen[bytes], str, Path]:
    cli = [sys.executable, "-c", "from adapter.cli import main; main()"]
    init_dev_pki(root / "certs")
    port = 19443 + os.getpid() % 1000
    (root / "hub.yaml").write_text(
        f"listen: {{host: 127.0.0.1, port: {port}}}\n"
        "tls: {certificate: certs/hub.pem, key: certs/hub.key, client_ca: certs/ca.pem}\n"
        "store: {url: 'sqlite:///var/hub.db'}\n"
        "log_level: warning\n"
        f"processing: {{mode: {mode}}}\n"
        "register:\n"
        f"  - {{certificate: certs/client.pem, la_code: '891', source_systems: [{SOURCE}]}}\n"
    )
    config = ["--config", str(root / "hub.yaml")]
    subprocess.run(
        [*cli, "hub", "seed", *config, "--synthetic", str(index), "--seed", "7"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    server = subprocess.Popen([*cli, "hub", "serve", *config], stdout=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    session = requests.Session()
    session.trust_env = False
    session.cert = (str(root / "certs/client.pem"), str(root / "certs/client.key"))
    session.verify = str(root / "certs/ca.pem")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            session.get(url + "/ldi/v1?wsdl", timeout=2).raise_for_status()
            return server, url, root / "certs"
        except requests.RequestException:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("hub did not start")


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pids = 0.0, [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue  # ended meanwhile
    return total


def _wait_until_idle(pid: int, timeout: float = 30.0) -> None:
    """Wait for the hub's processes to finish starting (spawning and importing its preparer
    and processor take about a CPU-second after the WSDL is served), so that the clock and the
    CPU figures measure delivery, not the hub's start-up."""
    deadline = time.monotonic() + timeout
    before = _tree_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = _tree_cpu_seconds(pid)
        if now - before < 0.02:
            return
        before = now
    raise SystemExit("hub did not settle")


def main() -> None:
    """Queue ``--records``, deliver them with one worker, print records/s."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--hub", choices=("real", "null"), default="real")
    parser.add_argument("--index", type=int, default=20_000)
    parser.add_argument("--hub-mode", choices=("inline", "background"), default="background")
    parser.add_argument(
        "--lanes", type=int, default=DeliveryConfig().lanes, help="delivery lanes (threads)"
    )
    args = parser.parse_args()
    configure_logging("warning", "json")
    print(f"building {args.records} records ...", flush=True)
    prepared = [prepare(SOURCE, r) for r in build_records(args.records)]
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        engine = create_store_engine(f"sqlite:///{root / 'adapter.db'}")
        migrations.upgrade(engine)
        keys = KeyRing([generate_key()])
        for start in range(0, len(prepared), 5000):
            with engine.begin() as conn:
                enqueue_prepared(conn, keys, SOURCE, prepared[start : start + 5000])
        server = None
        delivery = DeliveryConfig(batch_size=1000, poll_interval_seconds=0.05, lanes=args.lanes)
        if args.hub == "real":
            server, url, certs = _start_hub(root, args.index, args.hub_mode)
            delivery = delivery.model_copy(
                update={
                    "endpoint": f"{url}/ldi/v1",
                    "tls": TlsConfig(
                        client_certificate=certs / "client.pem",
                        client_key=certs / "client.key",
                        ca_bundle=certs / "ca.pem",
                    ),
                }
            )
        transports: list[Transport] = [
            open_soap(delivery, base=root) if server is not None else NullHub()  # type: ignore[misc]
            for _ in range(args.lanes)
        ]
        pacer = Pacer(delivery.rate)
        lanes = [
            Worker(
                engine,
                keys,
                transport,
                la_code="891",
                delivery=delivery,
                batch_size=1000,
                pacer=pacer,
                owner=f"bench/{lane}",
                exclusive=True,
            )
            for lane, transport in enumerate(transports)
        ]
        try:
            if server is not None:
                _wait_until_idle(server.pid)
            freeze_startup_heap()  # as `cpadapter deliver` does before its lanes start
            hub_cpu = _tree_cpu_seconds(server.pid) if server is not None else 0.0
            cpu = time.process_time()
            started = time.perf_counter()
            summary = run_lanes(lanes, until_empty=True)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            if server is not None:
                hub_cpu = _tree_cpu_seconds(server.pid) - hub_cpu
        finally:
            for transport in transports:
                transport.close()
            engine.dispose()
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
    mode = f" ({args.hub_mode} processing)" if args.hub == "real" else ""
    mode += f", {args.lanes} lane(s)"
    print(
        f"hub: {args.hub}{mode}; outcomes: {summary.outcomes}; batches: {summary.batches_completed}"
    )
    per_record = 1e6 / max(summary.records_submitted, 1)
    print(
        f"CPU: adapter {cpu:.2f} s ({cpu * per_record:.0f} us/record)"
        + (f", hub {hub_cpu:.2f} s ({hub_cpu * per_record:.0f} us/record)" if server else "")
    )
    print(f"machine speed (bench.calibration loop): {cpu_loop_seconds()} s")
    print(
        f"delivered {summary.records_submitted} records in {elapsed:.2f} s -> "
        f"{summary.records_submitted / elapsed:,.0f} records/s (target >= 5,000, hub real)"
    )


if __name__ == "__main__":
    main()
