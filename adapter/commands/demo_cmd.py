"""``cpadapter demo seed``: create the demo sources (see :mod:`demo.seed`)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from demo.seed import seed_demo


@click.group("demo")
def demo_group() -> None:
    """Demo local systems: a synthetic authority's sources and national index."""


@demo_group.command("seed")
@click.option("--children", default=2000, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option("--seed", "seed_value", default=891, show_default=True, help="Random seed.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Where to write the sources.",
)
@click.option(
    "--db",
    "db_url",
    default=None,
    help="SQLAlchemy URL for the social care and youth tables (default: SQLite files in --dir).",
)
@click.option(
    "--on",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default="2026-11-01",
    show_default=True,
    help="Reference date the population's ages are computed on.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def seed_command(
    children: int, seed_value: int, directory: Path, db_url: str | None, on: datetime, as_json: bool
) -> None:
    """Generate the Frameworki-like and Raise-like databases, CTF files, health data and index."""
    result = seed_demo(directory, children=children, seed=seed_value, on=on.date(), db_url=db_url)
    summary = {
        "children": result.children,
        "frameworki_rows": result.frameworki_rows,
        "raise_rows": result.raise_rows,
        "ctf_files": len(result.ctf_files),
        "health_records": result.health_records,
        "national_records": result.national_records,
        "paths": result.paths,
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"Seeded a demo authority of {result.children} children in {directory}:")
    click.echo(f"  social care (Frameworki-like): {sum(result.frameworki_rows.values())} rows")
    click.echo(f"  youth services (Raise-like):   {sum(result.raise_rows.values())} rows")
    click.echo(f"  school CTF files:              {len(result.ctf_files)}")
    click.echo(f"  health SOAP service records:   {result.health_records}")
    click.echo(f"  national index records:        {result.national_records}")
