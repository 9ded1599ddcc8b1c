"""The merged national record of one child: identity plus every source's contribution.

Merging is computed on read from the stored contributions, never written back: a ``Withdraw``
then removes exactly that source's part (its contribution row is emptied) and the merged view
changes with it, with nothing to undo.

Rules:

* Identity (names, birth date, gender) is the national record's; contributions never change it.
  An identifier the national record lacks (NHS number, UPN) is filled from the earliest
  contribution that has it, and ``identifiersFrom`` says which source supplied it.
* The address is the most recently updated contribution's child address, else the national
  postcode.
* Contacts (parent/carers, educational settings, GP practice, involvements, CAF) are the union
  over contributions; an item two sources hold identically appears once, listing both sources.
* Shielding: if any contribution requests it, the merged record shows only name, birth date,
  gender and identifiers (spec section "shielded record"); the contributions stay visible to the
  administrator, whose view this is.
"""

from __future__ import annotations

import json
from typing import Any

from hub.national import NationalChild

_CONTACT_SECTIONS = (
    ("ParentCarer", "parentCarers"),
    ("EducationalSetting", "educationalSettings"),
    ("PrimaryMedicalPractitioner", "primaryMedicalPractitioners"),
    ("Involvement", "involvements"),
    ("CAF", "cafs"),
)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def merged_record(national: NationalChild, contributions: list[dict[str, Any]]) -> dict[str, Any]:
    """The merged record of ``national`` from its Matched ``contributions`` (oldest first)."""
    identity = national.model_dump(mode="json", by_alias=True, exclude_none=True)
    identifiers_from: dict[str, str] = {}
    address: Any = {"postcode": national.postcode} if national.postcode else None
    shielded = False
    sections: dict[str, list[dict[str, Any]]] = {key: [] for _, key in _CONTACT_SECTIONS}
    index: dict[str, dict[str, dict[str, Any]]] = {key: {} for _, key in _CONTACT_SECTIONS}
    for contribution in contributions:
        record = contribution.get("record") or {}
        source = contribution["sourceSystem"]
        child = record.get("Child") or {}
        for field, key in (("NHSNumber", "nhsNumber"), ("UPN", "upn")):
            if key not in identity and child.get(field):
                identity[key] = child[field]
                identifiers_from[key] = source
        if child.get("Address"):
            address = child["Address"]
        shielded = shielded or bool(child.get("ShieldingRequested"))
        for element, key in _CONTACT_SECTIONS:
            for item in _as_list(record.get(element)):
                fingerprint = json.dumps(item, sort_keys=True)
                existing = index[key].get(fingerprint)
                if existing is not None:
                    if source not in existing["sources"]:
                        existing["sources"].append(source)
                    continue
                entry = {**item, "sources": [source]}
                index[key][fingerprint] = entry
                sections[key].append(entry)
    merged: dict[str, Any] = {"identity": identity, "shielded": shielded}
    if identifiers_from:
        merged["identifiersFrom"] = identifiers_from
    if not shielded:
        merged["address"] = address
        merged.update(sections)
    return {
        "contactPointId": national.contactpoint_id,
        "merged": merged,
        "contributions": contributions,
    }
