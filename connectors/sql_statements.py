"""The SQL text the connector runs: the configured selection, filtered and ordered by the key.

Every selection (a configured query, or a table's columns) is wrapped as a derived table, so one
code path adds the filters and the ordering whatever the user wrote:

    SELECT * FROM (<selection>) AS src
     WHERE src.key IS NOT NULL [AND src.watermark > :since]
     ORDER BY <key order>

A related selection of an incremental read is restricted to the children that changed
(``rel.key IN (SELECT src.key FROM (<child selection>) AS src WHERE src.watermark > :since)``)
so an incremental read does not scan every carer and involvement of the authority.

Key order: the merge-join compares keys in Python, so the database must sort them the way
Python does. With ``key_type: integer`` that is plain numeric order. With ``key_type: string``
the key is cast to text and sorted by its code points, which is byte order of UTF-8 text:
``COLLATE "C"`` on PostgreSQL, binary utf8mb4 on MariaDB/MySQL, ``COLLATE BINARY`` on SQLite.
A case-insensitive or locale collation would otherwise put ``'b' < 'C'`` in the database and
``'C' < 'b'`` in Python. Other dialects get the plain key; the merge-join's order check stops
the read if their collation disagrees.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Dialect

from connectors.sql_config import SINCE, RelatedConfig, SqlConfig

QuoteFn = Callable[[str], str]

_TEXT_ORDER: dict[str, str] = {
    "sqlite": "CAST({} AS TEXT) COLLATE BINARY",
    "postgresql": 'CAST({} AS TEXT) COLLATE "C"',
    "mysql": "CAST(CONVERT({} USING utf8mb4) AS BINARY)",
    "mariadb": "CAST(CONVERT({} USING utf8mb4) AS BINARY)",
    "mssql": "CAST({} AS NVARCHAR(450)) COLLATE Latin1_General_100_BIN2",
}


def key_order(dialect_name: str, column: str, key_type: str) -> str:
    """ORDER BY expression that sorts ``column`` the way Python compares the sort keys."""
    if key_type == "integer":
        return column
    return _TEXT_ORDER.get(dialect_name, "{}").format(column)


def base_sql(selection: SqlConfig | RelatedConfig, quote: QuoteFn) -> str:
    """The selection as SQL text, before filters and ordering are added."""
    if selection.query is not None:
        return selection.query
    assert selection.table is not None  # validated config: table mode
    assert selection.columns is not None
    columns = ", ".join(quote(column) for column in selection.columns)
    table = ".".join(quote(part) for part in selection.table.split("."))
    return f"SELECT {columns} FROM {table}"  # noqa: S608 - validated identifiers, quoted


def child_sql(config: SqlConfig, dialect: Dialect, *, incremental: bool) -> str:
    """The child query: keyed rows, optionally changed since the watermark, ordered by key."""
    quote = dialect.identifier_preparer.quote
    key = f"src.{quote(config.key)}"
    where = f"{key} IS NOT NULL"
    if incremental and config.watermark is not None:
        where += f" AND src.{quote(config.watermark)} > :{SINCE}"
    order = key_order(dialect.name, key, config.key_type)
    return f"SELECT * FROM ({base_sql(config, quote)}) AS src WHERE {where} ORDER BY {order}"  # noqa: S608


def related_sql(
    config: SqlConfig, related: RelatedConfig, dialect: Dialect, *, incremental: bool
) -> str:
    """One related query, ordered by its child key; limited to changed children if incremental."""
    quote = dialect.identifier_preparer.quote
    key = f"rel.{quote(related.key)}"
    where = f"{key} IS NOT NULL"
    if incremental and config.watermark is not None:
        changed = (
            f"SELECT src.{quote(config.key)} FROM ({base_sql(config, quote)}) AS src "  # noqa: S608
            f"WHERE src.{quote(config.watermark)} > :{SINCE}"
        )
        where += f" AND {key} IN ({changed})"
    order = key_order(dialect.name, key, config.key_type)
    return f"SELECT * FROM ({base_sql(related, quote)}) AS rel WHERE {where} ORDER BY {order}"  # noqa: S608
