"""Background processing in child processes: the hub's second core.

Accepting a batch (TLS, parsing, the XSD, canonicalisation, the commit), preparing it (models,
BR-01 … BR-08, matching keys) and deciding its outcomes against the store are all CPU work, and
in one Python process they share one core through the GIL. In background mode they are three
processes, which the operating system spreads over the 2-core machine (the throughput target
of 5,000 records/s in 1,000-record batches needs that):

* the server process accepts and stores, then passes the stored canonical payload on;
* a *preparer* process (a one-worker process pool) parses and prepares it, and puts the
  compact prepared form on a queue;
* the *processor* process takes it from the queue and only decides outcomes and writes them.

The processor works through pending batches in arrival order and is the only writer of
outcomes, messages and contributions. A prepared form that does not arrive in time (lost with
a dead preparer, or from a previous run of the hub) is rebuilt from the stored canonical
payload, so nothing depends on the queue for correctness. The processor also looks every half
second, and on start it finishes whatever a previous run left pending. A processor that dies is
replaced by :class:`ProcessingWorker` (its transaction was rolled back: the batch is processed
again).
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from adapter.heap import freeze_startup_heap
from adapter.log import configure_logging, get_logger
from hub.processing import PreparedBatch, Processor, prepare_element
from hub.store import Store
from ldi.errors import StoreError
from ldi.safexml import FILE_MAX_BYTES, parse_bytes

log = get_logger(__name__)

_POLL_SECONDS = 0.5
_HAND_OVER_WAIT = 0.5  # how long the child waits for a stored batch's prepared form
_PREPARING_WAIT = 10.0  # ... once the preparer said it has started on that batch

#: What travels through the queue: (batch seq, prepared batch), (batch seq, None) when the
#: preparer starts on a batch, or None to wake the child.
Handed = tuple[int, PreparedBatch | None] | None
_CONTEXT = multiprocessing.get_context("spawn")  # no forked copies of threads, locks or sockets


_outbox: Queue[Handed] | None = None  # the preparer process's end of the queue


def _init_preparer(inbox: Queue[Handed], log_level: str) -> None:
    global _outbox  # per-process state of the pool's one worker
    _outbox = inbox
    configure_logging(log_level)
    freeze_startup_heap()


def _ready() -> None:
    """Submitted once to a new preparer so that it starts (and imports) before the first batch."""


def _prepare_and_pass_on(seq: int, payload: bytes) -> None:
    """In the preparer: parse the stored payload, prepare it, queue it for the processor.

    The processor is told first that this batch is being prepared, so that it waits for it
    rather than preparing the same batch again itself (under load, preparing can take longer
    than the hand-over wait).
    """
    assert _outbox is not None
    _outbox.put((seq, None))
    element = parse_bytes(payload, source=f"batch seq {seq}", max_bytes=FILE_MAX_BYTES).getroot()
    prepared = prepare_element(element)
    _outbox.put((seq, prepared))


def run_worker(store_url: str, log_level: str, stop: Event, inbox: Queue[Handed]) -> None:
    """The child's main loop: process pending batches until ``stop`` is set."""
    configure_logging(log_level)
    store = Store.open(store_url)
    processor = Processor(store)
    freeze_startup_heap()
    received: dict[int, PreparedBatch] = {}
    started: dict[int, float] = {}  # seq -> when the preparer said it started on it

    def take(handed: Handed) -> None:
        if handed is not None:
            seq, prepared = handed
            if prepared is None:
                started[seq] = time.monotonic()
            else:
                received[seq] = prepared

    def fetch(seq: int) -> PreparedBatch | None:
        """The prepared batch for ``seq``, waiting briefly for it to arrive; longer while the
        preparer is working on it or on an earlier batch (this one is queued behind it)."""
        deadline = time.monotonic() + _HAND_OVER_WAIT
        while seq not in received:
            working = [at for s, at in started.items() if s <= seq]
            if working:
                deadline = max(deadline, max(working) + _PREPARING_WAIT)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                handed = inbox.get(timeout=remaining)
            except queue.Empty:
                return None
            take(handed)
        for older in [s for s in received if s < seq]:  # arrived too late; already processed
            del received[older]
        for older in [s for s in started if s <= seq]:
            del started[older]
        return received.pop(seq)

    log.info("hub.worker_started")
    try:
        while not stop.is_set():
            try:
                processor.process_pending(fetch)
            except StoreError as exc:
                log.error("hub.processing_failed", code=exc.code)
                stop.wait(1.0)
            try:  # sleep until something is handed over (or a while has passed)
                handed = inbox.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            take(handed)
    finally:
        store.close()


class ProcessingWorker:
    """Starts, wakes, replaces and stops the processing child process."""

    def __init__(self, store_url: str, log_level: str) -> None:
        self._store_url = store_url
        self._log_level = log_level
        self._stop = _CONTEXT.Event()
        self._inbox: Queue[Handed] = _CONTEXT.Queue()
        self._process: SpawnProcess | None = None
        self._preparer: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the processor (again, if the previous one died) and the preparer."""
        if self._preparer is None:
            self._preparer = self._new_preparer()
        self._process = _CONTEXT.Process(
            target=run_worker,
            args=(self._store_url, self._log_level, self._stop, self._inbox),
            name="hub-processor",
            daemon=True,
        )
        self._process.start()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        """The processor process's id (for operators, and for tests that kill it)."""
        return self._process.pid if self._process is not None else None

    def ensure_running(self) -> None:
        """Replace a processor that died (logged with its exit code).

        The queue and the preparer are replaced too: a process killed while reading a queue may
        leave its lock taken. Whatever was in flight is rebuilt from the stored payloads.
        """
        if self._process is not None and not self._process.is_alive() and not self._stop.is_set():
            log.error("hub.worker_died", exit_code=self._process.exitcode)
            if self._preparer is not None:
                self._preparer.shutdown(wait=False, cancel_futures=True)
            self._inbox = _CONTEXT.Queue()
            self._preparer = None
            self.start()

    def _new_preparer(self) -> ProcessPoolExecutor:
        """A one-process pool, started now: spawning and importing cost as much as preparing
        a few batches, and would otherwise delay the first batch handed over."""
        preparer = ProcessPoolExecutor(
            max_workers=1,
            mp_context=_CONTEXT,
            initializer=_init_preparer,
            initargs=(self._inbox, self._log_level),
        )
        preparer.submit(_ready)
        return preparer

    def hand_over(self, seq: int, payload: bytes) -> None:
        """A batch was stored: have it prepared and passed to the processor.

        If the preparer is broken it is replaced; the processor rebuilds whatever does not
        arrive from the stored payload, so a lost hand-over costs time, never correctness.
        """
        preparer = self._preparer
        if preparer is None:  # being replaced after a processor died
            return
        try:
            preparer.submit(_prepare_and_pass_on, seq, payload)
        except BrokenProcessPool:
            log.error("hub.preparer_died")
            self._preparer = self._new_preparer()
        except RuntimeError:  # shut down while being replaced: the processor rebuilds it
            log.warning("hub.hand_over_skipped", entry_id=seq)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the child to finish its current batch and exit; kill it after ``timeout``."""
        self._stop.set()
        if self._preparer is not None:
            self._preparer.shutdown(wait=False, cancel_futures=True)
        self._inbox.put(None)  # wakes the child if it is waiting for work
        if self._process is None:
            return
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
