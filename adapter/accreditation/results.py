"""The outcome of one accreditation check and of a whole run (shared by every writer).

Four statuses on purpose: ``error`` means the harness itself broke (a port in use, a missing
tool), which a tester must never read as a product failure; ``skip`` always carries its reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


@dataclass
class CheckResult:
    """One check: its TA-*/IA-* id, status, and a message saying why / what to fix."""

    check_id: str
    status: Status
    message: str
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass
class Exchange:
    """One request/response pair seen at the transport (raw; redacted when written)."""

    operation: str
    request: bytes
    response: bytes
    at: float


class CheckFailed(Exception):
    """Raised inside a check: the product did not do what the requirement asks."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class CheckSkipped(Exception):
    """Raised inside a check: it cannot run here (the reason says why)."""


@dataclass
class Run:
    """A whole accreditation run, as written to results.json."""

    kind: str  # "type" or "instance"
    started_at: str
    ended_at: str
    results: list[CheckResult]
    profile: str = ""
    config_digest: str = ""

    @property
    def verdict(self) -> Status:
        """FAIL if any check failed, ERROR if the harness broke anywhere, else PASS."""
        statuses = {r.status for r in self.results}
        if Status.FAIL in statuses:
            return Status.FAIL
        if Status.ERROR in statuses:
            return Status.ERROR
        return Status.PASS

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for r in self.results if r.status is s) for s in Status}

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "profile": self.profile,
            "verdict": self.verdict.value,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "config_digest": self.config_digest,
            "counts": self.counts(),
            "results": [r.as_dict() for r in self.results],
        }
