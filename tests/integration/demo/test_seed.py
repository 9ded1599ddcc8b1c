"""`cpadapter demo seed`: every demo source is written, consistent with one population."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from adapter.cli import main
from connectors.ctf import CtfReader
from connectors.filereader import RecordProblems, read_files
from demo import frameworki, raise_db
from demo.population import generate_population
from ldi.identifiers import is_valid_nhs_number, is_valid_upn
from tests.fixtures.databases import DatabaseFactory

ON = date(2026, 11, 1)


def _count(url: str, table: object, where: object = None) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).select_from(table)  # type: ignore[arg-type]
            if where is not None:
                query = query.where(where)  # type: ignore[arg-type]
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def test_seed_writes_every_source_consistent_with_the_population(tmp_path: Path) -> None:
    """Databases, CTF files, health data and national index all follow the same children."""
    result = CliRunner().invoke(
        main, ["demo", "seed", "--children", "400", "--dir", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    population = generate_population(400, seed=891, on=ON)
    in_care = [c for c in population if c.in_social_care]
    duplicates = [c for c in in_care if "duplicate_in_source" in c.traits]
    clients = _count(
        summary["paths"]["frameworki"],
        frameworki.person,
        frameworki.person.c.person_type == "CLIENT",
    )
    assert clients == len(in_care) + len(duplicates)
    assert _count(summary["paths"]["raise"], raise_db.young_person) == sum(
        c.in_youth_service for c in population
    )
    national = Path(summary["paths"]["national"]).read_text().splitlines()
    assert len(national) == sum(c.national for c in population)
    records = [json.loads(line) for line in national]
    assert all(is_valid_nhs_number(r["nhsNumber"]) for r in records if "nhsNumber" in r)
    assert all(is_valid_upn(r["upn"]) for r in records if "upn" in r)
    pupils = 0
    for path in sorted(Path(summary["paths"]["ctf"]).glob("*.xml")):
        problems = RecordProblems()
        pupils += sum(1 for _ in read_files(CtfReader(), path, problems))
        assert problems.count == 0
    on_roll = [c for c in population if c.in_school and c.school and not c.date_of_death]
    assert pupils == len(on_roll)


def test_seed_into_postgresql(database_factory: DatabaseFactory, tmp_path: Path) -> None:
    """--db URL puts the social care and youth tables into a real PostgreSQL database."""
    url = database_factory.create("postgresql", "seed")
    result = CliRunner().invoke(
        main, ["demo", "seed", "--children", "150", "--dir", str(tmp_path), "--db", url]
    )
    assert result.exit_code == 0, result.output
    assert _count(url, frameworki.person) > 0
    assert _count(url, raise_db.young_person) > 0
