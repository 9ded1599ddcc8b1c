"""Masking of raw source values for `sources sample` (adapter.masking)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from adapter.masking import mask_fields, mask_value


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("forename", "Olivia", "O***"),
        ("last_name", "Smith-Jones", "S***"),
        ("school_name", "Lenton Primary School", "L***"),
        ("date_of_birth", date(2014, 5, 17), "2014-**-**"),
        ("last_modified", datetime(2026, 10, 1, 12, 0), "2026-**-**"),
        ("dob", "2014-05-17", "2014-**-**"),
        ("DOB", "17/05/2014", "2014-**-**"),
        ("person_id", 2100001, 2100001),
        ("yp_id", "RY0100001", "RY0100001"),
        ("consent_ref", "PC-100023", "PC-100023"),
        ("nhs_number", "9990001234", "***"),
        ("upn", "A891234567890", "***"),
        ("uprn_id", "100012345678", "***"),
        ("postcode", "NG2 7QP", "***"),
        ("phone", "0115 496 0000", "***"),
        ("case_notes", "Home visit ...", "***"),
        ("restricted_access", "Y", "***"),
        ("is_archived", 1, "***"),
        ("middle_names", None, None),
        ("address_line2", "", ""),
    ],
)
def test_mask_rule(field: str, value: Any, shown: Any) -> None:
    """Names show their initial, dates their year, source ids as is, everything else ***."""
    assert mask_value(field, value) == shown


def test_mask_fields_keeps_column_names() -> None:
    """Column names are kept; only values are masked."""
    masked = mask_fields({"person_id": 7, "surname": "Khan", "postcode": "NG1 1AA"})
    assert masked == {"person_id": 7, "surname": "K***", "postcode": "***"}
