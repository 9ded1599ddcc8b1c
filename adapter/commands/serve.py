"""``cpadapter serve [--config F]``: run every source on its schedule, deliver, and report.

Exit codes: 0 stopped by SIGTERM/SIGINT (within ``service.grace_seconds``); 2 configuration or
store unusable (including a status page bound beyond loopback without TLS and authentication).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from adapter.commands.store_access import config_option, fail, opened
from adapter.exit_codes import EXIT_OK
from ldi.errors import ConfigError


@click.command("serve")
@config_option
def serve_command(config_path: Path) -> None:
    """Run each source's feed on its schedule, deliver, and serve /healthz /readyz /metrics /."""
    from adapter.service.runner import Service  # imported here: keeps `cpadapter --help` quick

    with opened(config_path) as (config, outbox):
        base = config_path.resolve().parent
        try:
            service = Service(config, outbox, base)
        except ConfigError as exc:
            fail(str(exc))
            return
        except OSError as exc:
            fail(f"serve: cannot listen on {config.service.host}:{config.service.port} ({exc})")
            return

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            service.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        service.start()
        service.run_until_stopped()
        finished = service.shutdown()
        if not finished:
            # Work still in flight after the grace period: every step so far is committed, so
            # leave without waiting for the rest (daemon threads, open network calls).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_OK)
    raise SystemExit(EXIT_OK)
