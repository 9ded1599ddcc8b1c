"""``cpadapter audit verify|list``: the hash-chained audit trail."""

from __future__ import annotations

from pathlib import Path

import click

from adapter.commands.store_access import config_option, emit, json_option, reading
from adapter.exit_codes import EXIT_FINDINGS, EXIT_OK
from outbox import audit


@click.group("audit")
def audit_group() -> None:
    """The append-only audit trail (ids only)."""


@audit_group.command("verify")
@config_option
@json_option
def verify_command(config_path: Path, as_json: bool) -> None:
    """Check every entry's hash and link; exit 1 naming the first broken entry."""
    with reading(config_path, as_json=as_json) as (_config, _outbox, conn):
        result = audit.verify(conn)
    data = {
        "ok": result.ok,
        "checked": result.checked,
        "broken_at": result.broken_at,
        "problem": result.problem,
    }
    emit(
        data,
        as_json=as_json,
        human=lambda d: click.echo(
            f"audit: {d['checked']} entries verified, chain intact"
            if d["ok"]
            else f"audit: BROKEN at entry {d['broken_at']}: {d['problem']}"
        ),
    )
    raise SystemExit(EXIT_OK if result.ok else EXIT_FINDINGS)


@audit_group.command("list")
@config_option
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@json_option
def list_command(config_path: Path, limit: int, as_json: bool) -> None:
    """The newest entries, newest first."""
    with reading(config_path, as_json=as_json) as (_config, _outbox, conn):
        items = audit.entries_of(conn, limit=limit)

    def human(rows: list[dict[str, object]]) -> None:
        for row in rows:
            click.echo(
                f"{row['seq']:>6} {row['at']} {row['kind']:<10} {row['subject']} "
                f"by {row['actor']}: {row['details']}"
            )

    emit(items if not as_json else {"entries": items}, as_json=as_json, human=human)
    raise SystemExit(EXIT_OK)
