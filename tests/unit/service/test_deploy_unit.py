"""The shipped systemd unit runs `cpadapter serve` hardened, as its own user."""

from __future__ import annotations

from pathlib import Path

UNIT = Path(__file__).resolve().parents[3] / "deploy" / "cpadapter.service"


def _directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_unit_runs_serve_as_its_own_user_with_hardening() -> None:
    """ExecStart is `serve`, User is cpadapter, and the hardening directives are on."""
    unit = _directives()
    assert unit["ExecStart"][0].endswith("cpadapter serve --config /srv/cpadapter/config.yaml")
    assert unit["User"] == ["cpadapter"]
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices"):
        assert unit[key] == ["yes"], key
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["ReadWritePaths"] == ["/srv/cpadapter/var /srv/cpadapter/certs"]
    assert unit["CapabilityBoundingSet"] == [""]
    assert unit["KillSignal"] == ["SIGTERM"]
