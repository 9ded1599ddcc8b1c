"""Benchmark: read 1,000,000 source rows from SQLite through the SQL connector.

Targets (issue 4): at least 100,000 rows/s, peak RSS under 200 MB. Two shapes are measured:

* ``flat``: 1,000,000 children, one row each, watermark as change marker, integer keys;
* ``related``: 250,000 children + 500,000 carers + 250,000 involvements (1,000,000 rows),
  merge-joined per child, text keys, SHA-256 content hash as change marker — the expensive path.

Each shape is read in a fresh interpreter so that its peak RSS is the read's own, not the
generator's. Run: ``.venv/bin/python bench/sql_read.py [--rows N] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

CHILD_COLUMNS = [
    "person_id", "forename", "middle_names", "surname", "date_of_birth", "gender",
    "nhs_number", "upn", "address_line1", "town", "postcode", "deleted_flag", "last_modified",
]  # fmt: skip

INSERT_PERSON = "INSERT INTO person VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _children(n: int, text_keys: bool) -> Iterator[tuple[object, ...]]:
    for i in range(n):
        key = f"P{i:08d}" if text_keys else 2_000_000 + i
        yield (
            key, f"Given{i % 97}", None, f"Family{i % 1009}",
            f"20{10 + i % 15:02d}-0{1 + i % 9}-1{i % 9}",
            "MF"[i % 2], f"999{i:07d}", f"A891{i:09d}", f"{i % 240} Castle Boulevard",
            "Nottingham", f"NG{1 + i % 25} {i % 10}AB", "N",
            f"2026-{1 + i % 12:02d}-{1 + i % 28:02d} 12:{i % 60:02d}:00.000000",
        )  # fmt: skip


def build(path: Path, rows: int) -> None:
    """Create the two benchmark databases under ``path`` (skipped if present)."""
    path.mkdir(parents=True, exist_ok=True)
    flat = path / "flat.db"
    if not flat.exists():
        db = sqlite3.connect(flat)
        db.execute(
            "CREATE TABLE person (person_id INTEGER PRIMARY KEY, forename TEXT, middle_names TEXT,"
            " surname TEXT, date_of_birth TEXT, gender TEXT, nhs_number TEXT, upn TEXT,"
            " address_line1 TEXT, town TEXT, postcode TEXT, deleted_flag TEXT,"
            " last_modified TEXT)"
        )
        db.executemany(INSERT_PERSON, _children(rows, False))
        db.commit()
        db.close()
    related = path / "related.db"
    if not related.exists():
        children = rows // 4
        db = sqlite3.connect(related)
        db.execute(
            "CREATE TABLE person (person_id TEXT PRIMARY KEY, forename TEXT, middle_names TEXT,"
            " surname TEXT, date_of_birth TEXT, gender TEXT, nhs_number TEXT, upn TEXT,"
            " address_line1 TEXT, town TEXT, postcode TEXT, deleted_flag TEXT,"
            " last_modified TEXT)"
        )
        db.execute(
            "CREATE TABLE carer (person_id TEXT, forename TEXT, surname TEXT, relationship TEXT,"
            " phone TEXT)"
        )
        db.execute(
            "CREATE TABLE involvement (person_id TEXT, service TEXT, worker TEXT,"
            " start_date TEXT, end_date TEXT)"
        )
        db.executemany(INSERT_PERSON, _children(children, True))
        db.executemany(
            "INSERT INTO carer VALUES (?, ?, ?, ?, ?)",
            (
                (f"P{i // 2:08d}", f"Carer{i % 50}", f"Family{i % 1009}",
                 "MOTHER" if i % 2 else "FATHER", f"0115 496 {i % 10000:04d}")
                for i in range(2 * children)
            ),
        )  # fmt: skip
        db.executemany(
            "INSERT INTO involvement VALUES (?, ?, ?, ?, ?)",
            ((f"P{i:08d}", "CSC", f"Worker {i % 40}", "2025-01-01", None) for i in range(children)),
        )
        db.execute("CREATE INDEX ix_carer ON carer (person_id)")
        db.execute("CREATE INDEX ix_involvement ON involvement (person_id)")
        db.commit()
        db.close()


def _options(shape: str, path: Path) -> dict[str, object]:
    if shape == "flat":
        return {
            "url": f"sqlite:///{path / 'flat.db'}",
            "table": "person",
            "columns": CHILD_COLUMNS,
            "key": "person_id",
            "key_type": "integer",
            "watermark": "last_modified",
            "deleted": "deleted_flag",
        }
    return {
        "url": f"sqlite:///{path / 'related.db'}",
        "table": "person",
        "columns": CHILD_COLUMNS,
        "key": "person_id",
        "deleted": "deleted_flag",
        "related": {
            "carers": {
                "table": "carer",
                "columns": ["person_id", "forename", "surname", "relationship", "phone"],
                "key": "person_id",
            },
            "involvements": {
                "table": "involvement",
                "columns": ["person_id", "service", "worker", "start_date", "end_date"],
                "key": "person_id",
            },
        },
    }


def measure(shape: str, path: Path) -> dict[str, object]:
    """Read every record of ``shape`` once; rows, seconds, rows/s and peak RSS of this process."""
    from connectors.base import ConnectorContext, ReadReport
    from connectors.sql import SqlConnector
    from connectors.sql_config import SqlConfig

    config = SqlConfig.model_validate(_options(shape, path))
    connector = SqlConnector(config, ConnectorContext("bench", path / "state"))
    started = time.perf_counter()
    records = rows = 0
    for record in connector.read(ReadReport()):
        records += 1
        rows += 1 + sum(len(r) for r in record.related.values())
    elapsed = time.perf_counter() - started
    connector.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "shape": shape,
        "records": records,
        "rows": rows,
        "seconds": round(elapsed, 2),
        "rows_per_second": round(rows / elapsed),
        "peak_rss_mb": round(peak_kib / 1024, 1),
    }


def main() -> int:
    """Build the databases, measure each shape in its own process, print and judge."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Folder for the databases (kept for reruns)")
    parser.add_argument("--measure", choices=["flat", "related"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.path)))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        path = args.keep or Path(scratch)
        started = time.perf_counter()
        build(path, args.rows)
        print(f"databases ready in {time.perf_counter() - started:.1f} s ({path})")
        ok = True
        for shape in ("flat", "related"):
            out = subprocess.run(
                [sys.executable, __file__, "--measure", shape, "--path", str(path)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            good = result["rows_per_second"] >= 100_000 and result["peak_rss_mb"] < 200
            ok = ok and good
            print(
                f"{shape:8} {result['rows']:>9,} rows ({result['records']:,} records) in "
                f"{result['seconds']} s: {result['rows_per_second']:,} rows/s, "
                f"peak RSS {result['peak_rss_mb']} MB  {'OK' if good else 'BELOW TARGET'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
