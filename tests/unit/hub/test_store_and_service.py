"""The store and the transport-independent service: ids, receipts, durability, recovery."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from hub.national import NationalChild
from hub.processing import Processor
from hub.service import Caller, HubService, canonical
from hub.store import Store
from hub.synthetic import national_children, record_for
from ldi import identifiers as ids
from ldi.errors import HubError
from ldi.models import BatchStatus, Gender, SubmissionBatch
from ldi.xmlcodec import to_element
from tests.fixtures.hub import CASES, TODAY, make_batch, new_message_id, new_source_record_id


def _batch(case: str = "by_nhs", n: int = 1) -> SubmissionBatch:
    return make_batch(
        *(
            record_for(
                CASES[case], message_id=new_message_id(), source_record_id=new_source_record_id()
            )
            for _ in range(n)
        )
    )


def test_allocated_contactpoint_ids_are_valid_and_skip_taken_ones(store: Store) -> None:
    """Allocation yields check-digit-valid ids, never one a seed file already used."""
    taken = ids.make_contactpoint_id(ids.next_issuable_serial(100_000_000))
    store.add_children(
        [
            NationalChild(
                contactpoint_id=taken,
                accountable_body="891",
                given_name="A",
                family_name="B",
                birth_date=TODAY,
                gender=Gender.MALE,
            )
        ]
    )
    allocated = store.add_children(national_children(5, seed=1, on=TODAY))
    assert taken not in allocated
    assert len(set(allocated)) == 5
    assert all(ids.is_valid_contactpoint_id(i) for i in allocated)
    assert store.child_count() == len(CASES) + 6


def test_reseeding_records_with_ids_replaces_them(store: Store) -> None:
    """Seeding the same ids again replaces the records (and their name keys), not duplicates."""
    before = store.child_count()
    renamed = CASES["by_name"].model_copy(update={"family_name": "Changed"})
    store.add_children([renamed])
    assert store.child_count() == before
    child = store.child(renamed.contactpoint_id or "")
    assert child is not None
    assert child.family_name == "Changed"


def test_submit_is_idempotent_and_reuse_is_refused(service: HubService, caller: Caller) -> None:
    """Same canonical content → same receipt, created once; other content → BATCH_ID_REUSED."""
    batch = _batch()
    element = to_element(batch)
    first, created = service.submit(caller, element, None, max_records=1000, transport="soap")
    again, created_again = service.submit(
        caller, etree.fromstring(etree.tostring(element)), None, max_records=1000, transport="soap"
    )
    assert (created, created_again) == (True, False)
    assert again == first
    changed = to_element(make_batch(*_batch().records, batch_id=batch.batch_id))
    with pytest.raises(HubError) as caught:
        service.submit(caller, changed, None, max_records=1000, transport="soap")
    assert caught.value.code == "BATCH_ID_REUSED"


def test_canonical_form_ignores_attribute_order_but_not_values() -> None:
    """C14N: attribute order and quoting do not matter; any value change does."""
    a = etree.fromstring(b'<B xmlns="urn:contactpoint:ldi:1" x="1" y="2"><R>v</R></B>')
    b = etree.fromstring(b"<B xmlns='urn:contactpoint:ldi:1' y='2' x='1'><R>v</R></B>")
    c = etree.fromstring(b'<B xmlns="urn:contactpoint:ldi:1" x="1" y="2"><R>w</R></B>')
    assert canonical(a) == canonical(b)
    assert canonical(a) != canonical(c)


def test_record_limit_depends_on_the_transport(service: HubService, caller: Caller) -> None:
    """More records than the transport allows → BATCH_TOO_LARGE before anything is stored."""
    batch = _batch(n=3)
    with pytest.raises(HubError) as caught:
        service.submit(caller, to_element(batch), None, max_records=2, transport="sftp")
    assert caught.value.code == "BATCH_TOO_LARGE"
    assert service.store.batch(batch.batch_id) is None


def test_everything_survives_reopening_the_store(tmp_path: Path, caller: Caller) -> None:
    """Batches, outcomes, contributions and the index are read back from a new connection."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = Store.open(url)
    store.add_children(CASES.values())
    service = HubService(store, Processor(store), inline=True)
    batch = _batch()
    receipt, _ = service.submit(caller, to_element(batch), None, max_records=1000, transport="soap")
    row = store.batch(receipt.batch_id)
    assert row is not None
    outcomes = store.outcomes(row.seq)
    store.close()

    reopened = Store.open(url)
    row_again = reopened.batch(receipt.batch_id)
    assert row_again == row
    assert reopened.outcomes(row.seq) == outcomes
    assert reopened.child_count() == len(CASES)
    srid = batch.records[0].source_record_id
    contribution = reopened.contribution("FWK891", srid)
    assert contribution is not None
    assert contribution["status"] == "Matched"
    reopened.close()


def test_pending_batches_are_processed_after_a_restart(tmp_path: Path, caller: Caller) -> None:
    """A batch stored but not processed (background mode, then a crash) completes on restart."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = Store.open(url)
    store.add_children(CASES.values())
    service = HubService(store, Processor(store), inline=False)
    batch = _batch("twin_1")
    receipt, _ = service.submit(caller, to_element(batch), None, max_records=1000, transport="soap")
    assert service.find_batch(caller, receipt.batch_id).status is BatchStatus.PENDING
    store.close()

    reopened = Store.open(url)
    assert Processor(reopened).process_pending() == 1  # parses the stored canonical payload
    row = reopened.batch(receipt.batch_id)
    assert row is not None
    assert row.status is BatchStatus.COMPLETE
    assert [o.status.value for o in reopened.outcomes(row.seq)] == ["Matched"]
    reopened.close()


def test_outcome_polls_are_limited_to_the_callers_batches(
    service: HubService, caller: Caller
) -> None:
    """find_batch answers UNAUTHORISED for unknown ids and for another LA's batches."""
    batch = _batch()
    service.submit(caller, to_element(batch), None, max_records=1000, transport="soap")
    other = Caller(la_code="815", source_systems=frozenset({"CARE815"}), presented_by="o")
    for who, batch_id in (
        (other, batch.batch_id),
        (caller, "00000000-0000-4000-8000-000000000000"),
    ):
        with pytest.raises(HubError) as caught:
            service.find_batch(who, batch_id)
        assert caught.value.code == "UNAUTHORISED"
