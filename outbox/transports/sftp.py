"""LDI secure file transfer transport (LDI-TRN-10…12), with paramiko.

* Public-key login only (no agent, no password, no keys found lying around).
* The hub's host key is pinned: it must be in the configured ``known_hosts`` file, and paramiko's
  ``RejectPolicy`` stops the transfer for an unknown or changed key (TA-TRN-05).
* A batch is written to ``inbound/<batchId>.xml.part`` and then renamed to
  ``inbound/<batchId>.xml`` (LDI-TRN-11), so the hub never reads half a file.
* The outcome is read back from ``outbound/<batchId>.outcome.xml`` or, for a fault,
  ``outbound/<batchId>.fault.xml`` (LDI-TRN-12). Neither there yet means :class:`Pending`.

There is no receipt on SFTP: a completed rename is the moment the hub has the batch, so
``submit`` returns a receipt of its own making after it. A resubmission (after a crash) first
looks for the batch or its outcome on the server and uploads nothing if either is there.
"""

from __future__ import annotations

import errno
import posixpath
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

import paramiko

from adapter.config import DeliveryConfig, SftpConfig
from ldi.errors import ConfigError, DeliveryError, InputError
from ldi.models import BatchOutcome, BatchReceipt, BatchStatus, FaultDetail, LdiModel
from ldi.safexml import FILE_MAX_BYTES, parse_bytes
from ldi.xmlcodec import from_element
from outbox import retry
from outbox.transports.base import Pending, resolve

MAX_FILE_RECORDS = 50_000  # LDI-TRN-11

M = TypeVar("M", bound=LdiModel)


class SftpTransport:
    """LDI SFTP drop. Connects on first use and reconnects after a failure."""

    max_bytes = FILE_MAX_BYTES

    def __init__(self, settings: SftpConfig, *, base: Path, timeout: float) -> None:
        self._settings = settings
        self._key_file = resolve(base, settings.key_file)
        self._known_hosts = resolve(base, settings.known_hosts)
        for what, path in (("key file", self._key_file), ("known_hosts", self._known_hosts)):
            if not path.is_file():
                raise ConfigError(f"{what} {path} not found", location="delivery.sftp")
        self._timeout = timeout
        self.max_records = min(settings.batch_size, MAX_FILE_RECORDS)
        self._ssh: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    # ----- the Transport interface -----

    def submit(self, batch_xml: bytes, batch_id: str) -> BatchReceipt:
        """Upload as ``.part``, rename into place; skip the upload if the hub already has it."""
        final = self._path("inbound", f"{batch_id}.xml")
        part = final + ".part"
        with self._translated("upload"):
            sftp = self._client()
            already = any(
                self._exists(sftp, p)
                for p in (
                    final,
                    self._path("outbound", f"{batch_id}.outcome.xml"),
                    self._path("outbound", f"{batch_id}.fault.xml"),
                )
            )
            if not already:
                with sftp.open(part, "wb") as remote:
                    remote.set_pipelined(True)
                    remote.write(batch_xml)
                sftp.posix_rename(part, final)
        return BatchReceipt(
            batch_id=batch_id,
            received_at=datetime.now(UTC),
            record_count=batch_xml.count(b"<Record "),
        )

    def get_outcome(self, batch_id: str) -> BatchOutcome | Pending:
        """Read the outcome or fault file; Pending while neither exists."""
        with self._translated("outcome"):
            sftp = self._client()
            outcome = self._read(sftp, self._path("outbound", f"{batch_id}.outcome.xml"))
            fault = None
            if outcome is None:
                fault = self._read(sftp, self._path("outbound", f"{batch_id}.fault.xml"))
        if outcome is not None:
            parsed = self._parse(outcome, BatchOutcome)
            if parsed.status is BatchStatus.PENDING:
                return Pending(batch_id)
            return parsed
        if fault is not None:
            detail = self._parse(fault, FaultDetail)
            raise retry.error_for(
                detail.code.value,
                f"hub fault file {detail.code.value}: {detail.message}"[:500],
                retry_after=detail.retry_after_seconds,
            )
        return Pending(batch_id)

    def close(self) -> None:
        """Close the SFTP session and the SSH connection."""
        if self._sftp is not None:
            self._sftp.close()
        if self._ssh is not None:
            self._ssh.close()
        self._sftp = self._ssh = None

    # ----- helpers -----

    def _path(self, folder: str, name: str) -> str:
        return posixpath.join(self._settings.remote_dir, folder, name)

    def _client(self) -> paramiko.SFTPClient:
        if self._sftp is not None:
            return self._sftp
        ssh = paramiko.SSHClient()
        ssh.load_host_keys(str(self._known_hosts))
        ssh.set_missing_host_key_policy(paramiko.RejectPolicy())
        ssh.connect(
            self._settings.host,
            port=self._settings.port,
            username=self._settings.user,
            key_filename=str(self._key_file),
            timeout=self._timeout,
            banner_timeout=self._timeout,
            auth_timeout=self._timeout,
            channel_timeout=self._timeout,
            look_for_keys=False,
            allow_agent=False,
        )
        self._ssh = ssh
        self._sftp = ssh.open_sftp()
        self._sftp.get_channel().settimeout(self._timeout)  # type: ignore[union-attr]
        return self._sftp

    @staticmethod
    def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
        try:
            sftp.stat(path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise
        return True

    @staticmethod
    def _read(sftp: paramiko.SFTPClient, path: str) -> bytes | None:
        try:
            with sftp.open(path, "rb") as remote:
                remote.prefetch()
                data: bytes = remote.read()
                return data
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise

    @staticmethod
    def _parse(data: bytes, model: type[M]) -> M:
        try:
            return from_element(parse_bytes(data, source="hub file").getroot(), model)
        except InputError as exc:
            raise retry.error_for(
                retry.BAD_RESPONSE, f"hub file is not a valid {model.__name__} ({exc.code})"
            ) from exc

    def _translated(self, what: str) -> _Translate:
        return _Translate(self, what)


class _Translate:
    """Context manager: paramiko and socket errors → DeliveryError (once, here)."""

    def __init__(self, transport: SftpTransport, what: str) -> None:
        self._transport = transport
        self._what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> Literal[False]:
        if exc is None or isinstance(exc, DeliveryError):
            return False
        error: DeliveryError | None = None
        if isinstance(exc, paramiko.BadHostKeyException):
            error = retry.error_for(retry.HOST_KEY, "the hub's SFTP host key has changed")
        elif isinstance(exc, paramiko.AuthenticationException):
            error = retry.error_for(retry.AUTH_REFUSED, "the hub refused our SFTP key")
        elif isinstance(exc, paramiko.SSHException) and "known_hosts" in str(exc):
            error = retry.error_for(retry.HOST_KEY, "the hub's SFTP host key is not pinned")
        elif isinstance(exc, socket.timeout | TimeoutError):
            error = retry.error_for(retry.TIMEOUT, f"SFTP {self._what} timed out")
        elif isinstance(exc, paramiko.SSHException | OSError | EOFError):
            error = retry.error_for(retry.CONNECTION, f"SFTP {self._what}: connection failed")
        if error is None:
            return False
        self._transport.close()
        raise error from exc


def open_sftp(delivery: DeliveryConfig, *, base: Path) -> SftpTransport:
    """Entry point ``sftp``: the file transport from ``delivery.sftp``."""
    return SftpTransport(delivery.sftp, base=base, timeout=delivery.timeout_seconds)
