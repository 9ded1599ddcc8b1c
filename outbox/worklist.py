"""The data administrator's work list: records the hub could not link (TA-OUT-01).

``NoMatch`` ("no national record found") and ``MultipleMatch`` ("several candidates") are held
at the hub for the local authority's data administrator; this list tells them which of *their*
source records those are, by id. An item resolves itself when a later version of the same source
record comes back ``Matched``. ``cpadapter worklist`` prints it (``--csv`` / ``--json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from outbox.bulk import execute_many
from outbox.store import worklist

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One open item: ids, status and candidate count only (no personal data)."""

    message_id: str
    source_system: str
    source_record_id: str
    version: int
    status: str
    candidate_count: int | None
    batch_id: str
    created_at: datetime

    def as_dict(self) -> dict[str, object]:
        """JSON/CSV-ready form."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


def add(conn: Connection, items: Sequence[dict[str, object]]) -> None:
    """Put outcomes on the list; each item has the columns of the table (again is harmless)."""
    if not items:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(worklist).on_conflict_do_nothing(index_elements=["message_id"])
    execute_many(conn, statement, items)


def resolve(
    conn: Connection, source_system: str, source_record_ids: Sequence[str], *, now: datetime
) -> None:
    """Close the open items of records that have now been matched."""
    statement = (
        update(worklist)
        .where(worklist.c.source_system == source_system)
        .where(worklist.c.source_record_id.in_(bindparam("ids", expanding=True)))
        .where(worklist.c.resolved_at.is_(None))
        .values(resolved_at=now)
    )
    for start in range(0, len(source_record_ids), _CHUNK):
        conn.execute(statement, {"ids": list(source_record_ids[start : start + _CHUNK])})


def open_items(conn: Connection, *, source_system: str | None = None) -> list[WorkItem]:
    """Every unresolved item, oldest first."""
    query = (
        select(
            worklist.c.message_id,
            worklist.c.source_system,
            worklist.c.source_record_id,
            worklist.c.version,
            worklist.c.status,
            worklist.c.candidate_count,
            worklist.c.batch_id,
            worklist.c.created_at,
        )
        .where(worklist.c.resolved_at.is_(None))
        .order_by(worklist.c.created_at, worklist.c.message_id)
    )
    if source_system is not None:
        query = query.where(worklist.c.source_system == source_system)
    return [WorkItem(*row) for row in conn.execute(query)]
