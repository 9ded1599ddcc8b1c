"""Payload encryption at rest (TA-SEC-02): round trip, refusal of wrong key or row, rotation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select

from ldi.errors import StoreError
from outbox.batching import form_batch
from outbox.clock import utc_now
from outbox.crypto import (
    KeyRing,
    encode_key,
    entry_aad,
    generate_key,
    key_id,
    load_key_ring,
    read_key_file,
)
from outbox.entries import enqueue
from outbox.rotation import rotate
from outbox.store import batches, entries
from tests.unit.outbox.conftest import SOURCE, record


def test_round_trip_under_the_active_key() -> None:
    """What is sealed opens again with the same key id and associated data."""
    ring = KeyRing([generate_key()])
    kid, blob = ring.encrypt(b"<Record/>", entry_aad("a" * 32))
    assert kid == ring.active_id
    assert b"<Record/>" not in blob
    assert ring.decrypt(kid, blob, entry_aad("a" * 32)) == b"<Record/>"


def test_a_payload_moved_to_another_row_does_not_open() -> None:
    """The associated data binds a ciphertext to its message id."""
    ring = KeyRing([generate_key()])
    kid, blob = ring.encrypt(b"x", entry_aad("a" * 32))
    with pytest.raises(StoreError, match="fails authentication"):
        ring.decrypt(kid, blob, entry_aad("b" * 32))


def test_another_key_cannot_open_it() -> None:
    """A ring without the sealing key names the missing key id; a wrong key fails auth."""
    sealed_kid, blob = KeyRing([generate_key()]).encrypt(b"x", b"aad")
    other = KeyRing([generate_key()])
    with pytest.raises(StoreError, match="not in the key ring"):
        other.decrypt(sealed_kid, blob, b"aad")
    with pytest.raises(StoreError, match="fails authentication"):
        other.decrypt(other.active_id, blob, b"aad")


def test_a_tampered_ciphertext_does_not_open() -> None:
    """Flipping one bit is detected (GCM tag)."""
    ring = KeyRing([generate_key()])
    kid, blob = ring.encrypt(b"payload", b"aad")
    with pytest.raises(StoreError):
        ring.decrypt(kid, blob[:-1] + bytes([blob[-1] ^ 1]), b"aad")


def test_key_file_is_created_mode_0600(tmp_path: Path) -> None:
    """A missing key file is created (when allowed) readable by the owner only."""
    path = tmp_path / "certs" / "store.key"
    ring = load_key_ring(key_text=None, key_file=path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path) == list(ring.keys)


def test_missing_key_file_is_an_error_unless_creation_is_allowed(tmp_path: Path) -> None:
    """Opening without permission to create refuses instead of inventing a key."""
    with pytest.raises(StoreError, match="not found"):
        load_key_ring(key_text=None, key_file=tmp_path / "absent.key")


def test_environment_keys_active_first() -> None:
    """CPADAPTER_STORE_KEY may list 'NEW,OLD': NEW encrypts, both decrypt."""
    new, old = generate_key(), generate_key()
    ring = load_key_ring(key_text=SecretStr(f"{encode_key(new)},{encode_key(old)}"), key_file=None)
    assert ring.active_id == key_id(new)
    assert ring.key_ids == [key_id(new), key_id(old)]


def test_a_short_key_is_refused() -> None:
    """Keys must be 256 bits."""
    with pytest.raises(StoreError, match="32 bytes"):
        load_key_ring(key_text=SecretStr(encode_key(b"short")), key_file=None)


def test_rotation_reencrypts_everything_and_drops_the_old_key(
    engine: Engine, tmp_path: Path
) -> None:
    """keys rotate: entries and batches end under a new key; the file holds only that key."""
    key_file = tmp_path / "store.key"
    ring = load_key_ring(key_text=None, key_file=key_file, create=True)
    with engine.begin() as conn:
        enqueue(conn, ring, SOURCE, [record("A"), record("B")])
        form_batch(
            conn,
            ring,
            la_code="891",
            max_records=1,
            max_bytes=10**6,
            owner="t",
            lease_seconds=60,
            now=utc_now(),
        )
    result = rotate(engine, ring, key_file=key_file, actor="operator:test")
    new_ring = KeyRing(read_key_file(key_file))
    assert new_ring.key_ids == [result.active_key_id]
    assert result.retired_key_ids == ring.key_ids
    assert (result.entries, result.batches) == (2, 1)
    with engine.connect() as conn:
        kids = {r[0] for r in conn.execute(select(entries.c.key_id))}
        kids |= {r[0] for r in conn.execute(select(batches.c.key_id))}
        payload = conn.execute(
            select(entries.c.payload).where(entries.c.message_id == record("A").message_id)
        ).scalar_one()
    assert kids == {result.active_key_id}
    assert b"<Record" in new_ring.decrypt(
        result.active_key_id, payload, entry_aad(record("A").message_id)
    )
