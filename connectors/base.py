"""What every connector is: the extension point between local systems and the mappings.

A connector streams :class:`SourceRecord` s, one per child, each with everything the source holds
about that child (the child's own fields and its related rows: carers, schools, involvements,
CAF), a change marker and its provenance. Mappings consume these and nothing else, so a new
connector touches one new module and one entry-point line in ``pyproject.toml``
(group ``cpadapter.connectors``).

Streaming is the rule: ``read`` is a generator and must not hold the source in memory.
A unit that cannot be read (a malformed file) is reported to the :class:`ReadReport` and set
aside; it never stops the rest of the source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from connectors.canonical import content_hash


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a record came from, precise enough for the owning team to fix it at source."""

    origin: str  # a file name, or a table/query name
    locator: str  # "line 12", "element Child[3]", "pk=1234"

    def __str__(self) -> str:
        return f"{self.origin} {self.locator}"


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """Everything one source holds about one child, as raw source fields."""

    key: str  # stable source key of the child (becomes SourceRecordId after mapping)
    fields: Mapping[str, Any]
    related: Mapping[str, Sequence[Mapping[str, Any]]]  # e.g. {"carers": [...], "schools": [...]}
    #: Last-modified value, or a content hash from a source that is read incrementally. None
    #: from a full-snapshot file: nothing reads after it, and the delta engine's own hash of the
    #: mapped record decides what changed, so hashing every raw record there is wasted.
    change_marker: str | None
    provenance: Provenance
    deleted: bool = False  # flagged deleted/closed by an incremental source (TA-DLT-03)

    def fingerprint(self) -> str:
        """The change marker, or a content hash of the raw record (for display and tests)."""
        return self.change_marker or content_hash(self.fields, self.related)


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A unit set aside with its reason (code + message naming the file and line/element)."""

    origin: str
    code: str
    reason: str
    moved_to: Path | None = None


@dataclass
class ReadReport:
    """Collects what a read set aside; the pipeline reports it beside the records.

    It also carries the hand-over between a connector that puts units away (a file drop
    archives a file once read) and a consumer that commits records in chunks: a unit must not
    be put away, and remembered as read, before the records it handed on are committed, or a
    crash in between would lose them for good. So a connector hands its put-away step to
    :meth:`once_committed` instead of running it; with ``defer_put_away`` (the pipeline) the
    step waits until the consumer says, through :meth:`committed`, that every record handed on
    up to then is stored. Without it (previews, counts) the step runs at once.
    """

    quarantined: list[Quarantined] = field(default_factory=list)
    units_read: int = 0  # files, pages or queries completed
    defer_put_away: bool = False
    handed_on: int = 0  # records the consumer has taken (it counts them: :meth:`count`)
    _waiting: list[tuple[int, Callable[[], None]]] = field(default_factory=list)

    def quarantine(self, item: Quarantined) -> None:
        self.quarantined.append(item)

    def once_committed(self, put_away: Callable[[], None]) -> None:
        """Run ``put_away`` once every record handed on so far is committed (or now)."""
        if self.defer_put_away:
            self._waiting.append((self.handed_on, put_away))
        else:
            put_away()

    def count(self, records: Iterator[SourceRecord]) -> Iterator[SourceRecord]:
        """``records``, counting each as it is taken (the consumer's side of the hand-over)."""
        for record in records:
            self.handed_on += 1
            yield record

    def committed(self, through: int) -> None:
        """The first ``through`` records handed on are stored: run the steps waiting on them."""
        while self._waiting and self._waiting[0][0] <= through:
            _, put_away = self._waiting.pop(0)
            put_away()

    @property
    def waiting(self) -> int:
        """Put-away steps not yet run (left undone when the run fails: read again next time)."""
        return len(self._waiting)


class ConnectorConfig(BaseModel):
    """Base of every connector's own settings model (``sources[].options`` in config.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Share:
    """One of ``count`` disjoint parts of a source, so that a large source can be read by
    several processes at once (``run --workers``).

    A unit (a file, named by its primary file name) belongs to the share its name hashes to.
    The hash, not a position in a listing, decides: processes that list the source at slightly
    different moments still agree on who owns each unit, so none is read twice, and a unit one
    of them did not see yet waits for the next run.
    """

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"share {self.index} of {self.count} does not exist")

    def owns(self, unit: str) -> bool:
        """Whether the unit named ``unit`` is this share's to read."""
        # A cryptographic hash: export names differ in a digit or two, and a linear one (CRC)
        # maps such names to the same share.
        digest = hashlib.blake2b(unit.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What the adapter hands a connector besides its settings."""

    source_name: str
    state_dir: Path  # private working directory (processed-file hashes, downloads)
    #: Read only this part of the source. Given only to a connector whose class says
    #: ``splittable = True`` (an optional class attribute: without it, a connector is read whole).
    share: Share | None = None


@runtime_checkable
class Connector(Protocol):
    """A source of :class:`SourceRecord` s. Implementations: one module in ``connectors/``."""

    config_model: ClassVar[type[ConnectorConfig]]

    def read(self, report: ReadReport, *, since: str | None = None) -> Iterator[SourceRecord]:
        """Stream every record (or those changed after watermark ``since``)."""
        ...

    def sample(self, limit: int) -> list[SourceRecord]:
        """Connect and read up to ``limit`` records without side effects (archiving etc.)."""
        ...

    def close(self) -> None:
        """Release connections; idempotent."""
        ...


class ConnectorFactory(Protocol):
    """The registered object: builds a connector from its typed settings."""

    config_model: type[ConnectorConfig]

    def __call__(self, config: Any, context: ConnectorContext) -> Connector: ...
