"""``sftp``: files dropped on an SFTP server by another system's scheduled export.

Security stance:

* **public-key authentication only**: no password, no SSH agent, no keys looked up in
  ``~/.ssh``; the one key file named in config is used;
* **the server's host key is pinned** from the ``known_hosts`` file named in config (never the
  system's or the user's). An unknown host and a changed key both stop the source with
  ``SRC-HOSTKEY`` naming it (paramiko's :class:`~paramiko.RejectPolicy`; nothing is ever
  auto-added). A changed key is exactly what a man-in-the-middle looks like; only a person
  who has checked the new key with the server's owner may update the file;
* every name in a server listing passes :func:`connectors.filestore.safe_name` before use.

Files are copied to the source's private work folder (hashing on the way) and read there;
the copy is deleted once the set is put away. Moves happen on the server (SFTP rename, which
never overwrites). Each read or sample opens one SSH connection and closes it at the end.
paramiko and socket errors are translated here, once, into one-line :class:`SourceError` s.
"""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, ClassVar, NoReturn, cast

import paramiko
from pydantic import Field, SecretStr, field_validator

from connectors.base import ConnectorConfig, ConnectorContext
from connectors.filedrop import FileDropConfig, FileDropConnector
from connectors.filestore import FileInfo, FileStore, safe_name
from ldi.errors import SourceError


class SftpConfig(FileDropConfig):
    """Options of an ``sftp`` source."""

    host: str = Field(min_length=1, description="SFTP server name or address")
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1)
    private_key: Path = Field(description="Private key file (OpenSSH or PEM format)")
    private_key_passphrase: SecretStr | None = Field(
        default=None, description="Passphrase of the key, normally ${ENV_VAR}"
    )
    known_hosts: Path = Field(description="known_hosts file pinning the server's host key")
    remote_dir: str = Field(default=".", description="Drop folder on the server")
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @field_validator("remote_dir")
    @classmethod
    def _no_parent_segments(cls, value: str) -> str:
        if ".." in value.split("/") or any(ord(c) < 32 for c in value):
            raise ValueError("must not contain '..' segments or control characters")
        return value


class _RejectUnknownHost(paramiko.RejectPolicy):
    """RejectPolicy, raising a type of its own so the refusal is told apart from other errors."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> NoReturn:
        raise _UnknownHostKey(hostname, key)


class _UnknownHostKey(paramiko.SSHException):
    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        super().__init__(f"host {hostname} not in known_hosts")
        self.key = key


class SftpFileStore:
    """A folder on an SFTP server (see :class:`connectors.filestore.FileStore`)."""

    def __init__(
        self, sftp: paramiko.SFTPClient, remote_dir: str, *, label: str, source: str
    ) -> None:
        self._sftp = sftp
        self._dir = remote_dir
        self.label = label
        self._source = source

    def _path(self, *parts: str) -> str:
        for part in parts:
            safe_name(part, source=self._source)
        return posixpath.join(self._dir, *parts)

    @contextmanager
    def _translated(self, action: str, code: str = "SRC-SFTP") -> Iterator[None]:
        try:
            yield
        except (OSError, paramiko.SSHException) as exc:
            detail = getattr(exc, "strerror", None) or exc.__class__.__name__
            raise SourceError(
                f"cannot {action} on {self.label} ({detail})", source=self._source, code=code
            ) from exc

    def subfolder(self, folder: str) -> SftpFileStore:
        """The store rooted at ``folder`` below this one, on the same SFTP session."""
        return SftpFileStore(
            self._sftp, self._path(folder), label=f"{self.label}/{folder}", source=self._source
        )

    def list(self) -> list[FileInfo]:
        """Regular files of the drop folder (links and folders are skipped)."""
        with self._translated("list the drop folder", "SRC-LIST"):
            entries = self._sftp.listdir_attr(self._dir)
        out = []
        for entry in entries:
            mode = entry.st_mode or 0
            if stat.S_ISREG(mode):
                out.append(FileInfo(entry.filename, entry.st_size or 0, float(entry.st_mtime or 0)))
        return out

    def open(self, name: str) -> BinaryIO:
        """Open for reading, with read-ahead (SFTP round trips dominate otherwise)."""
        path = self._path(name)
        with self._translated(f"open {name}", "SRC-READ"):
            remote = self._sftp.open(path, "rb")
            remote.prefetch()
        return cast(BinaryIO, _ReadTranslated(remote, self, name))

    def local_path(self, name: str) -> Path | None:
        """Always None: SFTP files are copied before reading."""
        return None

    def mkdir(self, folder: str) -> None:
        """Create the sub-folder unless it exists."""
        path = self._path(folder)
        with self._translated(f"create {folder}/", "SRC-MOVE"):
            try:
                self._sftp.stat(path)
            except FileNotFoundError:
                try:
                    self._sftp.mkdir(path, mode=0o700)
                except OSError:
                    # Made meanwhile by another share of the same run: fine. Otherwise
                    # (stat fails too) the stat's error is the one reported.
                    self._sftp.stat(path)

    def exists(self, folder: str, name: str) -> bool:
        """Whether ``folder/name`` exists on the server."""
        path = self._path(folder, name)
        with self._translated(f"look up {folder}/{name}"):
            try:
                self._sftp.lstat(path)
            except FileNotFoundError:
                return False
        return True

    def move(self, name: str, folder: str, new_name: str) -> None:
        """SFTP rename: refuses to overwrite, never copies."""
        with self._translated(f"move {name} to {folder}/", "SRC-MOVE"):
            self._sftp.rename(self._path(name), self._path(folder, new_name))

    def write_text(self, folder: str, name: str, text: str) -> None:
        """Write a reason file on the server."""
        path = self._path(folder, name)
        with (
            self._translated(f"write {folder}/{name}", "SRC-MOVE"),
            self._sftp.open(path, "wb") as out,
        ):
            out.write(text.encode("utf-8"))


class _ReadTranslated:
    """A remote file whose read errors become SourceError, as every store error does."""

    def __init__(self, remote: paramiko.SFTPFile, store: SftpFileStore, name: str) -> None:
        self._remote = remote
        self._store = store
        self._name = name

    def read(self, size: int = -1) -> bytes:
        with self._store._translated(f"read {self._name}", "SRC-READ"):
            return self._remote.read(size)

    def close(self) -> None:
        self._remote.close()


class SftpConnector(FileDropConnector):
    """Reads an SFTP drop folder (registered as connector kind ``sftp``)."""

    config_model: ClassVar[type[ConnectorConfig]] = SftpConfig

    def __init__(self, config: SftpConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.sftp_config = config
        self.where = f"{config.host}:{config.port}"

    def _fail(self, message: str, code: str) -> SourceError:
        return SourceError(message, source=self.context.source_name, code=code)

    def _key(self) -> paramiko.PKey:
        config = self.sftp_config
        secret = config.private_key_passphrase
        try:
            return paramiko.PKey.from_path(
                config.private_key, secret.get_secret_value() if secret else None
            )
        except OSError as exc:
            raise self._fail(
                f"cannot read private key file {config.private_key} ({exc.strerror})", "SRC-KEY"
            ) from exc
        except (paramiko.SSHException, ValueError) as exc:
            raise self._fail(
                f"private key file {config.private_key} is not a usable key "
                f"({exc.__class__.__name__}; wrong or missing passphrase?)",
                "SRC-KEY",
            ) from exc

    def connect(self) -> paramiko.SSHClient:
        """An authenticated SSH client, or one clear SourceError (host key, auth, network)."""
        config = self.sftp_config
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(str(config.known_hosts))
        except OSError as exc:
            client.close()
            raise self._fail(
                f"cannot read known_hosts file {config.known_hosts} ({exc.strerror}); "
                "the server's host key must be pinned there",
                "SRC-HOSTKEY",
            ) from exc
        client.set_missing_host_key_policy(_RejectUnknownHost())
        key = self._key()
        try:
            client.connect(
                config.host,
                port=config.port,
                username=config.username,
                pkey=key,
                allow_agent=False,
                look_for_keys=False,
                timeout=config.timeout_seconds,
                banner_timeout=config.timeout_seconds,
                auth_timeout=config.timeout_seconds,
            )
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise self._fail(
                f"host key of {self.where} has CHANGED: it presented {exc.key.fingerprint}, "
                f"but {config.known_hosts} pins {exc.expected_key.fingerprint}; refusing to "
                "connect (update known_hosts only after checking the new key with the "
                "server's owner)",
                "SRC-HOSTKEY",
            ) from exc
        except _UnknownHostKey as exc:
            client.close()
            raise self._fail(
                f"host {self.where} is not pinned in {config.known_hosts} (it presented "
                f"{exc.key.fingerprint}); refusing to connect",
                "SRC-HOSTKEY",
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise self._fail(
                f"public-key authentication as {config.username} to {self.where} failed",
                "SRC-AUTH",
            ) from exc
        except (paramiko.SSHException, EOFError) as exc:
            client.close()
            raise self._fail(
                f"SSH session with {self.where} failed ({exc.__class__.__name__})", "SRC-SSH"
            ) from exc
        except OSError as exc:  # includes socket time-outs
            client.close()
            detail = getattr(exc, "strerror", None) or exc.__class__.__name__
            raise self._fail(f"cannot connect to {self.where} ({detail})", "SRC-CONNECT") from exc
        return client

    @contextmanager
    def _store(self) -> Iterator[FileStore]:
        client = self.connect()
        try:
            try:
                sftp = client.open_sftp()
            except (paramiko.SSHException, OSError) as exc:
                raise self._fail(
                    f"SFTP is not available on {self.where} ({exc.__class__.__name__})", "SRC-SSH"
                ) from exc
            label = f"sftp://{self.sftp_config.username}@{self.where}/{self.sftp_config.remote_dir}"
            yield SftpFileStore(
                sftp, self.sftp_config.remote_dir, label=label, source=self.context.source_name
            )
        finally:
            client.close()
