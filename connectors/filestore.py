"""Where dropped files live: one small interface over a local directory and an SFTP folder.

The file-drop logic (complete-file detection, content hashes, archive and quarantine) is
written once in :mod:`connectors.filedrop` against :class:`FileStore`; a store only lists,
opens, creates folders, moves and writes a reason file. Every name that reaches a store passes
:func:`safe_name` first, so neither a crafted listing from a server nor a bad config value can
make the adapter read or move anything outside its drop folder.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from ldi.errors import SourceError

_WINDOWS_RESERVED = frozenset('<>:"|?*')


class UnsafeName(SourceError):
    """A file or folder name that could leave the drop folder (``..``, separators, absolute)."""

    code = "SRC-PATH"


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a plain file name inside one folder, or None when it is.

    Refused: empty names, ``.`` and ``..``, any ``/`` or ``\\`` (so no absolute paths and no
    sub-paths), NUL and other control characters (they also break reason files and logs),
    drive-letter and other Windows-reserved characters, and names over 255 bytes.
    """
    if not name or name in {".", ".."}:
        return "empty, '.' or '..'"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains a control character"
    if any(c in _WINDOWS_RESERVED for c in name):
        return "contains a character reserved on Windows (drive letter or wildcard)"
    if len(name.encode("utf-8", errors="surrogatepass")) > 255:
        return "longer than 255 bytes"
    return None


def safe_name(name: str, *, source: str = "") -> str:
    """``name`` unchanged when it is a plain file name; :class:`UnsafeName` otherwise."""
    problem = name_problem(name)
    if problem is not None:
        # repr() with a cap: shows the offending characters without echoing a long value.
        raise UnsafeName(f"file name {name[:80]!r} refused: {problem}", source=source)
    return name


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One entry of a listing: only regular files are listed."""

    name: str
    size: int
    mtime: float


class FileStore(Protocol):
    """A flat drop folder with sub-folders for archive and quarantine."""

    label: str  # where, for messages: a directory or sftp://host:port/dir (no secrets)

    def subfolder(self, folder: str) -> FileStore:
        """The same store rooted at ``folder`` (e.g. ``archive``), read-only in practice."""
        ...

    def list(self) -> list[FileInfo]:
        """Regular files directly in the drop folder (not in sub-folders), names unchecked."""
        ...

    def open(self, name: str) -> BinaryIO:
        """Open a file of the drop folder for binary reading."""
        ...

    def local_path(self, name: str) -> Path | None:
        """A local path of the file when the store is local (no copy needed), else None."""
        ...

    def mkdir(self, folder: str) -> None:
        """Create a sub-folder of the drop folder unless it exists."""
        ...

    def exists(self, folder: str, name: str) -> bool:
        """Whether ``folder/name`` exists."""
        ...

    def move(self, name: str, folder: str, new_name: str) -> None:
        """Move a file of the drop folder to ``folder/new_name`` (same server, no copy)."""
        ...

    def write_text(self, folder: str, name: str, text: str) -> None:
        """Write a small UTF-8 text file (a reason file) to ``folder/name``."""
        ...


class LocalFileStore:
    """A directory on this machine (or a mounted share)."""

    def __init__(self, root: Path, *, source: str = "") -> None:
        self.root = root
        self.label = str(root)
        self._source = source

    def _path(self, *parts: str) -> Path:
        for part in parts:
            safe_name(part, source=self._source)
        return self.root.joinpath(*parts)

    def subfolder(self, folder: str) -> LocalFileStore:
        """The store rooted at ``folder`` below this one (the name is checked like any other)."""
        return LocalFileStore(self._path(folder), source=self._source)

    def list(self) -> list[FileInfo]:
        """Regular files only: symbolic links are skipped so a link cannot point elsewhere."""
        try:
            entries = list(os.scandir(self.root))
        except OSError as exc:
            raise SourceError(
                f"cannot list {self.label} ({exc.strerror})", source=self._source, code="SRC-LIST"
            ) from exc
        out = []
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished between listing and stat: the next run sees it or not
            if stat.S_ISREG(info.st_mode):
                out.append(FileInfo(entry.name, info.st_size, info.st_mtime))
        return out

    def open(self, name: str) -> BinaryIO:
        """Open for reading, refusing to follow a link that replaced the file after listing."""
        path = self._path(name)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            raise SourceError(
                f"cannot open {name} in {self.label} ({exc.strerror})",
                source=self._source,
                code="SRC-READ",
            ) from exc
        return os.fdopen(fd, "rb")

    def local_path(self, name: str) -> Path | None:
        """The file itself: a local drop folder is read in place."""
        return self._path(name)

    def mkdir(self, folder: str) -> None:
        """Create ``folder`` (owner-only permissions: it holds personal data)."""
        try:
            self._path(folder).mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise SourceError(
                f"cannot create {folder}/ in {self.label} ({exc.strerror})",
                source=self._source,
                code="SRC-MOVE",
            ) from exc

    def exists(self, folder: str, name: str) -> bool:
        """Whether ``folder/name`` exists (a link counts, so it is never overwritten)."""
        return os.path.lexists(self._path(folder, name))

    def move(self, name: str, folder: str, new_name: str) -> None:
        """Rename within the drop folder's file system."""
        try:
            os.rename(self._path(name), self._path(folder, new_name))
        except OSError as exc:
            raise SourceError(
                f"cannot move {name} to {folder}/ in {self.label} ({exc.strerror})",
                source=self._source,
                code="SRC-MOVE",
            ) from exc

    def write_text(self, folder: str, name: str, text: str) -> None:
        """Write a reason file."""
        try:
            self._path(folder, name).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SourceError(
                f"cannot write {folder}/{name} in {self.label} ({exc.strerror})",
                source=self._source,
                code="SRC-MOVE",
            ) from exc


@contextmanager
def opened(store: FileStore, name: str) -> Iterator[BinaryIO]:
    """``store.open(name)`` as a context manager that always closes."""
    stream = store.open(name)
    try:
        yield stream
    finally:
        stream.close()
