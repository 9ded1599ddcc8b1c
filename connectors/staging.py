"""Joining a child's rows from several files with flat memory: a private SQLite scratch table.

SSDA903 episodes and the related files of a generic CSV source hold several rows per child in
an order nobody promises (the DfE samples are grouped by child; exports from other systems are
not always). Three ways were weighed:

* require sorted input and merge-join: cheapest, but one unsorted export breaks a whole source;
* index rows by file offset in a dict: memory grows with the file (about 150 MB per million
  children in CPython), against the flat-memory rule;
* stage the related rows in SQLite and look each child up by an index: memory is the SQLite page
  cache (capped below), whatever the file size, and any order works. Chosen.

The scratch database is SQLite's private temporary database (``connect("")``): it lives in
SQLite's temporary directory, only spills to disk past the page cache, and is deleted when the
connection closes, even if the process dies. Only the allow-listed columns are ever staged.
The same table of primary keys finds duplicate keys in the primary file and related rows whose
child has no primary row ("orphans"), both without holding keys in Python memory.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

#: Page cache of the scratch database, in KiB (negative = KiB for SQLite).
_CACHE_KIB = 16 * 1024
_BATCH = 5000


class Stage:
    """A scratch database for one file set; use as a context manager."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        for pragma in (
            f"cache_size=-{_CACHE_KIB}",
            "journal_mode=OFF",
            "synchronous=OFF",
            "temp_store=FILE",
        ):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE related (role TEXT, key TEXT, line INTEGER, data TEXT)")
        self._db.execute("CREATE TABLE parent (key TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")
        self._indexed = False

    def __enter__(self) -> Stage:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the scratch database (SQLite deletes its file)."""
        self._db.close()

    def load(self, role: str, rows: Iterable[tuple[str, int, Mapping[str, Any]]]) -> int:
        """Stage ``(key, line, fields)`` rows of one related file; the number staged."""
        count = 0
        batch: list[tuple[str, str, int, str]] = []
        if not self._db.in_transaction:
            self._db.execute("BEGIN")  # never committed: the scratch database is thrown away
        for key, line, fields in rows:
            batch.append((role, key, line, json.dumps(fields, ensure_ascii=False)))
            if len(batch) >= _BATCH:
                self._db.executemany("INSERT INTO related VALUES (?, ?, ?, ?)", batch)
                count += len(batch)
                batch.clear()
        self._db.executemany("INSERT INTO related VALUES (?, ?, ?, ?)", batch)
        count += len(batch)
        return count

    def _index(self) -> None:
        if not self._indexed:
            self._db.execute("CREATE INDEX related_by_key ON related (key, role, line)")
            self._indexed = True

    def related(self, key: str) -> dict[str, list[dict[str, Any]]]:
        """The staged rows of ``key`` by role, in file order."""
        self._index()
        out: dict[str, list[dict[str, Any]]] = {}
        for role, data in self._db.execute(
            "SELECT role, data FROM related WHERE key = ? ORDER BY role, line", (key,)
        ):
            out.setdefault(role, []).append(json.loads(data))
        return out

    def claim(self, key: str, line: int) -> int | None:
        """Record that the primary row at ``line`` has ``key``; the earlier line if it repeats."""
        if not self._db.in_transaction:
            self._db.execute("BEGIN")  # one transaction for all claims: no per-row commit
        try:
            self._db.execute("INSERT INTO parent VALUES (?, ?)", (key, line))
        except sqlite3.IntegrityError:
            row = self._db.execute("SELECT line FROM parent WHERE key = ?", (key,)).fetchone()
            return int(row[0])
        return None

    def orphans(self) -> Iterator[tuple[str, int]]:
        """``(role, line)`` of staged rows whose key no primary row claimed, in file order."""
        self._index()
        yield from self._db.execute(
            "SELECT role, line FROM related WHERE key NOT IN (SELECT key FROM parent) "
            "ORDER BY role, line"
        )
