"""``cpadapter worklist [--csv] [--json]``: NoMatch and MultipleMatch records, by source id."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

from adapter.commands.store_access import config_option, reading
from adapter.exit_codes import EXIT_OK
from outbox.worklist import WorkItem, open_items

_FIELDS = (
    "source_system",
    "source_record_id",
    "status",
    "candidate_count",
    "version",
    "message_id",
    "batch_id",
    "created_at",
)


@click.command("worklist")
@config_option
@click.option("--source", "source_system", help="Only this source system id.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def worklist_command(
    config_path: Path, source_system: str | None, as_csv: bool, as_json: bool
) -> None:
    """Records the hub could not link (TA-OUT-01), by source record id, oldest first."""
    with reading(config_path, as_json=as_json) as (_config, _outbox, conn):
        items: list[WorkItem] = open_items(conn, source_system=source_system)
    rows = [item.as_dict() for item in items]
    if as_json:
        click.echo(json.dumps({"items": rows, "count": len(rows)}))
    elif as_csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        for row in rows:
            count = f" ({row['candidate_count']} candidates)" if row["candidate_count"] else ""
            click.echo(
                f"{row['source_system']} {row['source_record_id']}: {row['status']}{count} "
                f"[message {row['message_id']}, since {row['created_at']}]"
            )
        click.echo(f"worklist: {len(rows)} open items")
    raise SystemExit(EXIT_OK)
