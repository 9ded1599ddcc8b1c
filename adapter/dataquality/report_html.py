"""``dq-report.html``: one self-contained page a data administrator can read.

Server-rendered: inline CSS, charts as inline SVG, no script, no external asset (fonts,
images, styles), so it opens offline and from an e-mail attachment. Every value shown is a
count, a share, a source key or provenance, or personal data already masked by
:mod:`adapter.masking`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from adapter.dataquality.model import (
    FailingRow,
    ItemFigure,
    QualityCheck,
    QualityReport,
    SourceQuality,
)

HTML_NAME = "dq-report.html"

_COLOURS = {"pass": "#1d7a3a", "warn": "#a86400", "fail": "#b3261e"}
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem;
color:#1b1b1b;max-width:72rem}
h1{font-size:1.6rem;margin:0 0 .25rem}
.verdict{font-size:2rem;font-weight:700;padding:.6rem 1rem;border-radius:.4rem;color:#fff;
display:inline-block;margin:.5rem 0 1rem}
.pass{background:#1d7a3a}.warn{background:#a86400}.fail{background:#b3261e}
.tag{color:#fff;border-radius:.25rem;padding:0 .4rem;font-weight:600;font-size:.85rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top;
font-size:.9rem}
th{background:#f3f3f3}
td.n{text-align:right;font-variant-numeric:tabular-nums}
section{border-top:3px solid #444;margin-top:2rem;padding-top:.5rem}
.muted{color:#555;font-size:.85rem}
code{font-size:.85rem}
td:first-child{white-space:nowrap}
"""


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _tag(verdict: str) -> str:
    return f'<span class="tag {escape(verdict)}">{escape(verdict.upper())}</span>'


def bar_chart(rows: Sequence[tuple[str, float, str]], *, title: str) -> str:
    """A horizontal bar chart as inline SVG: (label, share 0..1, colour) per bar."""
    bar_h, gap, label_w, bar_w = 18, 6, 230, 380
    height = len(rows) * (bar_h + gap) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{label_w + bar_w + 70}" '
        f'height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, share, colour) in enumerate(rows):
        y = 5 + i * (bar_h + gap)
        width = max(0.0, min(1.0, share)) * bar_w
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="{bar_h}" fill="#eee"/>'
            f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="{bar_h}" fill="{colour}"/>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 13}" font-size="12">{_pct(share)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _checks_table(checks: Sequence[QualityCheck]) -> str:
    rows = []
    for c in checks:
        bound = "at least" if c.direction == "higher_is_better" else "at most"
        rows.append(
            f"<tr><td>{escape(c.id)}</td><td>{escape(c.name)}</td><td>{_tag(c.verdict)}</td>"
            f'<td class="n">{_pct(c.metric)}</td>'
            f"<td>{bound} {_pct(c.threshold_warn)} / {_pct(c.threshold_fail)}</td>"
            f"<td>{escape(c.detail)}</td></tr>"
        )
    return (
        "<table><tr><th>check</th><th>name</th><th>verdict</th><th>metric</th>"
        "<th>warn / fail</th><th>detail</th></tr>" + "".join(rows) + "</table>"
    )


def _figures_table(figures: Sequence[ItemFigure], heading: str, count_label: str) -> str:
    if not figures:
        return ""
    rows = "".join(
        f'<tr><td>{escape(f.name)}</td><td class="n">{f.count}</td><td class="n">{f.total}</td>'
        f'<td class="n">{f.failed}</td><td class="n">{_pct(f.share)}</td></tr>'
        for f in figures
    )
    return (
        f"<h3>{escape(heading)}</h3><table><tr><th>item</th><th>{escape(count_label)}</th>"
        f"<th>of</th><th>not</th><th>share</th></tr>{rows}</table>"
    )


def _masked(masked: dict[str, Any]) -> str:
    shown = [f"{k}={v}" for k, v in masked.items() if v not in (None, "")]
    text = ", ".join(shown)
    return escape(text if len(text) <= 240 else text[:237] + "...")


def _failing_table(rows: Sequence[FailingRow]) -> str:
    if not rows:
        return "<p>No failing rows.</p>"
    body = "".join(
        f"<tr><td>{escape(r.check)}</td><td>{escape(r.rule)}</td><td><code>{escape(r.source_key)}"
        f"</code></td><td>{escape(r.provenance)}</td><td>{escape(r.message)}</td>"
        f'<td class="muted">{_masked(r.masked)}</td></tr>'
        for r in rows
    )
    return (
        "<table><tr><th>check</th><th>rule</th><th>key</th><th>provenance</th><th>finding</th>"
        f"<th>record (masked)</th></tr>{body}</table>"
    )


def _source_section(source: SourceQuality) -> str:
    parts = [
        f'<section id="source-{escape(source.source)}"><h2>{escape(source.source)} '
        f'<span class="muted">({escape(source.kind)})</span> {_tag(source.verdict)}</h2>'
    ]
    if source.error:
        parts.append(f"<p><strong>Could not be assessed:</strong> {escape(source.error)}</p>")
    parts.append(
        f'<p class="muted">{source.records} records read, {source.children} children assessed '
        "(records flagged deleted are not assessed).</p>"
    )
    parts.append(_checks_table(source.checks))
    if source.checks:
        parts.append(
            bar_chart(
                [
                    (
                        f"{c.id} {c.name}",
                        c.metric,
                        _COLOURS[c.verdict],
                    )
                    for c in source.checks
                ],
                title=f"{source.source}: checks",
            )
        )
    if source.completeness:
        parts.append("<h3>Completeness per LDI item (IA-DQ-01)</h3>")
        parts.append(
            bar_chart(
                [(f.name, f.share, "#35648f") for f in source.completeness],
                title=f"{source.source}: completeness per item",
            )
        )
    parts.append(_figures_table(source.completeness, "Completeness figures", "filled"))
    parts.append(_figures_table(source.validity, "Validity per check (IA-DQ-02)", "valid"))
    parts.append(
        _figures_table(source.consistency, "Internal consistency (IA-DQ-03)", "consistent")
    )
    if source.usefulness is not None:
        parts.append(_figures_table([source.usefulness], "Usefulness (IA-DQ-04)", "with contact"))
    if source.scope:
        scope = "".join(
            f'<tr><td>{escape(k.replace("_", " "))}</td><td class="n">{v}</td></tr>'
            for k, v in source.scope.items()
        )
        parts.append(
            "<h3>Scope and policy (BR-02 out of scope, BR-03 sensitive without consent, "
            f"BR-04 shielded)</h3><table><tr><th>count</th><th>children</th></tr>{scope}</table>"
        )
    parts.append(f"<h3>Failing rows ({len(source.failing)})</h3>")
    parts.append(_failing_table(source.failing))
    parts.append("</section>")
    return "".join(parts)


def render_html(report: QualityReport) -> str:
    """The whole report as one HTML document."""
    verdict = report.verdict
    summary = "".join(
        f'<tr><td><a href="#source-{escape(s.source)}">{escape(s.source)}</a></td>'
        f"<td>{_tag(s.verdict)}</td>"
        + "".join(f"<td>{_tag(c.verdict)}</td>" for c in s.checks)
        + "</tr>"
        for s in report.sources
    )
    header = "".join(
        f"<th>{escape(c)}</th>"
        for c in ("IA-DQ-01", "IA-DQ-02", "IA-DQ-03", "IA-DQ-04", "IA-DQ-05")
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Data quality report</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Data quality report: {escape(report.organisation)}</h1>"
        f'<p class="muted">Generated {escape(report.generated_at)}. Personal data is masked.</p>'
        f'<div id="verdict" class="verdict {escape(verdict)}">Verdict: {escape(verdict.upper())}'
        "</div>"
        f"<table><tr><th>source</th><th>verdict</th>{header}</tr>{summary}</table>"
        + "".join(_source_section(s) for s in report.sources)
        + "</body></html>\n"
    )


def write_html(report: QualityReport, out_dir: Path) -> Path:
    """Write ``dq-report.html`` in ``out_dir``; its path."""
    path = out_dir / HTML_NAME
    path.write_text(render_html(report), "utf-8")
    return path
