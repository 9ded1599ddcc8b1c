"""The held report: records the policy gate did not let through, with rule ids and provenance.

Rows are written in the delta engine's transaction (a record is held, or released, together with
whatever else its run changed). Only rule ids, element paths, messages and provenance (file and
line, or table and key) are stored: never a value from the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from ldi.models import Breach
from outbox.bulk import execute_many
from outbox.store import held_records

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class HeldRecord:
    """One held record, as the held report lists it."""

    source: str
    source_system: str
    source_record_id: str
    rules: tuple[str, ...]
    breaches: tuple[Breach, ...]
    provenance: str
    first_held_at: datetime
    last_held_at: datetime


def hold(
    conn: Connection,
    *,
    source: str,
    source_system: str,
    source_record_id: str,
    breaches: Sequence[Breach],
    provenance: str,
    run_id: str,
    at: datetime,
) -> None:
    """Record (or refresh) that ``source_record_id`` is held for ``breaches``."""
    hold_all(
        conn,
        source=source,
        source_system=source_system,
        held=[(source_record_id, breaches, provenance)],
        run_id=run_id,
        at=at,
    )


def hold_all(
    conn: Connection,
    *,
    source: str,
    source_system: str,
    held: Sequence[tuple[str, Sequence[Breach], str]],
    run_id: str,
    at: datetime,
) -> None:
    """:func:`hold` for many ``(source_record_id, breaches, provenance)`` in one statement."""
    if not held:
        return
    rows = []
    for source_record_id, breaches, provenance in held:
        rules = sorted({b.rule for b in breaches})
        rows.append(
            {
                "source_system": source_system,
                "source_record_id": source_record_id,
                "source": source,
                "rules": ",".join(rules)[:200],
                "breaches": json.dumps(
                    [{"rule": b.rule, "path": b.path, "message": b.message} for b in breaches]
                ),
                "provenance": provenance[:300],
                "first_held_at": at,
                "last_held_at": at,
                "run_id": run_id,
            }
        )
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(held_records)
    statement = statement.on_conflict_do_update(
        index_elements=[held_records.c.source_system, held_records.c.source_record_id],
        set_={
            k: statement.excluded[k]
            for k in ("source", "rules", "breaches", "provenance", "last_held_at", "run_id")
        },
    )
    execute_many(conn, statement, rows)


def release(conn: Connection, source_system: str, source_record_ids: Iterable[str]) -> None:
    """Records that passed the gate this time are no longer held."""
    ids = list(source_record_ids)
    statement = (
        delete(held_records)
        .where(held_records.c.source_system == source_system)
        .where(held_records.c.source_record_id.in_(bindparam("ids", expanding=True)))
    )
    for start in range(0, len(ids), _CHUNK):
        conn.execute(statement, {"ids": ids[start : start + _CHUNK]})


def release_unseen(conn: Connection, source_system: str, run_id: str) -> int:
    """After a complete full-snapshot run: records the source no longer has are not held."""
    result = conn.execute(
        delete(held_records)
        .where(held_records.c.source_system == source_system)
        .where(held_records.c.run_id != run_id)
    )
    return int(result.rowcount or 0)


def list_held(engine: Engine, *, source: str | None = None) -> list[HeldRecord]:
    """Every held record (of one source), oldest first."""
    query = select(held_records).order_by(
        held_records.c.source, held_records.c.first_held_at, held_records.c.source_record_id
    )
    if source is not None:
        query = query.where(held_records.c.source == source)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        HeldRecord(
            source=row["source"],
            source_system=row["source_system"],
            source_record_id=row["source_record_id"],
            rules=tuple(row["rules"].split(",")) if row["rules"] else (),
            breaches=tuple(Breach(**b) for b in json.loads(row["breaches"])),
            provenance=row["provenance"],
            first_held_at=row["first_held_at"],
            last_held_at=row["last_held_at"],
        )
        for row in rows
    ]
