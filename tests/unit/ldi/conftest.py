"""Fixtures for contract tests: the golden batch and a builder of valid records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ldi import identifiers as ids
from ldi.models import (
    Action,
    Child,
    ChildName,
    Gender,
    Record,
    SubmissionBatch,
)
from ldi.schema import xsd_path

BATCH_DATE = datetime(2026, 11, 21, 22, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def golden_path() -> Path:
    """The shipped golden batch that fills every optional element."""
    return xsd_path().parent / "examples" / "golden-batch.xml"


@pytest.fixture(scope="session")
def golden_bytes(golden_path: Path) -> bytes:
    """Bytes of the golden batch."""
    return golden_path.read_bytes()


def make_record(**changes: Any) -> Record:
    """A minimal valid Upsert; ``changes`` override fields (``child__x`` changes the child)."""
    child_changes = {k[7:]: v for k, v in changes.items() if k.startswith("child__")}
    child = Child(
        name=ChildName(given_name="Test", family_name="Child"),
        birth_date=date(2015, 3, 27),
        gender=Gender.FEMALE,
        nhs_number="9000000009",
        upn=ids.upn_check_letter("891234567890") + "891234567890",
    ).model_copy(update=child_changes)
    base: dict[str, Any] = {
        "message_id": "0" * 31 + "1",
        "action": Action.UPSERT,
        "version": 1,
        "source_record_id": "SRC-1",
        "child": child,
    }
    base.update({k: v for k, v in changes.items() if not k.startswith("child__")})
    return Record(**base)


def make_batch(*records: Record) -> SubmissionBatch:
    """A batch around ``records`` dated BATCH_DATE."""
    return SubmissionBatch(
        batch_id="6f1c2b0e-3d4a-4b5c-8d6e-7f8091a2b3c4",
        accountable_body="891",
        source_system="FWK891",
        created_at=BATCH_DATE,
        records=list(records),
    )


@pytest.fixture
def record_factory() -> Callable[..., Record]:
    """The make_record builder as a fixture."""
    return make_record
