"""What the demo child health system (CHIS) holds: health records derived from the population.

A community child health / early-years system knows the under-fives of its area: identity, home
address, GP practice, and its own services' involvements (health visiting, school nursing, the
family nurse partnership). Like a real one it also holds case information — clinical notes,
safeguarding concerns, reasons for referral — that ContactPoint must never receive. Those are
generated here on purpose, so the tests can prove that the adapter never lets them through.

Everything is derived deterministically from :mod:`demo.population` (children with
``in_health``), so the SOAP service, the other demo sources and the reference hub all describe
the same synthetic authority. Records are kept apart from the web service
(:mod:`demo.soap_service`) so the demo seeder can write them to a file (:func:`write_records`)
that a separately started service process reads back (:func:`read_records`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from demo.population import FAMILY, GIVEN_FEMALE, DemoChild

#: Records change up to this instant by default: the population's own reference date.
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)

HEALTH_TRUST = "Trentside Community Health NHS Trust"
FNP_TEAM = "Trentside Family Nurse Partnership"

#: NHS Data Dictionary person stated gender code for the population's M/F/U.
GENDER_CODES = {"M": "1", "F": "2", "U": "X"}

CLINICAL_NOTES = (
    "6-8 week review: feeding well, weight on the 25th centile.",
    "8-month review: weight below the 2nd centile; referred to the dietitian.",
    "New birth visit: mother reports low mood; EPDS score 14, GP informed.",
    "2-year review: speech delay noted; referred to speech and language therapy.",
    "Missed two appointments; family not at home on unannounced visit.",
    "Eczema flare; emollients prescribed by GP. Sleep disturbed.",
    "Ages and Stages questionnaire below cut-off for fine motor skills.",
)
SAFEGUARDING = (
    ("DomesticAbuse", "Police notification of domestic incident at the home address."),
    ("Neglect", "Home conditions poor on visit; child's nappy not changed for some hours."),
    ("ParentalSubstanceMisuse", "Mother disclosed relapse into alcohol use."),
    ("UnexplainedInjury", "Bruise on the cheek of a non-mobile baby; referred to MASH."),
)
HV_REASONS = (
    "Universal Plus: maternal mental health",
    "Universal Partnership Plus: child in need plan",
    "Targeted: premature birth, 32 weeks",
)
FNP_REASON = "First-time mother aged under 20"


@dataclass(frozen=True, slots=True)
class HealthAddress:
    lines: tuple[str, ...]
    town: str | None
    postcode: str | None
    uprn: str | None


@dataclass(frozen=True, slots=True)
class HealthInvolvement:
    service_type: str  # local code: HV, SN, FNP
    organisation: str
    practitioner_name: str | None
    telephone: str | None
    start_date: date
    end_date: date | None
    reason_for_referral: str | None  # case information


@dataclass(frozen=True, slots=True)
class SafeguardingConcern:  # case information as a whole
    category: str
    raised_on: date
    summary: str


@dataclass(frozen=True, slots=True)
class HealthRecord:
    child_id: str
    person_id: int  # the population id, for tests that relate sources; never served
    nhs_number: str | None
    given_name: str
    middle_names: str | None
    family_name: str
    previous_family_name: str | None
    date_of_birth: date
    gender: str
    date_of_death: date | None
    restricted: bool
    address: HealthAddress | None
    gp_ods: str | None
    gp_name: str | None
    involvements: tuple[HealthInvolvement, ...]
    clinical_notes: str | None  # case information
    safeguarding: SafeguardingConcern | None  # case information
    last_modified: datetime  # timezone-aware, UTC, whole seconds


def child_id(person_id: int) -> str:
    """The CHIS's own id for a population child (each demo source numbers children its own way)."""
    return f"CH{person_id + 4_000_000}"


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return date(born.year + years, 3, 1)


def _practitioner(rng: random.Random) -> str | None:
    if rng.random() < 0.1:
        return None  # unallocated: a real caseload gap
    return f"{rng.choice(GIVEN_FEMALE)} {rng.choice(FAMILY)}"


def _team_phone(rng: random.Random) -> str:
    return f"0115 496 0{rng.randint(0, 999):03d}"


def _involvements(
    child: DemoChild, rng: random.Random, today: date
) -> tuple[HealthInvolvement, ...]:
    born = child.birth_date
    closed_by_death = child.date_of_death
    out: list[HealthInvolvement] = []

    def end(natural: date | None) -> date | None:
        candidates = [d for d in (natural, closed_by_death) if d is not None and d <= today]
        return min(candidates) if candidates else None

    hv_start = born + timedelta(days=12)  # the new birth visit
    if hv_start <= today:
        out.append(
            HealthInvolvement(
                "HV",
                HEALTH_TRUST,
                _practitioner(rng),
                _team_phone(rng),
                hv_start,
                end(_birthday(born, 5)),
                rng.choice(HV_REASONS) if rng.random() < 0.2 else None,
            )
        )
    school_year = born.year + (5 if (born.month, born.day) > (8, 31) else 4)
    sn_start = date(school_year, 9, 4)
    if sn_start <= today:
        out.append(
            HealthInvolvement(
                "SN",
                HEALTH_TRUST,
                _practitioner(rng),
                _team_phone(rng),
                sn_start,
                end(None),
                None,
            )
        )
    if rng.random() < 0.08:
        out.append(
            HealthInvolvement(
                "FNP",
                FNP_TEAM,
                _practitioner(rng),
                _team_phone(rng),
                born,
                end(_birthday(born, 2)),
                FNP_REASON,
            )
        )
    return tuple(out)


def _last_modified(rng: random.Random, born: date, as_of: datetime) -> datetime:
    if rng.random() < 0.15:
        # A nightly bulk job touches many records in the same second: watermarks must cope.
        stamp = (as_of - timedelta(days=rng.choice((3, 10, 17, 24)))).replace(
            hour=2, minute=0, second=0, microsecond=0
        )
    else:
        stamp = as_of - timedelta(seconds=rng.randrange(3600, 120 * 86400))
    earliest = datetime(born.year, born.month, born.day, 9, tzinfo=UTC)
    return max(stamp, earliest).replace(microsecond=0)


def health_record(child: DemoChild, *, as_of: datetime = AS_OF) -> HealthRecord:
    """The CHIS record of one population child (deterministic for the child and ``as_of``)."""
    rng = random.Random(f"chis-{child.person_id}")
    today = as_of.date()
    address = None
    if not child.shielded:  # a restricted record withholds the address
        address = HealthAddress(child.address_lines, child.town, child.postcode, child.uprn)
    concern = None
    if rng.random() < 0.07:
        category, summary = rng.choice(SAFEGUARDING)
        raised = child.birth_date + timedelta(
            days=rng.randrange(max(1, (today - child.birth_date).days))
        )
        concern = SafeguardingConcern(category, raised, summary)
    return HealthRecord(
        child_id=child_id(child.person_id),
        person_id=child.person_id,
        nhs_number=child.nhs_number,
        given_name=child.variant_given_name or child.given_name,
        middle_names=child.middle_names,
        family_name=child.family_name,
        previous_family_name=child.former_family_name,
        date_of_birth=child.birth_date,
        gender=GENDER_CODES.get(child.gender, "X"),
        date_of_death=child.date_of_death,
        restricted=child.shielded,
        address=address,
        gp_ods=child.gp_ods,
        gp_name=child.gp_name,
        involvements=_involvements(child, rng, today),
        clinical_notes=rng.choice(CLINICAL_NOTES) if rng.random() < 0.7 else None,
        safeguarding=concern,
        last_modified=_last_modified(rng, child.birth_date, as_of),
    )


def health_records(children: Iterable[DemoChild], *, as_of: datetime = AS_OF) -> list[HealthRecord]:
    """The CHIS records of the children known to health (``in_health``), in population order."""
    return [health_record(c, as_of=as_of) for c in children if c.in_health]


# ----- file form, so the seeder and a separately started service share one data set -----


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_records(path: Path, records: Sequence[HealthRecord]) -> None:
    """Write ``records`` as JSON (one array) for ``python -m demo.soap_service --data``."""
    path.write_text(
        json.dumps([asdict(r) for r in records], default=_json_default, ensure_ascii=False),
        encoding="utf-8",
    )


def _opt_date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _record_from_dict(raw: dict[str, Any]) -> HealthRecord:
    address = raw["address"]
    concern = raw["safeguarding"]
    modified = datetime.fromisoformat(raw["last_modified"])
    return HealthRecord(
        child_id=str(raw["child_id"]),
        person_id=int(raw["person_id"]),
        nhs_number=raw["nhs_number"],
        given_name=raw["given_name"],
        middle_names=raw["middle_names"],
        family_name=raw["family_name"],
        previous_family_name=raw["previous_family_name"],
        date_of_birth=date.fromisoformat(raw["date_of_birth"]),
        gender=raw["gender"],
        date_of_death=_opt_date(raw["date_of_death"]),
        restricted=bool(raw["restricted"]),
        address=None
        if address is None
        else HealthAddress(
            tuple(address["lines"]), address["town"], address["postcode"], address["uprn"]
        ),
        gp_ods=raw["gp_ods"],
        gp_name=raw["gp_name"],
        involvements=tuple(
            HealthInvolvement(
                i["service_type"],
                i["organisation"],
                i["practitioner_name"],
                i["telephone"],
                date.fromisoformat(i["start_date"]),
                _opt_date(i["end_date"]),
                i["reason_for_referral"],
            )
            for i in raw["involvements"]
        ),
        clinical_notes=raw["clinical_notes"],
        safeguarding=None
        if concern is None
        else SafeguardingConcern(
            concern["category"], date.fromisoformat(concern["raised_on"]), concern["summary"]
        ),
        last_modified=modified if modified.tzinfo else modified.replace(tzinfo=UTC),
    )


def read_records(path: Path) -> list[HealthRecord]:
    """Read a file written by :func:`write_records`; ValueError saying what is wrong otherwise."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read health data ({exc.__class__.__name__})") from exc
    if not isinstance(raw, list):
        raise ValueError(f"{path}: health data must be a JSON array of records")
    try:
        return [_record_from_dict(item) for item in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: a health record is incomplete ({exc.__class__.__name__})"
        ) from exc
