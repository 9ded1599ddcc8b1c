"""The hub's durable store: national index, batches, outcomes, messages and contributions.

SQLAlchemy 2 Core (not the ORM): processing a 1,000-record batch is a handful of ``IN`` queries
and ``executemany`` writes, which the ORM's unit of work would make several times slower.
SQLite is the default (one file, WAL journal, ``synchronous=FULL`` so that a committed batch
survives a power cut, LDI-TRN-07); the same code runs on PostgreSQL.

All writes go through one lock: the hub is one process, SQLite allows one writer anyway, and a
single writer keeps batches processed strictly in arrival order (LDI-REL-02 needs that).

Tables
    ``children`` / ``child_name_keys``  the national index (step-3 keys, see hub.matching)
    ``batches``                         every accepted batch: C14N payload, digest, status
    ``record_outcomes``                 one row per record of a completed batch
    ``messages``                        every processed messageId with its first status
    ``contributions``                   one row per (source system, source record id)
    ``hub_meta``                        the ContactPoint id allocator
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import BindParameter

from hub.matching import DictIndex, name_keys
from hub.national import NationalChild, NationalOtherName
from ldi.errors import StoreError
from ldi.identifiers import make_contactpoint_id, next_issuable_serial
from ldi.models import BatchStatus, Breach, OutcomeStatus, RecordOutcome

metadata = MetaData()

hub_meta = Table(
    "hub_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

children = Table(
    "children",
    metadata,
    Column("contactpoint_id", String(12), primary_key=True),
    Column("accountable_body", String(3), nullable=False),
    Column("given_name", String(35), nullable=False),
    Column("middle_names", String(70)),
    Column("family_name", String(35), nullable=False),
    Column("other_names", Text, nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("gender", String(16), nullable=False),
    Column("nhs_number", String(10), index=True),
    Column("upn", String(13), index=True),
    Column("postcode", String(8)),
    Column("created_at", String(32), nullable=False),
)

child_name_keys = Table(
    "child_name_keys",
    metadata,
    Column("name_key", String(120), nullable=False),
    Column("contactpoint_id", String(12), ForeignKey(children.c.contactpoint_id), nullable=False),
    PrimaryKeyConstraint("name_key", "contactpoint_id"),
    Index("ix_child_name_keys_cp", "contactpoint_id"),
)

batches = Table(
    "batches",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(36), nullable=False, unique=True),
    Column("content_sha256", String(64), nullable=False),
    Column("accountable_body", String(3), nullable=False),
    Column("source_system", String(12), nullable=False),
    Column("transport", String(8), nullable=False),
    Column("presented_by", String(64), nullable=False),
    Column("record_count", Integer, nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("status", String(8), nullable=False, index=True),
    Column("completed_at", String(32)),
    Column("payload", LargeBinary, nullable=False),
)

record_outcomes = Table(
    "record_outcomes",
    metadata,
    Column("batch_seq", Integer, ForeignKey(batches.c.seq), nullable=False),
    Column("position", Integer, nullable=False),
    Column("message_id", String(32), nullable=False),
    Column("source_record_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("contactpoint_id", String(12)),
    Column("candidate_count", Integer),
    Column("original_status", String(16)),
    Column("breaches", Text),
    PrimaryKeyConstraint("batch_seq", "position"),
    Index("ix_record_outcomes_status", "status"),
)

messages = Table(
    "messages",
    metadata,
    Column("message_id", String(32), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("batch_seq", Integer, nullable=False),
)

contributions = Table(
    "contributions",
    metadata,
    Column("source_system", String(12), nullable=False),
    Column("source_record_id", String(64), nullable=False),
    Column("accountable_body", String(3), nullable=False),
    Column("version", Integer, nullable=False),
    Column("message_id", String(32), nullable=False),
    Column("batch_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("contactpoint_id", String(12)),
    Column("candidate_count", Integer),
    Column("record", Text),
    Column("updated_at", String(32), nullable=False),
    PrimaryKeyConstraint("source_system", "source_record_id"),
    Index("ix_contributions_cp", "contactpoint_id"),
    Index("ix_contributions_status", "status"),
)

_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
# Prepared once: an expanding bind parameter keeps SQLAlchemy from building one bound parameter
# object per value on every batch (that coercion was a tenth of the processing time).
_SEEN_MESSAGES = select(messages.c.message_id, messages.c.status).where(
    messages.c.message_id.in_(_IDS)
)
_CONTRIBUTIONS = (
    select(
        contributions.c.source_record_id,
        contributions.c.version,
        contributions.c.status,
        contributions.c.contactpoint_id,
    )
    .where(contributions.c.source_system == bindparam("source_system"))
    .where(contributions.c.source_record_id.in_(_IDS))
)
_BIRTH_DATES = select(children.c.contactpoint_id, children.c.birth_date).where(
    children.c.contactpoint_id.in_(_IDS)
)
_BY_NHS = select(children.c.contactpoint_id, children.c.nhs_number).where(
    children.c.nhs_number.in_(_IDS)
)
_BY_UPN = select(children.c.contactpoint_id, children.c.upn).where(children.c.upn.in_(_IDS))
_BY_NAME_KEY = select(child_name_keys.c.name_key, child_name_keys.c.contactpoint_id).where(
    child_name_keys.c.name_key.in_(_IDS)
)

_CHUNK = 500  # bound parameters per IN list; well under every backend's limit
_FIRST_SERIAL = 100_000_000


def utc_now() -> datetime:
    """Now, to the second, in UTC: receivedAt and every stored time use this form."""
    return datetime.now(UTC).replace(microsecond=0)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


# ----- rows handed out -----


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One stored batch's metadata (the payload is read separately, only when needed)."""

    seq: int
    batch_id: str
    content_sha256: str
    accountable_body: str
    source_system: str
    transport: str
    presented_by: str
    record_count: int
    received_at: datetime
    status: BatchStatus
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewBatch:
    """A batch about to be stored (LDI-TRN-07: stored before the receipt is sent)."""

    batch_id: str
    content_sha256: str
    accountable_body: str
    source_system: str
    transport: str
    presented_by: str
    record_count: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class ContributionState:
    """What ordering and merging need about a source record's current contribution."""

    version: int
    status: OutcomeStatus
    contactpoint_id: str | None


@dataclass(frozen=True, slots=True)
class OutcomeWrite:
    """One record's outcome as processing decided it (a plain dataclass: pydantic models cost
    more to build than all the matching of a record; RecordOutcome models are made on read)."""

    message_id: str
    source_record_id: str
    status: OutcomeStatus
    contactpoint_id: str | None = None
    candidate_count: int | None = None
    original_status: OutcomeStatus | None = None
    breaches: list[Breach] = field(default_factory=list)


#: OutcomeStatus by value: a dict lookup costs a fraction of calling the enum, per row.
_STATUSES: dict[str, OutcomeStatus] = {status.value: status for status in OutcomeStatus}


class OutcomeRow(NamedTuple):
    """One stored record outcome, as :class:`ldi.models.RecordOutcome` holds it."""

    message_id: str
    status: OutcomeStatus
    contactpoint_id: str | None
    candidate_count: int | None
    original_status: OutcomeStatus | None
    breaches: list[tuple[str, ...]]  # (rule, path, message)


@dataclass(frozen=True, slots=True)
class ContributionWrite:
    """The new state of one contribution after a record was applied."""

    source_system: str
    source_record_id: str
    accountable_body: str
    version: int
    message_id: str
    batch_id: str
    status: OutcomeStatus
    contactpoint_id: str | None
    candidate_count: int | None
    record_json: str | None


def _batch_row(row: Any) -> BatchRow:
    return BatchRow(
        seq=row.seq,
        batch_id=row.batch_id,
        content_sha256=row.content_sha256,
        accountable_body=row.accountable_body,
        source_system=row.source_system,
        transport=row.transport,
        presented_by=row.presented_by,
        record_count=row.record_count,
        received_at=datetime.fromisoformat(row.received_at),
        status=BatchStatus(row.status),
        completed_at=datetime.fromisoformat(row.completed_at) if row.completed_at else None,
    )


_BATCH_COLUMNS = [c for c in batches.c if c.name != "payload"]


# ----- the store -----


class Store:
    """The hub's database. Thread-safe: reads run concurrently, writes one at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_lock = threading.RLock()

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect (creating the SQLite file's directory) and create missing tables."""
        try:
            parsed = make_url(url)
            is_sqlite = parsed.get_backend_name() == "sqlite"
            if is_sqlite and parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url,
                connect_args={"timeout": 30, "check_same_thread": False} if is_sqlite else {},
            )
            if is_sqlite:
                event.listen(engine, "connect", _sqlite_pragmas)
            metadata.create_all(engine)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(
                f"cannot open the hub store ({exc.__class__.__name__})", code="STORE-OPEN"
            ) from exc
        return cls(engine)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock:
            try:
                with self.engine.begin() as conn:
                    yield conn
            except SQLAlchemyError as exc:
                raise StoreError(
                    f"hub store write failed ({exc.__class__.__name__})", code="STORE-WRITE"
                ) from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(
                f"hub store read failed ({exc.__class__.__name__})", code="STORE-READ"
            ) from exc

    # ----- national index -----

    def add_children(self, records: Iterable[NationalChild]) -> list[str]:
        """Insert or replace national records; allocate ContactPoint ids where none is given.

        Returns the ids in input order. A record with an id replaces the stored one (its name
        keys are rewritten), so re-seeding a file that carries ids is idempotent; a record
        without one is always a new national record.
        """
        now = utc_now().isoformat()
        with self._write() as conn:
            serial = int(
                conn.execute(
                    select(hub_meta.c.value).where(hub_meta.c.key == "next_serial")
                ).scalar_one_or_none()
                or _FIRST_SERIAL
            )
            batch = list(records)
            rows: list[dict[str, Any]] = []
            keys: list[dict[str, str]] = []
            ids: list[str] = []
            # Ids are allocated upwards from the stored serial, skipping any id already taken
            # (seed files may carry their own ids anywhere in the range).
            taken = {r.contactpoint_id for r in batch if r.contactpoint_id}
            taken.update(
                conn.execute(
                    select(children.c.contactpoint_id).where(
                        children.c.contactpoint_id
                        >= make_contactpoint_id(next_issuable_serial(serial))
                    )
                ).scalars()
            )
            for record in batch:
                cp_id = record.contactpoint_id
                while cp_id is None or (record.contactpoint_id is None and cp_id in taken):
                    serial = next_issuable_serial(serial)
                    cp_id = make_contactpoint_id(serial)
                    serial += 1
                ids.append(cp_id)
                rows.append(_child_row(record, cp_id, now))
                keys.extend(
                    {"name_key": k, "contactpoint_id": cp_id}
                    for k in name_keys(record.birth_date, record.given_name, record.family_names)
                )
            given = [r["contactpoint_id"] for r in rows]
            for chunk in _chunks(given):
                conn.execute(
                    child_name_keys.delete().where(child_name_keys.c.contactpoint_id.in_(chunk))
                )
                conn.execute(children.delete().where(children.c.contactpoint_id.in_(chunk)))
            if rows:
                conn.execute(children.insert(), rows)
            if keys:
                conn.execute(child_name_keys.insert(), _unique(keys))
            self._set_meta(conn, "next_serial", str(serial))
        return ids

    def _set_meta(self, conn: Connection, key: str, value: str) -> None:
        done = conn.execute(update(hub_meta).where(hub_meta.c.key == key).values(value=value))
        if done.rowcount == 0:
            conn.execute(hub_meta.insert().values(key=key, value=value))

    def child(self, contactpoint_id: str) -> NationalChild | None:
        """One national record, or None."""
        with self._read() as conn:
            row = conn.execute(
                select(children).where(children.c.contactpoint_id == contactpoint_id)
            ).first()
        return _national(row) if row is not None else None

    def child_count(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(children)).scalar_one())

    def contactpoint_ids(self) -> list[str]:
        """Every national record's id, sorted (for inspection and tests)."""
        with self._read() as conn:
            return list(
                conn.execute(
                    select(children.c.contactpoint_id).order_by(children.c.contactpoint_id)
                ).scalars()
            )

    # ----- batches -----

    def store_batch(self, new: NewBatch) -> tuple[BatchRow, bool]:
        """Store and commit a batch; or return the already stored one with ``created=False``.

        The caller compares digests (LDI-TRN-06). The insert is committed (with SQLite's
        ``synchronous=FULL``) before this returns, which is what LDI-TRN-07 requires before a
        receipt may be sent.
        """
        with self._write() as conn:
            existing = conn.execute(
                select(*_BATCH_COLUMNS).where(batches.c.batch_id == new.batch_id)
            ).first()
            if existing is not None:
                return _batch_row(existing), False
            received = utc_now()
            seq = conn.execute(
                batches.insert().values(
                    batch_id=new.batch_id,
                    content_sha256=new.content_sha256,
                    accountable_body=new.accountable_body,
                    source_system=new.source_system,
                    transport=new.transport,
                    presented_by=new.presented_by,
                    record_count=new.record_count,
                    received_at=received.isoformat(),
                    status=BatchStatus.PENDING.value,
                    payload=new.payload,
                )
            ).inserted_primary_key
            assert seq is not None
        row = BatchRow(
            seq=int(seq[0]),
            batch_id=new.batch_id,
            content_sha256=new.content_sha256,
            accountable_body=new.accountable_body,
            source_system=new.source_system,
            transport=new.transport,
            presented_by=new.presented_by,
            record_count=new.record_count,
            received_at=received,
            status=BatchStatus.PENDING,
            completed_at=None,
        )
        return row, True

    def batch(self, batch_id: str) -> BatchRow | None:
        """A stored batch without its payload, or None."""
        with self._read() as conn:
            row = conn.execute(
                select(*_BATCH_COLUMNS).where(batches.c.batch_id == batch_id)
            ).first()
        return _batch_row(row) if row is not None else None

    def pending_batches(self) -> list[BatchRow]:
        """Stored batches not yet processed, oldest first (payloads: :meth:`payload`)."""
        with self._read() as conn:
            rows = conn.execute(
                select(*_BATCH_COLUMNS)
                .where(batches.c.status == BatchStatus.PENDING.value)
                .order_by(batches.c.seq)
            ).all()
        return [_batch_row(r) for r in rows]

    def payload(self, seq: int) -> bytes:
        """The stored canonical bytes of a batch (to process it after a restart)."""
        with self._read() as conn:
            data = conn.execute(select(batches.c.payload).where(batches.c.seq == seq)).scalar_one()
        return bytes(data)

    def outcomes(self, seq: int) -> list[RecordOutcome]:
        """The record outcomes of a completed batch, in record order."""
        with self._read() as conn:
            rows = conn.execute(
                select(record_outcomes)
                .where(record_outcomes.c.batch_seq == seq)
                .order_by(record_outcomes.c.position)
            ).all()
        return [_outcome(r) for r in rows]

    def outcome_rows(self, seq: int) -> list[OutcomeRow]:
        """:meth:`outcomes` as plain rows, for answering GetBatchOutcome without models."""
        with self._read() as conn:
            rows = conn.execute(
                select(
                    record_outcomes.c.message_id,
                    record_outcomes.c.status,
                    record_outcomes.c.contactpoint_id,
                    record_outcomes.c.candidate_count,
                    record_outcomes.c.original_status,
                    record_outcomes.c.breaches,
                )
                .where(record_outcomes.c.batch_seq == seq)
                .order_by(record_outcomes.c.position)
            ).all()
        return [
            OutcomeRow(
                message_id,
                _STATUSES[status],
                contactpoint_id,
                candidate_count,
                _STATUSES[original] if original else None,
                [tuple(b) for b in json.loads(breaches)] if breaches else [],
            )
            for message_id, status, contactpoint_id, candidate_count, original, breaches in rows
        ]

    def batch_ids(self) -> list[str]:
        """Every stored batch id in arrival order (inspection, tests)."""
        with self._read() as conn:
            return list(conn.execute(select(batches.c.batch_id).order_by(batches.c.seq)).scalars())

    # ----- processing -----

    @contextmanager
    def reading(self, batch: BatchRow) -> Iterator[BatchTransaction]:
        """Read what processing a batch needs, without holding the write lock.

        Safe because only the processor (one at a time, in arrival order) writes messages,
        contributions and outcomes; accepting new batches meanwhile touches none of them. Not
        holding the write lock while matching lets the next batch be stored in the meantime.
        """
        with self._read() as conn:
            yield BatchTransaction(conn, batch)

    @contextmanager
    def processing(self, batch: BatchRow) -> Iterator[BatchTransaction]:
        """One write transaction for all of a batch's effects and its Complete status."""
        with self._write() as conn:
            yield BatchTransaction(conn, batch)

    # ----- inspection -----

    def counts_by_outcome(self) -> dict[str, int]:
        """Record outcomes ever given, per status."""
        with self._read() as conn:
            rows = conn.execute(
                select(record_outcomes.c.status, func.count()).group_by(record_outcomes.c.status)
            ).all()
        return {status: int(n) for status, n in sorted(rows)}

    def counts_by_source(self) -> dict[str, dict[str, int]]:
        """Record outcomes per source system and status."""
        with self._read() as conn:
            rows = conn.execute(
                select(batches.c.source_system, record_outcomes.c.status, func.count())
                .join(batches, batches.c.seq == record_outcomes.c.batch_seq)
                .group_by(batches.c.source_system, record_outcomes.c.status)
            ).all()
        out: dict[str, dict[str, int]] = {}
        for source, status, n in sorted(rows):
            out.setdefault(source, {})[status] = int(n)
        return out

    def batch_counts(self) -> dict[str, int]:
        """Stored batches per status (Pending, Complete)."""
        with self._read() as conn:
            rows = conn.execute(
                select(batches.c.status, func.count()).group_by(batches.c.status)
            ).all()
        return {status: int(n) for status, n in sorted(rows)}

    def worklist(self, status: OutcomeStatus) -> list[dict[str, Any]]:
        """Contributions currently held as NoMatch or MultipleMatch: ids only, no names."""
        with self._read() as conn:
            rows = conn.execute(
                select(
                    contributions.c.accountable_body,
                    contributions.c.source_system,
                    contributions.c.source_record_id,
                    contributions.c.version,
                    contributions.c.message_id,
                    contributions.c.batch_id,
                    contributions.c.candidate_count,
                    contributions.c.updated_at,
                )
                .where(contributions.c.status == status.value)
                .order_by(contributions.c.source_system, contributions.c.source_record_id)
            ).all()
        return [
            {
                "accountableBody": r.accountable_body,
                "sourceSystem": r.source_system,
                "sourceRecordId": r.source_record_id,
                "version": r.version,
                "messageId": r.message_id,
                "batchId": r.batch_id,
                **({"candidateCount": r.candidate_count} if r.candidate_count else {}),
                "updatedAt": r.updated_at,
            }
            for r in rows
        ]

    def contributions_of(self, contactpoint_id: str) -> list[dict[str, Any]]:
        """Every current (Matched) contribution linked to a national record."""
        with self._read() as conn:
            rows = conn.execute(
                select(contributions)
                .where(contributions.c.contactpoint_id == contactpoint_id)
                .where(contributions.c.status == OutcomeStatus.MATCHED.value)
                .order_by(contributions.c.updated_at, contributions.c.source_system)
            ).all()
        return [
            {
                "sourceSystem": r.source_system,
                "sourceRecordId": r.source_record_id,
                "accountableBody": r.accountable_body,
                "version": r.version,
                "messageId": r.message_id,
                "batchId": r.batch_id,
                "updatedAt": r.updated_at,
                "record": json.loads(r.record) if r.record else None,
            }
            for r in rows
        ]

    def contribution(self, source_system: str, source_record_id: str) -> dict[str, Any] | None:
        """One contribution's current state (inspection, tests), record included."""
        with self._read() as conn:
            row = conn.execute(
                select(contributions)
                .where(contributions.c.source_system == source_system)
                .where(contributions.c.source_record_id == source_record_id)
            ).first()
        if row is None:
            return None
        return {
            "sourceSystem": row.source_system,
            "sourceRecordId": row.source_record_id,
            "version": row.version,
            "status": row.status,
            "contactPointId": row.contactpoint_id,
            "messageId": row.message_id,
            "record": json.loads(row.record) if row.record else None,
        }


class BatchTransaction:
    """Reads and writes of processing one batch, inside one database transaction."""

    def __init__(self, conn: Connection, batch: BatchRow) -> None:
        self._conn = conn
        self._batch = batch

    def seen_messages(self, message_ids: Sequence[str]) -> dict[str, OutcomeStatus]:
        """messageIds processed before, with the status they got then (LDI-REL-01)."""
        return {m: OutcomeStatus(s) for m, s in self._in(_SEEN_MESSAGES, sorted(set(message_ids)))}

    def contributions(
        self, source_system: str, source_record_ids: Sequence[str]
    ) -> dict[str, ContributionState]:
        """Current contribution per source record id of this source system."""
        rows = self._in(_CONTRIBUTIONS, sorted(set(source_record_ids)), source_system=source_system)
        return {
            srid: ContributionState(version, OutcomeStatus(status), cp_id)
            for srid, version, status, cp_id in rows
        }

    def _in(self, statement: Any, values: Sequence[Any], **params: Any) -> list[Any]:
        """Rows of a prepared ``IN (:ids)`` statement, in chunks of bound parameters."""
        rows: list[Any] = []
        for chunk in _chunks(values):
            rows.extend(self._conn.execute(statement, {"ids": list(chunk), **params}).all())
        return rows

    def index_for(
        self,
        given_ids: Iterable[str],
        nhs_numbers: Iterable[str],
        upns: Iterable[str],
        keys: Iterable[frozenset[str]],
    ) -> DictIndex:
        """The part of the national index these records can match (a few IN queries).

        ``keys`` are the records' step-3 name keys (:func:`hub.matching.record_name_keys`).
        """
        index = DictIndex.empty()
        for cp_id, born in self._in(_BIRTH_DATES, sorted(set(given_ids))):
            index.birth_dates[cp_id] = born
        for cp_id, value in self._in(_BY_NHS, sorted(set(nhs_numbers))):
            index.nhs.setdefault(value, set()).add(cp_id)
        for cp_id, value in self._in(_BY_UPN, sorted(set(upns))):
            index.upn.setdefault(value, set()).add(cp_id)
        all_keys = sorted({key for record_keys in keys for key in record_keys})
        for key, cp_id in self._in(_BY_NAME_KEY, all_keys):
            index.names.setdefault(key, set()).add(cp_id)
        return index

    def _bulk(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        """executemany without SQLAlchemy's per-row parameter processing.

        These three tables hold only strings and integers, which every DBAPI binds as they
        are, so the statement is compiled once for the connection's dialect and the rows go
        straight to the driver: on a 1,000-record batch that per-row processing cost more than
        the inserts themselves.
        """
        compiled = statement.compile(dialect=self._conn.dialect)
        if compiled.positional:
            order = compiled.positiontup
            params: Any = [tuple(row[name] for name in order) for row in rows]
        else:
            params = rows
        self._conn.exec_driver_sql(str(compiled), params)

    def complete(
        self,
        outcomes: Sequence[OutcomeWrite],
        new_messages: dict[str, OutcomeStatus],
        writes: dict[str, ContributionWrite],
        existing: Iterable[str],
    ) -> None:
        """Write every effect of the batch and mark it Complete (still one transaction).

        ``existing`` are the source record ids that already had a contribution row (updated,
        not inserted).
        """
        now = utc_now().isoformat()
        seq = self._batch.seq
        if outcomes:
            self._bulk(
                record_outcomes.insert(),
                [
                    {
                        "batch_seq": seq,
                        "position": i,
                        "message_id": o.message_id,
                        "source_record_id": o.source_record_id,
                        "status": o.status.value,
                        "contactpoint_id": o.contactpoint_id,
                        "candidate_count": o.candidate_count,
                        "original_status": o.original_status.value if o.original_status else None,
                        "breaches": _breaches_json(o.breaches),
                    }
                    for i, o in enumerate(outcomes, start=1)
                ],
            )
        if new_messages:
            self._bulk(
                messages.insert(),
                [
                    {"message_id": m, "status": s.value, "batch_seq": seq}
                    for m, s in new_messages.items()
                ],
            )
        existing_set = set(existing)
        inserts = [_write_row(w, now) for k, w in writes.items() if k not in existing_set]
        updates = [_write_row(w, now) for k, w in writes.items() if k in existing_set]
        if inserts:
            self._bulk(contributions.insert(), inserts)
        if updates:
            self._bulk(
                update(contributions)
                .where(contributions.c.source_system == bindparam("b_source_system"))
                .where(contributions.c.source_record_id == bindparam("b_source_record_id"))
                .values(
                    {
                        name: bindparam(name)
                        for name in (
                            "accountable_body",
                            "version",
                            "message_id",
                            "batch_id",
                            "status",
                            "contactpoint_id",
                            "candidate_count",
                            "record",
                            "updated_at",
                        )
                    }
                ),
                [
                    {
                        **row,
                        "b_source_system": row["source_system"],
                        "b_source_record_id": row["source_record_id"],
                    }
                    for row in updates
                ],
            )
        self._conn.execute(
            update(batches)
            .where(batches.c.seq == seq)
            .values(status=BatchStatus.COMPLETE.value, completed_at=now)
        )


# ----- conversions -----


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _unique(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for row in rows:
        key = (row["name_key"], row["contactpoint_id"])
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _child_row(record: NationalChild, cp_id: str, now: str) -> dict[str, Any]:
    return {
        "contactpoint_id": cp_id,
        "accountable_body": record.accountable_body,
        "given_name": record.given_name,
        "middle_names": record.middle_names,
        "family_name": record.family_name,
        "other_names": json.dumps(
            [
                o.model_dump(mode="json", by_alias=True, exclude_none=True)
                for o in record.other_names
            ]
        ),
        "birth_date": record.birth_date,
        "gender": record.gender.value,
        "nhs_number": record.nhs_number,
        "upn": record.upn,
        "postcode": record.postcode,
        "created_at": now,
    }


def _national(row: Any) -> NationalChild:
    born = row.birth_date
    return NationalChild(
        contactpoint_id=row.contactpoint_id,
        accountable_body=row.accountable_body,
        given_name=row.given_name,
        middle_names=row.middle_names,
        family_name=row.family_name,
        other_names=[NationalOtherName.model_validate(o) for o in json.loads(row.other_names)],
        birth_date=born if isinstance(born, date) else date.fromisoformat(born),
        gender=row.gender,
        nhs_number=row.nhs_number,
        upn=row.upn,
        postcode=row.postcode,
    )


def _breaches_json(breaches: list[Breach]) -> str | None:
    if not breaches:
        return None
    return json.dumps([[b.rule, b.path, b.message] for b in breaches])


def _outcome(row: Any) -> RecordOutcome:
    breaches = [Breach(rule=r, path=p, message=m) for r, p, m in json.loads(row.breaches or "[]")]
    return RecordOutcome(
        message_id=row.message_id,
        status=OutcomeStatus(row.status),
        contactpoint_id=row.contactpoint_id,
        candidate_count=row.candidate_count,
        original_status=OutcomeStatus(row.original_status) if row.original_status else None,
        breaches=breaches,
    )


def _write_row(write: ContributionWrite, now: str) -> dict[str, Any]:
    return {
        "source_system": write.source_system,
        "source_record_id": write.source_record_id,
        "accountable_body": write.accountable_body,
        "version": write.version,
        "message_id": write.message_id,
        "batch_id": write.batch_id,
        "status": write.status.value,
        "contactpoint_id": write.contactpoint_id,
        "candidate_count": write.candidate_count,
        "record": write.record_json,
        "updated_at": now,
    }
