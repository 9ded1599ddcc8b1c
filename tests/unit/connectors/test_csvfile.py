"""Generic CSV reader: column map, encodings, missing columns, related files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.base import SourceRecord
from connectors.csvfile import CsvOptions
from connectors.filereader import BadFile, RecordProblems, read_files
from tests.unit.connectors.file_samples import (
    CSV_OPTIONS,
    GOOD_CSV,
    MISSING_COLUMNS_CSV,
    NON_UTF8_CSV,
)


def read(
    path: Path,
    options: CsvOptions = CSV_OPTIONS,
    *,
    encoding: str | None = None,
    fallback: str | None = None,
) -> tuple[list[SourceRecord], RecordProblems]:
    reader = options.reader(pattern="*.csv", encoding=encoding, fallback_encoding=fallback)
    problems = RecordProblems()
    return list(read_files(reader, path, problems)), problems


def write(tmp_path: Path, data: bytes, name: str = "children.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_mapped_columns_only_become_fields(tmp_path: Path) -> None:
    """Mapped columns are renamed to their fields; unmapped ones (Notes) are never read."""
    records, problems = read(write(tmp_path, GOOD_CSV))
    assert problems.count == 0
    assert [r.key for r in records] == ["C1", "C2"]
    assert records[0].fields == {
        "id": "C1",
        "given_name": "Ann",
        "family_name": "Lee",
        "dob": "2015-01-02",
    }
    assert records[1].provenance.locator == "line 3"


def test_non_utf8_without_declared_encoding_is_refused_at_the_bad_line(tmp_path: Path) -> None:
    """A cp1252 file with no declared encoding is refused naming the line of the first bad byte."""
    with pytest.raises(BadFile) as caught:
        read(write(tmp_path, NON_UTF8_CSV))
    assert caught.value.code == "SRC-ENCODING"
    assert caught.value.message.startswith("children.csv: line 3: bytes that are not valid UTF-8")
    assert "Zo" not in caught.value.message


def test_declared_fallback_encoding_reads_the_same_file(tmp_path: Path) -> None:
    """With fallback_encoding cp1252 the same file is read, and the name decoded correctly."""
    records, _ = read(write(tmp_path, NON_UTF8_CSV), fallback="cp1252")
    assert records[1].fields["given_name"] == "Zoë"


def test_fallback_is_not_used_for_utf8_files(tmp_path: Path) -> None:
    """A valid UTF-8 file is read as UTF-8 even when a fallback is declared."""
    data = "ChildId,Forename,Surname,DOB\nC1,Zoë,Ní-Bhriain,2015-01-02\n".encode()
    [record], _ = read(write(tmp_path, data), fallback="cp1252")
    assert record.fields["given_name"] == "Zoë"
    assert record.fields["family_name"] == "Ní-Bhriain"


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be"])
def test_byte_order_mark_decides_the_encoding(tmp_path: Path, codec: str) -> None:
    """A BOM (UTF-8, UTF-16 LE/BE) is honoured, even against a declared encoding."""
    text = "ChildId,Forename,Surname,DOB\nC1,Zoë,Lee,2015-01-02\n"
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    [record], _ = read(write(tmp_path, data), encoding="cp1252")
    assert record.fields["given_name"] == "Zoë"


def test_declared_encoding_is_strict(tmp_path: Path) -> None:
    """Bytes undefined in the declared encoding refuse the file at their line."""
    data = b"ChildId,Forename,Surname,DOB\nC1,A,B,C\nC2,\x81,B,C\n"
    with pytest.raises(BadFile) as caught:
        read(write(tmp_path, data), encoding="cp1252")
    assert caught.value.where == "line 3"


def test_missing_columns_are_named(tmp_path: Path) -> None:
    """A file without required columns is refused naming the file and each missing column."""
    with pytest.raises(BadFile) as caught:
        read(write(tmp_path, MISSING_COLUMNS_CSV))
    assert caught.value.code == "SRC-MISSING-COLUMNS"
    assert caught.value.message == (
        "children.csv: line 1 (header): missing required column(s): Surname, DOB"
    )


def test_optional_column_may_be_absent(tmp_path: Path) -> None:
    """A column listed as optional may be missing; its field is None."""
    options = CSV_OPTIONS.model_copy(update={"optional": ["DOB", "Surname"]})
    [record], _ = read(write(tmp_path, MISSING_COLUMNS_CSV), options)
    assert record.fields["dob"] is None


def test_header_matching_ignores_case_and_spaces(tmp_path: Path) -> None:
    """Exports differ in header case and padding; ' childid ' matches ChildId."""
    [record], _ = read(write(tmp_path, b" childid ,FORENAME,surname,Dob\nC1,Ann,Lee,2015\n"))
    assert record.fields["given_name"] == "Ann"


def test_bad_rows_are_set_aside_and_good_rows_read(tmp_path: Path) -> None:
    """Wrong field count, empty key and repeated key skip those rows only, naming their lines."""
    data = (
        b"ChildId,Forename,Surname,DOB\nC1,Ann,Lee,x\nC2,Bob\n,Cy,Ray,x\nC1,Di,Lee,x\nC3,Ed,Fox,x\n"
    )
    records, problems = read(write(tmp_path, data))
    assert [r.key for r in records] == ["C1", "C3"]
    assert [p.reason for p in problems.listed] == [
        "children.csv: line 3: field count differs from the header (4)",
        "children.csv: line 4: key column ChildId is empty",
        "children.csv: line 5: key column ChildId repeats line 2; the first row is used",
    ]


def test_broken_quoting_refuses_the_file(tmp_path: Path) -> None:
    """Quoting the csv module cannot parse refuses the whole file, naming the line."""
    data = b'ChildId,Forename,Surname,DOB\nC1,"Ann"x,Lee,y\n'
    with pytest.raises(BadFile) as caught:
        read(write(tmp_path, data))
    assert caught.value.code == "SRC-CSV"
    assert caught.value.where == "line 2"


def test_related_file_is_joined_on_its_key(tmp_path: Path) -> None:
    """Rows of a related file (any order) are attached to their child; orphans are reported."""
    options = CsvOptions.model_validate(
        {
            **CSV_OPTIONS.model_dump(),
            "related": {
                "carers": {
                    "file": "{stem}_carers{ext}",
                    "key": "Child",
                    "columns": {"Name": "name", "Rel": "relationship"},
                }
            },
        }
    )
    write(
        tmp_path, b"Child,Name,Rel\nC2,Mum,M\nC1,Dad,F\nC9,X,Y\nC1,Mum,M\n", "children_carers.csv"
    )
    records, problems = read(write(tmp_path, GOOD_CSV), options)
    assert records[0].related == {
        "carers": [{"name": "Dad", "relationship": "F"}, {"name": "Mum", "relationship": "M"}]
    }
    assert records[1].related == {"carers": [{"name": "Mum", "relationship": "M"}]}
    assert [p.reason for p in problems.listed] == [
        "children_carers.csv: line 4: key column Child matches no row of children.csv"
    ]
    reader = options.reader(pattern="*.csv", encoding=None, fallback_encoding=None)
    assert reader.is_primary("children.csv")
    assert not reader.is_primary("children_carers.csv")


@pytest.mark.parametrize(
    "changes",
    [
        {"optional": ["Nope"]},
        {"delimiter": ";;"},
        {"related": {"c": {"file": "../{stem}.csv", "key": "K", "columns": {"A": "a"}}}},
        {"related": {"c": {"file": "{stem}{ext}", "key": "K", "columns": {"A": "a"}}}},
        {"related": {"c": {"file": "{nope}.csv", "key": "K", "columns": {"A": "a"}}}},
    ],
)
def test_invalid_options_are_refused(changes: dict[str, object]) -> None:
    """Optional columns must be mapped; related names must be plain and differ from the primary."""
    with pytest.raises(ValidationError):
        CsvOptions.model_validate({**CSV_OPTIONS.model_dump(), **changes})


_cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
).map(str.strip)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(_cell, _cell, _cell), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_column_map_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str]],
    delimiter: str,
) -> None:
    """Any csv.writer output (quotes, delimiters, newlines) reads back under the mapped fields."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["Other", "Key", "Name"])
    keyed = [(f"K{i}", a, b) for i, (a, _, b) in enumerate(rows)]
    writer.writerows((other, key, name) for key, other, name in keyed)
    path = tmp_path_factory.mktemp("rt") / "rt.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    options = CsvOptions(key="Key", columns={"Key": "key", "Name": "name"}, delimiter=delimiter)
    records, problems = read(path, options)
    assert problems.count == 0
    assert [(r.key, r.fields["name"]) for r in records] == [
        (key, name or None) for key, _, name in keyed
    ]
