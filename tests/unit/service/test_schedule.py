"""Schedules: cron in Europe/London across the clock changes, seconds, catch-up policy."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from adapter.service.schedule import LONDON, Schedule, first_due
from ldi.errors import ConfigError


def _fires(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    out, moment = [], start
    for _ in range(count):
        moment = schedule.next_after(moment)
        out.append(moment)
    return out


def test_daily_0130_runs_once_on_the_spring_change() -> None:
    """01:30 does not exist on 29 March 2026: it runs once, at 02:30 BST, then 01:30 BST."""
    fires = _fires(Schedule("30 1 * * *"), datetime(2026, 3, 27, 12, tzinfo=UTC), 4)
    local = [f.astimezone(LONDON) for f in fires]
    assert [f.day for f in local] == [28, 29, 30, 31]
    assert [(f.hour, f.minute) for f in local] == [(1, 30), (2, 30), (1, 30), (1, 30)]
    assert fires[1] == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert fires[2] == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)


def test_daily_0130_runs_once_on_the_autumn_change() -> None:
    """01:30 happens twice on 25 October 2026: the daily job runs only at the first one."""
    fires = _fires(Schedule("30 1 * * *"), datetime(2026, 10, 23, 12, tzinfo=UTC), 4)
    assert fires == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 27, 1, 30, tzinfo=UTC),
    ]


def test_half_hourly_job_keeps_real_time_through_the_repeated_hour() -> None:
    """A */30 job fires every 30 real minutes through the repeated hour, none skipped."""
    fires = _fires(Schedule("*/30 * * * *"), datetime(2026, 10, 24, 23, 50, tzinfo=UTC), 6)
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(fires)}
    assert gaps == {1800.0}


def test_crontab_weekday_numbers_mean_sunday_zero() -> None:
    """`0 2 * * 0` is Sunday 02:00 (APScheduler alone would read 0 as Monday)."""
    fire = Schedule("0 2 * * 0").next_after(datetime(2026, 11, 21, tzinfo=UTC))
    assert fire.astimezone(LONDON).strftime("%a %H:%M") == "Sun 02:00"
    weekday = Schedule("0 2 * * 1-5").next_after(datetime(2026, 11, 21, tzinfo=UTC))
    assert weekday.astimezone(LONDON).strftime("%a") == "Mon"
    weekend = Schedule("0 2 * * 6-7")
    fires = _fires(weekend, datetime(2026, 11, 20, tzinfo=UTC), 3)
    assert [f.astimezone(LONDON).strftime("%a") for f in fires] == ["Sat", "Sun", "Sat"]
    every_day = _fires(Schedule("0 2 * * 0-6"), datetime(2026, 11, 20, tzinfo=UTC), 7)
    assert len({f.weekday() for f in every_day}) == 7


def test_six_fields_give_second_level_schedules() -> None:
    """A leading seconds field (`*/2 * * * * *`) fires every two seconds."""
    fires = _fires(Schedule("*/2 * * * * *"), datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC), 3)
    assert [f.second for f in fires] == [2, 4, 6]


@pytest.mark.parametrize("expression", ["* * *", "61 * * * *", "a b c d e", "0 2 * * 9"])
def test_bad_expressions_are_config_errors(expression: str) -> None:
    """A malformed schedule is a ConfigError naming it."""
    with pytest.raises(ConfigError, match="schedule"):
        Schedule(expression)


def test_catch_up_run_once_runs_a_missed_night_at_start() -> None:
    """run_once: a nightly run missed while down runs at once, a single time."""
    nightly = Schedule("30 1 * * *")
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    last = datetime(2026, 11, 19, 1, 30, tzinfo=UTC)  # three nights missed
    assert first_due(nightly, last_run=last, now=now, policy="run_once") == now


def test_catch_up_skip_waits_for_the_next_fire_time() -> None:
    """skip: missed runs are dropped; the next run is the next scheduled time."""
    nightly = Schedule("30 1 * * *")
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    last = datetime(2026, 11, 19, 1, 30, tzinfo=UTC)
    expected = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    assert first_due(nightly, last_run=last, now=now, policy="skip") == expected


def test_catch_up_nothing_missed_or_never_run() -> None:
    """No run is due at start when the last one was on time, or when the source never ran."""
    nightly = Schedule("30 1 * * *")
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    on_time = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
    expected = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    assert first_due(nightly, last_run=on_time, now=now, policy="run_once") == expected
    assert first_due(nightly, last_run=None, now=now, policy="run_once") == expected
