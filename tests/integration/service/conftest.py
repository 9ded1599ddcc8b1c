"""A seeded demo authority, a reference hub subprocess and `cpadapter serve` subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import structlog
import yaml
from sqlalchemy import create_engine, select

from adapter.config import load_config
from demo.seed import seed_demo
from outbox import migrations
from outbox.service import store_engine
from outbox.store import entries, outcomes, source_runs
from tests.fixtures.hub import (
    LA,
    SECOND_SOURCE,
    SOURCE,
    HubPki,
    free_port,
    wait_until_serving,
    write_hub_yaml,
)

REPO = Path(__file__).resolve().parents[3]
#: Every two seconds (six cron fields, seconds first).
EVERY_2S = "*/2 * * * * *"


@dataclass
class HubProcess:
    url: str
    store: Path
    process: subprocess.Popen[bytes]

    def applied(self) -> list[tuple[str, str]]:
        """(messageId, status) of every record outcome the hub recorded, in order."""
        engine = create_engine(f"sqlite:///{self.store}")
        try:
            with engine.connect() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT message_id, status FROM record_outcomes ORDER BY batch_seq, position"
                ).all()
        finally:
            engine.dispose()
        return [(str(m), str(s)) for m, s in rows]


@pytest.fixture
def hub_process(hub_pki: HubPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A fresh reference hub per test (own store) in a subprocess, on a free loopback port."""
    root = tmp_path_factory.mktemp("service-hub")
    port = free_port()
    config = root / "hub.yaml"
    store = root / "hub.db"
    write_hub_yaml(config, hub_pki, store_url=f"sqlite:///{store}", drop=root / "drop", port=port)
    log = (root / "hub.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "adapter", "hub", "serve", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"https://localhost:{port}"
    try:
        wait_until_serving(url, hub_pki)
        yield HubProcess(url, store, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Authority:
    """A demo authority in ``root`` with a config.yaml for `cpadapter serve`."""

    root: Path
    config: Path
    children: list[str] = field(default_factory=list)

    @property
    def store(self) -> Path:
        return self.root / "var" / "store.db"

    def engine(self) -> Any:
        return create_engine(f"sqlite:///{self.store}")

    def runs(self) -> list[dict[str, Any]]:
        """Every source run recorded, oldest first."""
        engine = self.engine()
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(source_runs).order_by(source_runs.c.started_at)).all()
        finally:
            engine.dispose()
        return [dict(r._mapping) for r in rows]

    def progress_report(self) -> str:
        """Runs, outbox states and the end of the service's log: what a timed-out wait shows."""
        runs = [(r["source"], r["status"], r["error_code"]) for r in self.runs()]
        states = Counter(self.entry_states().values())
        log_path = self.root / "serve.log"
        tail = log_path.read_text(errors="replace").splitlines()[-40:] if log_path.exists() else []
        return "\n".join([f"runs: {runs}", f"outbox: {dict(states)}", "serve.log:", *tail])

    def entry_states(self) -> dict[str, str]:
        """messageId -> state of every outbox entry."""
        engine = self.engine()
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(entries.c.message_id, entries.c.state)).all()
        finally:
            engine.dispose()
        return {str(m): str(s) for m, s in rows}

    def outcome_statuses(self) -> dict[str, str]:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(outcomes.c.message_id, outcomes.c.status)).all()
        finally:
            engine.dispose()
        return {str(m): str(s) for m, s in rows}

    def serve(self) -> Served:
        """Start `cpadapter serve` on this config; returns once /healthz answers."""
        port_file = self.root / "var" / "service.port"
        port_file.unlink(missing_ok=True)
        log = (self.root / "serve.log").open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "adapter", "serve", "--config", str(self.config)],
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"serve exited early ({process.returncode}): {self.log_tail()}")
            if port_file.is_file() and port_file.read_text().strip():
                url = f"http://127.0.0.1:{int(port_file.read_text())}"
                try:
                    if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                        return Served(process, url)
                except requests.RequestException:
                    pass
            time.sleep(0.1)
        process.kill()
        pytest.fail(f"serve did not start: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.root / "serve.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds it took)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_for(
    predicate: Any,
    timeout: float,
    what: str,
    interval: float = 0.2,
    state: Callable[[], str] | None = None,
) -> None:
    """Poll ``predicate`` until true, or fail naming ``what`` (and showing ``state()``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}" + (f"\n{state()}" if state else ""))


def make_authority(
    root: Path,
    pki: HubPki,
    hub: HubProcess,
    *,
    schedule: str = EVERY_2S,
    rate: float | None = None,
    batch_size: int = 1000,
    grace: float = 10.0,
    extra: dict[str, Any] | None = None,
    broken_source: bool = False,
    more_sources: list[dict[str, Any]] | None = None,
) -> Authority:
    """Seed 120 demo children in ``root``; config: frameworki (SQL) + schools (CTF)."""
    seed_demo(root / "var" / "demo", children=120)
    committed = yaml.safe_load((REPO / "config.yaml").read_text())["sources"]
    sources = []
    for source in committed:
        if source["name"] not in ("frameworki", "schools"):
            continue
        source["mapping"] = str(REPO / source["mapping"])
        source["schedule"] = schedule
        # The test hub registers the client for FWK891 and SCH891.
        source["source_system"] = SOURCE if source["name"] == "frameworki" else SECOND_SOURCE
        sources.append(source)
    if broken_source:  # its database does not exist: every run fails with SRC-CONNECT
        sources.append(
            {
                "name": "broken",
                "kind": "sql",
                "source_system": "RAISE891",
                "mapping": str(REPO / "mappings" / "raise.yaml"),
                "schedule": schedule,
                "options": {
                    "url": "sqlite:///var/demo/missing.db",
                    "table": "young_person",
                    "columns": ["yp_id"],
                    "key": "yp_id",
                },
            }
        )
    sources += more_sources or []
    config: dict[str, Any] = {
        "organisation": {"la_code": LA, "name": "Test authority"},
        "store": {"url": "sqlite:///var/store.db", "encryption_key_file": "certs/store.key"},
        "sources": sources,
        "delivery": {
            "endpoint": f"{hub.url}/ldi/v1",
            "tls": {
                "client_certificate": str(pki.client[0]),
                "client_key": str(pki.client[1]),
                "ca_bundle": str(pki.ca),
            },
            "batch_size": batch_size,
            "poll_interval_seconds": 0.2,
            "rate": {"start_per_second": rate} if rate else {},
        },
        "logging": {"level": "info", "format": "json"},
        "service": {"port": 0, "port_file": "var/service.port", "grace_seconds": grace},
        **(extra or {}),
    }
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    loaded = load_config(path)
    engine = store_engine(loaded.store, base=root)
    migrations.upgrade(engine)
    engine.dispose()
    structlog.reset_defaults()
    demo = create_engine(f"sqlite:///{root / 'var' / 'demo' / 'frameworki.db'}")
    try:
        with demo.connect() as conn:
            people = conn.exec_driver_sql(
                "SELECT forename, surname FROM person WHERE person_type = 'CLIENT' LIMIT 20"
            ).all()
    finally:
        demo.dispose()
    return Authority(root, path, children=[f"{f} {s}" for f, s in people])


def parse_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An HTTP receiver on loopback that keeps every JSON body POSTed to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            body["_auth"] = self.headers.get("Authorization")
            received.append(body)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hanging_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung source system)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()
