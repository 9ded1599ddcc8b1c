"""One feed run: extract → map → gate → delta → enqueue, per source, each on its own.

This is where the three stages meet (connectors → mappings → outbox) and nowhere else. A source
that fails is recorded as failed with its error code and the next source still runs; what a
failing source had already committed stays committed (each chunk is a transaction) and is seen
as unchanged by the next run.

For an incremental source the watermark (the largest change marker read) is stored only when the
run completes, so a failed run is read again from the last good watermark.
"""

from __future__ import annotations

import json
import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, update

from adapter.config import AdapterConfig, SourceConfig
from adapter.delta import DeltaEngine, Processed, SourceCounts, iter_chunks
from adapter.log import get_logger
from adapter.mapping_files import load_mapping
from adapter.sources import DEFAULT_STATE_ROOT, read_source
from connectors.base import Quarantined, ReadReport, SourceRecord
from ldi.errors import ConfigError, ContactPointError
from mappings.gate import apply_policies
from mappings.mapper import Mapper
from outbox.service import Outbox, open_outbox
from outbox.store import source_runs

log = get_logger(__name__)

CHUNK_SIZE = 500

Progress = Callable[[int], None]


@dataclass
class SourceRun:
    """The result of one source's run."""

    source: str
    source_system: str
    run_id: str
    started_at: datetime
    status: str = "running"  # ok | failed
    counts: SourceCounts = field(default_factory=SourceCounts)
    quarantined: list[Quarantined] = field(default_factory=list)
    watermark: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    finished_at: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        """Plain data for ``run --json``."""
        return {
            "source": self.source,
            "source_system": self.source_system,
            "run_id": self.run_id,
            "status": self.status,
            **self.counts.as_dict(),
            "balanced": self.counts.balanced,
            "watermark": self.watermark,
            "error": None
            if self.error_code is None
            else {"code": self.error_code, "message": self.error_message},
            "quarantine": [{"code": q.code, "reason": q.reason} for q in self.quarantined],
        }


def mapper_for(source: SourceConfig, base: Path) -> Mapper:
    """The compiled mapping of ``source`` (paths relative to the config file's folder)."""
    if source.mapping is None:
        raise ConfigError(f"source {source.name!r} has no mapping file", code="CFG-MAPPING")
    path = source.mapping if source.mapping.is_absolute() else base / source.mapping
    return Mapper(load_mapping(path))


def last_watermark(outbox: Outbox, source: str) -> str | None:
    """The watermark of the source's last completed run, if any."""
    with outbox.engine.connect() as conn:
        row = conn.execute(
            select(source_runs.c.watermark)
            .where(source_runs.c.source == source)
            .where(source_runs.c.status == "ok")
            .where(source_runs.c.watermark.is_not(None))
            .order_by(source_runs.c.started_at.desc())
            .limit(1)
        ).first()
    return None if row is None else str(row[0])


@dataclass
class _HighWater:
    """The largest change marker seen: the next incremental run reads after it."""

    value: str | None = None

    def observe(self, marker: str | None) -> None:
        if marker and (self.value is None or marker > self.value):
            self.value = marker


def _process(
    records: Iterator[SourceRecord],
    mapper: Mapper,
    run_at: datetime,
    seen: set[str],
    high_water: _HighWater,
    size: int,
) -> Iterator[list[Processed]]:
    """Map each record, then gate a chunk of ``size`` at once (one XSD pass per chunk)."""
    for chunk in iter_chunks(records, size):
        mapped = []
        for record in chunk:
            result = mapper.map(record)
            seen.add(result.source_record_id or record.key)
            high_water.observe(record.change_marker)
            mapped.append(result)
        drafts = [m.record for m in mapped if m.record is not None]
        gated = iter(apply_policies(drafts, run_at=run_at))
        yield [
            Processed(record, m, next(gated) if m.record is not None else None)
            for record, m in zip(chunk, mapped, strict=True)
        ]


def run_source(
    config: AdapterConfig,
    source: SourceConfig,
    outbox: Outbox,
    *,
    base: Path,
    run_at: datetime | None = None,
    dry_run: bool = False,
    state_root: Path = DEFAULT_STATE_ROOT,
    progress: Progress | None = None,
) -> SourceRun:
    """Run one source end to end; failures are recorded in the result, not raised."""
    now = run_at or datetime.now(UTC)
    run = SourceRun(source.name, source.source_system, str(uuid.uuid4()), now)
    if not dry_run:
        _record_start(outbox, run)
    report = ReadReport()
    try:
        mapper = mapper_for(source, base)
        since = last_watermark(outbox, source.name) if source.snapshot == "incremental" else None
        engine = DeltaEngine(
            outbox,
            source=source.name,
            source_system=source.source_system,
            run_id=run.run_id,
            run_at=now,
            dry_run=dry_run,
        )
        run.counts = engine.counts
        seen: set[str] = set()
        high_water = _HighWater(since)
        records = read_source(source, report, since=since, state_root=state_root)
        for chunk in _process(records, mapper, now, seen, high_water, CHUNK_SIZE):
            engine.process(chunk)
            if progress is not None:
                progress(len(chunk))
        run.quarantined = list(report.quarantined)
        engine.counts.quarantined = len(report.quarantined)
        if source.snapshot == "full" and not report.quarantined:
            engine.withdraw_vanished(seen)
        run.watermark = high_water.value if source.snapshot == "incremental" else None
        run.status = "ok"
    except ContactPointError as exc:
        run.status, run.error_code, run.error_message = "failed", exc.code, exc.message
        run.quarantined = list(report.quarantined)
        log.error("run.failed", source=source.name, code=exc.code)
    run.finished_at = datetime.now(UTC)
    if not dry_run:
        _record_end(outbox, run)
    log.info(
        "run.finished",
        source=source.name,
        status=run.status,
        **{k: v for k, v in run.counts.as_dict().items() if isinstance(v, int)},
    )
    return run


def run_sources(
    config: AdapterConfig,
    outbox: Outbox,
    *,
    base: Path,
    names: list[str] | None = None,
    dry_run: bool = False,
    state_root: Path = DEFAULT_STATE_ROOT,
    progress: Progress | None = None,
    workers: int = 1,
) -> list[SourceRun]:
    """Run every enabled source (or the named ones); the results in configuration order.

    One after the other by default. With ``workers`` > 1, up to that many sources run at once,
    each in a process of its own with its own connection to the store (sources share no state:
    each has its own source system, delta state and run history; the store serialises their
    chunk transactions). The source that read most in its last completed run starts first;
    ``progress`` then hears of a source's records when the source has finished.
    """
    chosen = (
        [config.source(n) for n in names] if names else [s for s in config.sources if s.enabled]
    )
    if workers > 1 and len(chosen) > 1:
        return _run_in_processes(
            config, chosen, outbox, base, dry_run, state_root, progress, workers
        )
    return [
        run_source(
            config,
            s,
            outbox,
            base=base,
            dry_run=dry_run,
            state_root=state_root,
            progress=progress,
        )
        for s in chosen
    ]


def _last_read(outbox: Outbox, source: str) -> int:
    """Records read by the source's last completed run (0 when it has none)."""
    with outbox.engine.connect() as conn:
        row = conn.execute(
            select(source_runs.c.counts)
            .where(source_runs.c.source == source)
            .where(source_runs.c.status == "ok")
            .order_by(source_runs.c.started_at.desc())
            .limit(1)
        ).first()
    if row is None:
        return 0
    read = json.loads(row[0] or "{}").get("read", 0)
    return read if isinstance(read, int) else 0


def _run_in_process(
    config: AdapterConfig, name: str, base: Path, dry_run: bool, state_root: Path
) -> SourceRun:
    """One source in a worker process, with a store connection of its own."""
    outbox = open_outbox(config.store, base=base, check_schema=False)
    try:
        return run_source(
            config, config.source(name), outbox, base=base, dry_run=dry_run, state_root=state_root
        )
    finally:
        outbox.close()


def _run_in_processes(
    config: AdapterConfig,
    chosen: list[SourceConfig],
    outbox: Outbox,
    base: Path,
    dry_run: bool,
    state_root: Path,
    progress: Progress | None,
    workers: int,
) -> list[SourceRun]:
    largest_first = sorted(range(len(chosen)), key=lambda i: -_last_read(outbox, chosen[i].name))
    # fork: a worker inherits the logging set-up; it opens its own store connection and never
    # touches the connections it inherited (a forked child leaves by os._exit, closing none).
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(workers, len(chosen)), mp_context=context) as pool:
        futures = {
            pool.submit(_run_in_process, config, chosen[i].name, base, dry_run, state_root): i
            for i in largest_first
        }
        runs: dict[int, SourceRun] = {}
        for future in as_completed(futures):
            run = runs[futures[future]] = future.result()
            if progress is not None:
                progress(run.counts.read)
    return [runs[i] for i in range(len(chosen))]


def _record_start(outbox: Outbox, run: SourceRun) -> None:
    with outbox.engine.begin() as conn:
        conn.execute(
            insert(source_runs).values(
                run_id=run.run_id,
                source=run.source,
                source_system=run.source_system,
                started_at=run.started_at,
                status="running",
                counts="{}",
            )
        )


def _record_end(outbox: Outbox, run: SourceRun) -> None:
    with outbox.engine.begin() as conn:
        conn.execute(
            update(source_runs)
            .where(source_runs.c.run_id == run.run_id)
            .values(
                finished_at=run.finished_at,
                status=run.status,
                counts=json.dumps(run.counts.as_dict()),
                watermark=run.watermark,
                error_code=run.error_code,
                error_message=(run.error_message or "")[:500] or None,
            )
        )
