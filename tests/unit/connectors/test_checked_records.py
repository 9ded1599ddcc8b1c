"""checked_records: one pass for a school-sized CTF, two for a large one, never a partial set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import filereader
from connectors.base import SourceRecord
from connectors.ctf import CtfReader
from connectors.filereader import BadFile, FileSet, LocalFile, RecordProblems, checked_records


def _ctf(path: Path, pupils: int, *, tail: str = "</CTFpupilData></CTfile>") -> FileSet:
    rows = "".join(
        f"<Pupil><UPN>A{i:012d}</UPN><Surname>Pupil</Surname><Forename>N{i}</Forename>"
        "<DOB>2015-01-01</DOB></Pupil>"
        for i in range(pupils)
    )
    path.write_text(
        "<CTfile><Header><SourceSchool><LEA>891</LEA><Estab>2001</Estab>"
        f"<SchoolName>School</SchoolName></SourceSchool></Header><CTFpupilData>{rows}{tail}"
    )
    return FileSet(LocalFile(path.name, path), {})


class _CountingCtf(CtfReader):
    """A CTF reader that counts its passes over the file."""

    def __init__(self) -> None:
        self.checks = 0
        self.reads = 0

    def check(self, files: FileSet) -> None:
        self.checks += 1
        super().check(files)

    def records(self, files: FileSet, problems: RecordProblems) -> Iterator[SourceRecord]:
        self.reads += 1
        return super().records(files, problems)


def test_a_school_sized_file_is_read_once(tmp_path: Path) -> None:
    """A CTF under the buffer size is parsed once: no separate check pass."""
    reader = _CountingCtf()
    records = list(checked_records(reader, _ctf(tmp_path / "a.xml", 5), RecordProblems()))
    assert [r.key for r in records] == [f"A{i:012d}" for i in range(5)]
    assert (reader.checks, reader.reads) == (0, 1)


def test_a_bad_end_hands_on_nothing_in_one_pass(tmp_path: Path) -> None:
    """A file that breaks after its pupils raises before any record is handed on."""
    files = _ctf(tmp_path / "b.xml", 5, tail="</CTFpupilData><Broken></CTfile>")
    handed: list[SourceRecord] = []
    with pytest.raises(BadFile) as raised:
        handed.extend(checked_records(CtfReader(), files, RecordProblems()))
    assert handed == []
    assert raised.value.code == "SRC-NOT-WELL-FORMED"


def test_a_large_file_is_checked_then_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the buffer size the reader checks first, so a bad end still hands on nothing."""
    monkeypatch.setattr(filereader, "BUFFERED_RECORDS", 3)
    reader = _CountingCtf()
    records = list(checked_records(reader, _ctf(tmp_path / "c.xml", 8), RecordProblems()))
    assert len(records) == 8 and (reader.checks, reader.reads) == (1, 2)
    bad = _ctf(tmp_path / "d.xml", 8, tail="</CTFpupilData><Broken></CTfile>")
    handed: list[SourceRecord] = []
    with pytest.raises(BadFile):
        handed.extend(checked_records(CtfReader(), bad, RecordProblems()))
    assert handed == []


def test_a_file_without_pupils_gets_the_checks_verdict(tmp_path: Path) -> None:
    """No Pupil at all: the one-pass read finds nothing, so check() says why it is unusable."""
    with pytest.raises(BadFile) as raised:
        list(checked_records(CtfReader(), _ctf(tmp_path / "e.xml", 0), RecordProblems()))
    assert raised.value.code == "SRC-WRONG-FORMAT" and "no Pupil" in raised.value.message


def test_record_problems_of_the_one_pass_are_kept(tmp_path: Path) -> None:
    """A pupil with no key is noted once, whichever path read the file."""
    path = tmp_path / "f.xml"
    _ctf(path, 2)
    path.write_text(
        path.read_text().replace("<UPN>A000000000001</UPN><Surname>Pupil</Surname>", "")
    )
    problems = RecordProblems()
    records = list(checked_records(CtfReader(), FileSet(LocalFile(path.name, path), {}), problems))
    assert len(records) == 1 and problems.count == 1
