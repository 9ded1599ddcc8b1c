"""Worker processes: one on SQLite (enforced), several on PostgreSQL.

SQLite serialises writers, so a second worker would only queue behind the first, and leases
would be its only protection against two workers on one batch. Instead exactly one worker runs:
it holds an exclusive ``flock`` on ``<database>.deliver.lock`` for its whole life, which the
kernel releases the moment the process dies (even by ``kill -9``), so a restart never waits for
a stale lock. On PostgreSQL, ``--workers N`` starts N worker processes, each a plain
``cpadapter deliver`` with ``1/N`` of the send rate; more can run on other machines against the
same database.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from ldi.errors import StoreError


@contextmanager
def sole_worker_lock(database: Path) -> Iterator[None]:
    """Hold the one-worker lock of a SQLite store; StoreError if another worker holds it."""
    lock_path = database.with_name(database.name + ".deliver.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StoreError(
                f"another `cpadapter deliver` is already running on {database}: a SQLite store "
                "takes exactly one delivery worker (use PostgreSQL for several)",
                code="STORE-ONE-WORKER",
            ) from exc
        yield
    finally:
        os.close(descriptor)


def spawn_workers(count: int, arguments: Sequence[str]) -> int:
    """Run ``count`` worker processes (``python -m adapter deliver …``); the worst exit code.

    SIGTERM and SIGINT are passed on to every worker, which finishes its current step and stops.
    """
    share = f"{1 / count:.6f}"
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "adapter", "deliver", *arguments, "--rate-share", share]
        )
        for _ in range(count)
    ]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        codes = [child.wait() for child in children]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return max(codes)
