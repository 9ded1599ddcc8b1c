"""Typed models of every LDI 1.0 document (spec sections 3 and 5).

The models hold data; they do not judge it. A record with a bad NHS number or a sensitive
involvement without consent must still be representable so that the rule engine
(:mod:`ldi.rules`) can report *every* breach with its rule id, instead of a constructor
raising on the first. Shape is checked by the XSD, meaning by the rules.

Field order is the XSD's ``xs:sequence`` order: :mod:`ldi.xmlcodec` serialises in declaration
order, so reordering fields here changes the wire format.
"""

from __future__ import annotations

import types
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from ldi import SCHEMA_VERSION


def field_shape(annotation: Any) -> tuple[Any, bool, bool]:
    """``(inner type, is_list, is_optional)`` of a model field's annotation.

    The codec, the text rules and the mapping catalogue all walk the models by their fields;
    this is the one place that knows how ``X | None`` and ``list[X]`` are spelt.
    """
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        inner, is_list, _ = field_shape(args[0])
        return inner, is_list, True
    if origin is list:
        return get_args(annotation)[0], True, False
    return annotation, False, False


class XmlAttribute:
    """Marker: this field is an XML attribute of its element, not a child element."""


ATTR: Final = XmlAttribute()


class Action(StrEnum):
    UPSERT = "Upsert"
    WITHDRAW = "Withdraw"


class Gender(StrEnum):
    MALE = "Male"
    FEMALE = "Female"
    INDETERMINATE = "Indeterminate"
    NOT_KNOWN = "NotKnown"


class OtherNameType(StrEnum):
    ALIAS = "Alias"
    FORMER = "Former"
    PREFERRED = "Preferred"


class ParticipationBasis(StrEnum):
    CARE_LEAVER = "CareLeaver"
    DISABILITY = "Disability"
    SPECIAL_EDUCATIONAL_NEEDS = "SpecialEducationalNeeds"
    YOUTH_JUSTICE = "YouthJustice"


class Relationship(StrEnum):
    MOTHER = "Mother"
    FATHER = "Father"
    STEP_PARENT = "StepParent"
    GUARDIAN = "Guardian"
    FOSTER_CARER = "FosterCarer"
    OTHER_RELATIVE = "OtherRelative"
    OTHER = "Other"


class ServiceType(StrEnum):
    SOCIAL_CARE = "SocialCare"
    YOUTH_OFFENDING = "YouthOffending"
    YOUTH_SUPPORT = "YouthSupport"
    HEALTH_VISITING = "HealthVisiting"
    SCHOOL_NURSING = "SchoolNursing"
    EDUCATION_WELFARE = "EducationWelfare"
    EARLY_YEARS = "EarlyYears"
    SPECIAL_EDUCATIONAL_NEEDS = "SpecialEducationalNeeds"
    POLICE = "Police"
    HOUSING = "Housing"
    VOLUNTARY = "Voluntary"
    OTHER = "Other"
    MENTAL_HEALTH = "MentalHealth"
    SEXUAL_HEALTH = "SexualHealth"
    SUBSTANCE_MISUSE = "SubstanceMisuse"
    SENSITIVE_SERVICE = "SensitiveService"


#: BR-03: services whose contact details need the young person's explicit consent.
SENSITIVE_SERVICE_TYPES: Final = frozenset(
    {ServiceType.MENTAL_HEALTH, ServiceType.SEXUAL_HEALTH, ServiceType.SUBSTANCE_MISUSE}
)


class CAFStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"


class OutcomeStatus(StrEnum):
    MATCHED = "Matched"
    NO_MATCH = "NoMatch"
    MULTIPLE_MATCH = "MultipleMatch"
    WITHDRAWN = "Withdrawn"
    REJECTED = "Rejected"
    DUPLICATE = "Duplicate"
    STALE = "Stale"


class BatchStatus(StrEnum):
    PENDING = "Pending"
    COMPLETE = "Complete"


class FaultCode(StrEnum):
    """LDI-TRN-05 fault codes."""

    SCHEMA_INVALID = "SCHEMA_INVALID"
    UNAUTHORISED = "UNAUTHORISED"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    BATCH_ID_REUSED = "BATCH_ID_REUSED"
    THROTTLED = "THROTTLED"
    UNAVAILABLE = "UNAVAILABLE"


class LdiModel(BaseModel):
    """Base of all LDI models: immutable, closed (LDI-MSG-01), XML names as aliases."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, use_enum_values=False
    )


# ----- the record (section 3) -----


class ChildName(LdiModel):
    given_name: str = Field(alias="GivenName")
    middle_names: str | None = Field(default=None, alias="MiddleNames")
    family_name: str = Field(alias="FamilyName")


class OtherName(LdiModel):
    type: Annotated[OtherNameType, ATTR] = Field(alias="type")
    given_name: str | None = Field(default=None, alias="GivenName")
    family_name: str = Field(alias="FamilyName")


class CarerName(LdiModel):
    given_name: str | None = Field(default=None, alias="GivenName")
    family_name: str = Field(alias="FamilyName")


class Address(LdiModel):
    lines: list[str] = Field(alias="Line", min_length=1)
    town: str | None = Field(default=None, alias="Town")
    postcode: str = Field(alias="Postcode")
    uprn: str | None = Field(default=None, alias="UPRN")


class Participation(LdiModel):
    basis: ParticipationBasis = Field(alias="Basis")
    consent_reference: str = Field(alias="ConsentReference")
    consent_date: date = Field(alias="ConsentDate")


class Child(LdiModel):
    name: ChildName = Field(alias="Name")
    other_names: list[OtherName] = Field(default_factory=list, alias="OtherName")
    birth_date: date = Field(alias="BirthDate")
    gender: Gender = Field(alias="Gender")
    nhs_number: str | None = Field(default=None, alias="NHSNumber")
    upn: str | None = Field(default=None, alias="UPN")
    address: Address | None = Field(default=None, alias="Address")
    date_of_death: date | None = Field(default=None, alias="DateOfDeath")
    shielding_requested: bool | None = Field(default=None, alias="ShieldingRequested")
    participation: Participation | None = Field(default=None, alias="Participation")


class ParentCarer(LdiModel):
    name: CarerName = Field(alias="Name")
    relationship: Relationship = Field(alias="Relationship")
    parental_responsibility: bool = Field(alias="ParentalResponsibility")
    address: Address | None = Field(default=None, alias="Address")
    telephones: list[str] = Field(default_factory=list, alias="Telephone")
    email: str | None = Field(default=None, alias="Email")


class EducationalSetting(LdiModel):
    laestab: str = Field(alias="LAEstab")
    urn: str | None = Field(default=None, alias="URN")
    name: str = Field(alias="Name")
    telephone: str | None = Field(default=None, alias="Telephone")
    start_date: date = Field(alias="StartDate")
    end_date: date | None = Field(default=None, alias="EndDate")


class PrimaryMedicalPractitioner(LdiModel):
    ods_code: str = Field(alias="ODSCode")
    practice_name: str = Field(alias="PracticeName")
    telephone: str | None = Field(default=None, alias="Telephone")
    address: Address | None = Field(default=None, alias="Address")


class Involvement(LdiModel):
    service_type: ServiceType = Field(alias="ServiceType")
    organisation: str | None = Field(default=None, alias="Organisation")
    practitioner_name: str | None = Field(default=None, alias="PractitionerName")
    role: str | None = Field(default=None, alias="Role")
    telephone: str | None = Field(default=None, alias="Telephone")
    email: str | None = Field(default=None, alias="Email")
    start_date: date = Field(alias="StartDate")
    end_date: date | None = Field(default=None, alias="EndDate")
    lead_professional: bool = Field(alias="LeadProfessional")
    sensitive: bool = Field(alias="Sensitive")
    consent_reference: str | None = Field(default=None, alias="ConsentReference")


class CAFHolder(LdiModel):
    organisation: str = Field(alias="Organisation")
    practitioner_name: str | None = Field(default=None, alias="PractitionerName")
    telephone: str | None = Field(default=None, alias="Telephone")


class CAF(LdiModel):
    status: CAFStatus = Field(alias="Status")
    caf_date: date = Field(alias="Date")
    held_by: CAFHolder | None = Field(default=None, alias="HeldBy")


class Record(LdiModel):
    """Everything ONE source system holds about ONE child (section 3, "Semantics")."""

    message_id: Annotated[str, ATTR] = Field(alias="messageId")
    action: Annotated[Action, ATTR] = Field(alias="action")
    version: Annotated[int, ATTR] = Field(alias="version")
    source_record_id: str = Field(alias="SourceRecordId")
    contactpoint_id: str | None = Field(default=None, alias="ContactPointId")
    child: Child | None = Field(default=None, alias="Child")
    parent_carers: list[ParentCarer] = Field(default_factory=list, alias="ParentCarer")
    educational_settings: list[EducationalSetting] = Field(
        default_factory=list, alias="EducationalSetting"
    )
    primary_medical_practitioner: PrimaryMedicalPractitioner | None = Field(
        default=None, alias="PrimaryMedicalPractitioner"
    )
    involvements: list[Involvement] = Field(default_factory=list, alias="Involvement")
    caf: CAF | None = Field(default=None, alias="CAF")


class SubmissionBatch(LdiModel):
    batch_id: Annotated[str, ATTR] = Field(alias="batchId")
    schema_version: Annotated[str, ATTR] = Field(default=SCHEMA_VERSION, alias="schemaVersion")
    accountable_body: Annotated[str, ATTR] = Field(alias="accountableBody")
    source_system: Annotated[str, ATTR] = Field(alias="sourceSystem")
    created_at: Annotated[datetime, ATTR] = Field(alias="createdAt")
    records: list[Record] = Field(alias="Record")


# ----- receipts, outcomes, faults (sections 2 and 5) -----


class BatchReceipt(LdiModel):
    batch_id: Annotated[str, ATTR] = Field(alias="batchId")
    received_at: Annotated[datetime, ATTR] = Field(alias="receivedAt")
    record_count: Annotated[int, ATTR] = Field(alias="recordCount")


class BatchOutcomeRequest(LdiModel):
    batch_id: Annotated[str, ATTR] = Field(alias="batchId")


class Breach(LdiModel):
    """One business-rule breach. ``message`` never contains personal data."""

    rule: str = Field(alias="Rule")
    path: str = Field(alias="Path")
    message: str = Field(alias="Message")


class RecordOutcome(LdiModel):
    message_id: Annotated[str, ATTR] = Field(alias="messageId")
    status: Annotated[OutcomeStatus, ATTR] = Field(alias="status")
    contactpoint_id: str | None = Field(default=None, alias="ContactPointId")
    candidate_count: int | None = Field(default=None, alias="CandidateCount")
    original_status: OutcomeStatus | None = Field(default=None, alias="OriginalStatus")
    breaches: list[Breach] = Field(default_factory=list, alias="Breach")


class BatchOutcome(LdiModel):
    batch_id: Annotated[str, ATTR] = Field(alias="batchId")
    status: Annotated[BatchStatus, ATTR] = Field(alias="status")
    record_outcomes: list[RecordOutcome] = Field(default_factory=list, alias="RecordOutcome")


class FaultDetail(LdiModel):
    code: FaultCode = Field(alias="Code")
    message: str = Field(alias="Message")
    line: int | None = Field(default=None, alias="Line")
    column: int | None = Field(default=None, alias="Column")
    retry_after_seconds: int | None = Field(default=None, alias="RetryAfterSeconds")
