"""sftp connector against a real OpenSSH server: reads, archives, quarantines, pins the host key."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ConnectorContext, ReadReport, SourceRecord
from connectors.sftp import SftpConfig, SftpConnector
from ldi.errors import SourceError
from tests.fixtures.sshd import SshServer
from tests.unit.connectors.file_samples import XXE_CTF, ctf_files, truncated


def make(server: SshServer, drop: Path, state: Path, **changes: Any) -> SftpConnector:
    options: dict[str, Any] = {
        "format": "ctf",
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "private_key": str(server.private_key),
        "known_hosts": str(server.known_hosts),
        "remote_dir": str(drop),
        "stable_seconds": 0.2,
        "timeout_seconds": 5,
    }
    options.update(changes)
    context = ConnectorContext(source_name="school-mis", state_dir=state)
    return SftpConnector(SftpConfig.model_validate(options), context)


def run(connector: SftpConnector) -> tuple[list[SourceRecord], ReadReport]:
    report = ReadReport()
    try:
        return list(connector.read(report)), report
    finally:
        connector.close()


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


@pytest.fixture
def drop(sshd: SshServer) -> Path:
    """A fresh drop folder on the server."""
    folder = sshd.root / f"drop-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Demo CTF files for 120 children."""
    return ctf_files(tmp_path_factory.mktemp("ctf"), 120)


def test_reads_complete_files_archives_them_and_never_rereads(
    sshd: SshServer, drop: Path, made: list[Path], tmp_path: Path
) -> None:
    """Complete files are read and archived on the server; *.part is left; a re-drop is not read."""
    for path in made[:2]:
        shutil.copy(path, drop / path.name)
    shutil.copy(made[2], drop / (made[2].name + ".part"))
    state = tmp_path / "state"
    records, report = run(make(sshd, drop, state))
    assert len(records) == sum(p.read_bytes().count(b"<Pupil>") for p in made[:2])
    assert {r.provenance.origin for r in records} == {made[0].name, made[1].name}
    assert report.quarantined == []
    assert names(drop / "archive") == {made[0].name, made[1].name}
    assert names(drop) == {"archive", "quarantine", made[2].name + ".part"}
    assert not list((state / "work").iterdir())  # downloaded copies are gone

    shutil.copy(made[0], drop / made[0].name)
    again, _ = run(make(sshd, drop, state))
    assert again == []
    assert made[0].stem + ".1.xml" in names(drop / "archive")


def test_bad_files_are_quarantined_with_reason_files(
    sshd: SshServer, drop: Path, made: list[Path], tmp_path: Path
) -> None:
    """Truncated and XXE files go to quarantine/ with reason files; the good file is read."""
    shutil.copy(made[0], drop / made[0].name)
    truncated(made[1], drop / "cut.xml")
    (drop / "xxe.xml").write_bytes(XXE_CTF)
    records, report = run(make(sshd, drop, tmp_path / "state"))
    assert len(records) == made[0].read_bytes().count(b"<Pupil>")
    assert {q.origin: q.code for q in report.quarantined} == {
        "cut.xml": "SRC-NOT-WELL-FORMED",
        "xxe.xml": "SRC-UNSAFE-XML",
    }
    assert names(drop / "quarantine") == {
        "cut.xml",
        "cut.xml.reason.txt",
        "xxe.xml",
        "xxe.xml.reason.txt",
    }
    assert (
        "reason: xxe.xml: line 2: document declares a DTD"
        in (drop / "quarantine" / "xxe.xml.reason.txt").read_text()
    )
    assert "reason: cut.xml: line " in (drop / "quarantine" / "cut.xml.reason.txt").read_text()
    assert names(drop / "archive") == {made[0].name}


def test_changed_host_key_is_refused_naming_the_source(
    sshd: SshServer, drop: Path, made: list[Path], tmp_path: Path
) -> None:
    """After the server's host key changes, the connector refuses to connect (SRC-HOSTKEY)."""
    shutil.copy(made[0], drop / made[0].name)
    with sshd.rotated_host_key(), pytest.raises(SourceError) as caught:
        run(make(sshd, drop, tmp_path / "state"))
    assert caught.value.code == "SRC-HOSTKEY"
    assert str(caught.value).startswith("[SRC-HOSTKEY] source 'school-mis': host key of ")
    assert "CHANGED" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert names(drop) == {made[0].name}  # nothing read, nothing moved


def test_unknown_host_is_refused(sshd: SshServer, drop: Path, tmp_path: Path) -> None:
    """A server not pinned in known_hosts is refused, never added."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(SourceError) as caught:
        run(make(sshd, drop, tmp_path / "state", known_hosts=str(empty)))
    assert caught.value.code == "SRC-HOSTKEY"
    assert "is not pinned in" in str(caught.value)
    assert empty.read_text() == ""


def test_key_not_authorised_is_one_auth_error(sshd: SshServer, drop: Path, tmp_path: Path) -> None:
    """A key the server does not accept gives SRC-AUTH naming the user and server."""
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    with pytest.raises(SourceError) as caught:
        run(make(sshd, drop, tmp_path / "state", private_key=str(other)))
    assert caught.value.code == "SRC-AUTH"
    assert f"as {sshd.username} to 127.0.0.1:{sshd.port} failed" in str(caught.value)


def test_nothing_listening_is_one_connect_error(
    sshd: SshServer, drop: Path, tmp_path: Path
) -> None:
    """A closed port gives SRC-CONNECT naming the server."""
    from tests.fixtures.sshd import _free_port

    port = _free_port()
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts.read_text().replace(str(sshd.port), str(port)))
    with pytest.raises(SourceError) as caught:
        run(make(sshd, drop, tmp_path / "state", port=port, known_hosts=str(known)))
    assert caught.value.code == "SRC-CONNECT"
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_traversal_names_on_the_server_are_refused(
    sshd: SshServer, drop: Path, made: list[Path], tmp_path: Path
) -> None:
    """A listed name with a backslash path or control character is refused: not read, not moved."""
    shutil.copy(made[0], drop / made[0].name)
    shutil.copy(made[1], drop / "..\\..\\evil.xml")
    shutil.copy(made[1], drop / "line\nbreak.xml")
    records, report = run(make(sshd, drop, tmp_path / "state"))
    assert {r.provenance.origin for r in records} == {made[0].name}
    refused = [q for q in report.quarantined if q.code == "SRC-PATH"]
    assert len(refused) == 2
    assert all(q.moved_to is None for q in refused)
    assert {"..\\..\\evil.xml", "line\nbreak.xml"} <= names(drop)


def test_sample_connects_and_reads_without_moving(
    sshd: SshServer, drop: Path, made: list[Path], tmp_path: Path
) -> None:
    """sample() over SFTP returns records and leaves the server untouched."""
    shutil.copy(made[0], drop / made[0].name)
    connector = make(sshd, drop, tmp_path / "state")
    assert len(connector.sample(2)) == 2
    connector.close()
    assert names(drop) == {made[0].name}


def test_missing_remote_folder_is_one_list_error(sshd: SshServer, tmp_path: Path) -> None:
    """A remote_dir that does not exist gives SRC-LIST naming the server folder."""
    with pytest.raises(SourceError) as caught:
        run(make(sshd, sshd.root / "no-such-folder", tmp_path / "state"))
    assert caught.value.code == "SRC-LIST"
    assert "cannot list the drop folder on sftp://" in str(caught.value)
