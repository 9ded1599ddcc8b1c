"""Shared helpers of the SOAP connector tests: the demo service's config, reads, socket tricks."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from connectors.base import ConnectorContext, ReadReport, SourceRecord
from connectors.soap import SoapConfig, SoapConnector

#: The demo CHIS child fields ContactPoint may use; everything else is case information.
CHILD_FIELDS = (
    "ChildId",
    "NHSNumber",
    "GivenName",
    "MiddleNames",
    "FamilyName",
    "PreviousFamilyName",
    "DateOfBirth",
    "Gender",
    "DateOfDeath",
    "RestrictedRecord",
    "Address",
    "GPPractice",
)
INVOLVEMENT_FIELDS = (
    "ServiceType",
    "Organisation",
    "PractitionerName",
    "Telephone",
    "StartDate",
    "EndDate",
)
CASE_FIELDS = ("ClinicalNotes", "SafeguardingConcern", "ReasonForReferral")
SOURCE = "health"


def packaged_wsdl() -> Path:
    """The WSDL file shipped in the demo package (its address is a placeholder)."""
    return Path(str(resources.files("demo").joinpath("wsdl", "health.wsdl")))


def soap_config(wsdl: str | Path, **overrides: Any) -> SoapConfig:
    """The config an operator would write for the demo CHIS, with ``overrides`` applied."""
    options: dict[str, Any] = {
        "wsdl": str(wsdl),
        "operation": "GetChildrenChangedSince",
        "items_path": "Children.Child",
        "next_token_path": "nextPageToken",
        "key_field": "ChildId",
        "change_marker_field": "LastModified",
        "fields": list(CHILD_FIELDS),
        "related": {
            "involvements": {
                "path": "Involvements.Involvement",
                "fields": list(INVOLVEMENT_FIELDS),
            }
        },
        "page_size": 20,
        "connect_timeout_seconds": 2.0,
        "read_timeout_seconds": 5.0,
    }
    options.update(overrides)
    return SoapConfig.model_validate(options)


def connector(config: SoapConfig, tmp: Path) -> SoapConnector:
    """A connector for source ``health`` with its state in ``tmp``."""
    return SoapConnector(config, ConnectorContext(source_name=SOURCE, state_dir=tmp))


def read_all(
    config: SoapConfig, tmp: Path, *, since: str | None = None
) -> tuple[list[SourceRecord], ReadReport]:
    """Every record of one read, and its report; the connector is closed afterwards."""
    conn = connector(config, tmp)
    report = ReadReport()
    try:
        return list(conn.read(report, since=since)), report
    finally:
        conn.close()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port whose kernel completes TCP connections that nobody ever answers (a hung server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])
