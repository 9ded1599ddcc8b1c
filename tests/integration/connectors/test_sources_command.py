"""`cpadapter sources test|sample` against real databases: verdicts, exit codes, masking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from click.testing import CliRunner, Result

from adapter.cli import main
from demo import frameworki
from tests.fixtures.databases import DatabaseFactory, DemoDatabases, load_demo
from tests.integration.connectors.sql_support import example_options


@pytest.fixture(scope="module")
def sqlite_demo(database_factory: DatabaseFactory, demo_children: list[Any]) -> DemoDatabases:
    """The demo databases as SQLite files (the CLI is the same on every backend)."""
    return load_demo(database_factory, "sqlite", demo_children[:60], "cli")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in a scratch directory (var/state goes there); undo the CLI's logging set-up."""
    monkeypatch.chdir(tmp_path)
    yield
    structlog.reset_defaults()


def _write_config(path: Path, urls: dict[str, str]) -> Path:
    sources = [
        {
            "name": name,
            "kind": "sql",
            "source_system": {"frameworki": "FWK891", "raise": "RAISE891"}[name],
            "options": example_options(name) | {"url": url},
        }
        for name, url in urls.items()
    ]
    config = {"organisation": {"la_code": "891", "name": "Test"}, "sources": sources}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_one_broken_source_fails_the_run_but_not_the_others(
    sqlite_demo: DemoDatabases, database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    """A good and a wrong-password source: both verdicts printed, exit 1, no traceback."""
    user = database_factory.mariadb_user("the-right-one")
    config = _write_config(
        tmp_path / "config.yaml",
        {
            "raise": f"mariadb+pymysql://{user}:not-the-right-one@127.0.0.1:3306/test",
            "frameworki": sqlite_demo.frameworki_url,
        },
    )
    result = _run("sources", "test", "--config", str(config))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("raise       FAIL  sql: [SRC-AUTH] source 'raise': ")
    assert lines[1].startswith("frameworki  OK    sql: 5 records sampled")
    assert "Traceback" not in result.output
    assert "not-the-right-one" not in result.output


def test_debug_shows_the_traceback_of_a_failure(sqlite_demo: DemoDatabases, tmp_path: Path) -> None:
    """--debug adds the traceback of a failing source."""
    config = _write_config(
        tmp_path / "config.yaml", {"frameworki": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    )
    result = _run("sources", "test", "--config", str(config), "--debug")
    assert result.exit_code == 1
    assert "FAIL  sql: [SRC-CONNECT]" in result.output
    assert "Traceback" in result.output


def test_all_sources_ok_exits_zero(sqlite_demo: DemoDatabases, tmp_path: Path) -> None:
    """Every source connecting and sampling gives exit 0 and one OK line each."""
    config = _write_config(
        tmp_path / "config.yaml",
        {"frameworki": sqlite_demo.frameworki_url, "raise": sqlite_demo.raise_url},
    )
    result = _run("sources", "test", "--config", str(config), "-n", "2")
    assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.output.splitlines()] == ["OK", "OK"]
    assert (tmp_path / "var" / "state" / "frameworki").is_dir()


def test_sample_masks_personal_data_by_default(sqlite_demo: DemoDatabases, tmp_path: Path) -> None:
    """Without the flag, a child's name, NHS number and postcode are absent; key shown."""
    config = _write_config(tmp_path / "config.yaml", {"frameworki": sqlite_demo.frameworki_url})
    child = next(c for c in sqlite_demo.children if c.in_social_care)
    pid = frameworki.person_id_for(child)
    masked = _run("sources", "sample", "frameworki", "-n", "1", "--config", str(config))
    assert masked.exit_code == 0, masked.output
    assert f"#1 key={pid}  (person key={pid})" in masked.output
    assert f"person_id: {pid}" in masked.output
    assert f"forename: {child.given_name[0]}***" in masked.output
    assert f"date_of_birth: {child.birth_date.year}-**-**" in masked.output
    secrets = [child.given_name, child.family_name, child.nhs_number, child.postcode]
    for value in filter(None, secrets):
        assert value not in masked.output
    shown = _run(
        "sources", "sample", "frameworki", "-n", "1", "--config", str(config),
        "--show-personal-data",
    )  # fmt: skip
    assert shown.exit_code == 0
    assert f"forename: {child.given_name}" in shown.output
    assert f"surname: {child.family_name}" in shown.output


def test_sample_of_unknown_source_is_a_usage_error(
    sqlite_demo: DemoDatabases, tmp_path: Path
) -> None:
    """Naming a source that is not configured exits 2 and lists the configured ones."""
    config = _write_config(tmp_path / "config.yaml", {"frameworki": sqlite_demo.frameworki_url})
    result = _run("sources", "sample", "nosuch", "--config", str(config))
    assert result.exit_code == 2
    assert "configured: frameworki" in result.output
