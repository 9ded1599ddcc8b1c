"""SQL connector settings (connectors.sql_config) and the SQL text built from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy.dialects import mysql, postgresql, sqlite

from adapter.config import AdapterConfig
from connectors.sql_config import SqlConfig, check_select
from connectors.sql_statements import child_sql, key_order, related_sql


def _config(**options: Any) -> SqlConfig:
    base: dict[str, Any] = {"url": "sqlite:///x.db", "table": "person", "columns": ["id"]}
    base["key"] = "id"
    return SqlConfig.model_validate(base | options)


def test_select_and_with_are_accepted_and_trailing_semicolon_dropped() -> None:
    """A SELECT or WITH query is accepted; a trailing ';' is removed."""
    assert check_select("  SELECT a FROM t;  ") == "SELECT a FROM t"
    assert check_select("with x as (select 1 as a) select a from x").startswith("with")


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DELETE FROM person", "must be a SELECT"),
        ("SELECT 1; DROP TABLE person", "single statement"),
        ("SELECT * FROM t WHERE id = ?", "named bound parameters"),
        ("SELECT * FROM t WHERE id = %s", "named bound parameters"),
    ],
)
def test_query_that_is_not_one_select_with_named_parameters_is_refused(
    sql: str, reason: str
) -> None:
    """Writes, several statements and positional placeholders are refused."""
    with pytest.raises(ValueError, match=reason):
        check_select(sql)


def test_semicolon_and_question_mark_inside_literals_are_not_syntax() -> None:
    """Characters inside string literals and comments are not taken for SQL syntax."""
    sql = "SELECT 'a;b?' AS x -- why?\nFROM t"
    assert check_select(sql) == sql


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"query": "SELECT id FROM t"}, "either query, or table"),
        ({"table": None}, "either query, or table"),
        ({"columns": None}, "table needs columns"),
        ({"columns": ["name"]}, "key column 'id' must be one of columns"),
        ({"watermark": "modified"}, "watermark column 'modified' must be one of columns"),
        ({"deleted": "gone"}, "deleted column 'gone' must be one of columns"),
        ({"table": "person; drop"}, "String should match pattern"),
    ],
)
def test_inconsistent_selection_is_refused(options: dict[str, Any], message: str) -> None:
    """Query and table modes are exclusive and table mode names its key and flag columns."""
    with pytest.raises(ValidationError, match=message):
        _config(**options)


def test_query_parameters_need_values_and_since_is_reserved() -> None:
    """Every :name in a query needs a value; :since belongs to the connector."""
    query = {"table": None, "columns": None, "query": "SELECT id FROM t WHERE kind = :kind"}
    with pytest.raises(ValidationError, match="no value in parameters for kind"):
        _config(**query)
    assert _config(**query, parameters={"kind": "CLIENT"}).parameters == {"kind": "CLIENT"}
    with pytest.raises(ValidationError, match="reserved"):
        _config(parameters={"since": "x"})
    with pytest.raises(ValidationError, match="do not use :since"):
        _config(**query | {"query": "SELECT id FROM t WHERE m > :since"})


def test_bad_url_error_does_not_echo_the_url() -> None:
    """An unparsable URL is refused without repeating it (it may hold a password)."""
    with pytest.raises(ValidationError) as caught:
        _config(url="not a url with s3cret")
    assert "s3cret" not in str(caught.value.errors(include_input=False))
    assert "not a database URL" in str(caught.value)


def test_in_memory_sqlite_is_refused() -> None:
    """An in-memory SQLite database cannot be a source (each connection would see none)."""
    with pytest.raises(ValidationError, match="database file"):
        _config(url="sqlite://")


def test_password_is_secret_in_the_model() -> None:
    """The URL and password are SecretStr: their repr hides them."""
    config = _config(url="postgresql+psycopg://u:topsecret@h/db", password="other-secret")
    assert "topsecret" not in repr(config)
    assert "other-secret" not in repr(config)


def test_example_sources_validate_as_sql_connector_settings(repo_root: Path) -> None:
    """examples/sources-sql.yaml passes config validation through the registry (kind: sql)."""
    sources = yaml.safe_load((repo_root / "examples" / "sources-sql.yaml").read_text())["sources"]
    config = AdapterConfig.model_validate(
        {"organisation": {"la_code": "891", "name": "Demo"}, "sources": sources}
    )
    frameworki, raise_ = config.sources
    assert isinstance(frameworki.options, SqlConfig)
    assert isinstance(raise_.options, SqlConfig)
    assert list(frameworki.options.related) == [
        "carers",
        "involvements",
        "caf",
        "schools",
        "consents",
    ]
    assert raise_.options.key_type == "string"


def test_text_keys_are_ordered_by_code_point_per_dialect() -> None:
    """String keys sort byte-wise in each database; integer keys keep their native order."""
    assert key_order("postgresql", "src.k", "string") == 'CAST(src.k AS TEXT) COLLATE "C"'
    assert key_order("mariadb", "src.k", "string") == "CAST(CONVERT(src.k USING utf8mb4) AS BINARY)"
    assert key_order("sqlite", "src.k", "string") == "CAST(src.k AS TEXT) COLLATE BINARY"
    assert key_order("postgresql", "src.k", "integer") == "src.k"


def test_incremental_statements_filter_on_the_watermark() -> None:
    """An incremental read filters children by watermark and related rows by changed children."""
    config = _config(
        columns=["id", "modified"],
        watermark="modified",
        related={"carers": {"table": "carer", "columns": ["child_id", "name"], "key": "child_id"}},
    )
    dialect = postgresql.dialect()
    child = child_sql(config, dialect, incremental=True)
    assert "src.modified > :since" in child
    assert child.endswith('ORDER BY CAST(src.id AS TEXT) COLLATE "C"')
    related = related_sql(config, config.related["carers"], dialect, incremental=True)
    assert "rel.child_id IN (SELECT src.id FROM (SELECT id, modified FROM person)" in related
    full = related_sql(config, config.related["carers"], dialect, incremental=False)
    assert ":since" not in full


@pytest.mark.parametrize("dialect", [sqlite.dialect(), mysql.dialect(), postgresql.dialect()])
def test_identifiers_are_quoted_for_the_dialect(dialect: Any) -> None:
    """Table-mode identifiers that need quoting are quoted the dialect's way."""
    config = _config(columns=["id", "Order"])
    sql = child_sql(config, dialect, incremental=False)
    assert dialect.identifier_preparer.quote("Order") in sql
    assert dialect.identifier_preparer.quote("Order") != "Order"
