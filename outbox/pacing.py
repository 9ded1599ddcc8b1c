"""The send rate: records per second, ramped up in steps, held within 10 % (TA-THR-01).

ContactPoint loads were run "at a controlled pace, starting with a small number of records and
gradually increasing the rate". ``delivery.rate`` says how:

    rate(t) = min(ceiling, start + step × ⌊t / interval⌋)      t = seconds since delivery began

``start_per_second`` unset means no limit; ``ceiling_per_second`` alone means a constant rate.

The pacer is a virtual schedule, not a bucket of saved-up credit: each submission of *n*
records may start no earlier than the previous one's start plus ``n_prev / rate``. Idle time
therefore never turns into a burst, and over any stretch of steady sending the achieved rate is
the configured one (the only error is one batch at the edges of the window). Batches are kept
small enough under a limit (:meth:`Pacer.batch_size`, about half a second of sending) that the
rate is smooth at the scale of seconds, not only on average.

``Retry-After`` from a ``THROTTLED`` fault pauses every submission of this worker
(:meth:`Pacer.hold`), not only the throttled batch. With ``--workers N`` each worker gets
``1/N`` of the rate (``share``).
"""

from __future__ import annotations

import math
import threading

from adapter.config import RateConfig
from outbox.clock import Clock, SystemClock

#: Under a rate limit, a batch holds about this many seconds' worth of records.
BATCH_SECONDS = 0.5


class Pacer:
    """Blocks each submission until the configured rate allows it."""

    def __init__(self, rate: RateConfig, *, clock: Clock | None = None, share: float = 1.0) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self._rate = rate
        self._clock = clock or SystemClock()
        self._share = share
        self._started: float | None = None
        self._next = -math.inf
        self._held_until = -math.inf
        self._lock = threading.Lock()  # lanes of one worker share the pacer

    @property
    def limited(self) -> bool:
        """True if a rate is configured at all."""
        return self._rate.start_per_second is not None or self._rate.ceiling_per_second is not None

    def rate_at(self, elapsed: float) -> float | None:
        """Records per second allowed ``elapsed`` seconds after the start (None: no limit)."""
        start, ceiling = self._rate.start_per_second, self._rate.ceiling_per_second
        if start is None:
            return None if ceiling is None else ceiling * self._share
        steps = math.floor(max(0.0, elapsed) / self._rate.step_interval_seconds)
        rate = start + self._rate.step_per_second * steps
        if ceiling is not None:
            rate = min(rate, ceiling)
        return rate * self._share

    def current_rate(self) -> float | None:
        """The rate in force now."""
        now = self._clock.monotonic()
        if self._started is None:
            return self.rate_at(0.0)
        return self.rate_at(now - self._started)

    def batch_size(self, maximum: int) -> int:
        """How many records the next batch should hold: ``maximum``, or less under a limit."""
        rate = self.current_rate()
        if rate is None:
            return maximum
        return max(1, min(maximum, int(rate * BATCH_SECONDS)))

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (the hub said THROTTLED with this Retry-After)."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock.monotonic() + seconds)

    def acquire(self, records: int) -> float:
        """Wait until ``records`` may be sent; returns the seconds waited.

        Lanes queue here one after another: each takes the next slot of the schedule.
        """
        with self._lock:
            return self._acquire(records)

    def _acquire(self, records: int) -> float:
        now = self._clock.monotonic()
        if self._started is None:
            self._started = now
        start_at = max(now, self._held_until)
        rate = self.rate_at(start_at - self._started)
        if rate is not None:
            start_at = max(start_at, self._next)
        waited = start_at - now
        if waited > 0:
            self._clock.sleep(waited)
        if rate is not None:
            self._next = start_at + records / rate
        return max(0.0, waited)
