"""The gate over a whole chunk decides every record exactly as the one-record gate does.

``apply_policies`` writes each record once, validates the chunk in one XSD batch and runs the
text rules only on suspect values; none of that may change a verdict, a breach or a byte.
The reference below is the one-record algorithm written out: every rule (text rules included),
then, only when no rule is broken, the XSD in a one-record batch.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from connectors.base import Provenance, SourceRecord
from ldi.models import Record
from ldi.rules import check_record
from ldi.xmlcodec import to_element
from mappings.gate import GateResult, Verdict, apply_policies, apply_policy, schema_breaches
from tests.unit.ldi.conftest import make_record
from tests.unit.mappings.test_gate import MAPPER, involvement_rows, rows

RUN_AT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def _reference(record: Record) -> tuple[Verdict, tuple[Any, ...]]:
    """Verdict and breaches as the gate gave them before chunks (after scope and reductions)."""
    result = apply_policy(record, run_at=RUN_AT)
    if result.verdict is Verdict.EXCLUDE or result.record is None:
        return result.verdict, result.breaches
    breaches = check_record(result.record, RUN_AT.date())
    if not breaches:
        breaches = schema_breaches(result.record, RUN_AT)
    return (Verdict.HOLD if breaches else Verdict.SEND), tuple(breaches)


def _same(results: list[GateResult], records: list[Record]) -> None:
    assert len(results) == len(records)
    for result, record in zip(results, records, strict=True):
        single = apply_policy(record, run_at=RUN_AT)
        assert (result.verdict, result.record, result.breaches, result.reductions) == (
            single.verdict,
            single.record,
            single.breaches,
            single.reductions,
        )
        assert (result.verdict, result.breaches) == _reference(record)
        if result.verdict is Verdict.SEND:
            assert result.record is not None and result.written is not None
            expected = etree.tostring(to_element(result.record, "Record"), encoding="UTF-8")
            envelope = (result.record.message_id, result.record.action.value)
            assert result.written.document(*envelope, result.record.version) == expected
        else:
            assert result.written is None


def _family(name: str) -> Record:
    record = make_record()
    assert record.child is not None
    child = record.child.model_copy(
        update={"name": record.child.name.model_copy(update={"family_name": name})}
    )
    return record.model_copy(update={"child": child})


def test_a_chunk_with_schema_invalid_and_rule_breaking_records() -> None:
    """XSD-only failures are found among valid records, each with its own messages."""
    records = [
        make_record(source_record_id="OK-1"),
        make_record(source_record_id="bad id!"),  # XSD pattern only: no rule looks at it
        _family("A" * 40),  # longer than Name35: XSD only
        make_record(child__nhs_number="9000000001"),  # BR-05
        _family("Smith "),  # LDI-MSG-02: white space at the end
        _family("Sm1th"),  # LDI-MSG-03 (and the XSD): the rule is reported
        _family("Zoe\u0301"),  # not NFC: only the text rule can see it
        make_record(child__birth_date=date(1990, 1, 1)),  # BR-02: excluded
        make_record(source_record_id="OK-2"),
    ]
    results = apply_policies(records, run_at=RUN_AT)
    _same(results, records)
    verdicts = [r.verdict for r in results]
    assert verdicts == [
        Verdict.SEND,
        Verdict.HOLD,
        Verdict.HOLD,
        Verdict.HOLD,
        Verdict.HOLD,
        Verdict.HOLD,
        Verdict.HOLD,
        Verdict.EXCLUDE,
        Verdict.SEND,
    ]
    assert {b.rule for b in results[1].breaches} == {"LDI-MSG-01"}
    assert "bad id!" not in " ".join(b.message for b in results[1].breaches)  # redacted
    assert {b.rule for b in results[4].breaches} == {"LDI-MSG-02"}
    assert {b.rule for b in results[6].breaches} == {"LDI-MSG-02"}


def test_an_empty_chunk_and_a_chunk_of_one() -> None:
    assert apply_policies([], run_at=RUN_AT) == []
    record = make_record(source_record_id="bad id!")
    _same(apply_policies([record], run_at=RUN_AT), [record])


def test_a_value_lxml_cannot_hold_is_held_by_the_text_rule() -> None:
    """A control character cannot go into an element: the text rule holds the record."""
    records = [_family("Sm\x07th"), make_record()]
    results = apply_policies(records, run_at=RUN_AT)
    _same(results, records)
    assert "LDI-MSG-02" in {b.rule for b in results[0].breaches}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=st.lists(st.tuples(rows, st.lists(involvement_rows, max_size=3)), max_size=12))
def test_random_chunks_decide_as_record_by_record(
    chunk: list[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> None:
    """Whatever the mix of valid, held and excluded records, the chunk changes nothing."""
    records = []
    for row, inv in chunk:
        mapped = MAPPER.map(SourceRecord(row["id"], row, {"inv": inv}, "x", Provenance("t", "k")))
        if mapped.record is not None:
            records.append(mapped.record)
    _same(apply_policies(records, run_at=RUN_AT), records)
