"""``accredit instance``: the IA-* checks against one configuration file, as one :class:`Run`."""

from __future__ import annotations

from pathlib import Path

from adapter.accreditation.checks_instance import INSTANCE_CHECKS, InstanceContext
from adapter.accreditation.results import Exchange, Run
from adapter.accreditation.runner import now_iso, run_checks


def run_instance_checks(
    config_path: Path, *, only: set[str] | None = None
) -> tuple[Run, list[Exchange]]:
    """Run every IA check; IA-CFG-01 first, since the others need the loaded configuration."""
    started = now_iso()
    context = InstanceContext(config_path)
    results = run_checks(INSTANCE_CHECKS.items(), context, only=only)
    digest = ""
    if context.config is not None:
        from adapter.commands.deliver import config_digest

        digest = config_digest(context.config)
    run = Run("instance", started, now_iso(), results, config_digest=digest)
    return run, context.exchanges
