"""The long-running service: scheduled feeds, a delivery worker, HTTP, alerts, graceful stop.

Threads, all in one process:

* **scheduler** (the caller's thread, :meth:`Service.run`): sleeps until the next fire time of
  any source, then starts that source's run on its own thread, unless the source is still
  running (the missed fire is coalesced into the running one) or another process holds its lock
  (:mod:`adapter.service.locks`);
* **feed** threads, one per run: :func:`adapter.pipeline.run_source` under the source's lock.
  A failing source is recorded as failed and the others go on;
* **delivery**: :func:`adapter.commands.deliver.deliver_until` with ``until_empty=False``; if
  the hub refuses us (TLS) the worker halts, an alert goes out, and it is tried again later;
* **http** (:mod:`adapter.service.http`) and **alerts** (:mod:`adapter.service.alerts`).

Stopping (SIGTERM/SIGINT → :meth:`Service.stop`): no new run starts; the delivery worker
finishes its current step (a batch is never left half-recorded: every step commits before the
next network call) and returns; feed runs in flight get until ``service.grace_seconds`` to end.
Whatever is still going then is abandoned, which loses nothing: each 500-record chunk of a run
commits with its outbox entries, and a batch still leased by this worker is released so that
the next worker (or the restarted service) takes it at once. A run abandoned that way is marked
``interrupted`` in ``source_runs`` by the next run of that source.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, update

from adapter.commands.deliver import deliver_until
from adapter.config import AdapterConfig, SourceConfig
from adapter.log import get_logger
from adapter.pipeline import run_source
from adapter.service import alerts, health, snapshot
from adapter.service.http import HttpService, Routes
from adapter.service.locks import SourceLock
from adapter.service.schedule import Schedule, first_due
from ldi.errors import ContactPointError
from outbox.batching import BatchState
from outbox.delivery import WorkerHalted, worker_id
from outbox.service import Outbox
from outbox.store import batches, source_runs
from outbox.transports.base import resolve

log = get_logger(__name__)

#: Seconds before a halted or failed delivery worker is started again.
DELIVERY_RESTART_SECONDS = 30.0
#: Longest sleep of the scheduler loop (it wakes early on stop).
TICK = 0.5


def last_started(outbox: Outbox, source: str) -> datetime | None:
    """Start of the source's latest recorded run, whatever its result."""
    with outbox.engine.connect() as conn:
        value: datetime | None = conn.execute(
            select(func.max(source_runs.c.started_at)).where(source_runs.c.source == source)
        ).scalar()
    return value


class Service:
    """Everything ``cpadapter serve`` runs."""

    def __init__(self, config: AdapterConfig, outbox: Outbox, base: Path) -> None:
        self.config = config
        self.outbox = outbox
        self.base = base
        self.stopping = threading.Event()
        self.delivery_stop = threading.Event()
        self.owner = worker_id()
        self.schedules: dict[str, Schedule] = {
            s.name: Schedule(s.schedule) for s in config.sources if s.enabled and s.schedule
        }
        self.next_run: dict[str, datetime] = {}
        self._feeds: dict[str, threading.Thread] = {}
        self._feeds_lock = threading.Lock()
        self.halted: str | None = None
        self.halted_at: datetime | None = None
        self._delivery: threading.Thread | None = None
        self._alerts: threading.Thread | None = None
        self.lock_dir = resolve(base, config.service.lock_dir)
        self.http = HttpService(
            config.service,
            Routes(
                snapshot=self.snapshot,
                readiness=lambda: health.readiness(config, outbox, base),
                organisation=config.organisation.name,
                note=self._note,
            ),
            base=base,
        )
        self.alert_manager = alerts.AlertManager(
            alerts.channels_for(config.alerts),
            resolve(base, config.alerts.state_file),
            organisation=config.organisation.name,
            la_code=config.organisation.la_code,
        )

    # ----- views -----

    def snapshot(self) -> snapshot.Snapshot:
        snap = snapshot.take(self.config, self.outbox, self.base)
        with self._feeds_lock:
            running = {name for name, t in self._feeds.items() if t.is_alive()}
        for source in snap.sources:
            source.next_run_at = self.next_run.get(source.name)
            source.running = source.name in running
        return snap

    def _note(self) -> str:
        if self.halted:
            return f"Delivery halted: {self.halted}"
        if self._delivery is not None and self._delivery.is_alive():
            return "Delivery worker running."
        return "Delivery worker not running in this service."

    # ----- feeds -----

    def _run_feed(self, source: SourceConfig) -> None:
        lock = SourceLock(self.lock_dir, source.name)
        if not lock.acquire():
            log.warning("service.source_busy", source=source.name)
            return
        try:
            with self.outbox.engine.begin() as conn:  # runs abandoned by a stopped service
                conn.execute(
                    update(source_runs)
                    .where(source_runs.c.source == source.name)
                    .where(source_runs.c.status == "running")
                    .values(status="interrupted", finished_at=datetime.now(UTC))
                )
            log.info("service.run_started", source=source.name)
            run = run_source(self.config, source, self.outbox, base=self.base)
            log.info("service.run_finished", source=source.name, status=run.status)
        except Exception as exc:  # noqa: BLE001 - one source's failure must not stop the others
            log.error("service.run_crashed", source=source.name, error=exc.__class__.__name__)
            self._mark_crashed(source.name, exc)
        finally:
            lock.release()

    def _mark_crashed(self, source: str, exc: Exception) -> None:
        """Record a run that raised instead of reporting (we hold its lock: it is ours)."""
        try:
            with self.outbox.engine.begin() as conn:
                conn.execute(
                    update(source_runs)
                    .where(source_runs.c.source == source)
                    .where(source_runs.c.status == "running")
                    .values(
                        status="failed",
                        finished_at=datetime.now(UTC),
                        error_code="RUN-CRASHED",
                        error_message=exc.__class__.__name__,
                    )
                )
        except Exception as store_exc:  # noqa: BLE001 - the store itself may be the problem
            log.error("service.store_failed", error=store_exc.__class__.__name__)

    def _start_feed(self, source: SourceConfig) -> None:
        with self._feeds_lock:
            current = self._feeds.get(source.name)
            if current is not None and current.is_alive():
                log.info("service.run_coalesced", source=source.name)
                return
            thread = threading.Thread(
                target=self._run_feed, args=(source,), name=f"feed-{source.name}", daemon=True
            )
            self._feeds[source.name] = thread
            thread.start()

    # ----- delivery -----

    def _deliver_forever(self) -> None:
        while not self.delivery_stop.is_set():
            try:
                deliver_until(
                    self.config,
                    self.outbox,
                    owner=self.owner,
                    until_empty=False,
                    stop=self.delivery_stop,
                )
                self.halted = None
            except WorkerHalted as exc:
                self.halted, self.halted_at = str(exc)[:300], datetime.now(UTC)
                log.error("service.delivery_halted", code=exc.code)
            except ContactPointError as exc:
                log.error("service.delivery_failed", code=exc.code)
            except Exception as exc:  # noqa: BLE001 - keep the service (and its feeds) up
                log.error("service.delivery_crashed", error=exc.__class__.__name__)
            self.delivery_stop.wait(DELIVERY_RESTART_SECONDS)

    def release_leases(self) -> int:
        """Give back every batch this service's worker still holds (at shutdown)."""
        with self.outbox.engine.begin() as conn:
            result = conn.execute(
                update(batches)
                .where(batches.c.lease_owner == self.owner)
                .where(batches.c.state.in_(BatchState.OPEN))
                .values(lease_owner=None, lease_expires_at=None)
            )
        return int(result.rowcount or 0)

    # ----- alerts -----

    def check_alerts(self) -> None:
        snap = self.snapshot()
        if (
            self.halted_at is not None
            and snap.completed_at is not None
            and snap.completed_at > self.halted_at
        ):  # the restarted worker has completed a batch since: the hub accepts us again
            self.halted = self.halted_at = None
        active = alerts.evaluate(snap, self.config.alerts, halted=self.halted)
        self.alert_manager.check(active)

    def _alert_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.check_alerts()
            except Exception as exc:  # noqa: BLE001 - alerting must never take the service down
                log.error("service.alerts_failed", error=exc.__class__.__name__)
            self.stopping.wait(self.config.alerts.check_interval_seconds)

    # ----- the loop -----

    def start(self) -> None:
        """Start HTTP, delivery and alerts, and compute each source's first run."""
        self.http.start()
        if self.config.service.port_file is not None:
            port_file = resolve(self.base, self.config.service.port_file)
            port_file.parent.mkdir(parents=True, exist_ok=True)
            port_file.write_text(f"{self.http.port}\n")
        now = datetime.now(UTC)
        for name, schedule in self.schedules.items():
            self.next_run[name] = first_due(
                schedule,
                last_run=last_started(self.outbox, name),
                now=now,
                policy=self.config.service.catch_up,
            )
        if self.config.service.deliver:
            self._delivery = threading.Thread(
                target=self._deliver_forever, name="delivery", daemon=True
            )
            self._delivery.start()
        if alerts.channels_for(self.config.alerts):
            self._alerts = threading.Thread(target=self._alert_loop, name="alerts", daemon=True)
            self._alerts.start()
        log.info("service.started", port=self.http.port, count=len(self.schedules))

    def run_until_stopped(self) -> None:
        """The scheduler loop: start every due source until :meth:`stop` is called."""
        sources = {s.name: s for s in self.config.sources}
        while not self.stopping.is_set():
            now = datetime.now(UTC)
            for name, due in sorted(self.next_run.items(), key=lambda item: item[1]):
                if due <= now:
                    self._start_feed(sources[name])
                    self.next_run[name] = self.schedules[name].next_after(now)
            soonest = min(self.next_run.values(), default=None)
            wait = TICK if soonest is None else (soonest - datetime.now(UTC)).total_seconds()
            self.stopping.wait(min(TICK, max(0.0, wait)))

    def stop(self) -> None:
        """Stop taking work (safe from a signal handler)."""
        self.stopping.set()
        self.delivery_stop.set()

    def shutdown(self) -> bool:
        """After :meth:`stop`: wait for work in flight up to the grace period; True if all ended."""
        deadline = time.monotonic() + self.config.service.grace_seconds
        threads = [t for t in (self._delivery, self._alerts) if t is not None]
        with self._feeds_lock:
            threads += list(self._feeds.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        unfinished = [t.name for t in threads if t.is_alive()]
        released = self.release_leases()
        self.http.stop()
        log.info("service.stopped", count=len(unfinished), key=",".join(unfinished), lease=released)
        return not unfinished
