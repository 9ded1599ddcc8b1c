"""``cpadapter run``, ``preview`` and ``held``: the feed, a look at one source, the held report."""

from __future__ import annotations

import csv
import io
import json
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from lxml import etree

from adapter.commands.deliver import deliver_until
from adapter.commands.store_access import config_option, emit, fail, json_option, load, opened
from adapter.exit_codes import EXIT_FINDINGS, EXIT_OK
from adapter.held import list_held
from adapter.masking import mask_fields
from adapter.pipeline import SourceRun, mapper_for, run_sources
from adapter.sources import open_connector
from connectors.base import ReadReport
from ldi.errors import ConfigError, ContactPointError, StoreError
from ldi.xmlcodec import to_element
from mappings.gate import apply_policy
from outbox.delivery import WorkerHalted, worker_id

_COLUMNS = ("read", "unchanged", "upserts", "withdrawals", "vanished", "held", "queued")


def _table(runs: list[SourceRun]) -> str:
    header = f"{'source':<14}{'status':<8}" + "".join(f"{c:>12}" for c in _COLUMNS)
    lines = [header, "-" * len(header)]
    for run in runs:
        counts = run.counts.as_dict()
        lines.append(
            f"{run.source:<14}{run.status:<8}" + "".join(f"{counts[c]:>12}" for c in _COLUMNS)
        )
    for run in runs:
        if run.counts.duplicates:
            lines.append(
                f"{run.source}: {run.counts.duplicates} records read twice; the later read was used"
            )
        if run.counts.held_by_rule:
            rules = ", ".join(f"{r}: {n}" for r, n in sorted(run.counts.held_by_rule.items()))
            lines.append(f"{run.source}: held by rule: {rules}")
        if run.counts.reductions:
            done = ", ".join(f"{r}: {n}" for r, n in sorted(run.counts.reductions.items()))
            lines.append(f"{run.source}: reduced by the policy gate: {done}")
        if run.quarantined:
            lines.append(f"{run.source}: {len(run.quarantined)} input(s) quarantined:")
            lines.extend(f"  [{q.code}] {q.reason}" for q in run.quarantined[:20])
        if run.error_code:
            lines.append(f"{run.source}: FAILED [{run.error_code}] {run.error_message}")
    return "\n".join(lines)


@click.command("run")
@config_option
@click.option("--source", "sources", multiple=True, help="Run only this source (repeatable).")
@click.option("--dry-run", is_flag=True, help="Do everything, then roll back: nothing queued.")
@click.option("--deliver", is_flag=True, help="Then deliver until the outbox is empty.")
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=1,
    show_default=True,
    help="Run up to this many sources at once, each in its own process.",
)
@json_option
def run_command(
    config_path: Path,
    sources: tuple[str, ...],
    dry_run: bool,
    deliver: bool,
    workers: int,
    as_json: bool,
) -> None:
    """Extract, map, gate and queue the changes of each source; optionally deliver them.

    Ends with a summary per source: read = upserts + withdrawals + unchanged + held.
    Exit 0 when every source ran, 1 when any failed.
    """
    with opened(config_path, as_json=as_json) as (config, outbox):
        base = config_path.resolve().parent
        try:
            names = [config.source(n).name for n in sources] or None
        except ConfigError as exc:
            fail(str(exc), as_json=as_json)
            return
        show_bar = not as_json and sys.stderr.isatty()
        with (
            click.progressbar(length=0, label="records", file=sys.stderr)
            if show_bar
            else (_NoBar()) as bar
        ):
            runs = run_sources(
                config,
                outbox,
                base=base,
                names=names,
                dry_run=dry_run,
                progress=bar.update,
                workers=workers,
            )
        delivery: dict[str, Any] | None = None
        if deliver and not dry_run:
            try:
                summary = deliver_until(
                    config, outbox, owner=worker_id(), until_empty=True, stop=threading.Event()
                )
            except (WorkerHalted, StoreError, ConfigError) as exc:
                fail(f"deliver: {exc}", EXIT_FINDINGS, as_json=as_json)
                return
            delivery = {
                "records_submitted": summary.records_submitted,
                "batches_completed": summary.batches_completed,
                "batches_parked": summary.batches_parked,
                "outcomes": summary.outcomes,
            }
    data = {
        "dry_run": dry_run,
        "sources": [r.as_dict() for r in runs],
        "delivery": delivery,
    }

    def human(_: object) -> None:
        click.echo(_table(runs))
        if delivery is not None:
            click.echo(
                f"delivered {delivery['records_submitted']} records; outcomes "
                f"{delivery['outcomes']}"
            )
        if dry_run:
            click.echo("dry run: nothing was queued or stored")

    emit(data, as_json=as_json, human=human)
    raise SystemExit(EXIT_FINDINGS if any(r.status != "ok" for r in runs) else EXIT_OK)


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, _n: int) -> None:
        return None


@click.command("preview")
@click.argument("source_name", metavar="SOURCE")
@config_option
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option("--record", "record_key", default=None, help="Only the record with this key.")
@click.option(
    "--show-personal-data", is_flag=True, help="Show values (by default they are masked)."
)
@json_option
def preview_command(
    source_name: str,
    config_path: Path,
    limit: int,
    record_key: str | None,
    show_personal_data: bool,
    as_json: bool,
) -> None:
    """Show source fields beside the LDI XML they produce, and any breaches. Changes nothing."""
    config, base = load(config_path)
    try:
        source = config.source(source_name)
        mapper = mapper_for(source, base)
    except ConfigError as exc:
        fail(str(exc), as_json=as_json)
        return
    now = datetime.now(UTC)
    shown: list[dict[str, Any]] = []
    try:
        with open_connector(source) as connector:
            # A full read to find one key, which must change nothing: with put-away deferred
            # and never committed, no dropped file is archived or remembered as read.
            records = (
                connector.read(ReadReport(defer_put_away=True))
                if record_key
                else iter(connector.sample(limit))
            )
            for record in records:
                if record_key and record.key != record_key:
                    continue
                mapped = mapper.map(record)
                gated = apply_policy(mapped.record, run_at=now) if mapped.record else None
                xml = None
                if gated is not None and gated.record is not None:
                    xml = _xml(gated.record, show_personal_data)
                shown.append(
                    {
                        "key": record.key,
                        "provenance": str(record.provenance),
                        "fields": dict(record.fields)
                        if show_personal_data
                        else mask_fields(record.fields),
                        "verdict": gated.verdict.value if gated else "hold",
                        "breaches": [
                            {"rule": b.rule, "path": b.path, "message": b.message}
                            for b in (gated.breaches if gated else mapped.breaches)
                        ],
                        "reductions": list(gated.reductions) if gated else [],
                        "omitted": [f"{n.path}: {n.message}" for n in mapped.notes],
                        "xml": xml,
                    }
                )
                if len(shown) >= limit:
                    break
    except ContactPointError as exc:
        fail(str(exc), EXIT_FINDINGS, as_json=as_json)
        return

    def human(items: list[dict[str, Any]]) -> None:
        for item in items:
            click.echo(f"=== {item['key']} ({item['provenance']}): {item['verdict']}")
            click.echo(json.dumps(item["fields"], indent=2, default=str))
            for b in item["breaches"]:
                click.echo(f"  {b['rule']} {b['path']}: {b['message']}")
            for r in item["reductions"] + item["omitted"]:
                click.echo(f"  note: {r}")
            if item["xml"]:
                click.echo(item["xml"])

    emit(shown, as_json=as_json, human=human)


def _xml(record: Any, show: bool) -> str:
    element = to_element(record, "Record")
    if not show:
        for node in element.iter():
            if node.text and node.text.strip() and len(node) == 0:
                node.text = "***"
    return etree.tostring(element, pretty_print=True, encoding="unicode")


@click.command("held")
@config_option
@click.option("--source", "source_name", default=None, help="Only this source.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV for the owning team.")
@json_option
def held_command(config_path: Path, source_name: str | None, as_csv: bool, as_json: bool) -> None:
    """List held records: rule ids, paths and where each came from (file + line, table + key)."""
    with opened(config_path, as_json=as_json) as (_config, outbox):
        rows = list_held(outbox.engine, source=source_name)
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["source", "source_record_id", "rules", "provenance", "breaches", "since"])
        for row in rows:
            writer.writerow(
                [
                    row.source,
                    row.source_record_id,
                    " ".join(row.rules),
                    row.provenance,
                    "; ".join(f"{b.rule} {b.path}: {b.message}" for b in row.breaches),
                    row.first_held_at.isoformat(),
                ]
            )
        click.echo(out.getvalue(), nl=False)
        return
    data = [
        {
            "source": r.source,
            "source_record_id": r.source_record_id,
            "rules": list(r.rules),
            "provenance": r.provenance,
            "breaches": [
                {"rule": b.rule, "path": b.path, "message": b.message} for b in r.breaches
            ],
            "first_held_at": r.first_held_at.isoformat(),
        }
        for r in rows
    ]

    def human(items: list[dict[str, Any]]) -> None:
        for item in items:
            click.echo(
                f"{item['source']} {item['source_record_id']} ({item['provenance']}): "
                + "; ".join(f"{b['rule']} {b['path']}: {b['message']}" for b in item["breaches"])
            )
        click.echo(f"{len(items)} held records")

    emit(data, as_json=as_json, human=human)
