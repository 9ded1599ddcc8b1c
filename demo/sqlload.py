"""What the demo databases share: per-child randomness, timestamps and bulk inserts.

Each demo database derives its rows from the population with its own random stream per child
(seeded by system and child), so adding a column to one system never changes another system's
data, and the same population always gives the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

#: Everything in the demo happened before this instant (the population's reference date is the
#: next day), so last-modified values are in the past whatever the day the demo runs.
REFERENCE_TIME = datetime(2026, 10, 31, 18, 0, 0)

Row = dict[str, Any]


def child_rng(system: str, person_id: int) -> random.Random:
    """The random stream of one child in one system (deterministic)."""
    return random.Random(f"{system}:{person_id}")


def modified_at(rng: random.Random, *, days: int = 365) -> datetime:
    """A whole-second last-modified time within ``days`` before the reference time.

    Whole seconds because MariaDB's DATETIME drops fractions unless declared otherwise.
    """
    return REFERENCE_TIME - timedelta(seconds=rng.randrange(days * 86400))


def date_between(rng: random.Random, start: date, end: date) -> date:
    """A date in [start, end]; ``start`` when the range is empty."""
    span = (end - start).days
    return start if span <= 0 else start + timedelta(days=rng.randrange(span + 1))


def insert_all(
    connection: Connection, rows_by_table: Mapping[Table, Iterable[Row]], chunk: int = 5000
) -> dict[str, int]:
    """Insert rows table by table in chunks (executemany); the row count of each table."""
    counts: dict[str, int] = {}
    for table, rows in rows_by_table.items():
        counts[table.name] = 0
        for batch in _chunks(iter(rows), chunk):
            connection.execute(table.insert(), batch)
            counts[table.name] += len(batch)
    return counts


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while batch := list(islice(rows, size)):
        yield batch
