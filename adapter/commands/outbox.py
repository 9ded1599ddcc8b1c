"""``cpadapter outbox status|list|show|retry|park|replay|purge``: the operator's view of the outbox.

Thin: the work and the audit entries are in :mod:`outbox.operator`. Output names entries by
message id and source record id only, never a payload.
Exit codes: 0 done; 1 some of the asked entries were refused (each with its reason) or not
found; 2 configuration or store unusable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from adapter.commands.store_access import config_option, emit, json_option, reading, writing
from adapter.exit_codes import EXIT_FINDINGS, EXIT_OK
from outbox import operator
from outbox.entries import EntryState


@click.group("outbox")
def outbox_group() -> None:
    """Inspect and steer the durable outbox."""


@outbox_group.command("status")
@config_option
@json_option
def status_command(config_path: Path, as_json: bool) -> None:
    """Counts per state, parked reasons, outcomes, Stale count and open work-list items."""
    with reading(config_path, as_json=as_json) as (_config, _outbox, conn):
        data = operator.status(conn)

    def human(d: dict[str, Any]) -> None:
        click.echo("entries:  " + ", ".join(f"{k} {v}" for k, v in d["entries"].items()))
        click.echo("batches:  " + ", ".join(f"{k} {v}" for k, v in d["batches"].items()))
        click.echo(
            "outcomes: " + (", ".join(f"{k} {v}" for k, v in d["outcomes"].items()) or "none")
        )
        if d["parked_by_reason"]:
            click.echo(
                "parked:   " + ", ".join(f"{k} {v}" for k, v in d["parked_by_reason"].items())
            )
        click.echo(f"worklist: {d['worklist_open']} open")
        if d["oldest_pending"]:
            click.echo(f"oldest pending since {d['oldest_pending']}")
        if d["stale"]:
            click.echo(f"STALE OUTCOMES: {d['stale']} (a bug: TA-REL-05)", err=True)

    emit(data, as_json=as_json, human=human)
    raise SystemExit(EXIT_OK)


@outbox_group.command("list")
@config_option
@click.option("--state", type=click.Choice([s.value for s in EntryState]))
@click.option("--source", "source_system", help="Source system id.")
@click.option("--record", "source_record_id", help="Source record id.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@json_option
def list_command(
    config_path: Path,
    state: str | None,
    source_system: str | None,
    source_record_id: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Entries, newest first."""
    with reading(config_path, as_json=as_json) as (_config, _outbox, conn):
        rows = operator.list_entries(
            conn,
            state=state,
            source_system=source_system,
            source_record_id=source_record_id,
            limit=limit,
        )

    def human(items: list[dict[str, Any]]) -> None:
        for r in items:
            extra = r["outcome_status"] or r["last_error_code"] or ""
            click.echo(
                f"{r['message_id']} {r['source_system']} {r['source_record_id']} "
                f"v{r['version']} {r['state']:<10} attempts {r['attempts']} {extra}"
            )

    emit({"entries": rows} if as_json else rows, as_json=as_json, human=human)
    raise SystemExit(EXIT_OK)


@outbox_group.command("show")
@config_option
@click.argument("message_id")
@json_option
def show_command(config_path: Path, message_id: str, as_json: bool) -> None:
    """One entry (by message id) with its batch and outcome; never its payload."""
    with reading(config_path, as_json=as_json) as (_config, _outbox, conn):
        data = operator.show(conn, message_id)
    if data is None:
        emit(
            {"error": f"no entry {message_id}"},
            as_json=as_json,
            human=lambda d: click.echo(f"outbox: {d['error']}", err=True),
        )
        raise SystemExit(EXIT_FINDINGS)

    def human(d: dict[str, Any]) -> None:
        for key, value in d.items():
            click.echo(f"{key}: {value}")

    emit(data, as_json=as_json, human=human)
    raise SystemExit(EXIT_OK)


def _report(result: dict[str, Any], verb: str, as_json: bool) -> None:
    refused: dict[str, str] = result.get("refused", {})

    def human(d: dict[str, Any]) -> None:
        done = d.get(verb, [])
        click.echo(f"outbox: {len(done)} {verb}")
        for mid, reason in refused.items():
            click.echo(f"  {mid}: refused: {reason}", err=True)

    emit(result, as_json=as_json, human=human)
    raise SystemExit(EXIT_FINDINGS if refused else EXIT_OK)


@outbox_group.command("retry")
@config_option
@click.argument("message_ids", nargs=-1)
@click.option("--all-parked", is_flag=True, help="Every parked entry (optionally --code).")
@click.option("--code", help="With --all-parked: only entries parked with this code.")
@json_option
def retry_command(
    config_path: Path,
    message_ids: tuple[str, ...],
    all_parked: bool,
    code: str | None,
    as_json: bool,
) -> None:
    """Send parked entries again (in a new batch); audited."""
    if not message_ids and not all_parked:
        raise click.UsageError("name message ids, or give --all-parked")
    with writing(config_path, as_json=as_json) as (_config, _outbox, conn):
        result = operator.retry(
            conn,
            list(message_ids),
            all_parked=all_parked,
            code=code,
            actor=operator.operator_actor(),
        )
    _report(result, "retried", as_json)


@outbox_group.command("park")
@config_option
@click.argument("message_ids", nargs=-1, required=True)
@click.option(
    "--reason",
    required=True,
    help="Why (ids and codes only: this goes into the store, never personal data).",
)
@json_option
def park_command(
    config_path: Path, message_ids: tuple[str, ...], reason: str, as_json: bool
) -> None:
    """Hold pending entries back until someone retries them; audited."""
    with writing(config_path, as_json=as_json) as (_config, _outbox, conn):
        result = operator.park(
            conn, list(message_ids), reason=reason, actor=operator.operator_actor()
        )
    _report(result, "parked", as_json)


@outbox_group.command("replay")
@config_option
@click.argument("message_ids", nargs=-1, required=True)
@json_option
def replay_command(config_path: Path, message_ids: tuple[str, ...], as_json: bool) -> None:
    """Send chosen records again under a NEW version and message id; audited."""
    with writing(config_path, as_json=as_json) as (_config, store, conn):
        result = operator.replay(
            conn, store.keys, list(message_ids), actor=operator.operator_actor()
        )
    _report(result, "replayed", as_json)


@outbox_group.command("purge")
@config_option
@click.option(
    "--older-than-days",
    type=click.IntRange(0),
    default=None,
    help="Default: store.prune_sent_after_days.",
)
@json_option
def purge_command(config_path: Path, older_than_days: int | None, as_json: bool) -> None:
    """Drop payloads of delivered records and batches older than the cut-off; audited."""
    with writing(config_path, as_json=as_json) as (config, _outbox, conn):
        days = config.store.prune_sent_after_days if older_than_days is None else older_than_days
        result = operator.purge(conn, older_than_days=days, actor=operator.operator_actor())
    emit(
        result,
        as_json=as_json,
        human=lambda d: click.echo(
            f"outbox: payloads dropped from {d['entries']} entries and {d['batches']} batches "
            f"finished before {d['cutoff']}"
        ),
    )
    raise SystemExit(EXIT_OK)
