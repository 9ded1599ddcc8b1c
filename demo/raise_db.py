"""A Raise-like youth services database, filled from the demo population.

Youth services work with young people aged 11 to 24: ``young_person`` holds the person with the
address inline and text keys (``RY0100042``); keyworkers and their involvements; consents
(ContactPoint participation of 18-24 year olds, sensitive services); family contacts with the
whole name in one field, as youth systems often keep them. Given names follow the young
person's own spelling (``variant_given_name``), so the same child differs from social care.
Flags are small integers here (``is_archived`` 0/1), unlike Frameworki's ``'Y'``/``'N'``.

Case information: ``needs_notes``, ``referral_reason``, ``risk_assessment`` on the young person
and ``session_notes`` on involvements. ``young_person.last_updated`` covers every row about the
young person, so it serves as the incremental watermark.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import (
    CHAR,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Engine

from demo.population import DemoChild
from demo.sqlload import Row, child_rng, date_between, insert_all, modified_at

SYSTEM = "raise"

metadata = MetaData()

young_person = Table(
    "young_person",
    metadata,
    Column("yp_id", String(12), primary_key=True),
    Column("first_name", String(50), nullable=False),
    Column("middle_name", String(70)),
    Column("last_name", String(50), nullable=False),
    Column("known_as", String(50)),
    Column("dob", Date),
    Column("sex", String(10)),  # Male, Female, Unknown
    Column("upn", String(13)),
    Column("nhs_no", String(12)),
    Column("address_1", String(50)),
    Column("address_2", String(50)),
    Column("address_3", String(50)),
    Column("town", String(50)),
    Column("postcode", String(10)),
    Column("uprn", String(12)),
    Column("consent_to_share", CHAR(1), nullable=False),
    Column("status", String(10), nullable=False),  # Active, Closed
    Column("is_archived", SmallInteger, nullable=False, server_default="0"),
    Column("needs_notes", Text),  # case information
    Column("referral_reason", Text),  # case information
    Column("risk_assessment", Text),  # case information
    Column("last_updated", DateTime, nullable=False),
)
Index("ix_young_person_last_updated", young_person.c.last_updated)

keyworker = Table(
    "keyworker",
    metadata,
    Column("keyworker_id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(70), nullable=False),
    Column("service", String(60), nullable=False),
    Column("service_type", String(30), nullable=False),  # local code of the kind of service
    Column("phone", String(20)),
    Column("email", String(254)),
)

yp_involvement = Table(
    "yp_involvement",
    metadata,
    Column("involvement_id", Integer, primary_key=True, autoincrement=False),
    Column("yp_id", String(12), ForeignKey("young_person.yp_id"), nullable=False, index=True),
    Column("keyworker_id", Integer, ForeignKey("keyworker.keyworker_id"), nullable=False),
    Column("role", String(40), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("is_lead", SmallInteger, nullable=False),
    Column("sensitive", SmallInteger, nullable=False),
    Column("consent_ref", String(40)),
    Column("session_notes", Text),  # case information
    Column("last_updated", DateTime, nullable=False),
)

yp_consent = Table(
    "yp_consent",
    metadata,
    Column("consent_id", Integer, primary_key=True, autoincrement=False),
    Column("yp_id", String(12), ForeignKey("young_person.yp_id"), nullable=False, index=True),
    Column("consent_type", String(30), nullable=False),  # CONTACTPOINT, SENSITIVE_SERVICE
    Column("basis", String(30)),  # Care leaver, Disability, SEN, Youth justice
    Column("consent_ref", String(40), nullable=False),
    Column("consent_date", Date, nullable=False),
    Column("withdrawn", SmallInteger, nullable=False, server_default="0"),
    Column("last_updated", DateTime, nullable=False),
)

yp_contact = Table(
    "yp_contact",
    metadata,
    Column("contact_id", Integer, primary_key=True, autoincrement=False),
    Column("yp_id", String(12), ForeignKey("young_person.yp_id"), nullable=False, index=True),
    Column("contact_name", String(100), nullable=False),  # whole name in one field
    Column("relationship", String(30)),
    Column("parental_responsibility", SmallInteger),
    Column("phone", String(20)),
    Column("email", String(254)),
    Column("last_updated", DateTime, nullable=False),
)

# (keyworker_id, name, service, service type code, phone, email)
KEYWORKERS: tuple[tuple[int, str, str, str, str, str], ...] = (
    (11, "Priya Shah", "Youth Support Service", "YSS", "0115 804 1100", "yss@demo-county.example"),
    (12, "Tom Ellison", "Youth Support Service", "YSS", "0115 804 1101", "yss@demo-county.example"),
    (13, "Rachel Ndlovu", "Youth Justice Service", "YJS", "0115 804 1200",
     "yjs@demo-county.example"),
    (14, "Owen Pritchard", "Leaving Care Service", "LCS", "0115 804 1300",
     "leaving.care@demo-county.example"),
    (15, "Sana Malik", "Youth Counselling Service", "MH", "0115 804 1400",
     "counselling@demo-youth.example"),
    (16, "Joe Barton", "Young People's Sexual Health Outreach", "SH", "0115 804 1500",
     "outreach@demo-youth.example"),
    (17, "Lena Fischer", "Young People's Substance Misuse Service", "SM", "0115 804 1600",
     "recovery@demo-youth.example"),
)  # fmt: skip
SENSITIVE_KEYWORKER = {"MentalHealth": 15, "SexualHealth": 16, "SubstanceMisuse": 17}
SEX = {"M": "Male", "F": "Female", "U": "Unknown"}
NEEDS = (
    "Low mood since family breakdown; attends drop-in weekly.",
    "Not in education, employment or training since June.",
    "Anger management work agreed; two sessions missed.",
)
RISKS = ("Low", "Medium: exploitation concerns", "High: missing episodes")


def create_schema(engine: Engine) -> None:
    """Create the Raise-like tables (idempotent)."""
    metadata.create_all(engine)


def yp_id_for(child: DemoChild) -> str:
    """The young person's id in this system (text)."""
    return f"RY{child.person_id:07d}"


def load(engine: Engine, children: Sequence[DemoChild]) -> dict[str, int]:
    """Insert the youth services part of ``children``; the number of rows per table."""
    rows = _Rows()
    for child in children:
        if child.in_youth_service:
            rows.young_person(child)
    with engine.begin() as connection:
        return insert_all(
            connection,
            {
                keyworker: [
                    {
                        "keyworker_id": kid,
                        "name": name,
                        "service": service,
                        "service_type": code,
                        "phone": phone,
                        "email": email,
                    }
                    for kid, name, service, code, phone, email in KEYWORKERS
                ],
                young_person: rows.people,
                yp_involvement: rows.involvements,
                yp_consent: rows.consents,
                yp_contact: rows.contacts,
            },
        )


class _Rows:
    """Accumulates the rows of every table; ids are assigned in order."""

    def __init__(self) -> None:
        self.people: list[Row] = []
        self.involvements: list[Row] = []
        self.consents: list[Row] = []
        self.contacts: list[Row] = []

    def young_person(self, child: DemoChild) -> None:
        rng = child_rng(SYSTEM, child.person_id)
        today = date(2026, 11, 1)
        yp_id = yp_id_for(child)
        stamps = [modified_at(rng)]
        age_11 = child.birth_date + timedelta(days=11 * 365 + 3)
        start = date_between(rng, max(age_11, today - timedelta(days=1200)), today)
        self._involvements(child, yp_id, rng, stamps, start, today)
        self._consents(child, yp_id, rng, stamps, start, today)
        self._contacts(child, yp_id, rng, stamps)
        lines = [*child.address_lines, None, None, None][:3]
        self.people.append(
            {
                "yp_id": yp_id,
                "first_name": child.variant_given_name or child.given_name,
                "middle_name": child.middle_names,
                "last_name": child.family_name,
                "known_as": child.given_name if child.variant_given_name else None,
                "dob": child.birth_date,
                "sex": SEX.get(child.gender, "Unknown"),
                "upn": child.upn,
                "nhs_no": child.nhs_number,
                "address_1": lines[0],
                "address_2": lines[1],
                "address_3": lines[2],
                "town": child.town,
                "postcode": child.postcode,
                "uprn": child.uprn,
                "consent_to_share": "Y" if rng.random() < 0.85 else "N",
                "status": "Closed" if rng.random() < 0.15 else "Active",
                "is_archived": 1 if rng.random() < 0.03 else 0,
                "needs_notes": rng.choice(NEEDS),
                "referral_reason": "Referred by school pastoral lead",
                "risk_assessment": rng.choice(RISKS),
                "last_updated": max(stamps),
            }
        )

    def _involvements(
        self,
        child: DemoChild,
        yp_id: str,
        rng: random.Random,
        stamps: list[datetime],
        start: date,
        today: date,
    ) -> None:
        keyworker_id = 14 if "care_leaver" in child.traits else rng.choice((11, 12, 13))
        stamps.append(modified_at(rng))
        ended = rng.random() < 0.25
        self.involvements.append(
            {
                "involvement_id": len(self.involvements) + 1,
                "yp_id": yp_id,
                "keyworker_id": keyworker_id,
                "role": "Personal Adviser" if keyworker_id == 14 else "Keyworker",
                "start_date": start,
                "end_date": date_between(rng, start, today) if ended else None,
                "is_lead": 1 if not ended and rng.random() < 0.4 else 0,
                "sensitive": 0,
                "consent_ref": None,
                "session_notes": rng.choice(NEEDS),
                "last_updated": stamps[-1],
            }
        )
        # Sensitive work is recorded here when social care does not know the young person.
        if child.sensitive_service is not None and not child.in_social_care:
            stamps.append(modified_at(rng))
            self.involvements.append(
                {
                    "involvement_id": len(self.involvements) + 1,
                    "yp_id": yp_id,
                    "keyworker_id": SENSITIVE_KEYWORKER[child.sensitive_service],
                    "role": "Worker",
                    "start_date": date_between(rng, start, today),
                    "end_date": None,
                    "is_lead": 0,
                    "sensitive": 1,
                    "consent_ref": child.sensitive_consent,
                    "session_notes": "Seen at drop-in; follow-up booked.",
                    "last_updated": stamps[-1],
                }
            )

    def _consents(
        self,
        child: DemoChild,
        yp_id: str,
        rng: random.Random,
        stamps: list[datetime],
        start: date,
        today: date,
    ) -> None:
        if child.participation_consent is not None:
            stamps.append(modified_at(rng))
            self.consents.append(
                {
                    "consent_id": len(self.consents) + 1,
                    "yp_id": yp_id,
                    "consent_type": "CONTACTPOINT",
                    "basis": "Care leaver",
                    "consent_ref": child.participation_consent,
                    "consent_date": date_between(rng, start, today),
                    "withdrawn": 0,
                    "last_updated": stamps[-1],
                }
            )
        if child.sensitive_consent is not None and not child.in_social_care:
            stamps.append(modified_at(rng))
            self.consents.append(
                {
                    "consent_id": len(self.consents) + 1,
                    "yp_id": yp_id,
                    "consent_type": "SENSITIVE_SERVICE",
                    "basis": None,
                    "consent_ref": child.sensitive_consent,
                    "consent_date": date_between(rng, start, today),
                    "withdrawn": 0,
                    "last_updated": stamps[-1],
                }
            )

    def _contacts(
        self, child: DemoChild, yp_id: str, rng: random.Random, stamps: list[datetime]
    ) -> None:
        for carer in child.carers:
            stamps.append(modified_at(rng))
            title = {"Mother": "Mrs ", "Father": "Mr "}.get(carer.relationship, "")
            self.contacts.append(
                {
                    "contact_id": len(self.contacts) + 1,
                    "yp_id": yp_id,
                    "contact_name": f"{title if rng.random() < 0.3 else ''}"
                    f"{carer.given_name} {carer.family_name}",
                    "relationship": carer.relationship,
                    "parental_responsibility": 1 if carer.parental_responsibility else 0,
                    "phone": carer.telephone,
                    "email": carer.email,
                    "last_updated": stamps[-1],
                }
            )
