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
:func:`apply_policy`: each record's ``Record`` element is built once and handed on to the delta
engine (:attr:`GateResult.element`); the XSD runs once over a batch holding every candidate of
the chunk, and only when that batch fails are the records it names validated one by one, so a
schema-invalid record is still held with LDI-MSG-01 and its own redacted messages (TA-SCH-01).
The per-value text rules run only on a record whose element holds a suspect value (white space
at an end, a control character, text that is not NFC, a name outside LDI-MSG-03): for any
other record they could find nothing.
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
from ldi.schema import get_schema, redact_message
from ldi.xmlcodec import to_element


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
    #: With SEND: the record's ``Record`` element (envelope placeholders), as the XSD passed it.
    #: The delta engine sets the envelope and serialises it, once; None: build it from ``record``.
    element: etree._Element | None = field(default=None, compare=False, repr=False)


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


_NS = "{" + NAMESPACE + "}"
_NAME_TAGS = frozenset(_NS + n for n in ("GivenName", "MiddleNames", "FamilyName"))
_CONTROL = re.compile(r"[\x01-\x1f\x7f-\x9f]")  # Unicode Cc, less NUL (the separator)
_attribute_values = etree.XPath("descendant-or-self::*/@*", smart_strings=False)
_PLAIN_NAME = re.compile(r"[A-Za-z '.\-]*")  # ASCII letters and name punctuation: LDI-MSG-03 holds
_RECORD_POSITION = re.compile(r"/\*/\*(?:\[(\d+)\])?(?:/|$)")


def _wrapper(created_at: datetime) -> etree._Element:
    """A minimal SubmissionBatch around the records being checked (placeholder envelope)."""
    return etree.Element(
        _NS + "SubmissionBatch",
        nsmap={None: NAMESPACE},
        batchId="00000000-0000-4000-8000-000000000000",
        schemaVersion="1.0",
        accountableBody="891",
        sourceSystem="GATE",
        createdAt=created_at.isoformat(),
    )


def _errors_alone(element: etree._Element, created_at: datetime) -> list[Breach]:
    """XSD errors of one record element inside its own minimal batch; values redacted."""
    batch = _wrapper(created_at)
    batch.append(element)
    schema = get_schema()
    if schema.validate(batch):
        return []
    return [
        Breach(rule="LDI-MSG-01", path="Record[1]", message=redact_message(e.message)[:500])
        for e in schema.error_log
    ]


def schema_breaches(record: Record, created_at: datetime) -> list[Breach]:
    """XSD errors of one record, checked inside a minimal batch (TA-SCH-01); values redacted."""
    return _errors_alone(to_element(record, "Record"), created_at)


def _schema_errors(
    elements: Sequence[etree._Element], created_at: datetime
) -> dict[int, list[Breach]]:
    """XSD errors by position, for the elements that have any: as :func:`schema_breaches` gives.

    One batch holds every element; records are independent under the XSD (no identity
    constraints), so the batch is valid exactly when each record is. When it is not, the error
    log names the failing records by position: those are validated alone (for their own
    messages), and the batch of the others is validated again, until it passes. An error that
    names no record sends every remaining record through alone. Each element ends inside the
    batch that passed it (or its own), which serialises it exactly as a free-standing element.
    """
    schema = get_schema()
    failed: dict[int, list[Breach]] = {}
    remaining = list(range(len(elements)))
    while remaining:
        batch = _wrapper(created_at)
        for position in remaining:
            batch.append(elements[position])
        if schema.validate(batch):
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
            errors = _errors_alone(elements[position], created_at)
            if errors:
                failed[position] = errors
        remaining = [p for p in remaining if p not in suspects]
    return failed


def _texts_clean(element: etree._Element) -> bool:
    """True when no text or attribute value could break LDI-MSG-02/03.

    Exact, not a heuristic: every text value of a record is in its element, and the values the
    element adds (dates, flags, numbers, codes) are always clean. So when this is True the
    per-value text rules find nothing; when False they run and say what is wrong. Control
    characters and NFC are checked on the values joined by NUL (which XML cannot hold): NUL is
    a starter that nothing composes with, so the joined text is NFC exactly when every value is.
    """
    values = [*element.itertext(), *_attribute_values(element)]
    for value in values:
        if value != value.strip():
            return False
    joined = "\x00".join(values)
    if _CONTROL.search(joined) or not unicodedata.is_normalized("NFC", joined):
        return False
    for node in element.iter(*_NAME_TAGS):
        text = node.text
        if text and _PLAIN_NAME.fullmatch(text) is None and name_problem(text) is not None:
            return False
    return True


def _prepare(
    record: Record, on: date
) -> tuple[GateResult | None, Record, tuple[str, ...], etree._Element | None]:
    """Scope, reductions and the rules for one record; a result unless the XSD must decide."""
    if record.child is not None:
        out_of_scope = _scope(record.child, on)
        if out_of_scope is not None:
            return GateResult(Verdict.EXCLUDE, None, (out_of_scope,)), record, (), None
    record, sensitive = _reduce_sensitive(record)
    record, shielded = _reduce_shielded(record)
    reductions = (*sensitive, *shielded)
    try:
        element: etree._Element | None = to_element(record, "Record")
    except ValueError:  # a value lxml cannot hold (a control character): the rules say why
        element = None
    clean = element is not None and _texts_clean(element)
    breaches = check_record(record, on, text_rules=not clean)
    if breaches:
        return GateResult(Verdict.HOLD, record, tuple(breaches), reductions), record, (), None
    return None, record, reductions, element


def apply_policy(record: Record, *, run_at: datetime) -> GateResult:
    """Decide what may be sent about one child at ``run_at`` (see the module docstring)."""
    return apply_policies([record], run_at=run_at)[0]


def apply_policies(records: Sequence[Record], *, run_at: datetime) -> list[GateResult]:
    """:func:`apply_policy` for each of ``records``, in order, with one XSD pass for them all."""
    on = run_at.date()
    results: list[GateResult | None] = []
    waiting: list[tuple[int, Record, tuple[str, ...], etree._Element]] = []
    for record in records:
        decided, reduced, reductions, element = _prepare(record, on)
        if decided is None and element is None:  # to_element refused it, and no rule did
            errors = schema_breaches(reduced, run_at)  # raises as it always has
            decided = GateResult(
                Verdict.HOLD if errors else Verdict.SEND, reduced, tuple(errors), reductions
            )
        if decided is None and element is not None:
            waiting.append((len(results), reduced, reductions, element))
        results.append(decided)
    failed = _schema_errors([w[3] for w in waiting], run_at)
    for n, (position, record, reductions, element) in enumerate(waiting):
        found = failed.get(n)
        results[position] = (
            GateResult(Verdict.HOLD, record, tuple(found), reductions)
            if found
            else GateResult(Verdict.SEND, record, (), reductions, element)
        )
    return [r for r in results if r is not None]
