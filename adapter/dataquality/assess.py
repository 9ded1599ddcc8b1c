"""Assess one source, or all: read → map → rule engine → policy gate → measure → judge.

Nothing is queued and the store is not touched. Records are read through
``Connector.sample`` (side-effect free: a file drop does not archive, remember or wait), with a
private temporary state directory so files an earlier feed already processed are still seen;
the ``soap`` connector's sample is a single page, so it is read in full through ``read``
(paged requests, no side effects either).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from adapter.config import AdapterConfig, QualityConfig, QualityThreshold, SourceConfig
from adapter.dataquality.consistency import (
    AGE_VS_SCHOOL_YEAR,
    CARER_VS_CHILD,
    DATE_ORDER,
    age_vs_school_year,
    carer_vs_child,
    date_order,
)
from adapter.dataquality.duplicates import Candidate, children_in_pairs, find_duplicates
from adapter.dataquality.metrics import ITEMS, Observation, Tally
from adapter.dataquality.model import (
    Direction,
    FailingRow,
    QualityCheck,
    QualityReport,
    SourceQuality,
    judge,
)
from adapter.mapping_files import load_mapping
from adapter.masking import mask_fields
from adapter.sources import open_connector
from connectors.base import ReadReport, SourceRecord
from ldi.errors import ConfigError, ContactPointError
from ldi.models import Breach
from ldi.rules import check_record
from mappings.gate import apply_policy
from mappings.mapper import Mapper
from mappings.spec import MappingSpec

#: ``sample`` of these kinds reads one page only; their ``read`` has no side effects.
READ_IN_FULL_KINDS = frozenset({"soap"})
_NO_LIMIT = 10**9


def mapped_items(spec: MappingSpec) -> frozenset[str]:
    """The LDI item paths of :data:`metrics.ITEMS` that ``spec`` fills."""
    targets = {t.replace(".", "/") for t in spec.items}
    for group in spec.groups:
        base = group.target.replace(".", "/")
        targets.add(base)
        targets.update(f"{base}/{t.replace('.', '/')}" for t in group.items)
    return frozenset(
        item
        for item, _h, _f in ITEMS
        if any(t == item or t.startswith(item + "/") for t in targets)
    )


def _records(source: SourceConfig, limit: int | None, state_root: Path) -> Iterator[SourceRecord]:
    with open_connector(source, state_root=state_root) as connector:
        if source.kind in READ_IN_FULL_KINDS:
            for count, record in enumerate(connector.read(ReadReport()), start=1):
                yield record
                if limit is not None and count >= limit:
                    return
        else:
            yield from connector.sample(limit if limit is not None else _NO_LIMIT)


def assess_source(
    config: AdapterConfig,
    source: SourceConfig,
    *,
    base: Path,
    limit: int | None = None,
    run_at: datetime | None = None,
) -> SourceQuality:
    """Measure one source against ``config.quality``; failures to read are in ``error``.

    ``base`` is the folder of the configuration file (mapping paths are relative to it);
    ``limit`` reads at most that many records; ``run_at`` is "today" for ages and dates.
    """
    quality = config.quality
    now = run_at or datetime.now(UTC)
    result = SourceQuality(source=source.name, kind=source.kind)
    try:
        if source.mapping is None:
            raise ConfigError(f"source {source.name!r} has no mapping file", code="CFG-MAPPING")
        path = source.mapping if source.mapping.is_absolute() else base / source.mapping
        spec = load_mapping(path)
        mapper = Mapper(spec)
        tally = Tally(mapped_items(spec), max_rows=quality.max_failing_rows)
        candidates: list[Candidate] = []
        with tempfile.TemporaryDirectory(prefix="cpadapter-dq-") as state:
            for record in _records(source, limit, Path(state)):
                result.records += 1
                if record.deleted:
                    tally.scope["deleted"] += 1
                    continue
                obs = observe(record, mapper, now)
                tally.add(obs)
                candidate = _candidate(obs)
                if candidate is not None:
                    candidates.append(candidate)
    except ContactPointError as exc:
        result.error = f"{exc.code}: {exc.message}"
        result.checks = _failed_checks(quality, result.error)
        return result
    except Exception as exc:  # noqa: BLE001 - a plug-in's bug must not stop the other sources
        result.error = (
            f"SRC-UNEXPECTED: the {source.kind} connector failed with {type(exc).__name__}"
        )
        result.checks = _failed_checks(quality, result.error)
        return result
    result.children = tally.children
    result.completeness = tally.completeness()
    result.validity = tally.validity()
    result.consistency = tally.consistency()
    result.usefulness = tally.usefulness()
    result.duplicates = find_duplicates(candidates, quality.duplicate_name_score)
    for pair in result.duplicates:
        if len(tally.failing) < quality.max_failing_rows:
            tally.failing.append(
                FailingRow(
                    "IA-DQ-05",
                    "likely duplicate",
                    pair.key_a,
                    pair.provenance_a,
                    f"likely the same child as {pair.key_b} ({pair.provenance_b}), "
                    f"score {pair.score:g}",
                )
            )
    result.scope = dict(sorted(tally.scope.items()))
    result.scope["failing_rows_not_listed"] = tally.failing_dropped
    result.failing = tally.failing
    result.checks = _checks(quality, tally, result)
    return result


def observe(record: SourceRecord, mapper: Mapper, run_at: datetime) -> Observation:
    """Map, check and gate one source record; measure its internal consistency."""
    mapped = mapper.map(record)
    breaches: tuple[Breach, ...] = ()
    consistency: dict[str, list[str]] = {}
    gate = None
    if mapped.record is not None:
        breaches = tuple(check_record(mapped.record, run_at.date()))
        gate = apply_policy(mapped.record, run_at=run_at)
        consistency = {
            DATE_ORDER: date_order(breaches),
            AGE_VS_SCHOOL_YEAR: age_vs_school_year(
                mapped.record, record.related.get("schools", ()), run_at.date()
            ),
            CARER_VS_CHILD: carer_vs_child(mapped.record, record.related),
        }
    return Observation(
        key=mapped.source_record_id or record.key,
        provenance=str(record.provenance),
        masked=mask_fields(record.fields),
        mapped=mapped,
        breaches=breaches,
        gate=gate,
        consistency=consistency,
    )


def _candidate(obs: Observation) -> Candidate | None:
    record = obs.mapped.record
    if record is None or record.child is None:
        return None
    child = record.child
    return Candidate(
        key=obs.key,
        provenance=obs.provenance,
        birth_date=child.birth_date,
        given_name=child.name.given_name,
        family_name=child.name.family_name,
        gender=child.gender.value,
        nhs_number=child.nhs_number,
        upn=child.upn,
    )


def _check(
    check_id: str,
    name: str,
    metric: float,
    threshold: QualityThreshold,
    detail: str,
    direction: Direction = "higher_is_better",
) -> QualityCheck:
    return QualityCheck(
        id=check_id,
        name=name,
        metric=round(metric, 4),
        threshold_warn=threshold.warn,
        threshold_fail=threshold.fail,
        verdict=judge(round(metric, 4), threshold.warn, threshold.fail, direction),
        detail=detail,
        direction=direction,
    )


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _checks(quality: QualityConfig, tally: Tally, result: SourceQuality) -> list[QualityCheck]:
    complete = tally.completeness_metric()
    headline = {item for item, is_headline, _f in ITEMS if is_headline}
    lowest = min(
        (f for f in result.completeness if f.name in headline), key=lambda f: f.share, default=None
    )
    if not tally.mapped:
        complete_detail = "no child could be mapped: nothing to measure"
    else:
        complete_detail = (
            f"identifying items filled on average {_pct(complete)} "
            f"of {tally.mapped} mapped children"
        )
        if lowest is not None:
            complete_detail += f"; lowest {lowest.name} {_pct(lowest.share)}"
    worst_validity = max(result.validity, key=lambda f: f.failed, default=None)
    valid_detail = f"{tally.children_invalid} of {tally.children} children have an invalid value"
    if worst_validity is not None and worst_validity.failed:
        valid_detail += f"; most often {worst_validity.name} ({worst_validity.failed})"
    rules = ", ".join(f"{f.name} {f.failed}" for f in result.consistency if f.failed)
    consistent_detail = (
        f"{tally.children_inconsistent} of {tally.mapped} children have facts that contradict"
        + (f" ({rules})" if rules else "")
    )
    useful = tally.usefulness()
    useful_detail = (
        f"{useful.count} of {useful.total} children to be sent have at least one contact"
    )
    in_pairs = len(children_in_pairs(result.duplicates))
    dup_share = in_pairs / tally.mapped if tally.mapped else 0.0
    dup_detail = (
        f"{len(result.duplicates)} likely duplicate pairs ({in_pairs} of {tally.mapped} children), "
        "blocked on birth date, Jaro-Winkler names"
    )
    return [
        _check("IA-DQ-01", "completeness", complete, quality.completeness, complete_detail),
        _check("IA-DQ-02", "validity", tally.validity_metric(), quality.validity, valid_detail),
        _check(
            "IA-DQ-03",
            "internal consistency",
            tally.consistency_metric(),
            quality.consistency,
            consistent_detail,
        ),
        _check("IA-DQ-04", "usefulness", useful.share, quality.usefulness, useful_detail),
        _check(
            "IA-DQ-05", "duplicates", dup_share, quality.duplicates, dup_detail, "lower_is_better"
        ),
    ]


def _failed_checks(quality: QualityConfig, reason: str) -> list[QualityCheck]:
    specs: tuple[tuple[str, str, QualityThreshold, Direction], ...] = (
        ("IA-DQ-01", "completeness", quality.completeness, "higher_is_better"),
        ("IA-DQ-02", "validity", quality.validity, "higher_is_better"),
        ("IA-DQ-03", "internal consistency", quality.consistency, "higher_is_better"),
        ("IA-DQ-04", "usefulness", quality.usefulness, "higher_is_better"),
        ("IA-DQ-05", "duplicates", quality.duplicates, "lower_is_better"),
    )
    return [
        QualityCheck(
            id=i,
            name=n,
            metric=0.0 if d == "higher_is_better" else 1.0,
            threshold_warn=t.warn,
            threshold_fail=t.fail,
            verdict="fail",
            detail=f"the source could not be assessed: {reason}",
            direction=d,
        )
        for i, n, t, d in specs
    ]


def assess(
    config: AdapterConfig,
    *,
    base: Path,
    names: Sequence[str] | None = None,
    limit: int | None = None,
    run_at: datetime | None = None,
) -> QualityReport:
    """Every enabled source (or those in ``names``; ConfigError for an unknown name)."""
    now = run_at or datetime.now(UTC)
    sources = (
        [config.source(name) for name in names]
        if names
        else [s for s in config.sources if s.enabled]
    )
    report = QualityReport(
        organisation=config.organisation.name,
        generated_at=now.replace(microsecond=0).isoformat(),
    )
    for source in sources:
        report.sources.append(assess_source(config, source, base=base, limit=limit, run_at=now))
    return report
