"""SSDA903 reader: identity and episode dates per CHILD; placement details never read."""

from __future__ import annotations

import csv
import random
import shutil
from collections import Counter
from pathlib import Path

import pytest

from connectors.base import SourceRecord
from connectors.filereader import BadFile, RecordProblems, read_files
from connectors.ssda903 import Ssda903Reader, episodes_name


def read(header: Path) -> tuple[list[SourceRecord], RecordProblems]:
    problems = RecordProblems()
    return list(read_files(Ssda903Reader(), header, problems)), problems


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture
def tables(shared_testdata: Path, tmp_path: Path) -> Path:
    """A private copy of the DfE sample header.csv + episodes.csv."""
    for name in ("header.csv", "episodes.csv"):
        shutil.copy(shared_testdata / "ssda903" / name, tmp_path / name)
    return tmp_path


def test_sample_tables_read_one_record_per_child_with_its_episodes(tables: Path) -> None:
    """Counts match the CSVs: one record per distinct header CHILD, every episode attached."""
    header, episodes = rows(tables / "header.csv"), rows(tables / "episodes.csv")
    records, problems = read(tables / "header.csv")
    assert problems.count == 0
    assert len(records) == len({r["CHILD"] for r in header})
    per_child = Counter(r["CHILD"] for r in episodes)
    assert sum(len(r.related["episodes"]) for r in records) == len(episodes)
    assert all(len(r.related["episodes"]) == per_child[r.key] for r in records)
    first = next(r for r in records if r.key == header[0]["CHILD"])
    assert first.fields == {k: header[0][k] or None for k in ("CHILD", "SEX", "DOB", "UPN")}
    assert first.provenance.origin == "header.csv"
    assert first.provenance.locator == "line 2"
    assert set(first.related["episodes"][0]) == {"DECOM", "DEC", "HOME_POST"}


def test_placement_postcodes_and_case_columns_never_appear(tables: Path) -> None:
    """No PL_POST value (nor URN, placement or reason code) appears anywhere in the records."""
    episodes = rows(tables / "episodes.csv")
    home = {r["HOME_POST"] for r in episodes}
    placement = {r["PL_POST"] for r in episodes if r["PL_POST"]} - home
    urns = {r["URN"] for r in episodes if r["URN"]}
    assert placement
    records, _ = read(tables / "header.csv")
    seen = {v for r in records for v in r.fields.values()}
    seen |= {v for r in records for row in r.related["episodes"] for v in row.values()}
    assert not seen & placement
    assert not seen & urns
    keys = {k for r in records for row in r.related["episodes"] for k in row}
    assert keys == {"DECOM", "DEC", "HOME_POST"}


def test_episode_order_does_not_matter(tables: Path) -> None:
    """Shuffled episodes give the same records (a staged join, not a merge of sorted input)."""
    expected = {r.key: r.fingerprint() for r in read(tables / "header.csv")[0]}
    lines = (tables / "episodes.csv").read_text().splitlines(keepends=True)
    body = lines[1:]
    random.Random(7).shuffle(body)
    (tables / "episodes.csv").write_text(lines[0] + "".join(body))
    shuffled = {r.key: r.fingerprint() for r in read(tables / "header.csv")[0]}
    assert shuffled == expected


def test_orphan_episode_and_repeated_child_are_set_aside(tmp_path: Path) -> None:
    """An episode whose CHILD has no header row and a repeated CHILD are noted by file and line."""
    (tmp_path / "header.csv").write_text(
        "CHILD,SEX,DOB,ETHNIC,UPN\n1,1,01/01/2015,WBRI,\n1,2,02/02/2016,WBRI,\n2,2,03/03/2017,,\n"
    )
    (tmp_path / "episodes.csv").write_text(
        "CHILD,DECOM,RNE,DEC,HOME_POST,PL_POST\n1,01/01/2020,S,,NG1 1AA,NG9 9ZZ\n"
        "3,01/01/2021,S,,NG2 2BB,NG8 8YY\n"
    )
    records, problems = read(tmp_path / "header.csv")
    assert sorted(r.key for r in records) == ["1", "2"]
    reasons = sorted(p.reason for p in problems.listed)
    assert reasons == [
        "episodes.csv: line 3: key column CHILD matches no row of header.csv",
        "header.csv: line 3: key column CHILD repeats line 2; the first row is used",
    ]


def test_missing_episode_columns_refuse_the_set(tables: Path) -> None:
    """An episodes file without HOME_POST is refused naming the file and the missing column."""
    text = (tables / "episodes.csv").read_text().replace("HOME_POST", "HOME")
    (tables / "episodes.csv").write_text(text)
    with pytest.raises(BadFile) as caught:
        read(tables / "header.csv")
    assert caught.value.message == (
        "episodes.csv: line 1 (header): missing required column(s): HOME_POST"
    )


XML = """<?xml version="1.0" encoding="UTF-8"?>
<EXPSSDA903>
  <CHILD>
    <HEADER><CHILDID>77</CHILDID><UPN>A123</UPN><SEX>2</SEX><DOB>01/02/2012</DOB>
      <ETHNIC>WBRI</ETHNIC><MOTHER>0</MOTHER></HEADER>
    <EPISODE><DECOM>01/01/2020</DECOM><RNE>S</RNE><LS>C2</LS><PL_POST>NG9 9ZZ</PL_POST>
      <HOME_POST>NG1 1AA</HOME_POST><URN>123456</URN><DEC>05/05/2020</DEC></EPISODE>
    <EPISODE><DECOM>05/05/2020</DECOM><PL_POST>NG8 8YY</PL_POST><HOME_POST>NG1 1AA</HOME_POST>
    </EPISODE>
  </CHILD>
  <CHILD><HEADER><UPN>B1</UPN></HEADER></CHILD>
</EXPSSDA903>
"""


def test_xml_form_reads_the_same_fields(tmp_path: Path) -> None:
    """EXPSSDA903 XML gives CSV-named fields; a CHILD without CHILDID is set aside by element."""
    path = tmp_path / "903_2024.xml"
    path.write_text(XML)
    records, problems = read(path)
    [record] = records
    assert record.key == "77"
    assert record.fields == {"CHILD": "77", "UPN": "A123", "SEX": "2", "DOB": "01/02/2012"}
    assert record.related["episodes"] == [
        {"DECOM": "01/01/2020", "DEC": "05/05/2020", "HOME_POST": "NG1 1AA"},
        {"DECOM": "05/05/2020", "DEC": None, "HOME_POST": "NG1 1AA"},
    ]
    assert record.provenance.locator == "CHILD[1] line 3"
    assert [p.reason for p in problems.listed] == [
        "903_2024.xml: CHILD[2] line 11: HEADER/CHILDID is missing or empty"
    ]


@pytest.mark.parametrize(
    ("header", "episodes"),
    [
        ("header.csv", "episodes.csv"),
        ("903_Header_2024.csv", "903_Episodes_2024.csv"),
        ("LA_HEADER.CSV", "LA_EPISODES.CSV"),
    ],
)
def test_episodes_file_is_named_from_the_header_file(header: str, episodes: str) -> None:
    """The companion file keeps the header file's naming and case style."""
    assert episodes_name(header) == episodes
