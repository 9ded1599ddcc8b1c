"""Internal consistency rules (IA-DQ-03): facts about one child that cannot all be true.

Three rules, each judged on the mapped record (and, where the LDI has no item for it, on the
source's own related rows):

``date order``
    BR-06 of the rule engine: birth date not in the future nor before 1900, date of death,
    consent, setting, involvement and CAF dates on or after birth and not in the future, end
    dates not before start dates.
``age vs school year``
    A child with an open educational setting must be of an age a setting can hold. The
    National Curriculum year implied by age is ``age on 31 August of the current academic year
    - 4`` (Reception = 0, nursery -1 and -2, Year 14 the last post-16 year), so the child's
    age on that 31 August must be 2 to 18. A setting started before the child's second
    birthday is inconsistent too. Where the source row of a school carries a year group
    (a field named like ``nc_year`` or ``year_group``), it must be within one year of the
    implied year.
``carer vs child``
    Judged on the source's own carer rows (related rows whose name says carers, contacts,
    parents or relationships), since the LDI carries neither a carer's birth date nor gender:
    a carer born after the child or fewer than 12 years before (where rows carry a birth date),
    and a mother recorded as male or a father as female (relationship codes MOTHER/PAM and
    FATHER/PAF against a gender field M/F or a title Mr against Mrs/Ms/Miss). A carer with the
    child's own name is *not* a finding: a mother and daughter both called Ella Pearson are
    ordinary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ldi.models import Breach, Record
from ldi.rules import age_on

DATE_ORDER = "date order"
AGE_VS_SCHOOL_YEAR = "age vs school year"
CARER_VS_CHILD = "carer vs child"
RULES: tuple[str, ...] = (DATE_ORDER, AGE_VS_SCHOOL_YEAR, CARER_VS_CHILD)

#: Youngest and oldest age on 31 August at which a child can be in a setting (see above).
YOUNGEST_IN_SETTING = 2
OLDEST_IN_SETTING = 18
#: A carer at least this many years older than the child is plausible as a parent.
MIN_CARER_AGE_GAP = 12

_YEAR_GROUP_FIELD = re.compile(r"^(nc_?year.*|year_?group|ncyearactual)$", re.IGNORECASE)
_BIRTH_FIELD = re.compile(r"^(date_of_birth|dob|birth_date|carer_dob|birthdate)$", re.IGNORECASE)
_CARER_ROWS = re.compile(r"carer|contact|parent|relationship", re.IGNORECASE)


def academic_year_start(on: date) -> date:
    """The 31 August on which the academic year holding ``on`` is reckoned."""
    year = on.year if (on.month, on.day) > (8, 31) else on.year - 1
    return date(year, 8, 31)


def implied_nc_year(birth_date: date, on: date) -> int:
    """National Curriculum year implied by age (Reception 0; see the module docstring)."""
    return age_on(birth_date, academic_year_start(on)) - 4


def date_order(breaches: Sequence[Breach]) -> list[str]:
    """Messages of the BR-06 breaches among ``breaches`` (found by ``ldi.rules``)."""
    return [f"{b.path.split('/', 1)[-1]}: {b.message}" for b in breaches if b.rule == "BR-06"]


def age_vs_school_year(
    record: Record, school_rows: Sequence[Mapping[str, Any]], on: date
) -> list[str]:
    """Findings of the ``age vs school year`` rule for one child."""
    child = record.child
    if child is None:
        return []
    out: list[str] = []
    open_settings = [s for s in record.educational_settings if s.end_date is None]
    if open_settings:
        age = age_on(child.birth_date, academic_year_start(on))
        if not YOUNGEST_IN_SETTING <= age <= OLDEST_IN_SETTING:
            out.append(
                f"in a setting but aged {age} on 31 August "
                f"(expected {YOUNGEST_IN_SETTING}-{OLDEST_IN_SETTING})"
            )
    for i, setting in enumerate(record.educational_settings, start=1):
        if child.birth_date <= setting.start_date and (
            age_on(child.birth_date, setting.start_date) < YOUNGEST_IN_SETTING
        ):
            out.append(f"EducationalSetting[{i}] started before the child was 2")
    implied = implied_nc_year(child.birth_date, on)
    for row in school_rows:
        for name, value in row.items():
            if not _YEAR_GROUP_FIELD.match(str(name)):
                continue
            recorded = _year_group(value)
            if recorded is not None and abs(recorded - implied) > 1:
                out.append(f"year group {recorded} but age implies year {implied}")
    return out


def _year_group(value: Any) -> int | None:
    text = str(value).strip().upper() if value is not None else ""
    if text in ("R", "REC", "RECEPTION"):
        return 0
    if text in ("N1", "N2"):
        return -2 if text == "N1" else -1
    digits = text.removeprefix("Y").removeprefix("YEAR").strip()
    return int(digits) if digits.isdigit() else None


def carer_vs_child(record: Record, related: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """Findings of the ``carer vs child`` rule for one child."""
    child = record.child
    if child is None:
        return []
    out: list[str] = []
    for rows_name, rows in related.items():
        if not _CARER_ROWS.search(rows_name):
            continue
        for index, row in enumerate(rows, start=1):
            where = f"{rows_name}[{index}]"
            for born in _birth_dates(row):
                if born > child.birth_date:
                    out.append(f"{where}: carer born after the child")
                elif age_on(born, child.birth_date) < MIN_CARER_AGE_GAP:
                    out.append(
                        f"{where}: carer fewer than {MIN_CARER_AGE_GAP} years older than the child"
                    )
            problem = _relationship_vs_sex(row)
            if problem:
                out.append(f"{where}: {problem}")
    return out


_MOTHER = frozenset({"MOTHER", "PAM", "MUM", "STEP-MOTHER", "STEPMOTHER"})
_FATHER = frozenset({"FATHER", "PAF", "DAD", "STEP-FATHER", "STEPFATHER"})
_FEMALE_TITLES = frozenset({"MRS", "MS", "MISS"})
_RELATIONSHIP_FIELD = re.compile(r"^(relationship(_type|_code)?)$", re.IGNORECASE)
_SEX_FIELD = re.compile(r"^(gender|sex)$", re.IGNORECASE)
_TITLE_FIELD = re.compile(r"^title$", re.IGNORECASE)


def _field(row: Mapping[str, Any], pattern: re.Pattern[str]) -> str:
    for name, value in row.items():
        if pattern.match(str(name)) and value is not None:
            return str(value).strip().upper().rstrip(".")
    return ""


def _relationship_vs_sex(row: Mapping[str, Any]) -> str | None:
    relationship = _field(row, _RELATIONSHIP_FIELD)
    if relationship not in _MOTHER and relationship not in _FATHER:
        return None
    sex = _field(row, _SEX_FIELD)[:1]
    title = _field(row, _TITLE_FIELD)
    male = sex == "M" or title == "MR"
    female = sex == "F" or title in _FEMALE_TITLES
    if relationship in _MOTHER and male and not female:
        return "a mother recorded as male"
    if relationship in _FATHER and female and not male:
        return "a father recorded as female"
    return None


def _birth_dates(row: Mapping[str, Any]) -> Iterator[date]:
    for name, value in row.items():
        if _BIRTH_FIELD.match(str(name)):
            if isinstance(value, datetime):
                yield value.date()
            elif isinstance(value, date):
                yield value
            elif isinstance(value, str):
                try:
                    yield date.fromisoformat(value.strip()[:10])
                except ValueError:
                    continue
