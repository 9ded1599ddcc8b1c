"""Pacing with a fake clock: the rate is held within 10 % and ramps up as configured (TA-THR-01)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.config import RateConfig
from outbox.pacing import Pacer


class FakeClock:
    """Time that moves only when someone sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def send(pacer: Pacer, clock: FakeClock, records: int, per_call: int) -> list[tuple[float, int]]:
    """Submit ``records`` in calls of ``per_call``; (start time, count) of each."""
    starts = []
    left = records
    while left:
        n = min(per_call, left)
        pacer.acquire(n)
        starts.append((clock.now, n))
        clock.now += 0.0002  # the submission itself takes a little time
        left -= n
    return starts


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(min_value=5, max_value=5000),
    per_call=st.integers(min_value=1, max_value=1000),
)
def test_constant_rate_is_held_within_ten_percent(rate: float, per_call: int) -> None:
    """Over many submissions the achieved records/s is the configured rate ±10 %."""
    clock = FakeClock()
    pacer = Pacer(RateConfig(start_per_second=rate), clock=clock)
    size = pacer.batch_size(per_call)
    starts = send(pacer, clock, size * 40, size)
    elapsed = starts[-1][0] - starts[0][0]
    achieved = sum(n for _, n in starts[:-1]) / elapsed
    assert abs(achieved - rate) <= 0.10 * rate


def test_ramp_up_steps_until_the_ceiling() -> None:
    """start 100/s, +100 every 10 s, ceiling 300: 100, 200, 300, then 300 for good."""
    pacer = Pacer(
        RateConfig(
            start_per_second=100,
            step_per_second=100,
            step_interval_seconds=10,
            ceiling_per_second=300,
        ),
        clock=FakeClock(),
    )
    assert [pacer.rate_at(t) for t in (0, 9.9, 10, 20, 35, 1000)] == [
        100,
        100,
        200,
        300,
        300,
        300,
    ]


def test_ramp_up_is_what_is_actually_sent() -> None:
    """Records sent in each 10 s window follow the ramp (within 10 %)."""
    clock = FakeClock()
    pacer = Pacer(
        RateConfig(start_per_second=50, step_per_second=50, step_interval_seconds=10),
        clock=clock,
    )
    starts = send(pacer, clock, 3000, 10)
    origin = starts[0][0]
    windows: dict[int, int] = {}
    for at, n in starts:
        windows[int((at - origin) // 10)] = windows.get(int((at - origin) // 10), 0) + n
    for window, expected in ((0, 500), (1, 1000), (2, 1500)):
        assert abs(windows[window] - expected) <= 0.10 * expected


def test_no_limit_never_waits() -> None:
    """Without a configured rate, acquire returns at once and batches stay full."""
    clock = FakeClock()
    pacer = Pacer(RateConfig(), clock=clock)
    assert pacer.acquire(1000) == 0
    assert pacer.acquire(1000) == 0
    assert clock.now == 1000.0
    assert pacer.batch_size(1000) == 1000


def test_batches_are_about_half_a_second_under_a_limit() -> None:
    """At 200/s a batch holds 100 records, so the rate is smooth at the scale of seconds."""
    assert Pacer(RateConfig(start_per_second=200), clock=FakeClock()).batch_size(1000) == 100


def test_idle_time_does_not_become_a_burst() -> None:
    """After a long pause the next two submissions are still a rate-interval apart."""
    clock = FakeClock()
    pacer = Pacer(RateConfig(start_per_second=100), clock=clock)
    pacer.acquire(50)
    clock.now += 60
    pacer.acquire(50)
    first = clock.now
    pacer.acquire(50)
    assert clock.now - first == 0.5


def test_hold_pauses_every_submission() -> None:
    """A THROTTLED Retry-After holds the next submission back, even with no rate set."""
    clock = FakeClock()
    pacer = Pacer(RateConfig(), clock=clock)
    pacer.hold(3)
    assert pacer.acquire(10) == 3
    assert clock.now == 1003.0


def test_share_splits_the_rate_between_workers() -> None:
    """With 4 workers each paces at a quarter of the configured rate."""
    assert Pacer(RateConfig(ceiling_per_second=400), share=0.25).rate_at(0) == 100


def test_lanes_sharing_a_pacer_hold_the_rate_together() -> None:
    """Two threads acquiring from one pacer (two delivery lanes) send at the rate, not twice it."""
    import threading
    import time

    rate = 400.0
    pacer = Pacer(RateConfig(start_per_second=rate))
    starts: list[tuple[float, int]] = []
    lock = threading.Lock()

    def lane() -> None:
        for _ in range(12):
            pacer.acquire(20)
            with lock:
                starts.append((time.monotonic(), 20))

    threads = [threading.Thread(target=lane) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    elapsed = starts[-1][0] - starts[0][0]
    achieved = sum(n for _, n in starts[:-1]) / elapsed
    # Never above the rate (two lanes booking one slot would double it); a busy machine can
    # only make the lanes late, which the pacer never makes up with a burst.
    assert 0.5 * rate <= achieved <= 1.10 * rate
