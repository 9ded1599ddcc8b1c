"""A reproducible generator of realistic national child records, and LDI records about them.

``cpadapter hub seed --synthetic N --seed S`` uses :func:`national_children`; the tests and the
throughput bench use :func:`record_for` to submit records that match (or deliberately do not
match) what was seeded. Everything comes from one ``random.Random(seed)``, so the same seed and
reference date always give the same index.

What makes it realistic enough for matching to be exercised:

* names from common English given names and surnames, some with diacritics, hyphens and
  apostrophes (normalisation matters: ``Zoë``/``ZOE``, ``O'Brien``/``OBRIEN``);
* birth dates spread over the 0 to 17 years before the reference date;
* valid NHS numbers (modulus 11) for most children and UPNs (DfE check letter) for those of
  school age, via :mod:`ldi.identifiers`, plus postcodes of the LA's own area;
* about 3 % twins: same birth date, surname and given-name initial (``Jack``/``James``) - the
  material of ``MultipleMatch``;
* about 8 % with a former family name (a step-3 match through ``OtherName``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from hub.national import NationalChild, NationalOtherName
from ldi import identifiers as ids
from ldi.models import (
    Action,
    Address,
    CarerName,
    Child,
    ChildName,
    EducationalSetting,
    Gender,
    OtherName,
    OtherNameType,
    ParentCarer,
    PrimaryMedicalPractitioner,
    Record,
    Relationship,
)

GIVEN_FEMALE = (
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Florence Willow "
    "Evie Poppy Emily Ella Chloé Zoë Aisha Maryam Hannah Erin Niamh Renée Saoirse Imogen"
).split()
GIVEN_MALE = (
    "Oliver George Noah Arthur Muhammad Leo Harry Oscar Archie Henry Theodore Freddie Jack "
    "Charlie Thomas James Joshua Jacob Alfie Liam Ethan Mason Logan Reuben Dylan Kai Zain Rory"
).split()
SURNAMES = (
    *"Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James Phillips Mason "
    "Mitchell Rose Davis Rodríguez Cox Alexander O'Brien O'Neill McDonald Smith-Jones "
    "Lloyd-Webber Nowak Kowalski Müller Öztürk Ahmed Begum Hussain Ali Shah Singh Kaur Chen "
    "Nguyen Okafor Mensah Adeyemi Brontë Fitzgerald".split(),
    "St. John",
    "Van der Berg",
    "De la Cruz",
)

#: Postcode areas by LA code (a few real districts of each); others fall back to Nottingham's.
_OUTWARD = {
    "891": ("NG1", "NG2", "NG3", "NG5", "NG7", "NG8", "NG9", "NG11", "NG15", "NG18", "NG22"),
    "815": ("YO7", "YO8", "YO11", "YO12", "HG1", "HG2", "HG5", "DL6", "DL7", "BD23"),
    "886": ("ME1", "ME4", "ME14", "CT1", "CT9", "TN1", "TN23", "DA1", "DA11", "BR8"),
}
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_TWIN_RATE = 0.03
_FORMER_NAME_RATE = 0.08
_NO_NHS_RATE = 0.05
_SCHOOL_AGE = 4


def nhs_number(rng: random.Random) -> str:
    """A valid NHS number (modulus 11): nine random digits and the check digit they give."""
    while True:
        nine = f"{rng.randint(400_000_000, 699_999_999)}"
        for check in range(10):
            if ids.is_valid_nhs_number(nine + str(check)):
                return nine + str(check)


def upn(rng: random.Random, la_code: str, year: int) -> str:
    """A valid permanent UPN: check letter + LA code + school number + year + serial."""
    body = f"{la_code}{rng.randint(2000, 4999):04d}{year % 100:02d}{rng.randint(0, 999):03d}"
    return ids.upn_check_letter(body) + body


def postcode(rng: random.Random, la_code: str) -> str:
    """A postcode in the LA's own area, valid by the BR-05 grammar."""
    while True:
        outward = rng.choice(_OUTWARD.get(la_code, _OUTWARD["891"]))
        inward = f"{rng.randint(1, 9)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
        candidate = f"{outward} {inward}"
        if ids.is_valid_postcode(candidate):
            return candidate


def _twin_name(rng: random.Random, given: str, names: tuple[str, ...]) -> str:
    same_initial = [n for n in names if n != given and n[0] == given[0]]
    return rng.choice(same_initial) if same_initial else given + "a"


def national_children(
    count: int, *, seed: int, la_code: str = "891", on: date | None = None
) -> list[NationalChild]:
    """``count`` national records (twins included in the count), reproducible by ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    today = on or date.today()
    out: list[NationalChild] = []
    while len(out) < count:
        gender = rng.choice((Gender.FEMALE, Gender.MALE))
        names = GIVEN_FEMALE if gender is Gender.FEMALE else GIVEN_MALE
        given = rng.choice(names)
        family = rng.choice(SURNAMES)
        born = today - timedelta(days=rng.randint(30, 17 * 365))
        others = []
        if rng.random() < _FORMER_NAME_RATE:
            others.append(
                NationalOtherName(type=OtherNameType.FORMER, family_name=rng.choice(SURNAMES))
            )
        out.append(_child(rng, la_code, given, family, born, gender, others, today))
        if len(out) < count and rng.random() < _TWIN_RATE:
            twin = _twin_name(rng, given, tuple(names))
            out.append(_child(rng, la_code, twin, family, born, gender, [], today))
    return out


def _child(
    rng: random.Random,
    la_code: str,
    given: str,
    family: str,
    born: date,
    gender: Gender,
    others: list[NationalOtherName],
    today: date,
) -> NationalChild:
    age = (today - born).days // 365
    return NationalChild(
        accountable_body=la_code,
        given_name=given,
        family_name=family,
        other_names=others,
        birth_date=born,
        gender=gender,
        nhs_number=None if rng.random() < _NO_NHS_RATE else nhs_number(rng),
        upn=upn(rng, la_code, born.year + 4) if age >= _SCHOOL_AGE else None,
        postcode=postcode(rng, la_code),
    )


def record_for(
    child: NationalChild,
    *,
    message_id: str,
    source_record_id: str,
    version: int = 1,
    contactpoint_id: str | None = None,
    with_identifiers: bool = True,
    with_contacts: bool = True,
    given_name: str | None = None,
) -> Record:
    """An Upsert about ``child`` as a source system would send it.

    ``with_identifiers=False`` leaves out the NHS number and UPN (forcing step-3 matching);
    ``given_name`` overrides the child's given name (e.g. a twin's, for a MultipleMatch);
    ``with_contacts`` adds a mother, a GP practice and, for school-age children, a school.
    """
    la_code = child.accountable_body
    address = (
        Address(lines=["1 High Street"], town="Nottingham", postcode=child.postcode)
        if child.postcode
        else None
    )
    record_child = Child(
        name=ChildName(given_name=given_name or child.given_name, family_name=child.family_name),
        other_names=[
            OtherName(type=o.type, given_name=o.given_name, family_name=o.family_name)
            for o in child.other_names
        ],
        birth_date=child.birth_date,
        gender=child.gender,
        nhs_number=child.nhs_number if with_identifiers else None,
        upn=child.upn if with_identifiers else None,
        address=address,
    )
    carers: list[ParentCarer] = []
    settings: list[EducationalSetting] = []
    gp = None
    if with_contacts:
        carers.append(
            ParentCarer(
                name=CarerName(given_name="Sarah", family_name=child.family_name),
                relationship=Relationship.MOTHER,
                parental_responsibility=True,
                telephones=["0115 496 0000"],
            )
        )
        school_start = child.birth_date + timedelta(days=4 * 365)  # on or before 'today'
        if child.upn:
            settings.append(
                EducationalSetting(
                    laestab=f"{la_code}2001",
                    urn="100001",
                    name="Riverside Primary School",
                    start_date=school_start,
                )
            )
        gp = PrimaryMedicalPractitioner(ods_code="C84001", practice_name="Castle Medical Centre")
    return Record(
        message_id=message_id,
        action=Action.UPSERT,
        version=version,
        source_record_id=source_record_id,
        contactpoint_id=contactpoint_id,
        child=record_child,
        parent_carers=carers,
        educational_settings=settings,
        primary_medical_practitioner=gp,
    )


def message_ids(seed: int) -> Iterator[str]:
    """An endless, reproducible stream of distinct messageIds (32 lower-case hex)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic ids, not security
    while True:
        yield f"{rng.getrandbits(128):032x}"
