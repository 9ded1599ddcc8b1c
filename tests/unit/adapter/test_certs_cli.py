"""`cpadapter certs init`: files and fingerprints printed; nothing overwritten without --force."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from adapter.cli import main
from adapter.pki import fingerprint_pem


def test_init_prints_each_file_and_fingerprint(tmp_path: Path) -> None:
    """Every file is listed; certificate lines carry the SHA-256 fingerprint of the file."""
    target = tmp_path / "certs"
    result = CliRunner().invoke(
        main,
        [
            "certs",
            "init",
            "--dir",
            str(target),
            "--la",
            "815",
            "--source",
            "CARE815",
            "--source",
            "YTH815",
            "--rogue-ca",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 14  # 7 certificates and their keys, rogue CA included
    client_line = next(line for line in lines if line.startswith(str(target / "client.pem")))
    assert fingerprint_pem(target / "client.pem") in client_line
    assert (target / "client.key").stat().st_mode & 0o777 == 0o600
    from cryptography import x509

    subject = x509.load_pem_x509_certificate((target / "client.pem").read_bytes()).subject
    assert "OU=CARE815" in subject.rfc4514_string()
    assert "OU=YTH815" in subject.rfc4514_string()


def test_existing_files_are_not_overwritten_without_force(tmp_path: Path) -> None:
    """A second init exits 2 with one line and changes nothing; --force replaces the files."""
    runner = CliRunner()
    assert runner.invoke(main, ["certs", "init", "--dir", str(tmp_path)]).exit_code == 0
    before = (tmp_path / "ca.pem").read_bytes()
    again = runner.invoke(main, ["certs", "init", "--dir", str(tmp_path)])
    assert again.exit_code == 2
    assert len(again.stderr.strip().splitlines()) == 1
    assert "--force" in again.stderr
    assert (tmp_path / "ca.pem").read_bytes() == before
    forced = runner.invoke(main, ["certs", "init", "--dir", str(tmp_path), "--force"])
    assert forced.exit_code == 0
    assert (tmp_path / "ca.pem").read_bytes() != before


def test_invalid_la_code_is_a_usage_error(tmp_path: Path) -> None:
    """An LA code outside 201-938 exits 2 naming the problem."""
    result = CliRunner().invoke(main, ["certs", "init", "--dir", str(tmp_path), "--la", "100"])
    assert result.exit_code == 2
    assert "LA code" in result.stderr
