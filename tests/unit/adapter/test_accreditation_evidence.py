"""Evidence packs: manifest verification, detached signatures, redaction, JUnit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from adapter.accreditation.evidence import verify_pack, write_pack
from adapter.accreditation.junit import junit_xml
from adapter.accreditation.redact import redact_xml
from adapter.accreditation.results import CheckResult, Exchange, Run, Status
from adapter.cli import main

REQUEST = (
    b'<SubmissionBatch xmlns="urn:contactpoint:ldi:1" batchId="b1" sourceSystem="FWK891">'
    b'<Record messageId="m1" action="Upsert" version="1"><SourceRecordId>S1</SourceRecordId>'
    b"<Child><Name><GivenName>Quentinella</GivenName><FamilyName>Zarquon</FamilyName></Name>"
    b"<NHSNumber>9434765919</NHSNumber></Child></Record></SubmissionBatch>"
)
RESPONSE = (
    b'<BatchOutcome xmlns="urn:contactpoint:ldi:1" batchId="b1" status="Complete">'
    b'<RecordOutcome messageId="m1" status="Rejected"><ContactPointId>CP3000000011</ContactPointId>'
    b"<Breach><Rule>BR-05</Rule><Path>Child/NHSNumber</Path><Message>m</Message></Breach>"
    b"</RecordOutcome></BatchOutcome>"
)


def a_run() -> Run:
    return Run(
        "type",
        "2026-11-21T23:00:00+00:00",
        "2026-11-21T23:01:00+00:00",
        [
            CheckResult("TA-SCH-01", Status.PASS, "valid", 0.5),
            CheckResult("TA-REL-01", Status.FAIL, "early retry", 1.5),
            CheckResult("TA-TRN-04", Status.SKIP, "no sshd", 0.0),
            CheckResult("TA-THR-01", Status.ERROR, "the harness broke", 0.1),
        ],
        profile="fast",
    )


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "pack", a_run(), [Exchange("SubmitBatch", REQUEST, RESPONSE, 0)])


def pack_files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_a_fresh_pack_verifies(pack: Path) -> None:
    """Every file of a pack just written matches its manifest."""
    assert set(pack_files(pack)) >= {
        "report.html",
        "junit.xml",
        "results.json",
        "manifest.json",
        "exchanges/0001-SubmitBatch-request.xml",
        "exchanges/0001-SubmitBatch-response.xml",
    }
    assert verify_pack(pack).ok


def test_editing_any_file_makes_verify_fail(tmp_path: Path) -> None:
    """One byte appended to any file (the manifest included) fails verify, naming that file."""
    names = pack_files(write_pack(tmp_path / "probe", a_run(), []))
    for index, name in enumerate(names):
        directory = write_pack(tmp_path / f"p{index}", a_run(), [])
        with (directory / name).open("ab") as handle:
            handle.write(b" ")
        result = verify_pack(directory)
        assert not result.ok, name
        if name != "manifest.json":
            assert result.message.startswith(name), result.message


def test_added_and_removed_files_fail(pack: Path) -> None:
    (pack / "extra.txt").write_text("x")
    assert "extra.txt" in verify_pack(pack).message
    (pack / "extra.txt").unlink()
    (pack / "junit.xml").unlink()
    assert verify_pack(pack).message.startswith("junit.xml: listed in the manifest but missing")


def test_verify_command_exit_codes(pack: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["accredit", "verify", str(pack)]).exit_code == 0
    (pack / "results.json").write_text("{}")
    broken = runner.invoke(main, ["accredit", "verify", str(pack)])
    assert broken.exit_code == 1
    assert "results.json" in broken.output


def _key_and_cert(tmp_path: Path, kind: str, name: str) -> tuple[Path, Path]:
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_signature_verifies_with_the_right_certificate_only(tmp_path: Path, kind: str) -> None:
    """A signed pack verifies with the signer's certificate; another key or an edit fails."""
    key, cert = _key_and_cert(tmp_path, kind, "org")
    _, other = _key_and_cert(tmp_path, kind, "other")
    pack = write_pack(tmp_path / "pack", a_run(), [], sign_key=key)
    assert (pack / "manifest.sig").is_file()
    assert verify_pack(pack, cert=cert).ok
    assert not verify_pack(pack, cert=other).ok
    manifest = pack / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"fast"', b'"full"') + b" ")
    assert not verify_pack(pack, cert=cert).ok


def test_unsigned_pack_fails_signature_check(pack: Path, tmp_path: Path) -> None:
    _, cert = _key_and_cert(tmp_path, "ec", "org")
    result = verify_pack(pack, cert=cert)
    assert not result.ok
    assert "not signed" in result.message


def test_exchanges_keep_ids_and_codes_but_no_personal_data(pack: Path) -> None:
    """Names, identifiers and ContactPoint ids are redacted; messageId, rule ids stay."""
    request = (pack / "exchanges" / "0001-SubmitBatch-request.xml").read_bytes()
    response = (pack / "exchanges" / "0001-SubmitBatch-response.xml").read_bytes()
    for secret in (b"Quentinella", b"Zarquon", b"9434765919", b"CP3000000011", b"S1<"):
        assert secret not in request + response
    assert b'messageId="m1"' in request
    assert b"<Rule>BR-05</Rule>" in response
    assert b"<GivenName>[redacted]</GivenName>" in request
    assert redact_xml(b"<!DOCTYPE x><x/>") == b"[redacted]"


def test_junit_has_one_case_per_check_with_the_right_element() -> None:
    root = etree.fromstring(junit_xml(a_run()))
    suite = root[0]
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == ("4", "1", "1", "1")
    kinds = {case.get("name"): [child.tag for child in case] for case in suite}
    assert kinds == {
        "TA-SCH-01": ["system-out"],
        "TA-REL-01": ["failure"],
        "TA-TRN-04": ["skipped"],
        "TA-THR-01": ["error"],
    }


def test_error_is_a_verdict_of_its_own() -> None:
    """A broken harness never reads as pass; a failed check outranks it."""
    run = a_run()
    assert run.verdict is Status.FAIL
    without_fail = Run("type", "s", "e", [r for r in run.results if r.status is not Status.FAIL])
    assert without_fail.verdict is Status.ERROR


def test_verify_command_checks_the_signature(tmp_path: Path) -> None:
    """`accredit verify --cert`: 0 with the signer's certificate, 1 with another."""
    key, cert = _key_and_cert(tmp_path, "ec", "org")
    _, other = _key_and_cert(tmp_path, "ec", "other")
    pack = write_pack(tmp_path / "pack", a_run(), [], sign_key=key)
    runner = CliRunner()
    good = runner.invoke(main, ["accredit", "verify", str(pack), "--cert", str(cert)])
    assert good.exit_code == 0, good.output
    assert "signature verified" in good.output
    bad = runner.invoke(main, ["accredit", "verify", str(pack), "--cert", str(other)])
    assert bad.exit_code == 1
    assert "signature does not match" in bad.output
