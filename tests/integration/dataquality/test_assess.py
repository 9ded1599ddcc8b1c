"""The data quality report over the seeded demo: metrics checked independently, plants found."""

from __future__ import annotations

import sqlite3
from datetime import date

from adapter.dataquality import SourceQuality
from adapter.dataquality.duplicates import Candidate, find_duplicates
from demo.frameworki import duplicate_id_for, person_id_for
from demo.population import generate_population
from ldi.identifiers import is_valid_nhs_number, is_valid_upn, normalise_nhs_number
from tests.integration.dataquality.conftest import CHILDREN, Demo


def source(seeded: Demo, name: str) -> SourceQuality:
    """The report of one source."""
    return next(s for s in seeded.report.sources if s.source == name)


def children_rows(seeded: Demo) -> list[tuple[int, str | None, str | None]]:
    """(person_id, nhs_number, upn) of every social care child not flagged deleted, from SQL."""
    with sqlite3.connect(seeded.demo / "frameworki.db") as db:
        return list(
            db.execute(
                "SELECT person_id, nhs_number, upn FROM person "
                "WHERE person_type = 'CLIENT' AND deleted_flag <> 'Y'"
            )
        )


def present(value: str | None) -> bool:
    """Filled: not NULL and not blank."""
    return value is not None and bool(value.strip())


def test_every_source_is_assessed_with_five_checks(seeded: Demo) -> None:
    """Each of the three sources has IA-DQ-01..05 and a verdict, and no read error."""
    for s in seeded.report.sources:
        assert s.error == ""
        assert [c.id for c in s.checks] == [
            "IA-DQ-01",
            "IA-DQ-02",
            "IA-DQ-03",
            "IA-DQ-04",
            "IA-DQ-05",
        ]
        assert s.children > 0
    assert {s.source for s in seeded.report.sources} == {"frameworki", "raise", "schools"}


def test_completeness_matches_sql(seeded: Demo) -> None:
    """NHS number and UPN completeness equal the filled counts read straight from the database."""
    s = source(seeded, "frameworki")
    rows = children_rows(seeded)
    assert "not_mapped" not in s.scope  # every child maps, so counts are over the same children
    figures = {f.name: f for f in s.completeness}
    assert figures["Child/NHSNumber"].total == len(rows) == s.children
    assert figures["Child/NHSNumber"].count == sum(present(nhs) for _, nhs, _ in rows)
    assert figures["Child/UPN"].count == sum(present(upn) for _, _, upn in rows)


def test_validity_matches_the_identifier_checks(seeded: Demo) -> None:
    """The children failing the NHS number and UPN checks are exactly those the checks reject."""
    s = source(seeded, "frameworki")
    rows = children_rows(seeded)
    bad_nhs = {
        str(pid)
        for pid, nhs, _ in rows
        if present(nhs) and not is_valid_nhs_number(normalise_nhs_number(nhs or ""))
    }
    bad_upn = {
        str(pid) for pid, _, upn in rows if present(upn) and not is_valid_upn((upn or "").strip())
    }
    found_nhs = {
        r.source_key for r in s.failing if r.check == "IA-DQ-02" and r.rule == "NHS number"
    }
    found_upn = {r.source_key for r in s.failing if r.check == "IA-DQ-02" and r.rule == "UPN"}
    assert bad_nhs and found_nhs == bad_nhs
    assert bad_upn and found_upn == bad_upn
    figures = {f.name: f for f in s.validity}
    assert figures["NHS number"].failed == len(bad_nhs)
    assert s.check("IA-DQ-02").metric == round(1 - len(bad_nhs | bad_upn) / s.children, 4)


def test_planted_invalid_identifiers_are_found(seeded: Demo) -> None:
    """Children planted with an invalid NHS number are reported by the social care source."""
    population = generate_population(CHILDREN, seed=891, on=date(2026, 11, 1))
    kept = {str(pid) for pid, _, _ in children_rows(seeded)}
    planted = {
        str(person_id_for(c))
        for c in population
        if "invalid_nhs" in c.traits and c.in_social_care and c.nhs_number
    } & kept
    found = {r.source_key for r in source(seeded, "frameworki").failing if r.rule == "NHS number"}
    assert planted and planted <= found


def test_planted_duplicates_are_found(seeded: Demo) -> None:
    """Every child recorded twice in social care is a likely pair, and nothing else is."""
    population = generate_population(CHILDREN, seed=891, on=date(2026, 11, 1))
    kept = {str(pid) for pid, _, _ in children_rows(seeded)}
    pairs = {(p.key_a, p.key_b) for p in source(seeded, "frameworki").duplicates}
    planted = {
        (str(person_id_for(c)), str(duplicate_id_for(c)))
        for c in population
        if "duplicate_in_source" in c.traits and c.in_social_care
    }
    planted = {p for p in planted if set(p) <= kept}
    assert planted and pairs == planted


def test_twins_in_school_are_not_duplicates(seeded: Demo) -> None:
    """The seeded twins (same birth date and surname, own UPNs) are not flagged by the schools."""
    population = generate_population(CHILDREN, seed=891, on=date(2026, 11, 1))
    assert any("twin" in c.traits and c.in_school for c in population)
    assert source(seeded, "schools").duplicates == []


def test_twins_without_identifiers_are_mostly_kept_apart() -> None:
    """By names alone, at most one twin pair in ten is flagged (only near-identical names)."""
    population = generate_population(3000, seed=7, on=date(2026, 11, 1))
    twins = [c for c in population if "twin" in c.traits]
    candidates = [
        Candidate(str(c.person_id), "", c.birth_date, c.given_name, c.family_name, c.gender)
        for c in twins
    ]
    flagged = find_duplicates(candidates)
    assert len(twins) >= 20
    assert len(flagged) <= len(twins) // 2 // 10


def test_missing_postcodes_lower_address_completeness(seeded: Demo) -> None:
    """Children planted without a postcode have no address (omitted), so completeness < 100%."""
    population = generate_population(CHILDREN, seed=891, on=date(2026, 11, 1))
    planted = sum(1 for c in population if "missing_postcode" in c.traits and c.in_school)
    figures = {f.name: f for f in source(seeded, "schools").completeness}
    assert planted > 0
    assert figures["Child/Address"].total - figures["Child/Address"].count >= planted


def test_scope_counts(seeded: Demo) -> None:
    """Out-of-scope ages and sensitive involvements without consent are counted and listed."""
    s = source(seeded, "frameworki")
    assert s.scope["out_of_scope"] > 0
    assert s.scope["sensitive_without_consent"] > 0
    rows = [r for r in s.failing if r.check == "scope"]
    assert len(rows) == s.scope["out_of_scope"] and all(r.rule == "BR-02" for r in rows)


def test_default_thresholds_pass_the_demo(seeded: Demo) -> None:
    """On the demo no check fails with the default thresholds (warnings allowed)."""
    assert seeded.report.verdict in ("pass", "warn")
