"""``cpadapter validate FILE``: check one SubmissionBatch file (schema, then rules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from adapter.exit_codes import EXIT_FINDINGS, EXIT_OK, EXIT_UNUSABLE
from ldi.errors import InputError
from ldi.safexml import FILE_MAX_BYTES
from ldi.validation import BatchCheck, check_document


def _report(path: Path, check: BatchCheck) -> dict[str, Any]:
    records = []
    if check.batch is not None:
        for record, breaches in zip(check.batch.records, check.breaches, strict=True):
            records.append(
                {
                    "messageId": record.message_id,
                    "sourceRecordId": record.source_record_id,
                    "breaches": [
                        {"rule": b.rule, "path": b.path, "message": b.message} for b in breaches
                    ],
                }
            )
    held = check.held
    return {
        "file": str(path),
        "schema_valid": check.schema_valid,
        "schema_errors": [
            {"line": e.line, "column": e.column, "message": e.message} for e in check.schema_errors
        ],
        "records": records,
        "summary": {
            "records": check.record_count,
            "valid": check.record_count - held,
            "held": held,
        },
    }


def _print_human(report: dict[str, Any]) -> None:
    click.echo(f"{report['file']}:")
    if not report["schema_valid"]:
        click.echo(f"  schema: INVALID ({len(report['schema_errors'])} errors, LDI-MSG-01)")
        for e in report["schema_errors"]:
            click.echo(f"    line {e['line']}, column {e['column']}: {e['message']}")
    else:
        click.echo("  schema: valid (LDI 1.0 XSD)")
    for r in report["records"]:
        for b in r["breaches"]:
            click.echo(f"  {b['rule']} {b['path']} (messageId {r['messageId']}): {b['message']}")
    s = report["summary"]
    click.echo(f"  records: {s['records']}, valid: {s['valid']}, held: {s['held']}")


@click.command("validate")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
def validate_command(file: Path, as_json: bool) -> None:
    """Check FILE, one SubmissionBatch: schema first, then rules BR-01 to BR-08.

    Exit 0: schema-valid with no breach; 1: schema errors or breaches; 2: the file is
    unreadable, not well-formed, or unsafe (DTD or entities, TA-SEC-03).
    """
    try:
        data = file.read_bytes()
        check = check_document(data, source=str(file), max_bytes=FILE_MAX_BYTES)
    except (OSError, InputError) as exc:
        code = exc.code if isinstance(exc, InputError) else "UNREADABLE"
        message = (
            exc.message if isinstance(exc, InputError) else f"cannot read file ({exc.strerror})"
        )
        if as_json:
            click.echo(json.dumps({"file": str(file), "error": {"code": code, "message": message}}))
        else:
            click.echo(f"{file}: [{code}] {message}", err=True)
        raise SystemExit(EXIT_UNUSABLE) from None
    report = _report(file, check)
    if as_json:
        click.echo(json.dumps(report))
    else:
        _print_human(report)
    clean = check.schema_valid and check.held == 0
    raise SystemExit(EXIT_OK if clean else EXIT_FINDINGS)
