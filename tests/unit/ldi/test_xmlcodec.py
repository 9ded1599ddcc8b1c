"""Models ⇄ XML: canonical serialisation, exact round trip, strict parsing."""

from __future__ import annotations

import pytest
from lxml import etree

from ldi import NAMESPACE
from ldi.errors import SchemaInvalid
from ldi.models import BatchOutcome, FaultCode, FaultDetail, OutcomeStatus, SubmissionBatch
from ldi.schema import validate_tree
from ldi.xmlcodec import from_element, to_bytes
from tests.unit.ldi.conftest import make_batch, make_record

NS = "{" + NAMESPACE + "}"


def test_golden_batch_round_trips_byte_for_byte(golden_bytes: bytes) -> None:
    """Parsing the golden batch into models and serialising it again gives identical bytes."""
    batch = from_element(etree.fromstring(golden_bytes), SubmissionBatch)
    assert to_bytes(batch) == golden_bytes


def test_golden_batch_is_schema_valid(golden_bytes: bytes) -> None:
    """The golden batch validates against the shipped XSD (TA-SCH-01)."""
    assert validate_tree(etree.fromstring(golden_bytes)) == []


def test_serialised_record_keeps_xsd_element_order() -> None:
    """Child elements come out in xs:sequence order whatever order fields were given in."""
    record = make_record(contactpoint_id="CP1234567903")
    element = etree.fromstring(to_bytes(make_batch(record)))[0]
    assert [etree.QName(c).localname for c in element] == [
        "SourceRecordId",
        "ContactPointId",
        "Child",
    ]


def test_booleans_and_dates_use_one_lexical_form() -> None:
    """Booleans serialise as true/false and dates as YYYY-MM-DD (docs/decisions.md)."""
    record = make_record(child__shielding_requested=True)
    text = to_bytes(make_batch(record)).decode()
    assert "<ShieldingRequested>true</ShieldingRequested>" in text
    assert "<BirthDate>2015-03-27</BirthDate>" in text


def test_outcome_and_fault_documents_round_trip_and_validate() -> None:
    """Outcome and fault documents serialise schema-valid and parse back equal."""
    from ldi.models import Breach, RecordOutcome

    outcome = BatchOutcome(
        batch_id="6f1c2b0e-3d4a-4b5c-8d6e-7f8091a2b3c4",
        status="Complete",
        record_outcomes=[
            RecordOutcome(
                message_id="a" * 32, status=OutcomeStatus.MATCHED, contactpoint_id="CP1234567903"
            ),
            RecordOutcome(
                message_id="b" * 32,
                status=OutcomeStatus.REJECTED,
                breaches=[Breach(rule="BR-05", path="Record[2]/Child/UPN", message="UPN fails")],
            ),
            RecordOutcome(
                message_id="c" * 32,
                status=OutcomeStatus.DUPLICATE,
                original_status=OutcomeStatus.NO_MATCH,
            ),
        ],
    )
    fault = FaultDetail(code=FaultCode.THROTTLED, message="slow down", retry_after_seconds=3)
    for model in (outcome, fault):
        element = etree.fromstring(to_bytes(model))
        assert validate_tree(element) == []
        assert from_element(element, type(model)) == model


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (lambda r: r.append(etree.Element(NS + "CaseNote")), "not defined here"),
        (lambda r: r.set("priority", "high"), "attribute 'priority'"),
        (lambda r: r.insert(0, etree.Element(NS + "Child")), "out of order"),
    ],
)
def test_parser_refuses_content_the_contract_does_not_define(
    mutation: object, expected: str
) -> None:
    """Unknown elements or attributes and wrong order raise SchemaInvalid (LDI-MSG-01)."""
    root = etree.fromstring(to_bytes(make_batch(make_record())))
    mutation(root[0])  # type: ignore[operator]
    with pytest.raises(SchemaInvalid, match=expected):
        from_element(root, SubmissionBatch)


def test_parse_error_does_not_echo_values() -> None:
    """A type error while parsing names the field but not the offending value."""
    root = etree.fromstring(to_bytes(make_batch(make_record())))
    root[0].set("version", "Zebedee")
    with pytest.raises(SchemaInvalid) as caught:
        from_element(root, SubmissionBatch)
    assert "Zebedee" not in str(caught.value)
    assert "version" in str(caught.value)
