"""``cpadapter sources test|sample``: check that each configured source connects and reads.

``test`` is what an ICT officer runs after editing config.yaml, and what instance accreditation
(IA-CON-01) records: one line per source with a verdict, the error code and one reason, every
source tried even when one fails. ``sample`` shows what a source delivers, masked by default
(:mod:`adapter.masking`), so it can be run with a colleague looking over one's shoulder.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import click

from adapter.commands.common import config_option, load
from adapter.exit_codes import EXIT_FINDINGS, EXIT_OK, EXIT_UNUSABLE
from adapter.masking import mask_fields
from adapter.sources import DEFAULT_STATE_ROOT, check_source, sample_source
from connectors.base import SourceRecord
from ldi.errors import ConfigError, ContactPointError

_debug_option = click.option(
    "--debug", is_flag=True, help="Show the full traceback of a failure (may name internals)."
)


@click.group("sources")
def sources_group() -> None:
    """Test the configured sources, or show sample records of one."""


@sources_group.command("test")
@config_option
@click.option("-n", "limit", default=5, show_default=True, help="Records to read per source.")
@_debug_option
def test_command(config_path: Path, limit: int, debug: bool) -> None:
    """Connect each enabled source and read a sample; exit 1 if any source failed."""
    config, _base = load(config_path)
    if not config.sources:
        click.echo(f"{config_path}: no sources configured")
        raise SystemExit(EXIT_OK)
    width = max(len(source.name) for source in config.sources)
    failed = 0
    for source in config.sources:
        if not source.enabled:
            click.echo(f"{source.name:<{width}}  SKIP  {source.kind}: disabled")
            continue
        check = check_source(source, limit=limit, state_root=DEFAULT_STATE_ROOT)
        if check.ok:
            click.echo(
                f"{source.name:<{width}}  OK    {source.kind}: {check.records} records sampled "
                f"in {check.duration_ms} ms"
            )
            continue
        failed += 1
        click.echo(f"{source.name:<{width}}  FAIL  {source.kind}: [{check.code}] {check.reason}")
        if debug and check.error is not None:
            click.echo("".join(traceback.format_exception(check.error)), err=True)
    raise SystemExit(EXIT_FINDINGS if failed else EXIT_OK)


def _show(value: Any) -> str:
    return "null" if value is None else str(value)


def _print_record(number: int, record: SourceRecord, *, masked: bool) -> None:
    def shown(fields: Any) -> dict[str, Any]:
        return mask_fields(fields) if masked else dict(fields)

    deleted = "  DELETED" if record.deleted else ""
    click.echo(f"#{number} key={record.key}  ({record.provenance}){deleted}")
    click.echo(f"  change marker: {record.fingerprint()}")
    for name, value in shown(record.fields).items():
        click.echo(f"  {name}: {_show(value)}")
    for relation, rows in record.related.items():
        click.echo(f"  {relation}: {len(rows)} row{'s' if len(rows) != 1 else ''}")
        for row in rows:
            click.echo("    - " + ", ".join(f"{k}={_show(v)}" for k, v in shown(row).items()))


@sources_group.command("sample")
@click.argument("name")
@config_option
@click.option("-n", "limit", default=5, show_default=True, help="Number of records.")
@click.option(
    "--show-personal-data",
    is_flag=True,
    help="Show values unmasked. Only where nobody else can see the screen.",
)
@_debug_option
def sample_command(
    name: str, config_path: Path, limit: int, show_personal_data: bool, debug: bool
) -> None:
    """Show up to N raw records of source NAME with their provenance (values masked)."""
    config, _base = load(config_path)
    try:
        source = config.source(name)
    except ConfigError as exc:
        click.echo(f"{config_path}: {exc.message}", err=True)
        raise SystemExit(EXIT_UNUSABLE) from None
    try:
        records = sample_source(source, limit, state_root=DEFAULT_STATE_ROOT)
    except ContactPointError as exc:
        click.echo(f"{name}: FAIL [{exc.code}] {exc.message}", err=True)
        if debug:
            click.echo("".join(traceback.format_exception(exc)), err=True)
        raise SystemExit(EXIT_FINDINGS) from None
    if not show_personal_data:
        click.echo("(values masked; --show-personal-data shows them)")
    for number, record in enumerate(records, 1):
        _print_record(number, record, masked=not show_personal_data)
    click.echo(f"{len(records)} record{'s' if len(records) != 1 else ''} from {name}")
    raise SystemExit(EXIT_OK)
