"""The hub's store on PostgreSQL: the same code path as SQLite, on a real server."""

from __future__ import annotations

from hub.inspection import status_report
from hub.processing import Processor
from hub.service import Caller, HubService
from hub.store import Store
from hub.synthetic import record_for
from ldi.models import BatchStatus
from ldi.xmlcodec import to_element
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.hub import (
    CASES,
    LA,
    SOURCE,
    make_batch,
    new_message_id,
    new_source_record_id,
)


def test_store_and_processing_work_on_postgresql(database_factory: DatabaseFactory) -> None:
    """Seed, accept, process, update, poll and reopen on PostgreSQL, as on SQLite."""
    url = database_factory.create("postgresql", "hub")
    store = Store.open(url)
    caller = Caller(la_code=LA, source_systems=frozenset({SOURCE}), presented_by="t")
    try:
        store.add_children(CASES.values())
        service = HubService(store, Processor(store), inline=True)
        srid = new_source_record_id()
        first = record_for(CASES["by_nhs"], message_id=new_message_id(), source_record_id=srid)
        twins = record_for(
            CASES["twin_1"],
            message_id=new_message_id(),
            source_record_id=new_source_record_id(),
            with_identifiers=False,
        )
        batch = make_batch(first, twins)
        receipt, created = service.submit(
            caller, to_element(batch), None, max_records=1000, transport="soap"
        )
        assert created
        again, created_again = service.submit(
            caller, to_element(batch), None, max_records=1000, transport="soap"
        )
        assert (again, created_again) == (receipt, False)
        # A second version of the same source record: the update path of contributions.
        second = record_for(
            CASES["by_nhs"], message_id=new_message_id(), source_record_id=srid, version=2
        )
        service.submit(
            caller, to_element(make_batch(second)), None, max_records=1000, transport="soap"
        )
        outcome = service.outcome(service.find_batch(caller, batch.batch_id))
        assert outcome.status is BatchStatus.COMPLETE
        assert [o.status.value for o in outcome.record_outcomes] == ["Matched", "MultipleMatch"]
        assert outcome.record_outcomes[1].candidate_count == 2
    finally:
        store.close()

    reopened = Store.open(url)
    try:
        contribution = reopened.contribution(SOURCE, srid)
        assert contribution is not None
        assert (contribution["version"], contribution["status"]) == (2, "Matched")
        report = status_report(reopened)
        assert report["outcomes"] == {"Matched": 2, "MultipleMatch": 1}
        assert report["worklists"] == {"NoMatch": 0, "MultipleMatch": 1}
        assert report["nationalRecords"] == len(CASES)
    finally:
        reopened.close()
