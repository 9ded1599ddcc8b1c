"""``accredit type``: the TA-* checks against a hub started for the run, as one :class:`Run`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from adapter.accreditation.checks_type import TYPE_CHECKS
from adapter.accreditation.harness import Faults, type_harness
from adapter.accreditation.results import CheckResult, Exchange, Run, Status
from adapter.accreditation.runner import now_iso, run_checks


def run_type_checks(
    profile: str = "fast",
    *,
    faults: Faults | None = None,
    only: set[str] | None = None,
    workdir: Path | None = None,
) -> tuple[Run, list[Exchange]]:
    """Run the TA checks; ``faults`` is for the harness's own sabotage tests only."""
    started = now_iso()
    exchanges: list[Exchange] = []
    try:
        with type_harness(profile, faults, root=workdir) as harness:
            results = run_checks(TYPE_CHECKS.items(), harness, only=only)
            exchanges = list(harness.exchanges)
    except Exception as exc:  # noqa: BLE001 - harness boundary: no hub means error, not fail
        results = [
            CheckResult(
                check_id,
                Status.ERROR,
                f"the harness could not start: {exc.__class__.__name__}: {str(exc)[:300]}",
            )
            for check_id in TYPE_CHECKS
            if only is None or check_id in only
        ]
    order = {check_id: i for i, check_id in enumerate(sorted(TYPE_CHECKS, key=_spec_order))}
    results.sort(key=lambda r: order.get(r.check_id, 99))
    # The "configuration" of a type run is the harness's: the profile and the checks it ran.
    setup = json.dumps({"profile": profile, "checks": [r.check_id for r in results]})
    digest = hashlib.sha256(setup.encode("utf-8")).hexdigest()
    return Run("type", started, now_iso(), results, profile, digest), exchanges


def _spec_order(check_id: str) -> tuple[int, str]:
    groups = ["SCH", "BR", "TRN", "REL", "DLT", "OUT", "SEC", "THR"]
    return groups.index(check_id.split("-")[1]), check_id
