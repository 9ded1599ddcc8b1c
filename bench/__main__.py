"""``python -m bench``: list the benchmarks and run them.

* ``python -m bench`` runs a quick profile of every benchmark, each with small sizes (a smoke
  run: the figures are not the targets' and nothing under ``bench/results`` is overwritten);
* ``python -m bench NAME [ARGS...]`` runs one benchmark at full size with its own arguments
  (``python -m bench NAME --help`` lists them);
* ``python -m bench --list`` lists them with their one-line descriptions.

Every benchmark is a module of this package with a ``main()`` that reads ``sys.argv``.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback

#: Benchmark modules, in the order of the pipeline, with the arguments of the quick profile.
BENCHMARKS: dict[str, list[str]] = {
    "sql_read": ["--rows", "20000"],
    "file_read": ["--rows", "20000"],
    "pipeline": ["--children", "3000", "--output", "var/bench/quick/pipeline.json"],
    "outbox_enqueue": ["--records", "5000"],
    "outbox_delivery": ["--records", "3000", "--index", "2000"],
    "hub_throughput": ["--batches", "3", "--index", "2000"],
}


def describe(name: str) -> str:
    """The first line of the benchmark module's docstring."""
    module = importlib.import_module(f"bench.{name}")
    return (module.__doc__ or "").strip().splitlines()[0]


def run(name: str, args: list[str]) -> int:
    """Run one benchmark's ``main()`` with ``args`` as its command line; its exit status."""
    module = importlib.import_module(f"bench.{name}")
    saved = sys.argv
    sys.argv = [f"bench.{name}", *args]
    try:
        status = module.main()
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:  # noqa: BLE001 - a crash, not a missed target: the next one still runs
        traceback.print_exc()
        return -1
    finally:
        sys.argv = saved
    return int(status or 0)


def main() -> int:
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help", "--list", "list"):
        print("benchmarks (python -m bench NAME [ARGS]; no NAME: quick profile of each):")
        for name in BENCHMARKS:
            print(f"  {name:16} {describe(name)}")
        return 0
    if args:
        name = args[0].removeprefix("bench.").removesuffix(".py")
        if name not in BENCHMARKS:
            print(f"unknown benchmark {args[0]!r}; known: {', '.join(BENCHMARKS)}")
            return 2
        return run(name, args[1:])
    crashed = []
    for name, quick in BENCHMARKS.items():
        print(f"=== {name} (quick: {' '.join(quick)}) — {describe(name)}", flush=True)
        started = time.perf_counter()
        status = run(name, quick)
        # At these sizes a target may well be missed (exit 1): only a crash fails the profile.
        print(f"=== {name}: exit {status} in {time.perf_counter() - started:.0f} s\n", flush=True)
        if status < 0:
            crashed.append(name)
    print(f"quick profile of {len(BENCHMARKS)} benchmarks; crashed: {crashed or 'none'}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
