"""The pipeline benchmark judges its targets on the median of its rounds, memory on the worst."""

from __future__ import annotations

from typing import Any

from bench.pipeline import summarise


def _round(seconds: float, ratio: float, share: float, memory: float, balanced: bool = True) -> Any:
    return {
        "full": {"seconds": seconds, "balanced": balanced},
        "delta": {"balanced": True},
        "ratio_to_baseline": ratio,
        "delta_share_of_full": share,
        "peak_memory_mb": memory,
    }


def test_the_median_round_decides_time_ratio_and_delta_share() -> None:
    """One slow round (a busy machine) neither passes nor fails the targets on its own."""
    summary = summarise(
        300_000,
        [
            _round(41.0, 1.9, 0.02, 300.0),
            _round(52.0, 2.4, 0.03, 310.0),
            _round(40.0, 1.8, 0.01, 305.0),
        ],
    )
    assert summary["full_seconds"] == 41.0
    assert summary["ratio_to_baseline"] == 1.9
    assert summary["ratio_range"] == [1.8, 2.4]
    assert summary["delta_share_of_full"] == 0.02
    assert summary["children"] == 300_000 and len(summary["rounds"]) == 3


def test_peak_memory_is_the_largest_of_any_round_and_balance_must_hold_in_all() -> None:
    """Memory is judged on the worst round, and one unbalanced run makes the size unbalanced."""
    summary = summarise(
        1000, [_round(1.0, 1.0, 0.01, 250.0), _round(1.0, 1.0, 0.01, 390.5, balanced=False)]
    )
    assert summary["peak_memory_mb"] == 390.5
    assert summary["balanced"] is False
