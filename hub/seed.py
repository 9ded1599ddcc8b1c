"""Filling the national index: from a JSON-lines file or from the synthetic generator.

Seed file format (one JSON object per line, UTF-8; blank lines and lines starting with ``#``
are skipped) - the camelCase fields of :class:`hub.national.NationalChild`::

    {"contactPointId": "CP1000000018", "accountableBody": "891",
     "givenName": "Amelia", "middleNames": "Rose", "familyName": "Smith-Jones",
     "otherNames": [{"type": "Former", "familyName": "Jones"}],
     "birthDate": "2015-03-27", "gender": "Female",
     "nhsNumber": "9434765919", "upn": "A891200115001", "postcode": "NG2 7QP"}

Only ``accountableBody``, ``givenName``, ``familyName``, ``birthDate`` and ``gender`` are
required; ``contactPointId`` is allocated when absent. A line that fails is reported with its
line number and the field, never with the value, and nothing is seeded from a file with errors.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import ValidationError

from hub.national import NationalChild
from hub.store import Store
from hub.synthetic import national_children
from ldi.errors import InputError


class SeedFileError(InputError):
    """A seed file cannot be used; ``problems`` lists every bad line (field names only)."""

    code = "SEED-INVALID"

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:20]), source=source)
        self.problems = problems


def read_seed_file(path: Path) -> list[NationalChild]:
    """Every record of a seed file; SeedFileError listing each bad line otherwise."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedFileError(str(path), [f"cannot read ({exc.__class__.__name__})"]) from exc
    records: list[NationalChild] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            records.append(NationalChild.model_validate_json(text))
        except ValidationError as exc:
            for error in exc.errors(include_input=False):
                where = ".".join(str(p) for p in error["loc"]) or "(line)"
                problems.append(f"line {number}: {where}: {error['msg']}")
    if problems:
        raise SeedFileError(str(path), problems)
    return records


def seed_from_file(store: Store, path: Path) -> list[str]:
    """Seed the index from a JSON-lines file; return the ContactPoint ids, in file order."""
    return store.add_children(read_seed_file(path))


def seed_synthetic(
    store: Store, count: int, *, seed: int, la_code: str = "891", on: date | None = None
) -> list[str]:
    """Seed ``count`` synthetic national records (see :mod:`hub.synthetic`)."""
    return store.add_children(national_children(count, seed=seed, la_code=la_code, on=on))


def to_seed_line(child: NationalChild) -> str:
    """One seed-file line for ``child`` (the inverse of reading it)."""
    return child.model_dump_json(by_alias=True, exclude_none=True)
