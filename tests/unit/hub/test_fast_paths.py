"""The hub's fast paths answer exactly what the model-based paths answer."""

from __future__ import annotations

import pickle
from datetime import date

from hub.processing import PreparedBatch, PreparedRecord
from hub.service import Caller, HubService
from hub.soap import response
from hub.synthetic import national_children, record_for
from ldi.models import Action, Breach
from ldi.xmlcodec import to_element
from tests.fixtures.hub import CASES, TODAY, make_batch, new_message_id, new_source_record_id


def test_prepared_batch_survives_pickling_field_for_field() -> None:
    """PreparedRecord's own __reduce__ gives back an equal record, every field in place."""
    record = PreparedRecord(
        message_id="m" * 32,
        source_record_id="S-1",
        action=Action.WITHDRAW,
        version=7,
        contactpoint_id="CP3000000011",
        birth_date=date(2015, 3, 27),
        nhs_number="9434765919",
        upn="Z891200115001",
        name_keys=frozenset({"2015-03-27|SMITH|A"}),
        record_json='{"a": 1}',
        breaches=(Breach(rule="BR-05", path="Record[1]/Child/UPN", message="m"),),
    )
    bare = PreparedRecord(
        "n", "S-2", Action.UPSERT, 1, None, None, None, None, frozenset(), None, ()
    )
    batch = PreparedBatch("b", "891", "FWK891", (record, bare))
    again = pickle.loads(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301
    assert again == batch
    assert again.records[0].action is Action.WITHDRAW


def test_outcome_response_is_byte_identical_to_the_model_path(
    service: HubService, caller: Caller
) -> None:
    """Every outcome kind (matches, holds, rejections, duplicates, stale) serialises the same."""
    matched = record_for(
        CASES["by_nhs"], message_id=new_message_id(), source_record_id=new_source_record_id()
    )
    twin = record_for(
        CASES["twin_1"],
        message_id=new_message_id(),
        source_record_id=new_source_record_id(),
        with_identifiers=False,
    )
    stranger = national_children(1, seed=99, on=TODAY)[0]
    no_match = record_for(
        stranger, message_id=new_message_id(), source_record_id=new_source_record_id()
    )
    bad_id = record_for(
        CASES["by_name"],
        message_id=new_message_id(),
        source_record_id=new_source_record_id(),
        contactpoint_id="CP3000000012",  # fails its check digit: BR-05, and BR-09
    )
    first = make_batch(matched, twin, no_match, bad_id)
    stale = matched.model_copy(update={"message_id": new_message_id()})
    second = make_batch(matched, stale)  # a Duplicate, then a Stale version
    seen: list[set[str]] = []
    for batch in (first, second):
        receipt, _ = service.submit(
            caller, to_element(batch), None, max_records=1000, transport="soap"
        )
        row = service.find_batch(caller, receipt.batch_id)
        seen.append({o.status.value for o in service.outcome(row).record_outcomes})
        assert service.outcome_response(row) == response(service.outcome(row))
        assert service.outcome_response(row, hold_pending=True) == response(
            service.outcome(row, hold_pending=True)
        )
    assert seen == [{"Matched", "MultipleMatch", "NoMatch", "Rejected"}, {"Duplicate", "Stale"}]
