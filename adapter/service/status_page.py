"""The status page: one server-rendered HTML page, no script, no external assets.

It shows ids, codes, counts and times only. Source record ids are shown masked (first and last
two characters): in some systems a record id is derived from personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape

from adapter.service.schedule import LONDON
from adapter.service.snapshot import Snapshot

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #bbb;padding:.25rem .6rem;text-align:left}
th{background:#eee}.ok{color:#060}.failed,.bad{color:#a00;font-weight:bold}
td.n{text-align:right;font-variant-numeric:tabular-nums}
"""


def _when(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S %Z")
    if isinstance(value, str) and value:
        try:
            return _when(datetime.fromisoformat(value))
        except ValueError:
            return value
    return "—"


def mask_id(value: str | None) -> str:
    """A record id with all but its first and last two characters hidden."""
    if not value:
        return "—"
    if len(value) <= 4:
        return "•" * len(value)
    return value[:2] + "•" * (len(value) - 4) + value[-2:]


def _table(
    caption: str, headers: Sequence[str], rows: Iterable[Sequence[object]], *, table_id: str
) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            cls = ' class="n"' if isinstance(cell, int | float) else ""
            cells.append(f"<td{cls}>{escape(str(cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}">none</td></tr>')
    return (
        f'<h2>{escape(caption)}</h2><table id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def render(snap: Snapshot, *, organisation: str, delivery_note: str = "") -> str:
    """The whole page for one snapshot."""
    sources = _table(
        "Sources",
        [
            "source",
            "system",
            "schedule",
            "last run",
            "result",
            "read",
            "queued",
            "held",
            "next run",
        ],
        (
            [
                s.name,
                s.source_system,
                s.schedule or "not scheduled",
                _when(s.last_run["started_at"]) if s.last_run else "never",
                ("running" if s.running else (s.last_run["status"] if s.last_run else "—"))
                + (
                    f" ({s.last_run['error_code']})"
                    if s.last_run and s.last_run["error_code"]
                    else ""
                ),
                s.last_run["read"] if s.last_run else 0,
                s.last_run["queued"] if s.last_run else 0,
                s.last_run["held"] if s.last_run else 0,
                _when(s.next_run_at) if s.enabled else "disabled",
            ]
            for s in snap.sources
        ),
        table_id="sources",
    )
    outbox = _table(
        "Outbox by state",
        ["state", "entries"],
        ([state, count] for state, count in snap.outbox["entries"].items()),
        table_id="outbox",
    )
    batches = _table(
        "Batches by state",
        ["state", "batches"],
        ([state, count] for state, count in snap.outbox["batches"].items()),
        table_id="batches",
    )
    outcomes = _table(
        "Outcomes",
        ["status", "records"],
        ([status, count] for status, count in sorted(snap.outbox["outcomes"].items())),
        table_id="outcomes",
    )
    parked = _table(
        "Parked entries",
        ["message id", "system", "record (masked)", "reason", "since"],
        (
            [
                p["message_id"],
                p["source_system"],
                mask_id(p["source_record_id"]),
                p["code"] or "—",
                _when(p["at"]),
            ]
            for p in snap.parked
        ),
        table_id="parked",
    )
    parked_reasons = _table(
        "Parked by reason",
        ["reason", "entries"],
        ([r, c] for r, c in sorted(snap.outbox["parked_by_reason"].items())),
        table_id="parked-reasons",
    )
    held = _table(
        "Held records by rule",
        ["rule", "records"],
        ([rule, count] for rule, count in snap.held_by_rule.items()),
        table_id="held",
    )
    worklist = _table(
        "Work list",
        ["open items (No Match / Multiple Match)"],
        [[snap.outbox["worklist_open"]]],
        table_id="worklist",
    )
    days = snap.certificate.days_left(snap.taken_at)
    cert_text = (
        snap.certificate.error or f"expires {_when(snap.certificate.not_after)} ({days:.0f} days)"
    )
    cert_class = "bad" if days is None or days < 30 else "ok"
    audit = _table(
        "Recent audit events",
        ["seq", "at", "kind", "actor", "subject"],
        ([e["seq"], e["at"], e["kind"], e["actor"], e["subject"]] for e in snap.audit_events),
        table_id="audit",
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>ContactPoint Adapter status</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>ContactPoint Adapter — {escape(organisation)}</h1>"
        f"<p>As of {escape(_when(snap.taken_at))}. {escape(delivery_note)}</p>"
        f"{sources}{outbox}{batches}{outcomes}{parked_reasons}{parked}{held}{worklist}"
        f'<h2>Client certificate</h2><p id="certificate" class="{cert_class}">'
        f"{escape(cert_text)}</p>{audit}</body></html>"
    )
