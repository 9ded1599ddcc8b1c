"""The requirement catalogue (requirements.yaml): what each spec requirement is covered by.

Kept as data so the report can quote each requirement's text and the CI check can prove that
every MUST of sections 2-6 is covered by an accreditation check or a named test, or carries a
written waiver; a renamed test must not leave a requirement silently uncovered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import yaml

_CHECK_ID = re.compile(r"^(TA|IA)-[A-Z0-9]+-\d{2}$")
SECTIONS = ("2", "3", "4", "5", "6")


@dataclass(frozen=True)
class Requirement:
    """One requirement row."""

    req_id: str
    section: str
    level: str
    text: str
    covered_by: tuple[str, ...]
    waiver: str | None


def load(path: Path | None = None) -> list[Requirement]:
    """Read the catalogue (the shipped one unless ``path`` is given)."""
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else files("adapter.accreditation").joinpath("requirements.yaml").read_text("utf-8")
    )
    rows = yaml.safe_load(text)["requirements"]
    return [
        Requirement(
            req_id=str(row["id"]),
            section=str(row["section"]),
            level=str(row["level"]),
            text=str(row["text"]),
            covered_by=tuple(str(c) for c in row.get("covered_by") or ()),
            waiver=str(row["waiver"]) if row.get("waiver") else None,
        )
        for row in rows
    ]


@cache
def texts() -> dict[str, str]:
    """Requirement text by id, for the report."""
    return {r.req_id: r.text for r in load()}


def is_check_id(reference: str) -> bool:
    return bool(_CHECK_ID.match(reference))


def _node_exists(root: Path, node: str) -> bool:
    """``file.py::test_name`` exists: the file is there and defines that function."""
    file_part, _, name = node.partition("::")
    path = root / file_part
    if not name or not path.is_file():
        return False
    pattern = re.compile(rf"^\s*(async\s+)?def {re.escape(name.split('[')[0])}\(", re.MULTILINE)
    return bool(pattern.search(path.read_text(encoding="utf-8")))


def problems(requirements: list[Requirement], known_checks: set[str], root: Path) -> list[str]:
    """Every reason the catalogue is not acceptable; empty when it is."""
    found: list[str] = []
    seen: set[str] = set()
    for req in requirements:
        if req.req_id in seen:
            found.append(f"{req.req_id}: listed twice")
        seen.add(req.req_id)
        if req.level not in ("MUST", "SHOULD"):
            found.append(f"{req.req_id}: level must be MUST or SHOULD, not {req.level}")
        for ref in req.covered_by:
            if is_check_id(ref):
                if ref not in known_checks:
                    found.append(f"{req.req_id}: check {ref} is not implemented")
            elif not _node_exists(root, ref):
                found.append(f"{req.req_id}: test {ref} does not exist")
        in_scope = req.section.split(".")[0] in SECTIONS
        if in_scope and req.level == "MUST" and not req.covered_by and not req.waiver:
            found.append(f"{req.req_id}: MUST requirement with neither a check nor a waiver")
    return found
