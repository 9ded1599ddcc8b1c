"""Likely duplicates within a source: blocking on birth date, Jaro-Winkler names, identifiers."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.dataquality.duplicates import Candidate, find_duplicates, pair_score

NAMES = st.sampled_from(
    "Olivia Amelia Isla Ava Noah George Oliver Leo Arthur Oscar Theodore Harry Isabella Sophia "
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson".split()
)
DATES = st.dates(min_value=date(2010, 1, 1), max_value=date(2010, 1, 5))


@st.composite
def candidates(draw: st.DrawFn, key: str) -> Candidate:
    return Candidate(
        key=key,
        provenance=f"person key={key}",
        birth_date=draw(DATES),
        given_name=draw(NAMES),
        family_name=draw(NAMES),
        gender=draw(st.sampled_from(["Male", "Female", "NotKnown"])),
        nhs_number=draw(st.none() | st.sampled_from(["9434765919", "9434765870"])),
        upn=None,
    )


def child(key: str, given: str, family: str, **kw: object) -> Candidate:
    """A candidate born on 1 May 2015 unless told otherwise."""
    fields: dict[str, object] = {"birth_date": date(2015, 5, 1), "gender": "Female"}
    fields.update(kw)
    return Candidate(key, f"row {key}", given_name=given, family_name=family, **fields)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(candidates("a"), candidates("b"))
def test_pair_score_is_symmetric(a: Candidate, b: Candidate) -> None:
    """The score of (a, b) equals the score of (b, a)."""
    assert pair_score(a, b) == pair_score(b, a)


@settings(max_examples=100, deadline=None)
@given(st.lists(candidates("x"), min_size=0, max_size=12), st.data())
def test_planted_near_duplicate_is_found(others: list[Candidate], data: st.DataObject) -> None:
    """A child recorded again with a changed case, stray spaces and one typo is found."""
    people = [
        Candidate(f"k{i}", f"row {i}", c.birth_date, c.given_name, c.family_name, c.gender)
        for i, c in enumerate(others)
    ]
    original = Candidate("orig", "row orig", date(2012, 3, 4), "Charlotte", "Richardson", "Female")
    position = data.draw(st.integers(min_value=1, max_value=len("Richardson") - 2))
    typo = "Richardson"[:position] + "Richardson"[position + 1 :]
    planted = Candidate("dup", "row dup", date(2012, 3, 4), " CHARLOTTE ", typo.upper(), "Female")
    pairs = find_duplicates([*people, planted, original])
    assert ("dup", "orig") in {(p.key_a, p.key_b) for p in pairs}


def test_different_birth_dates_are_never_compared() -> None:
    """Blocking: the same names on different birth dates are not a pair."""
    a = child("a", "Ava", "Smith")
    b = child("b", "Ava", "Smith", birth_date=date(2015, 5, 2))
    assert find_duplicates([a, b]) == []


def test_twins_with_different_given_names_are_kept_apart() -> None:
    """Twins (same birth date and surname) whose given names differ are not flagged."""
    pairs = find_duplicates(
        [
            child("a", "Amelia", "Patel"),
            child("b", "Ava", "Patel"),
            child("c", "Oliver", "Patel"),
            child("d", "Olivia", "Patel"),
        ]
    )
    assert pairs == []


def test_identifiers_decide_before_names() -> None:
    """Equal NHS numbers make a pair whatever the names; different UPNs keep same names apart."""
    same_nhs = find_duplicates(
        [
            child("a", "Ava", "Smith", nhs_number="9434765919"),
            child("b", "Eve", "Jones", nhs_number="943 476 5919"),
        ]
    )
    assert [(p.key_a, p.key_b, p.score) for p in same_nhs] == [("a", "b", 100.0)]
    other_upn = find_duplicates(
        [child("a", "Ava", "Smith", upn="A891000000001"), child("b", "Ava", "Smith", upn="B891")]
    )
    assert other_upn == []


def test_known_genders_that_differ_are_two_children() -> None:
    """A boy and a girl with the same names and birth date are not a pair."""
    assert (
        find_duplicates([child("a", "Sam", "Hill"), child("b", "Sam", "Hill", gender="Male")]) == []
    )


def test_swapped_given_and_family_names_are_found() -> None:
    """Given and family names entered the wrong way round still make a pair."""
    pairs = find_duplicates([child("a", "Grace", "Wilson"), child("b", "Wilson", "Grace")])
    assert len(pairs) == 1
