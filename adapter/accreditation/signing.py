"""Detached signature of ``manifest.json`` with the organisation's key (EC or RSA, PEM).

The manifest holds every file's SHA-256, so signing it signs the whole pack. ECDSA-SHA256 for EC
keys, RSA-PSS-SHA256 for RSA keys; verification takes the signer's certificate or public key.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ldi.errors import ConfigError

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)


def sign(data: bytes, key_path: Path) -> bytes:
    """Signature of ``data`` with the PEM private key at ``key_path`` (unencrypted)."""
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"cannot read the signing key {key_path.name}: an unencrypted PEM EC or RSA key "
            "is needed",
            location="--sign",
        ) from exc
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, _PSS, hashes.SHA256())
    raise ConfigError("the signing key must be EC or RSA", location="--sign")


def verify(data: bytes, signature: bytes, cert_path: Path) -> bool:
    """True if ``signature`` over ``data`` was made by the key of the certificate / public key."""
    raw = cert_path.read_bytes()
    try:
        public = x509.load_pem_x509_certificate(raw).public_key()
    except ValueError:
        public = serialization.load_pem_public_key(raw)  # type: ignore[assignment]
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, _PSS, hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True
