"""Runs a list of checks, timing each and turning what it raised into a status.

This is the harness boundary: a check that raises anything other than CheckFailed or
CheckSkipped is reported as ``error`` (the harness broke), never as a product failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TypeVar

from adapter.accreditation.results import CheckFailed, CheckResult, CheckSkipped, Status

C = TypeVar("C")
#: What a check returns on success: a message, or a message and details (e.g. a ``table``).
CheckOutput = str | tuple[str, dict[str, object]]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_checks(
    checks: Iterable[tuple[str, Callable[[C], CheckOutput]]],
    context: C,
    *,
    only: set[str] | None = None,
) -> list[CheckResult]:
    """Run each (id, check) against ``context``; one result per check, in the order given."""
    results: list[CheckResult] = []
    for check_id, check in checks:
        if only is not None and check_id not in only:
            continue
        started = time.monotonic()
        try:
            output = check(context)
            message, details = output if isinstance(output, tuple) else (output, {})
            status = Status.PASS
        except CheckFailed as exc:
            status, message, details = Status.FAIL, str(exc), exc.details
        except CheckSkipped as exc:
            status, message, details = Status.SKIP, str(exc), {}
        except Exception as exc:  # noqa: BLE001 - harness boundary: report, never hide as a fail
            status = Status.ERROR
            message = f"the harness broke: {exc.__class__.__name__}: {str(exc)[:300]}"
            details = {}
        results.append(
            CheckResult(check_id, status, message, round(time.monotonic() - started, 3), details)
        )
    return results
