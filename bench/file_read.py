"""Benchmark: stream 1,000,000 source rows from dropped files through the localdir connector.

Target (issue 4): peak RSS under 200 MB whatever the file size; rows/s reported. Three shapes,
each about 1,000,000 rows, read the way production reads them (``LocalDirConnector.read``:
SHA-256 of the files, the checking first pass, the reading second pass, archive):

* ``csv``: one generic CSV file of 1,000,000 children (column map, no related files);
* ``ssda903``: header.csv with 400,000 children + episodes.csv with 600,000 episodes in
  shuffled order (the staged SQLite join);
* ``ctf``: one Common Transfer File of 250,000 pupils, each with two contacts and a school
  history entry (1,000,000 rows counting pupils, contacts and schools), plus the attendance and
  SEN elements every real file carries and the reader skips.

Files are generated first by this process; each shape is then read in a fresh interpreter so
that its peak RSS is the read's own. Run: ``.venv/bin/python bench/file_read.py [--rows N]
[--shapes csv,ssda903,ctf] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAPES = ("csv", "ssda903", "ctf")


def _write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("ChildId,Forename,Surname,DOB,Postcode,Notes\r\n")
        for i in range(rows):
            out.write(
                f"C{i:08d},Given{i % 97},Family{i % 1009},"
                f"20{10 + i % 15:02d}-0{1 + i % 9}-1{i % 9},NG{1 + i % 25} {i % 10}AB,note {i}\r\n"
            )


def _write_ssda903(folder: Path, rows: int) -> None:
    children = rows * 2 // 5
    with (folder / "header.csv").open("w", encoding="utf-8", newline="") as out:
        out.write("CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\r\n")
        for i in range(children):
            out.write(
                f"{100000 + i},{1 + i % 2},0{1 + i % 9}/0{1 + i % 9}/2012,WBRI,A891{i:09d},,\r\n"
            )
    order = list(range(rows - children))
    random.Random(903).shuffle(order)  # episodes in no particular order: the general case
    with (folder / "episodes.csv").open("w", encoding="utf-8", newline="") as out:
        out.write("CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,"
                  "HOME_POST,PL_POST,URN\r\n")  # fmt: skip
        for n in order:
            child = 100000 + n % children
            out.write(
                f"{child},01/0{1 + n % 9}/2020,S,C2,N1,U1,PR1,,X1,,"
                f"NG1 {n % 10}AA,NG9 9ZZ,123456\r\n"
            )
    del order


_PUPIL = """<Pupil><UPN>A891{i:09d}</UPN><Surname>Family{f}</Surname><Forename>Given{g}</Forename>
<DOB>2015-0{m}-1{d}</DOB><Sex>{s}</Sex><BasicDetails><MiddleNames>Middle</MiddleNames></BasicDetails>
<Address><BS7666Address><PAON>{h}</PAON><Street>Castle Boulevard</Street><Town>Nottingham</Town>
</BS7666Address><PostCode>NG{p} 1AB</PostCode></Address>
<Contacts><Contact><Order>1</Order><Surname>Family{f}</Surname><Forename>Mum{g}</Forename>
<Relationship>PAM</Relationship><Responsibility>true</Responsibility><Phones><Phone>
<TelephoneType>H</TelephoneType><PhoneNo>0115 496 0{h:03d}</PhoneNo></Phone></Phones></Contact>
<Contact><Order>2</Order><Surname>Family{f}</Surname><Forename>Dad{g}</Forename>
<Relationship>PAF</Relationship><Responsibility>true</Responsibility></Contact></Contacts>
<SchoolHistory><School><LEA>891</LEA><Estab>2001</Estab><SchoolName>Lenton Primary</SchoolName>
<EntryDate>2021-09-04</EntryDate></School></SchoolHistory>
<Attendance><YearData><Year>2026</Year><SessionsPossible>312</SessionsPossible></YearData></Attendance>
<SENhistory><SEN><SENprovision>K</SENprovision></SEN></SENhistory></Pupil>
"""


def _write_ctf(path: Path, rows: int) -> None:
    pupils = rows // 4
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile><Header><CTFversion>25.0</CTFversion>'
            "<SourceSchool><LEA>891</LEA><Estab>2001</Estab><SchoolName>Lenton Primary</SchoolName>"
            "</SourceSchool></Header>\n<CTFpupilData>\n"
        )
        for i in range(pupils):
            out.write(
                _PUPIL.format(
                    i=i,
                    f=i % 1009,
                    g=i % 97,
                    m=1 + i % 9,
                    d=i % 9,
                    s="MF"[i % 2],
                    h=i % 240,
                    p=1 + i % 25,
                )
            )
        out.write("</CTFpupilData></CTfile>\n")


def build(folder: Path, shape: str, rows: int) -> Path:
    """Write the drop folder of ``shape`` under ``folder`` (kept if already there)."""
    drop = folder / shape
    if drop.is_dir() and any(drop.iterdir()):
        return drop
    drop.mkdir(parents=True, exist_ok=True)
    if shape == "csv":
        _write_csv(drop / "children.csv", rows)
    elif shape == "ssda903":
        _write_ssda903(drop, rows)
    else:
        _write_ctf(drop / "8912001_CTF_891MMM_001.xml", rows)
    return drop


def measure(drop: Path, shape: str) -> dict[str, float]:
    """Read one drop folder in this process; rows, seconds and peak RSS (MB)."""
    from connectors.base import ConnectorContext, ReadReport
    from connectors.localdir import LocalDirConfig, LocalDirConnector

    options: dict[str, object] = {"path": str(drop), "format": shape, "stable_seconds": 0}
    if shape == "csv":
        options["csv"] = {
            "key": "ChildId",
            "columns": {"ChildId": "id", "Forename": "given", "Surname": "family", "DOB": "dob",
                        "Postcode": "postcode"},
        }  # fmt: skip
    config = LocalDirConfig.model_validate(options)
    with tempfile.TemporaryDirectory() as state:
        connector = LocalDirConnector(config, ConnectorContext("bench", Path(state)))
        report = ReadReport()
        records = rows = 0
        start = time.perf_counter()
        for record in connector.read(report):
            records += 1
            rows += 1 + sum(len(r) for r in record.related.values())
        seconds = time.perf_counter() - start
    if report.quarantined:
        raise SystemExit(f"unexpected quarantine: {report.quarantined[0].reason}")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"records": records, "rows": rows, "seconds": seconds, "peak_rss_mb": peak_kib / 1024}


def _restore(drop: Path) -> None:
    """Put archived files back so the folder can be read again (e.g. with --keep)."""
    archive = drop / "archive"
    if archive.is_dir():
        for path in archive.iterdir():
            path.rename(drop / path.name)
        archive.rmdir()
    if (drop / "quarantine").is_dir():
        (drop / "quarantine").rmdir()


def main() -> None:
    """Generate, then read each shape in a fresh interpreter, and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--keep", type=Path, help="keep generated files here and reuse them")
    parser.add_argument("--measure", nargs=2, metavar=("DROP", "SHAPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), args.measure[1])))
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        print(
            f"{'shape':<9} {'records':>9} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'peak RSS':>9}"
        )
        for shape in args.shapes.split(","):
            drop = build(folder, shape, args.rows)
            _restore(drop)
            size = sum(p.stat().st_size for p in drop.iterdir() if p.is_file()) / 1e6
            out = (
                subprocess.run(
                    [sys.executable, __file__, "--measure", str(drop), shape],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            got = json.loads(out)
            print(
                f"{shape:<9} {got['records']:>9,.0f} {got['rows']:>9,.0f} {got['seconds']:>8.1f} "
                f"{got['rows'] / got['seconds']:>9,.0f} {got['peak_rss_mb']:>6.0f} MB"
                f"   ({size:,.0f} MB of files)"
            )


if __name__ == "__main__":
    main()
