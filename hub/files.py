"""The hub's side of the SFTP transport (LDI-TRN-10 … 12): a processor of dropped files.

The SFTP server (OpenSSH in the tests, the national gateway in life) only moves bytes; this
module works on the account's directory as a local file system:

* it takes ``inbound/<batchId>.xml`` only - never ``*.part``, which a client is still writing
  (LDI-TRN-11), and nothing that is not a regular file;
* it processes the file exactly like ``SubmitBatch`` (:class:`hub.service.HubService`), with the
  file limit of 50,000 records and no SOAP envelope; the caller's identity comes from the drop's
  configured LA and source systems instead of a client certificate;
* it writes ``outbound/<batchId>.outcome.xml`` (a ``BatchOutcome``) or
  ``outbound/<batchId>.fault.xml`` (a ``FaultDetail``) through ``<name>.part``, ``fsync`` and a
  rename, so a client never sees half a file (LDI-TRN-12);
* only then does it delete the inbound file. A crash in between leaves the inbound file, and
  the next poll finds the batch already stored (LDI-TRN-06) and writes the same outcome again.

A failure that is the hub's own (the store is unusable) writes nothing and leaves the file for
the next poll; the client's errors become a fault file.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from adapter.log import get_logger
from hub.config import FileDrop
from hub.service import FILE_MAX_RECORDS, Caller, HubService
from hub.soap import fault, fault_detail
from ldi import NAMESPACE
from ldi.errors import HubError, InputError, NotWellFormed, StoreError
from ldi.models import FaultCode
from ldi.safexml import FILE_MAX_BYTES, parse_bytes
from ldi.xmlcodec import to_bytes

log = get_logger(__name__)

INBOUND = "inbound"
OUTBOUND = "outbound"
_BATCH = "{" + NAMESPACE + "}SubmissionBatch"


@dataclass(frozen=True, slots=True)
class FileResult:
    """What happened to one inbound file: the file written and the fault code, if any."""

    name: str
    written: Path
    code: str | None


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` via ``path.part``, fsync, rename, fsync the directory (LDI-TRN-12)."""
    part = path.with_name(path.name + ".part")
    with part.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    part.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class FileProcessor:
    """Polls the configured drops and answers every completed inbound file."""

    def __init__(
        self, service: HubService, drops: list[FileDrop], *, max_bytes: int = FILE_MAX_BYTES
    ) -> None:
        self._service = service
        self._drops = drops
        self._max_bytes = max_bytes

    def poll_once(self) -> list[FileResult]:
        """Process every ready inbound file of every drop, oldest first."""
        results: list[FileResult] = []
        for drop in self._drops:
            inbound = drop.directory / INBOUND
            outbound = drop.directory / OUTBOUND
            outbound.mkdir(parents=True, exist_ok=True)
            for path in _ready(inbound):
                result = self._answer(drop, path, outbound)
                if result is not None:
                    results.append(result)
        return results

    def run(self, stop: threading.Event, interval: float) -> None:
        """Poll until ``stop`` is set (the thread inside ``hub serve``)."""
        while not stop.is_set():
            try:
                self.poll_once()
            except (StoreError, OSError) as exc:
                log.error("hub.files_poll_failed", error=exc.__class__.__name__)
            stop.wait(interval)

    def _answer(self, drop: FileDrop, path: Path, outbound: Path) -> FileResult | None:
        stem = path.name.removesuffix(".xml")
        caller = Caller(
            la_code=drop.la_code,
            source_systems=frozenset(drop.source_systems),
            presented_by=f"sftp:{drop.user}",
        )
        try:
            self._submit(caller, path, stem)
            row = self._service.settle(stem)
            if row is None:  # the background worker has not finished it: answer next time
                log.info("hub.file_deferred", file=path.name, code="PENDING")
                return None
            target = outbound / f"{stem}.outcome.xml"
            outcome = self._service.outcome(row)
            write_atomically(target, to_bytes(outcome))
            code = None
        except HubError as exc:
            target = outbound / f"{stem}.fault.xml"
            write_atomically(target, to_bytes(fault_detail(exc)))
            code = exc.code
        except StoreError as exc:
            log.error("hub.file_deferred", file=path.name, code=exc.code)
            return None
        path.unlink(missing_ok=True)
        log.info("hub.file_answered", file=path.name, code=code or "OK")
        return FileResult(name=path.name, written=target, code=code)

    def _submit(self, caller: Caller, path: Path, stem: str) -> None:
        size = path.stat().st_size
        if size > self._max_bytes:
            raise fault(
                FaultCode.BATCH_TOO_LARGE,
                f"file is {size} bytes, over the limit of {self._max_bytes} bytes",
            )
        data = path.read_bytes()
        try:
            root = parse_bytes(data, source=path.name, max_bytes=self._max_bytes).getroot()
        except NotWellFormed as exc:
            raise fault(
                FaultCode.SCHEMA_INVALID,
                "file is not well-formed XML",
                line=exc.line,
                column=exc.column,
            ) from exc
        except InputError as exc:
            raise fault(
                FaultCode.SCHEMA_INVALID,
                "file declares a DTD or entity; DTDs are refused (TA-SEC-03)",
            ) from exc
        if root.tag != _BATCH:
            raise fault(
                FaultCode.SCHEMA_INVALID,
                f"file is not a SubmissionBatch in namespace {NAMESPACE} (LDI-TRN-11)",
                line=root.sourceline,
                column=1,
            )
        if root.get("batchId") != stem:
            raise fault(
                FaultCode.SCHEMA_INVALID,
                "file name must be <batchId>.xml for the batchId it holds (LDI-TRN-11)",
                line=root.sourceline,
                column=1,
            )
        self._service.submit(caller, root, data, max_records=FILE_MAX_RECORDS, transport="sftp")
        self._service.processor.process_pending()


def _ready(inbound: Path) -> list[Path]:
    """Completed uploads: regular ``*.xml`` files (``*.xml.part`` never matches), oldest first."""
    if not inbound.is_dir():
        return []
    found = []
    for entry in os.scandir(inbound):
        if entry.name.endswith(".xml") and entry.is_file(follow_symlinks=False):
            found.append((entry.stat(follow_symlinks=False).st_mtime, entry.name))
    return [inbound / name for _, name in sorted(found)]
