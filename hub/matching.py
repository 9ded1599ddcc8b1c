"""Matching a record to the national index, exactly as LDI 1.0 section 5 says, in its order.

1. ``ContactPointId`` given: that record if it exists and its birth date equals ``BirthDate``,
   otherwise ``Rejected`` with BR-09.
2. Candidates with an equal NHS number or an equal UPN: one → ``Matched``, several →
   ``MultipleMatch``.
3. Otherwise candidates with the same birth date, the same normalised family name (the record's
   ``FamilyName`` or any ``OtherName`` family name, against the national record's current or
   other family names) and the same first letter of the given name: none → ``NoMatch``, one →
   ``Matched``, several → ``MultipleMatch``.

The algorithm is a pure function over a :class:`NationalIndex` so that it can be tested on a
dictionary and run on a store. Step 3 is answered through *name keys*
(``birth date|normalised family name|initial``): one key per family name of a national record,
indexed in the store, so a whole batch is matched with a handful of ``IN`` queries.

"The given name" in step 3 is read strictly as the current given name on both sides (not
preferred or alias given names): the narrower reading gives fewer false links, and a wrong link
is worse than a record held for the data administrator.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from ldi.models import Breach, Child, OutcomeStatus

#: Characters dropped after upper-casing (section 5): space, hyphen, apostrophe, full stop.
_DROP = str.maketrans("", "", " -'.")


def normalise_name(value: str) -> str:
    """Section 5 name form: NFKD, diacritics removed, upper-cased, `` -'.`` dropped.

    Upper-casing can itself produce a decomposable character (e.g. Greek with dialytika and
    tonos), so the decomposition and mark removal run again afterwards: the result is then a
    fixed point, and ``normalise_name(normalise_name(x)) == normalise_name(x)`` always holds.
    """
    if value.isascii():  # the common case: NFKD and mark removal change nothing
        return value.upper().translate(_DROP)
    text = _strip_marks(unicodedata.normalize("NFKD", value)).upper()
    return _strip_marks(unicodedata.normalize("NFKD", text)).translate(_DROP)


def _strip_marks(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))


def initial_of(given_name: str) -> str | None:
    """First letter of the normalised given name, or None if nothing is left after normalising."""
    normalised = normalise_name(given_name)
    return normalised[0] if normalised else None


def name_key(birth_date: date, family_norm: str, initial: str) -> str:
    """The step-3 key: equal keys mean equal birth date, family name and initial."""
    return f"{birth_date.isoformat()}|{family_norm}|{initial}"


def name_keys(birth_date: date, given_name: str, family_names: Iterable[str]) -> frozenset[str]:
    """Every step-3 key of a person: one per (normalised, non-empty) family name."""
    initial = initial_of(given_name)
    if initial is None:
        return frozenset()
    norms = {normalise_name(f) for f in family_names}
    return frozenset(name_key(birth_date, n, initial) for n in norms if n)


def record_name_keys(child: Child) -> frozenset[str]:
    """Step-3 keys of a submitted child: its family name and every OtherName family name."""
    families = [child.name.family_name, *(o.family_name for o in child.other_names)]
    return name_keys(child.birth_date, child.name.given_name, families)


class NationalIndex(Protocol):
    """What matching needs to know about the national index."""

    def birth_date_of(self, contactpoint_id: str) -> date | None:
        """Birth date of a national record, or None if there is no such record."""

    def by_identifiers(self, nhs_number: str | None, upn: str | None) -> frozenset[str]:
        """ContactPoint ids of records with an equal NHS number or an equal UPN."""

    def by_name_keys(self, keys: frozenset[str]) -> frozenset[str]:
        """ContactPoint ids of records having any of these step-3 keys."""


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The outcome of matching one Upsert: status plus what the RecordOutcome carries."""

    status: OutcomeStatus
    contactpoint_id: str | None = None
    candidate_count: int | None = None
    breach: Breach | None = None


def br09_breach(path: str) -> Breach:
    """BR-09 names the element, never whether the id exists or which birth date it has."""
    return Breach(
        rule="BR-09",
        path=f"{path}/ContactPointId",
        message="ContactPointId is not a national record with this BirthDate",
    )


def match(
    child: Child, contactpoint_id: str | None, index: NationalIndex, *, path: str
) -> MatchResult:
    """Match one Upsert's child against ``index`` per section 5 (steps 1-3, in order)."""
    return match_on(
        child.birth_date,
        child.nhs_number,
        child.upn,
        record_name_keys(child),
        contactpoint_id,
        index,
        path=path,
    )


def match_on(
    birth_date: date,
    nhs_number: str | None,
    upn: str | None,
    keys: frozenset[str],
    contactpoint_id: str | None,
    index: NationalIndex,
    *,
    path: str,
) -> MatchResult:
    """:func:`match` on what it needs of the child: birth date, identifiers, step-3 keys."""
    if contactpoint_id is not None:
        if index.birth_date_of(contactpoint_id) == birth_date:
            return MatchResult(OutcomeStatus.MATCHED, contactpoint_id=contactpoint_id)
        return MatchResult(OutcomeStatus.REJECTED, breach=br09_breach(path))
    if nhs_number is not None or upn is not None:
        found = index.by_identifiers(nhs_number, upn)
        if found:
            return _from_candidates(found)
    return _from_candidates(index.by_name_keys(keys))


def _from_candidates(candidates: frozenset[str]) -> MatchResult:
    if not candidates:
        return MatchResult(OutcomeStatus.NO_MATCH)
    if len(candidates) == 1:
        return MatchResult(OutcomeStatus.MATCHED, contactpoint_id=next(iter(candidates)))
    return MatchResult(OutcomeStatus.MULTIPLE_MATCH, candidate_count=len(candidates))


@dataclass
class DictIndex:
    """A national index held in dictionaries: the store fills one per batch, tests build one."""

    birth_dates: dict[str, date]
    nhs: dict[str, set[str]]
    upn: dict[str, set[str]]
    names: dict[str, set[str]]

    @classmethod
    def empty(cls) -> DictIndex:
        return cls({}, {}, {}, {})

    def add(
        self,
        contactpoint_id: str,
        *,
        birth_date: date,
        given_name: str,
        family_names: Iterable[str],
        nhs_number: str | None = None,
        upn: str | None = None,
    ) -> None:
        """Index one national record (used by tests and the in-memory bench)."""
        self.birth_dates[contactpoint_id] = birth_date
        if nhs_number:
            self.nhs.setdefault(nhs_number, set()).add(contactpoint_id)
        if upn:
            self.upn.setdefault(upn, set()).add(contactpoint_id)
        for key in name_keys(birth_date, given_name, family_names):
            self.names.setdefault(key, set()).add(contactpoint_id)

    def birth_date_of(self, contactpoint_id: str) -> date | None:
        return self.birth_dates.get(contactpoint_id)

    def by_identifiers(self, nhs_number: str | None, upn: str | None) -> frozenset[str]:
        found: set[str] = set()
        if nhs_number is not None:
            found |= self.nhs.get(nhs_number, set())
        if upn is not None:
            found |= self.upn.get(upn, set())
        return frozenset(found)

    def by_name_keys(self, keys: frozenset[str]) -> frozenset[str]:
        found: set[str] = set()
        for key in keys:
            found |= self.names.get(key, set())
        return frozenset(found)
