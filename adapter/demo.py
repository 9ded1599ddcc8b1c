"""``make demo``: the main job on the embedded default, end to end, on a fresh clone.

1. dev certificates (``certs/``, once), the demo sources (``var/demo``), a fresh store;
2. the reference hub (mutual TLS, seeded national index) and the demo health SOAP service,
   each in its own process;
3. a full feed of every source and its delivery; then some source data changes (a renamed
   child, a deleted one, a new school export) and a delta feed is delivered;
4. both summaries and the outcome and work-list counts are printed; everything started is
   stopped, whatever happens.

It drives the same commands an ICT engineer would type, so what it shows is the product.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import create_engine, select, update

from demo import frameworki

ROOT = Path.cwd()
VAR = ROOT / "var"
DEMO = VAR / "demo"
CERTS = ROOT / "certs"
HUB_PORT = 8443
HEALTH_PORT = 8444
SOURCE_SYSTEMS = ("FWK891", "RAISE891", "MIS891", "CHIS891")


def _cli(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "adapter", *args]
    result = subprocess.run(command, text=True, capture_output=capture, check=False)
    if result.returncode not in (0, 1) or (result.returncode == 1 and args[0] != "run"):
        if capture:
            sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"demo: `cpadapter {' '.join(args)}` failed ({result.returncode})")
    return result


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _wait_for(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"demo: the {name} exited early ({process.returncode})")
        if not _port_free(port):
            return
        time.sleep(0.1)
    raise SystemExit(f"demo: the {name} did not start on port {port}")


@contextmanager
def _process(command: list[str], port: int, name: str, log: Path) -> Iterator[None]:
    if not _port_free(port):
        raise SystemExit(f"demo: port {port} is in use; stop what holds it and try again")
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_for(port, process, name)
            yield
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _hub_config() -> Path:
    hub_dir = VAR / "hub"
    hub_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "listen": {"host": "127.0.0.1", "port": HUB_PORT},
        "tls": {
            "certificate": str(CERTS / "hub.pem"),
            "key": str(CERTS / "hub.key"),
            "client_ca": str(CERTS / "ca.pem"),
        },
        "store": {"url": f"sqlite:///{hub_dir / 'hub.db'}"},
        "register": [
            {
                "certificate": str(CERTS / "client.pem"),
                "la_code": "891",
                "source_systems": list(SOURCE_SYSTEMS),
                "label": "demo adapter",
            }
        ],
        "admins": [{"certificate": str(CERTS / "client.pem")}],
    }
    path = hub_dir / "hub.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _fresh_start() -> None:
    for path in (VAR / "cpadapter.db", VAR / "cpadapter.db-wal", VAR / "cpadapter.db-shm"):
        path.unlink(missing_ok=True)
    for folder in (VAR / "state", VAR / "hub", DEMO):
        shutil.rmtree(folder, ignore_errors=True)
    if not (CERTS / "ca.pem").exists():
        args = ["certs", "init", "--dir", str(CERTS), "--la", "891"]
        for system in SOURCE_SYSTEMS:
            args += ["--source", system]
        _cli(*args, capture=True)
        print("   created development certificates in certs/")


def _change_sources() -> str:
    """A renamed child, a deleted one, and a new export from one school."""
    engine = create_engine(f"sqlite:///{DEMO / 'frameworki.db'}")
    now = datetime.now(UTC).replace(tzinfo=None)
    person = frameworki.person
    with engine.begin() as conn:
        ids = (
            conn.execute(
                select(person.c.person_id)
                .where(person.c.person_type == "CLIENT")
                .where(person.c.deleted_flag == "N")
                .order_by(person.c.person_id)
                .limit(12)
            )
            .scalars()
            .all()
        )
        conn.execute(
            update(person)
            .where(person.c.person_id.in_(ids[:10]))
            .values(middle_names="Demo", last_modified=now)
        )
        conn.execute(
            update(person)
            .where(person.c.person_id.in_(ids[10:]))
            .values(deleted_flag="Y", last_modified=now)
        )
    engine.dispose()
    archive = DEMO / "ctf" / "archive"
    school = sorted(archive.glob("*.xml"))[0]
    text = school.read_text(encoding="utf-8").replace("Bulwell Lane", "Bulwell Road")
    (DEMO / "ctf" / school.name.replace("_001.xml", "_002.xml")).write_text(text)
    return "10 social care children updated, 2 deleted, 1 new school export"


def _status() -> dict[str, object]:
    result = _cli("outbox", "status", "--json", capture=True)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def main() -> int:
    """Run the demo; exit non-zero if any step failed."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print("ContactPoint Adapter demo: demo sources -> adapter -> reference hub (mutual TLS)\n")
    print("1. Preparing a fresh demo authority")
    _fresh_start()
    seeded = json.loads(_cli("demo", "seed", "--children", "2000", "--json", capture=True).stdout)
    print(
        f"   seeded {seeded['children']} children across social care, youth services, "
        f"{seeded['ctf_files']} school CTF files and the health service"
    )
    hub_config = _hub_config()
    _cli(
        "hub",
        "seed",
        "--config",
        str(hub_config),
        "--from",
        seeded["paths"]["national"],
        capture=True,
    )
    print(f"   seeded the national index with {seeded['national_records']} children")
    _cli("db", "upgrade", capture=True)
    hub = [sys.executable, "-m", "adapter", "hub", "serve", "--config", str(hub_config)]
    health = [
        sys.executable,
        "-m",
        "demo.soap_service",
        "--port",
        str(HEALTH_PORT),
        "--data",
        seeded["paths"]["health"],
        "--tls-cert",
        str(CERTS / "hub.pem"),
        "--tls-key",
        str(CERTS / "hub.key"),
    ]
    with (
        _process(hub, HUB_PORT, "reference hub", VAR / "hub" / "hub.log"),
        _process(health, HEALTH_PORT, "health SOAP service", DEMO / "health.log"),
    ):
        print(f"   reference hub on https://localhost:{HUB_PORT}/ldi/v1 (mutual TLS)")
        print(f"   health SOAP service on https://127.0.0.1:{HEALTH_PORT}/health/v1\n")
        print("2. Full feed: every source, then delivery")
        full = _cli("run", "--deliver", capture=True)
        print(_indent(full.stdout))
        print(f"3. Source changes: {_change_sources()}")
        print("   Delta feed: only what changed is queued")
        delta = _cli("run", "--deliver", capture=True)
        print(_indent(delta.stdout))
        status = _status()
    outcomes = dict(status["outcomes"])  # type: ignore[call-overload]
    print("4. Outcomes from the hub")
    for name in ("Matched", "NoMatch", "MultipleMatch", "Withdrawn", "Rejected", "Duplicate"):
        print(f"   {name:<14}{outcomes.get(name, 0):>6}")
    print(f"   work list (No Match / Multiple Match) open items: {status['worklist_open']}")
    print(f"   Stale outcomes: {status['stale']} (must be 0, TA-REL-05)")
    print("\nDone. Try: cpadapter held | cpadapter worklist | cpadapter outbox status")
    ok = full.returncode == 0 and delta.returncode == 0 and status["stale"] == 0
    return 0 if ok else 1


def _indent(text: str) -> str:
    return "\n".join(f"   {line}" for line in text.rstrip().splitlines()) + "\n"


if __name__ == "__main__":
    sys.exit(main())
