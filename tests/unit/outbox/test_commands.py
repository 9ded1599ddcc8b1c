"""The operator commands end to end on a SQLite store (no hub needed)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import yaml
from click.testing import CliRunner

from adapter.cli import main
from adapter.config import load_config
from outbox import migrations
from outbox.entries import enqueue
from outbox.service import open_outbox
from tests.unit.outbox.conftest import SOURCE, record


def make_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "organisation": {"la_code": "891", "name": "Test"},
                "store": {
                    "url": "sqlite:///var/store.db",
                    "encryption_key_file": "certs/store.key",
                },
                "logging": {"level": "error", "format": "json"},
            }
        )
    )
    return path


def run(*args: str) -> tuple[int, str]:
    """Exit code and standard output (logs go to standard error)."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


def test_db_upgrade_creates_store_and_key(tmp_path: Path) -> None:
    """db upgrade migrates to head and creates a 0600 key file next to the config."""
    config = make_config(tmp_path)
    code, out = run("db", "upgrade", "--config", str(config), "--json")
    assert code == 0, out
    assert json.loads(out)["to"] == migrations.head()
    assert (tmp_path / "certs" / "store.key").stat().st_mode & 0o077 == 0
    assert run("db", "current", "--config", str(config))[0] == 0


def test_commands_refuse_an_unmigrated_store(tmp_path: Path) -> None:
    """Without db upgrade, outbox status exits 2 and says what to run."""
    result = CliRunner().invoke(main, ["outbox", "status", "--config", str(make_config(tmp_path))])
    assert result.exit_code == 2 and "cpadapter db upgrade" in result.stderr


def test_status_list_show_park_retry_and_audit(tmp_path: Path) -> None:
    """The operator commands work with --json, and each action lands in a verifiable trail."""
    config_path = make_config(tmp_path)
    run("db", "upgrade", "--config", str(config_path))
    outbox = open_outbox(load_config(config_path).store, base=tmp_path)
    with outbox.engine.begin() as conn:
        enqueue(conn, outbox.keys, SOURCE, [record("A"), record("B")])
    outbox.close()
    cfg = ["--config", str(config_path), "--json"]
    mid = record("A").message_id
    assert json.loads(run("outbox", "status", *cfg)[1])["entries"]["pending"] == 2
    listed = json.loads(run("outbox", "list", *cfg)[1])["entries"]
    assert {e["source_record_id"] for e in listed} == {"A", "B"}
    shown = json.loads(run("outbox", "show", mid, *cfg)[1])
    assert shown["state"] == "pending" and shown["payload_stored"] is True
    assert "payload" not in shown
    code, out = run("outbox", "park", mid, "--reason", "checking", *cfg)
    assert code == 0 and json.loads(out)["parked"] == [mid]
    code, out = run("outbox", "retry", mid, "f" * 32, *cfg)
    assert code == 1 and json.loads(out)["refused"] == {"f" * 32: "no such entry"}
    assert run("outbox", "purge", *cfg)[0] == 0
    code, out = run("audit", "verify", *cfg)
    assert code == 0 and json.loads(out)["checked"] == 3


def test_worklist_csv_has_a_header(tmp_path: Path) -> None:
    """worklist --csv prints a header row even when the list is empty."""
    config_path = make_config(tmp_path)
    run("db", "upgrade", "--config", str(config_path))
    code, out = run("worklist", "--config", str(config_path), "--csv")
    assert code == 0
    assert next(csv.reader(io.StringIO(out)))[:3] == ["source_system", "source_record_id", "status"]


def test_keys_rotate_command(tmp_path: Path) -> None:
    """keys rotate replaces the key file's key and reports the new key id."""
    config_path = make_config(tmp_path)
    run("db", "upgrade", "--config", str(config_path))
    before = (tmp_path / "certs" / "store.key").read_text()
    code, out = run("keys", "rotate", "--config", str(config_path), "--json")
    assert code == 0, out
    assert (tmp_path / "certs" / "store.key").read_text() != before
    assert len(json.loads(out)["retired_key_ids"]) == 1


def test_audit_verify_names_the_edited_row(tmp_path: Path) -> None:
    """audit verify exits 1 and names the first broken entry after a raw edit."""
    config_path = make_config(tmp_path)
    run("db", "upgrade", "--config", str(config_path))
    run("outbox", "purge", "--config", str(config_path))
    run("outbox", "purge", "--config", str(config_path))
    with sqlite3.connect(tmp_path / "var" / "store.db") as raw:
        raw.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1")
    code, out = run("audit", "verify", "--config", str(config_path))
    assert code == 1 and "entry 1" in out
