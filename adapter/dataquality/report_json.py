"""``dq-report.json``: the report as plain data (masked; the same figures as the HTML)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from adapter.dataquality.model import ItemFigure, QualityReport, SourceQuality

JSON_NAME = "dq-report.json"


def _figure(figure: ItemFigure) -> dict[str, Any]:
    return {**asdict(figure), "share": round(figure.share, 4)}


def source_dict(source: SourceQuality) -> dict[str, Any]:
    """One source as plain data."""
    return {
        "source": source.source,
        "kind": source.kind,
        "verdict": source.verdict,
        "error": source.error or None,
        "records": source.records,
        "children": source.children,
        "checks": [asdict(check) for check in source.checks],
        "completeness": [_figure(f) for f in source.completeness],
        "validity": [_figure(f) for f in source.validity],
        "consistency": [_figure(f) for f in source.consistency],
        "usefulness": None if source.usefulness is None else _figure(source.usefulness),
        "duplicates": [asdict(pair) for pair in source.duplicates],
        "scope": source.scope,
        "failing": [asdict(row) for row in source.failing],
    }


def report_dict(report: QualityReport) -> dict[str, Any]:
    """The whole report as plain data."""
    return {
        "organisation": report.organisation,
        "generated_at": report.generated_at,
        "verdict": report.verdict,
        "sources": [source_dict(source) for source in report.sources],
    }


def write_json(report: QualityReport, out_dir: Path) -> Path:
    """Write ``dq-report.json`` in ``out_dir``; its path."""
    path = out_dir / JSON_NAME
    path.write_text(json.dumps(report_dict(report), indent=2, default=str) + "\n", "utf-8")
    return path
