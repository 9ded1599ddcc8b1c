"""How the SQL connector reads flag and watermark values of any driver (connectors.sql)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.sql import is_deleted_flag, watermark_text


@pytest.mark.parametrize(
    ("value", "deleted"),
    [
        ("Y", True),
        (" y ", True),
        ("yes", True),
        ("TRUE", True),
        ("T", True),
        ("1", True),
        (1, True),
        (True, True),
        (Decimal("1"), True),
        (b"\x01", True),
        ("N", False),
        ("0", False),
        ("", False),
        ("closed?", False),
        (0, False),
        (False, False),
        (None, False),
        (b"\x00", False),
    ],
)
def test_deleted_flag_values(value: Any, deleted: bool) -> None:
    """Y/yes/true/T/1 and non-zero numbers or bits mean deleted; anything else does not."""
    assert is_deleted_flag(value) is deleted


def test_watermark_text_is_iso_for_dates_and_as_is_for_text() -> None:
    """Dates and date-times become ISO 8601; text from the driver is kept as it is."""
    assert watermark_text(datetime(2026, 10, 1, 9, 30)) == "2026-10-01T09:30:00"
    aware = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
    assert watermark_text(aware) == "2026-10-01T09:30:00+00:00"
    assert watermark_text(date(2026, 10, 1)) == "2026-10-01"
    assert watermark_text("2026-10-01 09:30:00.000000") == "2026-10-01 09:30:00.000000"
    assert watermark_text(12345) == "12345"
