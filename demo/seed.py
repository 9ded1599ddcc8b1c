"""``cpadapter demo seed``: create every demo source and the national index from one population.

What it writes (under ``--dir``, default ``var/demo``):

- ``frameworki.db`` / ``raise.db``: the social care and youth databases (SQLite), or the
  tables in the database given by ``--db URL`` (PostgreSQL, MariaDB) instead;
- ``ctf/``: school MIS Common Transfer Files, one per school (the SFTP/local drop folder);
- ``health.json``: the records the demo health SOAP service serves;
- ``national-index.jsonl``: the national child records the reference hub is seeded with
  (``cpadapter hub seed --from``), so that Matched, NoMatch and MultipleMatch all occur.

Everything is derived from :func:`demo.population.generate_population`, so the same child
appears in several sources, as in a real authority.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine

from demo import frameworki, raise_db
from demo.ctf_files import write_ctf_files
from demo.health_records import health_records, write_records
from demo.population import DemoChild, generate_population
from ldi import identifiers as ids

GENDER = {"M": "Male", "F": "Female", "U": "NotKnown"}


@dataclass(frozen=True)
class SeedResult:
    """What was written, with counts, for the command to print."""

    children: int
    frameworki_rows: dict[str, int]
    raise_rows: dict[str, int]
    ctf_files: list[Path]
    health_records: int
    national_records: int
    paths: dict[str, str]


def national_lines(children: Sequence[DemoChild], la_code: str) -> Iterator[dict[str, object]]:
    """National index records: the children the national feeds know, with correct identifiers.

    A child's local identifier may be wrong (planted dirty data); the national record then has
    none rather than a wrong one, as the national feeds would not carry the local mistake.
    """
    for child in children:
        if not child.national:
            continue
        line: dict[str, object] = {
            "accountableBody": la_code,
            "givenName": child.given_name,
            "familyName": child.family_name,
            "birthDate": child.birth_date.isoformat(),
            "gender": GENDER[child.gender],
        }
        if child.middle_names:
            line["middleNames"] = child.middle_names
        if child.former_family_name:
            line["otherNames"] = [{"type": "Former", "familyName": child.former_family_name}]
        if child.nhs_number and ids.is_valid_nhs_number(child.nhs_number):
            line["nhsNumber"] = child.nhs_number
        if child.upn and ids.is_valid_upn(child.upn):
            line["upn"] = child.upn
        if child.postcode and ids.is_valid_postcode(child.postcode):
            line["postcode"] = child.postcode
        yield line


def seed_demo(
    directory: Path,
    *,
    children: int = 2000,
    seed: int = 891,
    on: date = date(2026, 11, 1),
    db_url: str | None = None,
    la_code: str = "891",
) -> SeedResult:
    """Write every demo source into ``directory`` (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    population = generate_population(children, seed=seed, on=on)
    fwk_url = db_url or f"sqlite:///{directory / 'frameworki.db'}"
    raise_url = db_url or f"sqlite:///{directory / 'raise.db'}"
    for url, system in ((fwk_url, frameworki), (raise_url, raise_db)):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        engine = create_engine(url)
        try:
            system.metadata.drop_all(engine)
            system.create_schema(engine)
        finally:
            engine.dispose()
    results = []
    for url, system in ((fwk_url, frameworki), (raise_url, raise_db)):
        engine = create_engine(url)
        try:
            results.append(system.load(engine, population))
        finally:
            engine.dispose()
    ctf_dir = directory / "ctf"
    for old in ctf_dir.glob("*.xml"):
        old.unlink()
    ctf = write_ctf_files(ctf_dir, population, on=on)
    health = [r for r in health_records(population)]
    write_records(directory / "health.json", health)
    national_path = directory / "national-index.jsonl"
    lines = list(national_lines(population, la_code))
    national_path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return SeedResult(
        children=len(population),
        frameworki_rows=results[0],
        raise_rows=results[1],
        ctf_files=ctf,
        health_records=len(health),
        national_records=len(lines),
        paths={
            "frameworki": fwk_url,
            "raise": raise_url,
            "ctf": str(ctf_dir),
            "health": str(directory / "health.json"),
            "national": str(national_path),
        },
    )
