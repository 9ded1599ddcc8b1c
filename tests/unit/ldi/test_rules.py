"""BR-01 … BR-08 and LDI-MSG-02/03: each breach is found, reported with its id and path."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldi.models import (
    CAF,
    Action,
    Address,
    CAFStatus,
    CarerName,
    EducationalSetting,
    Involvement,
    OtherName,
    OtherNameType,
    ParentCarer,
    Participation,
    ParticipationBasis,
    PrimaryMedicalPractitioner,
    Relationship,
    ServiceType,
)
from ldi.rules import age_on, check_batch, check_record
from tests.unit.ldi.conftest import BATCH_DATE, make_batch, make_record

TODAY = BATCH_DATE.date()


def rules_of(record: object) -> list[tuple[str, str]]:
    """(rule, path) pairs of every breach of ``record`` on the batch date."""
    return [(b.rule, b.path) for b in check_record(record, TODAY)]  # type: ignore[arg-type]


def inv(**kw: object) -> Involvement:
    base: dict[str, object] = {
        "service_type": ServiceType.SOCIAL_CARE,
        "start_date": date(2020, 1, 1),
        "lead_professional": False,
        "sensitive": False,
    }
    base.update(kw)
    return Involvement(**base)  # type: ignore[arg-type]


def test_minimal_record_has_no_breach() -> None:
    """The baseline record used by these tests is clean, so each breach below is the one added."""
    assert rules_of(make_record()) == []


def test_golden_batch_has_no_breach(golden_bytes: bytes) -> None:
    """The golden batch, which fills every element, breaks no rule."""
    from lxml import etree

    from ldi.models import SubmissionBatch
    from ldi.xmlcodec import from_element

    batch = from_element(etree.fromstring(golden_bytes), SubmissionBatch)
    assert check_batch(batch) == [[], []]


# ----- BR-01 -----


def test_br01_upsert_without_child() -> None:
    """An Upsert with no Child breaks BR-01."""
    assert rules_of(make_record(child=None)) == [("BR-01", "Record[1]")]


def test_br01_withdraw_with_content() -> None:
    """A Withdraw that carries a Child (or any content) breaks BR-01, once per element."""
    record = make_record(action=Action.WITHDRAW, involvements=[inv()])
    assert ("BR-01", "Record[1]/Child") in rules_of(record)
    assert ("BR-01", "Record[1]/Involvement") in rules_of(record)


def test_br01_bare_withdraw_is_fine() -> None:
    """A Withdraw with only SourceRecordId and ContactPointId is valid."""
    assert (
        rules_of(make_record(action=Action.WITHDRAW, child=None, contactpoint_id="CP1234567903"))
        == []
    )


# ----- BR-02 -----


def _born_years_ago(years: int, extra_days: int = 0) -> date:
    return TODAY.replace(year=TODAY.year - years) - timedelta(days=extra_days)


def test_br02_18_without_participation() -> None:
    """A young person who turned 18 on the batch date needs Participation (BR-02)."""
    assert rules_of(make_record(child__birth_date=_born_years_ago(18))) == [
        ("BR-02", "Record[1]/Child/BirthDate")
    ]


def test_br02_day_before_18th_birthday_is_in_scope() -> None:
    """A child one day short of 18 is in scope without Participation."""
    born = _born_years_ago(18) + timedelta(days=1)
    assert rules_of(make_record(child__birth_date=born)) == []


def test_br02_18_to_24_with_participation_is_fine() -> None:
    """Participation makes an 18-24 year old in scope."""
    participation = Participation(
        basis=ParticipationBasis.CARE_LEAVER, consent_reference="C-1", consent_date=date(2026, 1, 1)
    )
    born = _born_years_ago(24, 300)
    assert rules_of(make_record(child__birth_date=born, child__participation=participation)) == []


def test_br02_25_is_out_of_scope_even_with_participation() -> None:
    """Aged 25 or over is out of scope whatever the consent."""
    participation = Participation(
        basis=ParticipationBasis.CARE_LEAVER, consent_reference="C-1", consent_date=date(2026, 1, 1)
    )
    record = make_record(child__birth_date=_born_years_ago(25), child__participation=participation)
    assert rules_of(record) == [("BR-02", "Record[1]/Child/BirthDate")]


def test_age_on_leap_day_birthday() -> None:
    """A 29 February birthday is reached on 1 March in a common year."""
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


# ----- BR-03 -----


@pytest.mark.parametrize("service", ["MentalHealth", "SexualHealth", "SubstanceMisuse"])
def test_br03_sensitive_service_without_consent(service: str) -> None:
    """A sensitive service type without ConsentReference breaks BR-03."""
    record = make_record(involvements=[inv(service_type=ServiceType(service), sensitive=True)])
    assert rules_of(record) == [("BR-03", "Record[1]/Involvement[1]")]


def test_br03_sensitive_service_flag_missing() -> None:
    """A sensitive service type with consent but Sensitive=false breaks BR-03."""
    record = make_record(
        involvements=[inv(service_type=ServiceType.MENTAL_HEALTH, consent_reference="C-9")]
    )
    assert rules_of(record) == [("BR-03", "Record[1]/Involvement[1]")]


def test_br03_indicator_with_contact_details() -> None:
    """The bare SensitiveService indicator may not carry contact details: one breach each."""
    record = make_record(
        involvements=[
            inv(
                service_type=ServiceType.SENSITIVE_SERVICE,
                sensitive=True,
                organisation="Clinic",
                telephone="0115 496 0000",
            )
        ]
    )
    assert rules_of(record) == [
        ("BR-03", "Record[1]/Involvement[1]/Organisation"),
        ("BR-03", "Record[1]/Involvement[1]/Telephone"),
    ]


def test_br03_sensitive_flag_on_ordinary_service() -> None:
    """Sensitive=true on a non-sensitive service type breaks BR-03."""
    record = make_record(involvements=[inv(sensitive=True)])
    assert rules_of(record) == [("BR-03", "Record[1]/Involvement[1]")]


def test_br03_bare_indicator_is_fine() -> None:
    """SensitiveService with Sensitive=true and no contact details is allowed."""
    record = make_record(
        involvements=[inv(service_type=ServiceType.SENSITIVE_SERVICE, sensitive=True)]
    )
    assert rules_of(record) == []


# ----- BR-04 -----


def test_br04_shielded_record_with_forbidden_items() -> None:
    """A shielded record carrying an address, a carer and a CAF breaks BR-04 once per item."""
    record = make_record(
        child__shielding_requested=True,
        child__address=Address(lines=["1 High St"], postcode="NG2 7QP"),
        child__other_names=[OtherName(type=OtherNameType.ALIAS, family_name="Doe")],
        parent_carers=[
            ParentCarer(
                name=CarerName(family_name="Child"),
                relationship=Relationship.MOTHER,
                parental_responsibility=True,
            )
        ],
        caf=CAF(status=CAFStatus.COMPLETED, caf_date=date(2020, 1, 1)),
    )
    assert sorted(rules_of(record)) == [
        ("BR-04", "Record[1]/CAF"),
        ("BR-04", "Record[1]/Child/Address"),
        ("BR-04", "Record[1]/Child/OtherName"),
        ("BR-04", "Record[1]/ParentCarer"),
    ]


def test_br04_shielded_record_with_permitted_items_only() -> None:
    """Name, birth date, gender, NHS number, UPN and the flag are allowed when shielded."""
    assert rules_of(make_record(child__shielding_requested=True)) == []


# ----- BR-05 -----


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"child__nhs_number": "9000000001"}, "Record[1]/Child/NHSNumber"),
        ({"child__upn": "A891234567890"}, "Record[1]/Child/UPN"),
        ({"contactpoint_id": "CP1234567890"}, "Record[1]/ContactPointId"),
        (
            {"child__address": Address(lines=["1 High St"], postcode="QQ1 1QQ")},
            "Record[1]/Child/Address/Postcode",
        ),
        (
            {
                "educational_settings": [
                    EducationalSetting(
                        laestab="9992001", name="School", start_date=date(2020, 9, 1)
                    )
                ]
            },
            "Record[1]/EducationalSetting[1]/LAEstab",
        ),
        (
            {
                "educational_settings": [
                    EducationalSetting(
                        laestab="8912001", urn="12345", name="School", start_date=date(2020, 9, 1)
                    )
                ]
            },
            "Record[1]/EducationalSetting[1]/URN",
        ),
        (
            {
                "primary_medical_practitioner": PrimaryMedicalPractitioner(
                    ods_code="c84001", practice_name="Surgery"
                )
            },
            "Record[1]/PrimaryMedicalPractitioner/ODSCode",
        ),
    ],
)
def test_br05_identifier_fails_its_check(changes: dict[str, object], path: str) -> None:
    """Each identifier that fails its section-1 check is one BR-05 breach at its path."""
    assert rules_of(make_record(**changes)) == [("BR-05", path)]


def test_br05_message_does_not_contain_the_identifier() -> None:
    """The breach message names the check, never the failing value."""
    breaches = check_record(make_record(child__nhs_number="9000000001"), TODAY)
    assert "9000000001" not in breaches[0].message


# ----- BR-06 -----


def test_br06_birth_date_in_the_future_and_before_1900() -> None:
    """A birth date after the batch date, or before 1900, breaks BR-06."""
    assert ("BR-06", "Record[1]/Child/BirthDate") in rules_of(
        make_record(child__birth_date=TODAY + timedelta(days=1))
    )
    assert ("BR-06", "Record[1]/Child/BirthDate") in rules_of(
        make_record(child__birth_date=date(1899, 12, 31))
    )


def test_br06_dates_before_birth_or_end_before_start() -> None:
    """A start date before birth and an end date before its start each break BR-06."""
    record = make_record(
        involvements=[
            inv(start_date=date(2014, 1, 1)),
            inv(start_date=date(2020, 1, 1), end_date=date(2019, 1, 1)),
        ]
    )
    assert rules_of(record) == [
        ("BR-06", "Record[1]/Involvement[2]/EndDate"),
        ("BR-06", "Record[1]/Involvement[1]/StartDate"),
    ]


def test_br06_death_before_birth() -> None:
    """A date of death before the birth date breaks BR-06."""
    record = make_record(child__date_of_death=date(2015, 3, 26))
    assert rules_of(record) == [("BR-06", "Record[1]/Child/DateOfDeath")]


# ----- BR-07 -----


def test_br07_two_open_lead_professionals() -> None:
    """Two open involvements with LeadProfessional=true break BR-07 (reported on the second)."""
    record = make_record(involvements=[inv(lead_professional=True), inv(lead_professional=True)])
    assert rules_of(record) == [("BR-07", "Record[1]/Involvement[2]")]


def test_br07_closed_lead_does_not_count() -> None:
    """A closed lead involvement beside an open one is allowed."""
    record = make_record(
        involvements=[
            inv(lead_professional=True, end_date=date(2021, 1, 1)),
            inv(lead_professional=True),
        ]
    )
    assert rules_of(record) == []


# ----- BR-08 -----


def test_br08_duplicate_message_ids_in_a_batch() -> None:
    """Every record that shares a messageId within a batch is reported with BR-08."""
    a = make_record(source_record_id="A")
    b = make_record(source_record_id="B")
    c = make_record(source_record_id="C", message_id="f" * 32)
    result = check_batch(make_batch(a, b, c))
    assert [[x.rule for x in r] for r in result] == [["BR-08"], ["BR-08"], []]
    assert result[1][0].path == "Record[2]"


# ----- LDI-MSG-02 / 03 -----


def test_msg02_non_nfc_text() -> None:
    """A decomposed (NFD) name is reported with LDI-MSG-02."""
    record = make_record(
        child__name=make_record().child.name.model_copy(  # type: ignore[union-attr]
            update={"family_name": "Zoe\u0308"}
        )
    )
    assert ("LDI-MSG-02", "Record[1]/Child/Name/FamilyName") in rules_of(record)


def test_msg03_digits_in_a_name() -> None:
    """A digit in a name is reported with LDI-MSG-03; accents and apostrophes are fine."""
    base = make_record().child.name  # type: ignore[union-attr]
    assert (
        rules_of(make_record(child__name=base.model_copy(update={"given_name": "Zoë O'Neil-Ní"})))
        == []
    )
    bad = make_record(child__name=base.model_copy(update={"given_name": "J0hn"}))
    assert rules_of(bad) == [("LDI-MSG-03", "Record[1]/Child/Name/GivenName")]


# ----- properties -----

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
)


SENTINEL = "Qzxv"  # never part of a fixed message, so any echo of a value would show it


@given(given_name=names, family_name=names, born=st.dates(date(1880, 1, 1), date(2030, 1, 1)))
def test_breach_messages_never_contain_personal_data(
    given_name: str, family_name: str, born: date
) -> None:
    """For any names and birth date, no breach message echoes a name or the date."""
    base = make_record().child.name  # type: ignore[union-attr]
    record = make_record(
        child__name=base.model_copy(
            update={"given_name": SENTINEL + given_name, "family_name": SENTINEL + family_name}
        ),
        child__birth_date=born,
    )
    for breach in check_record(record, TODAY):
        assert SENTINEL not in breach.message
        assert born.isoformat() not in breach.message


@given(born=st.dates(date(1900, 1, 1), TODAY))
def test_br02_partitions_ages(born: date) -> None:
    """Every birth date gets exactly the BR-02 verdict its age on the batch date implies."""
    age = age_on(born, TODAY)
    found = [r for r, _ in rules_of(make_record(child__birth_date=born)) if r == "BR-02"]
    assert found == ([] if age < 18 else ["BR-02"])
