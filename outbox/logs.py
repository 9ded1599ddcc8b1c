"""Module loggers that follow the logging configuration made *after* they are created.

``adapter.log.get_logger`` binds a logger at once, so a module-level logger created at import
time keeps structlog's default configuration (console output on standard output, without the
personal-data redaction processor) even after ``configure_logging`` ran. The outbox's loggers
resolve the configuration at each call instead, so every line goes through the redaction
processor and never lands on standard output, where commands print their ``--json`` result.
"""

from __future__ import annotations

from typing import Any

from adapter.log import get_logger


class LazyLogger:
    """A logger bound to ``name`` on each call, under the configuration in force then."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Any:
        return getattr(get_logger(self._name), method)


def logger(name: str) -> LazyLogger:
    """The outbox module logger for ``name``."""
    return LazyLogger(name)
