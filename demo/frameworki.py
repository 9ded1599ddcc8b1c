"""A Frameworki-like children's social care database, filled from the demo population.

Laid out the way person-centric case management systems are: one ``person`` table for clients
(children and care leavers) and the adults around them, linked by ``person_relationship``;
addresses with types and date ranges; allocated workers and teams through ``involvement``;
CAF episodes; schools; consents. Flags are the legacy ``'Y'``/``'N'`` characters, NHS numbers
are sometimes stored with spaces, postcodes sometimes without one, and some rows are soft
deleted (``deleted_flag``) or closed (``case_status``) — as in real systems.

Case information lives here too (``referral_reason``, ``case_notes``, ``involvement_reason``,
``assessment_outcome``, ``identified_needs``): the adapter must never read it into ContactPoint,
and tests prove it does not.

``person.last_modified`` is the latest change of the person or any row about them (a real
system would keep it with a trigger or expose it in a reporting view), so it serves as the
incremental watermark.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    CHAR,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Engine

from demo.population import DemoChild
from demo.sqlload import Row, child_rng, date_between, insert_all, modified_at

SYSTEM = "frameworki"
PERSON_ID_BASE = 2_000_000  # person_id = base + population id
DUPLICATE_ID_BASE = 2_500_000  # the second record of a child recorded twice
ADULT_ID_BASE = 5_000_000  # carers and other adults

metadata = MetaData()

person = Table(
    "person",
    metadata,
    Column("person_id", Integer, primary_key=True, autoincrement=False),
    Column("person_type", String(10), nullable=False),  # CLIENT or ADULT
    Column("title", String(10)),
    Column("forename", String(50), nullable=False),
    Column("middle_names", String(70)),
    Column("surname", String(50), nullable=False),
    Column("former_surname", String(50)),
    Column("date_of_birth", Date),
    Column("gender", CHAR(1)),  # M, F, U
    Column("nhs_number", String(12)),
    Column("upn", String(13)),
    Column("date_of_death", Date),
    Column("restricted_access", CHAR(1), nullable=False, server_default="N"),
    Column("gp_practice_code", String(8)),
    Column("gp_practice_name", String(100)),
    Column("phone", String(20)),
    Column("email", String(254)),
    Column("ethnicity", String(10)),
    Column("referral_reason", Text),  # case information
    Column("case_notes", Text),  # case information
    Column("case_status", String(10)),  # OPEN, CLOSED
    Column("case_closed_date", Date),
    Column("deleted_flag", CHAR(1), nullable=False, server_default="N"),
    Column("created_on", DateTime, nullable=False),
    Column("last_modified", DateTime, nullable=False),
)
Index("ix_person_last_modified", person.c.last_modified)

person_address = Table(
    "person_address",
    metadata,
    Column("address_id", Integer, primary_key=True, autoincrement=False),
    Column("person_id", Integer, ForeignKey("person.person_id"), nullable=False, index=True),
    Column("address_type", String(15), nullable=False),  # HOME, PREVIOUS
    Column("address_line1", String(50)),
    Column("address_line2", String(50)),
    Column("address_line3", String(50)),
    Column("town", String(50)),
    Column("postcode", String(10)),
    Column("uprn", String(12)),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("last_modified", DateTime, nullable=False),
)

person_relationship = Table(
    "person_relationship",
    metadata,
    Column("relationship_id", Integer, primary_key=True, autoincrement=False),
    Column("person_id", Integer, ForeignKey("person.person_id"), nullable=False, index=True),
    Column("related_person_id", Integer, ForeignKey("person.person_id"), nullable=False),
    Column("relationship_type", String(20), nullable=False),
    Column("parental_responsibility", CHAR(1), nullable=False),
    Column("lives_with", CHAR(1)),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("last_modified", DateTime, nullable=False),
)

team = Table(
    "team",
    metadata,
    Column("team_id", Integer, primary_key=True, autoincrement=False),
    Column("team_name", String(100), nullable=False),
    Column("service_code", String(10), nullable=False),
    Column("organisation_name", String(100), nullable=False),
    Column("phone", String(20)),
    Column("email", String(254)),
    Column("is_sensitive", CHAR(1), nullable=False),
)

worker = Table(
    "worker",
    metadata,
    Column("worker_id", Integer, primary_key=True, autoincrement=False),
    Column("forename", String(50), nullable=False),
    Column("surname", String(50), nullable=False),
    Column("job_title", String(60)),
    Column("team_id", Integer, ForeignKey("team.team_id"), nullable=False),
    Column("phone", String(20)),
    Column("email", String(254)),
)

involvement = Table(
    "involvement",
    metadata,
    Column("involvement_id", Integer, primary_key=True, autoincrement=False),
    Column("person_id", Integer, ForeignKey("person.person_id"), nullable=False, index=True),
    Column("team_id", Integer, ForeignKey("team.team_id"), nullable=False),
    Column("worker_id", Integer, ForeignKey("worker.worker_id")),
    Column("involvement_role", String(60), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("lead_professional", CHAR(1), nullable=False),
    Column("sensitive", CHAR(1), nullable=False),
    Column("consent_ref", String(40)),
    Column("consent_date", Date),
    Column("involvement_reason", Text),  # case information
    Column("last_modified", DateTime, nullable=False),
)

caf_episode = Table(
    "caf_episode",
    metadata,
    Column("caf_id", Integer, primary_key=True, autoincrement=False),
    Column("person_id", Integer, ForeignKey("person.person_id"), nullable=False, index=True),
    Column("caf_status", String(15), nullable=False),  # IN PROGRESS, COMPLETED
    Column("caf_date", Date, nullable=False),
    Column("lead_organisation", String(100)),
    Column("lead_worker_name", String(70)),
    Column("lead_phone", String(20)),
    Column("assessment_outcome", Text),  # case information
    Column("identified_needs", Text),  # case information
    Column("last_modified", DateTime, nullable=False),
)

person_education = Table(
    "person_education",
    metadata,
    Column("education_id", Integer, primary_key=True, autoincrement=False),
    Column("person_id", Integer, ForeignKey("person.person_id"), nullable=False, index=True),
    Column("laestab", String(7)),
    Column("urn", String(6)),
    Column("school_name", String(100)),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("last_modified", DateTime, nullable=False),
)

person_consent = Table(
    "person_consent",
    metadata,
    Column("consent_id", Integer, primary_key=True, autoincrement=False),
    Column("person_id", Integer, ForeignKey("person.person_id"), nullable=False, index=True),
    Column("consent_type", String(30), nullable=False),  # CONTACTPOINT_PARTICIPATION
    Column("basis", String(30)),  # CARE LEAVER, DISABILITY, SEN, YOUTH JUSTICE
    Column("consent_ref", String(40), nullable=False),
    Column("consent_date", Date, nullable=False),
    Column("withdrawn_date", Date),
    Column("last_modified", DateTime, nullable=False),
)

# (team_id, name, service code, organisation, phone, email, sensitive, LDI service it stands for)
TEAMS: tuple[tuple[int, str, str, str, str, str, str], ...] = (
    (1, "Children's Social Care Central", "CSC", "Demo County Council", "0115 977 4000",
     "csc.central@demo-county.example", "N"),
    (2, "Leaving Care Team", "LCT", "Demo County Council", "0115 977 4100",
     "leaving.care@demo-county.example", "N"),
    (3, "Early Help Unit", "EHU", "Demo County Council", "0115 977 4200",
     "early.help@demo-county.example", "N"),
    (4, "CAMHS Community Team", "CAMHS", "Demo Healthcare NHS Trust", "0115 977 4300",
     "camhs@demo-health.example", "Y"),
    (5, "Young People's Sexual Health", "SHS", "Demo Healthcare NHS Trust", "0115 977 4400",
     "sexual.health@demo-health.example", "Y"),
    (6, "Substance Misuse Service", "DAAT", "Demo Recovery Partnership", "0115 977 4500",
     "recovery@demo-recovery.example", "Y"),
)  # fmt: skip
SENSITIVE_TEAM = {"MentalHealth": 4, "SexualHealth": 5, "SubstanceMisuse": 6}
WORKER_NAMES = (
    ("Anna", "Kowalski"), ("Ben", "Okafor"), ("Carla", "Mendes"), ("David", "Hargreaves"),
    ("Eleanor", "Price"), ("Farid", "Rahman"), ("Gemma", "Lowe"), ("Hugh", "Brennan"),
    ("Imogen", "Tate"), ("Jonas", "Weber"), ("Kirsty", "Fraser"), ("Liam", "Doyle"),
)  # fmt: skip
RELATIONSHIP_CODES = {
    "Mother": "MOTHER",
    "Father": "FATHER",
    "StepParent": "STEP-PARENT",
    "Guardian": "SPECIAL GUARDIAN",
    "FosterCarer": "FOSTER CARER",
    "OtherRelative": "GRANDPARENT",
    "Other": "OTHER",
}
REFERRAL_REASONS = (
    "Neglect concerns raised by school nurse",
    "Domestic abuse incident notified by police",
    "Parental mental health affecting care",
    "Missing from home on three occasions",
    "Self-referral by parent, struggling with behaviour",
)
CASE_NOTES = (
    "Home visit: child seen alone, bedroom cold, food in cupboards limited.",
    "Strategy discussion held; section 47 enquiry not required.",
    "Mother disclosed new partner; checks requested from police.",
    "Child reports bullying at school; teacher informed with consent.",
)
CAF_OUTCOMES = (
    "Needs met through universal services; CAF closed.",
    "Team around the family set up; school attendance plan.",
    "Escalated to social care after review.",
)


def create_schema(engine: Engine) -> None:
    """Create the Frameworki-like tables (idempotent)."""
    metadata.create_all(engine)


def person_id_for(child: DemoChild) -> int:
    """The child's person_id in this system."""
    return PERSON_ID_BASE + child.person_id


def duplicate_id_for(child: DemoChild) -> int:
    """The person_id of the second record of a child recorded twice."""
    return DUPLICATE_ID_BASE + child.person_id


def load(engine: Engine, children: Sequence[DemoChild]) -> dict[str, int]:
    """Insert the social care part of ``children``; the number of rows per table."""
    rows = _Rows()
    rows.reference_data()
    for child in children:
        if child.in_social_care:
            rows.client(child, person_id_for(child), duplicate=False)
            if "duplicate_in_source" in child.traits:
                rows.client(child, duplicate_id_for(child), duplicate=True)
    with engine.begin() as connection:
        return insert_all(
            connection,
            {
                team: rows.teams,
                worker: rows.workers,
                person: rows.persons,
                person_address: rows.addresses,
                person_relationship: rows.relationships,
                involvement: rows.involvements,
                caf_episode: rows.cafs,
                person_education: rows.education,
                person_consent: rows.consents,
            },
        )


class _Rows:
    """Accumulates the rows of every table; ids are assigned in order."""

    def __init__(self) -> None:
        self.teams: list[Row] = []
        self.workers: list[Row] = []
        self.persons: list[Row] = []
        self.addresses: list[Row] = []
        self.relationships: list[Row] = []
        self.involvements: list[Row] = []
        self.cafs: list[Row] = []
        self.education: list[Row] = []
        self.consents: list[Row] = []
        self._next_adult = ADULT_ID_BASE

    def reference_data(self) -> None:
        for team_id, name, code, organisation, phone, email, sensitive in TEAMS:
            self.teams.append(
                {
                    "team_id": team_id,
                    "team_name": name,
                    "service_code": code,
                    "organisation_name": organisation,
                    "phone": phone,
                    "email": email,
                    "is_sensitive": sensitive,
                }
            )
        for index, (forename, surname) in enumerate(WORKER_NAMES):
            team_id = TEAMS[index % len(TEAMS)][0]
            self.workers.append(
                {
                    "worker_id": 700 + index,
                    "forename": forename,
                    "surname": surname,
                    "job_title": "Social Worker" if team_id <= 3 else "Practitioner",
                    "team_id": team_id,
                    "phone": f"0115 977 {5000 + index:04d}",
                    "email": f"{forename.lower()}.{surname.lower()}@demo-county.example",
                }
            )

    def _worker_of(self, rng: random.Random, team_id: int) -> int:
        candidates = [w["worker_id"] for w in self.workers if w["team_id"] == team_id]
        return int(rng.choice(candidates))

    def client(self, child: DemoChild, pid: int, *, duplicate: bool) -> None:
        rng = child_rng(SYSTEM + ("-dup" if duplicate else ""), child.person_id)
        today = date(2026, 11, 1)
        stamps: list[datetime] = [modified_at(rng)]
        involved_from = date_between(
            rng, max(child.birth_date, today - timedelta(days=1500)), today
        )
        self._addresses(child, pid, rng, stamps)
        if not duplicate:
            self._carers(child, pid, rng, stamps, involved_from)
            self._involvements(child, pid, rng, stamps, involved_from, today)
            self._caf(child, pid, rng, stamps, today)
            self._school(child, pid, rng, stamps)
            self._consent(child, pid, rng, stamps)
        nhs = child.nhs_number
        if nhs is not None and rng.random() < 0.3:
            nhs = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"  # keyed in with spaces
        closed = rng.random() < 0.2
        self.persons.append(
            {
                "person_id": pid,
                "person_type": "CLIENT",
                "title": None,
                "forename": child.given_name,
                "middle_names": child.middle_names,
                "surname": child.family_name.upper() if duplicate else child.family_name,
                "former_surname": child.former_family_name,
                "date_of_birth": child.birth_date,
                "gender": child.gender,
                "nhs_number": None if duplicate else nhs,
                "upn": child.upn,
                "date_of_death": child.date_of_death,
                "restricted_access": "Y" if child.shielded else "N",
                "gp_practice_code": child.gp_ods,
                "gp_practice_name": child.gp_name,
                "phone": None,
                "email": None,
                "ethnicity": rng.choice(("WBRI", "ABAN", "BCRB", "MWBC", "WIRI", "REFU")),
                "referral_reason": rng.choice(REFERRAL_REASONS),
                "case_notes": rng.choice(CASE_NOTES),
                "case_status": "CLOSED" if closed else "OPEN",
                "case_closed_date": date_between(rng, involved_from, today) if closed else None,
                "deleted_flag": "Y" if rng.random() < 0.03 else "N",
                "created_on": datetime.combine(involved_from, datetime.min.time()),
                "last_modified": max(stamps),
            }
        )

    def _addresses(
        self, child: DemoChild, pid: int, rng: random.Random, stamps: list[datetime]
    ) -> None:
        postcode = child.postcode
        if postcode is not None and rng.random() < 0.1:
            postcode = postcode.replace(" ", "").lower()  # keyed in carelessly
        lines = [*child.address_lines, None, None, None][:3]
        moved_in = date_between(rng, child.birth_date, date(2026, 10, 1))
        if rng.random() < 0.25:
            stamps.append(modified_at(rng))
            self.addresses.append(
                {
                    "address_id": len(self.addresses) + 1,
                    "person_id": pid,
                    "address_type": "PREVIOUS",
                    "address_line1": f"{rng.randint(1, 99)} Old Mill Lane",
                    "address_line2": None,
                    "address_line3": None,
                    "town": "Nottingham",
                    "postcode": "NG1 1AA",
                    "uprn": None,
                    "start_date": child.birth_date,
                    "end_date": moved_in,
                    "last_modified": stamps[-1],
                }
            )
        stamps.append(modified_at(rng))
        self.addresses.append(
            {
                "address_id": len(self.addresses) + 1,
                "person_id": pid,
                "address_type": "HOME",
                "address_line1": lines[0],
                "address_line2": lines[1],
                "address_line3": lines[2],
                "town": child.town,
                "postcode": postcode,
                "uprn": child.uprn,
                "start_date": moved_in,
                "end_date": None,
                "last_modified": stamps[-1],
            }
        )

    def _carers(
        self,
        child: DemoChild,
        pid: int,
        rng: random.Random,
        stamps: list[datetime],
        since: date,
    ) -> None:
        for carer in child.carers:
            self._next_adult += 1
            adult_id = self._next_adult
            stamps.append(modified_at(rng))
            self.persons.append(
                {
                    "person_id": adult_id,
                    "person_type": "ADULT",
                    "title": {"Mother": "Ms", "Father": "Mr"}.get(carer.relationship),
                    "forename": carer.given_name,
                    "middle_names": None,
                    "surname": carer.family_name,
                    "former_surname": None,
                    "date_of_birth": None,
                    "gender": {"Mother": "F", "Father": "M"}.get(carer.relationship, "U"),
                    "nhs_number": None,
                    "upn": None,
                    "date_of_death": None,
                    "restricted_access": "N",
                    "gp_practice_code": None,
                    "gp_practice_name": None,
                    "phone": carer.telephone,
                    "email": carer.email,
                    "ethnicity": None,
                    "referral_reason": None,
                    "case_notes": None,
                    "case_status": None,
                    "case_closed_date": None,
                    "deleted_flag": "N",
                    "created_on": datetime.combine(since, datetime.min.time()),
                    "last_modified": stamps[-1],
                }
            )
            self.relationships.append(
                {
                    "relationship_id": len(self.relationships) + 1,
                    "person_id": pid,
                    "related_person_id": adult_id,
                    "relationship_type": RELATIONSHIP_CODES.get(carer.relationship, "OTHER"),
                    "parental_responsibility": "Y" if carer.parental_responsibility else "N",
                    "lives_with": "Y" if rng.random() < 0.8 else "N",
                    "start_date": child.birth_date,
                    "end_date": None,
                    "last_modified": stamps[-1],
                }
            )

    def _involvement(self, **values: Any) -> None:
        self.involvements.append({"involvement_id": len(self.involvements) + 1, **values})

    def _involvements(
        self,
        child: DemoChild,
        pid: int,
        rng: random.Random,
        stamps: list[datetime],
        start: date,
        today: date,
    ) -> None:
        team_id = 2 if "care_leaver" in child.traits else rng.choice((1, 1, 3))
        ended = rng.random() < 0.2
        stamps.append(modified_at(rng))
        self._involvement(
            person_id=pid,
            team_id=team_id,
            worker_id=self._worker_of(rng, team_id),
            involvement_role="Personal Adviser" if team_id == 2 else "Allocated Social Worker",
            start_date=start,
            end_date=date_between(rng, start, today) if ended else None,
            lead_professional="Y" if not ended and rng.random() < 0.5 else "N",
            sensitive="N",
            consent_ref=None,
            consent_date=None,
            involvement_reason=rng.choice(REFERRAL_REASONS),
            last_modified=stamps[-1],
        )
        if child.sensitive_service is not None:
            sensitive_team = SENSITIVE_TEAM[child.sensitive_service]
            stamps.append(modified_at(rng))
            self._involvement(
                person_id=pid,
                team_id=sensitive_team,
                worker_id=self._worker_of(rng, sensitive_team),
                involvement_role="Practitioner",
                start_date=date_between(rng, start, today),
                end_date=None,
                lead_professional="N",
                sensitive="Y",
                consent_ref=child.sensitive_consent,
                consent_date=start if child.sensitive_consent else None,
                involvement_reason="Referred by GP",
                last_modified=stamps[-1],
            )

    def _caf(
        self, child: DemoChild, pid: int, rng: random.Random, stamps: list[datetime], today: date
    ) -> None:
        if child.age_on(today) >= 18 or rng.random() >= 0.3:
            return
        stamps.append(modified_at(rng))
        worker_forename, worker_surname = rng.choice(WORKER_NAMES)
        self.cafs.append(
            {
                "caf_id": len(self.cafs) + 1,
                "person_id": pid,
                "caf_status": rng.choice(("IN PROGRESS", "COMPLETED")),
                "caf_date": date_between(rng, child.birth_date, today),
                "lead_organisation": "Early Help Unit",
                "lead_worker_name": f"{worker_forename} {worker_surname}",
                "lead_phone": "0115 977 4200",
                "assessment_outcome": rng.choice(CAF_OUTCOMES),
                "identified_needs": "Attendance; parenting support; housing",
                "last_modified": stamps[-1],
            }
        )

    def _school(
        self, child: DemoChild, pid: int, rng: random.Random, stamps: list[datetime]
    ) -> None:
        if child.school is None:
            return
        stamps.append(modified_at(rng))
        self.education.append(
            {
                "education_id": len(self.education) + 1,
                "person_id": pid,
                "laestab": child.school.laestab,
                "urn": child.school.urn,
                "school_name": child.school.name,
                "start_date": child.school.start_date,
                "end_date": None,
                "last_modified": stamps[-1],
            }
        )

    def _consent(
        self, child: DemoChild, pid: int, rng: random.Random, stamps: list[datetime]
    ) -> None:
        if child.participation_consent is None:
            return
        stamps.append(modified_at(rng))
        adult = child.birth_date + timedelta(days=18 * 365 + 5)  # just after the 18th birthday
        self.consents.append(
            {
                "consent_id": len(self.consents) + 1,
                "person_id": pid,
                "consent_type": "CONTACTPOINT_PARTICIPATION",
                "basis": "CARE LEAVER",
                "consent_ref": child.participation_consent,
                "consent_date": date_between(rng, adult, date(2026, 10, 1)),
                "withdrawn_date": None,
                "last_modified": stamps[-1],
            }
        )
