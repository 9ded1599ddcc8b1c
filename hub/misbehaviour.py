"""Controlled misbehaviour for reliability tests (TA-REL-01 … TA-REL-03), reproducible by seed.

Each knob draws from its own random generator, seeded from ``(seed, knob name)``, so turning one
knob on does not change the decisions another makes: the same seed and the same sequence of
requests give the same faults, run after run.

Where each applies (SOAP endpoint only; the WSDL, XSD and admin endpoints always behave):

``latency_ms``                    every SOAP request waits this long before it is handled
``hang_probability``              the request is read, nothing is stored, no answer is sent for
                                  ``hang_seconds`` and then the connection is dropped (time-out)
``unavailable_probability``       ``UNAVAILABLE`` (HTTP 503) before anything is stored
``records_per_second``            a token bucket over submitted records; a batch that does not fit
                                  gets ``THROTTLED`` with ``Retry-After`` (whole seconds, ≥ 1)
``drop_after_store_probability``  a *newly stored* batch is committed (and, inline, processed),
                                  then the connection is closed instead of sending the receipt:
                                  the lost-receipt case (TA-REL-02)
``pending_polls``                 each batch answers ``Pending`` to its first N polls
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable

from hub.config import MisbehaviourConfig


class TokenBucket:
    """Records per second, with one second's worth of burst.

    A batch larger than the bucket is admitted when the bucket is full (it then runs into
    debt), so a limit below the batch size slows a client down instead of blocking it forever.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = rate
        self._clock = clock
        self._tokens = rate
        self._at = clock()

    def take(self, count: int) -> int | None:
        """Take ``count`` tokens; None when admitted, else the seconds to wait (≥ 1)."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        needed = min(float(count), self.capacity)
        if self._tokens >= needed:
            self._tokens -= count
            return None
        return max(1, math.ceil((needed - self._tokens) / self.rate))


class Misbehaviour:
    """The live settings: from hub.yaml, replaced whole by ``POST /admin/misbehaviour``."""

    def __init__(self, config: MisbehaviourConfig) -> None:
        self._lock = threading.Lock()
        self.configure(config)

    def configure(self, config: MisbehaviourConfig) -> None:
        """Switch to ``config``: generators re-seeded, bucket full, poll counts forgotten."""
        with self._lock:
            self.config = config
            self._rngs = {
                knob: random.Random(f"{config.seed}:{knob}")  # noqa: S311 - test faults, not crypto
                for knob in ("hang", "unavailable", "drop")
            }
            self._bucket = (
                TokenBucket(config.records_per_second) if config.records_per_second else None
            )
            self._polls: dict[str, int] = {}

    def _draw(self, knob: str, probability: float) -> bool:
        if probability <= 0:
            return False
        with self._lock:
            return self._rngs[knob].random() < probability

    def latency_seconds(self) -> float:
        """How long to wait before handling a SOAP request."""
        return self.config.latency_ms / 1000

    def hang(self) -> float | None:
        """Seconds to hang this request for, or None."""
        if self._draw("hang", self.config.hang_probability):
            return self.config.hang_seconds
        return None

    def unavailable(self) -> bool:
        """Whether to answer this request with UNAVAILABLE."""
        return self._draw("unavailable", self.config.unavailable_probability)

    def throttle(self, records: int) -> int | None:
        """Retry-After seconds if ``records`` exceed the rate limit now, else None."""
        with self._lock:
            return self._bucket.take(records) if self._bucket is not None else None

    def drop_after_store(self) -> bool:
        """Whether to drop the connection instead of sending this new batch's receipt."""
        return self._draw("drop", self.config.drop_after_store_probability)

    def hold_pending(self, batch_id: str) -> bool:
        """Whether this poll of ``batch_id`` still answers Pending (counts the poll)."""
        with self._lock:
            seen = self._polls.get(batch_id, 0)
            self._polls[batch_id] = seen + 1
            return seen < self.config.pending_polls
