"""HTTP basic authentication for the status page, and the bind-address rule.

Passwords are checked against ``service.auth.password_hash`` (``scrypt$<salt>$<hash>``, hex;
make one with ``python -m adapter.service.auth``) or, failing that, ``service.auth.password``
(normally ``${CPADAPTER_STATUS_PASSWORD}``), always in constant time.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import hmac
import ipaddress
import secrets

from adapter.config import ServiceAuthConfig, ServiceConfig
from ldi.errors import ConfigError

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$<salt hex>$<hash hex>`` for ``password``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _check_hash(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
        salt, digest = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P)
    return hmac.compare_digest(candidate, digest)


def authorised(header: str | None, auth: ServiceAuthConfig) -> bool:
    """True if an ``Authorization: Basic …`` header carries the configured user and password."""
    if not header or not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user_ok = hmac.compare_digest(user.encode(), auth.user.encode())
    if auth.password_hash:
        return _check_hash(password, auth.password_hash) and user_ok
    assert auth.password is not None  # the model requires one of the two
    expected = auth.password.get_secret_value().encode()
    return hmac.compare_digest(password.encode(), expected) and user_ok


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(service: ServiceConfig) -> None:
    """Refuse to serve beyond loopback without TLS and authentication (ConfigError)."""
    if is_loopback(service.host):
        return
    missing = [name for name, value in (("tls", service.tls), ("auth", service.auth)) if not value]
    if missing:
        raise ConfigError(
            f"service.host {service.host!r} is not a loopback address: the status page then "
            f"requires TLS and authentication; set service.{' and service.'.join(missing)} "
            "(or bind to 127.0.0.1)",
            code="CFG-SERVICE-EXPOSED",
        )


def main() -> None:
    """Print a password hash for ``service.auth.password_hash``."""
    password = getpass.getpass("status page password: ")
    print(hash_password(password))


if __name__ == "__main__":
    main()
