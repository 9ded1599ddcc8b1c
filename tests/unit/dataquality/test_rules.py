"""Consistency rules, validity categories, usefulness and the pass/warn/fail judgement."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from adapter.dataquality.consistency import (
    age_vs_school_year,
    carer_vs_child,
    date_order,
    implied_nc_year,
)
from adapter.dataquality.metrics import has_contact, validity_category
from adapter.dataquality.model import judge, worst
from ldi.models import Breach, Record
from ldi.rules import check_record

ON = date(2026, 11, 2)


def record(born: date, **extra: Any) -> Record:
    """A minimal valid record of a child born on ``born``."""
    return Record.model_validate(
        {
            "message_id": "00000000-0000-4000-8000-000000000000",
            "action": "Upsert",
            "version": 1,
            "source_record_id": "k1",
            "child": {
                "name": {"given_name": "Ava", "family_name": "Smith"},
                "birth_date": born,
                "gender": "Female",
            },
            **extra,
        }
    )


def school(start: date, end: date | None = None) -> dict[str, Any]:
    """An educational setting started on ``start``."""
    return {"laestab": "8912001", "name": "A school", "start_date": start, "end_date": end}


def test_implied_year_reception_and_year_six() -> None:
    """A child 4 on 31 August is in Reception (0); 10 on 31 August is in Year 6."""
    assert implied_nc_year(date(2022, 6, 1), ON) == 0
    assert implied_nc_year(date(2016, 6, 1), ON) == 6


def test_age_vs_school_year_flags_a_baby_and_an_adult_in_a_setting() -> None:
    """A one-year-old or a twenty-year-old in an open setting is inconsistent; a pupil is not."""
    assert age_vs_school_year(
        record(date(2025, 6, 1), educational_settings=[school(date(2026, 9, 1))]), [], ON
    )
    assert age_vs_school_year(
        record(date(2006, 1, 1), educational_settings=[school(date(2020, 9, 1))]), [], ON
    )
    assert (
        age_vs_school_year(
            record(date(2016, 6, 1), educational_settings=[school(date(2020, 9, 1))]), [], ON
        )
        == []
    )


def test_age_vs_school_year_compares_a_recorded_year_group() -> None:
    """A recorded year group two years from the implied one is a finding; one year is tolerated."""
    pupil = record(date(2016, 6, 1), educational_settings=[school(date(2020, 9, 1))])
    assert age_vs_school_year(pupil, [{"nc_year": "Y8"}], ON)
    assert age_vs_school_year(pupil, [{"nc_year": "7"}], ON) == []


def test_carer_born_after_the_child_and_mother_recorded_male() -> None:
    """Carer rows: born after the child, too young, or a mother with title Mr are findings."""
    child = record(date(2015, 1, 1))
    rows: dict[str, list[dict[str, Any]]] = {
        "carers": [
            {"relationship_type": "MOTHER", "title": "Mr"},
            {"relationship_type": "FATHER", "title": "Mr", "date_of_birth": "2016-01-01"},
            {"relationship_type": "FATHER", "title": "Mr", "date_of_birth": date(2008, 1, 1)},
            {"relationship_type": "MOTHER", "title": "Ms", "date_of_birth": date(1985, 1, 1)},
        ],
        "involvements": [{"date_of_birth": "2020-01-01"}],
    }
    findings = carer_vs_child(child, rows)
    assert [f.split(":")[0] for f in findings] == ["carers[1]", "carers[2]", "carers[3]"]


def test_date_order_takes_br06_from_the_rule_engine() -> None:
    """A setting ending before it starts is a date-order finding."""
    bad = record(
        date(2015, 1, 1), educational_settings=[school(date(2020, 9, 1), date(2019, 1, 1))]
    )
    assert date_order(check_record(bad, ON)) == [
        "EducationalSetting[1]/EndDate: EndDate is before StartDate"
    ]


@pytest.mark.parametrize(
    ("rule", "path", "message", "expected"),
    [
        (
            "BR-05",
            "Record[1]/Child/NHSNumber",
            "NHSNumber fails the modulus 11 check",
            "NHS number",
        ),
        ("BR-05", "Record[1]/EducationalSetting[2]/LAEstab", "LAEstab must be", "LAEstab"),
        ("LDI-MSG-01", "Child/BirthDate", "not a date in the format %Y-%m-%d", "dates"),
        ("LDI-MSG-01", "Child/Gender", "code not in code table 'gender'", "code values"),
        ("LDI-MSG-01", "Child/Name/FamilyName", "Field required", None),
        ("BR-06", "Record[1]/Child/BirthDate", "BirthDate is after the batch date", None),
    ],
)
def test_validity_category(rule: str, path: str, message: str, expected: str | None) -> None:
    """Breaches fall into the validity check named by their path or message."""
    assert validity_category(Breach(rule=rule, path=path, message=message)) == expected


def test_has_contact() -> None:
    """A GP or a reachable carer is a contact; a carer with only a name is not."""
    assert not has_contact(record(date(2015, 1, 1)))
    nameless = {
        "name": {"family_name": "Smith"},
        "relationship": "Mother",
        "parental_responsibility": True,
    }
    assert not has_contact(record(date(2015, 1, 1), parent_carers=[nameless]))
    assert has_contact(
        record(date(2015, 1, 1), parent_carers=[{**nameless, "telephones": ["01154960000"]}])
    )
    gp = {"ods_code": "C84001", "practice_name": "A practice"}
    assert has_contact(record(date(2015, 1, 1), primary_medical_practitioner=gp))


def test_judge_and_worst() -> None:
    """Higher-is-better fails below fail and warns below warn; lower-is-better the other way."""
    assert judge(0.95, 0.9, 0.8, "higher_is_better") == "pass"
    assert judge(0.85, 0.9, 0.8, "higher_is_better") == "warn"
    assert judge(0.79, 0.9, 0.8, "higher_is_better") == "fail"
    assert judge(0.01, 0.02, 0.05, "lower_is_better") == "pass"
    assert judge(0.03, 0.02, 0.05, "lower_is_better") == "warn"
    assert judge(0.06, 0.02, 0.05, "lower_is_better") == "fail"
    assert worst(["pass", "warn", "pass"]) == "warn"
    assert worst([]) == "pass"
