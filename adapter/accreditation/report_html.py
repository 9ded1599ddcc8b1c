"""report.html: the human-readable summary of a run (verdict, per-check detail, SVG charts).

Self-contained on purpose: inline CSS and SVG, no scripts, no fonts or images fetched, so the
report opens the same from a USB stick, an email attachment or an air-gapped laptop.
"""

from __future__ import annotations

from html import escape
from typing import Any

from adapter.accreditation import catalogue
from adapter.accreditation.results import CheckResult, Run, Status

COLOURS = {
    Status.PASS: "#2e7d32",
    Status.FAIL: "#c62828",
    Status.ERROR: "#ef6c00",
    Status.SKIP: "#757575",
}

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:72em}
.verdict{font-size:1.6em;padding:.5em 1em;color:#fff;border-radius:.3em;display:inline-block}
table{border-collapse:collapse;width:100%;margin-top:1em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#f0f0f0}.st{color:#fff;font-weight:bold;text-align:center}
.sub td{font-size:.8em}
"""


def _status_bar(run: Run) -> str:
    """A horizontal stacked bar of pass/fail/error/skip counts."""
    total = max(1, len(run.results))
    x = 0.0
    parts = []
    for status, count in run.counts().items():
        if not count:
            continue
        width = 600 * count / total
        colour = COLOURS[Status(status)]
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="30" fill="{colour}">'
            f"<title>{status}: {count}</title></rect>"
            f'<text x="{x + 4:.1f}" y="20" fill="#fff" font-size="13">{status} {count}</text>'
        )
        x += width
    return (
        '<svg role="img" aria-label="checks by status" width="600" height="30" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _duration_chart(results: list[CheckResult]) -> str:
    """One bar per check: how long it took (shows where the run's time goes)."""
    longest = max([r.seconds for r in results] + [0.001])
    rows = []
    for i, result in enumerate(results):
        y = i * 16
        width = 380 * result.seconds / longest
        rows.append(
            f'<text x="0" y="{y + 12}" font-size="11">{escape(result.check_id)}</text>'
            f'<rect x="90" y="{y + 2}" width="{width:.1f}" height="12" '
            f'fill="{COLOURS[result.status]}"><title>{result.seconds:.2f} s</title></rect>'
            f'<text x="{95 + width:.1f}" y="{y + 12}" font-size="10">{result.seconds:.2f} s</text>'
        )
    height = 16 * len(results) + 4
    return (
        f'<svg role="img" aria-label="seconds per check" width="560" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>'
    )


def _details(details: dict[str, Any]) -> str:
    """Tabular details (e.g. a mapping coverage table) under a check's row."""
    table = details.get("table")
    if not isinstance(table, list) or not table:
        return ""
    columns = list(table[0])
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(row.get(c, '')))}</td>" for c in columns) + "</tr>"
        for row in table
    )
    return f'<table class="sub"><tr>{head}</tr>{body}</table>'


def render(run: Run, *, product_version: str) -> str:
    """The whole report as one HTML string."""
    verdict = run.verdict
    texts = catalogue.texts()
    rows = []
    for result in run.results:
        rows.append(
            "<tr>"
            f"<td>{escape(result.check_id)}</td>"
            f"<td>{escape(texts.get(result.check_id, ''))}</td>"
            f'<td class="st" style="background:{COLOURS[result.status]}">'
            f"{result.status.value.upper()}</td>"
            f"<td>{escape(result.message)}{_details(result.details)}</td>"
            f"<td>{result.seconds:.2f}</td>"
            "</tr>"
        )
    title = f"ContactPoint Adapter {run.kind} accreditation"
    counts = ", ".join(f"{v} {k}" for k, v in run.counts().items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p id="verdict" class="verdict" style="background:{COLOURS[verdict]}">
Verdict: {verdict.value.upper()}</p>
<p>Product version {escape(product_version)}; profile {escape(run.profile or "-")};
started {escape(run.started_at)}, ended {escape(run.ended_at)}; {escape(counts)}.</p>
<p><em>error</em> means the accreditation harness itself broke (not a product failure);
<em>skip</em> carries its reason.</p>
<h2>Checks by status</h2>{_status_bar(run)}
<h2>Time per check</h2>{_duration_chart(run.results)}
<h2>Checks</h2>
<table><tr><th>check</th><th>requirement (LDI 1.0 section 6)</th><th>status</th>
<th>detail</th><th>s</th></tr>
{"".join(rows)}
</table>
<p>Machine-readable: results.json, junit.xml. Exchanges (personal data redacted): exchanges/.
Integrity: manifest.json (SHA-256 of every file), manifest.sig when signed.</p>
</body></html>
"""
