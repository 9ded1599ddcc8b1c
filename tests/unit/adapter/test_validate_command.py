"""``cpadapter validate``: human and JSON output, exit codes 0/1/2, unsafe XML never read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from adapter.cli import main
from ldi.schema import xsd_path

GOLDEN = xsd_path().parent / "examples" / "golden-batch.xml"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_clean_batch_exits_0_with_the_documented_json_shape() -> None:
    """A valid batch exits 0 and prints exactly one JSON object of the documented shape."""
    code, out = run("validate", str(GOLDEN), "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report) == {"file", "schema_valid", "schema_errors", "records", "summary"}
    assert report["schema_valid"] is True
    assert report["summary"] == {"records": 2, "valid": 2, "held": 0}
    assert set(report["records"][0]) == {"messageId", "sourceRecordId", "breaches"}


def test_breaches_exit_1_and_are_listed_per_record(tmp_path: Path) -> None:
    """A rule breach exits 1 and appears under its record with rule, path and message."""
    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        GOLDEN.read_bytes().replace(b"<NHSNumber>9000000009<", b"<NHSNumber>9000000001<")
    )
    code, out = run("validate", str(bad), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["records"][0]["breaches"] == [
        {
            "rule": "BR-05",
            "path": "Record[1]/Child/NHSNumber",
            "message": "NHSNumber fails the modulus 11 check",
        }
    ]
    assert report["summary"] == {"records": 2, "valid": 1, "held": 1}


def test_schema_errors_exit_1_with_line_and_column(tmp_path: Path) -> None:
    """A case note inside a record is a schema error with line and column; exit 1."""
    bad = tmp_path / "note.xml"
    bad.write_bytes(GOLDEN.read_bytes().replace(b"<CAF>", b"<CaseNote>x</CaseNote>\n    <CAF>", 1))
    code, out = run("validate", str(bad), "--json")
    assert code == 1
    report = json.loads(out)
    assert report["schema_valid"] is False
    error = report["schema_errors"][0]
    assert error["line"] > 1 and error["column"] >= 1 and "CaseNote" in error["message"]


def test_not_well_formed_exits_2(tmp_path: Path) -> None:
    """A truncated file exits 2 with NOT_WELL_FORMED."""
    bad = tmp_path / "cut.xml"
    bad.write_bytes(GOLDEN.read_bytes()[:500])
    code, out = run("validate", str(bad), "--json")
    assert code == 2
    assert json.loads(out)["error"]["code"] == "NOT_WELL_FORMED"


def test_missing_file_exits_2_unreadable(tmp_path: Path) -> None:
    """A file that does not exist exits 2 with UNREADABLE."""
    code, out = run("validate", str(tmp_path / "none.xml"), "--json")
    assert code == 2
    assert json.loads(out) == {
        "file": str(tmp_path / "none.xml"),
        "error": {"code": "UNREADABLE", "message": "cannot read file (No such file or directory)"},
    }


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    """An XXE document exits 2 UNSAFE_XML without opening the entity (a FIFO would block)."""
    fifo = tmp_path / "secret"
    os.mkfifo(fifo)  # opening this for reading blocks until a writer comes: none ever does
    doc = tmp_path / "xxe.xml"
    doc.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE SubmissionBatch [<!ENTITY x SYSTEM "file://{fifo}">]>\n'
        '<SubmissionBatch xmlns="urn:contactpoint:ldi:1">&x;</SubmissionBatch>\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "adapter", "validate", str(doc), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["code"] == "UNSAFE_XML"


def test_human_output_names_rule_and_path(tmp_path: Path) -> None:
    """Without --json the breach is printed with its rule id, path and messageId."""
    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        GOLDEN.read_bytes().replace(b"<NHSNumber>9000000009<", b"<NHSNumber>9000000001<")
    )
    code, out = run("validate", str(bad))
    assert code == 1
    assert "BR-05 Record[1]/Child/NHSNumber" in out
    assert "records: 2, valid: 1, held: 1" in out
