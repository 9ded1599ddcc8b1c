"""The feed over a real SFTP drop (OpenSSH on loopback): files are put away only after commit."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import structlog
from lxml import etree

from adapter import delta as delta_module
from adapter.config import load_config
from adapter.pipeline import run_source
from demo.seed import seed_demo
from outbox import migrations
from outbox.service import open_outbox, store_engine
from tests.fixtures.sshd import SshServer
from tests.integration.pipeline.conftest import demo_sources, write_config


def test_an_sftp_drop_is_put_away_on_the_server_only_after_commit(
    sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash inside the fourth chunk's transaction leaves its files on the server; the
    re-run reads them and archives every file, over the same connection it read them with."""
    monkeypatch.chdir(tmp_path)
    seed_demo(tmp_path / "var" / "demo", children=300)
    drop = sshd.root / f"feed-{uuid.uuid4().hex[:8]}"
    drop.mkdir()
    for path in (tmp_path / "var" / "demo" / "ctf").glob("*.xml"):
        shutil.copy(path, drop / path.name)
    files = sorted(p.name for p in drop.glob("*.xml"))
    pupils = sum(len(etree.parse(str(drop / f)).findall(".//{*}Pupil")) for f in files)
    (schools,) = [s for s in demo_sources() if s["name"] == "schools"]
    schools["kind"] = "sftp"
    schools["options"] = {
        "format": "ctf",
        "pattern": "*_CTF_*.xml",
        "host": sshd.host,
        "port": sshd.port,
        "username": sshd.username,
        "private_key": str(sshd.private_key),
        "known_hosts": str(sshd.known_hosts),
        "remote_dir": str(drop),
        "stable_seconds": 0,
        "timeout_seconds": 5,
    }
    config = load_config(write_config(tmp_path, [schools]))
    engine = store_engine(config.store, base=tmp_path)
    migrations.upgrade(engine)
    engine.dispose()
    outbox = open_outbox(config.store, base=tmp_path)
    source = config.source("schools")
    real_save = delta_module.save_state
    calls = {"n": 0}

    def crashing_save(*args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("injected crash before commit")
        return real_save(*args, **kwargs)  # type: ignore[arg-type]

    try:
        monkeypatch.setattr("adapter.pipeline.CHUNK_SIZE", 20)
        monkeypatch.setattr(delta_module, "save_state", crashing_save)
        with pytest.raises(RuntimeError, match="injected"):
            run_source(config, source, outbox, base=tmp_path, state_root=tmp_path / "state")
        left = sorted(p.name for p in drop.glob("*.xml"))
        assert 0 < len(left) < len(files)
        monkeypatch.setattr(delta_module, "save_state", real_save)
        run = run_source(config, source, outbox, base=tmp_path, state_root=tmp_path / "state")
    finally:
        outbox.close()
        structlog.reset_defaults()
    assert run.status == "ok", run.error_message
    assert not list(drop.glob("*.xml"))
    assert sorted(p.name for p in (drop / "archive").glob("*.xml")) == files
    assert 3 * 20 + run.counts.read >= pupils  # nothing lost
