"""Content fingerprints (connectors.canonical): the change marker of sources without a watermark."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from connectors.canonical import canonical_json, content_hash


def test_hash_ignores_field_and_related_row_order() -> None:
    """The same content in another dict or row order has the same fingerprint."""
    a = content_hash({"id": 1, "name": "x"}, {"carers": [{"n": "A", "r": 1}, {"n": "B", "r": 2}]})
    b = content_hash({"name": "x", "id": 1}, {"carers": [{"r": 2, "n": "B"}, {"r": 1, "n": "A"}]})
    assert a == b
    assert len(a) == 64


def test_hash_changes_with_a_related_value() -> None:
    """A change in one related row changes the fingerprint."""
    before = content_hash({"id": 1}, {"carers": [{"phone": "0115 496 0000"}]})
    after = content_hash({"id": 1}, {"carers": [{"phone": "0115 496 0001"}]})
    assert before != after


def test_canonical_json_renders_driver_types() -> None:
    """Dates, date-times, decimals and bytes become stable JSON text."""
    value = {
        "b": date(2015, 3, 1),
        "a": datetime(2026, 1, 2, 3, 4, 5),
        "d": Decimal("1.50"),
        "x": b"\x01\xff",
    }
    text = canonical_json(value)
    assert text == '{"a":"2026-01-02T03:04:05","b":"2015-03-01","d":"1.50","x":"01ff"}'
    assert json.loads(text)["d"] == "1.50"


def test_unknown_type_is_refused() -> None:
    """A value the fingerprint cannot render is an error, not a silent str()."""
    with pytest.raises(TypeError, match="object"):
        canonical_json({"x": object()})
