"""config.yaml: typed models, ${ENV} secrets, errors with YAML path and line, JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapter.cli import main
from adapter.config import config_problems, json_schema, load_config
from ldi.errors import ConfigError

VALID = """\
organisation:
  la_code: "891"
  name: Test
store:
  url: sqlite:///var/test.db
  encryption_key: ${TEST_STORE_KEY}
delivery:
  batch_size: 500
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_committed_config_is_valid(repo_root: Path) -> None:
    """The committed config.yaml (the demo's) passes config check."""
    config, problems = config_problems(repo_root / "config.yaml")
    assert problems == []
    assert config is not None and config.organisation.la_code == "891"


def test_environment_secrets_are_substituted_and_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """${VAR} is read from the environment into a SecretStr that does not print its value."""
    monkeypatch.setenv("TEST_STORE_KEY", "c2VjcmV0LWtleS1ieXRlcw==")
    config = load_config(write(tmp_path, VALID))
    assert config.store.encryption_key is not None
    assert config.store.encryption_key.get_secret_value() == "c2VjcmV0LWtleS1ieXRlcw=="
    assert "c2VjcmV0" not in repr(config)
    assert config.delivery.batch_size == 500


def test_missing_environment_variable_names_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ${VAR} that is not set is reported with the YAML path that uses it."""
    monkeypatch.delenv("TEST_STORE_KEY", raising=False)
    _, problems = config_problems(write(tmp_path, VALID))
    assert problems == ["store.encryption_key: environment variable TEST_STORE_KEY is not set"]


def test_each_problem_has_yaml_path_and_line(tmp_path: Path) -> None:
    """Invalid values are reported as 'yaml.path (line N): message', all of them at once."""
    text = VALID.replace('"891"', '"999"').replace("batch_size: 500", "batch_size: 5000")
    text = text.replace("  encryption_key: ${TEST_STORE_KEY}\n", "")
    _, problems = config_problems(write(tmp_path, text))
    assert any(p.startswith("organisation.la_code (line 2):") for p in problems), problems
    assert any(p.startswith("delivery.batch_size (line 7):") for p in problems), problems


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    """A misspelt key is refused rather than silently ignored."""
    text = VALID.replace("  encryption_key: ${TEST_STORE_KEY}\n", "  encyption_key: x\n")
    _, problems = config_problems(write(tmp_path, text))
    assert problems and problems[0].startswith("store.encyption_key (line 6):")


def test_unknown_connector_kind_lists_known(tmp_path: Path) -> None:
    """A source naming a connector kind that is not installed is an error naming the kind."""
    text = VALID.replace("  encryption_key: ${TEST_STORE_KEY}\n", "") + (
        "sources:\n  - name: s\n    kind: carrier-pigeon\n    source_system: ABC123\n"
    )
    _, problems = config_problems(write(tmp_path, text))
    assert len(problems) == 1 and "carrier-pigeon" in problems[0]


def test_not_yaml_is_reported_with_line(tmp_path: Path) -> None:
    """Broken YAML is reported with its line."""
    _, problems = config_problems(write(tmp_path, "organisation:\n  la_code: [\n"))
    assert problems and "line" in problems[0]


def test_load_config_raises_config_error(tmp_path: Path) -> None:
    """load_config raises ConfigError (CFG-INVALID) naming the file."""
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "organisation: {}\n"))
    assert caught.value.code == "CFG-INVALID"
    assert "config.yaml" in str(caught.value)


def test_config_check_command_exit_codes(tmp_path: Path, repo_root: Path) -> None:
    """config check exits 0 on a good file, 1 with findings, 2 when the file is missing."""
    runner = CliRunner()
    good = runner.invoke(main, ["config", "check", "--config", str(repo_root / "config.yaml")])
    assert good.exit_code == 0 and "OK" in good.output
    bad = runner.invoke(
        main, ["config", "check", "--config", str(write(tmp_path, "organisation: {}\n"))]
    )
    assert bad.exit_code == 1 and "organisation.la_code" in bad.output
    missing = runner.invoke(main, ["config", "check", "--config", str(tmp_path / "x.yaml")])
    assert missing.exit_code == 2


def test_json_schema_describes_the_config() -> None:
    """config schema prints a JSON Schema with the top-level sections."""
    result = CliRunner().invoke(main, ["config", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert {"organisation", "store", "sources", "delivery", "logging"} <= set(schema["properties"])
    assert schema == json_schema()
