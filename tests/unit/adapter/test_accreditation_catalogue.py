"""The CI check on the requirement catalogue: every MUST of sections 2-6 is covered or waived."""

from __future__ import annotations

from pathlib import Path

from adapter.accreditation import catalogue
from adapter.accreditation.checks_instance import INSTANCE_CHECKS
from adapter.accreditation.checks_type import TYPE_CHECKS

ROOT = Path(__file__).resolve().parents[3]
KNOWN = set(TYPE_CHECKS) | set(INSTANCE_CHECKS)


def test_every_must_is_covered_and_every_reference_exists() -> None:
    """No MUST without a check or waiver; every check implemented; every test node present."""
    assert catalogue.problems(catalogue.load(), KNOWN, ROOT) == []


def test_every_section_6_check_is_listed() -> None:
    """Each implemented TA/IA check has its own catalogue row (the report quotes its text)."""
    ids = {r.req_id for r in catalogue.load()}
    assert ids >= KNOWN


def test_an_uncovered_must_and_a_missing_test_are_reported(tmp_path: Path) -> None:
    """The check itself works: an uncovered MUST and a renamed test are both named."""
    path = tmp_path / "requirements.yaml"
    path.write_text(
        "requirements:\n"
        "  - {id: X-1, section: '4', level: MUST, text: t}\n"
        "  - {id: X-2, section: '4', level: MUST, text: t, waiver: out of scope}\n"
        "  - {id: X-3, section: '4', level: SHOULD, text: t}\n"
        "  - {id: X-4, section: '2.1', level: MUST, text: t,"
        " covered_by: ['tests/unit/adapter/test_accreditation_catalogue.py::test_gone']}\n"
        "  - {id: X-5, section: '6', level: MUST, text: t, covered_by: [TA-ZZZ-01]}\n"
    )
    found = catalogue.problems(catalogue.load(path), KNOWN, ROOT)
    assert found == [
        "X-1: MUST requirement with neither a check nor a waiver",
        "X-4: test tests/unit/adapter/test_accreditation_catalogue.py::test_gone does not exist",
        "X-5: check TA-ZZZ-01 is not implemented",
    ]
