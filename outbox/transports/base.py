"""The one interface every transport implements, and how the configured one is found.

A transport moves bytes and translates what comes back: success into LDI models, every failure
into :class:`~ldi.errors.TransientDeliveryError` or :class:`~ldi.errors.PermanentDeliveryError`
with a code from :mod:`outbox.retry` — once, at this boundary, so nothing above it ever sees a
``requests``, ``zeep`` or ``paramiko`` exception.

Transports are plug-ins: entry-point group ``cpadapter.transports`` (``soap`` and ``sftp`` are
declared in ``pyproject.toml``); each entry point names a :class:`TransportFactory`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from adapter import registry
from adapter.config import DeliveryConfig
from ldi.models import BatchOutcome, BatchReceipt


@dataclass(frozen=True, slots=True)
class Pending:
    """The hub has the batch but no outcome yet (``status="Pending"``, or no outcome file)."""

    batch_id: str


@runtime_checkable
class Transport(Protocol):
    """Submit a batch's exact bytes; fetch its outcome; release connections."""

    #: Most records and bytes one ``submit`` may carry (LDI-TRN-04 / LDI-TRN-11).
    max_records: int
    max_bytes: int

    def submit(self, batch_xml: bytes, batch_id: str) -> BatchReceipt:
        """Send ``batch_xml`` (a complete ``SubmissionBatch`` document) exactly as given.

        Re-sending the same id with the same bytes must be safe: the hub answers with the
        original receipt (LDI-TRN-06).
        """
        ...

    def get_outcome(self, batch_id: str) -> BatchOutcome | Pending:
        """The batch's outcome if complete, else :class:`Pending`."""
        ...

    def close(self) -> None:
        """Release network resources; the transport may not be used afterwards."""
        ...


class TransportFactory(Protocol):
    """What an entry point in ``cpadapter.transports`` names."""

    def __call__(self, delivery: DeliveryConfig, *, base: Path) -> Transport:
        """Build the transport; relative paths in ``delivery`` are relative to ``base``."""
        ...


def open_transport(delivery: DeliveryConfig, *, base: Path) -> Transport:
    """The transport named by ``delivery.transport``, found through the registry."""
    factory: TransportFactory = registry.load(registry.TRANSPORTS, delivery.transport)
    return factory(delivery, base=base)


def resolve(base: Path, path: Path) -> Path:
    """``path`` if absolute, else relative to ``base`` (the config file's folder)."""
    return path if path.is_absolute() else base / path
