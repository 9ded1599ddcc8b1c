"""The adapter's own store: table definitions and the engine factory.

One SQLAlchemy ``MetaData`` describes every table the outbox owns; Alembic migrations in
``outbox/migrations`` create and change them (``cpadapter db upgrade``), and a unit test checks
that the migrated schema equals this module, so the two never drift apart.

Two back ends, one schema:

* **SQLite** (the embedded default): WAL journal so that readers (``outbox status``) never block
  the worker, a busy time-out so that a writer waits for the lock instead of failing, and every
  transaction opened with ``BEGIN IMMEDIATE`` so that two writers queue up front rather than
  deadlocking when a reader upgrades to a writer. ``synchronous=FULL``: a commit is on disk
  before the worker talks to the hub about it, which is what "nothing lost" rests on. The WAL is
  copied into the database (checkpointed) every :data:`WAL_CHECKPOINT_PAGES` pages rather than
  SQLite's default 1,000: see there.
* **PostgreSQL** (production, several workers): row locks with ``FOR UPDATE SKIP LOCKED`` let
  workers claim different batches without waiting on each other (:mod:`outbox.delivery`).

Times are stored as naive UTC and handed back as aware UTC (:class:`UtcDateTime`), because
SQLite has no time-zone type and comparisons must mean the same on both back ends.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError
from sqlalchemy.types import DateTime, TypeDecorator

from ldi.errors import StoreError

#: Name of Alembic's bookkeeping table; prefixed so that a shared database stays readable.
VERSION_TABLE = "cpadapter_alembic_version"


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time: aware UTC in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise StoreError("naive datetime given to the store; use UTC", code="STORE-TIME")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# SQLite only gives AUTOINCREMENT-like rowids to INTEGER PRIMARY KEY, not BIGINT.
_Id = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData()

#: One row per record submission (one version of one source record): the outbox proper.
entries = Table(
    "outbox_entries",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("message_id", String(32), nullable=False, unique=True),
    Column("source_system", String(12), nullable=False),
    Column("source_record_id", String(64), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("action", String(8), nullable=False),
    Column("state", String(12), nullable=False),
    Column("batch_id", String(36), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error_code", String(40), nullable=True),
    Column("last_error_message", String(500), nullable=True),
    Column("outcome_status", String(16), nullable=True),
    Column("payload", LargeBinary, nullable=True),
    Column("key_id", String(16), nullable=True),
    Column("payload_size", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Index("ix_outbox_entries_state_source_id", "state", "source_system", "id"),
    Index("ix_outbox_entries_record", "source_system", "source_record_id"),
    Index("ix_outbox_entries_batch", "batch_id"),
    # At most one pending version per source record: the latest supersedes the rest.
    Index(
        "uq_outbox_entries_one_pending",
        "source_system",
        "source_record_id",
        unique=True,
        sqlite_where=text("state = 'pending'"),
        postgresql_where=text("state = 'pending'"),
    ),
)

#: One row per SubmissionBatch: its exact bytes (encrypted), its progress, and its lease.
batches = Table(
    "outbox_batches",
    metadata,
    Column("batch_id", String(36), primary_key=True),
    Column("source_system", String(12), nullable=False),
    Column("state", String(12), nullable=False),
    Column("record_count", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("payload", LargeBinary, nullable=True),
    Column("key_id", String(16), nullable=True),
    Column("payload_size", Integer, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("poll_count", Integer, nullable=False, default=0),
    Column("poll_failures", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(80), nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("received_at", UtcDateTime, nullable=True),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("last_error_code", String(40), nullable=True),
    Column("last_error_message", String(500), nullable=True),
    Index("ix_outbox_batches_due", "state", "next_attempt_at"),
)

#: The hub's verdict on each record submission, kept after the payload is pruned.
outcomes = Table(
    "outbox_outcomes",
    metadata,
    Column("message_id", String(32), primary_key=True),
    Column("batch_id", String(36), nullable=False),
    Column("source_system", String(12), nullable=False),
    Column("source_record_id", String(64), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("contactpoint_id", String(12), nullable=True),
    Column("candidate_count", Integer, nullable=True),
    Column("original_status", String(16), nullable=True),
    Column("breaches", Text, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_outbox_outcomes_batch", "batch_id"),
)

#: Per source record: what the delta engine last queued, and what the hub told us about it.
delta_state = Table(
    "delta_state",
    metadata,
    Column("source_system", String(12), primary_key=True),
    Column("source_record_id", String(64), primary_key=True),
    Column("content_hash", String(64), nullable=True),
    Column("last_version", BigInteger, nullable=False),
    Column("contactpoint_id", String(12), nullable=True),
    Column("withdrawn", Boolean, nullable=False, default=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: The data administrator's work list: NoMatch and MultipleMatch outcomes (TA-OUT-01).
worklist = Table(
    "worklist",
    metadata,
    Column("message_id", String(32), primary_key=True),
    Column("source_system", String(12), nullable=False),
    Column("source_record_id", String(64), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("candidate_count", Integer, nullable=True),
    Column("batch_id", String(36), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Index("ix_worklist_record", "source_system", "source_record_id"),
)

#: Records the policy gate held back (or excluded), per source record, with rule ids and where
#: the record came from (file + line, or table + key), so the owning team can fix it at source.
#: Never personal data: breaches carry rule, path and message only.
held_records = Table(
    "held_records",
    metadata,
    Column("source_system", String(12), primary_key=True),
    Column("source_record_id", String(64), primary_key=True),
    Column("source", String(40), nullable=False),
    Column("rules", String(200), nullable=False),
    Column("breaches", Text, nullable=False),
    Column("provenance", String(300), nullable=False),
    Column("first_held_at", UtcDateTime, nullable=False),
    Column("last_held_at", UtcDateTime, nullable=False),
    Column("run_id", String(36), nullable=False),
    Index("ix_held_records_source", "source"),
)

#: One row per feed run of a source: its counts, its result and the watermark it reached.
source_runs = Table(
    "source_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("source", String(40), nullable=False),
    Column("source_system", String(12), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("status", String(12), nullable=False),
    Column("counts", Text, nullable=False),
    Column("watermark", String(64), nullable=True),
    Column("error_code", String(40), nullable=True),
    Column("error_message", String(500), nullable=True),
    Index("ix_source_runs_source", "source", "started_at"),
)

#: Append-only, hash-chained audit trail (ids only, never personal data).
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("subject", String(80), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

#: The chain's head (last sequence number and hash), locked by every append; it also lets
#: ``audit verify`` notice that the newest entries were deleted.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)


def normalise_url(url: str, *, base: Path | None = None) -> URL:
    """Parse a store URL: PostgreSQL via psycopg 3, relative SQLite paths against ``base``."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError("store.url is not a database URL", code="STORE-URL") from exc
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            if not path.is_absolute() and base is not None:
                path = base / path
            parsed = parsed.set(database=str(path))
    return parsed


def is_sqlite(engine: Engine) -> bool:
    """True for the embedded SQLite back end (one delivery worker only)."""
    return engine.dialect.name == "sqlite"


def create_store_engine(
    url: str, *, base: Path | None = None, busy_timeout_seconds: float = 30.0
) -> Engine:
    """An engine for the store at ``url`` with the per-back-end settings described above."""
    parsed = normalise_url(url, base=base)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_seconds)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, pool_size=2, max_overflow=2)
    raise StoreError(
        f"unsupported store back end {parsed.get_backend_name()!r} (sqlite or postgresql)",
        code="STORE-URL",
    )


#: WAL pages (4 KiB) between automatic checkpoints; SQLite's default is 1,000. A checkpoint
#: writes the changed pages into the database file and waits for them to reach the disk, and
#: the store's index pages are scattered over a file of hundreds of megabytes, so that wait is
#: long (about 16 ms each, measured in the pipeline benchmark at 300,000 children, where 1,000
#: pages meant one checkpoint every one or two 1,000-record commits and 5 s of the run's wall
#: time spent waiting in them). Checkpointing every ~100 MB writes a page that many commits
#: touched once instead of once per commit: the same run went from 44-55 s to 42-46 s.
#: Durability does not change: every commit still waits for its WAL frames (synchronous=FULL),
#: and a crash replays the WAL on the next open.
WAL_CHECKPOINT_PAGES = 25_000
#: After a checkpoint the WAL file is truncated back to this size if it grew past it (by
#: default it keeps its largest size for ever).
WAL_SIZE_LIMIT_BYTES = 128 * 1024 * 1024


def _sqlite_engine(url: URL, busy_timeout_seconds: float) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The store holds encrypted payloads, ids and outcomes: readable by its owner only
        # (IA-SEC-01). Created here, before SQLite would create it with the process umask.
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    engine = create_engine(url, connect_args={"timeout": busy_timeout_seconds})
    busy_ms = int(busy_timeout_seconds * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE instead of pysqlite's BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
