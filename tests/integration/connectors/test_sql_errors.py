"""Connection and query failures of the SQL connector: one clear, coded line naming the source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.base import ReadReport
from ldi.errors import SourceError
from tests.fixtures.databases import DatabaseFactory, DemoDatabases
from tests.integration.connectors.sql_support import sql_connector

OPTIONS: dict[str, Any] = {"table": "person", "columns": ["person_id"], "key": "person_id"}


def _failure(
    url: str, tmp_path: Path, options: dict[str, Any] = OPTIONS, *, translated: bool = True
) -> SourceError:
    connector = sql_connector(url, options, tmp_path, name="fwk")
    try:
        with pytest.raises(SourceError) as caught:
            list(connector.read(ReadReport()))
    finally:
        connector.close()
    error = caught.value
    assert "\n" not in str(error)
    assert str(error).startswith(f"[{error.code}] source 'fwk': ")
    if translated:  # a library's exception, translated once with raise ... from
        assert error.__cause__ is not None
    return error


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/frameworki",
        "mariadb+pymysql://root@127.0.0.1:1/frameworki",
    ],
)
def test_unreachable_server(url: str, tmp_path: Path) -> None:
    """A closed port gives SRC-CONNECT with the host and port, not a stack of driver errors."""
    error = _failure(url, tmp_path)
    assert error.code == "SRC-CONNECT"
    assert "127.0.0.1:1" in str(error)


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    """A wrong SQLite path gives SRC-CONNECT and does not create an empty database."""
    missing = tmp_path / "nowhere.db"
    error = _failure(f"sqlite:///{missing}", tmp_path, translated=False)
    assert error.code == "SRC-CONNECT"
    assert not missing.exists()


def test_wrong_mariadb_password(database_factory: DatabaseFactory, tmp_path: Path) -> None:
    """A wrong password gives SRC-AUTH, with the password hidden in the URL shown."""
    user = database_factory.mariadb_user("right-pw-1")
    error = _failure(f"mariadb+pymysql://{user}:wrong-pw-2@127.0.0.1:3306/test", tmp_path)
    assert error.code == "SRC-AUTH"
    assert "wrong-pw-2" not in str(error)
    assert f"{user}:***@127.0.0.1:3306" in str(error)


def test_password_option_replaces_the_url_password(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    """The separate password option (from ${ENV}) is the one used to log in."""
    user = database_factory.mariadb_user("right-pw-3")
    options = OPTIONS | {"password": "wrong-pw-4"}
    error = _failure(f"mariadb+pymysql://{user}:right-pw-3@127.0.0.1:3306/x", tmp_path, options)
    assert error.code == "SRC-AUTH"
    assert "right-pw-3" not in str(error) and "wrong-pw-4" not in str(error)


def test_unknown_postgresql_role(tmp_path: Path) -> None:
    """PostgreSQL refusing the login (unknown role) gives SRC-AUTH."""
    error = _failure("postgresql+psycopg://no_such_role_cpa@127.0.0.1:5432/postgres", tmp_path)
    assert error.code == "SRC-AUTH"


def test_query_error_names_the_source_without_values(
    demo_databases: DemoDatabases, tmp_path: Path
) -> None:
    """A query naming a missing column gives SRC-QUERY naming the source and the column."""
    options = {"table": "person", "columns": ["person_id", "no_such_column"], "key": "person_id"}
    error = _failure(demo_databases.frameworki_url, tmp_path, options)
    assert error.code == "SRC-QUERY"
    assert "no_such_column" in str(error)


# SQLite and MariaDB convert such text silently; PostgreSQL's cast error quotes the value.
@pytest.mark.parametrize("demo_databases", ["postgresql"], indirect=True)
def test_value_in_a_driver_message_is_removed(
    demo_databases: DemoDatabases, tmp_path: Path
) -> None:
    """A driver error quoting a value from a record does not carry the value into the message."""
    options = {
        "query": "SELECT person_id, CAST(surname AS INTEGER) AS n FROM person",
        "key": "person_id",
    }
    error = _failure(demo_databases.frameworki_url, tmp_path, options)
    assert error.code == "SRC-QUERY"
    surnames = {c.family_name for c in demo_databases.children}
    assert not any(name in str(error) for name in surnames)
    assert "[value removed]" in str(error)
