"""Per-source delta state: what was last queued for each source record, and its ContactPoint id.

Owned by the store, written by two parties on the caller's connection:

* the delta engine (mappings issue) records each queued record's content hash, version and
  withdrawn flag **in the same transaction** as the outbox entries it queues
  (:func:`save_state` + :func:`outbox.entries.enqueue`), so a crash leaves both or neither;
* the outcome handler (:mod:`outbox.outcomes`) records the ContactPoint id of a ``Matched``
  record (TA-OUT-01); :mod:`outbox.batching` puts it into every later version it sends.

Neither party overwrites the other's columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from outbox.bulk import execute_many
from outbox.clock import utc_now
from outbox.store import delta_state

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class DeltaRow:
    """The state of one source record."""

    source_record_id: str
    content_hash: str | None
    last_version: int
    contactpoint_id: str | None = None
    withdrawn: bool = False


def _insert(conn: Connection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(delta_state)


def load_state(
    conn: Connection, source_system: str, source_record_ids: Iterable[str] | None = None
) -> dict[str, DeltaRow]:
    """State of the given records of ``source_system`` (all of its records when None)."""
    columns = (
        delta_state.c.source_record_id,
        delta_state.c.content_hash,
        delta_state.c.last_version,
        delta_state.c.contactpoint_id,
        delta_state.c.withdrawn,
    )
    query = select(*columns).where(delta_state.c.source_system == source_system)
    if source_record_ids is None:
        return {row[0]: DeltaRow(*row) for row in conn.execute(query)}
    wanted = list(source_record_ids)
    found: dict[str, DeltaRow] = {}
    # The IN list is bound at execution (expanding): SQLAlchemy does not coerce each value.
    query = query.where(delta_state.c.source_record_id.in_(bindparam("ids", expanding=True)))
    for start in range(0, len(wanted), _CHUNK):
        for row in conn.execute(query, {"ids": wanted[start : start + _CHUNK]}):
            found[row[0]] = DeltaRow(*row)
    return found


def save_state(
    conn: Connection,
    source_system: str,
    rows: Iterable[DeltaRow],
    *,
    now: datetime | None = None,
) -> int:
    """Insert or update the delta engine's columns; the ContactPoint id is left as it is."""
    at = now or utc_now()
    values = [
        {
            "source_system": source_system,
            "source_record_id": row.source_record_id,
            "content_hash": row.content_hash,
            "last_version": row.last_version,
            "withdrawn": row.withdrawn,
            "updated_at": at,
        }
        for row in rows
    ]
    if not values:
        return 0
    statement = _insert(conn)
    statement = statement.on_conflict_do_update(
        index_elements=[delta_state.c.source_system, delta_state.c.source_record_id],
        set_={
            "content_hash": statement.excluded.content_hash,
            "last_version": statement.excluded.last_version,
            "withdrawn": statement.excluded.withdrawn,
            "updated_at": statement.excluded.updated_at,
        },
    )
    execute_many(conn, statement, values)
    return len(values)


def record_contactpoint_ids(
    conn: Connection,
    source_system: str,
    found: Sequence[tuple[str, str, int]],
    *,
    now: datetime | None = None,
) -> None:
    """Store ``(source_record_id, contactpoint_id, version)`` from ``Matched`` outcomes.

    A record the delta engine never registered (e.g. queued by hand) gets a row with no content
    hash, so the next delta run sends it again rather than trusting an unknown state.
    """
    if not found:
        return
    at = now or utc_now()
    values = [
        {
            "source_system": source_system,
            "source_record_id": record_id,
            "content_hash": None,
            "last_version": version,
            "contactpoint_id": cp_id,
            "withdrawn": False,
            "updated_at": at,
        }
        for record_id, cp_id, version in found
    ]
    statement = _insert(conn)
    statement = statement.on_conflict_do_update(
        index_elements=[delta_state.c.source_system, delta_state.c.source_record_id],
        set_={
            "contactpoint_id": statement.excluded.contactpoint_id,
            "updated_at": statement.excluded.updated_at,
        },
    )
    execute_many(conn, statement, values)


def contactpoint_ids(
    conn: Connection, source_system: str, source_record_ids: Sequence[str]
) -> dict[str, str]:
    """Known ContactPoint ids of the given records (records without one are absent)."""
    found: dict[str, str] = {}
    query = (
        select(delta_state.c.source_record_id, delta_state.c.contactpoint_id)
        .where(delta_state.c.source_system == source_system)
        .where(delta_state.c.source_record_id.in_(bindparam("ids", expanding=True)))
        .where(delta_state.c.contactpoint_id.is_not(None))
    )
    for start in range(0, len(source_record_ids), _CHUNK):
        part = list(source_record_ids[start : start + _CHUNK])
        found.update({row[0]: row[1] for row in conn.execute(query, {"ids": part})})
    return found


def raise_version(
    conn: Connection,
    source_system: str,
    source_record_id: str,
    version: int,
    *,
    now: datetime | None = None,
) -> None:
    """Record that ``version`` was queued by someone other than the delta engine (replay)."""
    at = now or utc_now()
    statement = _insert(conn)
    statement = statement.on_conflict_do_update(
        index_elements=[delta_state.c.source_system, delta_state.c.source_record_id],
        set_={"last_version": statement.excluded.last_version, "updated_at": at},
        where=delta_state.c.last_version < statement.excluded.last_version,
    )
    conn.execute(
        statement,
        {
            "source_system": source_system,
            "source_record_id": source_record_id,
            "content_hash": None,
            "last_version": version,
            "withdrawn": False,
            "updated_at": at,
        },
    )


def forget_content(conn: Connection, source_system: str, source_record_id: str) -> None:
    """Clear the content hash so that the next delta run sends the record again."""
    conn.execute(
        update(delta_state)
        .where(delta_state.c.source_system == source_system)
        .where(delta_state.c.source_record_id == source_record_id)
        .values(content_hash=None, updated_at=utc_now())
    )
