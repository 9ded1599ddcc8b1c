"""``cpadapter config check|schema``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from adapter.commands.common import config_option
from adapter.config import config_problems, json_schema
from adapter.exit_codes import EXIT_FINDINGS, EXIT_OK, EXIT_UNUSABLE
from adapter.mapping_files import mapping_problems


@click.group("config")
def config_group() -> None:
    """Check config.yaml, or print its JSON Schema."""


@config_group.command("check")
@config_option
def check_command(config_path: Path) -> None:
    """Report every problem with its YAML path and line; exit 1 when there is any."""
    if not config_path.is_file():
        click.echo(f"{config_path}: no such file", err=True)
        raise SystemExit(EXIT_UNUSABLE)
    config, problems = config_problems(config_path)
    if config is None:
        for problem in problems:
            click.echo(f"{config_path}: {problem}")
        raise SystemExit(EXIT_FINDINGS)
    base = config_path.resolve().parent
    mapping_findings = []
    for index, source in enumerate(config.sources):
        if source.mapping is None:
            mapping_findings.append(f"{config_path}: sources[{index}].mapping: no mapping file")
            continue
        path = source.mapping if source.mapping.is_absolute() else base / source.mapping
        mapping_findings.extend(mapping_problems(path)[1])
    if mapping_findings:
        for finding in mapping_findings:
            click.echo(finding)
        raise SystemExit(EXIT_FINDINGS)
    click.echo(
        f"{config_path}: OK (LA {config.organisation.la_code}, {len(config.sources)} sources, "
        f"delivery by {config.delivery.transport})"
    )
    raise SystemExit(EXIT_OK)


@config_group.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of config.yaml (for editor completion)."""
    click.echo(json.dumps(json_schema(), indent=2))
