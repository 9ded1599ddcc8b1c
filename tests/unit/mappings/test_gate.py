"""The statutory policy gate: scope, sensitive services, shielding, then rules and XSD."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import Provenance, SourceRecord
from ldi.models import (
    SENSITIVE_SERVICE_TYPES,
    Address,
    CarerName,
    Involvement,
    ParentCarer,
    Participation,
    ParticipationBasis,
    Relationship,
    ServiceType,
)
from mappings.gate import Verdict, apply_policy, schema_breaches
from mappings.mapper import Mapper
from mappings.spec import MappingSpec
from tests.unit.ldi.conftest import make_record

RUN_AT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def camhs(consent: str | None) -> Involvement:
    return Involvement(
        service_type=ServiceType.MENTAL_HEALTH,
        organisation="CAMHS",
        practitioner_name="Dr Lee",
        telephone="0115 496 0444",
        start_date=date(2024, 1, 10),
        lead_professional=True,
        sensitive=True,
        consent_reference=consent,
    )


def test_clean_record_is_sent_unchanged() -> None:
    """A record within scope and rules passes the gate as it is."""
    record = make_record()
    result = apply_policy(record, run_at=RUN_AT)
    assert result.verdict is Verdict.SEND and result.record == record


def test_sensitive_involvement_without_consent_becomes_the_bare_indicator() -> None:
    """BR-03: without consent only SensitiveService, Sensitive=true and dates leave the LA."""
    result = apply_policy(make_record(involvements=[camhs(None)]), run_at=RUN_AT)
    assert result.verdict is Verdict.SEND and result.record is not None
    (inv,) = result.record.involvements
    assert inv.service_type is ServiceType.SENSITIVE_SERVICE and inv.sensitive
    assert (inv.organisation, inv.practitioner_name, inv.telephone, inv.role, inv.email) == (
        None,
    ) * 5
    assert inv.start_date == date(2024, 1, 10)
    assert result.reductions == ("BR-03 Involvement[1] reduced to the SensitiveService indicator",)
    assert "CAMHS" not in result.record.model_dump_json()


def test_sensitive_involvement_with_consent_keeps_its_details() -> None:
    """BR-03: with a ConsentReference the sensitive service is sent in full."""
    result = apply_policy(make_record(involvements=[camhs("SC-1")]), run_at=RUN_AT)
    assert result.verdict is Verdict.SEND and result.record is not None
    assert result.record.involvements[0].organisation == "CAMHS"


def test_shielded_child_is_reduced_to_permitted_items() -> None:
    """BR-04: a shielded record loses address, carers and involvements but is still sent."""
    record = make_record(
        child__shielding_requested=True,
        child__address=Address(lines=["1 High St"], postcode="NG2 7QP"),
        parent_carers=[
            ParentCarer(
                name=CarerName(family_name="X"),
                relationship=Relationship.MOTHER,
                parental_responsibility=True,
            )
        ],
        involvements=[camhs("SC-1")],
    )
    result = apply_policy(record, run_at=RUN_AT)
    assert result.verdict is Verdict.SEND and result.record is not None
    assert result.record.child is not None and result.record.child.address is None
    assert result.record.parent_carers == [] and result.record.involvements == []
    assert result.record.child.nhs_number == record.child.nhs_number  # type: ignore[union-attr]


def test_out_of_scope_ages_are_excluded_not_held() -> None:
    """BR-02: 25+, or 18-24 without participation, is excluded (withdrawn), not held for fixing."""
    for born in (date(2000, 1, 1), date(2007, 1, 1)):
        result = apply_policy(make_record(child__birth_date=born), run_at=RUN_AT)
        assert result.verdict is Verdict.EXCLUDE
        assert [b.rule for b in result.breaches] == ["BR-02"]


def test_care_leaver_with_consent_is_sent() -> None:
    """BR-02: an 18-24 year old with participation consent is in scope."""
    participation = Participation(
        basis=ParticipationBasis.CARE_LEAVER,
        consent_reference="PC-1",
        consent_date=date(2026, 1, 5),
    )
    result = apply_policy(
        make_record(child__birth_date=date(2005, 6, 1), child__participation=participation),
        run_at=RUN_AT,
    )
    assert result.verdict is Verdict.SEND


def test_child_who_died_is_sent_with_the_date() -> None:
    """A date of death does not exclude the child: it is sent with it."""
    result = apply_policy(make_record(child__date_of_death=date(2026, 5, 1)), run_at=RUN_AT)
    assert result.verdict is Verdict.SEND and result.record is not None
    assert result.record.child is not None and result.record.child.date_of_death == date(2026, 5, 1)


def test_remaining_rule_breach_holds_with_rule_id() -> None:
    """A bad NHS number survives the gate's reductions and holds the record with BR-05."""
    result = apply_policy(make_record(child__nhs_number="9000000001"), run_at=RUN_AT)
    assert result.verdict is Verdict.HOLD
    assert [(b.rule, b.path) for b in result.breaches] == [("BR-05", "Record[1]/Child/NHSNumber")]


def test_over_long_name_is_held_by_the_schema() -> None:
    """A value the rules accept but the XSD does not (a 36-letter name) is held (TA-SCH-01)."""
    base = make_record().child.name  # type: ignore[union-attr]
    record = make_record(child__name=base.model_copy(update={"family_name": "A" * 36}))
    result = apply_policy(record, run_at=RUN_AT)
    assert result.verdict is Verdict.HOLD
    assert result.breaches[0].rule == "LDI-MSG-01" and "A" * 36 not in result.breaches[0].message


# ----- property: whatever the source row, the gate sends schema-valid LDI or holds it -----

SPEC = MappingSpec.model_validate(
    {
        "source_record_id": {"from": "id"},
        "code_tables": {
            "gender": {"M": "Male", "F": "Female", "U": "NotKnown", "*": "NotKnown"},
            "service": {
                "SW": "SocialCare",
                "CAMHS": "MentalHealth",
                "SH": "SexualHealth",
                "*": "Other",
            },
        },
        "items": {
            "Child.Name.GivenName": {"from": "given", "transforms": ["trim", "nfc", "name_case"]},
            "Child.Name.FamilyName": {"from": "family", "transforms": ["trim", "nfc"]},
            "Child.BirthDate": {"from": "dob", "transforms": ["date"]},
            "Child.Gender": {"from": "sex", "transforms": [{"code": "gender"}]},
            "Child.NHSNumber": {"from": "nhs", "transforms": ["nhs_number"]},
            "Child.UPN": {"from": "upn", "transforms": ["identifier"]},
            "Child.Address.Line": {"from": "line", "transforms": ["trim"]},
            "Child.Address.Postcode": {"from": "postcode", "transforms": ["postcode"]},
            "Child.ShieldingRequested": {"from": "shielded", "transforms": ["boolean"]},
        },
        "groups": [
            {
                "target": "Involvement",
                "rows": "inv",
                "items": {
                    "ServiceType": {"from": "service", "transforms": [{"code": "service"}]},
                    "Organisation": {"from": "org", "transforms": ["trim"]},
                    "Telephone": {"from": "phone", "transforms": ["telephone"]},
                    "StartDate": {"from": "start", "transforms": ["date"]},
                    "LeadProfessional": {"from": "lead", "transforms": ["boolean"]},
                    "Sensitive": {"from": "sensitive", "transforms": ["boolean"]},
                    "ConsentReference": {"from": "consent", "transforms": ["trim"]},
                },
            }
        ],
    }
)
MAPPER = Mapper(SPEC)

text = st.one_of(st.none(), st.text(max_size=45))
iso_dates = st.one_of(
    st.none(),
    st.dates(date(1890, 1, 1), date(2030, 1, 1)).map(date.isoformat),
    st.text(max_size=12),
)
flags = st.sampled_from([None, "Y", "N", "1", "0", "maybe"])
involvement_rows = st.fixed_dictionaries(
    {
        "service": st.sampled_from([None, "SW", "CAMHS", "SH", "??"]),
        "org": text,
        "phone": st.one_of(st.none(), st.from_regex(r"\+?[0-9 ()-]{0,20}", fullmatch=True)),
        "start": iso_dates,
        "lead": flags,
        "sensitive": flags,
        "consent": text,
    }
)
rows = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True),
        "given": text,
        "family": text,
        "dob": iso_dates,
        "sex": st.sampled_from([None, "M", "F", "U", "Z"]),
        "nhs": st.one_of(st.none(), st.from_regex(r"[0-9 ]{8,12}", fullmatch=True)),
        "upn": st.one_of(st.none(), st.from_regex(r"[A-Z][0-9]{11}[0-9A-Z]", fullmatch=True), text),
        "line": text,
        "postcode": st.one_of(
            st.none(), st.sampled_from(["ng27qp", "SW1A 1AA", "BFPO 12", "x"]), text
        ),
        "shielded": flags,
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=rows, inv=st.lists(involvement_rows, max_size=4))
def test_gate_output_is_schema_valid_or_held(
    row: dict[str, Any], inv: list[dict[str, Any]]
) -> None:
    """Any source row ends held/excluded, or sent schema-valid with BR-03 honoured."""
    mapped = MAPPER.map(SourceRecord(row["id"], row, {"inv": inv}, "x", Provenance("t", "pk")))
    if mapped.record is None:
        assert mapped.breaches  # held by the mapping, with a reason
        return
    result = apply_policy(mapped.record, run_at=RUN_AT)
    if result.verdict is Verdict.SEND:
        assert result.record is not None
        assert schema_breaches(result.record, RUN_AT) == []
        for sent in result.record.involvements:
            if sent.service_type in SENSITIVE_SERVICE_TYPES:
                assert sent.consent_reference  # never a sensitive service without consent
            if sent.service_type is ServiceType.SENSITIVE_SERVICE:
                assert sent.organisation is None and sent.telephone is None
    else:
        assert result.breaches
