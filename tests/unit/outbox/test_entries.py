"""Enqueue, supersession and the entry state machine."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import Engine, func, select, update

from ldi.errors import StoreError
from outbox import migrations
from outbox.batching import form_batch
from outbox.clock import utc_now
from outbox.crypto import KeyRing, entry_aad, generate_key
from outbox.entries import (
    ACTIVE_STATES,
    TRANSITIONS,
    EntryState,
    can_move,
    enqueue,
    set_state,
)
from outbox.store import create_store_engine, entries
from tests.unit.outbox.conftest import SOURCE, record


def rows(engine: Engine) -> dict[str, tuple[str, int, bytes | None]]:
    with engine.connect() as conn:
        return {
            r.message_id: (r.state, r.version, r.payload)
            for r in conn.execute(
                select(entries.c.message_id, entries.c.state, entries.c.version, entries.c.payload)
            )
        }


def test_enqueue_stores_pending_encrypted_entries(engine: Engine, keys: KeyRing) -> None:
    """Queued records are pending, and their payload decrypts to the record's XML."""
    with engine.begin() as conn:
        result = enqueue(conn, keys, SOURCE, [record("A"), record("B", given="Sentinelname")])
    found = rows(engine)
    assert result.queued == 2
    assert {state for state, _, _ in found.values()} == {"pending"}
    payload = found[record("B").message_id][2]
    assert payload is not None and b"Sentinelname" not in payload
    with engine.connect() as conn:
        kid = conn.execute(select(entries.c.key_id).limit(1)).scalar_one()
    plain = keys.decrypt(kid, payload, entry_aad(record("B").message_id))
    assert b"Sentinelname" in plain


def test_newer_pending_version_supersedes_the_older(engine: Engine, keys: KeyRing) -> None:
    """Only the latest pending version is kept; the older one is superseded without payload."""
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A", 1)])
    with engine.begin() as conn:
        result = enqueue(conn, keys, SOURCE, [record("A", 2)])
    found = rows(engine)
    assert result.superseded == 1
    assert found[record("A", 1).message_id][0] == "superseded"
    assert found[record("A", 1).message_id][2] is None
    assert found[record("A", 2).message_id][0] == "pending"


def test_version_must_increase(engine: Engine, keys: KeyRing) -> None:
    """Queuing a version not above the last queued one is refused."""
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A", 3)])
    with pytest.raises(StoreError, match="not above"), engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A", 2)])


def test_message_id_must_be_the_outbox_one(engine: Engine, keys: KeyRing) -> None:
    """A record whose messageId is not derived from its ids is refused."""
    wrong = record("A").model_copy(update={"message_id": "f" * 32})
    with pytest.raises(StoreError, match="messageId"), engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [wrong])


def test_one_record_twice_in_one_call_is_refused(engine: Engine, keys: KeyRing) -> None:
    """Two versions of one record in one call are a caller bug, not silently merged."""
    with pytest.raises(StoreError, match="twice"), engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A", 1), record("A", 2)])


def test_transition_table_matches_the_documented_machine() -> None:
    """pending→in_flight→sent→done|parked; superseded and done are final."""
    assert can_move(EntryState.PENDING, EntryState.IN_FLIGHT)
    assert can_move(EntryState.IN_FLIGHT, EntryState.SENT)
    assert can_move(EntryState.SENT, EntryState.DONE)
    assert can_move(EntryState.SENT, EntryState.PARKED)
    assert can_move(EntryState.PARKED, EntryState.PENDING)
    assert not can_move(EntryState.DONE, EntryState.PENDING)
    assert not can_move(EntryState.PENDING, EntryState.DONE)
    assert TRANSITIONS[EntryState.SUPERSEDED] == frozenset()


def test_illegal_transition_is_refused(engine: Engine, keys: KeyRing) -> None:
    """set_state refuses a move the machine does not allow."""
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record("A")])
        with pytest.raises(StoreError, match="illegal"):
            set_state(conn, [record("A").message_id], EntryState.DONE, expected=EntryState.PENDING)


class OutboxMachine(RuleBasedStateMachine):
    """Random interleavings of queuing, batching and outcomes keep the outbox's invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.engine = create_store_engine("sqlite://")
        migrations.upgrade(self.engine)
        self.keys = KeyRing([generate_key()])
        self.versions: dict[str, int] = {}

    @rule(record_id=st.sampled_from(["A", "B", "C"]))
    def queue_new_version(self, record_id: str) -> None:
        version = self.versions.get(record_id, 0) + 1
        self.versions[record_id] = version
        with self.engine.begin() as conn:
            enqueue(conn, self.keys, SOURCE, [record(record_id, version)])

    @rule(size=st.integers(min_value=1, max_value=3))
    def form_a_batch(self, size: int) -> None:
        with self.engine.begin() as conn:
            form_batch(
                conn,
                self.keys,
                la_code="891",
                max_records=size,
                max_bytes=5 * 1024 * 1024,
                owner="test",
                lease_seconds=60,
                now=utc_now(),
            )

    @rule(final=st.sampled_from([EntryState.DONE, EntryState.PARKED]))
    def finish_oldest_batch(self, final: EntryState) -> None:
        with self.engine.begin() as conn:
            batch = conn.execute(
                select(entries.c.batch_id)
                .where(entries.c.state.in_([s.value for s in ACTIVE_STATES]))
                .order_by(entries.c.id)
                .limit(1)
            ).scalar()
            if batch is not None:
                conn.execute(
                    update(entries)
                    .where(entries.c.batch_id == batch)
                    .where(entries.c.state.in_([s.value for s in ACTIVE_STATES]))
                    .values(state=final.value)
                )

    @invariant()
    def at_most_one_pending_and_one_active_per_record(self) -> None:
        with self.engine.connect() as conn:
            for states in (
                [EntryState.PENDING.value],
                [s.value for s in ACTIVE_STATES],
            ):
                worst = conn.execute(
                    select(func.count())
                    .select_from(entries)
                    .where(entries.c.state.in_(states))
                    .group_by(entries.c.source_record_id)
                    .order_by(func.count().desc())
                    .limit(1)
                ).scalar()
                assert (worst or 0) <= 1

    @invariant()
    def only_the_latest_version_is_pending(self) -> None:
        with self.engine.connect() as conn:
            for record_id, version in conn.execute(
                select(entries.c.source_record_id, entries.c.version).where(
                    entries.c.state == EntryState.PENDING.value
                )
            ):
                assert version == self.versions[record_id]

    def teardown(self) -> None:
        self.engine.dispose()


OutboxMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOutboxStateMachine = OutboxMachine.TestCase
