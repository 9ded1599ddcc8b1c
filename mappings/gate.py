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
"""

from __future__ import annotations

from dataclasses import dataclass
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
from ldi.rules import ADULT_AGE, OUT_OF_SCOPE_AGE, age_on, check_record
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


def schema_breaches(record: Record, created_at: datetime) -> list[Breach]:
    """XSD errors of one record, checked inside a minimal batch (TA-SCH-01); values redacted."""
    batch = etree.Element(
        _NS + "SubmissionBatch",
        nsmap={None: NAMESPACE},
        batchId="00000000-0000-4000-8000-000000000000",
        schemaVersion="1.0",
        accountableBody="891",
        sourceSystem="GATE",
        createdAt=created_at.isoformat(),
    )
    batch.append(to_element(record, "Record"))
    schema = get_schema()
    if schema.validate(batch):
        return []
    return [
        Breach(rule="LDI-MSG-01", path="Record[1]", message=redact_message(e.message)[:500])
        for e in schema.error_log
    ]


def apply_policy(record: Record, *, run_at: datetime) -> GateResult:
    """Decide what may be sent about one child at ``run_at`` (see the module docstring)."""
    when = run_at
    on = when.date()
    if record.child is not None:
        out_of_scope = _scope(record.child, on)
        if out_of_scope is not None:
            return GateResult(Verdict.EXCLUDE, None, (out_of_scope,))
    record, sensitive = _reduce_sensitive(record)
    record, shielded = _reduce_shielded(record)
    reductions = (*sensitive, *shielded)
    breaches = check_record(record, on)
    if not breaches:
        breaches = schema_breaches(record, when)
    if breaches:
        return GateResult(Verdict.HOLD, record, tuple(breaches), reductions)
    return GateResult(Verdict.SEND, record, (), reductions)
