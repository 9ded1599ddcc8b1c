"""Build and run the connector of a configured source: the one path from config to records.

The ``sources`` commands, instance accreditation (IA-CON-01) and the pipeline all go through
here, so a connector is always built the same way: found in the registry by ``kind``, given its
typed options and a private state directory ``<state_root>/<source name>``, and closed after use.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from adapter import registry
from adapter.config import SourceConfig
from connectors.base import (
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ReadReport,
    Share,
    SourceRecord,
)
from ldi.errors import ConfigError, ContactPointError

#: Where connectors keep their private state (processed-file hashes, downloads), per source.
DEFAULT_STATE_ROOT = Path("var") / "state"


def is_splittable(source: SourceConfig) -> bool:
    """Whether the connector of ``source`` can read it in shares (``splittable = True``)."""
    return bool(getattr(registry.load(registry.CONNECTORS, source.kind), "splittable", False))


def build_connector(
    source: SourceConfig, *, state_root: Path = DEFAULT_STATE_ROOT, share: Share | None = None
) -> Connector:
    """The connector of ``source``, not yet connected (connectors connect lazily); with
    ``share``, one that reads only that part of the source (splittable connectors only)."""
    factory = registry.load(registry.CONNECTORS, source.kind)
    if share is not None and not getattr(factory, "splittable", False):
        raise ConfigError(
            f"source {source.name!r}: connector kind {source.kind!r} cannot be read in shares",
            code="CFG-SHARE",
        )
    options = source.options
    if not isinstance(options, ConnectorConfig):
        raw = options.model_dump() if isinstance(options, BaseModel) else options
        try:
            options = factory.config_model.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(
                f"options of source {source.name!r} are invalid ({exc.error_count()} problems)"
            ) from exc
    state_dir = state_root / source.name
    state_dir.mkdir(parents=True, exist_ok=True)
    connector: Connector = factory(options, ConnectorContext(source.name, state_dir, share))
    return connector


@contextmanager
def open_connector(
    source: SourceConfig, *, state_root: Path = DEFAULT_STATE_ROOT, share: Share | None = None
) -> Iterator[Connector]:
    """``build_connector`` as a context manager that always closes the connector."""
    connector = build_connector(source, state_root=state_root, share=share)
    try:
        yield connector
    finally:
        connector.close()


def sample_source(
    source: SourceConfig, limit: int, *, state_root: Path = DEFAULT_STATE_ROOT
) -> list[SourceRecord]:
    """Connect and read up to ``limit`` records without side effects."""
    with open_connector(source, state_root=state_root) as connector:
        return connector.sample(limit)


def read_source(
    source: SourceConfig,
    report: ReadReport,
    *,
    since: str | None = None,
    state_root: Path = DEFAULT_STATE_ROOT,
    share: Share | None = None,
) -> Iterator[SourceRecord]:
    """Stream every record of ``source`` (or those changed after ``since``; or of ``share``
    only); closes at the end."""
    with open_connector(source, state_root=state_root, share=share) as connector:
        yield from connector.read(report, since=since)


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """Verdict of one source: connected and sampled, or the coded reason it could not."""

    name: str
    kind: str
    ok: bool
    records: int = 0
    duration_ms: int = 0
    code: str = ""
    reason: str = ""
    error: BaseException | None = None  # for --debug: the traceback


def check_source(
    source: SourceConfig, *, limit: int = 5, state_root: Path = DEFAULT_STATE_ROOT
) -> SourceCheck:
    """Connect ``source`` and read a sample; the verdict, never an exception.

    Connectors translate their libraries' exceptions into the product's errors at their
    boundary, and those carry a code and a one-line reason. Anything else escaping a connector
    (a plug-in's bug) is reported by its class name only, since its message may hold a value
    from a record; one broken plug-in must not stop the other sources from being checked.
    """
    started = time.monotonic()
    try:
        records = sample_source(source, limit, state_root=state_root)
    except ContactPointError as exc:
        return SourceCheck(
            source.name,
            source.kind,
            ok=False,
            duration_ms=_ms(started),
            code=exc.code,
            reason=exc.message,
            error=exc,
        )
    except Exception as exc:  # noqa: BLE001 - plug-in boundary, see the docstring
        return SourceCheck(
            source.name,
            source.kind,
            ok=False,
            duration_ms=_ms(started),
            code="SRC-UNEXPECTED",
            reason=f"the {source.kind} connector failed with {exc.__class__.__name__} "
            "(--debug shows the traceback)",
            error=exc,
        )
    return SourceCheck(
        source.name, source.kind, ok=True, records=len(records), duration_ms=_ms(started)
    )


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
