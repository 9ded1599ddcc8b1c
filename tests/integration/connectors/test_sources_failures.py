"""`cpadapter sources test` with three kinds of broken source beside a good one (issue 4).

A changed SFTP host key, a wrong database password and an unreachable SOAP endpoint each give
one clear line naming the source and its error code; the good source still runs; no traceback.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from click.testing import CliRunner

from adapter.cli import main
from tests.fixtures.databases import DatabaseFactory, load_demo
from tests.fixtures.sshd import SshServer
from tests.integration.connectors.sql_support import example_options


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in a scratch directory; undo the CLI's logging set-up afterwards."""
    monkeypatch.chdir(tmp_path)
    yield
    structlog.reset_defaults()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _examples(name: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[3] / "examples" / name
    return {s["name"]: s for s in yaml.safe_load(root.read_text())["sources"]}


def test_each_broken_source_gets_one_line_and_the_good_one_runs(
    tmp_path: Path,
    sshd: SshServer,
    database_factory: DatabaseFactory,
    demo_children: list[Any],
) -> None:
    """Host key changed, wrong password, SOAP unreachable: three FAIL lines, one OK, exit 1."""
    good = load_demo(database_factory, "sqlite", demo_children[:40], "failures")
    user = database_factory.mariadb_user("right-password")
    drop = sshd.root / "failures-drop"
    drop.mkdir(exist_ok=True)
    soap = _examples("sources-soap.yaml")["health"]
    soap_options = {
        k: v
        for k, v in soap["options"].items()
        if k not in ("username", "password", "ca_bundle", "client_certificate", "client_key")
    }
    soap_options |= {
        "wsdl": f"http://127.0.0.1:{_closed_port()}/health/v1?wsdl",
        "connect_timeout_seconds": 2,
        "read_timeout_seconds": 2,
    }
    sources = [
        {
            "name": "frameworki",
            "kind": "sql",
            "source_system": "FWK891",
            "options": example_options("frameworki") | {"url": good.frameworki_url},
        },
        {
            "name": "raise",
            "kind": "sql",
            "source_system": "RAISE891",
            "options": example_options("raise")
            | {"url": f"mariadb+pymysql://{user}:wrong-password@127.0.0.1:3306/test"},
        },
        {
            "name": "schools",
            "kind": "sftp",
            "source_system": "MIS891",
            "options": {
                "format": "ctf",
                "pattern": "*.xml",
                "host": sshd.host,
                "port": sshd.port,
                "username": sshd.username,
                "private_key": str(sshd.private_key),
                "known_hosts": str(sshd.known_hosts),
                "remote_dir": str(drop),
            },
        },
        {"name": "health", "kind": "soap", "source_system": "CHIS891", "options": soap_options},
    ]
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"organisation": {"la_code": "891", "name": "T"}, "sources": sources})
    )
    with sshd.rotated_host_key():
        result = CliRunner().invoke(main, ["sources", "test", "--config", str(config)])
    lines = result.output.splitlines()
    assert result.exit_code == 1, result.output
    assert len(lines) == 4, result.output
    by_source = {line.split()[0]: line for line in lines}
    assert " OK " in by_source["frameworki"]
    assert "[SRC-AUTH] source 'raise'" in by_source["raise"]
    assert "[SRC-HOSTKEY] source 'schools'" in by_source["schools"]
    assert "[SRC-CONNECT] source 'health'" in by_source["health"]
    assert "Traceback" not in result.output
    assert "wrong-password" not in result.output
