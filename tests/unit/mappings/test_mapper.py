"""Mapping source records to LDI: items, groups, transforms, omissions and holds."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapter.mapping_files import mapping_problems
from connectors.base import Provenance, SourceRecord
from ldi.models import Gender, Relationship, ServiceType
from mappings.mapper import Mapper
from mappings.spec import MappingSpec

SPEC: dict[str, Any] = {
    "source_record_id": {"from": "id", "transforms": [{"prefix": "T-"}]},
    "deleted": {"from": "closed", "transforms": ["boolean"]},
    "code_tables": {
        "gender": {"M": "Male", "F": "Female"},
        "rel": {"MUM": "Mother", "DAD": "Father", "*": "Other"},
        "service": {"SW": "SocialCare", "CAMHS": "MentalHealth"},
    },
    "items": {
        "Child.Name.GivenName": {"from": "forename", "transforms": ["trim", "nfc", "name_case"]},
        "Child.Name.FamilyName": {
            "from": ["preferred_surname", "surname"],
            "transforms": ["trim", "name_case"],
        },
        "Child.BirthDate": {"from": "dob", "transforms": [{"date": "%d/%m/%Y"}]},
        "Child.Gender": {"from": "sex", "transforms": [{"code": "gender"}]},
        "Child.NHSNumber": {"from": "nhs", "transforms": ["nhs_number"]},
        "Child.Address.Line": {"from": ["addr1", "addr2"], "transforms": ["trim"]},
        "Child.Address.Postcode": {"from": "postcode", "transforms": ["postcode"]},
    },
    "groups": [
        {
            "target": "ParentCarer",
            "rows": "carers",
            "items": {
                "Name.FamilyName": {"from": "surname", "transforms": ["trim"]},
                "Relationship": {"from": "rel", "transforms": [{"code": "rel"}]},
                "ParentalResponsibility": {"from": "pr", "transforms": ["boolean"]},
                "Telephone": {"from": ["phone1", "phone2"], "transforms": ["telephone"]},
            },
        },
        {
            "target": "Involvement",
            "rows": "involvements",
            "items": {
                "ServiceType": {"from": "service", "transforms": [{"code": "service"}]},
                "Organisation": {"from": "team"},
                "StartDate": {"from": "start", "transforms": ["date"]},
                "LeadProfessional": {"from": "lead", "transforms": ["boolean"]},
                "Sensitive": {"const": False},
            },
        },
        {
            "target": "Child.OtherName",
            "rows": "@record",
            "items": {"type": {"const": "Former"}, "FamilyName": {"from": "former_surname"}},
        },
    ],
}


def source(**fields: Any) -> SourceRecord:
    base = {
        "id": "42",
        "forename": " AMELIA ",
        "surname": "SMITH-JONES",
        "dob": "27/03/2015",
        "sex": "F",
        "nhs": "900 000 0009",
        "addr1": "14 Castle Boulevard",
        "addr2": "",
        "postcode": "ng27qp",
        "case_notes": "Referred after a neighbour's concern",
        "closed": "N",
    }
    related = fields.pop(
        "related",
        {
            "carers": [
                {
                    "surname": "Smith",
                    "rel": "MUM",
                    "pr": "Y",
                    "phone1": "(0115) 496-0123",
                    "phone2": None,
                }
            ],
            "involvements": [
                {
                    "service": "SW",
                    "team": "Children's Social Care",
                    "start": "2020-01-06",
                    "lead": "1",
                }
            ],
        },
    )
    base.update(fields)
    return SourceRecord("42", base, related, "m1", Provenance("child", "pk=42"))


@pytest.fixture(scope="module")
def mapper() -> Mapper:
    return Mapper(MappingSpec.model_validate(SPEC))


def test_items_groups_and_transforms_build_a_record(mapper: Mapper) -> None:
    """Fields, code tables, dates, postcode/phone normalisation and groups fill the record."""
    result = mapper.map(source())
    assert result.breaches == () and result.record is not None
    child = result.record.child
    assert result.source_record_id == "T-42"
    assert child is not None
    assert (child.name.given_name, child.name.family_name) == ("Amelia", "Smith-Jones")
    assert child.birth_date == date(2015, 3, 27)
    assert child.gender is Gender.FEMALE
    assert child.nhs_number == "9000000009"
    assert child.address is not None and child.address.postcode == "NG2 7QP"
    assert child.address.lines == ["14 Castle Boulevard"]
    carer = result.record.parent_carers[0]
    assert carer.relationship is Relationship.MOTHER and carer.telephones == ["0115 496 0123"]
    assert result.record.involvements[0].service_type is ServiceType.SOCIAL_CARE
    assert child.other_names == []


def test_unmapped_case_information_never_reaches_the_record(mapper: Mapper) -> None:
    """A source column no mapping names (case notes) appears nowhere in the output."""
    result = mapper.map(source())
    assert result.record is not None
    assert "neighbour" not in result.record.model_dump_json()
    assert "case_notes" not in mapper.spec.source_fields()


def test_first_non_empty_field_wins(mapper: Mapper) -> None:
    """A list of fields for a single item takes the first that has a value."""
    result = mapper.map(source(preferred_surname="Jones"))
    assert result.record is not None and result.record.child is not None
    assert result.record.child.name.family_name == "Jones"


def test_self_rows_group_and_catch_all_code(mapper: Mapper) -> None:
    """A group built from the record's own fields appears when it has a value; '*' catches codes."""
    related = {"carers": [{"surname": "Smith", "rel": "GRAN", "pr": "N"}], "involvements": []}
    result = mapper.map(source(former_surname="Jones", related=related))
    assert result.record is not None and result.record.child is not None
    assert [(o.type, o.family_name) for o in result.record.child.other_names] == [
        ("Former", "Jones")
    ]
    assert result.record.parent_carers[0].relationship is Relationship.OTHER


def test_incomplete_optional_element_is_omitted_with_a_note(mapper: Mapper) -> None:
    """An address without a postcode is omitted, and a note says so; the record still maps."""
    result = mapper.map(source(postcode=" "))
    assert result.record is not None and result.record.child is not None
    assert result.record.child.address is None
    assert [n.path for n in result.notes] == ["Child/Address"]


def test_incomplete_group_row_is_omitted_others_kept(mapper: Mapper) -> None:
    """An involvement without a start date is dropped; the complete one next to it is kept."""
    related = {
        "carers": [],
        "involvements": [
            {"service": "SW", "team": "A", "start": None, "lead": "0"},
            {"service": "SW", "team": "B", "start": "2021-02-03", "lead": "0"},
        ],
    }
    result = mapper.map(source(related=related))
    assert result.record is not None
    assert [i.organisation for i in result.record.involvements] == ["B"]
    assert result.notes[0].path == "Involvement[1]"


def test_missing_mandatory_item_holds_the_record(mapper: Mapper) -> None:
    """A child without a birth date is held with LDI-MSG-01 at the item's path."""
    result = mapper.map(source(dob=None))
    assert result.record is None
    assert [(b.rule, b.path) for b in result.breaches] == [
        ("LDI-MSG-01", "Record[1]/Child/BirthDate")
    ]


def test_untransformable_value_holds_without_echoing_it(mapper: Mapper) -> None:
    """A date in the wrong format or an unknown code holds the record; the value is not quoted."""
    result = mapper.map(source(dob="2015-13-45", sex="X"))
    assert result.record is None
    assert {b.path for b in result.breaches} == {
        "Record[1]/Child/BirthDate",
        "Record[1]/Child/Gender",
    }
    assert all("2015-13-45" not in b.message for b in result.breaches)


def test_deleted_flag_is_read(mapper: Mapper) -> None:
    """The mapping's deleted flag marks the result (TA-DLT-03 input)."""
    assert mapper.map(source(closed="Y")).deleted is True
    assert mapper.map(source()).deleted is False


def test_mapping_file_errors_have_lines(tmp_path: Path) -> None:
    """An unknown item, transform and code table are each reported with their YAML line."""
    path = tmp_path / "m.yaml"
    path.write_text(
        "source_record_id: {from: id}\n"
        "items:\n"
        "  Child.CaseNotes: {from: notes}\n"
        "  Child.Gender: {from: sex, transforms: [{code: nope}]}\n"
        "groups:\n"
        "  - target: Involvement\n"
        "    rows: inv\n"
        "    items:\n"
        "      Diagnosis: {from: dx}\n"
    )
    spec, problems = mapping_problems(path)
    assert spec is None
    joined = "\n".join(problems)
    assert "items.Child.CaseNotes (line 3): 'Child.CaseNotes' is not an LDI item" in joined
    assert "(line 4): transform 'code' names undefined code table 'nope'" in joined
    assert "groups[0].items.Diagnosis (line 9)" in joined


def test_unknown_transform_is_reported_with_line(tmp_path: Path) -> None:
    """A transform that does not exist is reported at its line, listing the known ones."""
    path = tmp_path / "m.yaml"
    path.write_text(
        "source_record_id: {from: id}\nitems:\n  Child.Gender: {from: sex, transforms: [shout]}\n"
    )
    _, problems = mapping_problems(path)
    assert len(problems) == 1
    assert "(line 3)" in problems[0] and "unknown transform 'shout'" in problems[0]


def _map(
    spec: dict[str, Any], fields: dict[str, Any], related: dict[str, Any] | None = None
) -> Any:
    base = {
        "source_record_id": {"from": "id"},
        "items": {
            "Child.Name.GivenName": {"from": "g"},
            "Child.Name.FamilyName": {"from": "f"},
            "Child.BirthDate": {"from": "dob", "transforms": ["date"]},
            "Child.Gender": {"const": "Female"},
        },
    }
    base["items"].update(spec.pop("items", {}))
    base.update(spec)
    row = {"id": "1", "g": "Ann", "f": "Lee", "dob": "2015-01-01", **fields}
    return Mapper(MappingSpec.model_validate(base)).map(
        SourceRecord("1", row, related or {}, "m", Provenance("t", "k"))
    )


def test_join_concatenates_present_fields() -> None:
    """join: builds one item from several fields, skipping the empty ones."""
    spec = {
        "groups": [
            {
                "target": "Involvement",
                "rows": "inv",
                "items": {
                    "ServiceType": {"const": "SocialCare"},
                    "PractitionerName": {"from": ["first", "middle", "last"], "join": " "},
                    "StartDate": {"from": "start", "transforms": ["date"]},
                    "LeadProfessional": {"const": False},
                    "Sensitive": {"const": False},
                },
            }
        ]
    }
    inv = [{"first": "Sam", "middle": None, "last": "Patel", "start": "2020-01-01"}]
    result = _map(spec, {}, {"inv": inv})
    assert result.record.involvements[0].practitioner_name == "Sam Patel"


def test_where_keeps_only_matching_rows() -> None:
    """A group's where filter keeps rows whose field holds an allowed value (null = empty)."""
    spec = {
        "groups": [
            {
                "target": "ParentCarer",
                "rows": "contacts",
                "where": {"rel": ["PAM", "PAF"], "ended": [None]},
                "items": {
                    "Name.FamilyName": {"from": "sn"},
                    "Relationship": {"const": "Mother"},
                    "ParentalResponsibility": {"const": True},
                },
            }
        ]
    }
    contacts = [
        {"sn": "Keep", "rel": "PAM", "ended": None},
        {"sn": "SocialWorker", "rel": "SWR", "ended": None},
        {"sn": "Ended", "rel": "PAF", "ended": "2020-01-01"},
    ]
    result = _map(spec, {}, {"contacts": contacts})
    assert [c.name.family_name for c in result.record.parent_carers] == ["Keep"]


def test_nested_values_and_plucked_lists() -> None:
    """Dotted names reach into nested rows; pluck takes a field from each row of a list."""
    spec = {
        "items": {
            "Child.Address.Line": {"from": "Address.Line"},
            "Child.Address.Postcode": {"from": "Address.Postcode", "transforms": ["postcode"]},
        },
        "groups": [
            {
                "target": "ParentCarer",
                "rows": "contacts",
                "items": {
                    "Name.FamilyName": {"from": "sn"},
                    "Relationship": {"const": "Father"},
                    "ParentalResponsibility": {"const": True},
                    "Telephone": {"from": "Phones", "transforms": [{"pluck": "No"}, "telephone"]},
                },
            }
        ],
    }
    fields = {"Address": {"Line": ["1 High St", "Flat 2"], "Postcode": "ng27qp"}}
    contacts = [{"sn": "Lee", "Phones": [{"No": "0115 496 0000"}, {"No": "07700 900123"}]}]
    result = _map(spec, fields, {"contacts": contacts})
    address = result.record.child.address
    assert (address.lines, address.postcode) == (["1 High St", "Flat 2"], "NG2 7QP")
    assert result.record.parent_carers[0].telephones == ["0115 496 0000", "07700 900123"]


def test_shipped_mapping_files_are_valid(repo_root: Path) -> None:
    """Every mapping file shipped in mappings/ loads without a problem."""
    files = sorted((repo_root / "mappings").glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        spec, problems = mapping_problems(path)
        assert problems == [], path
        assert spec is not None
