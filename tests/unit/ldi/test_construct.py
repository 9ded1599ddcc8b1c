"""construct() gives exactly what model_validate gives, or None (and pydantic decides)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from ldi.construct import construct, validated
from ldi.models import Address, Record, SubmissionBatch
from ldi.xmlcodec import from_element
from tests.unit.ldi.test_xmlwriter import records


def _same_as_pydantic(model: type[Any], data: Any) -> bool:
    """True when construct built the model; asserts it equals pydantic's in every respect."""
    built = construct(model, data)
    try:
        expected = model.model_validate(data)
    except ValidationError:
        assert built is None, "construct accepted data pydantic refuses"
        return False
    if built is None:
        return False
    assert built == expected
    assert built.__pydantic_fields_set__ == expected.__pydantic_fields_set__
    assert built.model_dump_json(by_alias=True) == expected.model_dump_json(by_alias=True)
    return True


@settings(max_examples=200, deadline=None)
@given(record=records, mode=st.sampled_from(["python", "json"]))
def test_valid_records_are_built_like_pydantic(record: Record, mode: str) -> None:
    """A record's own data (typed, or with ISO-date strings) is built, equal to pydantic's."""
    data = record.model_dump(mode=mode, exclude_unset=True)
    assert _same_as_pydantic(Record, data)


_BREAKAGES = [
    lambda d: d.pop("source_record_id"),  # a mandatory field missing
    lambda d: d.update(unknown="x"),  # a key the model does not have
    lambda d: d.update(SourceRecordId="alias"),  # an alias, not a field name
    lambda d: d.update(version="1.0"),  # not an integer's lexical form
    lambda d: d.update(version=True),  # a bool is not an int here
    lambda d: d.update(action="upsert"),  # not an enumeration value
    lambda d: d.update(source_record_id=None),  # None for a mandatory field
    lambda d: d.get("child") and d["child"].update(birth_date="2015-01-01Z"),
    lambda d: d.get("child") and d["child"].update(shielding_requested="1"),
    lambda d: d.get("child") and d["child"].update(birth_date="2015-02-30"),
    lambda d: d.update(parent_carers="not a list"),
]


@settings(max_examples=200, deadline=None)
@given(record=records, breakage=st.sampled_from(_BREAKAGES))
def test_data_out_of_shape_is_left_to_pydantic(record: Record, breakage: Any) -> None:
    """After one breakage, construct either builds pydantic's model or says None."""
    data = record.model_dump(mode="json", exclude_unset=True)
    breakage(data)
    _same_as_pydantic(Record, data)


def test_an_address_without_lines_is_left_to_pydantic() -> None:
    """The one length constraint (at least one Line) is honoured: pydantic reports it."""
    assert construct(Address, {"lines": [], "postcode": "NG1 1AA"}) is None
    assert construct(Address, {"lines": ["1 Road"], "postcode": "NG1 1AA"}) is not None


def test_golden_batch_parses_to_the_same_models(golden_bytes: bytes) -> None:
    """from_element (now through construct) equals pydantic on every golden record and batch."""
    batch = from_element(etree.fromstring(golden_bytes), SubmissionBatch)
    for record in batch.records:
        data = record.model_dump(mode="json", exclude_unset=True)
        assert validated(Record, data) == Record.model_validate(data)
    again = SubmissionBatch.model_validate(batch.model_dump(mode="json", exclude_unset=True))
    assert batch == again
