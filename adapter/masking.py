"""Masking of raw source values for display (``cpadapter sources sample``).

An ICT officer checking a source needs to see that the right columns arrive, that keys and
provenance are right and whether values are filled — not the child's name or address. The rule,
applied to every field of a record and of its related rows:

=========================================  ===================================================
value                                      shown as
=========================================  ===================================================
empty (NULL / None, blank text)            as is (``None`` / ``''``): emptiness is what is checked
field named like an internal id or         as is: ``person_id``, ``involvement_id``,
reference (``id``, ``*_id``, ``*_ref``,    ``consent_ref`` are the source's own identifiers
``*_key``) — except personal identifiers
date, date-time, or text shaped as a date  year only: ``2014-**-**``
field named like a name (``*name*``,       first character and ``***``: ``O***``
``forename``, ``surname``, ``known_as``)
anything else (NHS number, UPN, address,   ``***``
postcode, phone, email, flags, notes, …)
=========================================  ===================================================

Personal identifiers (NHS number, UPN, ULN, UPRN, NI number) are never treated as ids.
Field names, the record key, its provenance and change marker are always shown: they identify
rows of the source system, not a person, and are what the officer reports to the system owner.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

MASK = "***"

_ID_NAME = re.compile(r"(^|_)(id|ref|key)$", re.IGNORECASE)
_PERSONAL_ID_NAME = re.compile(r"nhs|upn|uln|uprn|nino|ni_number|insurance", re.IGNORECASE)
_NAME_NAME = re.compile(r"name|forename|surname|known_as|alias", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\s*(\d{4})-\d{2}-\d{2}")
_UK_DATE = re.compile(r"^\s*\d{1,2}/\d{1,2}/(\d{4})\b")


def _year(value: Any) -> str | None:
    if isinstance(value, datetime | date):
        return f"{value.year:04d}"
    if isinstance(value, str):
        match = _ISO_DATE.match(value) or _UK_DATE.match(value)
        if match:
            return match.group(1)
    return None


def mask_value(field: str, value: Any) -> Any:
    """``value`` of column ``field`` as it may be displayed (see the module's table)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return value
    if _ID_NAME.search(field) and not _PERSONAL_ID_NAME.search(field):
        return value
    year = _year(value)
    if year is not None:
        return f"{year}-**-**"
    if _NAME_NAME.search(field) and isinstance(value, str):
        return value.strip()[0] + MASK
    return MASK


def mask_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Every value of ``fields`` masked by its column name."""
    return {name: mask_value(name, value) for name, value in fields.items()}
