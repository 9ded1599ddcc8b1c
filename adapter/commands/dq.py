"""``cpadapter dq report``: the local data quality report (IA-DQ-01 … IA-DQ-05) of each source.

Reads each source as a feed would (nothing is queued or stored), and writes ``dq-report.html``
and ``dq-report.json`` in ``--out``. Exit 0 when every check passes (warnings allowed), 1 when
any check fails, 2 when the configuration, a source name or a mapping file cannot be used.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from adapter.commands.common import config_option, json_option, load
from adapter.dataquality import QualityReport, assess
from adapter.dataquality.report_html import write_html
from adapter.dataquality.report_json import report_dict, write_json
from adapter.exit_codes import EXIT_FINDINGS, EXIT_OK, EXIT_UNUSABLE
from ldi.errors import ConfigError


@click.group("dq")
def dq_group() -> None:
    """Data quality of the configured sources (the Local Data Quality Tool)."""


@dq_group.command("report")
@config_option
@click.option("--source", "names", multiple=True, help="Only this source (repeatable).")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for dq-report.html and dq-report.json (created if missing).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Records per source.")
@json_option
def report_command(
    config_path: Path, names: tuple[str, ...], out_dir: Path, limit: int | None, as_json: bool
) -> None:
    """Measure each source against the quality thresholds; write the HTML and JSON report."""
    config, base = load(config_path)
    try:
        report = assess(config, base=base, names=list(names) or None, limit=limit)
    except ConfigError as exc:
        click.echo(f"{config_path}: {exc.message}", err=True)
        raise SystemExit(EXIT_UNUSABLE) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = write_html(report, out_dir)
    json_path = write_json(report, out_dir)
    if as_json:
        click.echo(json.dumps(report_dict(report), default=str))
    else:
        _print(report)
        click.echo(f"wrote {html_path} and {json_path}")
    raise SystemExit(exit_code(report))


def exit_code(report: QualityReport) -> int:
    """2 when a source's mapping or settings are unusable, 1 on any failed check, else 0."""
    if any(s.error.startswith("CFG-") for s in report.sources):
        return EXIT_UNUSABLE
    return EXIT_FINDINGS if report.verdict == "fail" else EXIT_OK


def _print(report: QualityReport) -> None:
    width = max((len(s.source) for s in report.sources), default=6)
    click.echo(f"data quality verdict: {report.verdict.upper()}")
    for source in report.sources:
        cells = "  ".join(
            f"{c.id[-2:]} {c.verdict:<4} {c.metric * 100:5.1f}%" for c in source.checks
        )
        click.echo(f"{source.source:<{width}}  {source.verdict.upper():<4}  {cells}")
        if source.error:
            click.echo(f"{'':<{width}}  {source.error}")
