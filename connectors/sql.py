"""The SQL connector: reads a case management system's database, read-only, as a stream.

One record per child: the child query's row plus the rows of each related query (carers,
involvements, CAF, schools) for that child. Every query is ordered by the child key and the
streams are merge-joined in one pass (:mod:`connectors.merge`), each on its own connection with a
server-side cursor (``stream_results``/``yield_per``), so memory holds one fetch per stream
whatever the size of the database. Query text is built in :mod:`connectors.sql_statements`.

Keys: the merge-join compares keys in Python, so the database must order them the same way
(``key_type``, see :mod:`connectors.sql_statements`); a stream that goes backwards stops the read
with ``SRC-KEY`` rather than attach rows to the wrong child, and a child key returned twice is
quarantined (``SRC-DUPLICATE-KEY``). Each stream runs in its own transaction, so a child changed
during a read may be seen with related rows a moment older or newer; its watermark or content
hash moves, and the next run sends it again.

Incremental reads: with a ``watermark`` column, ``read(since=…)`` returns the children whose
watermark is greater than ``since`` (the largest change marker of the previous run). A
``since`` without a configured watermark is ignored: the read is full and the delta stage
compares content hashes.

Read-only is enforced by the connector, not only by the database account: every connection it
opens makes all of its transactions read-only before the first query (see
:func:`_read_only_statement`), and SQLite files are opened with ``mode=ro``, so a wrong path
cannot create an empty database either. A source it cannot make read-only (SQL Server, other
dialects) is logged as such; give it an account that can only read.

SQLAlchemy's and the drivers' exceptions are translated here, once, into :class:`SourceError`
with a code (``SRC-CONNECT``, ``SRC-AUTH``, ``SRC-QUERY``, ``SRC-DRIVER``, ``SRC-KEY``) and one
line naming the source and the URL with its password hidden. Driver messages are cut to their
first line and values quoted after a colon are removed, so a value from a child's record cannot
reach an error message or a log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, NoReturn
from urllib.parse import quote as url_quote

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, SQLAlchemyError

from adapter.log import get_logger
from connectors.base import (
    ConnectorConfig,
    ConnectorContext,
    Provenance,
    Quarantined,
    ReadReport,
    SourceRecord,
)
from connectors.canonical import content_hash
from connectors.merge import KeyOrderError, merge_join
from connectors.sql_config import SINCE, SqlConfig
from connectors.sql_statements import child_sql, related_sql
from ldi.errors import SourceError

log = get_logger(__name__)

_TRUE = frozenset({"1", "y", "yes", "t", "true"})
_QUOTED_VALUE = re.compile(r""":\s*(["'`]).*?\1""")
_AUTH_ERRNOS = frozenset({1044, 1045, 1698})  # MySQL/MariaDB: access denied
# libpq reports refused logins as text only (no SQLSTATE before the session exists).
_AUTH_TEXT = re.compile(
    r"password authentication failed|authentication failed|role \".*\" does not exist|"
    r"no pg_hba\.conf entry|access denied|login failed",
    re.IGNORECASE,
)


def _read_only_statement(dialect_name: str) -> str | None:
    """Statement that makes every later transaction of a session read-only, per dialect.

    Session level rather than per transaction: it covers every transaction the connection will
    ever run from the pool, including one begun after a commit or rollback.
    """
    return {
        "sqlite": "PRAGMA query_only = ON",
        "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
        "mysql": "SET SESSION TRANSACTION READ ONLY",
        "mariadb": "SET SESSION TRANSACTION READ ONLY",
    }.get(dialect_name)


def is_deleted_flag(value: Any) -> bool:
    """Whether a deleted/closed column's value means deleted: true, non-zero, Y, yes, T, true."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    if value is None:
        return False
    if isinstance(value, bytes):  # MySQL BIT(1)
        return any(value)
    return bool(value)


def watermark_text(value: Any) -> str:
    """A watermark value as the change marker (ISO 8601 for dates and times)."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _first_line(exc: BaseException) -> str:
    args = exc.args
    if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):  # PyMySQL
        message = f"{args[1]} (error {args[0]})"
    else:
        message = str(exc)
    lines = message.strip().splitlines()
    first = lines[0].strip() if lines else exc.__class__.__name__
    return _QUOTED_VALUE.sub(": [value removed]", first)[:240]


def _is_auth_failure(orig: BaseException | None) -> bool:
    if orig is None:
        return False
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith("28"):  # invalid authorization
        return True
    args = orig.args
    if args and isinstance(args[0], int):
        return args[0] in _AUTH_ERRNOS
    return bool(_AUTH_TEXT.search(str(orig)))


class SqlConnector:
    """Streams one :class:`SourceRecord` per child from a SQL database (``kind: sql``)."""

    config_model: ClassVar[type[ConnectorConfig]] = SqlConfig

    def __init__(self, config: ConnectorConfig, context: ConnectorContext) -> None:
        if not isinstance(config, SqlConfig):
            raise TypeError(f"SqlConnector needs SqlConfig, not {type(config).__name__}")
        self._config = config
        self._context = context
        self._url = self._effective_url(config)
        self._engine: Engine | None = None

    # ----- connection -----

    @staticmethod
    def _effective_url(config: SqlConfig) -> URL:
        url = make_url(config.url.get_secret_value())
        if config.password is not None:
            url = url.set(password=config.password.get_secret_value())
        return url

    @property
    def display_url(self) -> str:
        """The database URL with its password hidden: the only form that is logged or shown."""
        return self._url.render_as_string(hide_password=True)

    def _fail(self, message: str, code: str, cause: BaseException | None = None) -> NoReturn:
        raise SourceError(message, source=self._context.source_name, code=code) from cause

    def _driver_url(self) -> URL:
        """SQLite: open the file read-only by URI, so a wrong path cannot create a new file."""
        url = self._url
        if url.get_backend_name() != "sqlite" or url.database is None:
            return url
        if url.database.startswith("file:"):
            return url
        path = Path(url.database)
        if not path.is_file():
            self._fail(
                f"cannot connect to {self.display_url}: no such database file", "SRC-CONNECT"
            )
        return url.set(
            database=f"file:{url_quote(str(path.resolve()))}",
            query={**url.query, "mode": "ro", "uri": "true"},
        )

    def _connect_args(self) -> dict[str, Any]:
        timeout = self._config.connect_timeout_seconds
        backend = self._url.get_backend_name()
        per_backend: dict[str, dict[str, Any]] = {
            "postgresql": {"connect_timeout": timeout},
            "mysql": {"connect_timeout": timeout},
            "mariadb": {"connect_timeout": timeout},
            "sqlite": {"timeout": float(timeout)},
            "mssql": {"timeout": timeout},
        }
        defaults = per_backend.get(backend, {})
        return {**defaults, **self._config.connect_args}

    def _get_engine(self) -> Engine:
        if self._engine is not None:
            return self._engine
        streams = 1 + len(self._config.related)
        try:
            engine = create_engine(
                self._driver_url(),
                connect_args=self._connect_args(),
                pool_size=streams,
                max_overflow=2,
            )
        except (NoSuchModuleError, ImportError) as exc:
            self._fail(
                f"no database driver for {self.display_url} (install it, e.g. pyodbc for mssql)",
                "SRC-DRIVER",
                exc,
            )
        statement = _read_only_statement(engine.dialect.name)
        if statement is None:
            log.warning("sql.read_only_not_enforced", source=self._context.source_name)
        else:
            event.listen(engine, "connect", _session_listener(statement, engine.dialect.name))
        self._engine = engine
        return engine

    @contextmanager
    def _translated(self, phase: str) -> Iterator[None]:
        """Turn SQLAlchemy/driver exceptions into one clear SourceError line (the boundary)."""
        try:
            yield
        except DBAPIError as exc:
            orig = exc.orig
            if _is_auth_failure(orig):
                self._fail(
                    f"authentication failed at {self.display_url} "
                    "(wrong user name or password, or no access to the database)",
                    "SRC-AUTH",
                    exc,
                )
            if phase == "connect" or exc.connection_invalidated:
                detail = _first_line(orig) if orig is not None else exc.__class__.__name__
                self._fail(f"cannot connect to {self.display_url}: {detail}", "SRC-CONNECT", exc)
            detail = _first_line(orig) if orig is not None else exc.__class__.__name__
            self._fail(f"query failed on {self.display_url}: {detail}", "SRC-QUERY", exc)
        except SQLAlchemyError as exc:
            code = "SRC-CONNECT" if phase == "connect" else "SRC-QUERY"
            self._fail(f"{phase} failed on {self.display_url}: {exc.__class__.__name__}", code, exc)
        except KeyOrderError as exc:
            self._fail(
                f"{exc}: the database and Python order the keys differently; use "
                "key_type: string, or keys of one type in every query",
                "SRC-KEY",
                exc,
            )

    @contextmanager
    def read_only_connection(self) -> Iterator[Connection]:
        """A connection whose transactions are read-only; every query of the connector uses one."""
        engine = self._get_engine()
        with self._translated("connect"):
            connection = engine.connect()
        try:
            yield connection
        finally:
            connection.close()

    # ----- reading -----

    def _sort_key(self) -> Callable[[Any], Any]:
        if self._config.key_type == "string":
            return str
        source = self._context.source_name

        def integer(value: Any) -> int:
            try:
                return int(value)
            except (TypeError, ValueError):
                raise SourceError(
                    "a key is not an integer; use key_type: string",
                    source=source,
                    code="SRC-KEY",
                ) from None

        return integer

    def _stream(
        self, result: CursorResult[Any], key: str, label: str
    ) -> tuple[list[str], Iterator[tuple[Any, Sequence[Any]]]]:
        """The columns of a streaming result and its (sort key, row) pairs."""
        columns = list(result.keys())
        index = _index(columns, key)
        if index is None:
            self._fail(f"{label} returns no key column {key!r}", "SRC-QUERY")
        sort_key = self._sort_key()
        fetch_size = self._config.fetch_size

        def pairs() -> Iterator[tuple[Any, Sequence[Any]]]:
            for partition in result.partitions(fetch_size):
                for row in partition:
                    yield sort_key(row[index]), row

        return columns, pairs()

    def read(self, report: ReadReport, *, since: str | None = None) -> Iterator[SourceRecord]:
        """Stream every child (or, with a watermark, those changed after ``since``)."""
        return self._records(report, since)

    def _records(
        self, report: ReadReport, since: str | None
    ) -> Generator[SourceRecord, None, None]:
        config = self._config
        incremental = since is not None and config.watermark is not None
        params: dict[str, Any] = dict(config.parameters)
        if incremental:
            params[SINCE] = since
        started = time.monotonic()
        count = 0
        with self._streams(self._statements(incremental), params) as streams:
            (columns, children), related = streams[0], streams[1:]
            names = list(config.related)
            related_columns = {name: cols for name, (cols, _) in zip(names, related, strict=True)}
            watermark = self._column(columns, config.watermark, "watermark")
            deleted = self._column(columns, config.deleted, "deleted")
            origin = config.origin

            def duplicate(key: Any) -> None:
                report.quarantine(
                    Quarantined(
                        origin=f"{origin} key={key}",
                        code="SRC-DUPLICATE-KEY",
                        reason=f"{origin}: the child query returned key={key} more than once; "
                        "the first row was used",
                    )
                )

            merged = merge_join(
                children,
                {name: rows for name, (_, rows) in zip(names, related, strict=True)},
                on_duplicate=duplicate,
            )
            with self._translated("query"):
                for key, row, groups in merged:
                    fields = dict(zip(columns, row))  # noqa: B905 - same result, same length
                    rel = {
                        name: [dict(zip(related_columns[name], r)) for r in rows]  # noqa: B905
                        for name, rows in groups.items()
                    }
                    mark = row[watermark] if watermark is not None else None
                    yield SourceRecord(
                        key=str(key),
                        fields=fields,
                        related=rel,
                        change_marker=(
                            watermark_text(mark) if mark is not None else content_hash(fields, rel)
                        ),
                        provenance=Provenance(origin, f"key={key}"),
                        deleted=deleted is not None and is_deleted_flag(row[deleted]),
                    )
                    count += 1
        report.units_read += len(streams)
        log.info(
            "sql.read",
            source=self._context.source_name,
            endpoint=self.display_url,
            records=count,
            duration_ms=round((time.monotonic() - started) * 1000),
        )

    def _statements(self, incremental: bool) -> list[tuple[str, str, str]]:
        """(label, key column, SQL) of the child query, then of each related query."""
        config = self._config
        dialect = self._get_engine().dialect
        out = [
            (
                f"the child query of {config.origin!r}",
                config.key,
                child_sql(config, dialect, incremental=incremental),
            )
        ]
        for name, related in config.related.items():
            sql = related_sql(config, related, dialect, incremental=incremental)
            out.append((f"related query {name!r}", related.key, sql))
        return out

    def _column(self, columns: list[str], name: str | None, role: str) -> int | None:
        """Index of the configured ``role`` column in the child query's output, if configured."""
        if name is None:
            return None
        index = _index(columns, name)
        if index is None:
            self._fail(f"the child query returns no {role} column {name!r}", "SRC-QUERY")
        return index

    @contextmanager
    def _streams(
        self, statements: list[tuple[str, str, str]], params: dict[str, Any]
    ) -> Iterator[list[tuple[list[str], Iterator[tuple[Any, Sequence[Any]]]]]]:
        """Open one read-only connection and streaming cursor per statement; close them all.

        One connection each, because MariaDB/MySQL allow one unbuffered result per connection.
        Results are closed before their connections: a MySQL unbuffered result left open would
        be drained with a warning when the connection is returned to the pool.
        """
        with ExitStack() as stack:
            streams = []
            for label, key, sql in statements:
                connection = stack.enter_context(self.read_only_connection())
                with self._translated("query"):
                    result = connection.execution_options(
                        stream_results=True, yield_per=self._config.fetch_size
                    ).execute(text(sql), params)
                stack.callback(result.close)
                streams.append(self._stream(result, key, label))
            yield streams

    def sample(self, limit: int) -> list[SourceRecord]:
        """Connect and read the first ``limit`` children (by key); nothing is changed."""
        records = self._records(ReadReport(), None)
        try:
            return list(islice(records, limit))
        finally:
            records.close()

    def close(self) -> None:
        """Release the connection pool; idempotent."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _index(columns: list[str], name: str | None) -> int | None:
    if name is None:
        return None
    for i, column in enumerate(columns):
        if column == name:
            return i
    lowered = name.lower()
    return next((i for i, column in enumerate(columns) if column.lower() == lowered), None)


def _session_listener(statement: str, dialect_name: str) -> Callable[[Any, Any], None]:
    """A pool 'connect' listener running ``statement`` on each new DBAPI connection."""

    def make_read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()
        if dialect_name == "postgresql":  # SET SESSION inside a rolled-back transaction reverts
            dbapi_connection.commit()

    return make_read_only
