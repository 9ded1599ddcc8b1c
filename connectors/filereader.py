"""What every file reader is: one file (with its companion files) in, SourceRecords out.

A reader is pure: it knows nothing of SFTP, archives or state, so the same code serves a
local folder, an SFTP drop and a test. Reading is in two passes over local files:

1. :meth:`FileReader.check` looks at the whole file (well-formed, safe, decodable, the columns
   that are needed) and raises :class:`BadFile` naming the file and the line or element. Nothing
   has been yielded yet, so a bad file contributes no record at all: a data administrator never
   has to wonder which half of a truncated file was used.
2. :meth:`FileReader.records` streams one record per child. A problem confined to one record
   (a child without its key, a duplicate key) is noted in :class:`RecordProblems` and that
   record alone is skipped; the rest of the file is read.

Reasons name a file, an element or line and a rule; never a value from the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from connectors.base import Quarantined, SourceRecord
from ldi.errors import QuarantinedInput

#: Record-level problems listed one by one per file; beyond this they are only counted.
MAX_LISTED_PROBLEMS = 1000


class BadFile(QuarantinedInput):
    """A whole file is set aside; ``where`` is a line or element, ``problem`` says what."""

    code = "SRC-BAD-FILE"

    def __init__(self, file: str, where: str | None, problem: str, *, code: str) -> None:
        super().__init__(
            f"{file}: {where}: {problem}" if where else f"{file}: {problem}", code=code
        )
        self.file = file
        self.where = where
        self.problem = problem


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file to read: its name as dropped (used in reasons) and where it is on local disk."""

    name: str
    path: Path


@dataclass(frozen=True, slots=True)
class FileSet:
    """A primary file and its companions by role (e.g. SSDA903 header + ``episodes``)."""

    primary: LocalFile
    companions: Mapping[str, LocalFile] = field(default_factory=dict)

    def all(self) -> list[LocalFile]:
        """The primary first, then companions in role order."""
        return [self.primary, *(self.companions[r] for r in sorted(self.companions))]


class RecordProblems:
    """Record-level problems of one file set: listed up to a cap, counted beyond it."""

    def __init__(self) -> None:
        self.listed: list[Quarantined] = []
        self.count = 0

    def add(self, file: str, where: str, problem: str, *, code: str = "SRC-BAD-RECORD") -> None:
        """Note that the record at ``where`` in ``file`` was skipped because of ``problem``."""
        self.count += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            self.listed.append(
                Quarantined(origin=file, code=code, reason=f"{file}: {where}: {problem}")
            )

    def extend(self, other: RecordProblems) -> None:
        """Take over ``other``'s problems (listed up to the cap, all counted)."""
        room = MAX_LISTED_PROBLEMS - len(self.listed)
        self.listed.extend(other.listed[: max(room, 0)])
        self.count += other.count

    @property
    def unlisted(self) -> int:
        """Problems counted but not listed (over :data:`MAX_LISTED_PROBLEMS`)."""
        return self.count - len(self.listed)


class FileReader(Protocol):
    """One file format (CTF, CIN, SSDA903, CSV)."""

    default_pattern: str  # glob of the primary files when the config names none
    #: True when ``records`` read to the end raises every BadFile that ``check`` would, except
    #: for a set with no records at all; :func:`checked_records` then reads such a set once.
    checks_while_reading: bool

    def is_primary(self, name: str) -> bool:
        """Whether a matching file starts a set (a companion such as episodes.csv does not)."""
        ...

    def companions(self, name: str) -> dict[str, str]:
        """Names of the companion files of primary ``name``, by role (empty for most formats)."""
        ...

    def check(self, files: FileSet) -> None:
        """First pass over the whole set: :class:`BadFile` when it cannot be used at all."""
        ...

    def records(self, files: FileSet, problems: RecordProblems) -> Iterator[SourceRecord]:
        """Second pass: one record per child, skipping (and noting) records that are unusable."""
        ...


def read_files(
    reader: FileReader,
    primary: Path,
    problems: RecordProblems,
    *,
    companions: Mapping[str, Path] | None = None,
) -> Iterator[SourceRecord]:
    """Check then stream one local file set; companions default to the reader's naming rule.

    This is the whole reading contract without any file-drop handling: a library user or a
    test gets exactly what the connectors get.
    """
    if companions is None:
        companions = {r: primary.with_name(n) for r, n in reader.companions(primary.name).items()}
    files = FileSet(
        LocalFile(primary.name, primary),
        {role: LocalFile(path.name, path) for role, path in companions.items()},
    )
    yield from checked_records(reader, files, problems)


#: A set of at most this many records is read once and held until its end (see below).
BUFFERED_RECORDS = 2_000


def checked_records(
    reader: FileReader, files: FileSet, problems: RecordProblems
) -> Iterator[SourceRecord]:
    """The set's records, none handed on before the whole set is known to be usable.

    Two passes in general: ``check``, then ``records``. A reader that checks while reading
    (:attr:`FileReader.checks_while_reading`) is read once when the set holds at most
    :data:`BUFFERED_RECORDS` records (a school's export): the records are held until the end of
    the set, so a BadFile anywhere still means none were handed on, and a set with no records
    gets ``check``'s verdict. A larger set is checked and read again, keeping memory flat.
    """
    if reader.checks_while_reading:
        trial = RecordProblems()
        records = reader.records(files, trial)
        held = []
        for record in records:
            held.append(record)
            if len(held) > BUFFERED_RECORDS:
                held.clear()
                stop = getattr(records, "close", None)  # a generator: let go of its file now
                if stop is not None:
                    stop()
                break  # too large to hold: the two-pass way below
        else:
            if not held:
                reader.check(files)
            problems.extend(trial)
            yield from held
            return
    reader.check(files)
    yield from reader.records(files, problems)
