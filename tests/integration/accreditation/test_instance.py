"""`cpadapter accredit instance` on a demo installation, and the failures it must explain.

The installation: demo sources seeded into a temporary folder (social care and youth
databases), fresh certificates and a reference hub from the type harness (the hub plays the
accreditation endpoint), a migrated store with a private key file. About 15 s in all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from click.testing import CliRunner

from adapter.accreditation.harness import TypeHarness, type_harness
from adapter.accreditation.instance_run import run_instance_checks
from adapter.accreditation.results import Status
from adapter.cli import main
from adapter.config import load_config
from adapter.pki import issue_client_certificate
from demo.seed import seed_demo
from outbox import migrations
from outbox.crypto import encode_key, generate_key
from outbox.service import store_engine

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Installation:
    directory: Path
    harness: TypeHarness
    document: dict[str, Any]

    def write(self, name: str, document: dict[str, Any] | None = None) -> Path:
        path = self.directory / name
        path.write_text(yaml.safe_dump(document or self.document, sort_keys=False))
        return path


def _sources(demo: Path) -> list[dict[str, Any]]:
    committed = yaml.safe_load((REPO / "config.yaml").read_text())["sources"]
    chosen = [s for s in committed if s["name"] in ("frameworki", "raise")]
    for source in chosen:
        source["mapping"] = str(REPO / source["mapping"])
        source["options"]["url"] = f"sqlite:///{demo / (source['name'] + '.db')}"
    return chosen


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    directory = tmp_path_factory.mktemp("installation")
    seed_demo(directory / "demo", children=120)
    with type_harness() as harness:
        key = directory / "store.key"
        key.write_text(encode_key(generate_key()) + "\n")
        key.chmod(0o600)
        document: dict[str, Any] = {
            "organisation": {"la_code": "891", "name": "Accreditation test authority"},
            "store": {"url": "sqlite:///store.db", "encryption_key_file": "store.key"},
            "sources": _sources(directory / "demo"),
            "delivery": harness.delivery_settings(),
            "logging": {"level": "warning", "format": "json"},
            "accreditation": {"endpoint": harness.endpoint, "sample_per_source": 5},
        }
        site = Installation(directory, harness, document)
        config = load_config(site.write("config.yaml"))
        engine = store_engine(config.store, base=directory)
        migrations.upgrade(engine)
        engine.dispose()
        (directory / "store.db").chmod(0o600)
        yield site
    structlog.reset_defaults()


def test_instance_accreditation_passes_on_the_demo_installation(
    installation: Installation, tmp_path: Path
) -> None:
    """Every IA check passes (DQ as the data quality module judges it); the pack verifies."""
    out = tmp_path / "pack"
    result = CliRunner().invoke(
        main,
        [
            "accredit",
            "instance",
            "--config",
            str(installation.directory / "config.yaml"),
            "--out",
            str(out),
        ],
    )
    data = json.loads((out / "results.json").read_text())
    statuses = {r["check_id"]: (r["status"], r["message"]) for r in data["results"]}
    assert result.exit_code == 0, statuses
    assert all(s == "pass" for s, _ in statuses.values()), statuses
    assert len(statuses) == 12
    assert CliRunner().invoke(main, ["accredit", "verify", str(out)]).exit_code == 0
    coverage = next(r for r in data["results"] if r["check_id"] == "IA-MAP-01")
    assert "Child/BirthDate" not in coverage["message"]


def only(path: Path, check_id: str) -> tuple[Status, str]:
    run, _ = run_instance_checks(path, only={check_id})
    [result] = run.results
    return result.status, result.message


def test_an_expired_client_certificate_fails_ia_crt_01(installation: Installation) -> None:
    pki = installation.harness.pki
    now = datetime.now(UTC)
    cert, key = issue_client_certificate(
        installation.directory,
        pki / "ca.pem",
        pki / "ca.key",
        name="expired",
        la_code="891",
        source_systems=("FWK891",),
        not_before=now - timedelta(days=400),
        not_after=now - timedelta(days=1),
        force=True,
    )
    document = json.loads(json.dumps(installation.document))
    document["delivery"]["tls"].update(client_certificate=str(cert), client_key=str(key))
    status, message = only(installation.write("expired.yaml", document), "IA-CRT-01")
    assert status is Status.FAIL
    assert "expired on" in message and "request a new one" in message


def test_a_certificate_near_expiry_fails_ia_crt_01(installation: Installation) -> None:
    pki = installation.harness.pki
    now = datetime.now(UTC)
    cert, key = issue_client_certificate(
        installation.directory,
        pki / "ca.pem",
        pki / "ca.key",
        name="soon",
        la_code="891",
        source_systems=("FWK891",),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=10),
        force=True,
    )
    document = json.loads(json.dumps(installation.document))
    document["delivery"]["tls"].update(client_certificate=str(cert), client_key=str(key))
    status, message = only(installation.write("soon.yaml", document), "IA-CRT-01")
    assert status is Status.FAIL
    assert "renew it now" in message


def test_a_wrong_database_password_fails_ia_con_01(
    installation: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MariaDB source with a wrong password: the message names the source and the cause."""
    monkeypatch.setenv("CPA_ACCREDIT_DB_PASSWORD", "not-the-password")
    document = json.loads(json.dumps(installation.document))
    source = document["sources"][0]
    source["options"]["url"] = (
        "mariadb+pymysql://root:${CPA_ACCREDIT_DB_PASSWORD}@127.0.0.1:3306/mysql"
    )
    status, message = only(installation.write("password.yaml", document), "IA-CON-01")
    assert status is Status.FAIL
    assert message.startswith("frameworki: ")
    assert "not-the-password" not in message
    assert "credentials" in message


def test_a_plain_text_password_fails_ia_cfg_01(installation: Installation) -> None:
    document = json.loads(json.dumps(installation.document))
    document["sources"][0]["options"]["url"] = "mariadb+pymysql://root:hunter2@127.0.0.1/x"
    status, message = only(installation.write("plain.yaml", document), "IA-CFG-01")
    assert status is Status.FAIL
    assert "sources[0].options.url" in message and "hunter2" not in message


def test_a_mapping_leaving_a_mandatory_item_empty_fails_ia_map_01(
    installation: Installation,
) -> None:
    mapping = (REPO / "mappings" / "frameworki.yaml").read_text()
    lines = [line for line in mapping.splitlines() if "Child.Name.FamilyName" not in line]
    broken = installation.directory / "frameworki-broken.yaml"
    broken.write_text("\n".join(lines) + "\n")
    document = json.loads(json.dumps(installation.document))
    document["sources"][0]["mapping"] = str(broken)
    status, message = only(installation.write("mapping.yaml", document), "IA-MAP-01")
    assert status is Status.FAIL, message
    assert "leaves Child/Name/FamilyName empty in all 5 sampled records" in message
    assert "GivenName" not in message and "map a source column to it" in message
