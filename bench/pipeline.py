"""Benchmark: a large authority from its sources to a committed outbox (issue 6).

Targets (issue 6, "Speed and memory"): a synthetic authority of 300,000 children, about
1,200,000 source rows over three sources, goes from sources to a committed outbox in at most
60 s on the project's 2-core machine; the per-record cost is at most 2x the cost of just
building and XSD-validating the same LDI records with lxml, measured in the same run; a delta
run with 1 % changed takes at most 5 % of the full run; peak RSS at most 400 MB, and flat as the
input doubles.

The authority is the demo's (:func:`demo.seed.seed_demo` with ``--children`` children): the
Frameworki social care database and the RAISE youth database in SQLite, and the schools' Common
Transfer Files, mapped by the committed ``mappings/*.yaml`` through the committed
``config.yaml`` source definitions (incremental SQL sources with watermarks; a CTF drop folder).
The demo writes one CTF per school, which at this size is ~30,000 pupils a file; the benchmark
splits them into files of at most 1,000 pupils (as real schools are), so that "one changed
file" is a school's export and not a sixth of the county. Seeding is not measured; the seeded
sources are kept under ``var/bench/pipeline/`` and copied afresh for every measured run.

Measured in a fresh process per round (``--rounds``, default 3) and size, each round all three:

1. **full**: ``adapter.pipeline.run_sources`` over the three sources into a freshly migrated
   SQLite store (WAL, ``synchronous=FULL``, encrypted payloads), with ``--workers`` processes
   (default 2: one per core; as ``cpadapter run --workers 2``: the SQL sources whole, the CTF
   drop in shares, see ``adapter.pipeline.run_sources``): wall seconds, CPU seconds (all
   processes, less the memory sampler's own), records read, records/s, and peak memory: sampled
   every 0.5 s as the PSS summed
   over the process and its workers (shared pages counted once), or the process's own peak RSS
   (``ru_maxrss``) if that is higher. Source rows (a child's row plus its related rows) are
   counted once per seeded data set by a separate, untimed read in a process of its own.
2. **delta**: 1 % of the Frameworki and RAISE children get a new surname and a later
   last-modified time, and one CTF file comes again (new header time, 1 % of its pupils with a
   new surname); the same sources run again (the SQL sources read after their watermarks).
3. **baseline**: every record the full run queued is read back (not timed), then rebuilt as an
   lxml element by :func:`ldi.xmlcodec.to_element` and XSD-validated in batches of 500 (timed):
   the cost of "just building and validating the LDI records with lxml". The ratio is the full
   run's wall time per record read over the baseline's time per record, in the same round.

The machine's speed varies by 10 % and more between minutes (the same run has taken 39 and 45
s, with 70 and 80 CPU-s, half an hour apart), so one round proves little either way: the
targets are judged on the median of the rounds (time, ratio, delta share) and on the largest
peak memory of any round, and every round is printed and stored.

``--scale-check`` runs the whole measurement at N and 2N children and reports the growth of peak
memory. The demo population numbers children below 500,000 (its person_id ranges), so 2N must
stay below that: ``--children 200000 --scale-check`` is the largest check. Results are printed
as a table and written to ``bench/results/pipeline.json`` (committed: the latest figures travel
with the code that produced them; the committed scale check is ``pipeline-scale.json``).

Run: ``.venv/bin/python -m bench.pipeline [--children 300000] [--scale-check] [--workers 2]
[--rounds 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.calibration import cpu_loop_seconds

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "var" / "bench" / "pipeline"
RESULTS = Path(__file__).resolve().parent / "results" / "pipeline.json"
#: As the committed config.yaml lists them (largest first).
SOURCES = ("schools", "frameworki", "raise")
PUPILS_PER_FILE = 1000
CHANGED = 0.01

TARGET_SECONDS = 60.0
TARGET_RATIO = 2.0
TARGET_DELTA_SHARE = 0.05
TARGET_MEMORY_MB = 400.0


# ----- the synthetic authority (not measured) -----


def _split_ctf(folder: Path) -> int:
    """Split every CTF in ``folder`` into files of at most PUPILS_PER_FILE pupils."""
    from lxml import etree

    files = 0
    for path in sorted(folder.glob("*_CTF_*.xml")):
        tree = etree.parse(str(path))
        root = tree.getroot()
        data = root.find("CTFpupilData")
        assert data is not None
        pupils = list(data)
        for child in pupils:
            data.remove(child)
        stem = path.name.rsplit("_", 1)[0]  # <LAEstab>_CTF_<dest>
        path.unlink()
        for seq, start in enumerate(range(0, len(pupils), PUPILS_PER_FILE), start=1):
            for child in data:
                data.remove(child)
            for child in pupils[start : start + PUPILS_PER_FILE]:
                data.append(child)
            tree.write(
                str(folder / f"{stem}_{seq:03d}.xml"),
                xml_declaration=True,
                encoding="UTF-8",
                pretty_print=True,
            )
            files += 1
    return files


def seeded(children: int) -> Path:
    """The seeded sources for ``children`` children (made once, then reused)."""
    folder = DATA / f"{children}-children"
    done = folder / "seeded.json"
    if done.exists():
        return folder / "demo"
    from demo.seed import seed_demo

    shutil.rmtree(folder, ignore_errors=True)
    print(f"seeding {children:,} children (not measured; kept in {folder}) ...", flush=True)
    started = time.perf_counter()
    result = seed_demo(folder / "demo", children=children)
    files = _split_ctf(folder / "demo" / "ctf")
    (folder / "demo" / "health.json").unlink(missing_ok=True)  # not a source here
    done.write_text(
        json.dumps(
            {
                "children": result.children,
                "frameworki_rows": result.frameworki_rows,
                "raise_rows": result.raise_rows,
                "ctf_files": files,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return folder / "demo"


def _config(work: Path, demo: Path) -> dict[str, Any]:
    """The committed config's three sources, pointed at ``demo``, and a SQLite store."""
    import yaml

    committed = {
        s["name"]: s for s in yaml.safe_load((REPO / "config.yaml").read_text())["sources"]
    }
    sources = [committed[name] for name in SOURCES]
    for source in sources:
        source["mapping"] = str(REPO / source["mapping"])
        options = source["options"]
        if source["kind"] == "sql":
            options["url"] = f"sqlite:///{demo / Path(options['url']).name}"
        else:
            options["path"] = str(demo / "ctf")
    return {
        "organisation": {"la_code": "891", "name": "Benchmark authority"},
        "store": {"url": "sqlite:///var/store.db", "encryption_key_file": "certs/store.key"},
        "sources": sources,
    }


# ----- the 1 % change -----


def _change_sql(demo: Path) -> dict[str, int]:
    """A new surname and a later last-modified time for 1 % of the SQL children."""
    later = "2026-11-15 09:00:00"
    step = round(1 / CHANGED)
    changed = {}
    with sqlite3.connect(demo / "frameworki.db") as db:
        changed["frameworki"] = db.execute(
            "UPDATE person SET surname = surname || 'e', last_modified = ? "
            "WHERE person_type = 'CLIENT' AND person_id % ? = 0",
            (later, step),
        ).rowcount
    with sqlite3.connect(demo / "raise.db") as db:
        changed["raise"] = db.execute(
            "UPDATE young_person SET last_name = last_name || 'e', last_updated = ? "
            "WHERE rowid % ? = 0",
            (later, step),
        ).rowcount
    return changed


def _change_ctf(demo: Path) -> int:
    """One school's export again: a new header time, 1 % of its pupils with a new surname."""
    drop = demo / "ctf"
    archived = sorted((drop / "archive").glob("*_CTF_*.xml"))
    source = archived[len(archived) // 2]
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"<DateTime>[^<]*</DateTime>", "<DateTime>2026-11-15T01:30:00</DateTime>", text)
    count = {"n": 0}
    step = round(1 / CHANGED)

    def surname(match: re.Match[str]) -> str:
        count["n"] += 1
        if count["n"] % step:
            return match[0]
        return f"{match[1]}{match[2]}e{match[3]}"

    # The pupil's own surname is the first <Surname> after each <UPN>.
    text = re.sub(r"(<UPN>[^<]*</UPN>\s*<Surname>)([^<]*)(</Surname>)", surname, text)
    (drop / source.name).write_text(text, encoding="utf-8")
    return count["n"] // step


# ----- one measurement (in its own process) -----


def _cpu() -> float:
    """CPU seconds of this process and of its finished worker processes."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _tree_memory_kib(pid: int) -> int:
    """Memory of ``pid`` and its live descendants, summed as PSS (Linux /proc).

    PSS (proportional set size) shares each page among the processes that map it, so the
    pages a forked worker still shares with its parent are not counted twice, as summed RSS
    would count them.
    """
    total, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue  # ended meanwhile
    return total


class _PeakRss:
    """Samples the memory of this process and its workers every 0.5 s; keeps the peak.

    Reading ``smaps_rollup`` walks a process's page tables (about 7 ms of CPU for the three
    processes of a full run): the CPU it spends is kept apart (``cpu_seconds``), so that the
    run's CPU figure is the pipeline's own.
    """

    def __init__(self) -> None:
        self.peak_kib = 0
        self.cpu_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            started = time.thread_time()
            self.peak_kib = max(self.peak_kib, _tree_memory_kib(os.getpid()))
            self.cpu_seconds += time.thread_time() - started

    def mb(self) -> float:
        """The peak so far: the sampled sum, or this process's own peak RSS if that is higher."""
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(max(self.peak_kib, own) / 1024, 1)


_PEAK: _PeakRss | None = None


def _memory_mb() -> float:
    return _PEAK.mb() if _PEAK is not None else _own_rss_mb()


def _own_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _sampler_cpu() -> float:
    return _PEAK.cpu_seconds if _PEAK is not None else 0.0


def _run(config: Any, outbox: Any, work: Path, workers: int) -> dict[str, Any]:
    from adapter.pipeline import run_sources

    cpu, sampling, started = _cpu(), _sampler_cpu(), time.perf_counter()
    runs = run_sources(config, outbox, base=work, state_root=work / "state", workers=workers)
    wall = time.perf_counter() - started
    cpu = _cpu() - cpu - (_sampler_cpu() - sampling)  # the pipeline's, not the sampler's
    failed = [r.source for r in runs if r.status != "ok"]
    if failed:
        raise SystemExit(f"sources failed: {failed}")
    read = sum(r.counts.read for r in runs)
    return {
        "workers": workers,
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),  # this process and its finished worker processes
        "records_read": read,
        "records_per_second": round(read / wall) if wall else None,
        "queued": sum(r.counts.queued for r in runs),
        "unchanged": sum(r.counts.unchanged for r in runs),
        "held": sum(r.counts.held for r in runs),
        "balanced": all(r.counts.balanced for r in runs),
        "per_source": {r.source: r.counts.as_dict() for r in runs},
        "peak_memory_mb": _memory_mb(),
        "load_average_after": round(os.getloadavg()[0], 2),  # other work skews wall times
    }


def _source_rows(demo_seeded: Path, work: Path) -> int:
    """Source rows the three sources hold (a child's row plus its related rows), counted once
    by reading a scratch copy through the connectors, and remembered beside the data."""
    from adapter.config import load_config
    from adapter.sources import read_source
    from connectors.base import ReadReport

    done = demo_seeded.parent / "seeded.json"
    facts = json.loads(done.read_text())
    if "source_rows" not in facts:
        scratch = work / "count"
        shutil.copytree(demo_seeded, scratch / "demo")
        path = scratch / "config.yaml"
        import yaml

        path.write_text(yaml.safe_dump(_config(scratch, scratch / "demo"), sort_keys=False))
        rows = 0
        for source in load_config(path).sources:
            for record in read_source(source, ReadReport(), state_root=scratch / "state"):
                rows += 1 + sum(len(r) for r in record.related.values())
        facts["source_rows"] = rows
        done.write_text(json.dumps(facts))
        shutil.rmtree(scratch)
    rows_total: int = facts["source_rows"]
    return rows_total


def _baseline(outbox: Any) -> dict[str, Any]:
    """Rebuild every queued record with lxml and XSD-validate it; only that is timed."""
    from lxml import etree
    from sqlalchemy import select

    from ldi import NAMESPACE
    from ldi.models import Record
    from ldi.safexml import parse_bytes
    from ldi.schema import get_schema
    from ldi.xmlcodec import from_element, to_element
    from outbox.crypto import entry_aad
    from outbox.store import entries

    schema = get_schema()
    ns = "{" + NAMESPACE + "}"
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    query = select(entries.c.message_id, entries.c.key_id, entries.c.payload).where(
        entries.c.payload.is_not(None)
    )
    build = validate = 0.0
    count = 0

    def measure(chunk: list[Record]) -> None:
        nonlocal build, validate, count
        started = time.perf_counter()
        elements = [to_element(r, "Record") for r in chunk]
        built = time.perf_counter()
        batch = etree.Element(
            ns + "SubmissionBatch",
            nsmap={None: NAMESPACE},
            batchId="00000000-0000-4000-8000-000000000000",
            schemaVersion="1.0",
            accountableBody="891",
            sourceSystem="BENCH",
            createdAt=created,
        )
        batch.extend(elements)
        if not schema.validate(batch):
            raise SystemExit("a queued record is not schema-valid")
        done = time.perf_counter()
        build += built - started
        validate += done - built
        count += len(chunk)

    chunk: list[Record] = []
    with outbox.engine.connect() as conn:
        for mid, kid, blob in conn.execute(query).yield_per(2000):
            xml = outbox.keys.decrypt(kid, blob, entry_aad(mid))
            chunk.append(from_element(parse_bytes(xml).getroot(), Record))
            if len(chunk) == 500:
                measure(chunk)
                chunk = []
    if chunk:
        measure(chunk)
    total = build + validate
    return {
        "records": count,
        "build_seconds": round(build, 2),
        "validate_seconds": round(validate, 2),
        "seconds": round(total, 2),
        "us_per_record": round(1e6 * total / count, 1) if count else None,
    }


def measure(children: int, work: Path, workers: int) -> dict[str, Any]:
    """Full run, delta run and baseline for ``children``, in this process; plain results."""
    import yaml

    from adapter.config import load_config
    from adapter.log import configure_logging
    from outbox import migrations
    from outbox.service import open_outbox, store_engine

    demo_seeded = seeded(children)
    shutil.rmtree(work, ignore_errors=True)
    (work / "var").mkdir(parents=True)
    source_rows = _source_rows(demo_seeded, work)
    demo = work / "demo"
    shutil.copytree(demo_seeded, demo)
    os.chdir(work)
    configure_logging("warning", "json")
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(_config(work, demo), sort_keys=False))
    config = load_config(path)
    engine = store_engine(config.store, base=work)
    migrations.upgrade(engine)
    engine.dispose()
    outbox = open_outbox(config.store, base=work)
    try:
        full = _run(config, outbox, work, workers)
        full["source_rows_read"] = source_rows
        changed = _change_sql(demo)
        changed["schools"] = _change_ctf(demo)
        delta = _run(config, outbox, work, workers)
        delta["changed"] = changed
        baseline = _baseline(outbox)
    finally:
        outbox.close()
    per_record_us = 1e6 * full["seconds"] / full["records_read"]
    return {
        "children": children,
        "full": full,
        "delta": delta,
        "baseline": baseline,
        "pipeline_us_per_record": round(per_record_us, 1),
        "ratio_to_baseline": round(per_record_us / baseline["us_per_record"], 2),
        "delta_share_of_full": round(delta["seconds"] / full["seconds"], 4),
        "peak_memory_mb": _memory_mb(),
    }


# ----- driver -----


def _prepare(children: int, work: Path) -> None:
    """Seed the sources and count their rows (untimed), in a process of its own."""
    from adapter.log import configure_logging

    configure_logging("warning", "json")  # the count's per-file log lines would bury the table
    _source_rows(seeded(children), work)
    shutil.rmtree(work, ignore_errors=True)


def _in_child(children: int, work: Path, workers: int) -> dict[str, Any]:
    # Seeding and counting run in a process of their own, and the measurement in another,
    # both started from this small one: Linux carries a process's peak RSS across exec, so a
    # measured process forked from one that had seeded would report the seeding's ~1-2 GB as
    # its own peak.
    def run(*arguments: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "bench.pipeline", *arguments],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        ).stdout

    run("--prepare", str(children), "--work", str(work))
    out = run("--measure", str(children), "--work", str(work), "--workers", str(workers))
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def summarise(children: int, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds at one size, and the figures the targets are judged on: the median time,
    ratio and delta share over the rounds (this machine's speed varies by 10 % and more from
    one minute to the next), and the largest peak memory of any round."""
    return {
        "children": children,
        "rounds": rounds,
        "full_seconds": _median([r["full"]["seconds"] for r in rounds]),
        "ratio_to_baseline": _median([r["ratio_to_baseline"] for r in rounds]),
        "ratio_range": [
            min(r["ratio_to_baseline"] for r in rounds),
            max(r["ratio_to_baseline"] for r in rounds),
        ],
        "delta_share_of_full": round(
            statistics.median([r["delta_share_of_full"] for r in rounds]), 4
        ),
        "peak_memory_mb": max(r["peak_memory_mb"] for r in rounds),
        "balanced": all(r["full"]["balanced"] and r["delta"]["balanced"] for r in rounds),
    }


def _table(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for size in results:
        first = size["rounds"][0]["full"]
        lines += [
            f"children {size['children']:,}: {first['records_read']:,} records, "
            f"{first['source_rows_read']:,} source rows over {len(SOURCES)} sources",
            f"  {'':10}{'full s':>8}{'cpu s':>8}{'rec/s':>8}{'queued':>9}{'held':>8}"
            f"{'delta s':>9}{'base us':>9}{'ratio':>7}{'peak MB':>9}",
        ]
        for number, r in enumerate(size["rounds"], start=1):
            full, delta, base = r["full"], r["delta"], r["baseline"]
            lines.append(
                f"  {'round ' + str(number):10}{full['seconds']:>8.1f}{full['cpu_seconds']:>8.1f}"
                f"{full['records_per_second']:>8,}{full['queued']:>9,}{full['held']:>8,}"
                f"{delta['seconds']:>9.1f}{base['us_per_record']:>9}"
                f"{r['ratio_to_baseline']:>7}{r['peak_memory_mb']:>9}"
            )
        lo, hi = size["ratio_range"]
        lines += [
            f"  full run <= {TARGET_SECONDS:.0f} s: median {size['full_seconds']:.1f} s "
            f"-> {_verdict(size['full_seconds'] <= TARGET_SECONDS)}",
            f"  per record vs lxml build + XSD in the same round: median ratio "
            f"{size['ratio_to_baseline']} (rounds {lo}-{hi}) "
            f"-> {_verdict(size['ratio_to_baseline'] <= TARGET_RATIO)} (<= {TARGET_RATIO})",
            f"  delta / full: median {size['delta_share_of_full']:.1%} "
            f"-> {_verdict(size['delta_share_of_full'] <= TARGET_DELTA_SHARE)} "
            f"(<= {TARGET_DELTA_SHARE:.0%}; changed {size['rounds'][0]['delta']['changed']})",
            f"  peak memory, largest of the rounds: {size['peak_memory_mb']} MB (PSS, all "
            f"processes) -> {_verdict(size['peak_memory_mb'] <= TARGET_MEMORY_MB)} "
            f"(<= {TARGET_MEMORY_MB:.0f} MB)",
            f"  balanced (read = queued + unchanged + held) in every run: {size['balanced']}",
        ]
    return lines


def main() -> int:
    """Measure at ``--children`` (and 2x with ``--scale-check``), print, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=300_000)
    parser.add_argument("--scale-check", action="store_true", help="also run at 2x children")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--work", type=Path, default=DATA / "work", help="scratch folder")
    parser.add_argument(
        "--workers", type=int, default=2, help="sources run at once (run_sources workers)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured processes per size (median reported)"
    )
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        _prepare(args.prepare, args.work)
        return 0
    if args.measure:
        global _PEAK
        _PEAK = _PeakRss()
        print(json.dumps(measure(args.measure, args.work, args.workers)))
        return 0
    sizes = [args.children, 2 * args.children] if args.scale_check else [args.children]
    from demo.frameworki import DUPLICATE_ID_BASE, PERSON_ID_BASE

    if max(sizes) >= DUPLICATE_ID_BASE - PERSON_ID_BASE:  # the demo's person_id ranges
        parser.error(
            f"the demo population holds fewer than {DUPLICATE_ID_BASE - PERSON_ID_BASE:,} "
            "children: use a smaller --children (with --scale-check, half of that)"
        )
    calibration = [cpu_loop_seconds()]
    results = [
        summarise(n, [_in_child(n, args.work, args.workers) for _ in range(args.rounds)])
        for n in sizes
    ]
    calibration.append(cpu_loop_seconds())
    shutil.rmtree(args.work, ignore_errors=True)
    lines = _table(results)
    report: dict[str, Any] = {
        "benchmark": "pipeline",
        "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # bench.calibration's loop before and after (the machine's speed varies)
            "calibration_seconds": calibration,
        },
        "targets": {
            "full_seconds": TARGET_SECONDS,
            "ratio_to_baseline": TARGET_RATIO,
            "delta_share_of_full": TARGET_DELTA_SHARE,
            "peak_memory_mb": TARGET_MEMORY_MB,
        },
        "results": results,
    }
    if len(results) == 2:
        growth = results[1]["peak_memory_mb"] / results[0]["peak_memory_mb"]
        report["memory_growth_at_2x"] = round(growth, 2)
        lines.append(
            f"peak memory at 2x input: {results[0]['peak_memory_mb']} -> "
            f"{results[1]['peak_memory_mb']} MB "
            f"(x{growth:.2f})"
        )
    lines.append(f"machine speed (bench.calibration loop, before/after): {calibration} s")
    print("\n".join(lines))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
