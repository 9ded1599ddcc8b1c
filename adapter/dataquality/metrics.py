"""Per-record measurements, accumulated per source: completeness, validity, usefulness, scope.

A :class:`Tally` is fed one :class:`Observation` per child (a source record not flagged
deleted, its mapping result, the rule engine's breaches and the policy gate's verdict) and
turns the counts into :class:`ItemFigure` s. Definitions (the README's "Data quality report"
section repeats them):

completeness (IA-DQ-01)
    per LDI item the source's mapping fills, the share of mapped children with it filled
    (``Child/Gender`` counts as filled unless ``NotKnown``). The headline metric is the mean
    over the *identifying* items the mapping fills (names, birth date, gender, NHS number,
    UPN, address): carers, settings and involvements are listed but not every child has one.
validity (IA-DQ-02)
    per check (NHS number, UPN, postcode, LAEstab, URN, ODS code, telephone, e-mail, dates,
    code values, text), the share of children tested whose value passes; a child is tested
    when the item is present or its transform failed. The headline metric is the share of
    children with no validity finding at all. A record whose mapping fails is not checked
    further, so its later findings are counted when the first is fixed.
usefulness (IA-DQ-04)
    of the children that would be sent (not out of scope, not shielded: a shielded record is
    reduced by law), the share with at least one contact in what would be sent: a carer with
    a telephone, e-mail or address; an open educational setting; a GP practice; an open
    involvement with an organisation, telephone or e-mail; or a CAF holder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapter.dataquality.model import FailingRow, ItemFigure
from ldi.models import Breach, Gender, Record, ServiceType
from mappings.gate import GateResult, Verdict
from mappings.mapper import MapResult

Present = Callable[[Record], bool]

#: (LDI item, is it identifying (headline), is it filled on a record)
ITEMS: tuple[tuple[str, bool, Present], ...] = (
    ("Child/Name/GivenName", True, lambda r: bool(r.child and r.child.name.given_name)),
    ("Child/Name/FamilyName", True, lambda r: bool(r.child and r.child.name.family_name)),
    ("Child/BirthDate", True, lambda r: r.child is not None),
    ("Child/Gender", True, lambda r: bool(r.child and r.child.gender is not Gender.NOT_KNOWN)),
    ("Child/NHSNumber", True, lambda r: bool(r.child and r.child.nhs_number)),
    ("Child/UPN", True, lambda r: bool(r.child and r.child.upn)),
    ("Child/Address", True, lambda r: bool(r.child and r.child.address)),
    (
        "Child/Address/UPRN",
        False,
        lambda r: bool(r.child and r.child.address and r.child.address.uprn),
    ),
    ("ParentCarer", False, lambda r: bool(r.parent_carers)),
    ("EducationalSetting", False, lambda r: bool(r.educational_settings)),
    ("PrimaryMedicalPractitioner", False, lambda r: r.primary_medical_practitioner is not None),
    ("Involvement", False, lambda r: bool(r.involvements)),
)

#: Validity checks: (name, path endings that belong to it, is the item present on a record).
_ANY: Present = lambda r: r.child is not None  # noqa: E731 - a table of predicates
VALIDITY: tuple[tuple[str, tuple[str, ...], Present], ...] = (
    ("NHS number", ("/NHSNumber",), lambda r: bool(r.child and r.child.nhs_number)),
    ("UPN", ("/UPN",), lambda r: bool(r.child and r.child.upn)),
    (
        "postcode",
        ("/Postcode",),
        lambda r: bool(
            (r.child and r.child.address)
            or any(c.address for c in r.parent_carers)
            or (r.primary_medical_practitioner and r.primary_medical_practitioner.address)
        ),
    ),
    ("LAEstab", ("/LAEstab",), lambda r: bool(r.educational_settings)),
    ("URN", ("/URN",), lambda r: any(s.urn for s in r.educational_settings)),
    ("ODS code", ("/ODSCode",), lambda r: r.primary_medical_practitioner is not None),
    ("telephone", ("/Telephone",), lambda r: _has_telephone(r)),
    (
        "e-mail",
        ("/Email",),
        lambda r: any(c.email for c in r.parent_carers) or any(i.email for i in r.involvements),
    ),
    ("dates", (), _ANY),
    ("code values", (), _ANY),
    ("text", (), _ANY),
    ("other", (), _ANY),
)
VALIDITY_RULES = frozenset({"BR-05", "LDI-MSG-01", "LDI-MSG-02", "LDI-MSG-03"})


def _has_telephone(r: Record) -> bool:
    return (
        any(c.telephones for c in r.parent_carers)
        or any(i.telephone for i in r.involvements)
        or any(s.telephone for s in r.educational_settings)
        or bool(r.primary_medical_practitioner and r.primary_medical_practitioner.telephone)
    )


def is_missing_mandatory(breach: Breach) -> bool:
    """A mapping breach that says a mandatory item is empty (completeness, not validity)."""
    text = breach.message.lower()
    return breach.rule == "LDI-MSG-01" and ("required" in text or "missing" in text)


def validity_category(breach: Breach) -> str | None:
    """The validity check a breach belongs to, or None when it is not about validity."""
    if breach.rule not in VALIDITY_RULES or is_missing_mandatory(breach):
        return None
    for name, endings, _present in VALIDITY:
        if any(breach.path.endswith(e) or f"{e}[" in breach.path for e in endings):
            return name
    if breach.rule in ("LDI-MSG-02", "LDI-MSG-03"):
        return "text"
    text = breach.message.lower()
    if "date" in text:
        return "dates"
    if "code" in text or "yes/no" in text:
        return "code values"
    return "other"


def has_contact(record: Record) -> bool:
    """At least one way to reach someone about the child (see the module docstring)."""
    if any(c.telephones or c.email or c.address for c in record.parent_carers):
        return True
    if any(s.end_date is None for s in record.educational_settings):
        return True
    if record.primary_medical_practitioner is not None:
        return True
    for inv in record.involvements:
        if (
            inv.end_date is None
            and inv.service_type is not ServiceType.SENSITIVE_SERVICE
            and (inv.organisation or inv.telephone or inv.email)
        ):
            return True
    return bool(record.caf and record.caf.held_by)


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything measured about one child."""

    key: str
    provenance: str
    masked: dict[str, Any]
    mapped: MapResult
    breaches: tuple[Breach, ...]  # ldi.rules.check_record on the mapped record (before the gate)
    gate: GateResult | None
    consistency: dict[str, list[str]]  # rule -> findings


@dataclass
class Tally:
    """Counts over the children of one source."""

    mapped_items: frozenset[str]  # the LDI items (paths) the source's mapping fills
    max_rows: int = 200
    children: int = 0
    mapped: int = 0
    filled: Counter[str] = field(default_factory=Counter)
    tested: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    children_invalid: int = 0
    consistency_tested: Counter[str] = field(default_factory=Counter)
    inconsistent: Counter[str] = field(default_factory=Counter)
    children_inconsistent: int = 0
    useful_total: int = 0
    useful: int = 0
    scope: Counter[str] = field(default_factory=Counter)
    failing: list[FailingRow] = field(default_factory=list)
    failing_dropped: int = 0

    def row(self, obs: Observation, check: str, rule: str, message: str) -> None:
        if len(self.failing) >= self.max_rows:
            self.failing_dropped += 1
            return
        self.failing.append(FailingRow(check, rule, obs.key, obs.provenance, message, obs.masked))

    def add(self, obs: Observation) -> None:
        self.children += 1
        record = obs.mapped.record
        self._scope(obs)
        findings: dict[str, list[Breach]] = {}
        for breach in (*obs.mapped.breaches, *obs.breaches):
            if is_missing_mandatory(breach):
                self.row(obs, "IA-DQ-01", "mandatory item", f"{breach.path}: {breach.message}")
                continue
            category = validity_category(breach)
            if category is not None:
                findings.setdefault(category, []).append(breach)
        for name, _endings, present in VALIDITY:
            if name in findings or (record is not None and present(record)):
                self.tested[name] += 1
            if name in findings:
                self.invalid[name] += 1
                first = findings[name][0]
                self.row(obs, "IA-DQ-02", name, f"{first.rule} {first.path}: {first.message}")
        if findings:
            self.children_invalid += 1
        if record is None:
            return
        self.mapped += 1
        for item, _headline, filled in ITEMS:
            if item in self.mapped_items and filled(record):
                self.filled[item] += 1
        any_inconsistent = False
        for rule, messages in obs.consistency.items():
            self.consistency_tested[rule] += 1
            if messages:
                any_inconsistent = True
                self.inconsistent[rule] += 1
                self.row(obs, "IA-DQ-03", rule, "; ".join(messages[:3]))
        self.children_inconsistent += any_inconsistent
        self._usefulness(obs, record)

    def _scope(self, obs: Observation) -> None:
        if obs.mapped.record is None:
            self.scope["not_mapped"] += 1
        gate = obs.gate
        if gate is None:
            return
        self.scope[f"gate_{gate.verdict.value}"] += 1
        if gate.verdict is Verdict.EXCLUDE:
            self.scope["out_of_scope"] += 1
            self.row(obs, "scope", "BR-02", gate.breaches[0].message if gate.breaches else "")
        if any(r.startswith("BR-03") for r in gate.reductions):
            self.scope["sensitive_without_consent"] += 1
        if any(r.startswith("BR-04") for r in gate.reductions):
            self.scope["shielded"] += 1
        record = obs.mapped.record
        if record is not None and record.child is not None and record.child.date_of_death:
            self.scope["died"] += 1

    def _usefulness(self, obs: Observation, record: Record) -> None:
        gate = obs.gate
        if gate is None or gate.verdict is Verdict.EXCLUDE:
            return
        if any(r.startswith("BR-04") for r in gate.reductions):
            return
        self.useful_total += 1
        if has_contact(gate.record or record):
            self.useful += 1
        else:
            self.row(
                obs, "IA-DQ-04", "no contact", "no carer, setting, GP or involvement to contact"
            )

    # ----- figures -----

    def completeness(self) -> list[ItemFigure]:
        return [
            ItemFigure(item, self.filled[item], self.mapped, self.mapped - self.filled[item])
            for item, _headline, _filled in ITEMS
            if item in self.mapped_items
        ]

    def completeness_metric(self) -> float:
        figures = {f.name: f for f in self.completeness()}
        headline = [figures[i].share for i, h, _f in ITEMS if h and i in figures]
        if not self.mapped or not headline:
            return 0.0
        return sum(headline) / len(headline)

    def validity(self) -> list[ItemFigure]:
        return [
            ItemFigure(
                name, self.tested[name] - self.invalid[name], self.tested[name], self.invalid[name]
            )
            for name, _e, _p in VALIDITY
            if self.invalid[name] or (self.tested[name] and name != "other")
        ]

    def validity_metric(self) -> float:
        return 1 - self.children_invalid / self.children if self.children else 1.0

    def consistency(self) -> list[ItemFigure]:
        return [
            ItemFigure(
                rule,
                self.consistency_tested[rule] - self.inconsistent[rule],
                self.consistency_tested[rule],
                self.inconsistent[rule],
            )
            for rule in self.consistency_tested
        ]

    def consistency_metric(self) -> float:
        return 1 - self.children_inconsistent / self.mapped if self.mapped else 1.0

    def usefulness(self) -> ItemFigure:
        return ItemFigure(
            "children with at least one contact",
            self.useful,
            self.useful_total,
            self.useful_total - self.useful,
        )
