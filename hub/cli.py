"""``cpadapter hub serve|seed|status|files``: run and inspect the reference hub.

Exit codes (adapter.exit_codes): 0 ok, 1 findings, 2 usage error or unusable input (a bad
hub.yaml, an unreadable seed file, a store that cannot be opened).
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from adapter.exit_codes import EXIT_UNUSABLE
from adapter.heap import freeze_startup_heap
from adapter.log import configure_logging
from hub.config import HubConfig, load_config
from hub.files import FileProcessor
from hub.inspection import WORKLIST_STATUSES, status_report, worklist
from hub.processing import Processor
from hub.seed import seed_from_file, seed_synthetic
from hub.service import HubService
from hub.store import Store
from ldi.errors import ConfigError, ContactPointError

_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("hub.yaml"),
    show_default=True,
    help="The hub's configuration file.",
)


def _load(config_path: Path) -> HubConfig:
    """The configuration, or its problems on stderr and exit 2."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        click.echo(str(exc.message), err=True)
        raise SystemExit(EXIT_UNUSABLE) from exc
    configure_logging(config.log_level)
    return config


def _open_store(config: HubConfig) -> Store:
    try:
        return Store.open(config.store.url)
    except ContactPointError as exc:
        click.echo(f"hub store: {exc}", err=True)
        raise SystemExit(EXIT_UNUSABLE) from exc


@click.group("hub")
def hub_group() -> None:
    """The reference ContactPoint hub: the national side of LDI 1.0, for tests and demos."""


@hub_group.command("serve")
@_config_option
def serve_command(config_path: Path) -> None:
    """Serve SOAP over mutual TLS (and poll SFTP drops if enabled) until SIGINT or SIGTERM."""
    from hub.server import Hub  # the server pulls in ssl and http.server; only `serve` needs them

    config = _load(config_path)
    hub = Hub(config, store=_open_store(config))
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        hub.start()
    except (OSError, ContactPointError) as exc:
        click.echo(f"hub: cannot start ({exc.__class__.__name__}: {exc})", err=True)
        hub.store.close()
        raise SystemExit(EXIT_UNUSABLE) from exc
    freeze_startup_heap()
    click.echo(f"hub: serving {hub.url}/ldi/v1 (WSDL at {hub.url}/ldi/v1?wsdl)")
    while not stop.wait(0.5):
        pass
    hub.stop()


@hub_group.command("seed")
@_config_option
@click.option(
    "--from",
    "seed_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSON-lines file of national child records (format: hub/README.md).",
)
@click.option("--synthetic", "count", type=click.IntRange(min=1), help="Generate N records.")
@click.option("--seed", "seed", type=int, default=0, show_default=True, help="Generator seed.")
@click.option("--la", "la_code", default="891", show_default=True, help="LA of generated records.")
def seed_command(
    config_path: Path, seed_file: Path | None, count: int | None, seed: int, la_code: str
) -> None:
    """Fill the national index from a file (--from) or the generator (--synthetic N)."""
    if (seed_file is None) == (count is None):
        raise click.UsageError("give exactly one of --from FILE or --synthetic N")
    config = _load(config_path)
    store = _open_store(config)
    try:
        if seed_file is not None:
            ids = seed_from_file(store, seed_file)
        else:
            assert count is not None
            ids = seed_synthetic(store, count, seed=seed, la_code=la_code)
    except ContactPointError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(EXIT_UNUSABLE) from exc
    finally:
        store.close()
    click.echo(f"seeded {len(ids)} national records ({store_summary(config)})")


def store_summary(config: HubConfig) -> str:
    """Where the store is, without credentials."""
    url = config.store.url
    return url.split("@")[-1] if "@" in url else url


@hub_group.command("status")
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_command(config_path: Path, as_json: bool) -> None:
    """Counts per outcome and source system, and the NoMatch / MultipleMatch work lists."""
    config = _load(config_path)
    store = _open_store(config)
    try:
        report: dict[str, Any] = status_report(store)
        report["worklistEntries"] = {s.value: worklist(store, s) for s in WORKLIST_STATUSES}
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"national records: {report['nationalRecords']}")
    batches = ", ".join(f"{k} {v}" for k, v in report["batches"].items()) or "none"
    click.echo(f"batches: {batches}")
    outcomes = ", ".join(f"{k} {v}" for k, v in report["outcomes"].items()) or "none"
    click.echo(f"record outcomes: {outcomes}")
    for source, counts in report["bySourceSystem"].items():
        click.echo(f"  {source}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for status, entries in report["worklistEntries"].items():
        click.echo(f"{status} work list: {len(entries)}")
        for entry in entries:
            extra = f" candidates {entry['candidateCount']}" if "candidateCount" in entry else ""
            click.echo(
                f"  {entry['sourceSystem']} {entry['sourceRecordId']} v{entry['version']}"
                f" (message {entry['messageId']}){extra}"
            )


@hub_group.command("files")
@_config_option
@click.option("--once", is_flag=True, help="Process what is there now, then exit.")
def files_command(config_path: Path, once: bool) -> None:
    """Answer the SFTP drops' inbound files (LDI-TRN-11/12), once or until interrupted."""
    config = _load(config_path)
    if not config.files.drops:
        click.echo("hub.yaml has no files.drops", err=True)
        raise SystemExit(EXIT_UNUSABLE)
    store = _open_store(config)
    processor = Processor(store)
    service = HubService(store, processor, inline=True)
    files = FileProcessor(service, config.files.drops)
    try:
        processor.process_pending()
        if once:
            for result in files.poll_once():
                click.echo(f"{result.name} -> {result.written.name}")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda _s, _f: stop.set())
        signal.signal(signal.SIGINT, lambda _s, _f: stop.set())
        files.run(stop, config.files.poll_seconds)
    finally:
        store.close()
