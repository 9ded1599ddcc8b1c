"""Operator actions: retry, park, replay, purge — with their safety rules and audit entries."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update

from outbox import operator
from outbox.audit import AuditKind, entries_of, verify
from outbox.clock import utc_now
from outbox.crypto import KeyRing, entry_aad
from outbox.delta_state import load_state
from outbox.entries import enqueue, message_id
from outbox.store import entries
from tests.unit.outbox.conftest import SOURCE, record


def state_of(engine: Engine, mid: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(select(entries.c.state).where(entries.c.message_id == mid)).scalar_one()
        )


def test_park_then_retry_round_trip(engine: Engine, keys: KeyRing) -> None:
    """park takes a pending entry out; retry puts it back; both are audited."""
    mid = record("A").message_id
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A")])
        assert operator.park(conn, [mid], reason="ticket 42", actor="operator:t")["parked"] == [mid]
    assert state_of(engine, mid) == "parked"
    with engine.begin() as conn:
        result = operator.retry(conn, [mid], actor="operator:t")
    assert result == {"retried": [mid], "refused": {}}
    assert state_of(engine, mid) == "pending"
    with engine.connect() as conn:
        actions = [e["details"]["action"] for e in entries_of(conn, kind=AuditKind.OPERATOR)]
        assert verify(conn).ok
    assert actions == ["retry", "park"]


def test_retry_refuses_when_a_newer_version_exists(engine: Engine, keys: KeyRing) -> None:
    """Re-sending version 1 after version 2 was queued would be Stale: refused."""
    old = record("A", 1).message_id
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A", 1)])
        conn.execute(update(entries).values(state="parked"))
        enqueue(conn, keys, SOURCE, [record("A", 2)])
        result = operator.retry(conn, [old, "f" * 32], actor="operator:t")
    assert result["retried"] == []
    assert result["refused"] == {
        old: "a newer version of this record exists",
        "f" * 32: "no such entry",
    }


def test_park_refuses_entries_already_sent(engine: Engine, keys: KeyRing) -> None:
    """Only pending entries can be parked by hand."""
    mid = record("A").message_id
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A")])
        conn.execute(update(entries).values(state="sent"))
        result = operator.park(conn, [mid], reason="x", actor="operator:t")
    assert result["refused"] == {mid: "entry is sent, not pending"}


def test_replay_queues_a_new_version_and_message_id(engine: Engine, keys: KeyRing) -> None:
    """replay sends the record again as version max+1 with that version's message id."""
    first = record("A", 1).message_id
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A", 1)])
        conn.execute(update(entries).values(state="done"))
        result = operator.replay(conn, keys, [first], actor="operator:t")
    new_id = message_id(SOURCE, "A", 2)
    assert result["replayed"] == {first: new_id}
    with engine.connect() as conn:
        row = conn.execute(select(entries).where(entries.c.message_id == new_id)).one()
        delta = load_state(conn, SOURCE)
    xml = keys.decrypt(row.key_id, row.payload, entry_aad(new_id))
    assert row.state == "pending" and row.version == 2
    assert f'messageId="{new_id}"'.encode() in xml and b'version="2"' in xml
    assert delta["A"].last_version == 2


def test_purge_drops_old_sent_payloads_only(engine: Engine, keys: KeyRing) -> None:
    """Done payloads past the cut-off go; parked and recent ones stay."""
    ids = {n: record(n).message_id for n in ("OLD", "NEW", "PARKED")}
    long_ago = utc_now() - timedelta(days=40)
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record(n) for n in ids])
        conn.execute(
            update(entries)
            .where(entries.c.message_id == ids["OLD"])
            .values(state="done", finished_at=long_ago)
        )
        conn.execute(
            update(entries)
            .where(entries.c.message_id == ids["NEW"])
            .values(state="done", finished_at=utc_now())
        )
        conn.execute(
            update(entries)
            .where(entries.c.message_id == ids["PARKED"])
            .values(state="parked", finished_at=long_ago)
        )
        result = operator.purge(conn, older_than_days=30, actor="operator:t")
    with engine.connect() as conn:
        kept = {
            r[0]: r[1] is not None
            for r in conn.execute(select(entries.c.message_id, entries.c.payload))
        }
    assert result["entries"] == 1
    assert kept == {ids["OLD"]: False, ids["NEW"]: True, ids["PARKED"]: True}


def test_status_counts_states(engine: Engine, keys: KeyRing) -> None:
    """status reports counts per state and the oldest pending entry."""
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A"), record("B")])
    with engine.connect() as conn:
        report = operator.status(conn)
    assert report["entries"]["pending"] == 2
    assert report["oldest_pending"] is not None and report["stale"] == 0
