"""`cpadapter accredit type` end to end (fast profile), its pack, and sabotage cases.

The sabotage tests break one product behaviour on purpose through the harness's test-only
:class:`Faults` and prove the matching check turns ``fail`` (not ``error``, not ``pass``).
Runtime: about 25 s for the end-to-end run, a few seconds per sabotage case.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapter.accreditation.harness import Faults
from adapter.accreditation.results import Status
from adapter.accreditation.type_run import run_type_checks
from ldi.errors import DeliveryError
from ldi.models import BatchOutcome, BatchReceipt
from outbox import retry
from outbox.transports.base import Pending, Transport

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def type_pack(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One real `cpadapter accredit type --out DIR` run for the module."""
    out = tmp_path_factory.mktemp("accredit") / "pack"
    result = subprocess.run(
        [sys.executable, "-m", "adapter", "accredit", "type", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return out, result


def test_type_accreditation_passes_and_its_pack_verifies(
    type_pack: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """Overall pass on the product (fast profile); every TA check present; the pack verifies."""
    out, result = type_pack
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["verdict"] == "pass"
    statuses = {r["check_id"]: r["status"] for r in data["results"]}
    assert len(statuses) == 28
    assert set(statuses.values()) == {"pass"}, statuses
    verify = subprocess.run(
        [sys.executable, "-m", "adapter", "accredit", "verify", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout
    assert any((out / "exchanges").iterdir())


def test_the_pack_holds_no_personal_data(
    type_pack: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """No name or identifier the run delivered appears in any file of the pack, or its output."""
    out, result = type_pack
    seen = [b"Quillon", b"Zorblequinth", b"Nomatchington", b"Amelia", b"Smith-Jones", b"9434765919"]
    texts = [p.read_bytes() for p in out.rglob("*") if p.is_file()]
    texts.append((result.stdout + result.stderr).encode())
    assert not [name for name in seen for text in texts if name in text]


def test_report_opens_in_headless_chromium_without_network(
    type_pack: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """report.html renders offline: verdict visible, screenshot taken, one request only."""
    from playwright.sync_api import sync_playwright

    out, _ = type_pack
    report = out / "report.html"
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto(report.as_uri())
            verdict = page.locator("#verdict")
            assert verdict.is_visible()
            assert "Verdict: PASS" in verdict.inner_text()
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 1000
    assert requests == [report.as_uri()]


class IgnoresRetryAfter:
    """A transport that loses the hub's Retry-After (the bug TA-REL-01 must catch)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.max_records = inner.max_records
        self.max_bytes = inner.max_bytes

    def submit(self, batch_xml: bytes, batch_id: str) -> BatchReceipt:
        try:
            return self.inner.submit(batch_xml, batch_id)
        except DeliveryError as exc:
            raise retry.error_for(exc.code, exc.message) from None

    def get_outcome(self, batch_id: str) -> BatchOutcome | Pending:
        return self.inner.get_outcome(batch_id)

    def close(self) -> None:
        self.inner.close()


def test_sabotage_a_transport_ignoring_retry_after_fails_ta_rel_01() -> None:
    run, _ = run_type_checks(faults=Faults(wrap_transport=IgnoresRetryAfter), only={"TA-REL-01"})
    [result] = run.results
    assert result.status is Status.FAIL, result.message
    assert "Retry-After" in result.message


def _no_verification(context: ssl.SSLContext) -> None:
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE


def _unverified_session(transport: Any) -> None:
    transport._session.verify = False  # what `requests.post(..., verify=False)` would do


def test_sabotage_no_certificate_verification_fails_ta_trn_02_and_03() -> None:
    """A client that does not verify the hub (no CA check, no host name) fails both checks."""
    faults = Faults(tls_context=_no_verification, soap_transport=_unverified_session)
    run, _ = run_type_checks(faults=faults, only={"TA-TRN-02", "TA-TRN-03"})
    assert {r.check_id: r.status for r in run.results} == {
        "TA-TRN-02": Status.FAIL,
        "TA-TRN-03": Status.FAIL,
    }, [r.message for r in run.results]


def test_a_broken_harness_is_error_not_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the hub cannot start, every check is `error` and nothing reads as a product fail."""
    import adapter.accreditation.harness as harness

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError("address in use")

    monkeypatch.setattr(harness, "init_dev_pki", broken)
    run, _ = run_type_checks(only={"TA-TRN-01", "TA-SEC-03"})
    assert [r.status for r in run.results] == [Status.ERROR, Status.ERROR]
    assert run.verdict is Status.ERROR


def test_sabotage_host_key_pinning_off_fails_ta_trn_05() -> None:
    """An SSH client that accepts any host key (AutoAddPolicy, no known_hosts) fails TA-TRN-05."""
    run, _ = run_type_checks(
        faults=Faults(sftp_accept_any_host_key=True), only={"TA-TRN-04", "TA-TRN-05"}
    )
    statuses = {r.check_id: r.status for r in run.results}
    assert statuses == {"TA-TRN-04": Status.PASS, "TA-TRN-05": Status.FAIL}, [
        r.message for r in run.results
    ]
