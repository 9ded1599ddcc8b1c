"""File drops, written once for every store: which files are ready, read once, then put away.

A run of a file-drop source (local folder or SFTP) goes:

1. **List twice**, ``stable_seconds`` apart; a file is complete when its size and time did not
   change between the looks. ``*.part`` files and hidden (``.name``) files are in-progress
   uploads and are never taken. Names are matched to ``pattern`` case-insensitively; a name that
   could leave the folder (``..``, separators, control characters) is refused and reported,
   never opened or moved. Sets whose companion files (SSDA903 episodes, related CSVs) are not
   all there and complete wait for a later run.
2. **Hash** each set (SHA-256 of its files, while copying SFTP files to the private work folder
   in the state directory). A content already dealt with is not read again: it is moved to
   where its twin went (archive, or quarantine with a new reason file).
3. **Read** (:func:`~connectors.filereader.checked_records`): the reader's check either passes
   or sets the whole set aside, and no record is handed on before it has; then the records
   follow. Record-level problems skip those records only.
4. **Put away**: the content hash is remembered first, then the files move to ``archive/``
   (everything read) or ``quarantine/`` (set aside whole, or partly read) with
   ``<name>.reason.txt`` naming the file, the line or element and the rule, never a value.
   ``quarantine/`` is therefore the one place an administrator looks: every file in it needs
   attention, and its reason file says whether any of its records were used.

Records are handed over while the set is read; a set is put away only once the consumer has
committed its last record (:meth:`~connectors.base.ReadReport.once_committed`), so a run that
stops half-way reads that set again next time (at least once; the delta engine's content
hashes make a repeat harmless). A bad set never stops the run.
The ``since`` watermark of :meth:`~connectors.base.Connector.read` has no use here: the hash
state is the watermark.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from adapter.log import get_logger
from connectors.base import ConnectorConfig, ConnectorContext, Quarantined, ReadReport, SourceRecord
from connectors.cin import CinReader
from connectors.csvfile import CsvOptions
from connectors.ctf import CtfReader
from connectors.filereader import (
    BadFile,
    FileReader,
    FileSet,
    LocalFile,
    RecordProblems,
    checked_records,
)
from connectors.filestore import FileInfo, FileStore, name_problem, opened
from connectors.processed import Outcome, ProcessedFiles
from connectors.ssda903 import Ssda903Reader
from connectors.textinput import valid_codec
from ldi.errors import SourceError
from ldi.safexml import FILE_MAX_BYTES

log = get_logger(__name__)

IN_PROGRESS_SUFFIX = ".part"
_COPY_CHUNK = 1 << 20


class FileDropConfig(ConnectorConfig):
    """Settings shared by every file-drop connector (``localdir``, ``sftp``)."""

    format: Literal["ctf", "cin", "ssda903", "csv"] = Field(description="File format of the drop")
    pattern: str | None = Field(
        default=None,
        description="Glob of the files to read, case-insensitive (default per format: "
        "*.xml; ssda903 *header*.csv; csv *.csv)",
    )
    stable_seconds: float = Field(
        default=5.0, ge=0, le=3600, description="A file is complete when unchanged this long"
    )
    archive_dir: str = Field(default="archive", description="Sub-folder for files read")
    quarantine_dir: str = Field(default="quarantine", description="Sub-folder for bad files")
    max_file_bytes: int = Field(
        default=FILE_MAX_BYTES, gt=0, description="Larger files: quarantine"
    )
    encoding: str | None = Field(
        default=None, description="Encoding of CSV files when known (a BOM still wins)"
    )
    fallback_encoding: str | None = Field(
        default=None, description="Encoding tried when a CSV file is not UTF-8, e.g. cp1252"
    )
    csv: CsvOptions | None = Field(default=None, description="Column map; required for csv")

    @field_validator("archive_dir", "quarantine_dir")
    @classmethod
    def _plain_folder(cls, value: str) -> str:
        problem = name_problem(value)
        if problem is not None:
            raise ValueError(f"must be a plain folder name: {problem}")
        return value

    @field_validator("pattern")
    @classmethod
    def _plain_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            problem = name_problem(value.replace("*", "x").replace("?", "x"))
            if problem is not None:
                raise ValueError(f"must match names in one folder: {problem}")
        return value

    @field_validator("encoding", "fallback_encoding")
    @classmethod
    def _known_codec(cls, value: str | None) -> str | None:
        return None if value is None else valid_codec(value)

    @model_validator(mode="after")
    def _consistent(self) -> FileDropConfig:
        if (self.format == "csv") != (self.csv is not None):
            raise ValueError("csv options are required for format csv, and only for it")
        if self.archive_dir == self.quarantine_dir:
            raise ValueError("archive_dir and quarantine_dir must differ")
        return self

    def reader(self) -> FileReader:
        """The reader of :attr:`format`."""
        if self.format == "ctf":
            return CtfReader()
        if self.format == "cin":
            return CinReader()
        if self.format == "ssda903":
            return Ssda903Reader(encoding=self.encoding, fallback_encoding=self.fallback_encoding)
        assert self.csv is not None  # by _consistent
        return self.csv.reader(
            pattern="*.csv", encoding=self.encoding, fallback_encoding=self.fallback_encoding
        )


class _Unreadable(Exception):
    """A local file of a set could not be read for hashing (raised before any record)."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(name)
        self.name = name
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _Set:
    primary: FileInfo
    companions: Mapping[str, FileInfo]

    def files(self) -> list[tuple[str, FileInfo]]:
        return [("", self.primary), *sorted(self.companions.items())]


class FileDrop:
    """One run over one store; see the module docstring."""

    def __init__(
        self,
        config: FileDropConfig,
        store: FileStore,
        context: ConnectorContext,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.store = store
        self.context = context
        self.reader = config.reader()
        self.pattern = (config.pattern or self.reader.default_pattern).casefold()
        self._sleep = sleep
        share = context.share
        # A share has a work folder of its own: the shares of a run clear and fill theirs at once.
        self._work = context.state_dir / ("work" if share is None else f"work.{share.index}")
        self._folders_made = False

    # ----- public -----

    def read(self, report: ReadReport) -> Iterator[SourceRecord]:
        """Every record of every complete, new set; bad sets quarantined, read sets archived."""
        processed = ProcessedFiles(self.context.state_dir, source=self.context.source_name)
        self._clear_work()
        for item in self._complete_sets(report, wait=True):
            yield from self._process(item, processed, report)

    def sample(self, limit: int) -> list[SourceRecord]:
        """Up to ``limit`` records, without waiting, moving or remembering.

        New sets first; when none is waiting (the nightly files were already read and put
        away), the newest sets in ``archive/``, so a source whose drop folder is empty between
        deliveries can still be sampled (``sources test``, instance accreditation, DQ report).
        """
        out = self._sample_from(self, limit, skip_processed=True)
        if out:
            return out
        archived = FileDrop(
            self.config, self.store.subfolder(self.config.archive_dir), self.context
        )
        try:
            return archived._sample_from(archived, limit, skip_processed=False, newest_first=True)
        except SourceError as exc:
            if exc.code != "SRC-LIST":
                raise
            return []  # no archive yet: nothing was ever read

    @staticmethod
    def _sample_from(
        drop: FileDrop, limit: int, *, skip_processed: bool, newest_first: bool = False
    ) -> list[SourceRecord]:
        processed = ProcessedFiles(drop.context.state_dir, source=drop.context.source_name)
        out: list[SourceRecord] = []
        seen: set[str] = set()
        sets = drop._complete_sets(ReadReport(), wait=False)
        for item in reversed(sets) if newest_first else sets:
            if len(out) >= limit:
                break
            if any(f.size > drop.config.max_file_bytes for _, f in item.files()):
                continue
            with drop._local(item) as (files, digest):
                if skip_processed and processed.outcome(digest) is not None:
                    continue
                try:
                    drop.reader.check(files)
                    for record in drop.reader.records(files, RecordProblems()):
                        if newest_first:  # older exports of the same child are not the source
                            if record.key in seen:
                                continue
                            seen.add(record.key)
                        out.append(record)
                        if len(out) >= limit:
                            break
                except BadFile:
                    continue
        return out

    # ----- finding complete sets -----

    def _complete_sets(self, report: ReadReport, *, wait: bool) -> list[_Set]:
        first = {f.name: f for f in self.store.list()}
        if wait and self.config.stable_seconds > 0:
            self._sleep(self.config.stable_seconds)
            second = {f.name: f for f in self.store.list()}
        else:
            second = first
        stable = {n: f for n, f in second.items() if first.get(n) == f}
        sets = []
        for name, info in sorted(second.items(), key=lambda kv: (kv[1].mtime, kv[0])):
            if not fnmatchcase(name.casefold(), self.pattern):
                continue
            if self.context.share is not None and not self.context.share.owns(name):
                continue  # another share of this run reads (or refuses) it
            problem = name_problem(name)
            if problem is not None:
                self._refuse_name(name, problem, report)
                continue
            if name.endswith(IN_PROGRESS_SUFFIX) or name.startswith("."):
                continue
            if not self.reader.is_primary(name):
                continue
            if name not in stable:
                log.info("file_incomplete", source=self.context.source_name, file=name)
                continue
            companions: dict[str, FileInfo] = {}
            for role, other in self.reader.companions(name).items():
                problem = name_problem(other)
                if problem is not None:
                    self._refuse_name(other, problem, report)
                    break
                if other not in stable:
                    log.info(
                        "file_waiting_for_companion",
                        source=self.context.source_name,
                        file=name,
                        element=role,
                    )
                    break
                companions[role] = stable[other]
            else:
                sets.append(_Set(info, companions))
        return sets

    def _refuse_name(self, name: str, problem: str, report: ReadReport) -> None:
        shown = repr(name[:80])
        reason = f"file name {shown} refused: {problem}; the file was neither read nor moved"
        report.quarantine(Quarantined(origin=shown, code="SRC-PATH", reason=reason))
        log.warning("file_name_refused", source=self.context.source_name, code="SRC-PATH")

    # ----- one set -----

    def _process(
        self, item: _Set, processed: ProcessedFiles, report: ReadReport
    ) -> Iterator[SourceRecord]:
        too_big = next((f for _, f in item.files() if f.size > self.config.max_file_bytes), None)
        if too_big is not None:
            error = BadFile(
                too_big.name,
                None,
                f"file is {too_big.size} bytes, over the limit of {self.config.max_file_bytes}",
                code="SRC-TOO-LARGE",
            )
            self._quarantine(item, error.code, error.message, report, None)
            return
        try:
            yield from self._read_set(item, processed, report)
        except _Unreadable as exc:  # e.g. no read permission: set aside, the run goes on
            reason = f"{exc.name}: cannot read ({exc.detail})"
            self._quarantine(item, "SRC-UNREADABLE", reason, report, None)

    def _read_set(
        self, item: _Set, processed: ProcessedFiles, report: ReadReport
    ) -> Iterator[SourceRecord]:
        name = item.primary.name
        with self._local(item) as (files, digest):
            earlier = processed.outcome(digest)
            if earlier is not None:
                self._seen_before(item, earlier, report)
                return
            problems = RecordProblems()
            count = 0
            try:
                for record in checked_records(self.reader, files, problems):
                    count += 1
                    yield record
            except BadFile as exc:
                note = f" ({count} records were handed on before this)" if count else ""
                reason = exc.message + note

                def set_aside(code: str = exc.code) -> None:
                    processed.remember(digest, Outcome.QUARANTINED, name)
                    self._quarantine(item, code, reason, report, digest)

                report.once_committed(set_aside)
                return
            report.units_read += 1

            def put_away() -> None:
                if problems.count:
                    processed.remember(digest, Outcome.QUARANTINED, name)
                    self._quarantine_partly(item, problems, count, report, digest)
                    return
                processed.remember(digest, Outcome.ARCHIVED, name)
                self._move(item, self.config.archive_dir)
                log.info(
                    "file_archived",
                    source=self.context.source_name,
                    file=name,
                    records=count,
                    outcome="archived",
                )

            # Only once the records handed on are committed (see ReadReport): a crash before
            # leaves the set in the drop, to be read again.
            report.once_committed(put_away)

    @contextmanager
    def _local(self, item: _Set) -> Iterator[tuple[FileSet, str]]:
        """The set as local files plus its content hash; downloaded copies are removed after."""
        copies: list[Path] = []
        local: dict[str, LocalFile] = {}
        digest = hashlib.sha256()
        try:
            for role, info in item.files():
                path = self.store.local_path(info.name)
                if path is None:
                    self._work.mkdir(mode=0o700, parents=True, exist_ok=True)
                    path = self._work / f"{len(copies)}-{info.name}"
                    copies.append(path)
                    file_hash = self._download(info.name, path)
                else:
                    try:
                        file_hash = _hash_file(path)
                    except OSError as exc:
                        raise _Unreadable(info.name, exc.strerror or "unreadable") from exc
                digest.update(f"{role}:{file_hash}\n".encode())
                local[role] = LocalFile(info.name, path)
            primary = local.pop("")
            yield FileSet(primary, local), digest.hexdigest()
        finally:
            for path in copies:
                path.unlink(missing_ok=True)

    def _download(self, name: str, path: Path) -> str:
        file_hash = hashlib.sha256()
        with opened(self.store, name) as remote, path.open("wb") as out:
            path.chmod(0o600)
            while chunk := remote.read(_COPY_CHUNK):
                file_hash.update(chunk)
                out.write(chunk)
        return file_hash.hexdigest()

    def _clear_work(self) -> None:
        """Copies left by a run that died: personal data, and never of use again."""
        if self._work.is_dir():
            shutil.rmtree(self._work)

    # ----- putting away -----

    def _seen_before(self, item: _Set, earlier: Outcome, report: ReadReport) -> None:
        name = item.primary.name
        if earlier is Outcome.ARCHIVED:
            self._move(item, self.config.archive_dir)
            log.info(
                "file_already_read", source=self.context.source_name, file=name, outcome="archived"
            )
            return
        reason = f"{name}: same content as a file quarantined before; not read again"
        self._quarantine(item, "SRC-ALREADY-QUARANTINED", reason, report, None)

    def _quarantine(
        self, item: _Set, code: str, reason: str, report: ReadReport, digest: str | None
    ) -> None:
        moved = self._move(item, self.config.quarantine_dir)
        text = self._reason_text(item, moved, "set aside whole: no record of it was used", digest)
        text += f"code: {code}\nreason: {reason}\n"
        self._write_reasons(item, moved, text)
        where = Path(self.config.quarantine_dir) / moved[item.primary.name]
        report.quarantine(Quarantined(item.primary.name, code, reason, moved_to=where))
        log.warning(
            "file_quarantined",
            source=self.context.source_name,
            file=item.primary.name,
            code=code,
            reason=reason,
        )

    def _quarantine_partly(
        self, item: _Set, problems: RecordProblems, count: int, report: ReadReport, digest: str
    ) -> None:
        moved = self._move(item, self.config.quarantine_dir)
        where = Path(self.config.quarantine_dir) / moved[item.primary.name]
        outcome = f"partly read: {count} records used, {problems.count} set aside"
        lines = [self._reason_text(item, moved, outcome, digest), "set aside:\n"]
        for problem in problems.listed:
            lines.append(f"  [{problem.code}] {problem.reason}\n")
            report.quarantine(
                Quarantined(problem.origin, problem.code, problem.reason, moved_to=where)
            )
        if problems.unlisted:
            summary = f"{item.primary.name}: {problems.unlisted} more records set aside, not listed"
            lines.append(f"  {summary}\n")
            report.quarantine(
                Quarantined(item.primary.name, "SRC-BAD-RECORD", summary, moved_to=where)
            )
        self._write_reasons(item, moved, "".join(lines))
        log.warning(
            "file_partly_read",
            source=self.context.source_name,
            file=item.primary.name,
            records=count,
            count=problems.count,
            outcome="quarantined",
        )

    @staticmethod
    def _reason_text(item: _Set, moved: Mapping[str, str], outcome: str, digest: str | None) -> str:
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = f"file: {item.primary.name}\n"
        if item.companions:
            text += f"with: {', '.join(f.name for f in item.companions.values())}\n"
        if moved[item.primary.name] != item.primary.name:
            text += f"renamed to: {moved[item.primary.name]} (a file of that name was there)\n"
        text += f"outcome: {outcome}\nwhen: {when}\n"
        if digest:
            text += f"sha256: {digest}\n"
        return text

    def _write_reasons(self, item: _Set, moved: Mapping[str, str], text: str) -> None:
        folder = self.config.quarantine_dir
        primary = moved[item.primary.name]
        self.store.write_text(folder, f"{primary}.reason.txt", text)
        for info in item.companions.values():
            self.store.write_text(
                folder,
                f"{moved[info.name]}.reason.txt",
                f"file: {info.name}\nquarantined with {primary}: see {primary}.reason.txt\n",
            )

    def _move(self, item: _Set, folder: str) -> dict[str, str]:
        """Move every file of the set into ``folder``; the name each got there."""
        if not self._folders_made:  # made on first need: a wrong drop folder fails on listing
            self.store.mkdir(self.config.archive_dir)
            self.store.mkdir(self.config.quarantine_dir)
            self._folders_made = True
        moved = {}
        for _, info in item.files():
            target = self._free_name(folder, info.name)
            self.store.move(info.name, folder, target)
            moved[info.name] = target
        return moved

    def _free_name(self, folder: str, name: str) -> str:
        stem, dot, ext = name.rpartition(".")
        stem, ext = (stem, dot + ext) if dot and stem else (name, "")
        candidate, number = name, 0
        while self.store.exists(folder, candidate) or self.store.exists(
            folder, f"{candidate}.reason.txt"
        ):
            number += 1
            candidate = f"{stem}.{number}{ext}"
        return candidate


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class FileDropConnector:
    """Base of the ``localdir`` and ``sftp`` connectors: they differ only in their store.

    Splittable (:class:`~connectors.base.Share`): each share reads the sets whose primary file
    name it owns. Shares of one run share nothing else but the processed-files state, which
    they only append to, each for its own sets.
    """

    config_model: ClassVar[type[ConnectorConfig]] = FileDropConfig
    splittable: ClassVar[bool] = True

    def __init__(self, config: FileDropConfig, context: ConnectorContext) -> None:
        self.config = config
        self.context = context
        self._held_open = ExitStack()  # the stores of reads, closed by close()

    @contextmanager
    def _store(self) -> Iterator[FileStore]:
        raise NotImplementedError
        yield  # pragma: no cover

    def read(self, report: ReadReport, *, since: str | None = None) -> Iterator[SourceRecord]:
        """See :meth:`FileDrop.read`; ``since`` is ignored (the hash state is the watermark).

        The store (an SFTP session) stays open until :meth:`close`, not only until the last
        record: a consumer that defers putting sets away until they are committed
        (:meth:`ReadReport.once_committed`) runs the last steps after the read has ended.
        """
        store = self._held_open.enter_context(self._store())
        yield from FileDrop(self.config, store, self.context).read(report)

    def sample(self, limit: int) -> list[SourceRecord]:
        """See :meth:`FileDrop.sample`."""
        with self._store() as store:
            return FileDrop(self.config, store, self.context).sample(limit)

    def close(self) -> None:
        """Close the stores of reads (see :meth:`read`); a sample closes its own."""
        self._held_open.close()
