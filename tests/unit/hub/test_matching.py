"""Matching per LDI 1.0 section 5: name normalisation and the order of steps 1-3."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.matching import DictIndex, initial_of, match, normalise_name, record_name_keys
from ldi.models import Child, ChildName, Gender, OtherName, OtherNameType, OutcomeStatus

BORN = date(2015, 3, 27)

# Letters of several scripts, with and without diacritics, plus the dropped punctuation.
NAME_TEXT = st.text(
    alphabet=st.sampled_from("abcdeéèëñøßAÉÖÜŁZzçÇ'.- ΩωЖж"), min_size=0, max_size=20
)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Zoë", "ZOE"),
        ("O'Brien", "OBRIEN"),
        ("o brien", "OBRIEN"),
        ("Smith-Jones", "SMITHJONES"),
        ("St. John", "STJOHN"),
        ("Brontë", "BRONTE"),
        ("Ｏ’Ｂｒｉｅｎ", "O’BRIEN"),  # NFKD folds full-width letters; ’ is not an apostrophe
        ("Łukasz", "ŁUKASZ"),  # Ł has no decomposition: it stays
        ("Renée", "RENEE"),
    ],
)
def test_normalise_name_examples(raw: str, normalised: str) -> None:
    """NFKD, diacritics removed, upper case, no space/hyphen/apostrophe/full stop."""
    assert normalise_name(raw) == normalised


@given(NAME_TEXT)
def test_normalising_is_idempotent_and_drops_the_punctuation(name: str) -> None:
    """The result is a fixed point and holds none of the dropped characters or marks."""
    once = normalise_name(name)
    assert normalise_name(once) == once
    assert not set(once) & set(" -'.")
    assert not any(unicodedata.category(ch).startswith("M") for ch in once)


@given(NAME_TEXT)
def test_case_and_composition_do_not_matter(name: str) -> None:
    """Lower/upper case and NFC/NFD forms of a name normalise alike."""
    assert normalise_name(name.lower()) == normalise_name(name.upper())
    assert normalise_name(unicodedata.normalize("NFD", name)) == normalise_name(
        unicodedata.normalize("NFC", name)
    )


def _child(
    given: str = "Amelia",
    family: str = "Smith",
    born: date = BORN,
    nhs: str | None = None,
    upn: str | None = None,
    others: tuple[str, ...] = (),
) -> Child:
    return Child(
        name=ChildName(given_name=given, family_name=family),
        other_names=[OtherName(type=OtherNameType.FORMER, family_name=o) for o in others],
        birth_date=born,
        gender=Gender.FEMALE,
        nhs_number=nhs,
        upn=upn,
    )


@pytest.fixture
def index() -> DictIndex:
    built = DictIndex.empty()
    built.add("CP-A", birth_date=BORN, given_name="Amelia", family_names=["Smith"], nhs_number="N1")
    built.add("CP-B", birth_date=BORN, given_name="Anna", family_names=["Smith"], upn="U2")
    built.add("CP-C", birth_date=BORN, given_name="Carl", family_names=["Jones", "Brontë"])
    built.add(
        "CP-D",
        birth_date=date(2016, 1, 1),
        given_name="Dora",
        family_names=["Day"],
        nhs_number="N4",
    )
    return built


def _status(index: DictIndex, child: Child, cp_id: str | None = None) -> tuple[str, object]:
    result = match(child, cp_id, index, path="Record[1]")
    detail: object = (
        result.contactpoint_id
        or result.candidate_count
        or (result.breach.rule if result.breach else None)
    )
    return result.status.value, detail


def test_step1_given_id_with_equal_birth_date_matches_it(index: DictIndex) -> None:
    """Step 1 wins even where step 2 would have found another record."""
    assert _status(index, _child(nhs="N4"), "CP-A") == ("Matched", "CP-A")


def test_step1_unknown_id_or_other_birth_date_is_br09(index: DictIndex) -> None:
    """A given id that does not exist, or whose birth date differs, is Rejected with BR-09."""
    assert _status(index, _child(), "CP-X") == ("Rejected", "BR-09")
    assert _status(index, _child(nhs="N1"), "CP-D") == ("Rejected", "BR-09")


def test_step2_one_identifier_candidate_matches(index: DictIndex) -> None:
    """An equal NHS number (or UPN) decides before names are looked at."""
    assert _status(index, _child(given="Zed", family="Other", nhs="N4"), None) == (
        "Matched",
        "CP-D",
    )
    assert _status(index, _child(upn="U2"), None) == ("Matched", "CP-B")


def test_step2_several_identifier_candidates_is_multiple_match(index: DictIndex) -> None:
    """NHS number of one record and UPN of another: two candidates."""
    assert _status(index, _child(nhs="N1", upn="U2"), None) == ("MultipleMatch", 2)


def test_step2_without_candidates_falls_through_to_step3(index: DictIndex) -> None:
    """An NHS number nobody has does not stop name matching."""
    assert _status(index, _child(given="Carl", family="Jones", nhs="N9"), None) == (
        "Matched",
        "CP-C",
    )


def test_step3_birth_date_family_name_and_initial(index: DictIndex) -> None:
    """Same DOB, family name and initial: one → Matched, several → MultipleMatch, none → NoMatch."""
    assert _status(index, _child(given="Alice"), None) == ("MultipleMatch", 2)
    assert _status(index, _child(given="carl", family="JONES"), None) == ("Matched", "CP-C")
    assert _status(index, _child(given="Carl", family="Jones", born=date(2015, 3, 28)), None) == (
        "NoMatch",
        None,
    )
    assert _status(index, _child(given="Bert", family="Smith"), None) == ("NoMatch", None)


def test_step3_uses_other_family_names_on_both_sides(index: DictIndex) -> None:
    """The record's former name meets the national record's former name (normalised)."""
    assert _status(index, _child(given="Carl", family="New", others=("Bronte",)), None) == (
        "Matched",
        "CP-C",
    )


def test_record_keys_need_a_given_name_initial() -> None:
    """A given name that normalises to nothing gives no step-3 keys (so NoMatch, never a guess)."""
    assert initial_of("'.-") is None
    assert record_name_keys(_child(given="'")) == frozenset()
    assert match(_child(given="'"), None, DictIndex.empty(), path="R").status is (
        OutcomeStatus.NO_MATCH
    )
