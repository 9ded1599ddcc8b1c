"""Benchmark: how many records per second the reference hub accepts and processes.

Target (issue 3): at least 5,000 records/s in 1,000-record batches on the project's 2-core
machine, so that the hub is never the bottleneck when the adapter is measured against it.

What is measured: a real ``cpadapter hub serve`` process (SQLite in WAL mode with
``synchronous=FULL``, 20,000 seeded national records) receiving SubmitBatch requests over
mutual TLS on loopback, one after another on one keep-alive connection, from the first request
until the last batch is Complete. Request bodies are built before the clock starts, so the
figure is the hub's: TLS, HTTP, the XSD, canonicalisation, the commits, the models, BR-01 …
BR-08, matching and the outcome writes. A GetBatchOutcome per batch then checks every record
got its outcome. Background mode (the default here) spreads accepting, preparing and deciding
over three processes (hub/worker.py); inline mode does it all in the request thread.

Besides records per second (which other work on the machine lowers) it prints the hub's CPU
seconds, summed over its processes, as records per CPU-second.

Run: ``.venv/bin/python -m bench.hub_throughput [--batches 20] [--index 20000] [--mode inline]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import requests
from lxml import etree

from adapter.pki import init_dev_pki
from hub.synthetic import message_ids, national_children, record_for
from ldi.models import Record, SubmissionBatch
from ldi.xmlcodec import serialise, to_element

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
BATCH_SIZE = 1000


def _envelope(batch: SubmissionBatch) -> bytes:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    body.append(to_element(batch))
    return serialise(envelope)


def _batches(count: int, index_size: int, seed: int) -> list[tuple[str, bytes]]:
    """Realistic batches: most records match by identifiers, some by name, some not at all."""
    today = date.today()
    seeded = national_children(index_size, seed=seed, on=today)
    unseeded = national_children(count * BATCH_SIZE, seed=seed + 1, on=today)
    ids = message_ids(seed)
    out = []
    for b in range(count):
        records: list[Record] = []
        for i in range(BATCH_SIZE):
            n = b * BATCH_SIZE + i
            if i % 10 == 9:  # 10 %: a child the index does not hold -> NoMatch
                child, kwargs = unseeded[n], {}
            elif i % 10 == 8:  # 10 %: no identifiers -> step-3 name matching
                child, kwargs = seeded[n % index_size], {"with_identifiers": False}
            else:
                child, kwargs = seeded[n % index_size], {}
            records.append(
                record_for(child, message_id=next(ids), source_record_id=f"BENCH-{n}", **kwargs)
            )
        batch = SubmissionBatch(
            batch_id=str(uuid.uuid4()),
            accountable_body="891",
            source_system="FWK891",
            created_at=datetime.now(UTC).replace(microsecond=0),
            records=records,
        )
        out.append((batch.batch_id, _envelope(batch)))
    return out


def _outcome(session: requests.Session, url: str, batch_id: str) -> etree._Element:
    ask = (
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
        f'<BatchOutcomeRequest xmlns="urn:contactpoint:ldi:1" batchId="{batch_id}"/>'
        "</soap:Body></soap:Envelope>"
    ).encode()
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    reply = session.post(url + "/ldi/v1", data=ask, headers=headers, timeout=60)
    reply.raise_for_status()
    outcome = etree.fromstring(reply.content).find(".//{urn:contactpoint:ldi:1}BatchOutcome")
    if outcome is None:
        raise SystemExit("no BatchOutcome in the answer")
    return outcome


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live children (Linux /proc), so the figure
    does not depend on what else the machine is doing; the background worker is a child."""
    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue  # the process ended meanwhile
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _wait_for(url: str, session: requests.Session, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            session.get(url + "/ldi/v1?wsdl", timeout=2).raise_for_status()
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("hub did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--index", type=int, default=20_000, help="national records seeded")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=("inline", "background"), default="background")
    args = parser.parse_args()
    cli = [sys.executable, "-c", "from adapter.cli import main; main()"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pki = init_dev_pki(root / "certs")
        port = 18443 + os.getpid() % 1000
        (root / "hub.yaml").write_text(
            f"listen: {{host: 127.0.0.1, port: {port}}}\n"
            "tls: {certificate: certs/hub.pem, key: certs/hub.key, client_ca: certs/ca.pem}\n"
            "store: {url: 'sqlite:///var/hub.db'}\n"
            "log_level: warning\n"
            f"processing: {{mode: {args.mode}}}\n"
            "register:\n"
            "  - {certificate: certs/client.pem, la_code: '891', source_systems: [FWK891]}\n"
        )
        config = ["--config", str(root / "hub.yaml")]
        subprocess.run(
            [
                *cli,
                "hub",
                "seed",
                *config,
                "--synthetic",
                str(args.index),
                "--seed",
                f"{args.seed}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"building {args.batches} batches of {BATCH_SIZE} records ...", flush=True)
        batches = _batches(args.batches, args.index, args.seed)
        server = subprocess.Popen([*cli, "hub", "serve", *config], stdout=subprocess.DEVNULL)
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify= otherwise
        session.cert = (str(pki.path("client.pem")), str(pki.path("client.key")))
        session.verify = str(pki.path("ca.pem"))
        url = f"https://127.0.0.1:{port}"
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
        try:
            _wait_for(url, session, time.monotonic() + 30)
            cpu_before = _cpu_seconds(server.pid)
            started = time.perf_counter()
            for _, body in batches:
                reply = session.post(url + "/ldi/v1", data=body, headers=headers, timeout=120)
                reply.raise_for_status()
            accepted = time.perf_counter() - started
            # Batches are processed in arrival order: the last one Complete means all are.
            while _outcome(session, url, batches[-1][0]).get("status") != "Complete":
                time.sleep(0.05)  # polling costs the hub CPU too: not too often
            elapsed = time.perf_counter() - started
            cpu = _cpu_seconds(server.pid) - cpu_before
            statuses: Counter[str] = Counter()
            for batch_id, _ in batches:
                outcome = _outcome(session, url, batch_id)
                if outcome.get("status") != "Complete":
                    raise SystemExit(f"batch {batch_id} is not Complete")
                statuses.update(
                    e.get("status") or "?"
                    for e in outcome.iter("{urn:contactpoint:ldi:1}RecordOutcome")
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    records = args.batches * BATCH_SIZE
    print(f"records: {records} in {args.batches} batches; index: {args.index} national records")
    print(f"outcomes: {dict(sorted(statuses.items()))}")
    print(f"processing mode: {args.mode}; all receipts after {accepted:.2f} s")
    print(f"elapsed: {elapsed:.2f} s -> {records / elapsed:,.0f} records/s (target >= 5,000)")
    print(
        f"hub CPU: {cpu:.2f} s ({cpu / elapsed:.0%} of one core) -> "
        f"{records / cpu:,.0f} records per CPU-second"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work on the machine skews it)")


if __name__ == "__main__":
    main()
