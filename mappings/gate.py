"""The statutory policy gate: what the law lets us send, decided before anything is queued.

Order matters and follows the regulations, not convenience:

1. **Scope (BR-02).** Aged 25 or over on the run date, or 18-24 without participation
   consent: the child is *excluded*: not sent, and the delta engine withdraws any earlier
   contribution. A date of death does not exclude: the record is sent with it.
2. **Sensitive services (BR-03).** A mental health, sexual health or substance misuse
   involvement without the young person's consent is reduced to the bare ``SensitiveService``
   indicator: no organisation, practitioner, role, telephone or e-mail leaves the authority.
3. **Shielding (BR-04).** A shielded child is reduced to name, birth date, gender, NHS number,
   UPN and the flag.
4. **Everything else** the rule engine (BR-01 … BR-08, LDI-MSG-02/03) and the XSD still find
   *holds* the record: it is not queued, and the held report names rule, path and provenance
   so the owning team can fix it at source.

:func:`apply_policies` decides a whole chunk at once, with the same result per record as
:func:`apply_policy`: each record is written as XML text once (:mod:`ldi.xmlwriter`: the bytes
lxml would give, without building a tree) and handed on to the delta engine
(:attr:`GateResult.written`); the chunk's records are parsed and XSD-validated as one batch, and
only when that batch fails are the records it names validated one by one, so a schema-invalid
record is still held with LDI-MSG-01 and its own redacted messages (TA-SCH-01). The per-value
text rules run only on a record holding a suspect value (white space at an end, a control
character, text that is not NFC, a name outside LDI-MSG-03): for any other record they could
find nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from lxml import etree

from ldi import NAMESPACE
from ldi.models import (
    SENSITIVE_SERVICE_TYPES,
    Breach,
    Child,
    Involvement,
    Record,
    ServiceType,
)
from ldi.rules import ADULT_AGE, OUT_OF_SCOPE_AGE, age_on, check_record, name_problem
from ldi.safexml import make_parser
from ldi.schema import get_schema, redact_message
from ldi.xmlcodec import to_element
from ldi.xmlwriter import WrittenRecord, start_tag, write_record


class Verdict(StrEnum):
    SEND = "send"
    EXCLUDE = "exclude"  # out of scope: not sent; an earlier contribution is withdrawn
    HOLD = "hold"  # breaks a rule: not sent; reported for fixing at source


@dataclass(frozen=True, slots=True)
class GateResult:
    verdict: Verdict
    record: Record | None
    breaches: tuple[Breach, ...] = ()
    reductions: tuple[str, ...] = ()  # what the gate removed, by rule (ids, no values)
    #: With SEND: the record written as XML, as the XSD passed it. The delta engine hashes it
    #: and adds the envelope; None: write it from ``record``.
    written: WrittenRecord | None = field(default=None, compare=False, repr=False)


def _indicator(involvement: Involvement) -> Involvement:
    return Involvement(
        service_type=ServiceType.SENSITIVE_SERVICE,
        start_date=involvement.start_date,
        end_date=involvement.end_date,
        lead_professional=False,
        sensitive=True,
    )


def _reduce_sensitive(record: Record) -> tuple[Record, list[str]]:
    changed: list[str] = []
    involvements = []
    for i, inv in enumerate(record.involvements, start=1):
        if inv.service_type in SENSITIVE_SERVICE_TYPES and not inv.consent_reference:
            involvements.append(_indicator(inv))
            changed.append(f"BR-03 Involvement[{i}] reduced to the SensitiveService indicator")
        elif inv.service_type is ServiceType.SENSITIVE_SERVICE and inv.sensitive:
            involvements.append(_indicator(inv))
        else:
            involvements.append(inv)
    if not changed:
        return record, changed
    return record.model_copy(update={"involvements": involvements}), changed


def _reduce_shielded(record: Record) -> tuple[Record, list[str]]:
    child = record.child
    if child is None or not child.shielding_requested:
        return record, []
    kept = Child(
        name=child.name,
        birth_date=child.birth_date,
        gender=child.gender,
        nhs_number=child.nhs_number,
        upn=child.upn,
        shielding_requested=True,
    )
    reduced = Record(
        message_id=record.message_id,
        action=record.action,
        version=record.version,
        source_record_id=record.source_record_id,
        contactpoint_id=record.contactpoint_id,
        child=kept,
    )
    return reduced, ["BR-04 shielded: reduced to the permitted items"]


def _scope(child: Child, on: date) -> Breach | None:
    age = age_on(child.birth_date, on)
    if age >= OUT_OF_SCOPE_AGE:
        return Breach(
            rule="BR-02", path="Record[1]/Child/BirthDate", message="aged 25 or over: not sent"
        )
    if age >= ADULT_AGE and child.participation is None:
        return Breach(
            rule="BR-02",
            path="Record[1]/Child/BirthDate",
            message="aged 18 to 24 without participation consent: not sent",
        )
    return None


_CONTROL = re.compile(r"[\x01-\x1f\x7f-\x9f]")  # Unicode Cc, less NUL (the separator)
_PLAIN_NAME = re.compile(r"[A-Za-z '.\-]*")  # ASCII letters and name punctuation: LDI-MSG-03 holds
_RECORD_POSITION = re.compile(r"/\*/\*(?:\[(\d+)\])?(?:/|$)")


def _batch_text(written: Sequence[tuple[Record, WrittenRecord]], created_at: datetime) -> bytes:
    """A minimal SubmissionBatch around the records being checked (placeholder envelope)."""
    head = (
        f'<SubmissionBatch xmlns="{NAMESPACE}" batchId="00000000-0000-4000-8000-000000000000" '
        f'schemaVersion="1.0" accountableBody="891" sourceSystem="GATE" '
        f'createdAt="{created_at.isoformat()}">'
    )
    parts = [head]
    for record, text in written:
        parts.append(
            start_tag(record.message_id, record.action.value, record.version, declare=False)
        )
        parts.append(text.body())
    parts.append("</SubmissionBatch>")
    return "".join(parts).encode()


def _validates(document: bytes) -> bool:
    """XSD-validate the batch text (the error log stays on the schema for the caller)."""
    return bool(get_schema().validate(etree.fromstring(document, make_parser())))


def _errors_alone(record: Record, written: WrittenRecord, created_at: datetime) -> list[Breach]:
    """XSD errors of one record inside its own minimal batch; values redacted."""
    if _validates(_batch_text([(record, written)], created_at)):
        return []
    return [
        Breach(rule="LDI-MSG-01", path="Record[1]", message=redact_message(e.message)[:500])
        for e in get_schema().error_log
    ]


def schema_breaches(record: Record, created_at: datetime) -> list[Breach]:
    """XSD errors of one record, checked inside a minimal batch (TA-SCH-01); values redacted."""
    try:
        written = write_record(record)
    except ValueError:  # a value XML cannot hold: as lxml refuses it, checked the lxml way
        return _errors_of_element(to_element(record, "Record"), created_at)
    return _errors_alone(record, written, created_at)


def _errors_of_element(element: etree._Element, created_at: datetime) -> list[Breach]:
    batch = etree.fromstring(_batch_text([], created_at), make_parser())
    batch.append(element)
    schema = get_schema()
    if schema.validate(batch):
        return []
    return [
        Breach(rule="LDI-MSG-01", path="Record[1]", message=redact_message(e.message)[:500])
        for e in schema.error_log
    ]


def _schema_errors(
    written: Sequence[tuple[Record, WrittenRecord]], created_at: datetime
) -> dict[int, list[Breach]]:
    """XSD errors by position, for the records that have any: as :func:`schema_breaches` gives.

    One batch holds every record; records are independent under the XSD (no identity
    constraints), so the batch is valid exactly when each record is. When it is not, the error
    log names the failing records by position: those are validated alone (for their own
    messages), and the batch of the others is validated again, until it passes. An error that
    names no record sends every remaining record through alone.
    """
    schema = get_schema()
    failed: dict[int, list[Breach]] = {}
    remaining = list(range(len(written)))
    while remaining:
        if _validates(_batch_text([written[p] for p in remaining], created_at)):
            break
        suspects: set[int] = set()
        for entry in schema.error_log:
            match = _RECORD_POSITION.match(entry.path or "")
            if match is None:
                suspects = set(remaining)
                break
            index = int(match[1]) - 1 if match[1] else 0
            if (match[1] is None and len(remaining) != 1) or not 0 <= index < len(remaining):
                suspects = set(remaining)
                break
            suspects.add(remaining[index])
        if not suspects:  # invalid, yet no error: trust nothing in this batch
            suspects = set(remaining)
        for position in sorted(suspects):
            errors = _errors_alone(*written[position], created_at)
            if errors:
                failed[position] = errors
        remaining = [p for p in remaining if p not in suspects]
    return failed


def _texts_clean(written: WrittenRecord) -> bool:
    """True when no text or attribute value could break LDI-MSG-02/03.

    Exact, not a heuristic: every text value of a record is among the written values, and the
    values the writer adds (dates, flags, numbers, codes) are always clean. So when this is True
    the per-value text rules find nothing; when False they run and say what is wrong. Control
    characters and NFC are checked on the values joined by NUL (which XML cannot hold): NUL is
    a starter that nothing composes with, so the joined text is NFC exactly when every value is.
    """
    values = written.values
    for value in values:
        if value != value.strip():
            return False
    joined = "\x00".join(values)
    if _CONTROL.search(joined) or not unicodedata.is_normalized("NFC", joined):
        return False
    for text in written.names:
        if text and _PLAIN_NAME.fullmatch(text) is None and name_problem(text) is not None:
            return False
    return True


def _prepare(
    record: Record, on: date
) -> tuple[GateResult | None, Record, tuple[str, ...], WrittenRecord | None]:
    """Scope, reductions and the rules for one record; a result unless the XSD must decide."""
    if record.child is not None:
        out_of_scope = _scope(record.child, on)
        if out_of_scope is not None:
            return GateResult(Verdict.EXCLUDE, None, (out_of_scope,)), record, (), None
    record, sensitive = _reduce_sensitive(record)
    record, shielded = _reduce_shielded(record)
    reductions = (*sensitive, *shielded)
    try:
        written: WrittenRecord | None = write_record(record)
    except ValueError:  # a value XML cannot hold (a control character): the rules say why
        written = None
    clean = written is not None and _texts_clean(written)
    breaches = check_record(record, on, text_rules=not clean)
    if breaches:
        return GateResult(Verdict.HOLD, record, tuple(breaches), reductions), record, (), None
    return None, record, reductions, written


def apply_policy(record: Record, *, run_at: datetime) -> GateResult:
    """Decide what may be sent about one child at ``run_at`` (see the module docstring)."""
    return apply_policies([record], run_at=run_at)[0]


def apply_policies(records: Sequence[Record], *, run_at: datetime) -> list[GateResult]:
    """:func:`apply_policy` for each of ``records``, in order, with one XSD pass for them all."""
    on = run_at.date()
    results: list[GateResult | None] = []
    waiting: list[tuple[int, Record, tuple[str, ...], WrittenRecord]] = []
    for record in records:
        decided, reduced, reductions, written = _prepare(record, on)
        if decided is None and written is None:  # the writer refused it, and no rule did
            errors = schema_breaches(reduced, run_at)  # raises as lxml always has
            decided = GateResult(
                Verdict.HOLD if errors else Verdict.SEND, reduced, tuple(errors), reductions
            )
        if decided is None and written is not None:
            waiting.append((len(results), reduced, reductions, written))
        results.append(decided)
    failed = _schema_errors([(w[1], w[3]) for w in waiting], run_at)
    for n, (position, record, reductions, written) in enumerate(waiting):
        found = failed.get(n)
        results[position] = (
            GateResult(Verdict.HOLD, record, tuple(found), reductions)
            if found
            else GateResult(Verdict.SEND, record, (), reductions, written)
        )
    return [r for r in results if r is not None]
