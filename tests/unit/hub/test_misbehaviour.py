"""Misbehaviour knobs: the token bucket, seeded reproducibility, independence, pending polls."""

from __future__ import annotations

from hub.config import MisbehaviourConfig
from hub.misbehaviour import Misbehaviour, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_admits_a_second_of_records_then_asks_to_wait() -> None:
    """Rate 10/s: 10 pass, the 11th waits 1 s; after a second they pass again."""
    clock = Clock()
    bucket = TokenBucket(10, clock)
    assert bucket.take(10) is None
    assert bucket.take(1) == 1
    clock.now += 1.0
    assert bucket.take(10) is None


def test_batch_larger_than_the_bucket_passes_when_full_and_runs_into_debt() -> None:
    """Rate 100/s and a 1,000-record batch: admitted when full, then Retry-After ~9 s."""
    clock = Clock()
    bucket = TokenBucket(100, clock)
    assert bucket.take(1000) is None
    assert bucket.take(1000) == 10  # 900 in debt + 100 needed, at 100/s
    clock.now += 10
    assert bucket.take(1000) is None


def _unavailable_pattern(config: MisbehaviourConfig, n: int = 40) -> list[bool]:
    misbehaviour = Misbehaviour(config)
    return [misbehaviour.unavailable() for _ in range(n)]


def test_same_seed_same_faults() -> None:
    """Reproducible: the same seed gives the same sequence; another seed another one."""
    config = MisbehaviourConfig(seed=3, unavailable_probability=0.5)
    first = _unavailable_pattern(config)
    assert _unavailable_pattern(config) == first
    assert _unavailable_pattern(config.model_copy(update={"seed": 4})) != first
    assert 5 < sum(first) < 35


def test_knobs_draw_independently() -> None:
    """Turning on another knob does not change the UNAVAILABLE decisions of the same seed."""
    alone = Misbehaviour(MisbehaviourConfig(seed=9, unavailable_probability=0.5))
    mixed = Misbehaviour(
        MisbehaviourConfig(
            seed=9, unavailable_probability=0.5, hang_probability=0.5, hang_seconds=1
        )
    )
    a, b = [], []
    for _ in range(30):
        a.append(alone.unavailable())
        mixed.hang()
        b.append(mixed.unavailable())
    assert a == b


def test_pending_polls_are_counted_per_batch_and_reset_by_configure() -> None:
    """pending_polls 2: two Pending answers per batch id; configure() starts counting anew."""
    misbehaviour = Misbehaviour(MisbehaviourConfig(pending_polls=2))
    assert [misbehaviour.hold_pending("a") for _ in range(3)] == [True, True, False]
    assert misbehaviour.hold_pending("b") is True
    misbehaviour.configure(MisbehaviourConfig(pending_polls=1))
    assert [misbehaviour.hold_pending("a") for _ in range(2)] == [True, False]


def test_everything_off_by_default() -> None:
    """Default settings never misbehave."""
    misbehaviour = Misbehaviour(MisbehaviourConfig())
    assert misbehaviour.latency_seconds() == 0
    assert misbehaviour.hang() is None
    assert not misbehaviour.unavailable()
    assert misbehaviour.throttle(1000) is None
    assert not misbehaviour.drop_after_store()
    assert not misbehaviour.hold_pending("x")
