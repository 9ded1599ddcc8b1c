"""Payload encryption at rest (TA-SEC-02): AES-256-GCM under a key ring.

Every stored payload (a record's XML, a batch's XML) is sealed with AES-GCM. The ciphertext is
``nonce (12 bytes) || ciphertext || tag``; a fresh random nonce per payload. The *associated
data* binds a ciphertext to the row it belongs to (``entry\\0<messageId>`` or
``batch\\0<batchId>``), so a payload copied onto another row fails to decrypt instead of being
sent under the wrong identity.

Keys and rotation
    A key ring is an ordered list of 256-bit keys; the first is *active* (new payloads), the
    others only decrypt. Each key's id is derived from the key itself (first 16 hex characters
    of SHA-256 over a fixed label and the key), stored beside every payload, so rotation knows
    which rows still need re-encrypting and no id has to be kept in sync by hand.

    Where keys come from (config ``store``):

    * ``encryption_key`` (normally ``${CPADAPTER_STORE_KEY}``): one or more base64 keys separated
      by commas, active first. Wins over the file.
    * ``encryption_key_file`` (default ``certs/store.key``): one base64 key per line, active
      first, ``#`` comments allowed. Created with mode 0600 when absent, with a log line saying
      so, unless the store already holds payloads (a lost key file must not be papered over by a
      new key that can read nothing).

    ``cpadapter keys rotate`` (:mod:`outbox.rotation`) puts a new key first, re-encrypts every
    payload under it, and only then drops the old keys, so every payload stays readable at every
    moment, including after a crash half-way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from adapter.log import get_logger
from ldi.errors import StoreError

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID_LABEL = b"cpadapter-store-key-id\x00"

log = get_logger(__name__)


def key_id(key: bytes) -> str:
    """The id of ``key``: 16 hex characters of SHA-256 over a fixed label and the key."""
    return hashlib.sha256(_KEY_ID_LABEL + key).hexdigest()[:16]


def entry_aad(message_id: str) -> bytes:
    """Associated data binding a record payload to its outbox entry."""
    return b"entry\x00" + message_id.encode("ascii")


def batch_aad(batch_id: str) -> bytes:
    """Associated data binding a batch payload to its batch."""
    return b"batch\x00" + batch_id.encode("ascii")


def generate_key() -> bytes:
    """A new random 256-bit key."""
    return secrets.token_bytes(KEY_BYTES)


def encode_key(key: bytes) -> str:
    """The base64 text form used in key files and ``CPADAPTER_STORE_KEY``."""
    return base64.b64encode(key).decode("ascii")


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StoreError(f"{where}: a key is not valid base64", code="STORE-KEY") from exc
    if len(key) != KEY_BYTES:
        raise StoreError(
            f"{where}: a key must be {KEY_BYTES} bytes (AES-256), found {len(key)}",
            code="STORE-KEY",
        )
    return key


@dataclass
class KeyRing:
    """Ordered keys: the first encrypts, all decrypt."""

    keys: Sequence[bytes]
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, init=False, repr=False)
    _active: tuple[str, AESGCM] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise StoreError("the key ring is empty", code="STORE-KEY")
        for key in self.keys:
            self._ciphers.setdefault(key_id(key), AESGCM(key))
        # Found once: every queued record is sealed under it (the ring never changes).
        self._active = (self.active_id, self._ciphers[self.active_id])

    def __repr__(self) -> str:
        return f"KeyRing(ids={self.key_ids})"

    @property
    def active_id(self) -> str:
        """Id of the key new payloads are sealed with."""
        return key_id(self.keys[0])

    @property
    def key_ids(self) -> list[str]:
        """Ids of every key in the ring, active first."""
        return [key_id(k) for k in self.keys]

    def encrypt(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        """Seal ``plaintext`` under the active key; returns (key id, nonce || ciphertext)."""
        active, cipher = self._active
        nonce = os.urandom(NONCE_BYTES)
        return active, nonce + cipher.encrypt(nonce, plaintext, aad)

    def decrypt(self, kid: str, blob: bytes, aad: bytes) -> bytes:
        """Open a payload sealed under key ``kid``; StoreError if the key is absent or it fails."""
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise StoreError(
                f"payload is encrypted under key {kid}, which is not in the key ring "
                f"({', '.join(self.key_ids)})",
                code="STORE-KEY-MISSING",
            )
        try:
            return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise StoreError(
                f"payload under key {kid} fails authentication (tampered, or moved to another row)",
                code="STORE-DECRYPT",
            ) from exc


def read_key_file(path: Path) -> list[bytes]:
    """Keys in ``path``: one base64 key per line, active first; ``#`` starts a comment."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: cannot read the key file", code="STORE-KEY") from exc
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if content:
            keys.append(_decode_key(content, f"{path} line {number}"))
    if not keys:
        raise StoreError(f"{path}: the key file holds no key", code="STORE-KEY")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("store.key_file_permissive", file=str(path), code=f"{mode:04o}")
    return keys


def write_key_file(path: Path, keys: Sequence[bytes]) -> None:
    """Write ``keys`` (active first) to ``path`` atomically, mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        body = "# ContactPoint Adapter store keys (AES-256-GCM), active first. Keep secret.\n"
        body += "".join(encode_key(k) + "\n" for k in keys)
        os.write(descriptor, body.encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def load_key_ring(
    *,
    key_text: SecretStr | None,
    key_file: Path | None,
    create: bool = False,
) -> KeyRing:
    """The key ring from config: the secret if given, else the key file (created if allowed)."""
    if key_text is not None:
        parts = [p for p in key_text.get_secret_value().split(",") if p.strip()]
        return KeyRing([_decode_key(p, "store.encryption_key") for p in parts])
    if key_file is None:
        raise StoreError(
            "payload encryption needs store.encryption_key or store.encryption_key_file "
            "(TA-SEC-02)",
            code="STORE-KEY",
        )
    if not key_file.exists():
        if not create:
            raise StoreError(f"{key_file}: key file not found", code="STORE-KEY")
        write_key_file(key_file, [generate_key()])
        log.warning("store.key_created", file=str(key_file))
    return KeyRing(read_key_file(key_file))
