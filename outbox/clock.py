"""Time, injectable: the store, pacing and retries take a clock so tests can drive time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


def utc_now() -> datetime:
    """The current time, aware UTC (every time the store keeps is UTC)."""
    return datetime.now(UTC)


class Clock(Protocol):
    """What pacing needs: a monotonic reading and a way to wait."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep()``, ignoring non-positive waits."""
        if seconds > 0:
            time.sleep(seconds)
