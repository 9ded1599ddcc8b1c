"""Development PKI (adapter.pki): files, extensions, fingerprints and a real mutual-TLS handshake.

The handshake tests use Python's ``ssl`` module on loopback only (127.0.0.1, an ephemeral port)
with the generated files, exactly as the adapter (client) and reference hub (server) will.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    ClientVerifier,
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from adapter.pki import (
    CA_CERT,
    CA_KEY,
    CLIENT_CERT,
    CLIENT_KEY,
    HUB_CERT,
    HUB_KEY,
    HUB_WRONGHOST_CERT,
    HUB_WRONGHOST_KEY,
    ROGUE_CA_CERT,
    ROGUE_CA_KEY,
    ROGUE_CLIENT_CERT,
    ROGUE_CLIENT_KEY,
    ROGUE_HUB_CERT,
    ROGUE_HUB_KEY,
    WRONG_HOST,
    PkiError,
    PkiExistsError,
    PkiResult,
    certificate_fingerprint,
    fingerprint_der,
    fingerprint_pem,
    init_dev_pki,
    issue_client_certificate,
)
from ldi.errors import ContactPointError

BASE_FILES = {
    CA_CERT,
    CA_KEY,
    HUB_CERT,
    HUB_KEY,
    CLIENT_CERT,
    CLIENT_KEY,
    HUB_WRONGHOST_CERT,
    HUB_WRONGHOST_KEY,
}
ROGUE_FILES = {
    ROGUE_CA_CERT,
    ROGUE_CA_KEY,
    ROGUE_CLIENT_CERT,
    ROGUE_CLIENT_KEY,
    ROGUE_HUB_CERT,
    ROGUE_HUB_KEY,
}
TIMEOUT = 5.0
X509_V_ERR_CERT_HAS_EXPIRED = 10
X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN = 19
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
# The server's OpenSSL completes its chain from its trust store, so a client trusting another CA
# sees the real CA as an untrusted self-signed root (19); with no CA sent it would be 20.
UNTRUSTED_ISSUER = {
    X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
}
X509_V_ERR_HOSTNAME_MISMATCH = 62


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PkiResult:
    """One full PKI (with rogue CA) shared by the read-only tests of this module."""
    return init_dev_pki(tmp_path_factory.mktemp("pki") / "certs", rogue_ca=True)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Run with umask 000 so that only the code's own modes can keep keys private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _server_policy(ca: x509.Certificate) -> PolicyBuilder:
    """cryptography's webpki verifier trusting only ``ca``, at the current time."""
    return PolicyBuilder().store(Store([ca])).time(datetime.now(UTC))


def _client_verifier(ca: x509.Certificate) -> ClientVerifier:
    """A webpki client verifier trusting only ``ca``, at the current time.

    Client certificates carry no SAN (the hub identifies them by fingerprint, LDI-TRN-03), which
    the webpki end-entity defaults demand; that one requirement is relaxed, nothing else.
    """
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    return (
        _server_policy(ca)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
        .build_client_verifier()
    )


# --------------------------------------------------------------------------- files and modes


@pytest.mark.usefixtures("permissive_umask")
def test_files_created_with_private_key_modes(tmp_path: Path) -> None:
    """Even under umask 000 every key is 0600, every certificate 0644, and no temp file is left."""
    result = init_dev_pki(tmp_path / "certs", rogue_ca=True)
    on_disk = {p.name for p in (tmp_path / "certs").iterdir()}
    assert on_disk == BASE_FILES | ROGUE_FILES
    assert {f.name for f in result.files} == on_disk
    for entry in result.files:
        expected = 0o600 if entry.name.endswith(".key") else 0o644
        assert _mode(entry.path) == expected, entry.name
        assert entry.mode == expected
        assert entry.kind == ("private-key" if entry.name.endswith(".key") else "certificate")


def test_rogue_files_only_on_request(tmp_path: Path) -> None:
    """Without rogue_ca only the CA, hub, client and wrong-host pairs are written."""
    result = init_dev_pki(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == BASE_FILES
    assert {f.name for f in result.files} == BASE_FILES


def test_keys_are_unencrypted_pkcs8_p256_matching_their_certificates(pki: PkiResult) -> None:
    """Each .key is an unencrypted PKCS#8 P-256 key whose public half is in the matching .pem."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    for cert_entry in pki.certificates:
        key_path = cert_entry.path.with_suffix(".key")
        data = key_path.read_bytes()
        key = serialization.load_pem_private_key(data, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        pkcs8 = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        assert data == pkcs8  # written as unencrypted PKCS#8, not SEC1 or encrypted
        assert key.curve.name == "secp256r1"
        cert_key = _cert(cert_entry.path).public_key()
        assert cert_key.public_bytes(*spki) == key.public_key().public_bytes(*spki)


# --------------------------------------------------------------------------- extensions, chains


def test_ca_is_a_signing_only_ca(pki: PkiResult) -> None:
    """ca.pem is self-signed, CA=true (critical), keyCertSign+cRLSign only, with SKI."""
    ca = _cert(pki.path(CA_CERT))
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "ContactPoint Adapter Development CA"
    )
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(ca.public_key())


def test_hub_certificate_verifies_against_ca_for_its_sans(pki: PkiResult) -> None:
    """hub.pem chains to ca.pem for DNS localhost and IP 127.0.0.1 (an IP SAN), EKU serverAuth."""
    ca, hub = _cert(pki.path(CA_CERT)), _cert(pki.path(HUB_CERT))
    san = hub.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    eku = hub.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    aki = hub.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    for name in (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))):
        chain = _server_policy(ca).build_server_verifier(name).verify(hub, [])
        assert chain[-1] == ca


def test_hub_certificate_from_other_ca_does_not_verify(pki: PkiResult) -> None:
    """hub.pem fails against rogue-ca.pem, and rogue-hub.pem (same SANs) fails against ca.pem."""
    localhost = x509.DNSName("localhost")
    rogue_ca = _cert(pki.path(ROGUE_CA_CERT))
    with pytest.raises(VerificationError):
        _server_policy(rogue_ca).build_server_verifier(localhost).verify(
            _cert(pki.path(HUB_CERT)), []
        )
    ca = _cert(pki.path(CA_CERT))
    with pytest.raises(VerificationError):
        _server_policy(ca).build_server_verifier(localhost).verify(
            _cert(pki.path(ROGUE_HUB_CERT)), []
        )


def test_wronghost_certificate_chains_but_only_for_wrong_host(pki: PkiResult) -> None:
    """hub-wronghost.pem is a valid CA-issued hub cert for wrong-host.invalid, not localhost."""
    ca, wrong = _cert(pki.path(CA_CERT)), _cert(pki.path(HUB_WRONGHOST_CERT))
    san = wrong.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(san) == [x509.DNSName(WRONG_HOST)]
    _server_policy(ca).build_server_verifier(x509.DNSName(WRONG_HOST)).verify(wrong, [])
    for name in (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))):
        with pytest.raises(VerificationError):
            _server_policy(ca).build_server_verifier(name).verify(wrong, [])


def test_client_certificate_is_for_client_auth_only(pki: PkiResult) -> None:
    """client.pem chains to ca.pem as a client cert (EKU clientAuth) and is refused as a server."""
    ca, client = _cert(pki.path(CA_CERT)), _cert(pki.path(CLIENT_CERT))
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    _client_verifier(ca).verify(client, [])
    with pytest.raises(VerificationError):
        _client_verifier(ca).verify(_cert(pki.path(HUB_CERT)), [])
    with pytest.raises(VerificationError):
        _client_verifier(ca).verify(_cert(pki.path(ROGUE_CLIENT_CERT)), [])


def test_client_subject_carries_la_code_and_source_systems(tmp_path: Path) -> None:
    """Client subject is O=LA <code>, one OU per source system, CN=LA<code> <ids>."""
    result = init_dev_pki(tmp_path, la_code="815", source_systems=("FWK815", "EHM815"))
    subject = _cert(result.path(CLIENT_CERT)).subject
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "LA 815"
    ]
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)] == [
        "FWK815",
        "EHM815",
    ]
    assert [a.value for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [
        "LA815 FWK815 EHM815"
    ]
    assert result.file(CLIENT_CERT).subject == subject.rfc4514_string()


def test_rogue_client_differs_from_client_only_by_issuer(pki: PkiResult) -> None:
    """rogue-client.pem has the genuine client's subject but is issued by the rogue CA."""
    client, rogue = _cert(pki.path(CLIENT_CERT)), _cert(pki.path(ROGUE_CLIENT_CERT))
    assert rogue.subject == client.subject
    assert rogue.issuer == _cert(pki.path(ROGUE_CA_CERT)).subject
    assert rogue.issuer != client.issuer


def test_validity_follows_now_and_valid_days(tmp_path: Path) -> None:
    """Certificates run from now-5min to now+valid_days, and the result reports that not-after."""
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    result = init_dev_pki(tmp_path, valid_days=30, now=now)
    for entry in result.certificates:
        cert = _cert(entry.path)
        assert cert.not_valid_before_utc == now - timedelta(minutes=5)
        assert cert.not_valid_after_utc == now + timedelta(days=30)
        assert entry.not_after == now + timedelta(days=30)


# --------------------------------------------------------------------------- overwrite


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    """An existing output file makes the call fail naming it, and nothing at all is written."""
    existing = tmp_path / HUB_CERT
    existing.write_bytes(b"keep me")
    with pytest.raises(PkiExistsError) as caught:
        init_dev_pki(tmp_path)
    assert isinstance(caught.value, ContactPointError)
    assert caught.value.code == "PKI-EXISTS"
    assert str(existing) in str(caught.value)
    assert caught.value.paths == (existing,)
    assert existing.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == [HUB_CERT]


def test_refuses_dangling_symlink_without_force(tmp_path: Path) -> None:
    """A dangling symlink at a key path counts as existing, so no key is written through it."""
    target = tmp_path / "elsewhere.key"
    (tmp_path / CLIENT_KEY).symlink_to(target)
    with pytest.raises(PkiExistsError, match=re.escape(str(tmp_path / CLIENT_KEY))):
        init_dev_pki(tmp_path)
    assert not target.exists()


def test_force_overwrites_and_fingerprints_change(tmp_path: Path) -> None:
    """With force every file is rewritten: new fingerprints, matching what is on disk."""
    first = init_dev_pki(tmp_path, rogue_ca=True)
    old_keys = {f.name: f.path.read_bytes() for f in first.files if f.kind == "private-key"}
    second = init_dev_pki(tmp_path, rogue_ca=True, force=True)
    for entry in second.certificates:
        assert entry.fingerprint_sha256 != first.fingerprint(entry.name), entry.name
        assert fingerprint_pem(entry.path) == entry.fingerprint_sha256
    for name, old in old_keys.items():
        assert second.path(name).read_bytes() != old, name


def test_force_tightens_key_mode_and_replaces_symlinks(tmp_path: Path) -> None:
    """force rewrites a 0644 key as 0600 and replaces a symlinked key instead of following it."""
    init_dev_pki(tmp_path)
    (tmp_path / HUB_KEY).chmod(0o644)
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not a key")
    (tmp_path / CLIENT_KEY).unlink()
    (tmp_path / CLIENT_KEY).symlink_to(outside)
    init_dev_pki(tmp_path, force=True)
    assert _mode(tmp_path / HUB_KEY) == 0o600
    assert not (tmp_path / CLIENT_KEY).is_symlink()
    assert _mode(tmp_path / CLIENT_KEY) == 0o600
    assert outside.read_bytes() == b"not a key"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"la_code": "89"},
        {"la_code": "999"},
        {"source_systems": ("fwk891",)},
        {"source_systems": ()},
        {"source_systems": ("FWK891", "FWK891")},
        {"hub_hosts": ("bad host",)},
        {"hub_hosts": ()},
        {"valid_days": 0},
        {"now": datetime(2026, 1, 1)},  # naive: the case under test
    ],
)
def test_invalid_arguments_are_refused_before_writing(
    tmp_path: Path, kwargs: dict[str, object]
) -> None:
    """Bad LA code, source ids, hosts, validity or a naive now: PKI-INVALID, nothing written."""
    with pytest.raises(PkiError) as caught:
        init_dev_pki(tmp_path / "certs", **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == "PKI-INVALID"
    assert not (tmp_path / "certs").exists()


# --------------------------------------------------------------------------- fingerprints


def test_fingerprint_is_sha256_of_der_lowercase_hex(pki: PkiResult) -> None:
    """Every fingerprint form equals hashlib.sha256(DER).hexdigest(): 64 lower-case hex chars."""
    path = pki.path(CLIENT_CERT)
    pem = path.read_bytes()
    der = _cert(path).public_bytes(serialization.Encoding.DER)
    expected = hashlib.sha256(der).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert fingerprint_der(der) == expected
    assert fingerprint_pem(path) == expected
    assert certificate_fingerprint(path) == expected
    assert certificate_fingerprint(str(path)) == expected
    assert certificate_fingerprint(pem) == expected
    assert certificate_fingerprint(der) == expected
    assert certificate_fingerprint(_cert(path)) == expected
    assert pki.fingerprint(CLIENT_CERT) == expected
    assert pki.fingerprint(HUB_CERT) != expected


def test_fingerprint_of_nothing_is_refused() -> None:
    """fingerprint_der(b"") raises instead of returning the constant hash of empty input."""
    with pytest.raises(PkiError, match="no certificate bytes"):
        fingerprint_der(b"")


def test_unreadable_certificate_file_names_the_path(tmp_path: Path) -> None:
    """fingerprint_pem on a missing file raises PKI-UNREADABLE naming that file."""
    missing = tmp_path / "absent.pem"
    with pytest.raises(PkiError, match=re.escape(str(missing))) as caught:
        fingerprint_pem(missing)
    assert caught.value.code == "PKI-UNREADABLE"


# --------------------------------------------------------------------------- issue helper


def test_issue_expired_client_certificate(pki: PkiResult, tmp_path: Path) -> None:
    """The helper writes a CA-signed client cert with exactly the given, past, validity window."""
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(days=400), now - timedelta(days=1)
    cert_path, key_path = issue_client_certificate(
        tmp_path,
        pki.path(CA_CERT),
        pki.path(CA_KEY),
        name="expired-client",
        la_code="891",
        source_systems=("FWK891",),
        not_before=start,
        not_after=end,
    )
    assert (cert_path, key_path) == (
        tmp_path / "expired-client.pem",
        tmp_path / "expired-client.key",
    )
    assert _mode(key_path) == 0o600
    cert = _cert(cert_path)
    assert cert.not_valid_before_utc == start
    assert cert.not_valid_after_utc == end
    assert cert.not_valid_after_utc < datetime.now(UTC)
    assert cert.subject == _cert(pki.path(CLIENT_CERT)).subject
    ca = _cert(pki.path(CA_CERT))
    cert.verify_directly_issued_by(ca)  # the CA itself is younger than this certificate
    with pytest.raises(VerificationError):
        _client_verifier(ca).verify(cert, [])


def test_issue_soon_to_expire_client_certificate(pki: PkiResult, tmp_path: Path) -> None:
    """A not_after 10 days ahead is kept as given: valid now, under IA-CRT-01's 30-day margin."""
    now = datetime.now(UTC).replace(microsecond=0)
    cert_path, _ = issue_client_certificate(
        tmp_path,
        pki.path(CA_CERT),
        pki.path(CA_KEY),
        name="expiring",
        la_code="891",
        source_systems=("FWK891",),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=10),
    )
    cert = _cert(cert_path)
    assert now < cert.not_valid_after_utc < now + timedelta(days=30)
    _client_verifier(_cert(pki.path(CA_CERT))).verify(cert, [])


def test_issue_refuses_mismatched_ca_key_and_unsafe_names(pki: PkiResult, tmp_path: Path) -> None:
    """A CA key that is not ca.pem's key, or a name that is a path, is refused with PKI-INVALID."""
    now = datetime.now(UTC)
    common = {
        "la_code": "891",
        "source_systems": ("FWK891",),
        "not_before": now,
        "not_after": now + timedelta(days=1),
    }
    with pytest.raises(PkiError, match="is not the key of") as caught:
        issue_client_certificate(
            tmp_path,
            pki.path(CA_CERT),
            pki.path(ROGUE_CA_KEY),
            name="x",
            **common,  # type: ignore[arg-type]
        )
    assert caught.value.code == "PKI-INVALID"
    with pytest.raises(PkiError, match="plain file stem"):
        issue_client_certificate(
            tmp_path,
            pki.path(CA_CERT),
            pki.path(CA_KEY),
            name="../x",
            **common,  # type: ignore[arg-type]
        )
    assert list(tmp_path.iterdir()) == []


def test_issue_refuses_overwrite_without_force(pki: PkiResult, tmp_path: Path) -> None:
    """issue_client_certificate will not replace an existing <name>.pem unless forced."""
    now = datetime.now(UTC)
    args = (tmp_path, pki.path(CA_CERT), pki.path(CA_KEY))
    kwargs = {
        "name": "c",
        "la_code": "891",
        "source_systems": ("FWK891",),
        "not_before": now,
        "not_after": now + timedelta(days=1),
    }
    cert_path, _ = issue_client_certificate(*args, **kwargs)  # type: ignore[arg-type]
    before = cert_path.read_bytes()
    with pytest.raises(PkiExistsError):
        issue_client_certificate(*args, **kwargs)  # type: ignore[arg-type]
    assert cert_path.read_bytes() == before
    issue_client_certificate(*args, **kwargs, force=True)  # type: ignore[arg-type]
    assert cert_path.read_bytes() != before


# --------------------------------------------------------------------------- real mutual TLS


@dataclass
class Handshake:
    """What each side of one loopback connection saw."""

    server_error: OSError | None = None
    client_error: OSError | None = None
    peer_der: bytes | None = None
    received: bytes = b""


def _server_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """The hub's side: TLS >= 1.2, client certificate required and checked against ``ca``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.load_cert_chain(cert, key)
    context.load_verify_locations(cafile=ca)
    return context


def _client_context(ca: Path, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    """The adapter's side: trusts only ``ca``, checks the host name, strict X.509 (as 3.13)."""
    context = ssl.create_default_context(cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    if cert is not None and key is not None:
        context.load_cert_chain(cert, key)
    return context


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str) -> Handshake:
    """One connection on 127.0.0.1: the server sends b"ok" after a successful handshake."""
    outcome = Handshake()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]

        def serve() -> None:
            try:
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(TIMEOUT)
                    with server.wrap_socket(conn, server_side=True) as tls:
                        outcome.peer_der = tls.getpeercert(binary_form=True)
                        tls.sendall(b"ok")
            except OSError as exc:
                outcome.server_error = exc

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
                client.wrap_socket(raw, server_hostname=server_hostname) as tls,
            ):
                while len(outcome.received) < 2:
                    chunk = tls.recv(2 - len(outcome.received))
                    if not chunk:
                        break
                    outcome.received += chunk
        except OSError as exc:
            outcome.client_error = exc
        thread.join(TIMEOUT * 2)
        assert not thread.is_alive(), "server thread did not finish"
    return outcome


def _hub(pki: PkiResult, cert: str = HUB_CERT) -> ssl.SSLContext:
    key = cert.removesuffix(".pem") + ".key"
    return _server_context(pki.path(cert), pki.path(key), pki.path(CA_CERT))


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_mutual_tls_handshake_succeeds(pki: PkiResult, host: str) -> None:
    """Hub and client certificates complete mutual TLS; the hub sees client.pem's fingerprint."""
    client = _client_context(pki.path(CA_CERT), pki.path(CLIENT_CERT), pki.path(CLIENT_KEY))
    outcome = _handshake(_hub(pki), client, host)
    assert outcome.server_error is None
    assert outcome.client_error is None
    assert outcome.received == b"ok"
    assert outcome.peer_der is not None
    assert fingerprint_der(outcome.peer_der) == pki.fingerprint(CLIENT_CERT)


def test_hub_rejects_client_certificate_from_other_ca(pki: PkiResult) -> None:
    """The hub refuses a client presenting rogue-client.pem (right subject, wrong CA)."""
    client = _client_context(
        pki.path(CA_CERT), pki.path(ROGUE_CLIENT_CERT), pki.path(ROGUE_CLIENT_KEY)
    )
    outcome = _handshake(_hub(pki), client, "localhost")
    assert isinstance(outcome.server_error, ssl.SSLCertVerificationError)
    assert outcome.server_error.verify_code in UNTRUSTED_ISSUER
    assert outcome.received != b"ok"


def test_hub_rejects_client_without_certificate(pki: PkiResult) -> None:
    """The hub refuses a client that presents no certificate at all (LDI-TRN-02)."""
    client = _client_context(pki.path(CA_CERT), None, None)
    outcome = _handshake(_hub(pki), client, "localhost")
    assert isinstance(outcome.server_error, ssl.SSLError)
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in str(outcome.server_error)
    assert outcome.received != b"ok"


def test_hub_rejects_expired_client_certificate(pki: PkiResult, tmp_path: Path) -> None:
    """A client certificate from issue_client_certificate with a past not_after is refused."""
    now = datetime.now(UTC)
    cert, key = issue_client_certificate(
        tmp_path,
        pki.path(CA_CERT),
        pki.path(CA_KEY),
        name="expired",
        la_code="891",
        source_systems=("FWK891",),
        not_before=now - timedelta(days=30),
        not_after=now - timedelta(days=1),
    )
    outcome = _handshake(_hub(pki), _client_context(pki.path(CA_CERT), cert, key), "localhost")
    assert isinstance(outcome.server_error, ssl.SSLCertVerificationError)
    assert outcome.server_error.verify_code == X509_V_ERR_CERT_HAS_EXPIRED
    assert outcome.received != b"ok"


@pytest.mark.parametrize(
    ("trusted_ca", "hub_cert"),
    [(ROGUE_CA_CERT, HUB_CERT), (CA_CERT, ROGUE_HUB_CERT)],
    ids=["client-trusts-rogue-ca", "hub-cert-from-rogue-ca"],
)
def test_client_rejects_hub_from_other_ca(pki: PkiResult, trusted_ca: str, hub_cert: str) -> None:
    """The client refuses a hub whose certificate is not issued by the CA it trusts."""
    client = _client_context(pki.path(trusted_ca), pki.path(CLIENT_CERT), pki.path(CLIENT_KEY))
    outcome = _handshake(_hub(pki, hub_cert), client, "localhost")
    assert isinstance(outcome.client_error, ssl.SSLCertVerificationError)
    assert outcome.client_error.verify_code in UNTRUSTED_ISSUER
    assert outcome.received == b""


def test_client_rejects_hub_certificate_for_wrong_host(pki: PkiResult) -> None:
    """Connecting to "localhost" when the hub serves hub-wronghost.pem fails on the host name."""
    client = _client_context(pki.path(CA_CERT), pki.path(CLIENT_CERT), pki.path(CLIENT_KEY))
    outcome = _handshake(_hub(pki, HUB_WRONGHOST_CERT), client, "localhost")
    assert isinstance(outcome.client_error, ssl.SSLCertVerificationError)
    assert outcome.client_error.verify_code == X509_V_ERR_HOSTNAME_MISMATCH
    assert "localhost" in outcome.client_error.verify_message
    assert outcome.received == b""
