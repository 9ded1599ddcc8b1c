"""Key rotation: re-encrypt every stored payload under a new key (``cpadapter keys rotate``).

Order of work, chosen so that every payload stays readable at every instant, including after a
crash half-way (running the command again finishes the job):

1. key file: write ``[new, old…]`` (new key active, old keys still there to decrypt);
2. re-encrypt, in small transactions, every entry and batch payload whose key id is not the new
   one (associated data unchanged: a payload stays bound to its row);
3. key file: write ``[new]`` only.

With the key in ``CPADAPTER_STORE_KEY`` the program cannot edit the variable: the operator sets
it to ``NEW,OLD`` (``cpadapter keys generate`` prints a new key), runs ``keys rotate``, which
re-encrypts under ``NEW`` and reports that no payload needs ``OLD`` any more, and then drops
``OLD`` from the variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, Table, select, update

from outbox import audit
from outbox.clock import utc_now
from outbox.crypto import KeyRing, batch_aad, entry_aad, generate_key, write_key_file
from outbox.store import batches, entries

_CHUNK = 200


@dataclass(frozen=True, slots=True)
class RotationResult:
    active_key_id: str
    retired_key_ids: list[str]
    entries: int
    batches: int


def _reencrypt(engine: Engine, ring: KeyRing, table: Table, id_column: str, kind: str) -> int:
    column = table.c[id_column]
    aad = entry_aad if kind == "entry" else batch_aad
    done = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                select(column, table.c.payload, table.c.key_id)
                .where(table.c.payload.is_not(None))
                .where(table.c.key_id != ring.active_id)
                .limit(_CHUNK)
            ).all()
            for row in rows:
                ident = str(row[0])
                plain = ring.decrypt(row.key_id, row.payload, aad(ident))
                kid, blob = ring.encrypt(plain, aad(ident))
                conn.execute(update(table).where(column == row[0]).values(payload=blob, key_id=kid))
        done += len(rows)
        if len(rows) < _CHUNK:
            return done


def rotate(engine: Engine, ring: KeyRing, *, key_file: Path | None, actor: str) -> RotationResult:
    """Rotate to a new key (key file) or onto the ring's first key (environment variable)."""
    if key_file is not None:
        ring = KeyRing([generate_key(), *ring.keys])
        write_key_file(key_file, ring.keys)
    retired = ring.key_ids[1:]
    entry_count = _reencrypt(engine, ring, entries, "message_id", "entry")
    batch_count = _reencrypt(engine, ring, batches, "batch_id", "batch")
    if key_file is not None:
        write_key_file(key_file, ring.keys[:1])
    with engine.begin() as conn:
        audit.append(
            conn,
            audit.AuditKind.OPERATOR,
            "keys rotate",
            {
                "action": "keys rotate",
                "active_key_id": ring.active_id,
                "retired_key_ids": retired,
                "entries": entry_count,
                "batches": batch_count,
            },
            actor=actor,
            now=utc_now(),
        )
    return RotationResult(ring.active_id, retired, entry_count, batch_count)
