"""``cpadapter deliver [--workers N] [--until-empty]``: send the outbox to the hub.

Exit codes: 0 done (or stopped by SIGTERM/SIGINT after finishing the current step); 1 delivery
halted by a failure no batch can fix (TLS refused, SFTP host key changed: the message says
which); 2 configuration or store unusable, or more than one worker asked of a SQLite store.
"""

from __future__ import annotations

import hashlib
import signal
import sys
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import FrameType

import click

from adapter.commands.store_access import config_option, emit, fail, json_option, opened
from adapter.config import AdapterConfig
from adapter.exit_codes import EXIT_FINDINGS, EXIT_OK
from adapter.heap import freeze_startup_heap
from ldi.errors import ConfigError, StoreError
from outbox import audit
from outbox.delivery import RunSummary, Worker, WorkerHalted, run_lanes, worker_id
from outbox.pacing import Pacer
from outbox.service import Outbox
from outbox.transports.base import Transport, open_transport
from outbox.workers import sole_worker_lock, spawn_workers


def config_digest(config: AdapterConfig) -> str:
    """SHA-256 of the effective configuration (secrets appear masked, so never hashed)."""
    return hashlib.sha256(config.model_dump_json().encode("utf-8")).hexdigest()


def _record_config(outbox: Outbox, config: AdapterConfig, actor: str) -> None:
    digest = config_digest(config)
    with outbox.engine.begin() as conn:
        last = audit.entries_of(conn, kind=audit.AuditKind.CONFIG, limit=1)
        if last and last[0]["details"] == {"digest": digest}:
            return
        audit.append(conn, audit.AuditKind.CONFIG, "config", {"digest": digest}, actor=actor)


def deliver_until(
    config: AdapterConfig,
    outbox: Outbox,
    *,
    owner: str,
    until_empty: bool,
    stop: threading.Event,
    rate_share: float = 1.0,
) -> RunSummary:
    """Run one delivery worker in this process (``deliver``, ``run --deliver``, the demo),
    with ``delivery.lanes`` lanes (:func:`outbox.delivery.run_lanes`).

    Raises WorkerHalted (the hub refused us: TLS, host key), StoreError or ConfigError.
    """
    batch_size = (
        config.delivery.sftp.batch_size
        if config.delivery.transport == "sftp"
        else config.delivery.batch_size
    )
    lock: AbstractContextManager[None] = (
        sole_worker_lock(Path(str(outbox.engine.url.database))) if outbox.sqlite else nullcontext()
    )
    pacer = Pacer(config.delivery.rate, share=rate_share)
    transports: list[Transport] = []
    try:
        with lock:
            _record_config(outbox, config, owner)
            lanes = []
            for lane in range(config.delivery.lanes):
                transports.append(open_transport(config.delivery, base=outbox.base))
                lanes.append(
                    Worker(
                        outbox.engine,
                        outbox.keys,
                        transports[-1],
                        la_code=config.organisation.la_code,
                        delivery=config.delivery,
                        batch_size=batch_size,
                        pacer=pacer,
                        owner=owner if lane == 0 else f"{owner}/{lane}",
                        exclusive=outbox.sqlite,
                        # one lane prunes (hourly); the others only deliver
                        prune_after_days=config.store.prune_sent_after_days if lane == 0 else None,
                    )
                )
            freeze_startup_heap()
            return run_lanes(lanes, until_empty=until_empty, stop=stop)
    finally:
        for transport in transports:
            transport.close()


@click.command("deliver")
@config_option
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes (PostgreSQL only; SQLite takes exactly one).",
)
@click.option(
    "--until-empty",
    is_flag=True,
    help="Stop when nothing is pending and every batch has its outcome.",
)
@click.option(
    "--rate-share",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    hidden=True,
    help="This worker's share of the send rate (set by --workers).",
)
@json_option
def deliver_command(
    config_path: Path, workers: int, until_empty: bool, rate_share: float, as_json: bool
) -> None:
    """Deliver queued records to the hub, with retries, pacing and outcome polling."""
    with opened(config_path, as_json=as_json) as (config, outbox):
        if workers > 1:
            if outbox.sqlite:
                fail(
                    "deliver: a SQLite store takes exactly one worker; use PostgreSQL "
                    "(store.url) for --workers above 1",
                    as_json=as_json,
                )
            arguments = ["--config", str(config_path)]
            arguments += ["--until-empty"] if until_empty else []
            arguments += ["--json"] if as_json else []
            outbox.close()
            raise SystemExit(spawn_workers(workers, arguments))
        stop = threading.Event()

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        owner = worker_id()
        try:
            summary = deliver_until(
                config,
                outbox,
                owner=owner,
                until_empty=until_empty,
                stop=stop,
                rate_share=rate_share,
            )
        except WorkerHalted as exc:
            fail(f"deliver: halted: {exc}", EXIT_FINDINGS, as_json=as_json)
            return
        except (StoreError, ConfigError) as exc:
            fail(str(exc), as_json=as_json)
            return
    data = {
        "worker": owner,
        "batches_submitted": summary.batches_submitted,
        "records_submitted": summary.records_submitted,
        "batches_completed": summary.batches_completed,
        "batches_parked": summary.batches_parked,
        "retries_scheduled": summary.retries_scheduled,
        "outcomes": summary.outcomes,
        "stale": summary.stale,
    }

    def human(d: dict[str, object]) -> None:
        click.echo(
            f"deliver: {d['records_submitted']} records in {d['batches_submitted']} batches; "
            f"{d['batches_completed']} complete, {d['batches_parked']} parked, "
            f"{d['retries_scheduled']} retries; outcomes {d['outcomes']}"
        )
        if summary.stale:
            click.echo(
                f"deliver: WARNING {summary.stale} Stale outcomes: a bug (TA-REL-05), see "
                "`cpadapter outbox list --state parked`",
                err=True,
            )

    emit(data, as_json=as_json, human=human)
    sys.stdout.flush()
    raise SystemExit(EXIT_OK)
