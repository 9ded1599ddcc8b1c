"""DfE Common Transfer File (CTF) XML: pupils' identity, contacts and schools, nothing else.

Every school MIS exports CTF; versions 19 to 26 differ in details, so the reader is tolerant:
it matches element names without namespace, accepts ``Gender`` (older) and ``Sex`` (newer),
a BS7666 address or free address lines, and a PostCode under Address or under BS7666Address.
It takes only the elements named below, by path (an allow-list); Attendance,
StageAssessments, SENhistory, LookedAfter, NAWdetails, FSMhistory and every other element are
case information or of no use to ContactPoint and are never looked at.

Record shape (field names are the CTF element paths below ``Pupil``, dotted):

* fields: UPN, Surname, Forename, DOB, Sex, Gender, BasicDetails.*, Email, Address.*, and from
  the header ``LAEstab`` (SourceSchool LEA + Estab), ``SourceSchool.SchoolName``,
  ``SourceSchool.AcademicYear`` and ``SourceSchool.EntryDate`` (the pupil's latest entry date
  at the source school, from SchoolHistory);
* related ``phones`` (TelephoneType, PhoneNo), ``contacts`` (Order, Title, Surname, Forename,
  Gender, Relationship, Responsibility, Email, AddressAsPupil, Address.*, Phones as a list) and
  ``schools`` (SchoolHistory: LEA, Estab, LAEstab, SchoolName, EntryDate, LeavingDate).

Key: the UPN. A pupil without one (new arrivals wait for a UPN) gets a fallback key
``ctf-noupn:`` + the first 24 hex digits of SHA-256 over the source school's LAEstab, surname,
forename and date of birth (case-folded, spaces squeezed): stable from one night's file to the
next, so the pupil is not withdrawn and re-added daily. A name correction changes it (the old
fallback record is then withdrawn and a new one added), and once a UPN is recorded the key
becomes the UPN. A pupil with neither a UPN nor all of surname, forename and DOB is set aside.
Same-UPN pupils across school files (dual registration) share one key: the later file wins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from lxml import etree

from connectors.base import Provenance, SourceRecord
from connectors.filereader import BadFile, FileSet, RecordProblems
from connectors.xmlinput import (
    Index,
    find,
    first,
    index,
    local_name,
    stream_elements,
    text,
    texts,
    texts_from,
)

PUPIL_FIELDS = (
    "UPN",
    "Surname",
    "Forename",
    "DOB",
    "Sex",
    "Gender",
    "BasicDetails.FormerUPN",
    "BasicDetails.PreferredSurname",
    "BasicDetails.FormerSurname",
    "BasicDetails.PreferredForename",
    "BasicDetails.MiddleNames",
    "Email",
)
ADDRESS_FIELDS = (
    "BS7666Address.SAON",
    "BS7666Address.PAON",
    "BS7666Address.Street",
    "BS7666Address.Locality",
    "BS7666Address.Town",
    "BS7666Address.AdministrativeArea",
    "BS7666Address.PostTown",
    "BS7666Address.UniquePropertyReferenceNumber",
    "AddressLines.AddressLine1",
    "AddressLines.AddressLine2",
    "AddressLines.AddressLine3",
    "AddressLines.AddressLine4",
    "AddressLines.AddressLine5",
)
CONTACT_FIELDS = (
    "Order",
    "Title",
    "Surname",
    "Forename",
    "Gender",
    "Relationship",
    "Responsibility",
    "Email",
    "AddressAsPupil",
)
PHONE_FIELDS = ("TelephoneType", "PhoneNo")
SCHOOL_FIELDS = ("LEA", "Estab", "SchoolName", "EntryDate", "LeavingDate")


class School:
    """The source school of a file, from Header/SourceSchool."""

    __slots__ = ("academic_year", "laestab", "name")

    def __init__(self, laestab: str, name: str | None, academic_year: str | None) -> None:
        self.laestab = laestab
        self.name = name
        self.academic_year = academic_year


def _source_school(pupil: etree._Element, origin: str) -> School:
    root = pupil.getroottree().getroot()
    if local_name(root) != "CTfile":
        raise BadFile(
            origin,
            "line 1",
            f"root element is {local_name(root)}, not CTfile",
            code="SRC-WRONG-FORMAT",
        )
    source = find(root, "Header.SourceSchool")
    lea, estab = text(source, "LEA"), text(source, "Estab")
    if source is None or lea is None or estab is None:
        where = (
            f"element Header/SourceSchool line {source.sourceline}"
            if source is not None
            else ("element Header")
        )
        raise BadFile(
            origin,
            where,
            "SourceSchool LEA or Estab is missing: the school cannot be named",
            code="SRC-WRONG-FORMAT",
        )
    return School(lea + estab, text(source, "SchoolName"), text(source, "AcademicYear"))


#: Every address key, empty: the shape of a missing address.
_NO_ADDRESS: dict[str, str | None] = {f"Address.{n}": None for n in (*ADDRESS_FIELDS, "PostCode")}
_POSTCODES = ("PostCode", "BS7666Address.PostCode")


def _address(element: etree._Element | None) -> dict[str, str | None]:
    fields = dict(_NO_ADDRESS)
    if element is None:
        return fields
    known = index(element)
    fields.update(texts_from(known, ADDRESS_FIELDS, prefix="Address."))
    postcode, bs7666_postcode = texts_from(known, _POSTCODES).values()
    fields["Address.PostCode"] = postcode or bs7666_postcode
    return fields


def _phones(known: Index) -> list[dict[str, str | None]]:
    container = first(known, "Phones")
    if container is None:
        return []
    return [texts(phone, PHONE_FIELDS) for phone in index(container).get("Phone", [])]


def _rows(known: Index, container: str, row: str) -> list[etree._Element]:
    """The ``row`` elements of the first ``container`` (``Contacts``/``Contact``)."""
    found = first(known, container)
    return [] if found is None else index(found).get(row, [])


def fallback_key(laestab: str, surname: str, forename: str, dob: str) -> str:
    """The key of a pupil without a UPN (see the module docstring)."""
    parts = (" ".join(p.split()).casefold() for p in (laestab, surname, forename, dob))
    return "ctf-noupn:" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


class CtfReader:
    """Reads Common Transfer Files, one record per Pupil."""

    default_pattern = "*.xml"
    #: records() refuses an unsafe or malformed file, another root and an unnamed SourceSchool
    #: on its own; only "no Pupil at all" needs check().
    checks_while_reading = True

    def is_primary(self, name: str) -> bool:
        """Every matching file is a CTF of its own."""
        return True

    def companions(self, name: str) -> dict[str, str]:
        """A CTF stands alone."""
        return {}

    def check(self, files: FileSet) -> None:
        """Well-formed, no DTD, root CTfile with a named SourceSchool, at least one Pupil."""
        name = files.primary.name
        count = 0
        for pupil in stream_elements(files.primary.path, "Pupil", origin=name):
            if count == 0:
                _source_school(pupil, name)
            count += 1
        if count == 0:
            raise BadFile(
                name,
                None,
                "no Pupil element: empty or not a Common Transfer File",
                code="SRC-WRONG-FORMAT",
            )

    def records(self, files: FileSet, problems: RecordProblems) -> Iterator[SourceRecord]:
        """One record per Pupil that has a key."""
        name = files.primary.name
        school: School | None = None
        pupils = stream_elements(files.primary.path, "Pupil", origin=name)
        for position, pupil in enumerate(pupils, 1):
            school = school or _source_school(pupil, name)
            where = f"Pupil[{position}] line {pupil.sourceline}"
            known = index(pupil)  # the pupil's children, walked once for every group below
            fields = _pupil_fields(known, school)
            key = fields["UPN"]
            if key is None:
                identity = (fields["Surname"], fields["Forename"], fields["DOB"])
                if any(part is None for part in identity):
                    problems.add(
                        name,
                        where,
                        "no UPN, and Surname, Forename or DOB missing for a fallback key",
                    )
                    continue
                key = fallback_key(school.laestab, *(p or "" for p in identity))
            related: dict[str, list[dict[str, Any]]] = {
                "phones": _phones(known),
                "contacts": [_contact(c) for c in _rows(known, "Contacts", "Contact")],
                "schools": _schools(known),
            }
            fields["SourceSchool.EntryDate"] = _entry_date(related["schools"], school.laestab)
            yield SourceRecord(
                key=key,
                fields=fields,
                related=related,
                change_marker=None,
                provenance=Provenance(name, where),
            )


def _pupil_fields(known: Index, school: School) -> dict[str, str | None]:
    fields: dict[str, str | None] = {
        "LAEstab": school.laestab,
        "SourceSchool.SchoolName": school.name,
        "SourceSchool.AcademicYear": school.academic_year,
    }
    fields.update(texts_from(known, PUPIL_FIELDS))
    fields.update(_address(first(known, "Address")))
    return fields


def _contact(contact: etree._Element) -> dict[str, Any]:
    known = index(contact)
    row: dict[str, Any] = texts_from(known, CONTACT_FIELDS)
    row.update(_address(first(known, "Address")))
    row["Phones"] = _phones(known)
    return row


def _schools(known: Index) -> list[dict[str, str | None]]:
    rows = []
    for school in _rows(known, "SchoolHistory", "School"):
        row = texts(school, SCHOOL_FIELDS)
        lea, estab = row["LEA"], row["Estab"]
        row["LAEstab"] = lea + estab if lea and estab else None
        rows.append(row)
    return rows


def _entry_date(schools: list[dict[str, str | None]], laestab: str) -> str | None:
    dates = [s["EntryDate"] for s in schools if s["LAEstab"] == laestab and s["EntryDate"]]
    return max(dates) if dates else None  # ISO dates compare as text
