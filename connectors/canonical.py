"""Content fingerprints: the change marker of a source that has no last-modified value.

A fingerprint (:meth:`connectors.base.SourceRecord.fingerprint`) stands for the raw record's
content wherever a last-modified value would, so it must depend on the content alone: not on
dict order, not on the order in which the database happened to return a child's related rows,
and not on the Python type a driver chose for a value (a ``Decimal`` and its text compare equal
here). Canonical JSON (sorted keys, no spaces, ISO dates) hashed with SHA-256 does that, and is
cheap enough for a million rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID


def _plain(value: Any) -> Any:
    """JSON form of the values database drivers return beyond JSON's own types."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    raise TypeError(f"cannot fingerprint a value of type {type(value).__name__}")


_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
).encode


def canonical_json(value: Any) -> str:
    """Canonical JSON text of ``value`` (sorted keys, compact, dates as ISO 8601)."""
    return _encode(value)


def content_hash(
    fields: Mapping[str, Any], related: Mapping[str, Sequence[Mapping[str, Any]]]
) -> str:
    """SHA-256 (hex) of a record's fields and related rows, independent of related-row order.

    Hashed: the canonical JSON of the fields, then per related name (sorted) the name and the
    sorted canonical JSON of each row, with separator bytes that JSON text never contains.
    Related rows are sorted because a query ordered only by the child key returns one child's
    rows in an order the database may change. Each value is encoded once (no JSON of JSON).
    """
    digest = hashlib.sha256(_encode(fields).encode("utf-8"))
    for name in sorted(related):
        digest.update(b"\x1e" + name.encode("utf-8"))
        for row in sorted(map(_encode, related[name])):
            digest.update(b"\x1f" + row.encode("utf-8"))
    return digest.hexdigest()
