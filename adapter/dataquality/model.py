"""The data quality report's types: the stable interface other modules code against.

One :class:`SourceQuality` per source holds the five IA-DQ checks (IA-DQ-01 completeness,
IA-DQ-02 validity, IA-DQ-03 internal consistency, IA-DQ-04 usefulness, IA-DQ-05 likely
duplicates), each a :class:`QualityCheck` with its metric, thresholds and verdict, plus the
per-item figures and the failing rows (masked, with provenance) behind them.
:class:`QualityReport` gathers the sources. Metrics are shares in 0..1; for a check where
higher is better (completeness, validity, consistency, usefulness) a metric below
``threshold_fail`` fails and below ``threshold_warn`` warns; for duplicates (lower is better)
a metric above the thresholds does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["pass", "warn", "fail"]
Direction = Literal["higher_is_better", "lower_is_better"]

#: The requirement ids of spec section 6 that this package covers, in report order.
CHECK_IDS: tuple[str, ...] = ("IA-DQ-01", "IA-DQ-02", "IA-DQ-03", "IA-DQ-04", "IA-DQ-05")


@dataclass(frozen=True, slots=True)
class QualityCheck:
    """One IA-DQ check of one source: metric against thresholds, and its verdict."""

    id: str  # "IA-DQ-01" … "IA-DQ-05"
    name: str  # "completeness", "validity", "internal consistency", "usefulness", "duplicates"
    metric: float  # a share, 0..1
    threshold_warn: float
    threshold_fail: float
    verdict: Verdict
    detail: str  # one line a person can act on
    direction: Direction = "higher_is_better"


@dataclass(frozen=True, slots=True)
class ItemFigure:
    """A count over the children of a source: ``count`` of ``total`` (e.g. filled, valid)."""

    name: str  # an LDI item path ("Child/NHSNumber") or a rule name ("date order")
    count: int
    total: int
    failed: int = 0  # for validity/consistency: how many breached

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 1.0


@dataclass(frozen=True, slots=True)
class FailingRow:
    """One finding on one record, ready to show: provenance and masked personal data only."""

    check: str  # "IA-DQ-02"
    rule: str  # "NHS number", "date order", "likely duplicate", "BR-02" …
    source_key: str
    provenance: str
    message: str  # never holds an unmasked personal value
    masked: dict[str, Any] = field(default_factory=dict)  # adapter.masking.mask_fields output


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """Two records of one source that are likely the same child (IA-DQ-05)."""

    key_a: str
    key_b: str
    score: float  # 0..100, rapidfuzz similarity of the names
    provenance_a: str
    provenance_b: str


@dataclass(slots=True)
class SourceQuality:
    """Every figure and check of one source."""

    source: str
    kind: str
    records: int = 0  # source records read (deleted ones included)
    children: int = 0  # records assessed (not flagged deleted)
    checks: list[QualityCheck] = field(default_factory=list)
    completeness: list[ItemFigure] = field(default_factory=list)  # per LDI item: filled
    validity: list[ItemFigure] = field(default_factory=list)  # per check: valid of present
    consistency: list[ItemFigure] = field(default_factory=list)  # per rule: consistent of tested
    usefulness: ItemFigure | None = None  # children with at least one contact
    duplicates: list[DuplicatePair] = field(default_factory=list)
    scope: dict[str, int] = field(default_factory=dict)  # out_of_scope, sensitive_reduced, …
    failing: list[FailingRow] = field(default_factory=list)
    error: str = ""  # the source could not be read: its coded reason (all checks fail)

    @property
    def verdict(self) -> Verdict:
        return worst(check.verdict for check in self.checks) if self.checks else "fail"

    def check(self, check_id: str) -> QualityCheck:
        """The check with ``check_id``; KeyError otherwise."""
        for check in self.checks:
            if check.id == check_id:
                return check
        raise KeyError(check_id)


@dataclass(slots=True)
class QualityReport:
    """The data quality report over the selected sources."""

    organisation: str
    generated_at: str  # ISO 8601 UTC
    sources: list[SourceQuality] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return worst(source.verdict for source in self.sources) if self.sources else "pass"


_ORDER: dict[Verdict, int] = {"pass": 0, "warn": 1, "fail": 2}


def worst(verdicts: Any) -> Verdict:
    """The worst of ``verdicts`` (fail > warn > pass); pass for none."""
    result: Verdict = "pass"
    for verdict in verdicts:
        if _ORDER[verdict] > _ORDER[result]:
            result = verdict
    return result


def judge(metric: float, warn: float, fail: float, direction: Direction) -> Verdict:
    """pass/warn/fail of ``metric`` against the thresholds (see the module docstring)."""
    if direction == "higher_is_better":
        if metric < fail:
            return "fail"
        return "warn" if metric < warn else "pass"
    if metric > fail:
        return "fail"
    return "warn" if metric > warn else "pass"
