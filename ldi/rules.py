"""Business rules BR-01 … BR-08 and text rules LDI-MSG-02/03 (spec sections 3 and 4).

One engine for both sides: the adapter holds back a record that breaks a rule, and the hub
answers it with ``Rejected`` and the same rule ids. Every breach of a record is reported, not
just the first, so that the owning team can fix them all at source in one pass. Messages name
the element and the problem, never a value from the record.

BR-09 (hub only) needs the national index and lives in the hub.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import Enum
from functools import cache

from ldi import identifiers as ids
from ldi.models import (
    SENSITIVE_SERVICE_TYPES,
    Action,
    Address,
    Breach,
    Child,
    LdiModel,
    Record,
    ServiceType,
    SubmissionBatch,
    field_shape,
)

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
ADULT_AGE = 18
OUT_OF_SCOPE_AGE = 25


@dataclass(frozen=True, slots=True)
class _Ctx:
    path: str
    on: date  # the batch's createdAt date: "today" for every date rule


def age_on(birth_date: date, on: date) -> int:
    """Whole years on ``on``. A 29 February birthday falls on 1 March in common years."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


# ----- BR-01 -----


def _br01(record: Record, ctx: _Ctx) -> Iterator[Breach]:
    if record.action is Action.UPSERT and record.child is None:
        yield _b("BR-01", ctx.path, "an Upsert must carry Child")
    if record.action is Action.WITHDRAW:
        for name, present in (
            ("Child", record.child is not None),
            ("ParentCarer", bool(record.parent_carers)),
            ("EducationalSetting", bool(record.educational_settings)),
            ("PrimaryMedicalPractitioner", record.primary_medical_practitioner is not None),
            ("Involvement", bool(record.involvements)),
            ("CAF", record.caf is not None),
        ):
            if present:
                yield _b(
                    "BR-01",
                    f"{ctx.path}/{name}",
                    "a Withdraw carries only SourceRecordId and optionally ContactPointId",
                )


# ----- BR-02 -----


def _br02(child: Child, ctx: _Ctx) -> Iterator[Breach]:
    age = age_on(child.birth_date, ctx.on)
    path = f"{ctx.path}/Child/BirthDate"
    if age >= OUT_OF_SCOPE_AGE:
        yield _b("BR-02", path, "aged 25 or over on the batch date: out of scope")
    elif age >= ADULT_AGE and child.participation is None:
        yield _b("BR-02", path, "aged 18 to 24 on the batch date without Participation")


# ----- BR-03 -----

_INDICATOR_FORBIDDEN = ("organisation", "practitioner_name", "role", "telephone", "email")
_XML = {
    "organisation": "Organisation",
    "practitioner_name": "PractitionerName",
    "role": "Role",
    "telephone": "Telephone",
    "email": "Email",
}


def _br03(record: Record, ctx: _Ctx) -> Iterator[Breach]:
    for i, inv in enumerate(record.involvements, start=1):
        path = f"{ctx.path}/Involvement[{i}]"
        if inv.service_type in SENSITIVE_SERVICE_TYPES:
            if not inv.sensitive:
                yield _b("BR-03", path, "a sensitive service type requires Sensitive=true")
            if not inv.consent_reference:
                yield _b(
                    "BR-03",
                    path,
                    "a sensitive service needs a ConsentReference; without consent send only "
                    "the SensitiveService indicator",
                )
        elif inv.service_type is ServiceType.SENSITIVE_SERVICE:
            if not inv.sensitive:
                yield _b("BR-03", path, "the SensitiveService indicator requires Sensitive=true")
            for field in _INDICATOR_FORBIDDEN:
                if getattr(inv, field) is not None:
                    yield _b(
                        "BR-03",
                        f"{path}/{_XML[field]}",
                        "the SensitiveService indicator carries no contact details",
                    )
        elif inv.sensitive:
            yield _b("BR-03", path, "Sensitive=true is only allowed for sensitive service types")


# ----- BR-04 -----


def _br04(record: Record, ctx: _Ctx) -> Iterator[Breach]:
    child = record.child
    if child is None or not child.shielding_requested:
        return
    present = (
        ("Child/OtherName", bool(child.other_names)),
        ("Child/Address", child.address is not None),
        ("Child/DateOfDeath", child.date_of_death is not None),
        ("Child/Participation", child.participation is not None),
        ("ParentCarer", bool(record.parent_carers)),
        ("EducationalSetting", bool(record.educational_settings)),
        ("PrimaryMedicalPractitioner", record.primary_medical_practitioner is not None),
        ("Involvement", bool(record.involvements)),
        ("CAF", record.caf is not None),
    )
    for name, is_present in present:
        if is_present:
            yield _b("BR-04", f"{ctx.path}/{name}", "not permitted on a shielded record")


# ----- BR-05 -----


def _addresses(record: Record) -> Iterator[tuple[str, Address]]:
    if record.child and record.child.address:
        yield "Child/Address", record.child.address
    for i, carer in enumerate(record.parent_carers, start=1):
        if carer.address:
            yield f"ParentCarer[{i}]/Address", carer.address
    gp = record.primary_medical_practitioner
    if gp and gp.address:
        yield "PrimaryMedicalPractitioner/Address", gp.address


def _br05(record: Record, ctx: _Ctx) -> Iterator[Breach]:
    p = ctx.path
    if record.contactpoint_id is not None and not ids.is_valid_contactpoint_id(
        record.contactpoint_id
    ):
        yield _b("BR-05", f"{p}/ContactPointId", "ContactPointId fails its check digit")
    child = record.child
    if child is not None:
        if child.nhs_number is not None and not ids.is_valid_nhs_number(child.nhs_number):
            yield _b("BR-05", f"{p}/Child/NHSNumber", "NHSNumber fails the modulus 11 check")
        if child.upn is not None and not ids.is_valid_upn(child.upn):
            yield _b("BR-05", f"{p}/Child/UPN", "UPN fails the DfE check letter")
    for where, address in _addresses(record):
        if not ids.is_valid_postcode(address.postcode):
            yield _b("BR-05", f"{p}/{where}/Postcode", "Postcode is not a valid UK postcode")
    for i, setting in enumerate(record.educational_settings, start=1):
        if not ids.is_valid_laestab(setting.laestab):
            yield _b(
                "BR-05",
                f"{p}/EducationalSetting[{i}]/LAEstab",
                "LAEstab must be an LA code 201-938 and 4 digits",
            )
        if setting.urn is not None and not ids.is_valid_urn(setting.urn):
            yield _b("BR-05", f"{p}/EducationalSetting[{i}]/URN", "URN must be 6 digits")
    gp = record.primary_medical_practitioner
    if gp is not None and not ids.is_valid_ods_code(gp.ods_code):
        yield _b(
            "BR-05",
            f"{p}/PrimaryMedicalPractitioner/ODSCode",
            "ODSCode must be a letter and 5 digits",
        )


# ----- BR-06 -----


def _br06(record: Record, ctx: _Ctx) -> Iterator[Breach]:
    child = record.child
    if child is None:
        return
    p, born, today = ctx.path, child.birth_date, ctx.on
    if born > today:
        yield _b("BR-06", f"{p}/Child/BirthDate", "BirthDate is after the batch date")
    if born < EARLIEST_BIRTH_DATE:
        yield _b("BR-06", f"{p}/Child/BirthDate", "BirthDate is before 1900-01-01")
    if child.date_of_death is not None and not born <= child.date_of_death <= today:
        yield _b(
            "BR-06",
            f"{p}/Child/DateOfDeath",
            "DateOfDeath must be on or after BirthDate and not after the batch date",
        )
    dated: list[tuple[str, date]] = []
    if child.participation is not None:
        dated.append(("Child/Participation/ConsentDate", child.participation.consent_date))
    for i, s in enumerate(record.educational_settings, start=1):
        dated.append((f"EducationalSetting[{i}]/StartDate", s.start_date))
        if s.end_date is not None and s.end_date < s.start_date:
            yield _b("BR-06", f"{p}/EducationalSetting[{i}]/EndDate", "EndDate is before StartDate")
    for i, inv in enumerate(record.involvements, start=1):
        dated.append((f"Involvement[{i}]/StartDate", inv.start_date))
        if inv.end_date is not None and inv.end_date < inv.start_date:
            yield _b("BR-06", f"{p}/Involvement[{i}]/EndDate", "EndDate is before StartDate")
    if record.caf is not None:
        dated.append(("CAF/Date", record.caf.caf_date))
    for where, value in dated:
        if not born <= value <= today:
            yield _b(
                "BR-06",
                f"{p}/{where}",
                "date must be on or after BirthDate and not after the batch date",
            )


# ----- BR-07 -----


def _br07(record: Record, ctx: _Ctx) -> Iterator[Breach]:
    open_leads = [
        i
        for i, inv in enumerate(record.involvements, start=1)
        if inv.lead_professional and inv.end_date is None
    ]
    for i in open_leads[1:]:
        yield _b(
            "BR-07",
            f"{ctx.path}/Involvement[{i}]",
            "more than one open Involvement has LeadProfessional=true",
        )


# ----- LDI-MSG-02 / LDI-MSG-03: text -----

_NAME_PUNCTUATION = frozenset(" -'.")
#: Unicode category Cc is exactly these two ranges (fixed by the Unicode stability policy); a
#: regex finds them far faster than a per-character ``unicodedata.category`` loop.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def text_problem(value: str) -> str | None:
    """Why ``value`` breaks LDI-MSG-02, or None."""
    if value != value.strip():
        return "leading or trailing white space"
    if _CONTROL.search(value):
        return "control character"
    if not unicodedata.is_normalized("NFC", value):
        return "text is not Unicode NFC"
    return None


def name_problem(value: str) -> str | None:
    """Why ``value`` breaks LDI-MSG-03 (letters, space, hyphen, apostrophe, full stop), or None."""
    for ch in value:
        if ch in _NAME_PUNCTUATION:
            continue
        if unicodedata.category(ch)[0] not in "LM":
            return "a name may hold only letters, spaces, hyphens, apostrophes and full stops"
    return None


_NAME_FIELDS = frozenset({"given_name", "middle_names", "family_name"})


@dataclass(frozen=True, slots=True)
class _TextField:
    name: str
    xml: str
    is_list: bool
    is_name: bool
    nested: type[LdiModel] | None  # None: the field holds text


@cache
def _text_plan(model: type[LdiModel]) -> tuple[_TextField, ...]:
    """The fields of ``model`` that hold text or nested models, in declaration order.

    Computed once per class: walking the models by reflection for every record made the text
    rules most of the hub's per-record cost.
    """
    fields = []
    for name, info in model.model_fields.items():
        inner, is_list, _ = field_shape(info.annotation)
        if isinstance(inner, type) and issubclass(inner, LdiModel):
            nested: type[LdiModel] | None = inner
        elif inner is str:
            nested = None
        else:
            continue  # enums, dates, numbers, flags: no free text
        fields.append(_TextField(name, info.alias or name, is_list, name in _NAME_FIELDS, nested))
    return tuple(fields)


def _check_text(value: str, is_name: bool, path: str, out: list[Breach]) -> None:
    problem = text_problem(value)
    if problem:
        out.append(_b("LDI-MSG-02", path, problem))
    if is_name:
        problem = name_problem(value)
        if problem:
            out.append(_b("LDI-MSG-03", path, problem))


def _walk_texts(model: LdiModel, path: str, out: list[Breach]) -> None:
    """Depth-first over every text value, in field order; paths are built for lists and models."""
    for field in _text_plan(type(model)):
        item = getattr(model, field.name)
        if item is None:
            continue
        items = item if field.is_list else (item,)
        for n, sub in enumerate(items, start=1):
            if field.nested is not None and isinstance(sub, LdiModel):
                sub_path = f"{path}/{field.xml}[{n}]" if field.is_list else f"{path}/{field.xml}"
                _walk_texts(sub, sub_path, out)
            elif isinstance(sub, str) and not isinstance(sub, Enum):
                problem = text_problem(sub) or (name_problem(sub) if field.is_name else None)
                if problem:
                    sub_path = (
                        f"{path}/{field.xml}[{n}]" if field.is_list else f"{path}/{field.xml}"
                    )
                    _check_text(sub, field.is_name, sub_path, out)


def _text_rules(record: Record, ctx: _Ctx) -> list[Breach]:
    out: list[Breach] = []
    _walk_texts(record, ctx.path, out)
    return out


# ----- the engine -----


def _b(rule: str, path: str, message: str) -> Breach:
    return Breach(rule=rule, path=path, message=message)


def check_record(
    record: Record, on: date, *, index: int = 1, text_rules: bool = True
) -> list[Breach]:
    """Every breach of one record, judged on the batch date ``on``; [] when it may be sent.

    ``text_rules=False`` skips LDI-MSG-02/03, for a record that has just passed the XSD and the
    NFC check: those enforce the same rules on the whole document (docs/decisions.md, "where
    text rules live"), so running them again per value could never find anything.
    """
    ctx = _Ctx(path=f"Record[{index}]", on=on)
    breaches = list(_br01(record, ctx))
    if text_rules:
        breaches.extend(_text_rules(record, ctx))
    if record.child is not None:
        breaches.extend(_br02(record.child, ctx))
    for rule in (_br03, _br04, _br05, _br06, _br07):
        breaches.extend(rule(record, ctx))
    return breaches


def check_batch(batch: SubmissionBatch, *, text_rules: bool = True) -> list[list[Breach]]:
    """Breaches per record, in batch order, including BR-08 (messageId unique in the batch).

    BR-08 is reported on every record sharing a messageId, not only the later ones: the
    stricter reading, since nothing tells which of them the source meant. ``text_rules``: see
    :func:`check_record`.
    """
    on = batch.created_at.date()
    counts = Counter(r.message_id for r in batch.records)
    result = []
    for i, record in enumerate(batch.records, start=1):
        breaches = check_record(record, on, index=i, text_rules=text_rules)
        if counts[record.message_id] > 1:
            breaches.append(
                _b(
                    "BR-08",
                    f"Record[{i}]",
                    "messageId is used by more than one record in the batch",
                )
            )
        result.append(breaches)
    return result
