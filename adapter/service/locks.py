"""One feed run per source at a time, across threads and processes: a file lock per source.

``flock`` on ``<lock_dir>/<source>.lock`` (lock_dir defaults to ``var/locks``): the kernel drops
the lock when the process dies, so a crashed service never leaves a source locked. A second
``cpadapter serve`` (or a ``cpadapter run`` wrapped in the same lock) on the same machine and
folder sees the source busy and skips that run. With several machines on one PostgreSQL store,
give each its own sources or a shared lock_dir on a file system with working ``flock``.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


class SourceLock:
    """A non-blocking exclusive lock on one source's lock file."""

    def __init__(self, lock_dir: Path, source: str) -> None:
        self.path = lock_dir / f"{source}.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; False (at once) if another holder has it."""
        if self._fd is not None:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Let the lock go (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.release()
