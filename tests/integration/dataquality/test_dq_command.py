"""``cpadapter dq report``: files, exit codes, thresholds, masking, and the page in Chromium."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import sync_playwright

from adapter.cli import main
from adapter.dataquality.report_html import write_html
from adapter.dataquality.report_json import write_json
from demo.frameworki import person_id_for
from demo.population import generate_population
from tests.integration.dataquality.conftest import CHILDREN, Demo, write_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def run(*args: str) -> tuple[int, str]:
    """Run cpadapter with ``args``; exit code and stdout."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


def test_report_writes_html_and_json_and_passes(seeded: Demo, tmp_path: Path) -> None:
    """The demo's social care source passes (warnings allowed): exit 0, both files written."""
    code, out = run(
        "dq",
        "report",
        "--config",
        str(seeded.config_path),
        "--source",
        "frameworki",
        "--out",
        str(tmp_path),
        "--json",
    )
    data = json.loads(out)
    assert code == 0, out
    assert data["verdict"] in ("pass", "warn")
    assert [c["id"] for c in data["sources"][0]["checks"]] == [
        "IA-DQ-01",
        "IA-DQ-02",
        "IA-DQ-03",
        "IA-DQ-04",
        "IA-DQ-05",
    ]
    assert json.loads((tmp_path / "dq-report.json").read_text())["verdict"] == data["verdict"]
    assert "Verdict:" in (tmp_path / "dq-report.html").read_text()


def test_strict_threshold_fails_the_matching_check(seeded: Demo, tmp_path: Path) -> None:
    """A validity threshold above what the demo reaches fails IA-DQ-02 only, with exit code 1."""
    config = write_config(tmp_path, seeded.demo, {"validity": {"warn": 0.999, "fail": 0.995}})
    code, out = run(
        "dq",
        "report",
        "--config",
        str(config),
        "--source",
        "frameworki",
        "--out",
        str(tmp_path / "out"),
        "--json",
    )
    assert code == 1
    checks = {c["id"]: c["verdict"] for c in json.loads(out)["sources"][0]["checks"]}
    assert checks["IA-DQ-02"] == "fail"
    assert checks["IA-DQ-01"] != "fail" and checks["IA-DQ-04"] != "fail"


@pytest.mark.parametrize(
    ("config_text", "source"),
    [
        ("organisation: {la_code: '999', name: X}\n", None),  # invalid LA code
        ("organisation: {la_code: '891', name: X}\n", "nosuch"),  # unknown source
    ],
)
def test_unusable_config_exits_2(tmp_path: Path, config_text: str, source: str | None) -> None:
    """An invalid configuration or an unknown source name is exit code 2."""
    path = tmp_path / "config.yaml"
    path.write_text(config_text)
    args = ["dq", "report", "--config", str(path), "--out", str(tmp_path / "out")]
    code, _ = run(*args, *(["--source", source] if source else []))
    assert code == 2


def test_no_personal_data_in_the_report_files(seeded: Demo, tmp_path: Path) -> None:
    """Seeded children's full names, NHS numbers and postcodes appear in neither file."""
    write_html(seeded.report, tmp_path)
    write_json(seeded.report, tmp_path)
    html = (tmp_path / "dq-report.html").read_text()
    text = (tmp_path / "dq-report.json").read_text()
    population = generate_population(CHILDREN, seed=891, on=date(2026, 11, 1))
    listed = {r.source_key for s in seeded.report.sources for r in s.failing}
    shown = [c for c in population if str(person_id_for(c)) in listed]
    assert len(shown) > 10  # the check is not vacuous: these children have rows in the report
    for child in shown:
        for secret in (
            f"{child.given_name} {child.family_name}",
            child.family_name.upper(),
            child.nhs_number,
            child.postcode,
            child.birth_date.isoformat(),
        ):
            if secret:
                assert secret not in html and secret not in text, "personal data leaked"


def test_html_opens_in_chromium_without_network(seeded: Demo, tmp_path: Path) -> None:
    """Headless Chromium shows the verdict; the only request is the page itself."""
    page_path = write_html(seeded.report, tmp_path)
    url = page_path.resolve().as_uri()
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url)
            page.wait_for_load_state("networkidle")
            verdict = page.locator("#verdict")
            assert verdict.is_visible()
            assert verdict.inner_text().startswith("Verdict: ")
            assert page.locator("svg").count() >= 3
            page.screenshot(path=str(tmp_path / "dq-report.png"), full_page=False)
        finally:
            browser.close()
    assert (tmp_path / "dq-report.png").stat().st_size > 1000
    assert requests == [url]
