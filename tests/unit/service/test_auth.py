"""The status page beyond loopback needs TLS and basic auth; passwords checked by hash."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapter.config import ServiceAuthConfig, ServiceConfig, ServiceTlsConfig
from adapter.service.auth import authorised, check_binding, hash_password
from ldi.errors import ConfigError

PUBLIC = "0.0.0.0"  # noqa: S104 - the address under test


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_loopback_needs_nothing_else() -> None:
    """127.0.0.1, ::1 and localhost are served without TLS or auth."""
    for host in ("127.0.0.1", "::1", "localhost"):
        check_binding(ServiceConfig(host=host))


def test_beyond_loopback_without_tls_and_auth_is_refused() -> None:
    """0.0.0.0 without TLS and auth, or with only one of them, is a clear ConfigError."""
    with pytest.raises(ConfigError, match=r"service\.tls and service\.auth"):
        check_binding(ServiceConfig(host=PUBLIC))
    auth = ServiceAuthConfig(user="ict", password=SecretStr("x"))
    with pytest.raises(ConfigError, match=r"set service\.tls "):
        check_binding(ServiceConfig(host=PUBLIC, auth=auth))
    tls = ServiceTlsConfig(certificate=Path("s.pem"), key=Path("s.key"))
    check_binding(ServiceConfig(host=PUBLIC, auth=auth, tls=tls))


def test_basic_auth_with_password_hash() -> None:
    """The right user and password pass; a wrong password, user or header does not."""
    auth = ServiceAuthConfig(user="ict", password_hash=hash_password("s3cret"))
    assert authorised(_basic("ict", "s3cret"), auth)
    assert not authorised(_basic("ict", "wrong"), auth)
    assert not authorised(_basic("admin", "s3cret"), auth)
    assert not authorised("Bearer abc", auth)
    assert not authorised("Basic !!!", auth)
    assert not authorised(None, auth)


def test_basic_auth_with_plain_password_from_the_environment() -> None:
    """A password given as ${ENV} (a SecretStr) works too; auth needs one of the two."""
    auth = ServiceAuthConfig(user="ict", password=SecretStr("from-env"))
    assert authorised(_basic("ict", "from-env"), auth)
    with pytest.raises(ValueError, match="password"):
        ServiceAuthConfig(user="ict")
