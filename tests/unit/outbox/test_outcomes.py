"""Outcomes: each status lands where LDI section 5 and TA-OUT-01 say."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select

from ldi.models import BatchOutcome, BatchStatus, Breach, OutcomeStatus, RecordOutcome
from outbox.batching import FormedBatch, form_batch
from outbox.clock import utc_now
from outbox.crypto import KeyRing
from outbox.delta_state import load_state
from outbox.entries import enqueue
from outbox.outcomes import apply_outcome
from outbox.store import entries, outcomes
from outbox.worklist import open_items
from tests.unit.outbox.conftest import SOURCE, record


def batch_of(engine: Engine, keys: KeyRing, *ids: str) -> str:
    with engine.begin() as conn:
        enqueue(conn, keys, SOURCE, [record(i) for i in ids])
        formed = form_batch(
            conn,
            keys,
            la_code="891",
            max_records=100,
            max_bytes=10**6,
            owner="t",
            lease_seconds=60,
            now=utc_now(),
        )
    assert isinstance(formed, FormedBatch)
    return formed.batch_id


def test_every_status_is_stored_and_routed(engine: Engine, keys: KeyRing) -> None:
    """Matched→CP id, NoMatch/MultipleMatch→work list, Rejected/Stale→parked, Duplicate→done."""
    names = ["M", "N", "MM", "W", "R", "D", "S"]
    batch_id = batch_of(engine, keys, *names)
    mid = {n: record(n).message_id for n in names}
    result = BatchOutcome(
        batch_id=batch_id,
        status=BatchStatus.COMPLETE,
        record_outcomes=[
            RecordOutcome(
                message_id=mid["M"], status=OutcomeStatus.MATCHED, contactpoint_id="CP3000000011"
            ),
            RecordOutcome(message_id=mid["N"], status=OutcomeStatus.NO_MATCH),
            RecordOutcome(
                message_id=mid["MM"], status=OutcomeStatus.MULTIPLE_MATCH, candidate_count=2
            ),
            RecordOutcome(message_id=mid["W"], status=OutcomeStatus.WITHDRAWN),
            RecordOutcome(
                message_id=mid["R"],
                status=OutcomeStatus.REJECTED,
                breaches=[
                    Breach(rule="BR-05", path="Record/Child/NHSNumber", message="check digit")
                ],
            ),
            RecordOutcome(
                message_id=mid["D"],
                status=OutcomeStatus.DUPLICATE,
                original_status=OutcomeStatus.MATCHED,
                contactpoint_id="CP3000000038",
            ),
            RecordOutcome(message_id=mid["S"], status=OutcomeStatus.STALE),
        ],
    )
    with engine.begin() as conn:
        summary = apply_outcome(conn, batch_id, result, now=utc_now())
    with engine.connect() as conn:
        state = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                select(entries.c.source_record_id, entries.c.state, entries.c.last_error_code)
            )
        }
        stored = {r.message_id: r for r in conn.execute(select(outcomes))}
        delta = load_state(conn, SOURCE)
        work = {(w.source_record_id, w.status, w.candidate_count) for w in open_items(conn)}
    assert state == {
        "M": ("done", None),
        "N": ("done", None),
        "MM": ("done", None),
        "W": ("done", None),
        "R": ("parked", "REJECTED"),
        "D": ("done", None),
        "S": ("parked", "STALE"),
    }
    assert delta["M"].contactpoint_id == "CP3000000011"
    assert delta["D"].contactpoint_id == "CP3000000038"
    assert work == {("N", "NoMatch", None), ("MM", "MultipleMatch", 2)}
    assert stored[mid["D"]].original_status == "Matched"
    assert json.loads(stored[mid["R"]].breaches)[0]["rule"] == "BR-05"
    assert summary.stale == 1 and summary.parked == 2


def test_a_record_without_outcome_is_parked(engine: Engine, keys: KeyRing) -> None:
    """A Complete outcome that omits a record parks it as NO_OUTCOME."""
    batch_id = batch_of(engine, keys, "A", "B")
    result = BatchOutcome(
        batch_id=batch_id,
        status=BatchStatus.COMPLETE,
        record_outcomes=[
            RecordOutcome(message_id=record("A").message_id, status=OutcomeStatus.NO_MATCH)
        ],
    )
    with engine.begin() as conn:
        apply_outcome(conn, batch_id, result, now=utc_now())
    with engine.connect() as conn:
        parked = (
            conn.execute(
                select(entries.c.source_record_id).where(entries.c.last_error_code == "NO_OUTCOME")
            )
            .scalars()
            .all()
        )
    assert parked == ["B"]


def test_applying_the_same_outcome_twice_changes_nothing(engine: Engine, keys: KeyRing) -> None:
    """A second application (a worker died after the first) is harmless."""
    batch_id = batch_of(engine, keys, "A")
    result = BatchOutcome(
        batch_id=batch_id,
        status=BatchStatus.COMPLETE,
        record_outcomes=[
            RecordOutcome(message_id=record("A").message_id, status=OutcomeStatus.NO_MATCH)
        ],
    )
    for _ in range(2):
        with engine.begin() as conn:
            apply_outcome(conn, batch_id, result, now=utc_now())
    with engine.connect() as conn:
        assert len(conn.execute(select(outcomes)).all()) == 1
        assert len(open_items(conn)) == 1


def test_a_later_match_resolves_the_work_list_item(engine: Engine, keys: KeyRing) -> None:
    """NoMatch for version 1, Matched for version 2: the work-list item closes itself."""
    first = batch_of(engine, keys, "A")
    with engine.begin() as conn:
        apply_outcome(
            conn,
            first,
            BatchOutcome(
                batch_id=first,
                status=BatchStatus.COMPLETE,
                record_outcomes=[
                    RecordOutcome(message_id=record("A").message_id, status=OutcomeStatus.NO_MATCH)
                ],
            ),
            now=utc_now(),
        )
        enqueue(conn, keys, SOURCE, [record("A", 2)])
        formed = form_batch(
            conn,
            keys,
            la_code="891",
            max_records=10,
            max_bytes=10**6,
            owner="t",
            lease_seconds=60,
            now=utc_now(),
        )
        assert isinstance(formed, FormedBatch)
        apply_outcome(
            conn,
            formed.batch_id,
            BatchOutcome(
                batch_id=formed.batch_id,
                status=BatchStatus.COMPLETE,
                record_outcomes=[
                    RecordOutcome(
                        message_id=record("A", 2).message_id,
                        status=OutcomeStatus.MATCHED,
                        contactpoint_id="CP3000000011",
                    )
                ],
            ),
            now=utc_now(),
        )
        assert open_items(conn) == []
