"""One-pass merge-join of a parent stream with related streams, all sorted by the same key.

Why a merge-join: a child and its carers, involvements and CAF episodes live in different tables.
Joining them in SQL multiplies rows (children x carers x involvements); querying the related
tables per child costs one round trip per child; holding the related tables in a dict costs
memory proportional to the source. Reading every stream ordered by the child key and walking them
side by side costs one pass and keeps only the current child's rows in memory.

The join compares keys in Python, so the streams must be sorted by the same ordering that Python
uses for the sort keys it is given. This module does not trust that: every stream is checked as
it is consumed, and a key that goes backwards raises :class:`KeyOrderError` instead of silently
attaching rows to the wrong child.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, Protocol, TypeVar


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Ordered)
P = TypeVar("P")
R = TypeVar("R")

_END: Any = object()


class KeyOrderError(ValueError):
    """A stream's keys are not in ascending order (as Python compares them)."""

    def __init__(self, stream: str) -> None:
        super().__init__(f"keys of {stream} are not in ascending order")
        self.stream = stream


class _Cursor(Generic[K, R]):
    """The head of one related stream, with the order check."""

    __slots__ = ("_rows", "key", "name", "row")

    def __init__(self, name: str, rows: Iterable[tuple[K, R]]) -> None:
        self.name = name
        self._rows = iter(rows)
        self.key: K = _END
        self.row: R = _END
        self.advance()

    def advance(self) -> None:
        previous = self.key
        head = next(self._rows, None)
        if head is None:
            self.key = _END
            return
        self.key, self.row = head
        if previous is not _END and self.key < previous:
            raise KeyOrderError(f"related stream {self.name!r}")


def merge_join(
    parents: Iterable[tuple[K, P]],
    related: Mapping[str, Iterable[tuple[K, R]]],
    *,
    on_duplicate: Callable[[K], None] | None = None,
) -> Iterator[tuple[K, P, dict[str, list[R]]]]:
    """Yield each parent with its related rows grouped by stream name, in one pass.

    ``parents`` must have strictly ascending keys; each related stream ascending keys (several
    rows per key allowed). Related rows whose key matches no parent (children filtered out of
    the parent query) are skipped. A parent whose key repeats the previous one is not yielded:
    its related rows went to the first one, so ``on_duplicate(key)`` is told instead.
    Raises :class:`KeyOrderError` as soon as any stream goes backwards.
    """
    cursors = [_Cursor(name, rows) for name, rows in related.items()]
    previous: K = _END
    for key, parent in parents:
        if previous is not _END and not previous < key:
            if key < previous:
                raise KeyOrderError("the parent stream")
            if on_duplicate is not None:
                on_duplicate(key)
            continue
        previous = key
        groups: dict[str, list[R]] = {}
        for cursor in cursors:
            rows: list[R] = []
            while cursor.key is not _END and cursor.key < key:
                cursor.advance()  # orphan: no such parent in this read
            while cursor.key is not _END and not key < cursor.key:
                rows.append(cursor.row)
                cursor.advance()
            groups[cursor.name] = rows
        yield key, parent, groups
