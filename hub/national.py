"""The national child record: what the reference hub's index holds about one child.

This is also the line format of ``cpadapter hub seed --from FILE`` (JSON lines, camelCase keys,
see hub/README.md). Every identifier is checked with the same functions the rules use
(:mod:`ldi.identifiers`), and names with the LDI-MSG-02/03 text rules, so that a seeded index
can only hold records an LDI message could also carry.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ldi import identifiers as ids
from ldi.models import Gender, OtherNameType
from ldi.rules import name_problem, text_problem


def _check_name(value: str | None) -> str | None:
    if value is None:
        return None
    if not 1 <= len(value) <= 35:
        raise ValueError("a name must be 1 to 35 characters")
    problem = text_problem(value) or name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NationalOtherName(_Model):
    type: OtherNameType
    given_name: str | None = Field(default=None, alias="givenName")
    family_name: str = Field(alias="familyName")

    _names = field_validator("given_name", "family_name")(_check_name)


class NationalChild(_Model):
    """One national child record (one JSON line of a seed file)."""

    contactpoint_id: str | None = Field(
        default=None, alias="contactPointId", description="Allocated by the hub when absent"
    )
    accountable_body: str = Field(alias="accountableBody")
    given_name: str = Field(alias="givenName")
    middle_names: str | None = Field(default=None, alias="middleNames", max_length=70)
    family_name: str = Field(alias="familyName")
    other_names: list[NationalOtherName] = Field(
        default_factory=list, alias="otherNames", max_length=10
    )
    birth_date: date = Field(alias="birthDate")
    gender: Gender
    nhs_number: str | None = Field(default=None, alias="nhsNumber")
    upn: str | None = None
    postcode: str | None = None

    _names = field_validator("given_name", "family_name")(_check_name)

    @field_validator("middle_names")
    @classmethod
    def _middle(cls, value: str | None) -> str | None:
        if value is not None and (text_problem(value) or name_problem(value)):
            raise ValueError("middle names hold only letters, spaces, hyphens, apostrophes, stops")
        return value

    @field_validator("contactpoint_id")
    @classmethod
    def _cp(cls, value: str | None) -> str | None:
        if value is not None and not ids.is_valid_contactpoint_id(value):
            raise ValueError("not a valid ContactPoint id (CP + 10 digits, check digit)")
        return value

    @field_validator("accountable_body")
    @classmethod
    def _la(cls, value: str) -> str:
        if not ids.is_valid_la_code(value):
            raise ValueError("must be a DfE LA code, 3 digits 201-938")
        return value

    @field_validator("nhs_number")
    @classmethod
    def _nhs(cls, value: str | None) -> str | None:
        if value is not None and not ids.is_valid_nhs_number(value):
            raise ValueError("NHS number fails the modulus 11 check")
        return value

    @field_validator("upn")
    @classmethod
    def _upn(cls, value: str | None) -> str | None:
        if value is not None and not ids.is_valid_upn(value):
            raise ValueError("UPN fails the DfE check letter")
        return value

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        if value is not None and not ids.is_valid_postcode(value):
            raise ValueError("not a UK postcode in canonical form (e.g. NG2 7QP)")
        return value

    @property
    def family_names(self) -> list[str]:
        """Current and other family names: what step 3 of matching compares against."""
        return [self.family_name, *(o.family_name for o in self.other_names)]
