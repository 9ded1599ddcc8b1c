"""When a source's feed runs: cron expressions in Europe/London, DST-safe, with catch-up.

The cron arithmetic is APScheduler 3.x's :class:`CronTrigger` (well kept, zone-aware); this
module only adds the parts a feed needs on top of it:

* five fields (``minute hour day month weekday``) as in crontab, or six with a leading
  ``second`` field for tests (``*/2 * * * * *``: every two seconds);
* a daily job at a wall-clock time the autumn change repeats (01:30 on the last Sunday of
  October) runs once, not twice: the second occurrence (``fold=1``) is skipped for any
  schedule whose hour field is fixed. Hourly-or-faster schedules (hour ``*``) keep both, since
  real time goes on. A time the spring change skips (01:30 on the last Sunday of March) runs
  once, at 02:30 BST: one hour late rather than not at all;
* everything handed out is UTC, so comparisons never trip over ``fold``;
* :func:`first_due` applies the catch-up policy for runs missed while the service was down.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from ldi.errors import ConfigError

LONDON = ZoneInfo("Europe/London")

CatchUp = Literal["skip", "run_once"]


class Schedule:
    """One cron expression, evaluated in Europe/London."""

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) == 5:
            second = "0"
            minute, hour, day, month, weekday = fields
        elif len(fields) == 6:
            second, minute, hour, day, month, weekday = fields
        else:
            raise ConfigError(
                f"schedule {expression!r}: give 5 cron fields (or 6 with seconds first)",
                code="CFG-SCHEDULE",
            )
        try:
            self._trigger = CronTrigger(
                second=second,
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=_crontab_weekdays(weekday),
                timezone=LONDON,
            )
        except ValueError as exc:
            raise ConfigError(f"schedule {expression!r}: {exc}", code="CFG-SCHEDULE") from None
        self.expression = expression
        self._fixed_hour = hour != "*"

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after ``moment`` (aware), in UTC."""
        after = moment.astimezone(UTC) + timedelta(microseconds=1)
        while True:
            local = after.astimezone(LONDON)
            fire: datetime | None = self._trigger.get_next_fire_time(None, local)
            if fire is None:  # pragma: no cover - cron expressions always have a next time
                raise ConfigError(f"schedule {self.expression!r} never fires", code="CFG-SCHEDULE")
            fire_local = fire.astimezone(LONDON)
            if self._fixed_hour and _repeated(fire_local):
                after = fire.astimezone(UTC) + timedelta(seconds=1)
                continue
            return fire.astimezone(UTC)

    def missed(self, last_run: datetime | None, now: datetime) -> bool:
        """True if a fire time fell after ``last_run`` and at or before ``now``."""
        if last_run is None:
            return False
        return self.next_after(last_run) <= now.astimezone(UTC)


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_weekdays(field: str) -> str:
    """A crontab weekday field (0 or 7 = Sunday) as APScheduler names (it counts Monday as 0).

    Numbers, ranges and steps are expanded to the days they select (``1-5`` → ``mon,…,fri``,
    ``0-6/2`` → ``sun,tue,thu,sat``); ``*`` and names (``mon-fri``) are already understood.
    """
    if field == "*" or not any(ch.isdigit() for ch in field.replace("*/", "")):
        return field
    days: set[int] = set()
    for item in field.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            first, _, last = span.partition("-")
            low, high = int(first), int(last)
        else:
            low = high = int(span)
        if not 0 <= low <= high <= 7 or step < 1:
            raise ValueError(f"weekday {item!r} is not within 0-7")
        days.update(day % 7 for day in range(low, high + 1, step))
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def _repeated(local: datetime) -> bool:
    """True for the second occurrence of a wall-clock time repeated by the autumn change."""
    naive = local.replace(tzinfo=None)
    first = naive.replace(tzinfo=LONDON, fold=0)
    second = naive.replace(tzinfo=LONDON, fold=1)
    if first.utcoffset() == second.utcoffset():
        return False
    return local.astimezone(UTC) == second.astimezone(UTC)


def first_due(
    schedule: Schedule, *, last_run: datetime | None, now: datetime, policy: CatchUp
) -> datetime:
    """When a source first runs after the service starts at ``now`` (UTC).

    ``run_once``: a run missed while the service was down runs at once (one run, however many
    were missed); ``skip``: it waits for the next fire time. A source that never ran has missed
    nothing and waits for its first fire time.
    """
    if policy == "run_once" and schedule.missed(last_run, now):
        return now.astimezone(UTC)
    return schedule.next_after(now)
