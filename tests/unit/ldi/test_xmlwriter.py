"""The direct XML writer gives exactly lxml's bytes and the delta engine's old content hash."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ldi.models import (
    CAF,
    Action,
    Address,
    CAFHolder,
    CAFStatus,
    CarerName,
    Child,
    ChildName,
    EducationalSetting,
    Gender,
    Involvement,
    LdiModel,
    OtherName,
    OtherNameType,
    ParentCarer,
    Participation,
    ParticipationBasis,
    PrimaryMedicalPractitioner,
    Record,
    Relationship,
    ServiceType,
    SubmissionBatch,
)
from ldi.xmlcodec import from_element, to_element
from ldi.xmlwriter import content_digest, record_bytes, write_record

# Any text lxml accepts: markup characters, white space, non-ASCII, C1 controls.
xml_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff").filter(
        lambda c: c in "\t\n\r" or not ("\x00" <= c < "\x20")
    ),
    max_size=15,
)
maybe = st.one_of(st.none(), xml_text)


def model(cls: type[LdiModel], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Instances of ``cls`` from keyword strategies (hypothesis' builds trips on aliases)."""
    return st.fixed_dictionaries(fields).map(lambda values: cls(**values))


dates = st.dates(date(1990, 1, 1), date(2030, 12, 31))
addresses = model(
    Address, lines=st.lists(xml_text, min_size=1, max_size=3), town=maybe, postcode=xml_text
)
children = model(
    Child,
    name=model(ChildName, given_name=xml_text, middle_names=maybe, family_name=xml_text),
    other_names=st.lists(
        model(
            OtherName,
            type=st.sampled_from(OtherNameType),
            given_name=maybe,
            family_name=xml_text,
        ),
        max_size=2,
    ),
    birth_date=dates,
    gender=st.sampled_from(Gender),
    nhs_number=maybe,
    upn=maybe,
    address=st.one_of(st.none(), addresses),
    date_of_death=st.one_of(st.none(), dates),
    shielding_requested=st.one_of(st.none(), st.booleans()),
    participation=st.one_of(
        st.none(),
        model(
            Participation,
            basis=st.sampled_from(ParticipationBasis),
            consent_reference=xml_text,
            consent_date=dates,
        ),
    ),
)
records = model(
    Record,
    message_id=xml_text,
    action=st.sampled_from(Action),
    version=st.integers(1, 10**9),
    source_record_id=xml_text,
    contactpoint_id=maybe,
    child=st.one_of(st.none(), children),
    parent_carers=st.lists(
        model(
            ParentCarer,
            name=model(CarerName, given_name=maybe, family_name=xml_text),
            relationship=st.sampled_from(Relationship),
            parental_responsibility=st.booleans(),
            address=st.one_of(st.none(), addresses),
            telephones=st.lists(xml_text, max_size=2),
            email=maybe,
        ),
        max_size=2,
    ),
    educational_settings=st.lists(
        model(
            EducationalSetting,
            laestab=xml_text,
            urn=maybe,
            name=xml_text,
            telephone=maybe,
            start_date=dates,
            end_date=st.one_of(st.none(), dates),
        ),
        max_size=2,
    ),
    primary_medical_practitioner=st.one_of(
        st.none(),
        model(
            PrimaryMedicalPractitioner,
            ods_code=xml_text,
            practice_name=xml_text,
            telephone=maybe,
            address=st.one_of(st.none(), addresses),
        ),
    ),
    involvements=st.lists(
        model(
            Involvement,
            service_type=st.sampled_from(ServiceType),
            organisation=maybe,
            practitioner_name=maybe,
            role=maybe,
            telephone=maybe,
            email=maybe,
            start_date=dates,
            end_date=st.one_of(st.none(), dates),
            lead_professional=st.booleans(),
            sensitive=st.booleans(),
            consent_reference=maybe,
        ),
        max_size=2,
    ),
    caf=st.one_of(
        st.none(),
        model(
            CAF,
            status=st.sampled_from(CAFStatus),
            caf_date=dates,
            held_by=st.one_of(
                st.none(),
                model(CAFHolder, organisation=xml_text, practitioner_name=maybe, telephone=maybe),
            ),
        ),
    ),
)


def _lxml_bytes(record: Record) -> bytes:
    return etree.tostring(to_element(record, "Record"), encoding="UTF-8")


def _lxml_content_hash(record: Record) -> str:
    """The delta engine's hash before the writer: each child element serialised alone."""
    digest = hashlib.sha256()
    for child in to_element(record, "Record"):
        digest.update(etree.tostring(child, encoding="UTF-8"))
    return digest.hexdigest()


@settings(max_examples=300, deadline=None)
@given(record=records)
def test_written_bytes_and_digest_equal_lxml(record: Record) -> None:
    """For any record lxml can serialise, the writer's bytes and content digest are lxml's."""
    assert record_bytes(record) == _lxml_bytes(record)
    assert content_digest(write_record(record)) == _lxml_content_hash(record)


def test_every_record_of_the_golden_batch(golden_bytes: bytes) -> None:
    """The golden batch (every optional element filled) is written exactly as lxml writes it."""
    batch = from_element(etree.fromstring(golden_bytes), SubmissionBatch)
    assert batch.records
    for record in batch.records:
        assert record_bytes(record) == _lxml_bytes(record)


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\x1f", "\ud800", "\ufffe"])
def test_values_xml_cannot_hold_are_refused_like_lxml(bad: str) -> None:
    """A value with a character XML cannot hold raises ValueError, as lxml does."""
    record = Record(
        message_id="m",
        action=Action.UPSERT,
        version=1,
        source_record_id="S",
        child=Child(
            name=ChildName(given_name="A" + bad, family_name="B"),
            birth_date=date(2015, 1, 1),
            gender=Gender.MALE,
        ),
    )
    with pytest.raises(ValueError):  # noqa: PT011 - lxml words it differently per character
        _lxml_bytes(record)
    with pytest.raises(ValueError):  # noqa: PT011 - lxml words it differently per character
        write_record(record)


def test_values_and_names_are_collected_for_the_text_rules() -> None:
    """Every string value is collected, names apart, for the gate's text checks."""
    record = Record(
        message_id="m1",
        action=Action.UPSERT,
        version=2,
        source_record_id="S1",
        child=Child(
            name=ChildName(given_name="Zoë", family_name="O'Neil"),
            other_names=[OtherName(type=OtherNameType.ALIAS, family_name="Smith")],
            birth_date=date(2015, 1, 1),
            gender=Gender.MALE,
        ),
    )
    written = write_record(record)
    assert set(written.values) == {"m1", "S1", "Zoë", "O'Neil", "Smith"}
    assert sorted(written.names) == ["O'Neil", "Smith", "Zoë"]
