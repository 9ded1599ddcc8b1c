"""The merged national record: identity kept, contacts unioned with their sources."""

from __future__ import annotations

from typing import Any

from hub.merge import merged_record
from tests.fixtures.hub import CASES

CARER = {"Name": {"FamilyName": "Okafor"}, "Relationship": "Mother", "ParentalResponsibility": True}
SCHOOL = {"LAEstab": "8912001", "Name": "Riverside Primary School", "StartDate": "2020-09-01"}


def _contribution(source: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"sourceSystem": source, "sourceRecordId": f"{source}-1", "record": record}


def test_identity_is_the_national_records_and_gaps_are_filled() -> None:
    """Names stay national; a missing UPN is taken from a contribution and attributed."""
    national = CASES["twin_1"]  # has an NHS number, no UPN
    merged = merged_record(
        national,
        [
            _contribution(
                "FWK891",
                {
                    "Child": {
                        "Name": {"GivenName": "Jackie", "FamilyName": "X"},
                        "UPN": "Z891200115001",
                        "NHSNumber": "9434765919",
                    }
                },
            )
        ],
    )["merged"]
    assert merged["identity"]["givenName"] == "Jack"
    assert merged["identity"]["nhsNumber"] == national.nhs_number
    assert merged["identity"]["upn"] == "Z891200115001"
    assert merged["identifiersFrom"] == {"upn": "FWK891"}


def test_contacts_are_unioned_and_identical_items_listed_once() -> None:
    """The same carer from two sources appears once with both sources; others once each."""
    merged = merged_record(
        CASES["twin_1"],
        [
            _contribution("FWK891", {"ParentCarer": [CARER]}),
            _contribution("SCH891", {"ParentCarer": [CARER], "EducationalSetting": [SCHOOL]}),
        ],
    )["merged"]
    assert merged["parentCarers"] == [{**CARER, "sources": ["FWK891", "SCH891"]}]
    assert merged["educationalSettings"] == [{**SCHOOL, "sources": ["SCH891"]}]


def test_a_shielding_request_hides_contacts_and_address() -> None:
    """If any source asks for shielding, the merged view holds identity only."""
    merged = merged_record(
        CASES["twin_1"],
        [
            _contribution(
                "FWK891", {"ParentCarer": [CARER], "Child": {"Address": {"Postcode": "NG1 1AA"}}}
            ),
            _contribution("HLT891", {"Child": {"ShieldingRequested": True}}),
        ],
    )["merged"]
    assert merged["shielded"] is True
    assert "parentCarers" not in merged
    assert "address" not in merged


def test_without_contributions_the_merged_record_is_the_national_one() -> None:
    """No contribution: identity and the national postcode, empty contact lists."""
    view = merged_record(CASES["by_nhs"], [])
    assert view["contactPointId"] == CASES["by_nhs"].contactpoint_id
    assert view["merged"]["address"] == {"postcode": "NG2 7QP"}
    assert view["merged"]["parentCarers"] == []
