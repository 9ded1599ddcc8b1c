"""Per-record processing (section 4/5): idempotency, ordering, Withdraw, rules, BR-09."""

from __future__ import annotations

from datetime import date

from hub.matching import DictIndex
from hub.processing import decide, prepare, prepare_element
from hub.store import ContributionState
from ldi.models import (
    Action,
    Breach,
    Child,
    ChildName,
    Gender,
    OutcomeStatus,
    Record,
    SubmissionBatch,
)
from ldi.rules import check_batch
from tests.fixtures.hub import make_batch

BORN = date(2015, 3, 27)


def _index() -> DictIndex:
    index = DictIndex.empty()
    index.add(
        "CP-A",
        birth_date=BORN,
        given_name="Amelia",
        family_names=["Smith"],
        nhs_number="9000000009",
    )
    return index


def _upsert(message_id: str, srid: str = "S1", version: int = 1, **kw: object) -> Record:
    return Record(
        message_id=message_id,
        action=Action.UPSERT,
        version=version,
        source_record_id=srid,
        child=Child(
            name=ChildName(given_name="Amelia", family_name="Smith"),
            birth_date=BORN,
            gender=Gender.FEMALE,
            nhs_number="9000000009",
        ),
        **kw,  # type: ignore[arg-type]
    )


def _withdraw(message_id: str, srid: str = "S1", version: int = 2, **kw: object) -> Record:
    return Record(
        message_id=message_id,
        action=Action.WITHDRAW,
        version=version,
        source_record_id=srid,
        **kw,  # type: ignore[arg-type]
    )


def _run(
    batch: SubmissionBatch,
    seen: dict[str, OutcomeStatus] | None = None,
    contributions: dict[str, ContributionState] | None = None,
) -> list[tuple[str, str | None]]:
    effects = decide(
        prepare(batch, check_batch(batch)),
        seen=seen or {},
        contributions=contributions or {},
        index=_index(),
    )
    return [
        (o.status.value, o.original_status.value if o.original_status else None)
        for o in effects.outcomes
    ]


def test_message_processed_before_is_duplicate_with_its_first_status() -> None:
    """A seen messageId → Duplicate + OriginalStatus, and it registers/writes nothing."""
    batch = make_batch(_upsert("a" * 32, version=9))
    effects = decide(
        prepare(batch, check_batch(batch)),
        seen={"a" * 32: OutcomeStatus.NO_MATCH},
        contributions={},
        index=_index(),
    )
    [outcome] = effects.outcomes
    assert (outcome.status, outcome.original_status) == (
        OutcomeStatus.DUPLICATE,
        OutcomeStatus.NO_MATCH,
    )
    assert effects.writes == {}
    assert effects.new_messages == {}


def test_version_not_above_last_applied_is_stale() -> None:
    """Lower or equal version → Stale; a higher one is applied."""
    current = {"S1": ContributionState(3, OutcomeStatus.MATCHED, "CP-A")}
    batch = make_batch(
        _upsert("1" * 32, version=2), _upsert("2" * 32, version=3), _upsert("3" * 32, version=4)
    )
    assert _run(batch, contributions=current) == [
        ("Stale", None),
        ("Stale", None),
        ("Matched", None),
    ]


def test_records_of_one_source_record_in_one_batch_are_ordered() -> None:
    """v1 then v2 in one batch both apply; a v1 after them is Stale; the last write wins."""
    batch = make_batch(
        _upsert("1" * 32, version=1), _upsert("2" * 32, version=2), _upsert("3" * 32, version=1)
    )
    effects = decide(prepare(batch, check_batch(batch)), seen={}, contributions={}, index=_index())
    assert [o.status.value for o in effects.outcomes] == ["Matched", "Matched", "Stale"]
    assert effects.writes["S1"].version == 2
    assert set(effects.new_messages) == {"1" * 32, "2" * 32, "3" * 32}


def test_withdraw_empties_the_contribution_and_keeps_the_version() -> None:
    """Withdraw → Withdrawn; the row keeps version 2 and no record; an older Upsert is Stale."""
    batch = make_batch(
        _upsert("1" * 32, version=1), _withdraw("2" * 32, version=2), _upsert("3" * 32, version=2)
    )
    effects = decide(prepare(batch, check_batch(batch)), seen={}, contributions={}, index=_index())
    assert [o.status.value for o in effects.outcomes] == ["Matched", "Withdrawn", "Stale"]
    write = effects.writes["S1"]
    assert (write.status, write.version, write.record_json, write.contactpoint_id) == (
        OutcomeStatus.WITHDRAWN,
        2,
        None,
        None,
    )


def test_withdraw_naming_an_unknown_contactpoint_id_is_br09() -> None:
    """A Withdraw's ContactPointId must exist; nothing is removed otherwise."""
    batch = make_batch(_withdraw("1" * 32, contactpoint_id="CP3000000011"))
    effects = decide(prepare(batch, check_batch(batch)), seen={}, contributions={}, index=_index())
    [outcome] = effects.outcomes
    assert outcome.status is OutcomeStatus.REJECTED
    assert [b.rule for b in outcome.breaches] == ["BR-09"]
    assert effects.writes == {}


def test_rule_breaches_reject_and_do_not_count_as_applied() -> None:
    """BR-05 → Rejected with its breach; the version is not recorded, so v1 may come again."""
    bad = _upsert("1" * 32, version=5)
    assert bad.child is not None
    bad = bad.model_copy(
        update={"child": bad.child.model_copy(update={"nhs_number": "9000000008"})}
    )
    batch = make_batch(bad, _upsert("2" * 32, version=1))
    effects = decide(prepare(batch, check_batch(batch)), seen={}, contributions={}, index=_index())
    assert [o.status.value for o in effects.outcomes] == ["Rejected", "Matched"]
    assert [b.rule for b in effects.outcomes[0].breaches] == ["BR-05"]
    assert effects.new_messages["1" * 32] is OutcomeStatus.REJECTED


def test_repeated_message_id_in_one_batch_rejects_both_and_registers_once() -> None:
    """BR-08 within a batch: both records Rejected; the messageId is registered as Rejected."""
    batch = make_batch(_upsert("1" * 32, srid="A"), _upsert("1" * 32, srid="B"))
    effects = decide(prepare(batch, check_batch(batch)), seen={}, contributions={}, index=_index())
    assert [o.status.value for o in effects.outcomes] == ["Rejected", "Rejected"]
    assert all(any(b.rule == "BR-08" for b in o.breaches) for o in effects.outcomes)
    assert effects.new_messages == {"1" * 32: OutcomeStatus.REJECTED}


def test_hub_side_breaches_are_reported_like_rule_breaches() -> None:
    """Breaches handed in (e.g. from the rule engine) are kept verbatim on the outcome."""
    batch = make_batch(_upsert("1" * 32))
    breach = Breach(rule="BR-02", path="Record[1]/Child/BirthDate", message="out of scope")
    effects = decide(prepare(batch, [[breach]]), seen={}, contributions={}, index=_index())
    assert effects.outcomes[0].breaches == [breach]


def test_what_the_xsd_accepts_but_the_models_cannot_hold_is_rejected_not_stuck() -> None:
    """A batch whose models fail after the XSD passed gets LDI-MSG-01 on every record."""
    from lxml import etree

    from ldi.xmlcodec import to_element

    element = to_element(make_batch(_upsert("1" * 32), _upsert("2" * 32, srid="S2")))
    element[0].set("version", "x")  # the XSD would refuse this; the models refuse it too
    prepared = prepare_element(etree.fromstring(etree.tostring(element)))
    effects = decide(prepared, seen={}, contributions={}, index=_index())
    assert [o.status.value for o in effects.outcomes] == ["Rejected", "Rejected"]
    assert {b.rule for o in effects.outcomes for b in o.breaches} == {"LDI-MSG-01"}
    assert effects.writes == {}
