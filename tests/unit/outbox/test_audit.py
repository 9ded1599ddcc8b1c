"""The hash-chained audit trail: verify passes, and any edit or deletion is found."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete, update

from ldi.errors import StoreError
from outbox.audit import AuditKind, append, verify
from outbox.store import audit_log


def fill(engine: Engine, count: int = 5) -> None:
    with engine.begin() as conn:
        for n in range(count):
            append(
                conn,
                AuditKind.SUBMISSION,
                f"batch-{n}",
                {"records": n, "ids": ["a", "b"]},
                actor="worker:test",
            )


def test_an_untouched_chain_verifies(engine: Engine) -> None:
    """Appended entries verify, and all are counted."""
    fill(engine)
    with engine.connect() as conn:
        result = verify(conn)
    assert result.ok and result.checked == 5


def test_an_empty_chain_verifies(engine: Engine) -> None:
    """A new store's trail is valid."""
    with engine.connect() as conn:
        assert verify(conn).ok


def test_editing_one_row_is_found(engine: Engine) -> None:
    """Changing any column of entry 3 breaks verification at entry 3."""
    fill(engine)
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(details='{"records":9}'))
    with engine.connect() as conn:
        result = verify(conn)
    assert (result.ok, result.broken_at) == (False, 3)
    assert "altered" in str(result.problem)


def test_rehashing_an_edited_row_still_breaks_the_chain(engine: Engine) -> None:
    """Recomputing the edited entry's own hash does not help: the next link fails."""
    from outbox.audit import entry_hash

    fill(engine)
    with engine.begin() as conn:
        row = conn.execute(audit_log.select().where(audit_log.c.seq == 2)).one()
        forged = entry_hash(
            seq=2,
            at=row.at,
            kind=row.kind,
            actor="someone",
            subject=row.subject,
            details=row.details,
            prev_hash=row.prev_hash,
        )
        conn.execute(
            update(audit_log).where(audit_log.c.seq == 2).values(actor="someone", hash=forged)
        )
    with engine.connect() as conn:
        assert verify(conn).broken_at == 3


def test_deleting_a_middle_row_is_found(engine: Engine) -> None:
    """A gap in the sequence names the missing entry."""
    fill(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    with engine.connect() as conn:
        result = verify(conn)
    assert (result.ok, result.broken_at) == (False, 2)


def test_deleting_the_newest_row_is_found(engine: Engine) -> None:
    """The head table remembers the last entry, so truncating the tail is noticed."""
    fill(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 5))
    with engine.connect() as conn:
        result = verify(conn)
    assert (result.ok, result.broken_at) == (False, 5)


def test_details_take_ids_and_counts_only(engine: Engine) -> None:
    """Nested free-form values are refused, so nothing personal can be slipped in."""
    with pytest.raises(StoreError, match="audit detail"), engine.begin() as conn:
        append(conn, AuditKind.OPERATOR, "x", {"child": {"name": "x"}}, actor="t")  # type: ignore[dict-item]
