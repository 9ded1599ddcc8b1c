"""The demo school MIS exports: one Common Transfer File per school, as SIMS or Arbor write them.

Files follow CTF 25 (one school in the older CTF 19 style: ``Gender``, free address lines) and
carry what real files carry, including case information that the adapter must never read:
Attendance, StageAssessments, SENhistory, FSMhistory, LookedAfter and NAWdetails. Their values
come from :data:`CASE_INFORMATION_MARKERS` so a test can prove none of them reaches a record.

Dirty data comes from the population traits (invalid UPNs, missing postcodes, former surnames,
twins, spelling variants: a school spells the given name its own way) plus two planted here:
about 1 % of pupils are new arrivals still waiting for a UPN (the reader's fallback key), and
children whose death is already recorded are not on roll.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path

from lxml import etree

from demo.population import SCHOOLS, DemoCarer, DemoChild

#: Values only ever written inside case-information elements (no pupil field can hold them).
CASE_INFORMATION_MARKERS = {
    "sen_need": "SPLD-CASEINFO",
    "sen_provision": "K-CASEINFO",
    "ks2_result": "EXS-CASEINFO",
    "looked_after": "CARE-CASEINFO",
    "naw": "NAW-CASEINFO",
    "fsm": "FSM-CASEINFO",
    "attendance": "1234567",
}
CASE_INFORMATION_ELEMENTS = (
    "Attendance",
    "StageAssessments",
    "SENhistory",
    "FSMhistory",
    "LookedAfter",
    "NAWdetails",
)
_RELATIONSHIP = {"Mother": "PAM", "Father": "PAF", "StepParent": "STP", "Guardian": "CAR"}
_OLD_STYLE_SCHOOL = SCHOOLS[-1][0]  # one school still on an older MIS release


def _add(parent: etree._Element, tag: str, value: str | None) -> etree._Element | None:
    if value is None:
        return None
    element = etree.SubElement(parent, tag)
    element.text = value
    return element


def _no_upn(child: DemoChild) -> bool:
    return child.person_id % 97 == 0


def _address(parent: etree._Element, child: DemoChild, old_style: bool) -> None:
    address = etree.SubElement(parent, "Address")
    line = child.address_lines[0] if child.address_lines else ""
    number, _, street = line.partition(" ")
    if old_style:
        lines = etree.SubElement(address, "AddressLines")
        _add(lines, "AddressLine1", line)
        _add(lines, "AddressLine2", child.town)
    else:
        bs = etree.SubElement(address, "BS7666Address")
        _add(bs, "PAON", number)
        _add(bs, "Street", street)
        _add(bs, "Town", child.town)
        _add(bs, "PostTown", child.town)
        _add(bs, "UniquePropertyReferenceNumber", child.uprn)
    _add(address, "PostCode", child.postcode)


def _phones(parent: etree._Element, phone: str | None, kind: str) -> None:
    if phone is None:
        return
    phones = etree.SubElement(parent, "Phones")
    entry = etree.SubElement(phones, "Phone")
    _add(entry, "TelephoneType", kind)
    _add(entry, "PhoneNo", phone)


def _contact(parent: etree._Element, order: int, carer: DemoCarer, old_style: bool) -> None:
    contact = etree.SubElement(parent, "Contact")
    _add(contact, "Order", str(order))
    _add(contact, "Title", "Mrs" if carer.relationship == "Mother" else "Mr")
    _add(contact, "Surname", carer.family_name)
    _add(contact, "Forename", carer.given_name)
    _add(contact, "Gender", "F" if carer.relationship == "Mother" else "M")
    _add(contact, "Relationship", _RELATIONSHIP.get(carer.relationship, "OTH"))
    _add(contact, "Responsibility", "true" if carer.parental_responsibility else "false")
    _phones(contact, carer.telephone, "M" if (carer.telephone or "").startswith("07") else "H")
    _add(contact, "Email", carer.email)
    if not old_style:  # older releases wrote no AddressAsPupil
        _add(contact, "AddressAsPupil", "true")


def _case_information(pupil: etree._Element, child: DemoChild, on: date) -> None:
    marks = CASE_INFORMATION_MARKERS
    attendance = etree.SubElement(pupil, "Attendance")
    year = etree.SubElement(attendance, "YearData")
    _add(year, "Year", str(on.year))
    _add(year, "SessionsPossible", marks["attendance"])
    _add(year, "SessionsAuthorised", marks["attendance"])
    stages = etree.SubElement(pupil, "StageAssessments")
    keystage = etree.SubElement(stages, "KeyStage")
    _add(keystage, "Stage", "KS2")
    result = etree.SubElement(keystage, "StageAssessment")
    _add(result, "Subject", "MAT")
    _add(result, "Result", marks["ks2_result"])
    if child.person_id % 5 == 0:
        sen = etree.SubElement(pupil, "SENhistory")
        entry = etree.SubElement(sen, "SEN")
        _add(entry, "StartDate", "2019-09-01")
        _add(entry, "SENprovision", marks["sen_provision"])
        needs = etree.SubElement(entry, "SENneeds")
        need = etree.SubElement(needs, "SENneed")
        _add(need, "SENtypeRank", "1")
        _add(need, "SENtype", marks["sen_need"])
    fsm = etree.SubElement(pupil, "FSMhistory")
    _add(fsm, "FSMreviewDate", "2020-01-01")
    _add(fsm, "FSMinstance", marks["fsm"])
    if child.in_social_care and child.person_id % 3 == 0:
        looked_after = etree.SubElement(pupil, "LookedAfter")
        _add(looked_after, "InCare", marks["looked_after"])
        _add(looked_after, "CareAuthority", "891")
    naw = etree.SubElement(pupil, "NAWdetails")
    _add(naw, "SpeaksWelsh", marks["naw"])


def _pupil(data: etree._Element, child: DemoChild, on: date, old_style: bool) -> None:
    pupil = etree.SubElement(data, "Pupil")
    _add(pupil, "UPN", None if _no_upn(child) else child.upn)
    _add(pupil, "Surname", child.family_name)
    _add(pupil, "Forename", child.variant_given_name or child.given_name)
    _add(pupil, "DOB", child.birth_date.isoformat())
    _add(pupil, "Gender" if old_style else "Sex", child.gender)
    basic = etree.SubElement(pupil, "BasicDetails")
    _add(basic, "FormerSurname", child.former_family_name)
    _add(basic, "PreferredForename", child.variant_given_name)
    _add(basic, "MiddleNames", child.middle_names)
    _add(basic, "Language", "ENG")  # present in real files, not read
    _address(pupil, child, old_style)
    _phones(pupil, child.carers[0].telephone if child.carers else None, "H")
    contacts = etree.SubElement(pupil, "Contacts")
    for order, carer in enumerate(child.carers, 1):
        _contact(contacts, order, carer, old_style)
    history = etree.SubElement(pupil, "SchoolHistory")
    if child.school is not None:
        school = etree.SubElement(history, "School")
        _add(school, "LEA", child.school.laestab[:3])
        _add(school, "Estab", child.school.laestab[3:])
        _add(school, "SchoolName", child.school.name)
        _add(school, "EntryDate", child.school.start_date.isoformat())
    _case_information(pupil, child, on)


def _academic_year(on: date) -> str:
    start = on.year if on.month >= 9 else on.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def write_ctf_files(directory: Path, children: Sequence[DemoChild], *, on: date) -> list[Path]:
    """Write one CTF per school holding its on-roll pupils; returns the files written.

    A pupil is on roll when ``in_school`` with a school and not recorded as dead by ``on``.
    File names follow the DfE pattern ``<LAEstab>_CTF_<dest LAEstab>_<seq>.xml``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for laestab, _urn, school_name in SCHOOLS:
        pupils = [
            c
            for c in children
            if c.in_school
            and c.school is not None
            and c.school.laestab == laestab
            and not (c.date_of_death and c.date_of_death <= on)
        ]
        if not pupils:
            continue
        old_style = laestab == _OLD_STYLE_SCHOOL
        root = etree.Element("CTfile")
        header = etree.SubElement(root, "Header")
        _add(header, "DocumentName", "Common Transfer File")
        _add(header, "CTFversion", "19.0" if old_style else "25.0")
        _add(header, "DateTime", datetime.combine(on, time(1, 30)).isoformat())
        _add(header, "DocumentQualifier", "partial")
        _add(header, "SupplierID", "SIMS" if old_style else "Arbor")
        source = etree.SubElement(header, "SourceSchool")
        _add(source, "LEA", laestab[:3])
        _add(source, "Estab", laestab[3:])
        _add(source, "SchoolName", school_name)
        _add(source, "AcademicYear", _academic_year(on))
        dest = etree.SubElement(header, "DestSchool")
        _add(dest, "LEA", laestab[:3])
        _add(dest, "Estab", "MMM")  # DfE convention: the LA, not a school
        data = etree.SubElement(root, "CTFpupilData")
        for child in pupils:
            _pupil(data, child, on, old_style)
        path = directory / f"{laestab}_CTF_{laestab[:3]}MMM_001.xml"
        etree.ElementTree(root).write(
            str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True
        )
        written.append(path)
    return written
