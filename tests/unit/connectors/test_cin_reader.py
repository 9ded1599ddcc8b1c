"""CIN census reader: identity and involvement dates only; faulty children set aside."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from connectors.base import SourceRecord
from connectors.cin import CinReader
from connectors.filereader import BadFile, RecordProblems, read_files


def leaves(record: SourceRecord) -> Iterator[Any]:
    """Every value of a record: fields and related rows, recursively."""

    def walk(value: Any) -> Iterator[Any]:
        if isinstance(value, dict):
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)
        else:
            yield value

    yield from walk(dict(record.fields))
    yield from walk({k: list(v) for k, v in record.related.items()})


def read(path: Path) -> tuple[list[SourceRecord], RecordProblems]:
    problems = RecordProblems()
    return list(read_files(CinReader(), path, problems)), problems


def test_valid_sample_gives_identity_and_involvement_period(shared_testdata: Path) -> None:
    """cin-2022.xml: one child keyed by LAchildID with identifiers and referral/closure dates."""
    records, problems = read(shared_testdata / "cin" / "cin-2022.xml")
    assert problems.count == 0
    [record] = records
    assert record.key == "DfEX0000001"
    assert record.fields["UPN"] == "A123456789123"
    assert record.fields["FormerUPN"] == "X98765432123B"
    assert record.fields["PersonBirthDate"] == "1966-03-24"
    assert record.fields["GenderCurrent"] == "1"
    assert record.fields["PersonDeathDate"] == "1980-10-08"
    assert record.related == {
        "involvements": [{"CINreferralDate": "1970-10-06", "CINclosureDate": "1971-02-27"}]
    }
    assert record.provenance.origin == "cin-2022.xml"
    assert record.provenance.locator == "Child[1] line 18"


def test_no_case_information_reaches_the_record(shared_testdata: Path) -> None:
    """No value held only in case information (ReferralSource, PrimaryNeedCode…) is read."""
    path = shared_testdata / "cin" / "cin-2022.xml"
    [record] = read(path)[0]
    tree = etree.parse(str(path))
    kept = {"ChildIdentifiers", "CINreferralDate", "CINclosureDate"}
    case_values = {
        (el.text or "").strip()
        for el in tree.iter()
        if len(el) == 0
        and not any(etree.QName(a).localname in kept for a in [el, *el.iterancestors()])
        and (el.text or "").strip()
    }
    assert {"1A", "N4", "RC1", "WBRI", "HAND", "1970-12-06"} <= case_values
    assert not case_values & set(leaves(record))
    names = set(record.fields) | {k for rows in record.related.values() for r in rows for k in r}
    assert not names & {"ReferralSource", "PrimaryNeedCode", "Ethnicity", "Disability"}


def test_faulty_census_sets_aside_the_damaged_child_and_reads_the_other(
    shared_testdata: Path,
) -> None:
    """CIN_Census_2024.xml: damaged Child[1] set aside by element and line, Child[2] read."""
    records, problems = read(shared_testdata / "cin" / "CIN_Census_2024.xml")
    assert [r.key for r in records] == ["child_fails_assessments"]
    assert records[0].fields["Sex"] == "M"
    [problem] = problems.listed
    assert problem.origin == "CIN_Census_2024.xml"
    assert problem.code == "SRC-BAD-RECORD"
    assert problem.reason.startswith("CIN_Census_2024.xml: Child[1] line 18: ChildIdentifiers")
    assert "line 23" in problem.reason


CHILD = """<Child><ChildIdentifiers>{ids}</ChildIdentifiers>
<ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>{details}</Child>"""
DETAILS = "<CINdetails><CINreferralDate>{ref}</CINreferralDate><ReferralSource>1A</ReferralSource>"
DETAILS += (
    "<CINclosureDate>2024-02-01</CINclosureDate><ReferralNFA>false</ReferralNFA></CINdetails>"
)


def census(tmp_path: Path, *children: str) -> Path:
    path = tmp_path / "census.xml"
    body = "\n".join(children)
    path.write_text(f'<?xml version="1.0"?>\n<Message><Children>\n{body}\n</Children></Message>')
    return path


def child(ids: str, ref: str = "2024-01-01", n_details: int = 1) -> str:
    return CHILD.format(ids=ids, details=DETAILS.format(ref=ref) * n_details)


@pytest.mark.parametrize(
    ("ids", "ref", "expected"),
    [
        ("<UPN>A1</UPN><PersonBirthDate>2015-01-01</PersonBirthDate>", "2024-01-01", "LAchildID"),
        ("<LAchildID>X</LAchildID><Sex>1</Sex>", "2024-01-01", "PersonBirthDate"),
        (
            "<LAchildID>X</LAchildID><PersonBirthDate>01/02/2015</PersonBirthDate>",
            "2024-01-01",
            "PersonBirthDate is not a yyyy-mm-dd date",
        ),
        (
            "<LAchildID>X</LAchildID><PersonBirthDate>2015-01-01</PersonBirthDate>",
            "",
            "CINdetails[1]/CINreferralDate is missing",
        ),
        (
            "<LAchildID>X</LAchildID><PersonBirthDate>2015-01-01</PersonBirthDate>",
            "2024-02-30",
            "CINdetails[1]/CINreferralDate is not a yyyy-mm-dd date",
        ),
    ],
)
def test_child_missing_what_contactpoint_needs_is_set_aside(
    tmp_path: Path, ids: str, ref: str, expected: str
) -> None:
    """A Child lacking LAchildID, birth or referral date is set aside; the good one is read."""
    good = child("<LAchildID>G</LAchildID><PersonBirthDate>2014-05-06</PersonBirthDate>")
    records, problems = read(census(tmp_path, child(ids, ref), good))
    assert [r.key for r in records] == ["G"]
    [problem] = problems.listed
    assert problem.reason.startswith("census.xml: Child[1] line 3: ")
    assert expected in problem.reason
    assert "01/02/2015" not in problem.reason


def test_several_cindetails_give_several_involvements(tmp_path: Path) -> None:
    """Each CINdetails becomes one involvement row, in document order."""
    ids = "<LAchildID>X</LAchildID><PersonBirthDate>2015-01-01</PersonBirthDate>"
    [record], _ = read(census(tmp_path, child(ids, n_details=3)))
    assert len(record.related["involvements"]) == 3


def test_repeated_lachildid_is_set_aside(tmp_path: Path) -> None:
    """A second Child with the same LAchildID is set aside as a duplicate key."""
    ids = "<LAchildID>X</LAchildID><PersonBirthDate>2015-01-01</PersonBirthDate>"
    records, problems = read(census(tmp_path, child(ids), child(ids)))
    assert len(records) == 1
    assert problems.listed[0].code == "SRC-DUPLICATE-KEY"
    assert "Child[2]" in problems.listed[0].reason


@pytest.mark.parametrize(
    ("content", "code", "where"),
    [
        (b"<Message><Children><Child><ChildIdentifiers>", "SRC-NOT-WELL-FORMED", ": line 1: "),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE Message [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            b"<Message><Children><Child>&x;</Child></Children></Message>",
            "SRC-UNSAFE-XML",
            ": line 2: ",
        ),
        (b"<CTfile><Child/></CTfile>", "SRC-WRONG-FORMAT", ": line 1: root element is CTfile"),
        (b"<Message><Children/></Message>", "SRC-WRONG-FORMAT", ": no Children/Child"),
    ],
)
def test_unusable_file_is_refused_whole(
    tmp_path: Path, content: bytes, code: str, where: str
) -> None:
    """Truncated, DTD-bearing, foreign or empty files are refused before any record is given."""
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    with pytest.raises(BadFile) as caught:
        read(path)
    assert caught.value.code == code
    assert str(caught.value.message).startswith("bad.xml" + where)
    assert "passwd" not in caught.value.message
