"""One deterministic synthetic population that every demo source draws from.

All names, dates and identifiers are invented. The NHS numbers are in the 999 range that NHS
England reserves for testing (never issued to a person); UPNs carry valid DfE check letters
unless the child is deliberately given a bad one. Dirty data is planted at fixed rates so that
every rule and every outcome of the pipeline is exercised by ``make demo``:

=====================  ======  ===================================================
trait                  rate    what it exercises
=====================  ======  ===================================================
invalid_upn            4 %     BR-05 (held)
invalid_nhs            3 %     BR-05 (held)
missing_postcode       4 %     address without postcode: mapping omits Address
twin                   ~2 %    same birth date, surname, initial: MultipleMatch
former_name            5 %     OtherName type=Former; matching on former names
not_national           8 %     absent from the national index: NoMatch
spelling_variant       10 %    a second source spells the given name differently
shielded               1 %     BR-04 reduction
died                   0.5 %   DateOfDeath sent
care_leaver            3 %     aged 18-24; half with participation consent (BR-02)
over_age               0.5 %   aged 25+: never sent (BR-02)
sensitive              6 %     sensitive involvement; half with consent (BR-03)
duplicate_in_source    1 %     the same child twice in social care, two ids
=====================  ======  ===================================================
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from ldi import identifiers as ids

GIVEN_FEMALE = (
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Willow Florence "
    "Emily Ella Poppy Evie Elsie Charlotte Evelyn Sienna Sofia Daisy Phoebe Aisha Zara Maryam "
    "Chloe Jessica Ruby Millie Hannah Niamh Siobhán Zoë Renée"
).split()
GIVEN_MALE = (
    "Noah Muhammad George Oliver Leo Arthur Oscar Theodore Freddie Theo Archie Henry Alfie "
    "Charlie Finley Jack Thomas Jacob Harry Isaac Lucas Joshua William James Ethan Mason Logan "
    "Reuben Tomás Jake Callum Kai Riley Zain Yusuf Ibrahim"
).split()
FAMILY = (
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson "
    "Evans Walker White Roberts Green Hall Thomas Clarke Jackson Wood Harris Edwards Turner "
    "Martin Cooper Hill Ward Hughes Moore Clark King Harrison Lewis Baker Lee Allen Morris "
    "Khan Scott Watson Davis Parker James Bennett Young Phillips Richardson Mitchell Bailey "
    "Carter Cook Singh Shaw Bell Collins Morgan Kelly Begum Miller Cox Hussain Marshall "
    "Simpson Price Anderson Adams Wilkinson Ali Ahmed Foster Ellis Murphy Chapman Mason Gray "
    "Richards Webb Griffiths Hunt Palmer Campbell Holmes Mills Rogers Barnes Knight Matthews "
    "Barker Powell Stevens Kaur Fisher Butler Dixon Russell Harvey Pearson Graham O'Brien "
    "Smith-Jones Ní-Bhriain McAllister D'Souza"
).split()
VARIANTS = {
    "Sophia": "Sofia",
    "Isabella": "Isabela",
    "Freya": "Freja",
    "Evie": "Eve",
    "Zoë": "Zoe",
    "Renée": "Renee",
    "Siobhán": "Siobhan",
    "Muhammad": "Mohammed",
    "Theodore": "Theo",
    "Freddie": "Freddy",
    "Alfie": "Alfy",
    "Isaac": "Issac",
    "Tomás": "Tomas",
    "Callum": "Calum",
    "Zain": "Zayn",
    "Yusuf": "Yousef",
}
STREETS = (
    "Castle Boulevard,Mansfield Road,Alfreton Road,Derby Road,Carlton Road,Woodborough Road,"
    "Radford Road,Hucknall Road,Wollaton Road,Trent Bridge,Arnold Lane,Bulwell Lane,"
    "Sherwood Rise,Lenton Boulevard,Bridgford Road"
).split(",")
TOWNS = ("Nottingham", "Mansfield", "Newark", "Worksop", "Retford", "Hucknall", "Arnold")
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
SCHOOLS = (
    ("8912001", "122001", "Lenton Primary School"),
    ("8912002", "122002", "Sherwood Infant School"),
    ("8912003", "122003", "Bulwell St Mary's Primary"),
    ("8914001", "139001", "Trent Academy"),
    ("8914002", "139002", "Bluecoat Beechdale Academy"),
    ("8914003", "139003", "Nottingham Girls' High"),
)
GP_PRACTICES = (
    ("C84001", "Castle Medical Centre"),
    ("C84002", "Sherwood Health Centre"),
    ("C84003", "Bulwell Riverside Practice"),
    ("C84004", "Arnold Lodge Surgery"),
)
SENSITIVE_TYPES = ("MentalHealth", "SexualHealth", "SubstanceMisuse")


@dataclass(frozen=True, slots=True)
class DemoCarer:
    given_name: str
    family_name: str
    relationship: str  # LDI Relationship value
    parental_responsibility: bool
    telephone: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class DemoSchool:
    laestab: str
    urn: str
    name: str
    start_date: date


@dataclass(frozen=True, slots=True)
class DemoChild:
    person_id: int  # population id; each demo source has its own ids derived from it
    given_name: str
    middle_names: str | None
    family_name: str
    former_family_name: str | None
    birth_date: date
    gender: str  # "M", "F" or "U"
    nhs_number: str | None
    upn: str | None
    address_lines: tuple[str, ...]
    town: str
    postcode: str | None
    uprn: str | None
    carers: tuple[DemoCarer, ...]
    school: DemoSchool | None
    gp_ods: str | None
    gp_name: str | None
    date_of_death: date | None
    shielded: bool
    participation_consent: str | None  # consent ref of an 18-24 care leaver, if given
    sensitive_service: str | None  # LDI sensitive ServiceType of one involvement
    sensitive_consent: str | None  # ConsentReference for it, if given
    in_social_care: bool
    in_youth_service: bool
    in_school: bool
    in_health: bool
    national: bool  # present in the national index (for the hub's seed)
    variant_given_name: str | None  # how a second source spells the given name
    traits: frozenset[str] = field(default_factory=frozenset)

    def age_on(self, on: date) -> int:
        """Whole years on ``on``."""
        years = on.year - self.birth_date.year
        return years - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))


def _nhs_number(rng: random.Random, valid: bool) -> str:
    while True:
        body = "999" + "".join(rng.choice("0123456789") for _ in range(6))
        weights = range(10, 1, -1)
        remainder = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
        check = 11 - remainder
        if check == 10:
            continue
        digit = 0 if check == 11 else check
        if not valid:
            digit = (digit + 1 + rng.randrange(8)) % 10
        return f"{body}{digit}"


def _upn(rng: random.Random, la: str, valid: bool) -> str:
    body = la + "".join(rng.choice("0123456789") for _ in range(9))
    letter = ids.upn_check_letter(body)
    if not valid:
        letter = "ABCDEFGHJKLMNPQRTUVWXYZ"[("ABCDEFGHJKLMNPQRTUVWXYZ".index(letter) + 5) % 23]
    return letter + body


def _postcode(rng: random.Random) -> str:
    outward = f"NG{rng.randint(1, 25)}"
    return f"{outward} {rng.randint(0, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"0115 496 {rng.randint(0, 999):04d}"
    return f"07700 900{rng.randint(0, 999):03d}"


def _birth_date(rng: random.Random, on: date, min_age: int, max_age: int) -> date:
    earliest = on.replace(year=on.year - max_age - 1) + timedelta(days=1)
    latest = on.replace(year=on.year - min_age)
    return earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))


def generate_population(n: int, *, seed: int = 891, on: date | None = None) -> list[DemoChild]:
    """``n`` children (twins add a few), deterministic for a given seed and reference date."""
    rng = random.Random(seed)
    today = on or date(2026, 11, 1)
    children: list[DemoChild] = []
    person_id = 100000
    while len(children) < n:
        person_id += 1
        roll = rng.random()
        traits: set[str] = set()
        if roll < 0.005:
            traits.add("over_age")
            born = _birth_date(rng, today, 25, 27)
        elif roll < 0.035:
            traits.add("care_leaver")
            born = _birth_date(rng, today, 18, 24)
        else:
            born = _birth_date(rng, today, 0, 17)
        female = rng.random() < 0.5
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        family = rng.choice(FAMILY)
        for name, rate in (
            ("invalid_upn", 0.04),
            ("invalid_nhs", 0.03),
            ("missing_postcode", 0.04),
            ("former_name", 0.05),
            ("not_national", 0.08),
            ("shielded", 0.01),
            ("died", 0.005),
            ("sensitive", 0.06),
            ("duplicate_in_source", 0.01),
        ):
            if rng.random() < rate:
                traits.add(name)
        if given in VARIANTS and rng.random() < 0.6:
            traits.add("spelling_variant")
        age = (today - born).days // 365
        in_school = 4 <= age <= 16 and rng.random() < 0.9
        in_youth = 11 <= age <= 24 and rng.random() < 0.45
        in_health = age <= 5 and rng.random() < 0.8
        in_social = rng.random() < (0.9 if "care_leaver" in traits else 0.35)
        if not (in_school or in_youth or in_health or in_social):
            in_social = True
        sensitive = rng.choice(SENSITIVE_TYPES) if "sensitive" in traits else None
        carers = []
        if age < 18:
            mum = rng.choice(GIVEN_FEMALE)
            carers.append(
                DemoCarer(
                    mum,
                    family,
                    "Mother",
                    True,
                    _phone(rng),
                    f"{mum.lower()}.{rng.randint(10, 99)}@example.org.uk"
                    if rng.random() < 0.4
                    else None,
                )
            )
            if rng.random() < 0.6:
                dad = rng.choice(GIVEN_MALE)
                carers.append(
                    DemoCarer(
                        dad,
                        family,
                        "Father",
                        rng.random() < 0.85,
                        _phone(rng) if rng.random() < 0.7 else None,
                        None,
                    )
                )
        school = None
        if in_school:
            laestab, urn, name = SCHOOLS[(3 if age >= 11 else 0) + rng.randrange(3)]
            start = date(today.year - (age - 4 if age < 11 else age - 11), 9, 4)
            school = DemoSchool(laestab, urn, name, max(start, born + timedelta(days=4 * 365)))
        gp = rng.choice(GP_PRACTICES)
        child = DemoChild(
            person_id=person_id,
            given_name=given,
            middle_names=rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
            if rng.random() < 0.4
            else None,
            family_name=family,
            former_family_name=rng.choice(FAMILY) if "former_name" in traits else None,
            birth_date=born,
            gender="F" if female else ("M" if rng.random() < 0.99 else "U"),
            nhs_number=_nhs_number(rng, "invalid_nhs" not in traits)
            if rng.random() < 0.95
            else None,
            upn=_upn(rng, "891", "invalid_upn" not in traits) if in_school or age < 19 else None,
            address_lines=(f"{rng.randint(1, 240)} {rng.choice(STREETS)}",),
            town=rng.choice(TOWNS),
            postcode=None if "missing_postcode" in traits else _postcode(rng),
            uprn=str(rng.randint(10**10, 10**11)) if rng.random() < 0.5 else None,
            carers=tuple(carers),
            school=school,
            gp_ods=gp[0],
            gp_name=gp[1],
            date_of_death=today - timedelta(days=rng.randint(1, 200)) if "died" in traits else None,
            shielded="shielded" in traits,
            participation_consent=f"PC-{person_id}"
            if "care_leaver" in traits and rng.random() < 0.5
            else None,
            sensitive_service=sensitive,
            sensitive_consent=f"SC-{person_id}" if sensitive and rng.random() < 0.5 else None,
            in_social_care=in_social,
            in_youth_service=in_youth,
            in_school=in_school,
            in_health=in_health,
            national="not_national" not in traits,
            variant_given_name=VARIANTS.get(given) if "spelling_variant" in traits else None,
            traits=frozenset(traits),
        )
        if rng.random() < 0.01 and age < 17:  # a twin: same birth date, surname, initial
            twin_given = next(
                (g for g in (GIVEN_FEMALE + GIVEN_MALE) if g[0] == given[0] and g != given), given
            )
            child = replace(child, traits=frozenset({*child.traits, "twin"}))
            person_id += 1
            twin = replace(
                child,
                person_id=person_id,
                given_name=twin_given,
                nhs_number=_nhs_number(rng, True) if child.nhs_number else None,
                upn=_upn(rng, "891", True) if child.upn else None,
                variant_given_name=None,
            )
            children.extend((child, twin))
        else:
            children.append(child)
    return children
