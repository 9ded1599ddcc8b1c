"""Which file contents a file-drop source has already dealt with, by SHA-256.

A file is recognised by its content, not its name: exports are often written under the same
name every night, and a file copied back into the drop folder by mistake must not be read
twice. One line per set, appended and flushed as each set is finished, in
``<state_dir>/processed-files.tsv``::

    <sha256>\t<archived|quarantined>\t<UTC time>\t<file name>

Append-only text survives a crash mid-write (a torn last line is ignored on load) and stays
readable by an administrator. It holds hashes and file names only, no content.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from ldi.errors import SourceError

STATE_FILE = "processed-files.tsv"


class Outcome(StrEnum):
    """What became of a file set."""

    ARCHIVED = "archived"
    QUARANTINED = "quarantined"


_VALUES = frozenset(o.value for o in Outcome)


class ProcessedFiles:
    """The content hashes of file sets already archived or quarantined by one source."""

    def __init__(self, state_dir: Path, *, source: str = "") -> None:
        self.path = state_dir / STATE_FILE
        self._source = source
        self._known: dict[str, Outcome] = {}
        try:
            with self.path.open(encoding="utf-8") as lines:
                for line in lines:
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) >= 2 and len(parts[0]) == 64 and parts[1] in _VALUES:
                        self._known[parts[0]] = Outcome(parts[1])
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(
                f"cannot read the processed-files state {self.path} ({exc.__class__.__name__})",
                source=source,
                code="SRC-STATE",
            ) from exc

    def outcome(self, digest: str) -> Outcome | None:
        """How a set with this content hash ended before, or None if never seen."""
        return self._known.get(digest)

    def remember(self, digest: str, outcome: Outcome, name: str) -> None:
        """Record a finished set durably (flushed and fsynced before returning)."""
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(f"{digest}\t{outcome}\t{when}\t{name}\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise SourceError(
                f"cannot write the processed-files state {self.path} ({exc.strerror})",
                source=self._source,
                code="SRC-STATE",
            ) from exc
        self._known[digest] = outcome
