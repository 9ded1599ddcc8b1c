"""Idempotency, ordering and Withdraw across batches (LDI-REL-01, LDI-REL-02, section 3)."""

from __future__ import annotations

from typing import Any

from hub.synthetic import record_for
from ldi.models import Action, Record
from tests.fixtures.hub import (
    CASES,
    SECOND_SOURCE,
    SOURCE,
    RunningHub,
    make_batch,
    new_message_id,
    new_source_record_id,
)


def _upsert(case: str, srid: str, version: int, message_id: str | None = None) -> Record:
    return record_for(
        CASES[case],
        message_id=message_id or new_message_id(),
        source_record_id=srid,
        version=version,
    )


def _withdraw(srid: str, version: int) -> Record:
    return Record(
        message_id=new_message_id(), action=Action.WITHDRAW, version=version, source_record_id=srid
    )


def _status(hub: RunningHub, record: Record, source: str = SOURCE) -> Any:
    batch = make_batch(record, source=source)
    hub.submit(batch)
    return hub.outcomes_by_message(batch.batch_id)[record.message_id]


def test_resent_message_id_is_a_duplicate_and_not_applied_again(hub: RunningHub) -> None:
    """The same messageId in a new batch → Duplicate with OriginalStatus; nothing re-applied."""
    srid = new_source_record_id()
    first = _upsert("by_nhs", srid, 1)
    assert _status(hub, first).status == "Matched"
    before = hub.admin.contribution(SOURCE, srid)
    # Resent with the same messageId but (wrongly) another version: still nothing applied.
    resent = first.model_copy(update={"version": 5})
    outcome = _status(hub, resent)
    assert outcome.status == "Duplicate"
    assert outcome.OriginalStatus == "Matched"
    assert hub.admin.contribution(SOURCE, srid) == before


def test_version_not_above_the_last_applied_is_stale(hub: RunningHub) -> None:
    """A lower (or equal) version than the last applied one → Stale; the contribution stays."""
    srid = new_source_record_id()
    assert _status(hub, _upsert("by_nhs", srid, 3)).status == "Matched"
    assert _status(hub, _upsert("by_nhs", srid, 2)).status == "Stale"
    assert _status(hub, _upsert("by_nhs", srid, 3)).status == "Stale"
    assert hub.admin.contribution(SOURCE, srid)["version"] == 3
    assert _status(hub, _upsert("by_nhs", srid, 4)).status == "Matched"
    assert hub.admin.contribution(SOURCE, srid)["version"] == 4


def test_withdraw_removes_exactly_that_sources_contribution(hub: RunningHub) -> None:
    """Two sources contribute to one child; withdrawing one leaves the other's intact."""
    cp_id = CASES["former_name"].contactpoint_id
    assert cp_id is not None
    fwk, sch = new_source_record_id("FWK"), new_source_record_id("SCH")
    fwk_record = _upsert("former_name", fwk, 1)
    assert _status(hub, fwk_record).ContactPointId == cp_id
    assert _status(hub, _upsert("former_name", sch, 1), SECOND_SOURCE).ContactPointId == cp_id
    sources = {
        (c["sourceSystem"], c["sourceRecordId"]) for c in hub.admin.child(cp_id)["contributions"]
    }
    assert {(SOURCE, fwk), (SECOND_SOURCE, sch)} <= sources

    assert _status(hub, _withdraw(fwk, 2)).status == "Withdrawn"

    view = hub.admin.child(cp_id)
    sources = {(c["sourceSystem"], c["sourceRecordId"]) for c in view["contributions"]}
    assert (SOURCE, fwk) not in sources
    assert (SECOND_SOURCE, sch) in sources
    carers = view["merged"]["parentCarers"]
    assert carers, "the remaining source's carer is still merged"
    assert all(SOURCE not in c["sources"] or SECOND_SOURCE in c["sources"] for c in carers)
    withdrawn = hub.admin.contribution(SOURCE, fwk)
    assert (withdrawn["status"], withdrawn["record"], withdrawn["version"]) == (
        "Withdrawn",
        None,
        2,
    )
    # An older Upsert arriving after the Withdraw is Stale, not a resurrection.
    assert _status(hub, _upsert("former_name", fwk, 1)).status == "Stale"


def test_no_match_and_multiple_match_are_held_on_the_work_lists(hub: RunningHub) -> None:
    """NoMatch / MultipleMatch contributions are held (no national record made) and listed."""
    before = hub.admin.status()["nationalRecords"]
    srid = new_source_record_id()
    twins = record_for(
        CASES["twin_2"],
        message_id=new_message_id(),
        source_record_id=srid,
        with_identifiers=False,
    )
    assert _status(hub, twins).status == "MultipleMatch"
    entries = {e["sourceRecordId"]: e for e in hub.admin.worklist("MultipleMatch")}
    assert entries[srid]["candidateCount"] == 2
    assert set(entries[srid]) <= {
        "accountableBody",
        "sourceSystem",
        "sourceRecordId",
        "version",
        "messageId",
        "batchId",
        "candidateCount",
        "updatedAt",
    }, "work lists carry ids only"
    assert hub.admin.status()["nationalRecords"] == before
