"""The LDI items a mapping may fill: derived from the contract's models, never listed by hand.

A mapping names its targets by XML path relative to the element being built, e.g.
``Child.Name.GivenName`` on a record or ``Relationship`` inside a ``ParentCarer`` group.
Because the catalogue is the models, a mapping cannot name anything the contract does not
define: case information has nowhere to go.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ldi.models import LdiModel, Record, field_shape


@dataclass(frozen=True, slots=True)
class ItemInfo:
    """One fillable item: its field path (Python names), whether it repeats, and its model."""

    field_path: tuple[str, ...]
    repeated: bool  # the last step is a list (e.g. Address.Line, Telephone)
    required: bool  # required within its parent element


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A repeatable or optional element built from rows: ParentCarer, Involvement, …"""

    field_path: tuple[str, ...]
    model: type[LdiModel]
    max_occurs: int  # 1 for optional single elements


# maxOccurs from the XSD for elements that repeat (section 3).
MAX_OCCURS = {
    "OtherName": 10,
    "ParentCarer": 6,
    "EducationalSetting": 2,
    "Involvement": 50,
    "Line": 4,
    "Telephone": 3,
}


def _walk(model: type[LdiModel], prefix: str, fields: tuple[str, ...]) -> dict[str, ItemInfo]:
    found: dict[str, ItemInfo] = {}
    for name, info in model.model_fields.items():
        alias = info.alias or name
        inner, is_list, optional = field_shape(info.annotation)
        path = f"{prefix}{alias}"
        if isinstance(inner, type) and issubclass(inner, LdiModel):
            if is_list:
                continue  # repeated elements are groups, built from rows
            found.update(_walk(inner, f"{path}.", (*fields, name)))
        else:
            required = info.is_required() and not optional and not is_list
            found[path] = ItemInfo((*fields, name), is_list, required)
    return found


@cache
def items_of(model: type[LdiModel]) -> dict[str, ItemInfo]:
    """Every scalar item of ``model`` by dotted XML path (lists of elements excluded)."""
    return _walk(model, "", ())


def _groups(model: type[LdiModel], prefix: str, fields: tuple[str, ...]) -> dict[str, GroupInfo]:
    found: dict[str, GroupInfo] = {}
    for name, info in model.model_fields.items():
        inner, is_list, _ = field_shape(info.annotation)
        if not (isinstance(inner, type) and issubclass(inner, LdiModel)):
            continue
        alias = info.alias or name
        path = f"{prefix}{alias}"
        if is_list:
            found[path] = GroupInfo((*fields, name), inner, MAX_OCCURS.get(alias, 1))
        else:
            found[path] = GroupInfo((*fields, name), inner, 1)
            found.update(_groups(inner, f"{path}.", (*fields, name)))
    return found


@cache
def groups_of_record() -> dict[str, GroupInfo]:
    """Every element of a Record that a group may build, by dotted XML path."""
    return _groups(Record, "", ())


#: Items of the record envelope that the pipeline sets itself, never a mapping.
ENVELOPE = frozenset({"messageId", "action", "version", "SourceRecordId", "ContactPointId"})
