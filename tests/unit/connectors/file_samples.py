"""Small files for the file-reader and file-drop tests: good ones and each kind of bad one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from connectors.csvfile import CsvOptions
from demo.ctf_files import write_ctf_files
from demo.population import DemoChild, generate_population

ON = date(2026, 11, 1)

CSV_OPTIONS = CsvOptions(
    key="ChildId",
    columns={"ChildId": "id", "Forename": "given_name", "Surname": "family_name", "DOB": "dob"},
)
GOOD_CSV = b"ChildId,Forename,Surname,DOB,Notes\nC1,Ann,Lee,2015-01-02,x\nC2,Bob,Ray,2016-03-04,y\n"
# "Zoë" written by a Windows export in cp1252: not UTF-8, on line 3.
NON_UTF8_CSV = (
    "ChildId,Forename,Surname,DOB\nC1,Ann,Lee,2015-01-02\nC2,Zoë,Ray,2016-03-04\n".encode("cp1252")
)
MISSING_COLUMNS_CSV = b"ChildId,Forename\nC1,Ann\n"

XXE_CTF = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE CTfile [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
<CTfile><Header><SourceSchool><LEA>891</LEA><Estab>2001</Estab></SourceSchool></Header>
<CTFpupilData><Pupil><UPN>&leak;</UPN></Pupil></CTFpupilData></CTfile>
"""


def population(n: int = 300) -> list[DemoChild]:
    """The shared synthetic population (deterministic)."""
    return generate_population(n, seed=891, on=ON)


def on_roll(children: list[DemoChild]) -> list[DemoChild]:
    """Children the demo CTF files list (in school, not recorded dead by ON)."""
    return [
        c
        for c in children
        if c.in_school and c.school and not (c.date_of_death and c.date_of_death <= ON)
    ]


def ctf_files(directory: Path, n: int = 300) -> list[Path]:
    """Demo CTF files for ``n`` children."""
    return write_ctf_files(directory, population(n), on=ON)


def truncated(path: Path, target: Path) -> Path:
    """A copy of ``path`` cut off in the middle, as an interrupted transfer leaves it."""
    data = path.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target
