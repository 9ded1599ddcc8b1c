"""Connectors: read local systems and stream SourceRecords (see connectors.base)."""

from connectors.base import (
    Connector,
    ConnectorConfig,
    ConnectorContext,
    Provenance,
    Quarantined,
    ReadReport,
    SourceRecord,
)

__all__ = [
    "Connector",
    "ConnectorConfig",
    "ConnectorContext",
    "Provenance",
    "Quarantined",
    "ReadReport",
    "SourceRecord",
]
