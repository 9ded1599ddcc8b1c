"""CIN census XML: a child's identity and the period of social care involvement, nothing else.

From each ``Message/Children/Child`` the reader takes ``ChildIdentifiers`` (LAchildID, UPN,
FormerUPN, UPNunknown, PersonBirthDate, ExpectedPersonBirthDate, GenderCurrent or its newer
name Sex, PersonDeathDate) and, from each ``CINdetails``, only CINreferralDate and
CINclosureDate, as one ``involvements`` row per CINdetails. ChildCharacteristics, referral
sources, need codes, assessments, section 47 enquiries, plans and reviews are case information:
they are never looked at. The key is LAchildID.

Faulty files (decision, for a data administrator):
the DfE XSD (``CIN_schema_2024.xsd``) is deliberately *not* applied. It validates case
information this reader never uses (a bad assessment-factor code would stop every child's
identity reaching ContactPoint), it is tied to one collection year (the 2024 file renames
GenderCurrent to Sex, which the 2024 XSD rejects), and it needs the whole document in memory.
Instead:

* a file that is not well-formed, declares a DTD, is not a CIN ``Message`` or has no Child is
  set aside whole, with the line;
* each Child is checked for what ContactPoint needs: one ChildIdentifiers block with no loose
  text in it (a sign the export damaged it), a LAchildID, a birth or expected birth date, valid
  ``yyyy-mm-dd`` dates, a CINreferralDate in each CINdetails, and a LAchildID not already used in
  the file. A Child that fails is set aside with its element index and line; the other children
  are read. The file then goes to quarantine (see :mod:`connectors.filedrop`) so the
  administrator sees it, with a reason file listing each set-aside Child.

The shipped faulty sample ``CIN_Census_2024.xml`` thus gives: Child[1] set aside (loose text
inside ChildIdentifiers, line 23), Child[2] read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from lxml import etree

from connectors.base import Provenance, SourceRecord
from connectors.filereader import BadFile, FileSet, RecordProblems
from connectors.xmlinput import (
    find_all,
    local_name,
    stray_text_line,
    stream_elements,
    texts,
)

IDENTIFIERS = (
    "LAchildID",
    "UPN",
    "FormerUPN",
    "UPNunknown",
    "PersonBirthDate",
    "ExpectedPersonBirthDate",
    "GenderCurrent",
    "Sex",
    "PersonDeathDate",
)
INVOLVEMENT = ("CINreferralDate", "CINclosureDate")
_DATES = ("PersonBirthDate", "ExpectedPersonBirthDate", "PersonDeathDate")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _bad_date(value: str | None) -> bool:
    if value is None:
        return False
    if not _ISO_DATE.fullmatch(value):
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return True
    return False


class CinReader:
    """Reads CIN census XML files, one record per Child."""

    default_pattern = "*.xml"
    checks_while_reading = False  # the root element is checked by check() only

    def is_primary(self, name: str) -> bool:
        """Every matching file is a census file of its own."""
        return True

    def companions(self, name: str) -> dict[str, str]:
        """A census file stands alone."""
        return {}

    def check(self, files: FileSet) -> None:
        """Well-formed, no DTD, root ``Message``, at least one Child."""
        name = files.primary.name
        count = 0
        for child in stream_elements(files.primary.path, "Child", origin=name):
            if count == 0:
                root = local_name(child.getroottree().getroot())
                if root != "Message":
                    raise BadFile(
                        name,
                        "line 1",
                        f"root element is {root}, not Message",
                        code="SRC-WRONG-FORMAT",
                    )
            count += 1
        if count == 0:
            raise BadFile(
                name,
                None,
                "no Children/Child element: empty or not a CIN census file",
                code="SRC-WRONG-FORMAT",
            )

    def records(self, files: FileSet, problems: RecordProblems) -> Iterator[SourceRecord]:
        """One record per usable Child; each unusable one noted with its index and line."""
        name = files.primary.name
        seen: dict[str, int] = {}  # LAchildID -> Child index; CIN files are one LA's children
        for index, child in enumerate(stream_elements(files.primary.path, "Child", origin=name), 1):
            where = f"Child[{index}] line {child.sourceline}"
            problem, fields = _identity(child)
            involvements = [texts(d, INVOLVEMENT) for d in find_all(child, "CINdetails")]
            problem = problem or _involvement_problem(involvements)
            key = fields.get("LAchildID")
            if problem is not None or key is None:
                problems.add(name, where, problem or "ChildIdentifiers/LAchildID is missing")
                continue
            if key in seen:
                problems.add(
                    name, where, f"LAchildID repeats Child[{seen[key]}]", code="SRC-DUPLICATE-KEY"
                )
                continue
            seen[key] = index
            related = {"involvements": involvements}
            yield SourceRecord(
                key=key,
                fields=fields,
                related=related,
                change_marker=None,
                provenance=Provenance(name, where),
            )


def _identity(child: etree._Element) -> tuple[str | None, dict[str, str | None]]:
    blocks = find_all(child, "ChildIdentifiers")
    if len(blocks) != 1:
        return f"{len(blocks)} ChildIdentifiers elements, expected 1", {}
    block = blocks[0]
    fields = texts(block, IDENTIFIERS)
    stray = stray_text_line(block)
    if stray is not None:
        return f"ChildIdentifiers holds text outside its elements (line {stray})", fields
    if fields["LAchildID"] is None:
        return "ChildIdentifiers/LAchildID is missing or empty", fields
    if fields["PersonBirthDate"] is None and fields["ExpectedPersonBirthDate"] is None:
        return "neither PersonBirthDate nor ExpectedPersonBirthDate is given", fields
    for name in _DATES:
        if _bad_date(fields[name]):
            return f"ChildIdentifiers/{name} is not a yyyy-mm-dd date", fields
    return None, fields


def _involvement_problem(involvements: list[dict[str, str | None]]) -> str | None:
    for number, row in enumerate(involvements, 1):
        if row["CINreferralDate"] is None:
            return f"CINdetails[{number}]/CINreferralDate is missing"
        for name in INVOLVEMENT:
            if _bad_date(row[name]):
                return f"CINdetails[{number}]/{name} is not a yyyy-mm-dd date"
    return None
