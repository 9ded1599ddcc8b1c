"""CTF reader: pupils, contacts and schools from the demo MIS files; no case information."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from connectors.base import SourceRecord
from connectors.ctf import CtfReader, fallback_key
from connectors.filereader import BadFile, RecordProblems, read_files
from demo.ctf_files import CASE_INFORMATION_ELEMENTS, CASE_INFORMATION_MARKERS
from tests.unit.connectors.file_samples import XXE_CTF, ctf_files, on_roll, population
from tests.unit.connectors.test_cin_reader import leaves


def read(path: Path) -> tuple[list[SourceRecord], RecordProblems]:
    problems = RecordProblems()
    return list(read_files(CtfReader(), path, problems)), problems


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[SourceRecord]]:
    """The demo school files for 300 children and every record read from them."""
    files = ctf_files(tmp_path_factory.mktemp("ctf"), 300)
    records = []
    for path in files:
        got, problems = read(path)
        assert problems.count == 0
        records.extend(got)
    return files, records


def test_demo_files_give_one_record_per_pupil_on_roll(
    demo: tuple[list[Path], list[SourceRecord]],
) -> None:
    """Every on-roll child is read once, from its own school's file, with Pupil[n] provenance."""
    files, records = demo
    children = on_roll(population(300))
    assert len(records) == len(children)
    by_school = Counter(c.school.laestab for c in children if c.school)
    assert Counter(r.fields["LAEstab"] for r in records) == by_school
    for record in records:
        assert record.provenance.origin.startswith(str(record.fields["LAEstab"]) + "_CTF_")
    first = [r for r in records if r.provenance.origin == files[0].name]
    assert [r.provenance.locator.split()[0] for r in first] == [
        f"Pupil[{i}]" for i in range(1, len(first) + 1)
    ]


def test_pupil_fields_contacts_and_school_match_the_population(
    demo: tuple[list[Path], list[SourceRecord]],
) -> None:
    """Names, DOB, postcode, parents (relationship, responsibility) and entry date are read."""
    _, records = demo
    by_key = {r.key: r for r in records}
    child = next(
        c
        for c in on_roll(population(300))
        if c.carers and c.postcode and c.upn and c.person_id % 97
    )
    record = by_key[str(child.upn)]
    assert record.fields["Surname"] == child.family_name
    assert record.fields["DOB"] == child.birth_date.isoformat()
    assert record.fields["Address.PostCode"] == child.postcode
    contacts = record.related["contacts"]
    assert [c["Forename"] for c in contacts] == [c.given_name for c in child.carers]
    assert contacts[0]["Relationship"] == "PAM"
    assert contacts[0]["Responsibility"] == (
        "true" if child.carers[0].parental_responsibility else "false"
    )
    assert child.school is not None
    assert record.fields["SourceSchool.EntryDate"] == child.school.start_date.isoformat()


def test_case_information_never_reaches_a_record(
    demo: tuple[list[Path], list[SourceRecord]],
) -> None:
    """Attendance, assessments, SEN, FSM, looked-after and NAW values appear in no field or row."""
    files, records = demo
    in_files = set()
    for path in files:
        tree = etree.parse(str(path))
        for name in CASE_INFORMATION_ELEMENTS:
            for element in tree.iter(name):
                in_files |= {(e.text or "").strip() for e in element.iter() if len(e) == 0}
    assert set(CASE_INFORMATION_MARKERS.values()) <= in_files
    values = {v for r in records for v in leaves(r)}
    assert not values & set(CASE_INFORMATION_MARKERS.values())
    names = {k for r in records for k in r.fields}
    assert not any(n.split(".")[0] in CASE_INFORMATION_ELEMENTS for n in names)


def test_old_style_file_is_read_with_gender_and_address_lines(
    demo: tuple[list[Path], list[SourceRecord]],
) -> None:
    """The CTF 19-style school (Gender, AddressLines) is read as well as the CTF 25 ones."""
    _, records = demo
    old = [r for r in records if r.fields["Gender"] is not None]
    new = [r for r in records if r.fields["Sex"] is not None]
    assert old and new
    assert all(r.fields["Address.AddressLines.AddressLine1"] for r in old)
    assert all(r.fields["Address.BS7666Address.Street"] for r in new)


def test_pupil_without_upn_gets_a_stable_fallback_key(
    demo: tuple[list[Path], list[SourceRecord]],
) -> None:
    """A pupil awaiting a UPN is keyed by a hash of school, names and DOB, the same every run."""
    _, records = demo
    waiting = [r for r in records if r.fields["UPN"] is None]
    assert waiting
    for record in waiting:
        assert record.key == fallback_key(
            str(record.fields["LAEstab"]),
            str(record.fields["Surname"]),
            str(record.fields["Forename"]),
            str(record.fields["DOB"]),
        )
        assert record.key.startswith("ctf-noupn:")
    assert fallback_key("8912001", "Lee ", "ANN", "2015-01-01") == fallback_key(
        "8912001", "lee", "Ann", "2015-01-01"
    )


def test_namespaced_file_is_read(tmp_path: Path) -> None:
    """Element names are matched without namespace (some MIS write a default namespace)."""
    path = tmp_path / "ns.xml"
    path.write_text(
        '<CTfile xmlns="urn:example:ctf"><Header><SourceSchool><LEA>891</LEA><Estab>2001</Estab>'
        "</SourceSchool></Header><CTFpupilData><Pupil><UPN>A1</UPN><Surname>Lee</Surname>"
        "</Pupil></CTFpupilData></CTfile>"
    )
    [record], _ = read(path)
    assert (record.key, record.fields["LAEstab"], record.fields["Surname"]) == (
        "A1",
        "8912001",
        "Lee",
    )


def test_pupil_without_any_key_is_set_aside(tmp_path: Path) -> None:
    """No UPN and no DOB: that pupil alone is set aside, naming Pupil[n] and its line."""
    path = tmp_path / "k.xml"
    path.write_text(
        "<CTfile><Header><SourceSchool><LEA>891</LEA><Estab>2001</Estab></SourceSchool></Header>\n"
        "<CTFpupilData>\n<Pupil><Surname>Lee</Surname><Forename>Ann</Forename></Pupil>\n"
        "<Pupil><UPN>A1</UPN></Pupil></CTFpupilData></CTfile>"
    )
    records, problems = read(path)
    assert [r.key for r in records] == ["A1"]
    assert problems.listed[0].reason.startswith("k.xml: Pupil[1] line 3: no UPN")


@pytest.mark.parametrize(
    ("content", "code", "start"),
    [
        (XXE_CTF, "SRC-UNSAFE-XML", "x.xml: line 2: "),
        (
            b"<CTfile><Header/><CTFpupilData><Pupil><UPN>A1</UPN></Pupil></CTFpupilData></CTfile>",
            "SRC-WRONG-FORMAT",
            "x.xml: element Header: SourceSchool",
        ),
        (b"<Message><Pupil/></Message>", "SRC-WRONG-FORMAT", "x.xml: line 1: root element"),
    ],
)
def test_unusable_file_is_refused_whole(
    tmp_path: Path, content: bytes, code: str, start: str
) -> None:
    """A DTD, a file without a source school, or a foreign root refuses the whole file."""
    path = tmp_path / "x.xml"
    path.write_bytes(content)
    with pytest.raises(BadFile) as caught:
        read(path)
    assert caught.value.code == code
    assert caught.value.message.startswith(start)


def test_truncated_file_is_refused_with_its_last_line(
    demo: tuple[list[Path], list[SourceRecord]], tmp_path: Path
) -> None:
    """A file cut off mid-transfer is refused (not-well-formed) at the line where it ends."""
    files, _ = demo
    data = files[0].read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadFile) as caught:
        read(cut)
    assert caught.value.code == "SRC-NOT-WELL-FORMED"
    last_line = data[: len(data) // 2].count(b"\n") + 1
    assert caught.value.where == f"line {last_line}"


def _reference_record(pupil: etree._Element, laestab: str, name: str | None, year: str | None):  # type: ignore[no-untyped-def]
    """The reader's extraction before it indexed each element once, written with the generic
    dotted-path helpers: what every pupil must still give."""
    from connectors.ctf import (
        ADDRESS_FIELDS,
        CONTACT_FIELDS,
        PHONE_FIELDS,
        PUPIL_FIELDS,
        SCHOOL_FIELDS,
        _entry_date,
    )
    from connectors.xmlinput import find, find_all, text, texts

    def address(element: etree._Element | None) -> dict[str, str | None]:
        fields: dict[str, str | None] = {
            f"Address.{n}": None for n in (*ADDRESS_FIELDS, "PostCode")
        }
        if element is None:
            return fields
        fields.update(texts(element, ADDRESS_FIELDS, prefix="Address."))
        fields["Address.PostCode"] = text(element, "PostCode") or text(
            element, "BS7666Address.PostCode"
        )
        return fields

    def phones(element: etree._Element) -> list[dict[str, str | None]]:
        return [texts(p, PHONE_FIELDS) for p in find_all(element, "Phones.Phone")]

    fields = {
        "LAEstab": laestab,
        "SourceSchool.SchoolName": name,
        "SourceSchool.AcademicYear": year,
    }
    fields.update(texts(pupil, PUPIL_FIELDS))
    fields.update(address(find(pupil, "Address")))
    contacts = []
    for contact in find_all(pupil, "Contacts.Contact"):
        row = texts(contact, CONTACT_FIELDS)
        row.update(address(find(contact, "Address")))
        row["Phones"] = phones(contact)
        contacts.append(row)
    schools = []
    for school in find_all(pupil, "SchoolHistory.School"):
        row = texts(school, SCHOOL_FIELDS)
        row["LAEstab"] = row["LEA"] + row["Estab"] if row["LEA"] and row["Estab"] else None
        schools.append(row)
    fields["SourceSchool.EntryDate"] = _entry_date(schools, laestab)
    return fields, {"phones": phones(pupil), "contacts": contacts, "schools": schools}


_TRICKY_PUPILS = """
<Pupil><UPN> A000000000001 </UPN><Surname>Lee</Surname><Forename>Al</Forename>
  <DOB>2015-01-01</DOB><Gender>M</Gender>
  <Address><AddressLines><AddressLine1>1 Road</AddressLine1><AddressLine3>Town</AddressLine3>
  </AddressLines><BS7666Address><PostCode>NG1 1AA</PostCode></BS7666Address></Address>
  <Address><PostCode>IGNORED</PostCode></Address>
  <Phones><Phone><PhoneNo>0115</PhoneNo></Phone><Phone><TelephoneType>M</TelephoneType></Phone>
  </Phones><Phones><Phone><PhoneNo>second container ignored</PhoneNo></Phone></Phones>
  <Contacts><Contact><Surname>Lee</Surname><Address><PostCode> </PostCode></Address></Contact>
  <Contact><Order>2</Order></Contact></Contacts>
  <SchoolHistory><School><LEA>891</LEA><Estab>2001</Estab><EntryDate>2020-09-01</EntryDate>
  </School><School><LEA>891</LEA><EntryDate>2021-09-01</EntryDate></School>
  <School><LEA>891</LEA><Estab>2001</Estab><EntryDate>2023-09-01</EntryDate></School>
  </SchoolHistory></Pupil>
<Pupil><UPN>B000000000002</UPN><Surname>Kay</Surname><BasicDetails><MiddleNames>Jo
  </MiddleNames><!-- a comment --></BasicDetails><Address/><Contacts/><SchoolHistory/></Pupil>
"""


def test_each_pupil_is_extracted_as_before(
    demo: tuple[list[Path], list[SourceRecord]], tmp_path: Path
) -> None:
    """Every demo pupil and some awkward ones give exactly the fields and rows they always did."""
    tricky = tmp_path / "tricky.xml"
    tricky.write_text(
        "<CTfile><Header><SourceSchool><LEA>891</LEA><Estab>2001</Estab><SchoolName>S</SchoolName>"
        f"</SourceSchool></Header><CTFpupilData>{_TRICKY_PUPILS}</CTFpupilData></CTfile>"
    )
    files, _ = demo
    compared = 0
    for path in [*files, tricky]:
        records, _problems = read(path)
        root = etree.parse(str(path)).getroot()
        source = root.find("Header/SourceSchool")
        assert source is not None
        laestab = (source.findtext("LEA") or "").strip() + (source.findtext("Estab") or "").strip()
        name, year = source.findtext("SchoolName"), source.findtext("AcademicYear")
        pupils = root.iter("Pupil")
        for record, pupil in zip(records, pupils, strict=True):
            expected = _reference_record(
                pupil, laestab, name and name.strip(), year and year.strip()
            )
            assert (dict(record.fields), dict(record.related)) == expected
            compared += 1
    assert compared == len(demo[1]) + 2  # every demo pupil and both awkward ones
