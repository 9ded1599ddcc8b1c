"""Inspection: the admin endpoints and `cpadapter hub status` (counts, work lists, one child)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from adapter.cli import main
from hub.synthetic import national_children, record_for
from tests.fixtures.hub import (
    CASES,
    SOURCE,
    TODAY,
    RunningHub,
    make_batch,
    new_message_id,
    new_source_record_id,
)


def test_admin_endpoints_need_an_admin_certificate(hub: RunningHub) -> None:
    """A registered LA certificate is not an administrator: 403 on every admin route."""
    session = hub.session("client")
    for path in ("status", "worklist/NoMatch", "misbehaviour"):
        assert session.get(f"{hub.url}/admin/{path}", timeout=10).status_code == 403
    reply = session.post(f"{hub.url}/admin/misbehaviour", json={"unavailable_probability": 1})
    assert reply.status_code == 403
    assert hub.admin.status()["nationalRecords"] >= len(CASES)


def test_invalid_misbehaviour_settings_are_refused(hub: RunningHub) -> None:
    """Settings outside their range get 400 naming the field; the old settings stay."""
    reply = hub.admin.session.post(
        f"{hub.url}/admin/misbehaviour", json={"unavailable_probability": 3}, timeout=10
    )
    assert reply.status_code == 400
    assert reply.json()["problems"][0]["field"] == "unavailable_probability"
    current = hub.admin.session.get(f"{hub.url}/admin/misbehaviour", timeout=10).json()
    assert current["unavailable_probability"] == 0


def test_counts_work_lists_and_one_childs_merged_record(hub: RunningHub) -> None:
    """Counts per outcome and source, ids-only work lists, and a child with its contributions."""
    stranger = national_children(1, seed=515151, on=TODAY)[0]
    matched = record_for(
        CASES["by_nhs"], message_id=new_message_id(), source_record_id=new_source_record_id()
    )
    held = record_for(
        stranger, message_id=new_message_id(), source_record_id=new_source_record_id()
    )
    before = hub.admin.status()
    hub.submit(make_batch(matched, held))
    after = hub.admin.status()
    assert after["outcomes"]["Matched"] == before["outcomes"].get("Matched", 0) + 1
    assert after["outcomes"]["NoMatch"] == before["outcomes"].get("NoMatch", 0) + 1
    assert after["bySourceSystem"][SOURCE]["NoMatch"] >= 1

    no_match = hub.admin.worklist("NoMatch")
    assert held.source_record_id in {e["sourceRecordId"] for e in no_match}
    listing = json.dumps(no_match)
    assert stranger.family_name not in listing, "work lists carry no names"
    assert stranger.birth_date.isoformat() not in listing

    cp_id = CASES["by_nhs"].contactpoint_id
    assert cp_id is not None
    view = hub.admin.child(cp_id)
    assert view["merged"]["identity"]["familyName"] == "Smith-Jones"
    mine = [c for c in view["contributions"] if c["sourceRecordId"] == matched.source_record_id]
    assert len(mine) == 1
    assert mine[0]["record"]["messageId"] == matched.message_id
    assert any(SOURCE in carer["sources"] for carer in view["merged"]["parentCarers"])


def test_status_command_reads_the_store(hub: RunningHub) -> None:
    """`cpadapter hub status --json` reports the same counts as the admin endpoint."""
    result = CliRunner().invoke(main, ["hub", "status", "--config", str(hub.config_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    admin = hub.admin.status()
    assert report["outcomes"] == admin["outcomes"]
    assert report["nationalRecords"] == admin["nationalRecords"]
    assert set(report["worklistEntries"]) == {"NoMatch", "MultipleMatch"}
    human = CliRunner().invoke(main, ["hub", "status", "--config", str(hub.config_path)])
    assert human.exit_code == 0
    assert "NoMatch work list:" in human.output
