"""Settings of the SQL connector (``sources[].options`` of a ``kind: sql`` source).

Vendor schemas are proprietary, so nothing here knows Frameworki or Raise: configuration names
either a query or a table with its columns, the child key, and the related queries assembled per
child. Everything is checked when config.yaml is loaded, so a typo is reported with its YAML
path and line rather than as a database error at 2 a.m.

Naming columns explicitly (``table`` + ``columns``) is the point of the table mode: case notes,
referral reasons and assessment outcomes stay in the database because nobody selected them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints, field_validator, model_validator
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connectors.base import ConnectorConfig

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
TableName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
]
RelatedName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
ParameterValue = str | int | float | bool | None

#: Bound by the connector itself to the watermark of an incremental read.
SINCE = "since"

# String literals, quoted identifiers and comments: their content is not SQL syntax.
_NOT_SYNTAX = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|--[^\n]*|/\*.*?\*/", re.S)


def check_select(sql: str) -> str:
    """The query without surrounding space and trailing ';'; ValueError unless one SELECT.

    Only named bound parameters (``:name``) are accepted: a value never becomes SQL text.
    """
    body = sql.strip().rstrip(";").rstrip()
    syntax = _NOT_SYNTAX.sub(" ", body)
    if not re.match(r"(?is)\s*(select|with)\b", syntax):
        raise ValueError("must be a SELECT statement (or WITH ... SELECT)")
    if ";" in syntax:
        raise ValueError("must be a single statement (no ';' inside)")
    if re.search(r"\?|%s|%\(", syntax):
        raise ValueError("use named bound parameters (:name), not ? or %s placeholders")
    return body


def bound_names(sql: str) -> set[str]:
    """Names of the bound parameters (``:name``) in ``sql``."""
    return set(text(sql).compile().params)


class _Selection(ConnectorConfig):
    """A query, or a table and its columns, plus the column holding the child key."""

    query: str | None = Field(
        default=None,
        description="A SELECT with named bound parameters (:name) only. No ORDER BY: the "
        "connector orders by the key. Every output column needs a distinct name.",
    )
    table: TableName | None = Field(default=None, description="Table or view, optionally schema.")
    columns: list[Identifier] | None = Field(
        default=None, min_length=1, description="With table: exactly the columns to read."
    )
    key: Identifier = Field(description="Column holding the child's source key")

    @field_validator("query")
    @classmethod
    def _query_is_select(cls, value: str | None) -> str | None:
        return None if value is None else check_select(value)

    @model_validator(mode="after")
    def _one_mode(self) -> _Selection:
        if (self.query is None) == (self.table is None):
            raise ValueError("give either query, or table with columns (not both)")
        if self.table is not None:
            if not self.columns:
                raise ValueError("table needs columns: list exactly the columns to read")
            if self.key not in self.columns:
                raise ValueError(f"key column {self.key!r} must be one of columns")
        elif self.columns is not None:
            raise ValueError("columns go with table; a query selects its own columns")
        return self


class RelatedConfig(_Selection):
    """Rows of another table attached to each child (carers, involvements, CAF, schools)."""


class SqlConfig(_Selection):
    """The SQL connector's options."""

    url: SecretStr = Field(
        description="SQLAlchemy URL, e.g. postgresql+psycopg://reader@host/db, "
        "mysql+pymysql://reader@host/db, sqlite:///path.db, mssql+pyodbc://… ; "
        "a password in it may come from ${ENV}, or use password"
    )
    password: SecretStr | None = Field(
        default=None, description="Database password, normally ${ENV}; replaces one in url"
    )
    name: Identifier | None = Field(
        default=None, description="Name shown in provenance; default: the table, else 'query'"
    )
    key_type: Literal["string", "integer"] = Field(
        default="string",
        description="How keys are ordered and compared: string (byte order of the text, any "
        "key) or integer (numeric order, can use the key's index; every key must be an integer)",
    )
    related: dict[RelatedName, RelatedConfig] = Field(
        default_factory=dict, description="Related rows per child, by name (carers, caf, …)"
    )
    watermark: Identifier | None = Field(
        default=None,
        description="Last-modified column of the child query: the change marker, and the "
        "column an incremental read compares with 'since'",
    )
    deleted: Identifier | None = Field(
        default=None,
        description="Column flagging a deleted/closed child (true, 1, Y, yes, T): sent as Withdraw",
    )
    parameters: dict[Identifier, ParameterValue] = Field(
        default_factory=dict, description="Values of the queries' named bound parameters"
    )
    fetch_size: int = Field(default=2000, ge=1, le=100_000, description="Rows per fetch")
    connect_timeout_seconds: int = Field(default=10, ge=1, le=300)
    connect_args: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Extra driver arguments (e.g. sslmode: require)"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        try:
            url = make_url(value.get_secret_value())
        except ArgumentError:
            raise ValueError("not a database URL (dialect+driver://user@host/database)") from None
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            raise ValueError("SQLite needs a database file (an in-memory database is empty)")
        return value

    @model_validator(mode="after")
    def _columns_and_parameters(self) -> SqlConfig:
        if self.columns is not None:
            for role, column in (("watermark", self.watermark), ("deleted", self.deleted)):
                if column is not None and column not in self.columns:
                    raise ValueError(f"{role} column {column!r} must be one of columns")
        if SINCE in self.parameters:
            raise ValueError(f"parameter name {SINCE!r} is reserved for incremental reads")
        queries = {"query": self.query} | {f"related.{n}": r.query for n, r in self.related.items()}
        for where, sql in queries.items():
            if sql is None:
                continue
            names = bound_names(sql)
            if SINCE in names:
                raise ValueError(
                    f"{where}: do not use :{SINCE}; set watermark and the connector filters"
                )
            missing = sorted(names - set(self.parameters))
            if missing:
                raise ValueError(f"{where}: no value in parameters for {', '.join(missing)}")
        return self

    @property
    def origin(self) -> str:
        """Provenance origin: configured name, else the table, else 'query'."""
        return self.name or self.table or "query"
