"""Structured logging (structlog) that cannot carry personal data (TA-SEC-01).

Redaction is an allow-list, not a deny-list: only keys known to hold ids, counts, codes and
timings pass through; the value of any other key is replaced by ``[redacted]``. A developer who
logs ``name=child.name`` by mistake leaks nothing, and the mistake is visible in the output.
Event names are fixed strings written in code, never built from record values.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

REDACTED = "[redacted]"

#: Keys whose values are never personal data: identifiers of *our* objects, counts, codes.
SAFE_KEYS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "module",
        "vanished",
        "duplicates",
        "omitted",
        "quarantined",
        "run_id",
        "batch_id",
        "message_id",
        "source_record_id",
        "source",
        "source_system",
        "version",
        "entry_id",
        "attempt",
        "attempts",
        "status",
        "state",
        "code",
        "rule",
        "rules",
        "path",
        "file",
        "line",
        "column",
        "element",
        "table",
        "key",
        "count",
        "records",
        "read",
        "queued",
        "unchanged",
        "held",
        "sent",
        "upserts",
        "withdrawals",
        "parked",
        "retry_after",
        "delay",
        "elapsed",
        "duration_ms",
        "rate",
        "worker",
        "workers",
        "transport",
        "endpoint",
        "host",
        "port",
        "fingerprint",
        "outcome",
        "outcomes",
        "error",
        "error_code",
        "reason",
        "connector",
        "kind",
        "command",
        "config",
        "la_code",
        "exit_code",
        "pid",
        "lease",
        "schema_valid",
        "breaches",
        "size",
        "bytes",
        "limit",
        "checked",
        "verdict",
        "check",
    }
)


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: keep allow-listed keys, replace every other value."""
    for key in list(event_dict):
        if key not in SAFE_KEYS:
            event_dict[key] = REDACTED
    return event_dict


def configure_logging(
    level: str = "info",
    fmt: Literal["json", "console", "auto"] = "auto",
    stream: Any = None,
) -> None:
    """Set up structlog for the process: JSON lines by default, console on a terminal."""
    out = stream or sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and out.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_personal_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A lazy structlog logger tagged with the module name.

    Lazy on purpose: modules call this at import time, before :func:`configure_logging` runs,
    and a logger resolved then would keep structlog's defaults (no redaction, stdout).
    """
    return structlog.get_logger(module=name)
