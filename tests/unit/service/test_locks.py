"""Per-source run locks hold across threads and processes and vanish with their holder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from adapter.service.locks import SourceLock

_HOLDER = """
import sys, time
from pathlib import Path
from adapter.service.locks import SourceLock
lock = SourceLock(Path(sys.argv[1]), "frameworki")
print("held" if lock.acquire() else "busy", flush=True)
sys.stdin.readline()
"""


def test_a_second_process_cannot_take_a_held_source_lock(tmp_path: Path) -> None:
    """While another process holds frameworki's lock, this one is refused; after, it gets it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        mine = SourceLock(tmp_path, "frameworki")
        assert not mine.acquire()
        assert SourceLock(tmp_path, "schools").acquire()  # other sources are independent
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=10)
    assert mine.acquire()
    mine.release()


def test_two_holders_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    """Two lock objects for one source in one process (two threads) cannot both hold it."""
    first, second = SourceLock(tmp_path, "raise"), SourceLock(tmp_path, "raise")
    with first as got_first:
        assert got_first
        assert not second.acquire()
    assert second.acquire()
    second.release()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    """A holder that is killed releases the lock with its process."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=10)
    lock = SourceLock(tmp_path, "frameworki")
    assert lock.acquire()
    lock.release()
