"""Writing thousands of rows in one statement, without SQLAlchemy's per-row overhead.

``conn.execute(insert(table), rows)`` spends about ten microseconds per row in SQLAlchemy
(parameter dictionaries rebuilt and every value sent through its type's processor), several
times what SQLite itself needs to store the row. The outbox writes a few rows per record on its
hot paths (entries and delta state in the pipeline; outcomes and work-list items in delivery),
so :func:`execute_many` compiles the statement once, converts each distinct value once with the
column type's own bind processor (so values are stored exactly as SQLAlchemy would store them:
aware UTC times as naive UTC, SQLite's date-time text form), and hands plain tuples to the
driver's ``executemany``. Anything it does not recognise goes through ``conn.execute`` as
before, so the result never depends on which path was taken.

Why not SQLAlchemy's bulk ORM paths or ``insertmanyvalues``: the first needs mapped classes
(the store is Core tables), and the second still builds and processes a parameter dictionary
per row, which is the cost measured here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.dml import Insert


def execute_many(conn: Connection, statement: Insert, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run the INSERT (plain, or with ON CONFLICT) once per row; every row has the same keys."""
    if not rows:
        return
    names = list(rows[0])
    compiled = statement.compile(dialect=conn.dialect, column_keys=names)
    binds = compiled.binds
    order = compiled.positiontup if compiled.positional else names
    if order is None or set(binds) != set(names) or len(order) != len(names):
        conn.execute(statement, list(rows))  # a shape this helper does not know: the safe path
        return
    processors: list[Callable[[Any], Any] | None] = [
        binds[name].type._cached_bind_processor(conn.dialect) for name in order
    ]
    # Column by column: rows share their time stamps and codes, so each distinct object is
    # converted once. The rows keep every raw value alive for the whole call, so an id is
    # never reused meanwhile.
    columns: list[list[Any]] = []
    for name, process in zip(order, processors, strict=True):
        raw = [row[name] for row in rows]
        if process is not None:
            converted: dict[int, Any] = {}
            for value in raw:
                if value is not None and id(value) not in converted:
                    converted[id(value)] = process(value)
            raw = [None if value is None else converted[id(value)] for value in raw]
        columns.append(raw)
    if compiled.positional:
        parameters: list[Any] = list(zip(*columns, strict=True))
    else:
        rows_of_values = zip(*columns, strict=True)
        parameters = [dict(zip(order, values, strict=True)) for values in rows_of_values]
    conn.exec_driver_sql(str(compiled), parameters)
