"""hub.yaml: parsed once, paths resolved, certificates turned into fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter.pki import fingerprint_pem, init_dev_pki
from hub.config import load_config
from ldi.errors import ConfigError


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    init_dev_pki(directory)
    return directory


def _write(tmp_path: Path, certs: Path, extra: str = "") -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(
        f"tls: {{certificate: {certs}/hub.pem, key: {certs}/hub.key, client_ca: {certs}/ca.pem}}\n"
        "store: {url: 'sqlite:///var/hub.db'}\n" + extra
    )
    return path


def test_register_entries_get_fingerprints_and_paths_are_resolved(
    tmp_path: Path, certs: Path
) -> None:
    """A certificate path becomes its fingerprint; a relative SQLite path becomes absolute."""
    path = _write(
        tmp_path,
        certs,
        f"register:\n  - {{certificate: {certs}/client.pem, la_code: '891', "
        "source_systems: [FWK891]}\n",
    )
    config = load_config(path)
    [entry] = config.accreditation
    assert entry.fingerprint == fingerprint_pem(certs / "client.pem")
    assert config.store.url == f"sqlite:///{tmp_path.resolve()}/var/hub.db"
    assert config.processing.mode == "inline"
    assert config.misbehaviour.unavailable_probability == 0


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "register:\n  - {fingerprint: abc, la_code: '891', source_systems: [FWK891]}\n",
            "register[0].fingerprint (line 4)",
        ),
        (
            "register:\n  - {fingerprint: "
            + "a" * 64
            + ", la_code: '100', source_systems: [FWK891]}\n",
            "register[0] (line 4)",
        ),
        (
            "misbehaviour: {unavailable_probability: 2}\n",
            "misbehaviour.unavailable_probability (line 3)",
        ),
        ("surprise: 1\n", "surprise (line 3)"),
    ],
    ids=["bad-fingerprint", "bad-la", "probability", "unknown-key"],
)
def test_problems_name_yaml_path_and_line(
    tmp_path: Path, certs: Path, extra: str, expected: str
) -> None:
    """Each problem names its YAML path and line, and the file is refused whole."""
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, certs, extra))
    assert expected in str(caught.value)


def test_the_same_certificate_twice_is_refused(tmp_path: Path, certs: Path) -> None:
    """One certificate maps to one LA (LDI-TRN-03), even when named once by path, once by hash."""
    fingerprint = fingerprint_pem(certs / "client.pem")
    extra = (
        "register:\n"
        f"  - {{certificate: {certs}/client.pem, la_code: '891', source_systems: [FWK891]}}\n"
        f"  - {{fingerprint: {fingerprint}, la_code: '815', source_systems: [CARE815]}}\n"
    )
    with pytest.raises(ConfigError, match="twice"):
        load_config(_write(tmp_path, certs, extra))


def test_unreadable_certificate_is_a_config_error(tmp_path: Path, certs: Path) -> None:
    """A register entry naming a missing certificate file fails at load, not at serve time."""
    extra = (
        f"register:\n  - {{certificate: {tmp_path}/none.pem, la_code: '891', "
        "source_systems: [FWK891]}\n"
    )
    with pytest.raises(ConfigError, match=r"register\[0\]"):
        load_config(_write(tmp_path, certs, extra))
