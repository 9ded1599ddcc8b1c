"""Development PKI: a throw-away CA, hub and client certificates for mutual TLS (LDI-TRN-02).

This is the library behind ``cpadapter certs init``. It exists so that the demo, the reference
hub and the test-suite can run the *real* mutual-TLS path (LDI-TRN-02) on one machine, without
an operator having to drive ``openssl`` by hand, and so that negative cases (a client from
another CA, a hub from another CA, a hub certificate for the wrong host name, an expired client
certificate) can be produced on demand. Nothing here is meant for production: production client
certificates are issued at instance accreditation (see ``certs/README.md``).

Key type
    Every key is **EC P-256** (``secp256r1``) signed with ECDSA/SHA-256. Python's ``ssl``
    module (OpenSSL 1.1.1/3.x), ``requests``/``urllib3`` and therefore ``zeep`` load such keys
    and certificates with no extra options, every TLS 1.2 and 1.3 stack negotiates
    ECDHE-ECDSA, and generating a P-256 key takes well under a millisecond where an RSA-2048
    key takes tens of milliseconds - which matters because the tests mint a fresh PKI per test.

Files written by :func:`init_dev_pki` (names are the constants below)

    ========================  =============================================================
    ``ca.pem`` / ``ca.key``   development CA ("ContactPoint Adapter Development CA")
    ``hub.pem`` / ``.key``    hub server certificate: SANs from ``hub_hosts``, EKU serverAuth
    ``client.pem`` / ``.key`` the organisation's client certificate: EKU clientAuth
    ``hub-wronghost.*``       hub certificate for ``wrong-host.invalid`` only (host mismatch)
    ``rogue-ca.*``            (``rogue_ca=True``) an unrelated CA, same shape as the real one
    ``rogue-client.*``        (``rogue_ca=True``) client certificate issued by the rogue CA
    ``rogue-hub.*``           (``rogue_ca=True``) hub certificate issued by the rogue CA
    ========================  =============================================================

    The rogue certificates carry exactly the same subjects and SANs as their genuine twins, so
    a negative test that fails proves the *issuer* was checked, not some name.

Client certificate subject layout (LDI-TRN-03)
    ``O = "LA <la_code>"``, one ``OU`` per source system id (in the order given), and
    ``CN = "LA<la_code> <id> <id> ..."``, e.g. ``O=LA 891, OU=FWK891, CN=LA891 FWK891``. The hub
    does **not** trust these names - its accreditation register maps the certificate's SHA-256
    fingerprint to an LA code and source systems - but they make a certificate recognisable in
    logs and in ``openssl x509 -text`` output. ``CN`` is limited to 64 characters by X.509, so
    a certificate can name only as many source systems as fit.

Fingerprints
    Everywhere in this product a certificate fingerprint is the SHA-256 digest of the
    certificate's DER encoding as **lower-case hex without separators** (64 characters), e.g.
    ``3f1c...e0``. That is the form the hub's accreditation register keys on, and the hub
    computes it from ``SSLSocket.getpeercert(binary_form=True)`` with :func:`fingerprint_der`.

File handling
    Private keys are PKCS#8 PEM, unencrypted (the adapter and hub load them unattended; the
    file mode is the protection), written with mode ``0600`` from the moment the file exists:
    the file is created by ``os.open(..., 0o600)`` and ``fchmod``-ed before any byte is
    written, so neither a permissive umask nor a pre-existing file's mode can expose a key.
    Certificates are ``0644``. Nothing existing is overwritten unless ``force=True``; the check
    covers every output file *before* anything is generated or written, so a refusal leaves the
    directory exactly as it was. With ``force=True`` each file is written to a temporary file in
    the same directory and renamed over the old one, which replaces a symbolic link rather than
    writing through it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ldi.errors import ContactPointError

__all__ = [
    "CA_CERT",
    "CA_KEY",
    "CLIENT_CERT",
    "CLIENT_KEY",
    "HUB_CERT",
    "HUB_KEY",
    "HUB_WRONGHOST_CERT",
    "HUB_WRONGHOST_KEY",
    "ROGUE_CA_CERT",
    "ROGUE_CA_KEY",
    "ROGUE_CLIENT_CERT",
    "ROGUE_CLIENT_KEY",
    "ROGUE_HUB_CERT",
    "ROGUE_HUB_KEY",
    "WRONG_HOST",
    "PkiError",
    "PkiExistsError",
    "PkiFile",
    "PkiResult",
    "certificate_fingerprint",
    "client_subject",
    "fingerprint_der",
    "fingerprint_pem",
    "init_dev_pki",
    "issue_client_certificate",
]

CA_CERT = "ca.pem"
CA_KEY = "ca.key"
HUB_CERT = "hub.pem"
HUB_KEY = "hub.key"
CLIENT_CERT = "client.pem"
CLIENT_KEY = "client.key"
HUB_WRONGHOST_CERT = "hub-wronghost.pem"
HUB_WRONGHOST_KEY = "hub-wronghost.key"
ROGUE_CA_CERT = "rogue-ca.pem"
ROGUE_CA_KEY = "rogue-ca.key"
ROGUE_CLIENT_CERT = "rogue-client.pem"
ROGUE_CLIENT_KEY = "rogue-client.key"
ROGUE_HUB_CERT = "rogue-hub.pem"
ROGUE_HUB_KEY = "rogue-hub.key"

#: The only name in ``hub-wronghost.pem``. ``.invalid`` is reserved (RFC 2606), so it can never
#: resolve or collide with a real host.
WRONG_HOST = "wrong-host.invalid"

CA_NAME = "ContactPoint Adapter Development CA"
ROGUE_CA_NAME = "ContactPoint Adapter Rogue CA (negative tests only)"
HUB_ORGANISATION = "ContactPoint Hub (development)"

KEY_MODE = 0o600
CERT_MODE = 0o644

#: Certificates start this long before ``now`` so that a hub whose clock runs slightly behind
#: the machine that minted them does not reject them as "not yet valid".
CLOCK_SKEW = timedelta(minutes=5)

# LDI 1.0 identifier formats (spec section 1): LA code and source system id.
_LA_CODE = re.compile(r"[0-9]{3}")
_LA_CODE_RANGE = range(201, 939)
_SOURCE_SYSTEM = re.compile(r"[A-Z0-9]{3,12}")
_FILE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CN_MAX = 64

_IssuerKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class PkiError(ContactPointError):
    """The development PKI cannot do what was asked.

    Codes: ``PKI-INVALID`` (an argument is unusable: LA code, source system id, host, dates),
    ``PKI-UNREADABLE`` (a certificate or key file cannot be read or parsed), ``PKI-WRITE`` (an
    output file cannot be written), ``PKI-EXISTS`` (see :class:`PkiExistsError`). Messages name
    files and arguments, never key material.
    """

    code = "PKI-ERROR"


class PkiExistsError(PkiError):
    """An output file already exists and ``force`` was not given; ``paths`` lists them all."""

    code = "PKI-EXISTS"

    def __init__(self, paths: Sequence[Path]) -> None:
        names = ", ".join(str(p) for p in paths)
        super().__init__(f"refusing to overwrite existing file(s) {names} (use --force)")
        self.paths = tuple(paths)


@dataclass(frozen=True)
class PkiFile:
    """One file written by this module.

    ``fingerprint_sha256`` (lower-case hex SHA-256 of the DER, no colons), ``not_after`` (UTC)
    and ``subject`` (RFC 4514 string) are set for certificates and ``None`` for private keys.
    """

    name: str
    path: Path
    kind: Literal["certificate", "private-key"]
    mode: int
    fingerprint_sha256: str | None = None
    not_after: datetime | None = None
    subject: str | None = None


@dataclass(frozen=True)
class PkiResult:
    """Everything :func:`init_dev_pki` created, in creation order, for the CLI to print."""

    directory: Path
    files: tuple[PkiFile, ...]

    def file(self, name: str) -> PkiFile:
        """The entry for file ``name`` (e.g. ``"client.pem"``); ``KeyError`` if not created."""
        for entry in self.files:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def path(self, name: str) -> Path:
        """The path of file ``name`` (e.g. ``HUB_KEY``)."""
        return self.file(name).path

    def fingerprint(self, name: str) -> str:
        """The SHA-256 fingerprint of certificate ``name``; ``KeyError`` for keys or unknowns."""
        fingerprint = self.file(name).fingerprint_sha256
        if fingerprint is None:
            raise KeyError(f"{name} is not a certificate")
        return fingerprint

    @property
    def certificates(self) -> tuple[PkiFile, ...]:
        """The certificate entries only."""
        return tuple(f for f in self.files if f.kind == "certificate")

    def summary_lines(self) -> tuple[str, ...]:
        """Human-readable lines: one per file, certificates with expiry and fingerprint."""
        lines: list[str] = []
        for entry in self.files:
            line = f"{entry.path}  ({entry.kind}, mode {entry.mode:04o})"
            if entry.not_after is not None and entry.fingerprint_sha256 is not None:
                line += f"  expires {entry.not_after:%Y-%m-%d}  sha256 {entry.fingerprint_sha256}"
            lines.append(line)
        return tuple(lines)


# --------------------------------------------------------------------------- fingerprints


def fingerprint_der(der: bytes) -> str:
    """SHA-256 of a certificate's DER encoding as lower-case hex, no separators.

    The hub calls this on ``getpeercert(binary_form=True)``. The bytes are hashed as given (not
    re-encoded), so the value is identical to ``openssl x509 -fingerprint -sha256`` with the
    colons removed and lower-cased. Empty input is refused: a fingerprint of nothing would be a
    constant that could end up matching a register entry by accident.
    """
    if not der:
        raise PkiError("no certificate bytes to fingerprint", code="PKI-INVALID")
    return hashlib.sha256(der).hexdigest()


def fingerprint_pem(path: Path) -> str:
    """The fingerprint (see :func:`fingerprint_der`) of the first certificate in PEM ``path``."""
    return fingerprint_der(_load_certificate(path).public_bytes(serialization.Encoding.DER))


def certificate_fingerprint(cert: Path | str | bytes | x509.Certificate) -> str:
    """The fingerprint of a certificate given as a PEM file path, PEM or DER bytes, or object.

    Bytes starting with a PEM header are read as PEM (first certificate); any other bytes are
    taken to be DER and hashed as they are.
    """
    if isinstance(cert, x509.Certificate):
        return fingerprint_der(cert.public_bytes(serialization.Encoding.DER))
    if isinstance(cert, bytes):
        if cert.lstrip().startswith(b"-----BEGIN"):
            try:
                parsed = x509.load_pem_x509_certificate(cert)
            except ValueError as exc:
                raise PkiError(
                    "PEM bytes hold no readable certificate", code="PKI-INVALID"
                ) from exc
            return fingerprint_der(parsed.public_bytes(serialization.Encoding.DER))
        return fingerprint_der(cert)
    return fingerprint_pem(Path(cert))


# --------------------------------------------------------------------------- public builders


def client_subject(la_code: str, source_systems: Sequence[str]) -> x509.Name:
    """The client certificate subject: ``O=LA <code>``, an ``OU`` per id, ``CN=LA<code> <ids>``.

    Validates the LA code (three digits, 201-938) and the source system ids
    (``[A-Z0-9]{3,12}``, no repeats) as LDI 1.0 defines them, so a development certificate can
    never name an identity the hub's register could not hold.
    """
    _check_la_code(la_code)
    systems = _check_source_systems(source_systems)
    common_name = f"LA{la_code} " + " ".join(systems)
    if len(common_name) > _CN_MAX:
        raise PkiError(
            f"too many source systems for one certificate: CN {common_name!r} is longer than "
            f"{_CN_MAX} characters",
            code="PKI-INVALID",
        )
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"LA {la_code}")]
    attributes += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, s) for s in systems]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def init_dev_pki(
    directory: Path,
    *,
    la_code: str = "891",
    source_systems: tuple[str, ...] = ("FWK891",),
    hub_hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
    rogue_ca: bool = False,
    force: bool = False,
    valid_days: int = 825,
    now: datetime | None = None,
) -> PkiResult:
    """Create the development CA, hub, client and negative-test certificates in ``directory``.

    ``hub_hosts`` become the hub certificate's SANs: entries that parse as IP addresses become
    IP SANs (so Python's host-name check matches ``https://127.0.0.1``), the rest DNS SANs.
    Every certificate runs from ``now - 5 minutes`` (clock skew) to ``now + valid_days``; the
    default 825 days is the longest server-certificate life Apple platforms and the CA/Browser
    Forum accepted, so the hub certificate also works from a browser on those platforms.
    ``now`` must be timezone-aware; it defaults to the current UTC time.

    Raises :class:`PkiExistsError` (naming every clashing path, writing nothing) when an output
    file exists and ``force`` is false, and :class:`PkiError` for unusable arguments.
    """
    start = _aware(now, "now") if now is not None else datetime.now(UTC)
    start = start.replace(microsecond=0)
    if valid_days < 1:
        raise PkiError(f"valid_days must be at least 1, got {valid_days}", code="PKI-INVALID")
    subject = client_subject(la_code, source_systems)
    sans = _hub_sans(hub_hosts)
    not_before = start - CLOCK_SKEW
    not_after = start + timedelta(days=valid_days)

    names = [
        CA_CERT,
        CA_KEY,
        HUB_CERT,
        HUB_KEY,
        CLIENT_CERT,
        CLIENT_KEY,
        HUB_WRONGHOST_CERT,
        HUB_WRONGHOST_KEY,
    ]
    if rogue_ca:
        names += [
            ROGUE_CA_CERT,
            ROGUE_CA_KEY,
            ROGUE_CLIENT_CERT,
            ROGUE_CLIENT_KEY,
            ROGUE_HUB_CERT,
            ROGUE_HUB_KEY,
        ]
    _prepare_directory(directory)
    if not force:
        _refuse_existing(directory / n for n in names)

    # Generate everything in memory first: a failure here leaves the directory untouched.
    outputs: list[tuple[str, x509.Certificate, ec.EllipticCurvePrivateKey]] = []
    ca_cert, ca_key = _make_ca(CA_NAME, not_before, not_after)
    outputs.append((CA_CERT, ca_cert, ca_key))
    hub_name = _hub_name(hub_hosts[0])
    outputs.append(
        (HUB_CERT, *_make_leaf(ca_cert, ca_key, hub_name, sans, "server", not_before, not_after))
    )
    outputs.append(
        (CLIENT_CERT, *_make_leaf(ca_cert, ca_key, subject, None, "client", not_before, not_after))
    )
    wrong = [x509.DNSName(WRONG_HOST)]
    outputs.append(
        (
            HUB_WRONGHOST_CERT,
            *_make_leaf(
                ca_cert, ca_key, _hub_name(WRONG_HOST), wrong, "server", not_before, not_after
            ),
        )
    )
    if rogue_ca:
        rogue_cert, rogue_key = _make_ca(ROGUE_CA_NAME, not_before, not_after)
        outputs.append((ROGUE_CA_CERT, rogue_cert, rogue_key))
        outputs.append(
            (
                ROGUE_CLIENT_CERT,
                *_make_leaf(rogue_cert, rogue_key, subject, None, "client", not_before, not_after),
            )
        )
        outputs.append(
            (
                ROGUE_HUB_CERT,
                *_make_leaf(rogue_cert, rogue_key, hub_name, sans, "server", not_before, not_after),
            )
        )

    files: list[PkiFile] = []
    for cert_name, cert, key in outputs:
        key_name = cert_name.removesuffix(".pem") + ".key"
        files += _write_pair(directory, cert_name, key_name, cert, key, force=force)
    return PkiResult(directory=directory, files=tuple(files))


def issue_client_certificate(
    directory: Path,
    ca_cert_path: Path,
    ca_key_path: Path,
    *,
    name: str,
    la_code: str,
    source_systems: Sequence[str],
    not_before: datetime,
    not_after: datetime,
    force: bool = False,
) -> tuple[Path, Path]:
    """Issue a client certificate with an exact validity window; return (cert path, key path).

    For tests and accreditation evidence (IA-CRT-01: "not expired, more than 30 days to
    expiry"): pass a ``not_after`` in the past for an expired certificate or a few days ahead
    for one about to expire. Unlike :func:`init_dev_pki` no clock-skew margin is applied - the
    dates are used exactly. Writes ``<name>.pem`` and ``<name>.key`` in ``directory``; ``name``
    must be a plain file stem. The subject follows :func:`client_subject`. The CA key must be an
    unencrypted PEM EC or RSA key matching the CA certificate.
    """
    if not _FILE_STEM.fullmatch(name) or name in {".", ".."}:
        raise PkiError(
            f"certificate name {name!r} must be a plain file stem (letters, digits, . _ -)",
            code="PKI-INVALID",
        )
    start = _aware(not_before, "not_before")
    end = _aware(not_after, "not_after")
    if end <= start:
        raise PkiError("not_after must be later than not_before", code="PKI-INVALID")
    subject = client_subject(la_code, source_systems)
    ca_cert = _load_certificate(ca_cert_path)
    ca_key = _load_issuer_key(ca_key_path)
    _check_issuer(ca_cert, ca_key, ca_cert_path, ca_key_path)

    cert_name, key_name = f"{name}.pem", f"{name}.key"
    _prepare_directory(directory)
    if not force:
        _refuse_existing([directory / cert_name, directory / key_name])
    cert, key = _make_leaf(ca_cert, ca_key, subject, None, "client", start, end)
    _write_pair(directory, cert_name, key_name, cert, key, force=force)
    return directory / cert_name, directory / key_name


# --------------------------------------------------------------------------- certificate making


def _make_ca(
    common_name: str, not_before: datetime, not_after: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed CA that strict verifiers accept (OpenSSL X509_STRICT, cryptography webpki).

    ``path_length=0``: it signs end-entity certificates only. SKI and a self-referencing AKI are
    both present because Python 3.13's default ``VERIFY_X509_STRICT`` demands key identifiers.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ContactPoint Adapter"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_leaf(
    issuer_cert: x509.Certificate,
    issuer_key: _IssuerKey,
    subject: x509.Name,
    sans: Sequence[x509.GeneralName] | None,
    purpose: Literal["server", "client"],
    not_before: datetime,
    not_after: datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """An end-entity certificate for TLS ``purpose``, signed by the issuer.

    KeyUsage is digitalSignature only (all ECDSA needs for TLS 1.2 ECDHE and TLS 1.3); the EKU
    restricts the certificate to the one side of the connection it is for, so a client
    certificate cannot be served as a hub certificate and vice versa.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    eku = (
        ExtendedKeyUsageOID.SERVER_AUTH if purpose == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_authority_key_identifier(issuer_cert, issuer_key), critical=False)
    )
    if sans is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def _authority_key_identifier(
    issuer_cert: x509.Certificate, issuer_key: _IssuerKey
) -> x509.AuthorityKeyIdentifier:
    """AKI from the issuer's SKI when it has one (so the two match byte for byte), else its key."""
    try:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _hub_name(host: str) -> x509.Name:
    """Hub subject; the CN repeats the first host for humans - TLS clients match the SANs only."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, HUB_ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, host),
        ]
    )


def _hub_sans(hosts: Sequence[str]) -> list[x509.GeneralName]:
    """IP SANs for literal addresses, DNS SANs (ASCII, no wildcards) for the rest."""
    if not hosts:
        raise PkiError("hub_hosts must name at least one host", code="PKI-INVALID")
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            continue
        except ValueError:
            pass
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", host):
            raise PkiError(
                f"hub host {host!r} is neither an IP address nor an ASCII DNS name",
                code="PKI-INVALID",
            )
        sans.append(x509.DNSName(host))
    return sans


# --------------------------------------------------------------------------- validation


def _aware(value: datetime, what: str) -> datetime:
    """``value`` in UTC; naive datetimes are refused rather than guessed at."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise PkiError(f"{what} must be timezone-aware", code="PKI-INVALID")
    return value.astimezone(UTC)


def _check_la_code(la_code: str) -> None:
    if not _LA_CODE.fullmatch(la_code) or int(la_code) not in _LA_CODE_RANGE:
        raise PkiError(
            f"LA code {la_code!r} is not three digits in 201-938 (LDI 1.0)", code="PKI-INVALID"
        )


def _check_source_systems(source_systems: Sequence[str]) -> tuple[str, ...]:
    if isinstance(source_systems, str):
        # A bare string is a sequence of characters: almost certainly a missing tuple.
        raise PkiError("source_systems must be a sequence of ids, not a string", code="PKI-INVALID")
    systems = tuple(source_systems)
    if not systems:
        raise PkiError("at least one source system id is required", code="PKI-INVALID")
    for system in systems:
        if not _SOURCE_SYSTEM.fullmatch(system):
            raise PkiError(
                f"source system id {system!r} does not match [A-Z0-9]{{3,12}} (LDI 1.0)",
                code="PKI-INVALID",
            )
    if len(set(systems)) != len(systems):
        raise PkiError("source system ids repeat", code="PKI-INVALID")
    return systems


def _check_issuer(cert: x509.Certificate, key: _IssuerKey, cert_path: Path, key_path: Path) -> None:
    """The CA certificate is a CA and the key is its key (else we would mint unverifiable certs)."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise PkiError(f"{cert_path} is not a CA certificate", code="PKI-INVALID")
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise PkiError(f"{key_path} is not the key of {cert_path}", code="PKI-INVALID")


# --------------------------------------------------------------------------- file I/O


def _load_certificate(path: Path) -> x509.Certificate:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PkiError(
            f"cannot read certificate {path}: {exc.strerror or exc}", code="PKI-UNREADABLE"
        ) from exc
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise PkiError(f"{path} holds no PEM certificate", code="PKI-UNREADABLE") from exc


def _load_issuer_key(path: Path) -> _IssuerKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PkiError(
            f"cannot read key {path}: {exc.strerror or exc}", code="PKI-UNREADABLE"
        ) from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        # Deliberately not quoting the parser's message: it could echo key bytes.
        raise PkiError(
            f"{path} holds no unencrypted PEM private key", code="PKI-UNREADABLE"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PkiError(f"{path} is neither an EC nor an RSA key", code="PKI-INVALID")
    return key


def _prepare_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PkiError(
            f"cannot create directory {directory}: {exc.strerror or exc}", code="PKI-WRITE"
        ) from exc


def _refuse_existing(paths: Iterable[Path]) -> None:
    """Raise if any path exists; ``lexists`` so that a dangling symlink counts too."""
    existing = [p for p in paths if os.path.lexists(p)]
    if existing:
        raise PkiExistsError(existing)


def _write_pair(
    directory: Path,
    cert_name: str,
    key_name: str,
    cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    *,
    force: bool,
) -> tuple[PkiFile, PkiFile]:
    """Write a certificate and its key; return their entries (certificate first)."""
    cert_path, key_path = directory / cert_name, directory / key_name
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_file(key_path, key_pem, KEY_MODE, force=force)
    _write_file(cert_path, cert.public_bytes(serialization.Encoding.PEM), CERT_MODE, force=force)
    cert_entry = PkiFile(
        name=cert_name,
        path=cert_path,
        kind="certificate",
        mode=CERT_MODE,
        fingerprint_sha256=fingerprint_der(cert.public_bytes(serialization.Encoding.DER)),
        not_after=cert.not_valid_after_utc,
        subject=cert.subject.rfc4514_string(),
    )
    key_entry = PkiFile(name=key_name, path=key_path, kind="private-key", mode=KEY_MODE)
    return cert_entry, key_entry


def _write_file(path: Path, data: bytes, mode: int, *, force: bool) -> None:
    """Write ``data`` to ``path`` with ``mode`` set before the first byte lands.

    Without ``force`` the file is created with ``O_EXCL`` (an existing file or symlink is never
    touched, even one that appeared after the up-front check). With ``force`` a temporary file
    is written beside it and renamed over it, so the old file is replaced atomically and a
    symlink at ``path`` is replaced rather than followed.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_BINARY", 0)
    target = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp") if force else path
    try:
        fd = os.open(target, flags, KEY_MODE)
    except FileExistsError as exc:
        raise PkiExistsError([path]) from exc
    except OSError as exc:
        raise PkiError(f"cannot create {path}: {exc.strerror or exc}", code="PKI-WRITE") from exc
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), mode)
                handle.write(data)
            if force:
                os.replace(target, path)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise PkiError(f"cannot write {path}: {exc.strerror or exc}", code="PKI-WRITE") from exc
